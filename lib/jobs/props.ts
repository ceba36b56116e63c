import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as rds from 'aws-cdk-lib/aws-rds';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';

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
   * SQS refusals of one outbox row after which the relay parks it (it stops being retried, the
   * `OutboxParkedAlarm` fires, and an operator releases it: runbooks/outbox-parked.md). The
   * rest of the outbox keeps draining at full rate meanwhile. An outage (the whole call failing)
   * is not a refusal and parks nothing.
   * @default 5
   */
  readonly parkAfterRefusals?: number;

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
   * The database user the worker signs in as: an `rds_iam` role that may record processed jobs
   * and nothing else (`migrations/0007_function_roles.sql`).
   * @default 'shipshape_jobs_worker'
   */
  readonly workerDatabaseUser?: string;

  /**
   * The database user the outbox relay signs in as: an `rds_iam` role that may claim, stamp,
   * park and prune outbox rows and prune processed jobs (`migrations/0007_function_roles.sql`).
   * @default 'shipshape_outbox_relay'
   */
  readonly relayDatabaseUser?: string;

  /**
   * Database users the functions may still connect as during the release that switches them to
   * their own roles: a canary's previous version and a rollback still sign in as these, so the
   * `rds-db:connect` permission stays until the release after (see docs/migrations.md, "one role
   * per function"). Empty once every release in service uses the per-function roles.
   * @default ['app']
   */
  readonly legacyDatabaseUsers?: string[];
}
