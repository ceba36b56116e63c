import { Duration, RemovalPolicy, Size, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Cache } from '../../lib/cache/cache';
import { type EnvironmentName, loadEnvironmentConfig } from '../../lib/config';
import { Database } from '../../lib/database/database';
import { Network } from '../../lib/network/network';
import { Service, type ServiceProps } from '../../lib/service/service';
import { newTestApp, synthEnvironment } from '../helpers/synth';

/** A stack with the data tier the service expects: network, database behind its proxy, cache. */
function dataTier(azs = ['eu-west-1a', 'eu-west-1b']) {
  const stack = new Stack(newTestApp(), 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
  Object.defineProperty(stack, 'availabilityZones', { get: () => azs });
  const network = new Network(stack, 'Network');
  const database = new Database(stack, 'Database', { vpc: network.vpc });
  const cache = new Cache(stack, 'Cache', { vpc: network.vpc });
  return { stack, network, database, cache };
}

function withService(options: Partial<ServiceProps> = {}) {
  const tier = dataTier();
  const service = new Service(tier.stack, 'Service', {
    vpc: tier.network.vpc,
    database: tier.database,
    cache: tier.cache,
    code: lambda.Code.fromInline('exports.handler = async () => ({ statusCode: 200 });'),
    handler: 'index.handler',
    ...options,
  });
  return { ...tier, service, template: Template.fromStack(tier.stack) };
}

/** The API function's resource (`Service/Resource`, so its logical id is `Service` + hash). */
function apiFunction(template: Template) {
  const matches = Object.entries(template.findResources('AWS::Lambda::Function')).filter(([id]) =>
    /^Service[0-9A-F]{8}$/.test(id),
  );
  expect(matches).toHaveLength(1);
  return matches[0][1];
}

describe.each(['staging', 'production'] as EnvironmentName[])('service configured for %s', (env) => {
  const config = loadEnvironmentConfig(env);
  let template: Template;
  let service: Service;

  let stateful: Template;
  beforeAll(() => {
    const synthesized = synthEnvironment(env);
    template = synthesized.stateless;
    stateful = synthesized.stateful;
    service = synthesized.stage.stateless.service;
  });

  test('runs Node.js 24 on arm64 with the configured memory and timeout', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: config.service.memoryMiB,
      Timeout: config.service.timeoutSeconds,
      Handler: 'index.handler',
    });
  });

  test('runs in the application (private, with egress) subnets only', () => {
    const fn = apiFunction(template);
    const subnets = (fn.Properties.VpcConfig.SubnetIds as unknown[]).map((s) => JSON.stringify(s));
    expect(subnets).toHaveLength(config.availabilityZones.length);
    for (const subnet of subnets) expect(subnet).toMatch(/NetworkApplicationSubnet\d/);
  });

  test('is published behind the alias live on its current version', () => {
    template.hasResourceProperties('AWS::Lambda::Alias', {
      Name: 'live',
      FunctionName: { Ref: Match.stringLikeRegexp('^Service[0-9A-F]{8}$') },
      FunctionVersion: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ServiceCurrentVersion'), 'Version'] },
    });
    expect(service.alias.aliasName).toBe('live');
  });

  test('may connect through the proxy as app and as no other database user', () => {
    // The service's own role only: other functions in the stack connect as their own users.
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^ServiceServiceRole') }] },
    });
    const connects = Object.values(policies).flatMap((p) =>
      (p.Properties.PolicyDocument.Statement as Array<{ Action: unknown; Resource: unknown }>).filter(
        (s) => s.Action === 'rds-db:connect',
      ),
    );
    expect(connects).toHaveLength(1);
    const resource = JSON.stringify(connects[0].Resource);
    expect(resource).toContain(':dbuser:');
    expect(resource).toMatch(/\/app"/);
    expect(resource).not.toContain('*');
  });

  test('reaches the proxy on 5432 and the cache on 6379 from its own security group', () => {
    const ownGroup = { 'Fn::GetAtt': [Match.stringLikeRegexp('^ServiceSecurityGroup'), 'GroupId'] };
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      IpProtocol: 'tcp',
      FromPort: 5432,
      ToPort: 5432,
      GroupId: { 'Fn::ImportValue': Match.stringLikeRegexp('DatabaseProxySecurityGroup') },
      SourceSecurityGroupId: ownGroup,
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      IpProtocol: 'tcp',
      FromPort: 6379,
      ToPort: 6379,
      GroupId: { 'Fn::ImportValue': Match.stringLikeRegexp('CacheSecurityGroup') },
      SourceSecurityGroupId: ownGroup,
    });
  });

  test('reads the cache AUTH token through the Secrets Manager API, granted by ARN', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^ServiceServiceRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
            Resource: { 'Fn::ImportValue': Match.stringLikeRegexp('CacheAuthToken') },
          }),
        ]),
      },
    });
  });

  test('keeps the stateful stack free of rules pointing back at this stack (no dependency cycle)', () => {
    expect(JSON.stringify(stateful.toJSON())).not.toContain('ServiceSecurityGroup');
  });

  test('allows outbound traffic only to the proxy, the cache and HTTPS', () => {
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('Shipshape API function'),
      SecurityGroupEgress: [Match.objectLike({ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443 })],
    });
    const egress = Object.values(
      template.findResources('AWS::EC2::SecurityGroupEgress', {
        Properties: {
          GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ServiceSecurityGroup'), 'GroupId'] },
        },
      }),
    ).map((r) => r.Properties.FromPort as number);
    expect(egress.sort()).toEqual([5432, 6379]);
  });

  test('carries identifiers only in its environment, never a secret value', () => {
    const fn = apiFunction(template);
    const variables = fn.Properties.Environment.Variables as Record<string, unknown>;
    expect(Object.keys(variables).sort()).toEqual(
      [
        'CACHE_AUTH_SECRET_ARN',
        'CACHE_HOST',
        'CACHE_PORT',
        'DB_HOST',
        'DB_NAME',
        'DB_PORT',
        'DB_USER',
        'NODE_OPTIONS',
        'ORIGIN_VERIFY_SECRET_ARN',
        'POWERTOOLS_LOG_LEVEL',
        'POWERTOOLS_METRICS_NAMESPACE',
        'POWERTOOLS_SERVICE_NAME',
        'REQUESTS_PER_MINUTE_PER_CALLER',
        'SHIPSHAPE_SCHEMA_CONTRACTS',
        'SHIPSHAPE_SCHEMA_VERSION',
        'USER_POOL_CLIENT_ID',
        'USER_POOL_ID',
        'VERIFY_TOKEN_SIGNATURE',
      ].sort(),
    );
    expect(variables.DB_USER).toBe('app');
    expect(variables.SHIPSHAPE_SCHEMA_VERSION).toMatch(/^\d{4}_[a-z0-9_]+$/);
    expect(variables.SHIPSHAPE_SCHEMA_CONTRACTS).toMatch(/^(none|\d{4}:\d{4}(,\d{4}:\d{4})*)$/);
    expect(variables.DB_NAME).toBe('shipshape');
    expect(variables.CACHE_AUTH_SECRET_ARN).toEqual({
      'Fn::ImportValue': expect.stringMatching(/RefCacheAuthToken/),
    });
    expect(variables.REQUESTS_PER_MINUTE_PER_CALLER).toBe(String(config.service.perCallerRequestsPerMinute));
    expect(JSON.stringify(variables)).not.toMatch(/SecretString|password|resolve:secretsmanager/i);
  });

  test('user pool enforces a strong password policy and the Plus threat protection', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      Policies: {
        PasswordPolicy: Match.objectLike({
          MinimumLength: 12,
          RequireLowercase: true,
          RequireUppercase: true,
          RequireNumbers: true,
          RequireSymbols: true,
        }),
      },
      MfaConfiguration: 'OPTIONAL',
      UserPoolTier: 'PLUS',
      UserPoolAddOns: { AdvancedSecurityMode: 'ENFORCED' },
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
    });
  });

  test('user pool keeps its accounts when removed from the stack', () => {
    template.hasResource('AWS::Cognito::UserPool', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        DeletionProtection: config.name === 'production' ? 'ACTIVE' : 'INACTIVE',
      }),
    });
  });

  test('exports the function, alias and user pool identifiers as stack outputs', () => {
    for (const output of ['FunctionName', 'AliasName', 'ApiAliasArn', 'UserPoolId', 'UserPoolClientId']) {
      template.hasOutput(output, {});
    }
    template.hasOutput('UserPoolId', { Value: { Ref: 'ServiceUserPoolCCDA8210' } });
  });

  test('pins the user pool logical id (renaming it would replace the pool and lose every account)', () => {
    expect(Object.keys(template.findResources('AWS::Cognito::UserPool'))).toEqual([
      'ServiceUserPoolCCDA8210',
    ]);
  });

  test(`app client issues ${config.service.accessTokenMinutes}-minute tokens, SRP and password sign-in (smoke user), no secret, no OAuth`, () => {
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      AccessTokenValidity: config.service.accessTokenMinutes,
      IdTokenValidity: config.service.accessTokenMinutes,
      TokenValidityUnits: Match.objectLike({ AccessToken: 'minutes', IdToken: 'minutes' }),
      ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_USER_SRP_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
      GenerateSecret: false,
      AllowedOAuthFlowsUserPoolClient: false,
      PreventUserExistenceErrors: 'ENABLED',
      EnableTokenRevocation: true,
    });
  });

  test('logs to its own retained log group in JSON', () => {
    template.hasResource('AWS::Logs::LogGroup', {
      Properties: { RetentionInDays: 90 },
      DeletionPolicy: 'Retain',
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      LoggingConfig: Match.objectLike({
        LogFormat: 'JSON',
        LogGroup: { Ref: Match.stringLikeRegexp('^ServiceLogGroup') },
      }),
    });
  });
});

