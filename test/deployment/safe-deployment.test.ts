import { type CfnElement, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { SafeDeployment, type SafeDeploymentProps } from '../../lib/deployment/safe-deployment';
import { newTestApp } from '../helpers/synth';
import { alarmResourceDimensions } from './alarm-dimensions';

interface Fixture {
  readonly stack: Stack;
  readonly alias: lambda.Alias;
  readonly vpc: ec2.Vpc;
  readonly dbSecurityGroup: ec2.SecurityGroup;
  readonly secret: secretsmanager.Secret;
  readonly client: cognito.UserPoolClient;
}

function fixture(): Fixture {
  const stack = new Stack(newTestApp(), 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
  const fn = new lambda.Function(stack, 'Api', {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({ statusCode: 200 })'),
  });
  const alias = new lambda.Alias(stack, 'Live', { aliasName: 'live', version: fn.currentVersion });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const dbSecurityGroup = new ec2.SecurityGroup(stack, 'DbSg', { vpc });
  const secret = new secretsmanager.Secret(stack, 'Master');
  const pool = new cognito.UserPool(stack, 'Users');
  const client = pool.addClient('Api', { authFlows: { userPassword: true } });
  return { stack, alias, vpc, dbSecurityGroup, secret, client };
}

function build(overrides: Partial<SafeDeploymentProps> = {}, f: Fixture = fixture()) {
  const deployment = new SafeDeployment(f.stack, 'Deployment', {
    alias: f.alias,
    environmentName: 'staging',
    migrations: {
      secret: f.secret,
      endpoint: { hostname: 'db.example.internal', port: 5432 },
      connections: new ec2.Connections({
        securityGroups: [f.dbSecurityGroup],
        defaultPort: ec2.Port.tcp(5432),
      }),
      vpc: f.vpc,
    },
    smokeTest: { apiUrl: 'https://d111.cloudfront.net', userPoolClient: f.client },
    latencyThreshold: Duration.millis(800),
    runbookUrl: 'https://example.com/runbooks/deployment-failed.md',
    ...overrides,
  });
  return { deployment, template: Template.fromStack(f.stack), f };
}

describe('SafeDeployment', () => {
  let template: Template;
  let deployment: SafeDeployment;
  let stack: Stack;
  beforeAll(() => {
    const built = build();
    template = built.template;
    deployment = built.deployment;
    stack = built.f.stack;
  });

  test('the alias update policy runs the migration gate before and the smoke test after traffic shifts', () => {
    const gate = stack.getLogicalId(deployment.migrationGate.node.defaultChild as lambda.CfnFunction);
    const smoke = stack.getLogicalId(deployment.smokeTest!.node.defaultChild as lambda.CfnFunction);
    template.hasResource('AWS::Lambda::Alias', {
      UpdatePolicy: {
        CodeDeployLambdaAliasUpdate: {
          ApplicationName: Match.anyValue(),
          DeploymentGroupName: Match.anyValue(),
          BeforeAllowTrafficHook: { Ref: gate },
          AfterAllowTrafficHook: { Ref: smoke },
        },
      },
    });
  });

  test('the alias is updated (and the deployment starts) only after both hooks are in place', () => {
    const alias = Object.values(template.findResources('AWS::Lambda::Alias'))[0] as { DependsOn?: string[] };
    for (const hook of [deployment.migrationGate, deployment.smokeTest!]) {
      const role = hook.role!.node.tryFindChild('DefaultPolicy')!.node.defaultChild as CfnElement;
      expect(alias.DependsOn).toEqual(
        expect.arrayContaining([
          stack.getLogicalId(hook.node.defaultChild as lambda.CfnFunction),
          stack.getLogicalId(role),
        ]),
      );
    }
  });

  test('rolls back automatically on failure, on stop and on alarm, watching the three new-version alarms', () => {
    template.hasResourceProperties('AWS::CodeDeploy::DeploymentGroup', {
      AutoRollbackConfiguration: {
        Enabled: true,
        Events: Match.arrayWith([
          'DEPLOYMENT_FAILURE',
          'DEPLOYMENT_STOP_ON_REQUEST',
          'DEPLOYMENT_STOP_ON_ALARM',
        ]),
      },
      AlarmConfiguration: {
        Enabled: true,
        Alarms: [
          {
            Name: {
              Ref: stack.getLogicalId(deployment.errorRateAlarm.node.defaultChild as cloudwatch.CfnAlarm),
            },
          },
          {
            Name: {
              Ref: stack.getLogicalId(deployment.latencyAlarm.node.defaultChild as cloudwatch.CfnAlarm),
            },
          },
          {
            Name: {
              Ref: stack.getLogicalId(
                deployment.invocationErrorRateAlarm.node.defaultChild as cloudwatch.CfnAlarm,
              ),
            },
          },
        ],
      },
      DeploymentStyle: { DeploymentType: 'BLUE_GREEN', DeploymentOption: 'WITH_TRAFFIC_CONTROL' },
    });
  });

  /** The EMF dimension set of the new version: exactly FunctionName + ExecutedVersion. */
  // CloudFormation lists dimensions sorted by name.
  const emfDimensions = [
    {
      Name: 'ExecutedVersion',
      Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('ApiCurrentVersion'), 'Version'] },
    },
    { Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('^Api') } },
  ];
  const emfStat = (metricName: string, stat: string) =>
    Match.objectLike({
      MetricStat: {
        Metric: { Namespace: 'Shipshape/ServiceVersions', MetricName: metricName, Dimensions: emfDimensions },
        Period: 60,
        Stat: stat,
      },
    });

  test('the error-rate alarm: 5xx share of the new version from EMF, 2 of 3 minutes, quiet minutes not breaching', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 5,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      TreatMissingData: 'notBreaching',
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmDescription: Match.stringLikeRegexp('Runbook: https://example.com/runbooks/deployment-failed.md'),
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'IF(requests >= 10, 100 * FILL(serverErrors, 0) / requests, 0)' }),
        emfStat('ServerErrors', 'Sum'),
        emfStat('Requests', 'Sum'),
      ]),
    });
  });

  test('the latency alarm compares the new version p99 (EMF) with the SLO threshold, only in busy minutes', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 800,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      TreatMissingData: 'notBreaching',
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'IF(requests >= 10, latency, 0)' }),
        emfStat('Latency', 'p99'),
        emfStat('Requests', 'Sum'),
      ]),
    });
  });

  test('the invocation alarm reads Lambda metrics of the new version through the alias (Resource=<fn>:live + ExecutedVersion)', () => {
    const viaAlias = (metricName: string) =>
      Match.objectLike({
        MetricStat: {
          Metric: {
            Namespace: 'AWS/Lambda',
            MetricName: metricName,
            Dimensions: [
              {
                Name: 'ExecutedVersion',
                Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('ApiCurrentVersion'), 'Version'] },
              },
              { Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('^Api') } },
              {
                Name: 'Resource',
                Value: { 'Fn::Join': ['', [{ Ref: Match.stringLikeRegexp('^Api') }, ':live']] },
              },
            ],
          },
          Period: 60,
          Stat: 'Sum',
        },
      });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 5,
      DatapointsToAlarm: 2,
      TreatMissingData: 'notBreaching',
      Metrics: Match.arrayWith([
        Match.objectLike({
          Expression:
            'IF(FILL(invocations, 0) + FILL(throttles, 0) >= 10, 100 * (FILL(errors, 0) + FILL(throttles, 0)) / (FILL(invocations, 0) + FILL(throttles, 0)), 0)',
        }),
        viaAlias('Errors'),
        viaAlias('Throttles'),
        viaAlias('Invocations'),
      ]),
    });
  });

  test('no alarm anywhere watches Resource=<function>:<version> (it never sees traffic through the alias)', () => {
    const resourceDimensions = alarmResourceDimensions(template);
    expect(resourceDimensions.length).toBeGreaterThan(0);
    for (const text of resourceDimensions) {
      // A version qualifier is the Version resource's Ref/GetAtt (or a literal number).
      expect(text).not.toMatch(/CurrentVersion|"Version"|:\d+"/);
      expect(text).toMatch(/:live"/);
    }
  });

  test('the alarms are updated before the alias starts a deployment', () => {
    const alias = Object.values(template.findResources('AWS::Lambda::Alias'))[0] as { DependsOn?: string[] };
    for (const alarm of [
      deployment.errorRateAlarm,
      deployment.latencyAlarm,
      deployment.invocationErrorRateAlarm,
    ]) {
      expect(alias.DependsOn).toContain(stack.getLogicalId(alarm.node.defaultChild as cloudwatch.CfnAlarm));
    }
  });

  test('a canary shift gets a custom configuration with a stable per-environment name', () => {
    template.hasResourceProperties('AWS::CodeDeploy::DeploymentConfig', {
      DeploymentConfigName: 'Shipshape-staging-Canary10Percent5Minutes',
      ComputePlatform: 'Lambda',
      TrafficRoutingConfig: {
        Type: 'TimeBasedCanary',
        TimeBasedCanary: { CanaryPercentage: 10, CanaryInterval: 5 },
      },
    });
  });

  test('hooks may report status only for their own deployment group', () => {
    const groupArnPattern = Match.objectLike({
      'Fn::Join': Match.arrayWith([Match.arrayWith([Match.stringLikeRegexp(':deploymentgroup:')])]),
    });
    for (const hook of [deployment.migrationGate, deployment.smokeTest!]) {
      const role = stack.getLogicalId(hook.role!.node.defaultChild as cdkIamRole);
      template.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: role }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: 'codedeploy:PutLifecycleEventHookExecutionStatus',
              Resource: groupArnPattern,
            }),
          ]),
        },
      });
    }
    const policies = template.findResources('AWS::IAM::Policy');
    for (const policy of Object.values(policies)) {
      const statements = (
        policy.Properties as { PolicyDocument: { Statement: Array<{ Action: unknown; Resource: unknown }> } }
      ).PolicyDocument.Statement;
      for (const s of statements) {
        const actions = ([] as unknown[]).concat(s.Action);
        if (actions.some((a) => String(a).startsWith('codedeploy:'))) expect(s.Resource).not.toEqual('*');
      }
    }
  });

  test('the gate may invoke only versions of the function (never the alias), read its deployment and the master secret', () => {
    const role = stack.getLogicalId(deployment.migrationGate.role!.node.defaultChild as cdkIamRole);
    const fnArn = { 'Fn::GetAtt': [Match.stringLikeRegexp('^Api'), 'Arn'] };
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: role }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Action: 'lambda:InvokeFunction',
            Resource: { 'Fn::Join': ['', [fnArn, ':*']] },
          }),
          Match.objectLike({
            Effect: 'Deny',
            Action: 'lambda:InvokeFunction',
            Resource: { 'Fn::Join': ['', [fnArn, ':live']] },
          }),
          Match.objectLike({
            Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
            Resource: { Ref: Match.stringLikeRegexp('Master') },
          }),
          Match.objectLike({
            Action: ['codedeploy:GetDeployment', 'codedeploy:GetDeploymentGroup'],
            Resource: Match.objectLike({
              'Fn::Join': Match.arrayWith([Match.arrayWith([Match.stringLikeRegexp(':deploymentgroup:')])]),
            }),
          }),
        ]),
      },
    });
  });

  test('the gate runs in the VPC, reaches the database port and gets the function name, no version and no password', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('BeforeAllowTraffic'),
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      VpcConfig: Match.objectLike({ SubnetIds: Match.anyValue() }),
      Environment: {
        Variables: Match.objectLike({
          TARGET_FUNCTION_NAME: { Ref: Match.stringLikeRegexp('^Api') },
          DB_HOST: 'db.example.internal',
          DB_PORT: '5432',
          DB_SECRET_ARN: { Ref: Match.stringLikeRegexp('Master') },
          NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
          MIGRATION_LOCK_TIMEOUT_MS: '5000',
        }),
      },
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 5432,
      ToPort: 5432,
      Description: Match.stringLikeRegexp('Migration gate'),
    });
    const gate = Object.values(template.findResources('AWS::Lambda::Function')).find((fn) =>
      JSON.stringify(fn).includes('BeforeAllowTraffic'),
    );
    expect(JSON.stringify(gate)).not.toMatch(/TARGET_VERSION|CurrentVersion/);
    // Secrets travel as ARNs (references), never as values.
    const functions = template.findResources('AWS::Lambda::Function');
    for (const fn of Object.values(functions)) {
      const variables = ((fn.Properties as { Environment?: { Variables: Record<string, unknown> } })
        .Environment?.Variables ?? {}) as Record<string, unknown>;
      for (const [name, value] of Object.entries(variables)) {
        if (/PASSWORD|SECRET/.test(name)) {
          expect(name).toMatch(/_SECRET_ARN$/);
          expect(value).toEqual({ Ref: expect.any(String) });
        }
      }
    }
  });

  test('the smoke test knocks on the front door with the API client and its own credentials secret', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('AfterAllowTraffic'),
      Environment: {
        Variables: Match.objectLike({
          API_URL: 'https://d111.cloudfront.net',
          USER_POOL_CLIENT_ID: { Ref: Match.stringLikeRegexp('UsersApi') },
          SMOKE_USERNAME: 'smoke-test@shipshape.invalid',
          SMOKE_PASSWORD_SECRET_ARN: { Ref: Match.stringLikeRegexp('SmokeTestCredentials') },
        }),
      },
    });
  });
});

