import { type App, Duration, Size, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Database, type DatabaseProps } from '../../lib/database/database';
import { Network } from '../../lib/network/network';
import { newTestApp, synthEnvironment } from '../helpers/synth';

const INSTANCE = 'DatabaseF44359DD';
const KEY = 'DatabaseKey5E5D9547';
const SUBNET_GROUP = 'DatabaseSubnetGroup7D60F180';
const PROXY_SG = 'DatabaseProxySecurityGroupCCC9DB86';
const INSTANCE_SG = 'DatabaseSecurityGroup5C91FDCB';

describe.each([
  [
    'staging',
    {
      multiAz: false,
      deletionProtection: false,
      retention: 7,
      logDays: 30,
      secretId: 'StagingStatefulDatabaseSecret8DE518AD3fdaad7efa858a3daf9490cf0a702aeb',
      azs: 2,
    },
  ],
  [
    'production',
    {
      multiAz: true,
      deletionProtection: true,
      retention: 35,
      logDays: 365,
      secretId: 'ProductionStatefulDatabaseSecret4F5FD6243fdaad7efa858a3daf9490cf0a702aeb',
      azs: 3,
    },
  ],
] as const)('database in %s', (env, expected) => {
  let template: Template;
  beforeAll(() => {
    template = synthEnvironment(env).stateful;
  });

  test('logical ids of the instance, key, master secret and subnet group are pinned', () => {
    const ids = Object.keys(template.toJSON().Resources as object);
    expect(ids).toEqual(expect.arrayContaining([INSTANCE, KEY, SUBNET_GROUP, expected.secretId]));
    template.hasResource('AWS::RDS::DBInstance', { Properties: Match.anyValue() });
    expect(Object.keys(template.findResources('AWS::RDS::DBInstance'))).toEqual([INSTANCE]);
  });

  test('the instance takes a final snapshot on delete; key, secret and subnet group are retained', () => {
    const resources = template.toJSON().Resources as Record<
      string,
      { DeletionPolicy?: string; UpdateReplacePolicy?: string }
    >;
    expect(resources[INSTANCE]).toMatchObject({
      DeletionPolicy: 'Snapshot',
      UpdateReplacePolicy: 'Snapshot',
    });
    for (const id of [KEY, SUBNET_GROUP, expected.secretId]) {
      expect(resources[id]).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    }
  });

  test(`Multi-AZ is ${expected.multiAz} and deletion protection ${expected.deletionProtection}, from config`, () => {
    template.hasResourceProperties('AWS::RDS::DBInstance', {
      MultiAZ: expected.multiAz,
      DeletionProtection: expected.deletionProtection,
    });
  });

  test(`keeps ${expected.retention} days of point-in-time recovery, in windows that do not overlap`, () => {
    template.hasResourceProperties('AWS::RDS::DBInstance', {
      BackupRetentionPeriod: expected.retention,
      PreferredBackupWindow: '01:00-02:00',
      PreferredMaintenanceWindow: 'sun:02:30-sun:03:30',
      CopyTagsToSnapshot: true,
      DeleteAutomatedBackups: false,
    });
  });

  test('runs PostgreSQL 18 on autoscaling gp3 storage encrypted with the rotating customer key', () => {
    template.hasResourceProperties('AWS::RDS::DBInstance', {
      Engine: 'postgres',
      EngineVersion: Match.stringLikeRegexp('^18\\.'),
      StorageType: 'gp3',
      StorageEncrypted: true,
      KmsKeyId: { 'Fn::GetAtt': [KEY, 'Arn'] },
      MaxAllocatedStorage: env === 'production' ? 500 : 100,
      PubliclyAccessible: false,
      EnableIAMDatabaseAuthentication: true,
    });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  test('subnet group spans exactly the Data subnets', () => {
    const subnetIds = template.toJSON().Resources[SUBNET_GROUP].Properties.SubnetIds as Array<{
      Ref: string;
    }>;
    expect(subnetIds).toHaveLength(expected.azs);
    for (const s of subnetIds) expect(s.Ref).toMatch(/^NetworkDataSubnet\d/);
  });

  test('parameter group forces TLS and logs slow queries, lock waits and connections', () => {
    template.hasResourceProperties('AWS::RDS::DBParameterGroup', {
      Family: 'postgres18',
      Parameters: Match.objectLike({
        'rds.force_ssl': '1',
        log_min_duration_statement: '500',
        log_lock_waits: '1',
        log_connections: 'receipt,authentication,authorization',
        idle_in_transaction_session_timeout: '60000',
      }),
    });
  });

  test('exports postgresql and upgrade logs to log groups created first, with the configured retention', () => {
    template.hasResourceProperties('AWS::RDS::DBInstance', {
      EnableCloudwatchLogsExports: ['postgresql', 'upgrade'],
    });
    for (const type of ['postgresql', 'upgrade']) {
      template.hasResourceProperties('AWS::Logs::LogGroup', {
        LogGroupName: `/aws/rds/instance/shipshape-${env}/${type}`,
        RetentionInDays: expected.logDays,
      });
    }
    template.hasResource('AWS::RDS::DBInstance', {
      DependsOn: Match.arrayWith(['DatabasePostgresqlLogs0EEFD61B', 'DatabaseUpgradeLogsA548C373']),
    });
    template.resourceCountIs('Custom::LogRetention', 0);
  });

  test('has Performance Insights encrypted with the key and Enhanced Monitoring every minute', () => {
    template.hasResourceProperties('AWS::RDS::DBInstance', {
      EnablePerformanceInsights: true,
      PerformanceInsightsKMSKeyId: { 'Fn::GetAtt': [KEY, 'Arn'] },
      MonitoringInterval: 60,
      MonitoringRoleArn: Match.anyValue(),
    });
  });

  test('master secret is KMS-encrypted and rotated single-user by the hosted function in the Data subnets', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      KmsKeyId: { 'Fn::GetAtt': [KEY, 'Arn'] },
      GenerateSecretString: Match.objectLike({ SecretStringTemplate: '{"username":"shipshape_admin"}' }),
    });
    template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
      HostedRotationLambda: Match.objectLike({
        RotationType: 'PostgreSQLSingleUser',
        KmsKeyArn: { 'Fn::GetAtt': [KEY, 'Arn'] },
        VpcSubnetIds: {
          'Fn::Join': ['', Match.arrayWith([{ Ref: Match.stringLikeRegexp('^NetworkDataSubnet1') }])],
        },
      }),
    });
  });

  test('the instance admits PostgreSQL only from the proxy and the rotation function', () => {
    const ingress = template.findResources('AWS::EC2::SecurityGroupIngress', {
      Properties: { GroupId: { 'Fn::GetAtt': [INSTANCE_SG, 'GroupId'] } },
    });
    const sources = Object.values(ingress).map((r) => {
      const p = r.Properties as { FromPort: unknown; SourceSecurityGroupId: { 'Fn::GetAtt': string[] } };
      // The instance's port attribute, which is 5432.
      expect(p.FromPort).toEqual({ 'Fn::GetAtt': [INSTANCE, 'Endpoint.Port'] });
      return p.SourceSecurityGroupId['Fn::GetAtt'][0];
    });
    expect(sources.sort()).toEqual([PROXY_SG, 'DatabaseRotationSecurityGroup8E1B7C66']);
  });

  test('proxy requires TLS and IAM end to end, with the configured pool, in the Data subnets', () => {
    template.hasResourceProperties('AWS::RDS::DBProxy', {
      DBProxyName: `shipshape-${env}-proxy`,
      EngineFamily: 'POSTGRESQL',
      RequireTLS: true,
      DefaultAuthScheme: 'IAM_AUTH',
      Auth: Match.absent(),
      VpcSecurityGroupIds: [{ 'Fn::GetAtt': [PROXY_SG, 'GroupId'] }],
      VpcSubnetIds: Match.arrayWith([{ Ref: Match.stringLikeRegexp('^NetworkDataSubnet1') }]),
    });
    template.hasResourceProperties('AWS::RDS::DBProxyTargetGroup', {
      DBInstanceIdentifiers: [{ Ref: INSTANCE }],
      ConnectionPoolConfigurationInfo: {
        MaxConnectionsPercent: 90,
        MaxIdleConnectionsPercent: 50,
        ConnectionBorrowTimeout: 30,
      },
    });
  });

  test('proxy security group admits nobody until grantConnect', () => {
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('Database proxy'),
      SecurityGroupIngress: Match.absent(),
    });
  });
});