describe('Service construct', () => {
  test('can delete the user pool with the stack when asked to', () => {
    const { template } = withService({
      userPoolRemovalPolicy: RemovalPolicy.DESTROY,
      userPoolDeletionProtection: false,
    });
    template.hasResource('AWS::Cognito::UserPool', { DeletionPolicy: 'Delete' });
  });

  test.each([
    [
      { timeout: Duration.seconds(30) },
      'timeout must be between 1 and 29 seconds (the HTTP API gives up at 30), got 30',
    ],
    [{ memorySize: Size.mebibytes(64) }, 'memorySize must be between 128 and 10240 MiB, got 64'],
    [{ requestsPerMinutePerCaller: 0 }, 'requestsPerMinutePerCaller must be a positive integer, got 0'],
    [{ requestsPerMinutePerCaller: 1.5 }, 'requestsPerMinutePerCaller must be a positive integer, got 1.5'],
    [
      { accessTokenValidity: Duration.minutes(2) },
      "accessTokenValidity must be between 5 minutes and 1 day (Cognito's limits), got 2 minutes",
    ],
    [
      { accessTokenValidity: Duration.days(2) },
      "accessTokenValidity must be between 5 minutes and 1 day (Cognito's limits), got 2880 minutes",
    ],
    [
      { databaseUser: 'App; DROP' },
      "databaseUser must be a plain PostgreSQL role name (lower case, digits, _), got 'App; DROP'",
    ],
  ] as Array<[Partial<ServiceProps>, string]>)('fails when given %p', (options, message) => {
    expect(() => withService(options)).toThrow(`Service 'Test/Service': ${message}`);
  });
});
