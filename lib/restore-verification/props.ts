import type { Duration } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as rds from 'aws-cdk-lib/aws-rds';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { CriticalTable } from '../../lambda/shared/restore-verification';

export type { CriticalTable };

/** Reusable knobs of {@link RestoreVerification}. */
export interface RestoreVerificationOptions {
  /**
   * When the verification runs.
   * @default ScheduleExpression.expression('cron(0 4 * * ? *)') - daily at 04:00 UTC
   */
  readonly schedule?: scheduler.ScheduleExpression;

  /**
   * How often the schedule fires: the period of the "did not run" alarm. Set it when `schedule`
   * is a `cron()` that does not fire daily.
   * @default - the rate of a `rate()` schedule; one day for a `cron()` schedule
   */
  readonly schedulePeriod?: Duration;

  /**
   * Give up waiting for the restored instance to become available after this long.
   * @default Duration.minutes(90)
   */
  readonly restoreTimeout?: Duration;

  /**
   * Pause between two status checks of the restoring instance.
   * @default Duration.minutes(1)
   */
  readonly pollInterval?: Duration;

  /**
   * Tables that must exist in the restore with at least their minimum rows.
   * @default - `heartbeat` with at least one row
   */
  readonly criticalTables?: CriticalTable[];

  /**
   * Alarm when the measured recovery point is older than this.
   * @default Duration.minutes(15)
   */
  readonly rpoTarget?: Duration;

  /**
   * How often the heartbeat writer inserts a row: the resolution of the measured RPO.
   * @default Duration.minutes(5)
   */
  readonly heartbeatInterval?: Duration;

  /**
   * Class of the throwaway instance. The smallest Graviton burstable class restores every
   * current PostgreSQL version on gp3 storage; verification reads little.
   * @default ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MICRO)
   */
  readonly instanceType?: ec2.InstanceType;

  /**
   * Throwaway instances (tagged by this construct) older than this are deleted by the janitor
   * step of the next run. Must exceed the state machine's timeout so a live run is never touched.
   * @default - the state machine timeout plus one hour
   */
  readonly orphanMaxAge?: Duration;

  /**
   * Identifier prefix of the throwaway instances; IAM only lets the job restore and delete
   * instances whose identifier starts with it.
   * @default 'shipshape-rv-'
   */
  readonly instanceIdentifierPrefix?: string;

  /**
   * Database user the verifier connects as (read-only).
   * @default 'restore_verifier'
   */
  readonly verifierUser?: string;

  /**
   * Database user the heartbeat writer connects as: a role that may insert into
   * `public.heartbeat` and nothing else (`migrations/0007_function_roles.sql`). Only this user:
   * the writer is not canaried, so no earlier version signs in as another one.
   * @default 'shipshape_heartbeat'
   */
  readonly heartbeatUser?: string;

  /**
   * Value of the `Environment` dimension of the metrics.
   * @default - the name of the stack
   */
  readonly environmentName?: string;

  /**
   * Where failures are notified and the alarms send their ALARM and OK actions.
   * @default - no notification, alarms without actions
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * How long the functions' and the state machine's logs are kept.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
}

/** Props of {@link RestoreVerification}. */
export interface RestoreVerificationProps extends RestoreVerificationOptions {
  /** The instance whose point-in-time backups are verified. */
  readonly instance: rds.IDatabaseInstance;

  /** The RDS Proxy in front of `instance`: the source migration history and heartbeats go through it. */
  readonly proxy: rds.IDatabaseProxy & ec2.IConnectable;

  /** Name of the database inside the instance. */
  readonly databaseName: string;

  /** VPC of the source instance. */
  readonly vpc: ec2.IVpc;

  /** Isolated subnets for the throwaway instance, the verifier and the heartbeat writer. */
  readonly vpcSubnets: ec2.SubnetSelection;

  /** Full URL of the runbook the alarms link to. */
  readonly runbookUrl: string;

  /**
   * Subnet group of the throwaway instance.
   * @default - a new subnet group over `vpcSubnets`
   */
  readonly subnetGroup?: rds.ISubnetGroup;

  /**
   * Parameter group of the throwaway instance (use the source's to keep its settings).
   * @default - the engine's default parameter group
   */
  readonly parameterGroup?: rds.IParameterGroup;

  /**
   * Customer managed key encrypting the source's storage; the restore needs a grant on it.
   * @default - the source is encrypted with the AWS managed key
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Port the database listens on.
   * @default 5432
   */
  readonly port?: number;
}
