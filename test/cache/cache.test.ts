import { type App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Cache, type CacheProps } from '../../lib/cache/cache';
import { Network } from '../../lib/network/network';
import { newTestApp, synthEnvironment } from '../helpers/synth';

const GROUP = 'Cache18F6EE16';
const KEY = 'CacheKeyCDF9DE27';
const SUBNET_GROUP = 'CacheSubnetGroup355C216D';
const TOKEN = 'CacheAuthToken04672416';
const SG = 'CacheSecurityGroup79A9F160';

describe.each([
  ['staging', { nodes: 1, multiAz: false, nodeType: 'cache.t4g.micro', snapshots: 1, logDays: 30, azs: 2 }],
  [
    'production',
    { nodes: 2, multiAz: true, nodeType: 'cache.t4g.small', snapshots: 7, logDays: 365, azs: 3 },
  ],
] as const)('cache in %s', (env, expected) => {
  let template: Template;
  beforeAll(() => {
    template = synthEnvironment(env).stateful;
  });

  test('logical ids of the replication group, key, subnet group and AUTH token are pinned', () => {
    expect(Object.keys(template.findResources('AWS::ElastiCache::ReplicationGroup'))).toEqual([GROUP]);
    expect(Object.keys(template.findResources('AWS::ElastiCache::SubnetGroup'))).toEqual([SUBNET_GROUP]);
    expect(Object.keys(template.toJSON().Resources as object)).toEqual(expect.arrayContaining([KEY, TOKEN]));
  });

  test('takes a final snapshot on delete and retains its key', () => {
    const resources = template.toJSON().Resources as Record<string, { DeletionPolicy?: string }>;
    expect(resources[GROUP].DeletionPolicy).toBe('Snapshot');
    expect(resources[KEY].DeletionPolicy).toBe('Retain');
  });

  test(`runs Valkey 8 on ${expected.nodes} ${expected.nodeType} node(s), Multi-AZ failover ${expected.multiAz}`, () => {
    template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      Engine: 'valkey',
      EngineVersion: Match.stringLikeRegexp('^8\\.'),
      CacheNodeType: expected.nodeType,
      NumCacheClusters: expected.nodes,
      AutomaticFailoverEnabled: expected.multiAz,
      MultiAZEnabled: expected.multiAz,
    });
  });

  test('requires TLS and encrypts at rest with the rotating customer key', () => {
    template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      TransitEncryptionEnabled: true,
      TransitEncryptionMode: 'required',
      AtRestEncryptionEnabled: true,
      KmsKeyId: { 'Fn::GetAtt': [KEY, 'Arn'] },
    });
    template.hasResource('AWS::KMS::Key', { Properties: { EnableKeyRotation: true } });
  });

  test('AUTH token comes from Secrets Manager by dynamic reference, never as a literal', () => {
    template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      AuthToken: { 'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: TOKEN }, ':SecretString:::}}']] },
    });
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      KmsKeyId: { 'Fn::GetAtt': [KEY, 'Arn'] },
      GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false },
    });
  });

  test(`keeps ${expected.snapshots} day(s) of snapshots in a window apart from maintenance`, () => {
    template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      SnapshotRetentionLimit: expected.snapshots,
      SnapshotWindow: '01:00-02:00',
      PreferredMaintenanceWindow: 'sun:03:30-sun:04:30',
    });
  });

  test('subnet group spans exactly the Data subnets', () => {
    const ids = template.toJSON().Resources[SUBNET_GROUP].Properties.SubnetIds as Array<{ Ref: string }>;
    expect(ids).toHaveLength(expected.azs);
    for (const id of ids) expect(id.Ref).toMatch(/^NetworkDataSubnet\d/);
  });

  test('delivers the slow log as JSON to a retained log group', () => {
    template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      LogDeliveryConfigurations: [
        {
          DestinationType: 'cloudwatch-logs',
          DestinationDetails: {
            CloudWatchLogsDetails: { LogGroup: { Ref: Match.stringLikeRegexp('^CacheSlowLog') } },
          },
          LogFormat: 'json',
          LogType: 'slow-log',
        },
      ],
    });
    const groups = template.findResources('AWS::Logs::LogGroup', { DeletionPolicy: 'Retain' });
    const slow = Object.entries(groups).find(([id]) => id.startsWith('CacheSlowLog'));
    expect(slow?.[1].Properties).toMatchObject({ RetentionInDays: expected.logDays });
  });

  test('operators find the endpoint and the AUTH token secret in stable outputs', () => {
    template.hasOutput('CacheEndpoint', { Value: { 'Fn::GetAtt': [GROUP, 'PrimaryEndPoint.Address'] } });
    template.hasOutput('CacheAuthTokenSecretArn', { Value: { Ref: TOKEN } });
  });

  test('its own security group admits nobody and sends nothing until grantConnect', () => {
    template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      SecurityGroupIds: [{ 'Fn::GetAtt': [SG, 'GroupId'] }],
      CacheSubnetGroupName: { Ref: SUBNET_GROUP },
    });
    const sg = template.toJSON().Resources[SG].Properties;
    expect(sg.SecurityGroupIngress).toBeUndefined();
    // CDK's rule that matches no traffic (255.255.255.255/32): the nodes never open connections.
    expect(sg.SecurityGroupEgress).toEqual([expect.objectContaining({ CidrIp: '255.255.255.255/32' })]);
  });

  describe('AUTH token rotation', () => {
    function rotationFunction(): [string, { Properties: Record<string, unknown> }] {
      const found = Object.entries(
        template.findResources('AWS::Lambda::Function', {
          Properties: { Environment: { Variables: { REPLICATION_GROUP_ID: { Ref: GROUP } } } },
        }),
      );
      expect(found).toHaveLength(1);
      return found[0] as [string, { Properties: Record<string, unknown> }];
    }

    test('the token secret rotates every 30 days through the rotation function, not at deploy time', () => {
      const [fnId] = rotationFunction();
      template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
        SecretId: { Ref: TOKEN },
        RotationLambdaARN: { 'Fn::GetAtt': [fnId, 'Arn'] },
        RotationRules: { ScheduleExpression: 'rate(30 days)' },
        RotateImmediatelyOnUpdate: false,
      });
    });

    test('the function may describe and modify only this replication group, and reach it from the VPC', () => {
      const [fnId, fn] = rotationFunction();
      const props = fn.Properties as {
        VpcConfig?: unknown;
        Environment: { Variables: Record<string, unknown> };
        Role: { 'Fn::GetAtt': [string, string] };
      };
      expect(props.VpcConfig).toBeDefined();
      expect(props.Environment.Variables).toMatchObject({
        CACHE_HOST: { 'Fn::GetAtt': [GROUP, 'PrimaryEndPoint.Address'] },
        CACHE_PORT: '6379',
      });
      expect(props.Environment.Variables).not.toHaveProperty('CACHE_TLS');
      const roleId = props.Role['Fn::GetAtt'][0];
      const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
        JSON.stringify(p.Properties.Roles).includes(roleId),
      );
      const statements = policies.flatMap(
        (p) => p.Properties.PolicyDocument.Statement as Array<{ Action: unknown; Resource: unknown }>,
      );
      const elasticache = statements.filter((st) => JSON.stringify(st.Action).includes('elasticache:'));
      expect(elasticache).toEqual([
        expect.objectContaining({
          Action: ['elasticache:DescribeReplicationGroups', 'elasticache:ModifyReplicationGroup'],
          Resource: {
            'Fn::Join': [
              '',
              expect.arrayContaining([
                expect.stringMatching(/:elasticache:.*:replicationgroup:$/),
                { Ref: GROUP },
              ]),
            ],
          },
        }),
      ]);
      template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
        GroupId: { 'Fn::GetAtt': [SG, 'GroupId'] },
        FromPort: 6379,
        SourceSecurityGroupId: {
          'Fn::GetAtt': [Match.stringLikeRegexp('^CacheAuthTokenRotationSecurityGroup'), 'GroupId'],
        },
      });
      expect(fnId).toMatch(/^CacheAuthTokenRotation/);
    });

    test('no policy acknowledgement claims the token is never rotated', () => {
      const json = JSON.stringify(template.toJSON());
      expect(json).not.toMatch(/SecretsManagerRotationEnabled|AwsSolutions-SMG4/);
    });
  });
});

