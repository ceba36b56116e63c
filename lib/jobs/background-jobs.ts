import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as eventSources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as rds from 'aws-cdk-lib/aws-rds';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { guardRuleId } from '../policy/readiness-rules';
import { limitGrantsToAwsServices } from '../shared/kms';
import { handlerCode } from '../util/handler-code';

/** The metric namespace the relay and worker publish to (kept equal to `lambda/shared/job-metrics.ts`). */
export const JOBS_METRIC_NAMESPACE = 'Shipshape/Jobs';

/** AWS advises a queue visibility timeout of at least six times the function timeout. */
export const VISIBILITY_TO_TIMEOUT_RATIO = 6;

/** Settings of the worker function. */
export interface BackgroundJobsWorkerOptions {
  /**
   * The code that processes a batch, already bundled for Node.js 24 (for example
   * `lambda.Code.fromAsset('dist/worker')` of your own esbuild output; synth bundles nothing).
   * It receives the env variables `QUEUE_URL`, `MAX_RECEIVE_COUNT`, `BACKOFF_BASE_SECONDS`,
   * `BACKOFF_MAX_SECONDS`, `DB_PROXY_ENDPOINT`, `DB_PORT`, `DB_NAME`, `DB_USER`, and must answer
   * with `batchItemFailures`.
   * @default - the prebuilt `lambda/jobs-worker`: the sample `note.created` notification worker
   */
  readonly code?: lambda.Code;

  /**
   * The handler inside {@link code}, as `<file>.<export>`.
   * @default 'index.handler'
   */
  readonly handler?: string;

  /**
   * Hard limit of one invocation (one batch).
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;

  /**
   * Memory of the function; CPU scales with it.
   * @default 256
   */
  readonly memorySize?: number;

  /**
   * Messages per invocation.
   * @default 10
   */
  readonly batchSize?: number;

  /**
   * How long the event source gathers messages before invoking with a partial batch.
   * @default - no batching window: invoke as soon as messages arrive
   */
  readonly maxBatchingWindow?: Duration;

  /**
   * Upper bound of concurrent worker invocations (event source maximum concurrency, 2-1000):
   * protects the database and downstream services from a burst of jobs.
   * @default 5
   */
  readonly maxConcurrency?: number;

  /**
   * Extra environment variables (never secrets: read those from Secrets Manager at run time).
   * @default - none
   */
  readonly environment?: Record<string, string>;

  /**
   * How long the function's logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/** Exponential backoff between deliveries of a failed job. */
export interface BackgroundJobsBackoff {
  /**
   * Delay after the first failed delivery; it doubles with each further delivery.
   * @default Duration.seconds(10)
   */
  readonly base?: Duration;

  /**
   * Longest delay between two deliveries (at most 12 hours, the SQS limit).
   * @default Duration.minutes(5)
   */
  readonly max?: Duration;
}

/** Reusable knobs of {@link BackgroundJobs}. */
export interface BackgroundJobsOptions {
  /** Settings of the worker function. @default - see {@link BackgroundJobsWorkerOptions} */
  readonly worker?: BackgroundJobsWorkerOptions;

  /**
   * Deliveries of a message before SQS moves it to the dead-letter queue (1-1000).
   * @default 5
   */
  readonly maxReceiveCount?: number;

  /**
   * How long a received message stays invisible to other consumers. Must be at least six times
   * the worker timeout (AWS guidance: a batch may be retried by the event source while the
   * previous invocation is still running).
   * @default - six times the worker timeout
   */
  readonly visibilityTimeout?: Duration;

  /**
   * How long the queue keeps a message that has not been processed.
   * @default Duration.days(4)
   */
  readonly retentionPeriod?: Duration;

  /**
   * How long the dead-letter queue keeps a message: the time an operator has to inspect and
   * redrive it (14 days is the SQS maximum).
   * @default Duration.days(14)
   */
  readonly deadLetterRetentionPeriod?: Duration;

  /** Backoff between deliveries of a failed job. @default - 10 seconds, doubling, at most 5 minutes */
  readonly backoff?: BackgroundJobsBackoff;

