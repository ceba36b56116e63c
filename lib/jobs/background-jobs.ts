import { Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as eventSources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { limitGrantsToAwsServices } from '../shared/kms';
import { handlerCode } from '../util/handler-code';
import { acknowledgeBackgroundJobsFindings } from './acknowledgements';
import { createBackgroundJobsAlarms } from './alarms';
import { type BackgroundJobsProps, JOBS_METRIC_NAMESPACE, VISIBILITY_TO_TIMEOUT_RATIO } from './props';
import { validateBackgroundJobs } from './validation';

export * from './props';
export type { BackgroundJobsAlarmOptions } from './alarms';

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
    readonly outboxParked: cloudwatch.Alarm;
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
    const workerUser = props.workerDatabaseUser ?? 'shipshape_jobs_worker';
    const relayUser = props.relayDatabaseUser ?? 'shipshape_outbox_relay';
    const legacyUsers = props.legacyDatabaseUsers ?? ['app'];
    const parkAfterRefusals = props.parkAfterRefusals ?? 5;

    validateBackgroundJobs(this, {
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
      parkAfterRefusals,
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
        DB_USER: workerUser,
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
    for (const user of [workerUser, ...legacyUsers]) props.database.grantConnect(this.worker, user);

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
        PARK_AFTER_REFUSALS: String(parkAfterRefusals),
        DB_USER: relayUser,
      },
    });
    this.queue.grantSendMessages(this.relay);
    for (const user of [relayUser, ...legacyUsers]) props.database.grantConnect(this.relay, user);

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

    this.alarms = createBackgroundJobsAlarms(this, {
      runbookBaseUrl,
      alarmTopic: props.alarmTopic,
      maxReceiveCount,
      maxMessageAge,
      parkAfterRefusals,
    });

    acknowledgeBackgroundJobsFindings(this, scheduleRole);
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

  /** Parked outbox rows (refused too often, waiting for an operator) after each relay run (maximum per 5 minutes). */
  public metricOutboxParked(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.jobsMetric('OutboxParked', { statistic: cloudwatch.Stats.MAXIMUM, ...props });
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
}
