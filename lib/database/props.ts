import type { Duration, RemovalPolicy, Size } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as rds from 'aws-cdk-lib/aws-rds';

/** Connection-pool settings of the RDS Proxy. */
export interface DatabaseProxyOptions {
  /**
   * Share of the instance's `max_connections` the proxy may open.
   * @default 90
   */
  readonly maxConnectionsPercent?: number;

  /**
   * Share of `max_connections` the proxy keeps open while idle. At most `maxConnectionsPercent`.
   * @default 50
   */
  readonly maxIdleConnectionsPercent?: number;

  /**
   * How long a client waits for a pooled connection before the proxy answers with an error.
   * @default Duration.seconds(30)
   */
  readonly borrowTimeout?: Duration;

  /**
   * How long a client connection may sit idle before the proxy closes it.
   * @default Duration.minutes(30)
   */
  readonly idleClientTimeout?: Duration;
}

/** Reusable knobs of {@link Database}. */
export interface DatabaseOptions {
  /**
   * Instance class.
   * @default ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MEDIUM)
   */
  readonly instanceType?: ec2.InstanceType;

  /**
   * PostgreSQL engine version. The parameter group family follows it.
   * @default rds.PostgresEngineVersion.VER_18_3
   */
  readonly engineVersion?: rds.PostgresEngineVersion;

  /**
   * Storage allocated at creation (gp3).
   * @default Size.gibibytes(20)
   */
  readonly allocatedStorage?: Size;

  /**
   * Upper bound for storage autoscaling. At least `allocatedStorage`.
   * @default Size.gibibytes(100)
   */
  readonly maxAllocatedStorage?: Size;

  /**
   * Keep a synchronous standby in a second AZ.
   * @default true
   */
  readonly multiAz?: boolean;

  /**
   * Refuse to delete the instance until this is turned off.
   * @default true
   */
  readonly deletionProtection?: boolean;

  /**
   * How long automated backups (and so point-in-time recovery) reach back: 1 to 35 days.
   * @default Duration.days(7)
   */
  readonly backupRetention?: Duration;

  /**
   * Daily backup window, UTC, `hh24:mi-hh24:mi`, at least 30 minutes, not overlapping maintenance.
   * @default '01:00-02:00'
   */
  readonly preferredBackupWindow?: string;

  /**
   * Weekly maintenance window, UTC, `ddd:hh24:mi-ddd:hh24:mi`, at least 30 minutes.
   * @default 'sun:02:30-sun:03:30'
   */
  readonly preferredMaintenanceWindow?: string;

  /**
   * How often Secrets Manager rotates the master password (single-user rotation).
   * @default Duration.days(30)
   */
  readonly secretRotation?: Duration;

  /**
   * Retention of the exported `postgresql` and `upgrade` logs in CloudWatch Logs.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Database created on the instance.
   * @default 'shipshape'
   */
  readonly databaseName?: string;

  /**
   * Master user name; its password is generated into Secrets Manager.
   * @default 'shipshape_admin'
   */
  readonly masterUsername?: string;

  /**
   * DB instance identifier (lower case). Fixed so that the exported log groups can be created,
   * with a retention, before the instance exists. The proxy is named `<identifier>-proxy`.
   * @default - derived from the construct path
   */
  readonly instanceIdentifier?: string;

  /**
   * Statements slower than this are logged (`log_min_duration_statement`).
   * @default Duration.millis(500)
   */
  readonly slowQueryThreshold?: Duration;

  /**
   * Sessions idle inside an open transaction longer than this are ended
   * (`idle_in_transaction_session_timeout`): they hold locks and block vacuum.
   * @default Duration.minutes(1)
   */
  readonly idleInTransactionTimeout?: Duration;

  /**
   * Enhanced Monitoring granularity: 1, 5, 10, 15, 30 or 60 seconds.
   * @default Duration.seconds(60)
   */
  readonly monitoringInterval?: Duration;

  /**
   * What happens to the instance when it leaves the stack.
   * @default RemovalPolicy.SNAPSHOT
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * RDS Proxy connection pool.
   * @default - see {@link DatabaseProxyOptions}
   */
  readonly proxy?: DatabaseProxyOptions;
}

/** Props of {@link Database}. */
export interface DatabaseProps extends DatabaseOptions {
  /** VPC to place the instance, its proxy and the rotation function in. */
  readonly vpc: ec2.IVpc;

  /**
   * Subnets of the instance, the proxy and the rotation function. They need a Secrets Manager
   * interface endpoint (the rotation function calls Secrets Manager).
   * @default - the `Data` subnet group of {@link Network}
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
}