  /**
   * Alarm when the oldest message in the queue is older than this. Must exceed `backoff.max`,
   * or an ordinary retry would raise it.
   * @default Duration.minutes(15)
   */
  readonly maxMessageAge?: Duration;

  /**
   * How often the outbox relay runs.
   * @default scheduler.ScheduleExpression.rate(Duration.minutes(1))
   */
  readonly relaySchedule?: scheduler.ScheduleExpression;

  /**
   * Published outbox rows and processed-job entries are deleted after this long. Must exceed
   * the queue and DLQ retention together, or a late redelivery could be processed twice.
   * @default Duration.days(30)
   */
  readonly historyRetention?: Duration;

  /**
   * Where the alarms notify.
   * @default - the alarms have no action (visible in the console only)
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * Base URL of the runbooks folder; each alarm description ends with `Runbook: <url>/<file>.md`.
   * @default 'runbooks' (a path relative to the repository root)
   */
  readonly runbookBaseUrl?: string;

  /**
   * What happens to the queues and their key when they leave the stack. The DLQ holds failed
   * jobs an operator still has to look at, and the key is needed to read them.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The database the relay and the worker connect to, through its RDS Proxy with IAM
 * authentication. Shipshape's `Database` construct satisfies it as it is.
 */
export interface BackgroundJobsDatabase {
  /** The RDS Proxy the functions connect to (IAM authentication and TLS required). */
  readonly proxy: rds.IDatabaseProxy;

  /** Name of the database holding the `outbox` and `processed_jobs` tables. */
  readonly databaseName: string;

  /** Port of the proxy. */
  readonly port: number;

  /**
   * Lets `grantee` connect through the proxy as `dbUser`: `rds-db:connect`, the network path,
   * and whatever the proxy itself needs to reach the database as that user.
   */
  grantConnect(grantee: iam.IGrantable & ec2.IConnectable, dbUser: string): iam.Grant;
}

/** Props of {@link BackgroundJobs}. */
export interface BackgroundJobsProps extends BackgroundJobsOptions {
  /** The VPC the functions run in (they reach the proxy inside it and SQS through NAT). */
  readonly vpc: ec2.IVpc;

  /**
   * Subnets of the functions.
   * @default - the VPC's private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /** The database holding the outbox. */
  readonly database: BackgroundJobsDatabase;

  /**
   * The database user the functions sign in as: an `rds_iam` role with the grants of
   * `migrations/0004_outbox.sql`.
   * @default 'app'
   */
  readonly databaseUser?: string;
}

/**
 * Background jobs with a transactional outbox: a KMS-encrypted, TLS-only SQS queue with a
 * dead-letter queue, a worker Lambda (partial batch failures, bounded concurrency, exponential
 * backoff, idempotent through `processed_jobs`), an outbox relay scheduled by EventBridge
 * Scheduler, and alarms that link their runbooks.
 *
 * Producers write jobs to the outbox in their own transaction (`lambda/shared/outbox.ts`), or
 * send to the queue directly after {@link grantEnqueue}.
 */
export class BackgroundJobs extends Construct {
  /** The job queue. */
  public readonly queue: sqs.Queue;
  /** Where messages go after `maxReceiveCount` failed deliveries. */
  public readonly deadLetterQueue: sqs.Queue;
  /** Encrypts both queues. */
  public readonly key: kms.Key;
  /** Processes the queue. */
  public readonly worker: lambda.Function;
  /** Moves committed outbox rows to the queue. */
  public readonly relay: lambda.Function;
  /** Runs the relay. */
  public readonly relaySchedule: scheduler.Schedule;
  /** Security group of the worker and the relay. */
  public readonly securityGroup: ec2.SecurityGroup;
  /** Network access of the functions. */
  public readonly connections: ec2.Connections;
  /** Deliveries before a message moves to the DLQ. */
  public readonly maxReceiveCount: number;
  /** Value of the `service` dimension of the relay's and worker's metrics. */
  public readonly metricsServiceName: string;
  /** The alarms, by purpose. */
  public readonly alarms: {
    readonly deadLetterQueueNotEmpty: cloudwatch.Alarm;
    readonly oldestMessageAge: cloudwatch.Alarm;
    readonly workerErrors: cloudwatch.Alarm;
    readonly outboxBacklog: cloudwatch.Alarm;
  };