type cdkIamRole = import('aws-cdk-lib/aws-iam').CfnRole;

describe('SafeDeployment traffic shifting', () => {
  test('a linear shift maps to TimeBasedLinear', () => {
    const { template } = build({
      trafficShift: { strategy: 'linear', percentage: 20, interval: Duration.minutes(4) },
    });
    template.hasResourceProperties('AWS::CodeDeploy::DeploymentConfig', {
      DeploymentConfigName: 'Shipshape-staging-Linear20Percent4Minutes',
      TrafficRoutingConfig: {
        Type: 'TimeBasedLinear',
        TimeBasedLinear: { LinearPercentage: 20, LinearInterval: 4 },
      },
    });
  });

  test('all at once uses the predefined configuration and no custom one', () => {
    const { template } = build({ trafficShift: { strategy: 'allAtOnce' }, smokeTest: undefined });
    template.resourceCountIs('AWS::CodeDeploy::DeploymentConfig', 0);
    template.hasResourceProperties('AWS::CodeDeploy::DeploymentGroup', {
      DeploymentConfigName: 'CodeDeployDefault.LambdaAllAtOnce',
    });
  });

  test('without a smoke test target there is no AfterAllowTraffic hook', () => {
    const { template } = build({ smokeTest: undefined });
    const alias = Object.values(template.findResources('AWS::Lambda::Alias'))[0] as {
      UpdatePolicy: { CodeDeployLambdaAliasUpdate: Record<string, unknown> };
    };
    expect(alias.UpdatePolicy.CodeDeployLambdaAliasUpdate.AfterAllowTrafficHook).toBeUndefined();
    expect(alias.UpdatePolicy.CodeDeployLambdaAliasUpdate.BeforeAllowTrafficHook).toBeDefined();
  });

  test('extra rollback alarms join the deployment group (as a prop or added later)', () => {
    const f = fixture();
    const alarm = (id: string) =>
      new cloudwatch.Alarm(f.stack, id, {
        metric: new cloudwatch.Metric({ namespace: 'X', metricName: id }),
        threshold: 1,
        evaluationPeriods: 1,
      });
    const burn = alarm('FastBurn');
    const later = alarm('SlowBurn');
    const deployment = new SafeDeployment(f.stack, 'Deployment', { alias: f.alias, rollbackAlarms: [burn] });
    deployment.addRollbackAlarm(later);
    const template = Template.fromStack(f.stack);
    template.hasResourceProperties('AWS::CodeDeploy::DeploymentGroup', {
      AlarmConfiguration: {
        Alarms: Match.arrayWith([
          { Name: { Ref: f.stack.getLogicalId(later.node.defaultChild as cloudwatch.CfnAlarm) } },
        ]),
      },
    });
    template.hasResourceProperties('AWS::CodeDeploy::DeploymentGroup', {
      AlarmConfiguration: {
        Alarms: Match.arrayWith([
          { Name: { Ref: f.stack.getLogicalId(burn.node.defaultChild as cloudwatch.CfnAlarm) } },
        ]),
      },
    });
  });
});