describe('Database construct', () => {
  function newStack(): Stack {
    const stack = new Stack(newTestApp(), 'Db', { env: { account: '111111111111', region: 'eu-west-1' } });
    Object.defineProperty(stack, 'availabilityZones', { get: () => ['eu-west-1a', 'eu-west-1b'] });
    return stack;
  }
  function build(props: Partial<DatabaseProps> = {}): { stack: Stack; db: Database; vpc: ec2.Vpc } {
    const stack = newStack();
    const { vpc } = new Network(stack, 'Network');
    const db = new Database(stack, 'Database', { vpc, ...props });
    return { stack, db, vpc };
  }

  describe('grantConnect', () => {
    let template: Template;
    let clientTemplate: Template;
    beforeAll(() => {
      const { stack, db, vpc } = build();
      const clientStack = new Stack(stack.node.scope as App, 'Client', {
        env: { account: '111111111111', region: 'eu-west-1' },
      });
      const fn = new lambda.Function(clientStack, 'Fn', {
        runtime: lambda.Runtime.NODEJS_24_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline('exports.handler = async () => {}'),
        vpc,
        vpcSubnets: { subnetGroupName: 'Application' },
      });
      db.grantConnect(fn, 'app');
      db.grantConnect(fn, 'app');
      template = Template.fromStack(stack);
      clientTemplate = Template.fromStack(clientStack);
    });

    test("grants rds-db:connect on the proxy's dbuser:<prx-id>/<user> ARN", () => {
      clientTemplate.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: 'rds-db:connect',
              Resource: {
                'Fn::Join': [
                  '',
                  Match.arrayWith([
                    ':rds-db:eu-west-1:111111111111:dbuser:',
                    {
                      'Fn::Select': [
                        6,
                        {
                          'Fn::Split': [':', { 'Fn::ImportValue': Match.stringLikeRegexp('DatabaseProxy') }],
                        },
                      ],
                    },
                    '/app',
                  ]),
                ],
              },
            }),
          ]),
        },
      });
    });

    test('opens the proxy security group to the grantee on 5432, from the grantee stack (no cycle)', () => {
      clientTemplate.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
        IpProtocol: 'tcp',
        FromPort: 5432,
        ToPort: 5432,
        GroupId: { 'Fn::ImportValue': Match.stringLikeRegexp('DatabaseProxySecurityGroup') },
        SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^FnSecurityGroup'), 'GroupId'] },
      });
    });

    test("lets the proxy's role connect to the instance as the same user, once", () => {
      template.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: Match.stringLikeRegexp('^DatabaseProxyRole') }],
        PolicyDocument: {
          Statement: [
            {
              Action: 'rds-db:connect',
              Effect: 'Allow',
              Resource: {
                'Fn::Join': [
                  '',
                  Match.arrayWith([
                    { 'Fn::GetAtt': [Match.stringLikeRegexp('^Database'), 'DbiResourceId'] },
                    '/app',
                  ]),
                ],
              },
            },
          ],
        },
      });
    });
  });

  test('defaults: Multi-AZ, deletion protection, 7 days of backups, a derived identifier', () => {
    const { stack } = build();
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::RDS::DBInstance', {
      MultiAZ: true,
      DeletionProtection: true,
      BackupRetentionPeriod: 7,
      DBInstanceIdentifier: Match.stringLikeRegexp('^[a-z][a-z0-9-]*[a-z0-9]$'),
      DBInstanceClass: 'db.t4g.medium',
    });
  });

  test('grantConnect returns a grant that can be inspected', () => {
    const { db, stack } = build();
    const role = new iam.Role(stack, 'Client', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    const sg = new ec2.SecurityGroup(stack, 'ClientSg', { vpc: db.instance.vpc });
    const grantee = Object.assign(role, { connections: new ec2.Connections({ securityGroups: [sg] }) });
    expect(db.grantConnect(grantee, 'restore_verifier').success).toBe(true);
  });

  test('metric helpers point at the instance and the proxy', () => {
    const { db, stack } = build();
    const resolve = (v: unknown) => stack.resolve(v);
    expect(db.metricCpu().metricName).toBe('CPUUtilization');
    expect(db.metricFreeStorage().statistic).toBe('Minimum');
    expect(db.metricFreeableMemory().metricName).toBe('FreeableMemory');
    expect(db.metricConnections().metricName).toBe('DatabaseConnections');
    expect(db.metricReadLatency().metricName).toBe('ReadLatency');
    expect(db.metricWriteLatency().metricName).toBe('WriteLatency');
    expect(resolve(db.metricCpu().dimensions)).toEqual({ DBInstanceIdentifier: { Ref: 'DatabaseF44359DD' } });
    const proxy = db.metricProxyClientConnections();
    expect(proxy.metricName).toBe('ClientConnections');
    expect(resolve(proxy.dimensions)).toEqual({ ProxyName: { Ref: 'DatabaseProxyE01FC4E6' } });
    expect(db.metricProxyBorrowLatency().metricName).toBe('DatabaseConnectionsBorrowLatency');
  });

  describe('fails when', () => {
    const cases: Array<[string, Partial<DatabaseProps>, RegExp]> = [
      [
        'allocated storage is below 20 GiB',
        { allocatedStorage: Size.gibibytes(10) },
        /allocatedStorage must be between 20 and 65536 GiB, got 10 GiB/,
      ],
      [
        'max storage is below allocated storage',
        { allocatedStorage: Size.gibibytes(50), maxAllocatedStorage: Size.gibibytes(40) },
        /maxAllocatedStorage \(40 GiB\) must be at least allocatedStorage \(50 GiB\)/,
      ],
      [
        'backup retention is 0 days',
        { backupRetention: Duration.days(0) },
        /backupRetention must be a whole number of days between 1 and 35.*got 0 days/,
      ],
      ['backup retention is 36 days', { backupRetention: Duration.days(36) }, /got 36 days/],
      [
        'the backup window is malformed',
        { preferredBackupWindow: '1am-2am' },
        /preferredBackupWindow must look like '01:00-02:00'.*got '1am-2am'/,
      ],
      [
        'the backup window is shorter than 30 minutes',
        { preferredBackupWindow: '01:00-01:20' },
        /last at least 30 minutes, got '01:00-01:20'/,
      ],
      [
        'the maintenance window is malformed',
        { preferredMaintenanceWindow: 'sunday 3am' },
        /preferredMaintenanceWindow must look like/,
      ],
      [
        'the backup window overlaps maintenance',
        { preferredBackupWindow: '03:00-04:00', preferredMaintenanceWindow: 'sun:02:30-sun:03:30' },
        /preferredBackupWindow '03:00-04:00' overlaps preferredMaintenanceWindow 'sun:02:30-sun:03:30'/,
      ],
      [
        'a midnight-crossing backup window overlaps maintenance on another day',
        { preferredBackupWindow: '23:30-00:30', preferredMaintenanceWindow: 'wed:00:00-wed:01:00' },
        /overlaps preferredMaintenanceWindow/,
      ],
      [
        'rotation is longer than 1000 days',
        { secretRotation: Duration.days(1001) },
        /secretRotation must be a whole number of days between 1 and 1000, got 1001 days/,
      ],
      [
        'the monitoring interval is not one RDS offers',
        { monitoringInterval: Duration.seconds(20) },
        /monitoringInterval must be one of 1, 5, 10, 15, 30, 60 seconds, got 20 seconds/,
      ],
      [
        'the slow-query threshold is fractional',
        { slowQueryThreshold: Duration.millis(1.5) },
        /slowQueryThreshold must be a whole number of milliseconds/,
      ],
      [
        'idle-in-transaction timeout is under a second',
        { idleInTransactionTimeout: Duration.millis(500) },
        /idleInTransactionTimeout .* at least 1 second, got 500 ms/,
      ],
      [
        'proxy max connections is above 100%',
        { proxy: { maxConnectionsPercent: 101 } },
        /proxy.maxConnectionsPercent must be between 1 and 100, got 101/,
      ],
      [
        'proxy idle connections exceed max connections',
        { proxy: { maxConnectionsPercent: 40, maxIdleConnectionsPercent: 50 } },
        /maxIdleConnectionsPercent must be between 0 and maxConnectionsPercent \(40\), got 50/,
      ],
      [
        'borrow timeout exceeds an hour',
        { proxy: { borrowTimeout: Duration.hours(2) } },
        /proxy.borrowTimeout must be between 1 second and 1 hour, got 7200 seconds/,
      ],
      [
        'idle client timeout exceeds 8 hours',
        { proxy: { idleClientTimeout: Duration.hours(9) } },
        /proxy.idleClientTimeout must be between 1 minute and 8 hours/,
      ],
      [
        'the instance identifier has upper case',
        { instanceIdentifier: 'Shipshape' },
        /instanceIdentifier must be lower-case.*got 'Shipshape'/,
      ],
      [
        'the instance identifier is too long for the proxy name',
        { instanceIdentifier: 'a'.repeat(55) },
        /at most 54 characters/,
      ],
      [
        'the database name is reserved',
        { databaseName: 'postgres' },
        /databaseName must start with a letter.*got 'postgres'/,
      ],
      [
        'the master user name has a hyphen',
        { masterUsername: 'shipshape-admin' },
        /masterUsername must start with a letter.*got 'shipshape-admin'/,
      ],
    ];
    test.each(cases)('%s', (_name, props, message) => {
      expect(() => build(props)).toThrow(message);
      expect(() => build(props)).toThrow(/^Database 'Db\/Database': /);
    });

    test('grantConnect gets a database user that is not a PostgreSQL role name', () => {
      const { db, stack } = build();
      const role = new iam.Role(stack, 'Client', {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      });
      const grantee = Object.assign(role, { connections: new ec2.Connections() });
      expect(() => db.grantConnect(grantee, 'App-User')).toThrow(
        "Database 'Db/Database': grantConnect dbUser must be a lower-case PostgreSQL role name (letters, digits, _ and $, starting with a letter or _, at most 63 characters), got 'App-User'",
      );
    });
  });
});