describe('Cache construct', () => {
  function build(props: Partial<CacheProps> = {}): { stack: Stack; cache: Cache; vpc: ec2.Vpc } {
    const stack = new Stack(newTestApp(), 'Cached', {
      env: { account: '111111111111', region: 'eu-west-1' },
    });
    Object.defineProperty(stack, 'availabilityZones', { get: () => ['eu-west-1a', 'eu-west-1b'] });
    const { vpc } = new Network(stack, 'Network');
    return { stack, vpc, cache: new Cache(stack, 'Cache', { vpc, ...props }) };
  }

  test('defaults: one replica with failover, final snapshot', () => {
    const { stack } = build();
    const template = Template.fromStack(stack);
    template.hasResource('AWS::ElastiCache::ReplicationGroup', {
      Properties: Match.objectLike({
        NumCacheClusters: 2,
        AutomaticFailoverEnabled: true,
        SnapshotRetentionLimit: 7,
      }),
      DeletionPolicy: 'Snapshot',
    });
  });

  test('removalPolicy DESTROY deletes the group and its slow log', () => {
    const { stack } = build({ removalPolicy: RemovalPolicy.DESTROY });
    const template = Template.fromStack(stack);
    template.hasResource('AWS::ElastiCache::ReplicationGroup', { DeletionPolicy: 'Delete' });
    template.hasResource('AWS::Logs::LogGroup', {
      Properties: { RetentionInDays: 30 },
      DeletionPolicy: 'Delete',
    });
  });

  describe('grantConnect', () => {
    let cacheTemplate: Template;
    let clientTemplate: Template;
    beforeAll(() => {
      const { stack, cache, vpc } = build();
      const client = new Stack(stack.node.scope as App, 'Client', {
        env: { account: '111111111111', region: 'eu-west-1' },
      });
      const fn = new lambda.Function(client, 'Fn', {
        runtime: lambda.Runtime.NODEJS_24_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline('exports.handler = async () => {}'),
        vpc,
        vpcSubnets: { subnetGroupName: 'Application' },
      });
      cache.grantConnect(fn);
      cacheTemplate = Template.fromStack(stack);
      clientTemplate = Template.fromStack(client);
    });

    test('opens the cache security group to the grantee on 6379, from the grantee stack', () => {
      clientTemplate.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
        IpProtocol: 'tcp',
        FromPort: 6379,
        ToPort: 6379,
        GroupId: { 'Fn::ImportValue': Match.stringLikeRegexp('CacheSecurityGroup') },
        SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^FnSecurityGroup'), 'GroupId'] },
      });
      // The only rule in the cache's own stack is for its token-rotation function.
      const ingress = Object.values(cacheTemplate.findResources('AWS::EC2::SecurityGroupIngress'));
      expect(ingress).toHaveLength(1);
      expect(JSON.stringify(ingress[0])).toMatch(/AuthTokenRotationSecurityGroup/);
      // The key policy is left alone: naming the client's role there would be a dependency cycle.
      expect(JSON.stringify(cacheTemplate.findResources('AWS::KMS::Key'))).not.toMatch(/FnServiceRole/);
    });

    test('lets the grantee read the AUTH token and decrypt it', () => {
      clientTemplate.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
              Resource: { 'Fn::ImportValue': Match.stringLikeRegexp('CacheAuthToken') },
            }),
            Match.objectLike({
              Action: 'kms:Decrypt',
              Resource: { 'Fn::ImportValue': Match.stringLikeRegexp('CacheKey') },
            }),
          ]),
        },
      });
    });
  });

  test('metrics cover every node: MAX for utilisation, SUM for counts; a single node is a plain metric', () => {
    const two = build({ replicas: 1 });
    const cpu = two.cache.metricEngineCpu() as cloudwatch.MathExpression;
    expect(cpu).toBeInstanceOf(cloudwatch.MathExpression);
    expect(cpu.expression).toBe('MAX([n1, n2])');
    const n2 = cpu.usingMetrics.n2 as cloudwatch.Metric;
    expect(n2.metricName).toBe('EngineCPUUtilization');
    expect(two.stack.resolve(n2.dimensions)).toEqual({
      CacheClusterId: { 'Fn::Join': ['-', [{ Ref: 'Cache18F6EE16' }, '002']] },
    });
    expect((two.cache.metricEvictions() as cloudwatch.MathExpression).expression).toBe('SUM([n1, n2])');

    const one = build({ replicas: 0 });
    const lag = one.cache.metricReplicationLag() as cloudwatch.Metric;
    expect(lag).toBeInstanceOf(cloudwatch.Metric);
    expect(lag.statistic).toBe('Maximum');
    for (const m of [one.cache.metricCpu(), one.cache.metricMemoryUsage(), one.cache.metricConnections()]) {
      expect((m as cloudwatch.Metric).namespace).toBe('AWS/ElastiCache');
    }
  });

  describe('fails when', () => {
    test("the token rotation interval is outside Secrets Manager's 1 to 365 days", () => {
      expect(() => build({ authTokenRotation: Duration.days(400) })).toThrow(
        "CacheAuthTokenRotation 'Cached/Cache/AuthTokenRotation': interval must be between 1 and 365 days (Secrets Manager's rotation schedule), got 400 days",
      );
    });

    const cases: Array<[string, Partial<CacheProps>, RegExp]> = [
      [
        'the node type is not an ElastiCache type',
        { nodeType: 't4g.micro' },
        /nodeType must be an ElastiCache node type such as 'cache.t4g.micro', got 't4g.micro'/,
      ],
      ['replicas is negative', { replicas: -1 }, /replicas must be a whole number between 0 and 5, got -1/],
      ['replicas is above 5', { replicas: 6 }, /got 6/],
      [
        'the engine is not Valkey 8',
        { engineVersion: '7.2' },
        /engineVersion must be a Valkey 8.x version such as '8.1', got '7.2'/,
      ],
      [
        'snapshot retention exceeds 35 days',
        { snapshotRetentionDays: 36 },
        /snapshotRetentionDays must be a whole number between 0 and 35, got 36/,
      ],
      [
        'the snapshot window is shorter than 60 minutes',
        { snapshotWindow: '01:00-01:30' },
        /snapshotWindow must look like '01:00-02:00' \(UTC\) and last at least 60 minutes, got '01:00-01:30'/,
      ],
      [
        'the maintenance window is malformed',
        { preferredMaintenanceWindow: 'sun 3-4' },
        /preferredMaintenanceWindow must look like 'sun:03:30-sun:04:30'/,
      ],
      [
        'the snapshot window overlaps maintenance',
        { snapshotWindow: '03:00-04:00', preferredMaintenanceWindow: 'sun:03:30-sun:04:30' },
        /snapshotWindow '03:00-04:00' overlaps preferredMaintenanceWindow 'sun:03:30-sun:04:30'/,
      ],
    ];
    test.each(cases)('%s', (_name, props, message) => {
      expect(() => build(props)).toThrow(message);
      expect(() => build(props)).toThrow(/^Cache 'Cached\/Cache': /);
    });
  });
});