  constructor(scope: Construct, id: string, props: BackgroundJobsProps) {
    super(scope, id);

    const workerOptions = props.worker ?? {};
    const workerTimeout = workerOptions.timeout ?? Duration.seconds(30);
    const visibilityTimeout =
      props.visibilityTimeout ?? Duration.seconds(workerTimeout.toSeconds() * VISIBILITY_TO_TIMEOUT_RATIO);
    const maxReceiveCount = props.maxReceiveCount ?? 5;
    const maxConcurrency = workerOptions.maxConcurrency ?? 5;
    const batchSize = workerOptions.batchSize ?? 10;
    const backoffBase = props.backoff?.base ?? Duration.seconds(10);
    const backoffMax = props.backoff?.max ?? Duration.minutes(5);
    const retentionPeriod = props.retentionPeriod ?? Duration.days(4);
    const deadLetterRetention = props.deadLetterRetentionPeriod ?? Duration.days(14);
    const maxMessageAge = props.maxMessageAge ?? Duration.minutes(15);
    const historyRetention = props.historyRetention ?? Duration.days(30);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const runbookBaseUrl = (props.runbookBaseUrl ?? 'runbooks').replace(/\/+$/, '');
    const dbUser = props.databaseUser ?? 'app';

    this.validate({
      workerTimeout,
      visibilityTimeout,
      maxReceiveCount,
      maxConcurrency,
      batchSize,
      backoffBase,
      backoffMax,
      retentionPeriod,
      deadLetterRetention,
      maxMessageAge,
      historyRetention,
    });
    this.maxReceiveCount = maxReceiveCount;

    this.key = new kms.Key(this, 'Key', {
      description: `Encrypts the job queues of ${this.node.path}`,
      enableKeyRotation: true,
      pendingWindow: Duration.days(30),
      removalPolicy,
    });
    limitGrantsToAwsServices(this.key);

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      dataKeyReuse: Duration.hours(1),
      enforceSSL: true,
      retentionPeriod: deadLetterRetention,
      removalPolicy,
    });
    this.queue = new sqs.Queue(this, 'Resource', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      dataKeyReuse: Duration.hours(1),
      enforceSSL: true,
      visibilityTimeout,
      retentionPeriod,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
      removalPolicy,
    });
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `Background jobs worker and outbox relay (${this.node.path})`,
      // Only what the functions need: AWS APIs (SQS) over HTTPS through the NAT gateways, and the
      // database proxy (opened by database.grantConnect). A custom worker adds its own with
      // `jobs.connections.allowTo(...)`.
      allowAllOutbound: false,
    });
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'AWS APIs (SQS) over HTTPS');
    this.connections = new ec2.Connections({ securityGroups: [this.securityGroup] });

    this.metricsServiceName = `${Stack.of(this).stackName}-${id}`;
    const common = {
      runtime: lambda.Runtime.NODEJS_24_X,
      tracing: lambda.Tracing.ACTIVE,
      architecture: lambda.Architecture.ARM_64,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [this.securityGroup],
    };
    const databaseEnvironment = {
      DB_PROXY_ENDPOINT: props.database.proxy.endpoint,
      DB_PORT: Token.isUnresolved(props.database.port)
        ? Token.asString(props.database.port)
        : String(props.database.port),
      DB_NAME: props.database.databaseName,
      DB_USER: dbUser,
      POWERTOOLS_SERVICE_NAME: this.metricsServiceName,
      NODE_OPTIONS: '--enable-source-maps',
    };

    this.worker = new lambda.Function(this, 'Worker', {
      ...common,
      description: 'Processes background jobs from the queue (idempotent, partial batch failures)',
      code: workerOptions.code ?? handlerCode('jobs-worker'),
      handler: workerOptions.handler ?? 'index.handler',
      timeout: workerTimeout,
      memorySize: workerOptions.memorySize ?? 256,
      logGroup: new logs.LogGroup(this, 'WorkerLogs', {
        retention: workerOptions.logRetention ?? logs.RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
      environment: {
        ...workerOptions.environment,
        ...databaseEnvironment,
        QUEUE_URL: this.queue.queueUrl,
        MAX_RECEIVE_COUNT: String(maxReceiveCount),
        BACKOFF_BASE_SECONDS: String(backoffBase.toSeconds()),
        BACKOFF_MAX_SECONDS: String(backoffMax.toSeconds()),
      },
    });
    this.worker.addEventSource(
      new eventSources.SqsEventSource(this.queue, {
        batchSize,
        maxBatchingWindow: workerOptions.maxBatchingWindow,
        maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
    props.database.grantConnect(this.worker, dbUser);

    this.relay = new lambda.Function(this, 'OutboxRelay', {
      ...common,
      description: 'Moves committed outbox rows to the job queue (FOR UPDATE SKIP LOCKED batches)',
      code: handlerCode('outbox-relay'),
      handler: 'index.handler',
      // The schedule fires every minute; a run that outlived it would overlap the next one
      // (harmless with SKIP LOCKED, but wasteful).
      timeout: Duration.seconds(55),
      memorySize: 256,
      logGroup: new logs.LogGroup(this, 'OutboxRelayLogs', {
        retention: workerOptions.logRetention ?? logs.RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
      environment: {
        ...databaseEnvironment,
        QUEUE_URL: this.queue.queueUrl,
        RELAY_BATCH_SIZE: '10',
        HISTORY_RETENTION_DAYS: String(historyRetention.toDays()),
      },
    });
    this.queue.grantSendMessages(this.relay);
    props.database.grantConnect(this.relay, dbUser);

    // Our own role (not the stack-wide one the target would create), so its grant is scoped to
    // this construct and acknowledged next to it.
    const scheduleRole = new iam.Role(this, 'RelayScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: `Lets EventBridge Scheduler invoke the outbox relay of ${this.node.path}`,
    });
    this.relaySchedule = new scheduler.Schedule(this, 'RelaySchedule', {
      description: `Runs the outbox relay of ${this.node.path}`,
      schedule: props.relaySchedule ?? scheduler.ScheduleExpression.rate(Duration.minutes(1)),
      target: new schedulerTargets.LambdaInvoke(this.relay, {
        role: scheduleRole,
        // A missed run is made up by the next one; retrying a stale invocation adds nothing.
        retryAttempts: 0,
        maxEventAge: Duration.minutes(1),
      }),
    });

    const runbook = (file: string) => `Runbook: ${runbookBaseUrl}/${file}`;
    const action = props.alarmTopic ? new cwActions.SnsAction(props.alarmTopic) : undefined;
    const alarm = (alarmId: string, alarmProps: cloudwatch.AlarmProps): cloudwatch.Alarm => {
      const created = new cloudwatch.Alarm(this, alarmId, alarmProps);
      if (action) {
        created.addAlarmAction(action);
        created.addOkAction(action);
      }
      return created;
    };

    this.alarms = {
      deadLetterQueueNotEmpty: alarm('DeadLetterQueueNotEmptyAlarm', {
        alarmDescription:
          `Background jobs (${this.node.path}): messages are waiting in the dead-letter queue; ` +
          `each is a job that failed ${maxReceiveCount} times and will not run until redriven. ` +
          runbook('dead-letter-queue.md'),
        metric: this.metricDeadLetterQueueMessages(),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      oldestMessageAge: alarm('OldestMessageAgeAlarm', {
        alarmDescription:
          `Background jobs (${this.node.path}): the oldest queued job has waited more than ` +
          `${maxMessageAge.toMinutes()} minutes; the worker is failing or not keeping up. ` +
          runbook('background-jobs.md'),
        metric: this.metricOldestMessageAge(),
        threshold: maxMessageAge.toSeconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      workerErrors: alarm('WorkerErrorsAlarm', {
        alarmDescription:
          `Background jobs (${this.node.path}): the worker failed whole invocations (crash, ` +
          'timeout or database unreachable), not single jobs. ' +
          runbook('background-jobs.md'),
        metric: this.metricWorkerErrors(),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      outboxBacklog: alarm('OutboxBacklogAlarm', {
        alarmDescription:
          `Background jobs (${this.node.path}): the outbox has not drained for 15 minutes, or the ` +
          'relay has stopped reporting; committed jobs are not reaching the queue. ' +
          runbook('outbox-backlog.md'),
        metric: this.metricOutboxBacklog(),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        // No data means the relay is not running: the backlog can only be growing.
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
    };

    this.acknowledgePolicyFindings(scheduleRole);
  }

  /** Lets a producer send jobs to the queue directly (encrypting with the queue key). */
  public grantEnqueue(grantee: iam.IGrantable): iam.Grant {
    return this.queue.grantSendMessages(grantee);
  }

  /** Messages waiting in the dead-letter queue (maximum per minute). */
  public metricDeadLetterQueueMessages(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      statistic: cloudwatch.Stats.MAXIMUM,
      period: Duration.minutes(1),
      ...props,
    });
  }

  /** Age of the oldest message in the job queue, in seconds (maximum per minute). */
  public metricOldestMessageAge(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queue.metricApproximateAgeOfOldestMessage({
      statistic: cloudwatch.Stats.MAXIMUM,
      period: Duration.minutes(1),
      ...props,
    });
  }

  /** Failed worker invocations (sum per 5 minutes); single failed jobs are not errors. */
  public metricWorkerErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.worker.metricErrors({
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(5),
      ...props,
    });
  }

  /** Unpublished outbox rows left after each relay run (minimum per 5 minutes). */
  public metricOutboxBacklog(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.jobsMetric('OutboxBacklog', { statistic: cloudwatch.Stats.MINIMUM, ...props });
  }

  /** Age of the oldest unpublished outbox row after each relay run, in seconds (maximum per 5 minutes). */
  public metricOutboxOldestAge(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.jobsMetric('OutboxOldestAgeSeconds', { statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /** Jobs the worker found poison (invalid or permanently failing), sum per 5 minutes. */
  public metricPoisonJobs(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.jobsMetric('JobsPoison', { statistic: cloudwatch.Stats.SUM, ...props });
  }

  /** Jobs the worker acted on, sum per 5 minutes. */
  public metricProcessedJobs(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.jobsMetric('JobsProcessed', { statistic: cloudwatch.Stats.SUM, ...props });
  }

  private jobsMetric(metricName: string, props: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: JOBS_METRIC_NAMESPACE,
      metricName,
      dimensionsMap: { service: this.metricsServiceName },
      period: Duration.minutes(5),
      ...props,
    });
  }

  private validate(v: {
    workerTimeout: Duration;
    visibilityTimeout: Duration;
    maxReceiveCount: number;
    maxConcurrency: number;
    batchSize: number;
    backoffBase: Duration;
    backoffMax: Duration;
    retentionPeriod: Duration;
    deadLetterRetention: Duration;
    maxMessageAge: Duration;
    historyRetention: Duration;
  }): void {
    const fail = (message: string): never => {
      throw new Error(`BackgroundJobs '${this.node.path}': ${message}`);
    };
    const resolved = (...values: Array<Duration | number>) =>
      values.every((value) => !Token.isUnresolved(typeof value === 'number' ? value : value.toString()));
    const s = (d: Duration) => d.toSeconds();

    if (resolved(v.workerTimeout, v.visibilityTimeout)) {
      if (s(v.visibilityTimeout) < VISIBILITY_TO_TIMEOUT_RATIO * s(v.workerTimeout)) {
        fail(
          `visibilityTimeout (${s(v.visibilityTimeout)}s) must be at least ${VISIBILITY_TO_TIMEOUT_RATIO} times ` +
            `the worker timeout (${s(v.workerTimeout)}s), or a batch can be delivered again while it is still ` +
            `being processed; set visibilityTimeout to at least ${VISIBILITY_TO_TIMEOUT_RATIO * s(v.workerTimeout)}s ` +
            'or shorten worker.timeout',
        );
      }
      if (s(v.visibilityTimeout) > 43_200) {
        fail(
          `visibilityTimeout (${s(v.visibilityTimeout)}s) must be at most 12 hours (SQS limit); shorten worker.timeout`,
        );
      }
    }
    if (
      resolved(v.maxReceiveCount) &&
      (!Number.isInteger(v.maxReceiveCount) || v.maxReceiveCount < 1 || v.maxReceiveCount > 1000)
    ) {
      fail(`maxReceiveCount must be an integer from 1 to 1000, got ${v.maxReceiveCount}`);
    }
    if (
      resolved(v.maxConcurrency) &&
      (!Number.isInteger(v.maxConcurrency) || v.maxConcurrency < 2 || v.maxConcurrency > 1000)
    ) {
      fail(
        `worker.maxConcurrency must be an integer from 2 to 1000 (SQS event source limits), got ${v.maxConcurrency}`,
      );
    }
    if (
      resolved(v.batchSize) &&
      (!Number.isInteger(v.batchSize) || v.batchSize < 1 || v.batchSize > 10_000)
    ) {
      fail(`worker.batchSize must be an integer from 1 to 10000, got ${v.batchSize}`);
    }
    if (resolved(v.backoffBase, v.backoffMax)) {
      if (s(v.backoffBase) < 1 || s(v.backoffBase) > s(v.backoffMax)) {
        fail(
          `backoff.base (${s(v.backoffBase)}s) must be at least 1 second and at most backoff.max (${s(v.backoffMax)}s)`,
        );
      }
      if (s(v.backoffMax) > 43_200)
        fail(`backoff.max (${s(v.backoffMax)}s) must be at most 12 hours (SQS limit)`);
    }
    if (resolved(v.backoffMax, v.maxMessageAge) && s(v.maxMessageAge) <= s(v.backoffMax)) {
      fail(
        `maxMessageAge (${s(v.maxMessageAge)}s) must exceed backoff.max (${s(v.backoffMax)}s), or an ordinary retry ` +
          'raises the oldest-message alarm; raise maxMessageAge or lower backoff.max',
      );
    }
    if (resolved(v.retentionPeriod, v.backoffMax, v.visibilityTimeout, v.maxReceiveCount)) {
      const needed = v.maxReceiveCount * (s(v.backoffMax) + s(v.visibilityTimeout));
      if (s(v.retentionPeriod) <= needed) {
        fail(
          `retentionPeriod (${s(v.retentionPeriod)}s) must exceed maxReceiveCount x (backoff.max + visibilityTimeout) ` +
            `= ${needed}s, or a failing job expires before it reaches the dead-letter queue; raise retentionPeriod`,
        );
      }
    }
    if (
      resolved(v.deadLetterRetention) &&
      (s(v.deadLetterRetention) < 60 || s(v.deadLetterRetention) > 1_209_600)
    ) {
      fail(
        `deadLetterRetentionPeriod must be between 1 minute and 14 days (SQS limits), got ${s(v.deadLetterRetention)}s`,
      );
    }
    if (resolved(v.historyRetention, v.retentionPeriod, v.deadLetterRetention)) {
      const window = s(v.retentionPeriod) + s(v.deadLetterRetention);
      if (s(v.historyRetention) <= window) {
        fail(
          `historyRetention (${v.historyRetention.toDays({ integral: false })} days) must exceed retentionPeriod + ` +
            `deadLetterRetentionPeriod (${window / 86_400} days): a job redriven from the DLQ after its ` +
            'processed_jobs entry was pruned would run twice',
        );
      }
    }
  }

  private acknowledgePolicyFindings(scheduleRole: iam.Role): void {
    for (const fn of [this.worker, this.relay]) {
      Validations.of(fn).acknowledge(
        {
          id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
          reason:
            'The AWS-managed basic execution policy only lets the function write its own CloudWatch Logs; a copy of it would add nothing.',
        },
        {
          id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
          reason:
            'The function runs in the VPC to reach the RDS Proxy; Lambda needs these ENI permissions, which only exist on Resource "*".',
        },
      );
    }
    Validations.of(this.relay).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        reason:
          'Granted by queue.grantSendMessages on the one key of the job queue: SQS needs data keys to encrypt messages.',
      },
      {
        id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]',
        reason: 'Granted by queue.grantSendMessages and scoped to the one key of the job queue.',
      },
    );
    const ack = (scope: Construct, id: string, reason: string) =>
      Validations.of(scope).acknowledge({ id, reason });
    ack(
      this,
      'NIST.800.53.R5-IAMNoInlinePolicy',
      "CDK grant methods write each role's least-privilege statements into that role's own DefaultPolicy, scoped to this construct's resources; a managed policy would be shareable across roles, which least privilege avoids.",
    );
    const logs =
      'Job processing logs (job ids, attempts, outcomes; the logging standard keeps payload secrets out), encrypted at rest by CloudWatch Logs with service keys; retention from config, as long as the jobs are worth debugging.';
    ack(this, 'NIST.800.53.R5-CloudWatchLogGroupEncrypted', logs);
    ack(this, guardRuleId('cloudwatch_log_group_encrypted_check'), logs);
    ack(this, guardRuleId('cloudwatch_log_group_retention_period_check'), logs);
    for (const fn of [this.worker, this.relay]) {
      ack(
        fn,
        'AwsSolutions-IAM5[Resource::*]',
        'X-Ray tracing (tracing: ACTIVE) adds xray:PutTraceSegments and xray:PutTelemetryRecords, which support no resource scoping.',
      );
      ack(
        fn,
        guardRuleId('lambda_inside_vpc_check'),
        'The function runs in the VPC (application subnets, its own security group); its subnet ids are imported from the stateful stack (Fn::ImportValue), which the Control Tower rule cannot resolve.',
      );
    }
    ack(
      this.worker,
      'NIST.800.53.R5-LambdaConcurrency',
      "The SQS event source's maxConcurrency already caps the worker (and so its database connections); reserving concurrency would take capacity from the account pool (new accounts have 10) and throttle it below what the account allows.",
    );
    ack(
      this.relay,
      'NIST.800.53.R5-LambdaConcurrency',
      'Invoked once a minute by the schedule; overlapping runs are harmless (FOR UPDATE SKIP LOCKED); reserving concurrency would take capacity from the account pool (new accounts have 10) and throttle it below what the account allows.',
    );
    const workerDlq =
      'Invoked by the SQS event source mapping, never asynchronously: a failed job returns to the queue and, after maxReceiveCount, moves to the dead-letter queue (alarmed); a Lambda DLQ would never receive anything.';
    ack(this.worker, 'NIST.800.53.R5-LambdaDLQ', workerDlq);
    ack(this.worker, 'Serverless-LambdaDLQ', workerDlq);
    ack(
      this.worker,
      'Serverless-LambdaEventSourceMappingDestination',
      "SQS event sources do not support on-failure destinations; failed messages go to the queue's own dead-letter queue through its redrive policy.",
    );
    const relayDlq =
      'Invoked by EventBridge Scheduler every minute: a failed run leaves the outbox rows in place for the next run, and the outbox-backlog alarm fires when they pile up; a DLQ of stale invocations would replay nothing useful.';
    ack(this.relay, 'NIST.800.53.R5-LambdaDLQ', relayDlq);
    ack(this.relay, 'Serverless-LambdaDLQ', relayDlq);
    const dlqOfItsOwn =
      'This is the dead-letter queue of the job queue; messages end here after maxReceiveCount attempts and an alarm pages. A dead-letter queue of the dead-letter queue would only hide them.';
    ack(this.deadLetterQueue, 'Serverless-SQSRedrivePolicy', dlqOfItsOwn);
    ack(this.deadLetterQueue, guardRuleId('sqs_dlq_check'), dlqOfItsOwn);

    Validations.of(scheduleRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.relay.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
      reason:
        'Invoke permission on the versions and aliases of the outbox relay function only (the LambdaInvoke target grant).',
    });
  }
}