describe('SafeDeployment.grantDeploy', () => {
  test("lets an operator role start, stop and watch this group's deployments, alarm override included", () => {
    const f = fixture();
    const deployment = new SafeDeployment(f.stack, 'Deployment', { alias: f.alias });
    const operator = new iam.Role(f.stack, 'Operator', { assumedBy: new iam.AccountRootPrincipal() });
    deployment.grantDeploy(operator);
    const template = Template.fromStack(f.stack);
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: f.stack.getLogicalId(operator.node.defaultChild as iam.CfnRole) }] },
    });
    const statements = Object.values(policies).flatMap(
      (p) =>
        (p as { Properties: { PolicyDocument: { Statement: { Action: string[] }[] } } }).Properties
          .PolicyDocument.Statement,
    );
    const actions = statements.flatMap((s) => s.Action);
    // The CLI's rollbacks and drills send overrideAlarmConfiguration, which needs UpdateDeploymentGroup.
    expect(actions).toEqual(
      expect.arrayContaining([
        'codedeploy:CreateDeployment',
        'codedeploy:StopDeployment',
        'codedeploy:UpdateDeploymentGroup',
      ]),
    );
    expect(actions).not.toContain('codedeploy:DeleteDeploymentGroup');
  });
});

describe('SafeDeployment validation', () => {
  test('fails when the traffic percentage is out of range', () => {
    expect(() => build({ trafficShift: { strategy: 'canary', percentage: 100 } })).toThrow(
      "SafeDeployment 'Test/Deployment': trafficShift.percentage must be a whole number from 1 to 99, got 100",
    );
  });

  test('fails when the interval is not whole minutes', () => {
    expect(() => build({ trafficShift: { strategy: 'linear', interval: Duration.seconds(90) } })).toThrow(
      /trafficShift.interval must be whole minutes from 1 to 60, got 1 minute 30 seconds; use Duration.minutes\(n\)/,
    );
  });

  test('fails when the interval is over an hour', () => {
    expect(() => build({ trafficShift: { strategy: 'canary', interval: Duration.minutes(61) } })).toThrow(
      /trafficShift.interval must be whole minutes from 1 to 60/,
    );
  });

  test('fails when the error-rate threshold is not a percentage', () => {
    expect(() => build({ errorRateThresholdPercent: 0 })).toThrow(
      /errorRateThresholdPercent must be above 0 and below 100, got 0/,
    );
  });

  test('fails when the minimum invocations per minute is below 1', () => {
    expect(() => build({ minimumInvocationsPerMinute: 0 })).toThrow(
      /minimumInvocationsPerMinute must be a whole number of at least 1, got 0/,
    );
  });

  test('refuses a canary interval the rollback alarms do not outlast, naming the setting', () => {
    expect(() =>
      build({ trafficShift: { strategy: 'canary', percentage: 50, interval: Duration.minutes(1) } }),
    ).toThrow(
      "SafeDeployment 'Test/Deployment': trafficShift.interval of 1 minute(s) does not outlast the rollback alarms",
    );
    // 3 minutes: the alarm would be due in the very minute of the shift, a race.
    expect(() => build({ trafficShift: { strategy: 'linear', interval: Duration.minutes(3) } })).toThrow(
      /trafficShift.interval of 3 minute\(s\) does not outlast.*Use Duration.minutes\(4\) or more/,
    );
    expect(() =>
      build({ trafficShift: { strategy: 'canary', interval: Duration.minutes(4) } }),
    ).not.toThrow();
  });

  test('refuses a request rate that never reaches the minimum at the canary percentage, naming the settings', () => {
    expect(() =>
      build({ trafficShift: { strategy: 'canary', percentage: 10 }, expectedRequestsPerMinute: 60 }),
    ).toThrow(
      /at trafficShift.percentage 10% of expectedRequestsPerMinute 60, the new version serves 6 requests a minute, fewer than minimumInvocationsPerMinute 10/,
    );
    expect(() =>
      build({ trafficShift: { strategy: 'canary', percentage: 10 }, expectedRequestsPerMinute: 100 }),
    ).not.toThrow();
    // All at once has no canary to reach.
    expect(() =>
      build({ trafficShift: { strategy: 'allAtOnce' }, expectedRequestsPerMinute: 1 }),
    ).not.toThrow();
  });
});
