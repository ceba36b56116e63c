import { ArnFormat, Duration, RemovalPolicy, Size, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { SubnetTier } from '../network/network';
import type { AlarmTarget } from '../observability/alarm-target';
import { limitGrantsToAwsServices } from '../shared/kms';
import { allowLogGroupsToUseKey } from '../shared/log-encryption';
import { acknowledgeDatabaseFindings } from './acknowledgements';
import type { DatabaseProps } from './props';
import { defaultIdentifier, validateDatabase } from './validation';

export * from './props';
import { addDatabaseAlarms, type DatabaseAlarmOptions, instanceClassMemory } from './alarms';

export { type DatabaseAlarmOptions, instanceClassMemory } from './alarms';

/** Port of PostgreSQL and of an RDS Proxy for PostgreSQL (a proxy for PostgreSQL always listens on 5432). */
export const POSTGRES_PORT = 5432;

const PG_IDENTIFIER = /^[a-z_][a-z0-9_$]{0,62}$/;

/**
 * PostgreSQL on RDS behind an RDS Proxy with end-to-end IAM authentication.
 *
 * - The instance: gp3 storage with autoscaling, encrypted with a rotating customer-managed KMS key
 *   (also used for Performance Insights and the master secret), isolated subnets, not public,
 *   IAM database authentication on, TLS forced (`rds.force_ssl`), slow-query, lock-wait and
 *   connection logging exported to CloudWatch Logs, Enhanced Monitoring, automated backups with
 *   point-in-time recovery, a final snapshot on delete.
 * - The master password lives in Secrets Manager and is rotated by the hosted single-user
 *   rotation function (single-user: multi-user rotation would swap users under the proxy).
 * - The proxy: TLS required, IAM required from clients and used towards the database too
 *   (`DefaultAuthScheme.IAM_AUTH`), so no per-user secret exists. {@link grantConnect} gives a
 *   client `rds-db:connect` on the proxy, opens the proxy's security group to it, and lets the
 *   proxy's role connect to the instance as the same database user.
 */
export class Database extends Construct {
  /** The RDS instance. */
  public readonly instance: rds.DatabaseInstance;
  /** The RDS Proxy clients connect through. */
  public readonly proxy: rds.DatabaseProxy;
  /** Master credentials (`username`, `password`, `host`, ...), rotated. */
  public readonly secret: secretsmanager.ISecret;
  /** Key encrypting storage, snapshots, Performance Insights and the master secret. */
  public readonly key: kms.Key;
  /** Subnet group of the instance; restores into the same network reuse it. */
  public readonly subnetGroup: rds.SubnetGroup;
  /** Parameter group of the instance; restores reuse it. */
  public readonly parameterGroup: rds.ParameterGroup;
  /** Security group of the instance (admits the proxy and the rotation function). */
  public readonly securityGroup: ec2.SecurityGroup;
  /** Security group of the proxy (admits the clients given to {@link grantConnect}). */
  public readonly proxySecurityGroup: ec2.SecurityGroup;
  /** Role the proxy uses to connect to the instance with IAM. */
  public readonly proxyRole: iam.Role;
  /** Network access to the proxy, the way clients reach the database. */
  public readonly connections: ec2.Connections;
  /** Name of the database created on the instance. */
  public readonly databaseName: string;
  /** Port of the proxy and of the instance. */
  public readonly port: number;
  /** Master user name. */
  public readonly masterUsername: string;
  /** Log groups of the exported logs, by log type (`postgresql`, `upgrade`). */
  public readonly logGroups: Readonly<Record<string, logs.LogGroup>>;

  private readonly proxyUsers = new Set<string>();
  private readonly alarmDefaults: Required<DatabaseAlarmOptions>;

  constructor(scope: Construct, id: string, props: DatabaseProps) {
    super(scope, id);

    const allocated = props.allocatedStorage ?? Size.gibibytes(20);
    const maxAllocated = props.maxAllocatedStorage ?? Size.gibibytes(100);
    const backupRetention = props.backupRetention ?? Duration.days(7);
    const backupWindow = props.preferredBackupWindow ?? '01:00-02:00';
    const maintenanceWindow = props.preferredMaintenanceWindow ?? 'sun:02:30-sun:03:30';
    const rotation = props.secretRotation ?? Duration.days(30);
    const slowQuery = props.slowQueryThreshold ?? Duration.millis(500);
    const idleInTransaction = props.idleInTransactionTimeout ?? Duration.minutes(1);
    const monitoringInterval = props.monitoringInterval ?? Duration.seconds(60);
    const proxyOptions = props.proxy ?? {};
    const maxConnectionsPercent = proxyOptions.maxConnectionsPercent ?? 90;
    const maxIdleConnectionsPercent = proxyOptions.maxIdleConnectionsPercent ?? 50;
    const borrowTimeout = proxyOptions.borrowTimeout ?? Duration.seconds(30);
    const idleClientTimeout = proxyOptions.idleClientTimeout ?? Duration.minutes(30);
    const multiAz = props.multiAz ?? true;
    const deletionProtection = props.deletionProtection ?? true;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.SNAPSHOT;
    const instanceType =
      props.instanceType ?? ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MEDIUM);
    this.alarmDefaults = {
      allocatedStorage: allocated,
      instanceMemory: instanceClassMemory(instanceType.toString()),
      proxyMaxConnectionsPercent: maxConnectionsPercent,
    };
    this.databaseName = props.databaseName ?? 'shipshape';
    this.masterUsername = props.masterUsername ?? 'shipshape_admin';
    this.port = POSTGRES_PORT;
    const instanceIdentifier = props.instanceIdentifier ?? defaultIdentifier(this);

    validateDatabase(this, {
      allocatedGiB: allocated.toGibibytes(),
      maxAllocatedGiB: maxAllocated.toGibibytes(),
      backupRetentionDays: backupRetention.toDays({ integral: false }),
      backupWindow,
      maintenanceWindow,
      rotationDays: rotation.toDays({ integral: false }),
      monitoringSeconds: monitoringInterval.toSeconds({ integral: false }),
      slowQueryMillis: slowQuery.toMilliseconds({ integral: false }),
      idleInTransactionMillis: idleInTransaction.toMilliseconds({ integral: false }),
      maxConnectionsPercent,
      maxIdleConnectionsPercent,
      borrowTimeoutSeconds: borrowTimeout.toSeconds({ integral: false }),
      idleClientTimeoutSeconds: idleClientTimeout.toSeconds({ integral: false }),
      instanceIdentifier,
      databaseName: this.databaseName,
      masterUsername: this.masterUsername,
    });

    const vpcSubnets = props.vpcSubnets ?? { subnetGroupName: SubnetTier.DATA };

    this.key = new kms.Key(this, 'Key', {
      description: `Encrypts the ${this.node.path} database: storage, snapshots, Performance Insights, master secret`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    limitGrantsToAwsServices(this.key);

    this.subnetGroup = new rds.SubnetGroup(this, 'SubnetGroup', {
      description: `Isolated subnets of ${this.node.path}`,
      vpc: props.vpc,
      vpcSubnets,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `${this.node.path} instance: PostgreSQL from its proxy and rotation function only`,
      allowAllOutbound: false,
    });

    const engine = rds.DatabaseInstanceEngine.postgres({
      version: props.engineVersion ?? rds.PostgresEngineVersion.VER_18_3,
    });
    this.parameterGroup = new rds.ParameterGroup(this, 'ParameterGroup', {
      engine,
      description: `${this.node.path}: TLS only, slow-query, lock-wait and connection logging`,
      parameters: {
        'rds.force_ssl': '1',
        ssl_min_protocol_version: 'TLSv1.2',
        log_min_duration_statement: String(slowQuery.toMilliseconds()),
        log_lock_waits: '1',
        // PostgreSQL 18 made log_connections a list; these three equal the old "on".
        log_connections: 'receipt,authentication,authorization',
        log_disconnections: '1',
        log_statement: 'ddl',
        log_temp_files: '0',
        log_autovacuum_min_duration: '10000',
        idle_in_transaction_session_timeout: String(idleInTransaction.toMilliseconds()),
      },
    });

    // PostgreSQL logs can quote statement values: encrypt them with the database's own key.
    allowLogGroupsToUseKey(this.key, `/aws/rds/instance/${instanceIdentifier}/*`);
    this.logGroups = Object.fromEntries(
      ['postgresql', 'upgrade'].map((type) => [
        type,
        new logs.LogGroup(this, `${pascal(type)}Logs`, {
          logGroupName: `/aws/rds/instance/${instanceIdentifier}/${type}`,
          encryptionKey: this.key,
          retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
          removalPolicy:
            removalPolicy === RemovalPolicy.DESTROY ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
        }),
      ]),
    );

    this.instance = new rds.DatabaseInstance(this, 'Resource', {
      engine,
      instanceIdentifier,
      instanceType,
      vpc: props.vpc,
      subnetGroup: this.subnetGroup,
      securityGroups: [this.securityGroup],
      publiclyAccessible: false,
      port: POSTGRES_PORT,
      databaseName: this.databaseName,
      credentials: rds.Credentials.fromGeneratedSecret(this.masterUsername, { encryptionKey: this.key }),
      parameterGroup: this.parameterGroup,
      storageType: rds.StorageType.GP3,
      allocatedStorage: allocated.toGibibytes(),
      maxAllocatedStorage: maxAllocated.toGibibytes(),
      storageEncrypted: true,
      storageEncryptionKey: this.key,
      multiAz,
      deletionProtection,
      backupRetention,
      preferredBackupWindow: backupWindow,
      preferredMaintenanceWindow: maintenanceWindow,
      copyTagsToSnapshot: true,
      deleteAutomatedBackups: false,
      removalPolicy,
      iamAuthentication: true,
      autoMinorVersionUpgrade: true,
      caCertificate: rds.CaCertificate.RDS_CA_RSA2048_G1,
      // The log groups above exist first (fixed names, our retention); no LogRetention function.
      cloudwatchLogsExports: Object.keys(this.logGroups),
      enablePerformanceInsights: true,
      performanceInsightEncryptionKey: this.key,
      performanceInsightRetention: rds.PerformanceInsightRetention.DEFAULT,
      monitoringInterval,
    });
    for (const logGroup of Object.values(this.logGroups)) this.instance.node.addDependency(logGroup);
    this.secret = this.instance.secret!;
    // The master secret outlives the instance unless the instance is destroyed outright: a final
    // snapshot restores with this password.
    const masterSecret = this.instance.node.findChild('Secret') as secretsmanager.Secret;
    masterSecret.applyRemovalPolicy(
      removalPolicy === RemovalPolicy.DESTROY ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    );

    // Single-user rotation by the Secrets Manager hosted function, inside the data subnets.
    const rotationSecurityGroup = new ec2.SecurityGroup(this, 'RotationSecurityGroup', {
      vpc: props.vpc,
      description: `${this.node.path} secret rotation: PostgreSQL to the instance, HTTPS to Secrets Manager`,
      allowAllOutbound: false,
    });
    rotationSecurityGroup.addEgressRule(
      ec2.Peer.ipv4(props.vpc.vpcCidrBlock),
      ec2.Port.tcp(443),
      'HTTPS to the Secrets Manager interface endpoint',
    );
    const hostedRotation = secretsmanager.HostedRotation.postgreSqlSingleUser({
      vpc: props.vpc,
      vpcSubnets,
      securityGroups: [rotationSecurityGroup],
    });
    this.secret.addRotationSchedule('RotationSchedule', { hostedRotation, automaticallyAfter: rotation });
    this.instance.connections.allowDefaultPortFrom(hostedRotation, 'Secret rotation function');

    this.proxySecurityGroup = new ec2.SecurityGroup(this, 'ProxySecurityGroup', {
      vpc: props.vpc,
      description: `${this.node.path} proxy: PostgreSQL from granted clients only`,
      allowAllOutbound: false,
    });
    this.proxyRole = new iam.Role(this, 'ProxyRole', {
      assumedBy: new iam.ServicePrincipal('rds.amazonaws.com'),
      description: `Lets the ${this.node.path} proxy connect to the instance with IAM as the granted users`,
    });
    this.proxy = new rds.DatabaseProxy(this, 'Proxy', {
      proxyTarget: rds.ProxyTarget.fromInstance(this.instance),
      dbProxyName: `${instanceIdentifier}-proxy`,
      vpc: props.vpc,
      vpcSubnets,
      securityGroups: [this.proxySecurityGroup],
      role: this.proxyRole,
      requireTLS: true,
      iamAuth: true,
      defaultAuthScheme: rds.DefaultAuthScheme.IAM_AUTH,
      maxConnectionsPercent,
      maxIdleConnectionsPercent,
      borrowTimeout,
      idleClientTimeout,
    });
    this.connections = new ec2.Connections({
      securityGroups: [this.proxySecurityGroup],
      defaultPort: ec2.Port.tcp(POSTGRES_PORT),
    });

    acknowledgeDatabaseFindings(
      this,
      multiAz,
      deletionProtection,
      props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    );
  }

  /**
   * Lets `grantee` connect through the proxy as database user `dbUser` only: `rds-db:connect` on
   * `dbuser:<prx-id>/<dbUser>` (the ARN format of
   * https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy.html),
   * PostgreSQL to the proxy, and (end-to-end IAM) the proxy's own `rds-db:connect` on the instance
   * as that user. One call per function, with its own database role.
   *
   * The security-group rule is added on the grantee's side: in its own stack, with no cycle.
   */
  public grantConnect(grantee: iam.IGrantable & ec2.IConnectable, dbUser: string): iam.Grant {
    if (!Token.isUnresolved(dbUser) && !PG_IDENTIFIER.test(dbUser)) {
      throw new Error(
        `Database '${this.node.path}': grantConnect dbUser must be a lower-case PostgreSQL role name ` +
          `(letters, digits, _ and $, starting with a letter or _, at most 63 characters), got '${dbUser}'`,
      );
    }
    const grant = this.proxy.grantConnect(grantee, dbUser);
    grantee.connections.allowTo(
      this.proxy,
      ec2.Port.tcp(POSTGRES_PORT),
      `PostgreSQL to ${this.node.path} proxy`,
    );
    if (!this.proxyUsers.has(dbUser)) {
      this.proxyUsers.add(dbUser);
      this.proxyRole.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['rds-db:connect'],
          resources: [this.instanceUserArn(dbUser)],
        }),
      );
    }
    return grant;
  }

  /** ARN that `rds-db:connect` takes to connect to the instance itself as `dbUser`. */
  public instanceUserArn(dbUser: string): string {
    return Stack.of(this).formatArn({
      service: 'rds-db',
      resource: 'dbuser',
      resourceName: `${this.instance.instanceResourceId}/${dbUser}`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }

  /**
   * Creates this database's alarms (instance and RDS Proxy) and dashboard widgets in `target`,
   * each routed to the page or ticket topic with its runbook (`database.md`).
   */
  public addAlarms(target: AlarmTarget, options: DatabaseAlarmOptions = {}): void {
    const d = this.alarmDefaults;
    addDatabaseAlarms(this, target, {
      allocatedStorage: options.allocatedStorage ?? d.allocatedStorage,
      instanceMemory: options.instanceMemory ?? d.instanceMemory,
      proxyMaxConnectionsPercent: options.proxyMaxConnectionsPercent ?? d.proxyMaxConnectionsPercent,
    });
  }

  /** Any `AWS/RDS` metric of the instance. */
  public metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.instance.metric(metricName, props);
  }

  /** CPU utilization of the instance, percent (average over 5 minutes). */
  public metricCpu(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.instance.metricCPUUtilization(props);
  }

  /** Free storage, bytes (minimum): autoscaling grows storage, this shows the headroom left. */
  public metricFreeStorage(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.instance.metricFreeStorageSpace({ statistic: 'Minimum', ...props });
  }

  /** Freeable memory, bytes (minimum). */
  public metricFreeableMemory(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.instance.metricFreeableMemory({ statistic: 'Minimum', ...props });
  }

  /** Connections open on the instance (maximum); through the proxy this is the pool size. */
  public metricConnections(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.instance.metricDatabaseConnections({ statistic: 'Maximum', ...props });
  }

  /** Average read I/O latency, seconds. */
  public metricReadLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.instance.metric('ReadLatency', { statistic: 'Average', ...props });
  }

  /** Average write I/O latency, seconds. */
  public metricWriteLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.instance.metric('WriteLatency', { statistic: 'Average', ...props });
  }

  /** Any `AWS/RDS` metric of the proxy (dimension `ProxyName`). */
  public metricProxy(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/RDS',
      metricName,
      dimensionsMap: { ProxyName: this.proxy.dbProxyName },
      ...props,
    });
  }

  /** Client connections open to the proxy (maximum). */
  public metricProxyClientConnections(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metricProxy('ClientConnections', { statistic: 'Maximum', ...props });
  }

  /** Time clients wait for a pooled connection, microseconds (p99). */
  public metricProxyBorrowLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metricProxy('DatabaseConnectionsBorrowLatency', { statistic: 'p99', ...props });
  }
}

function pascal(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
