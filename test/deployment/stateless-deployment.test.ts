import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { type EnvironmentName, loadEnvironmentConfig } from '../../lib/config';
import { ShipshapeStage, stageId } from '../../lib/stages/shipshape-stage';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readFindings, SKIP_BUNDLING } from '../helpers/synth';

/**
 * The stateless stack of an environment with a small stand-in for the API (function, `live`
 * alias, user pool client) in the stack itself, as the real service is: CodeDeploy writes the
 * alias's update policy, so the alias and its deployment group live in one stack.
 */
function synthWithDeployment(name: EnvironmentName) {
  const app = new App({ context: SKIP_BUNDLING });
  const config = loadEnvironmentConfig(name);
  const stage = new ShipshapeStage(app, stageId(config), { config });
  const stack = stage.stateless;
  const fn = new lambda.Function(stack, 'Api', {
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({ statusCode: 200 })'),
  });
  const alias = new lambda.Alias(stack, 'Live', { aliasName: 'live', version: fn.currentVersion });
  const userPool = new cognito.UserPool(stack, 'Users');
  const userPoolClient = userPool.addClient('Client', { authFlows: { userPassword: true } });
  stack.addEdge({ handler: alias, userPool, userPoolClient });
  const deployment = stack.addSafeDeployment({ alias, userPoolClient });
  return {
    stage,
    deployment,
    stateless: Template.fromStack(stack),
    stateful: Template.fromStack(stage.stateful),
  };
}

describe.each([
  ['staging', { Type: 'TimeBasedCanary', TimeBasedCanary: { CanaryPercentage: 50, CanaryInterval: 1 } }, 800],
  [
    'production',
    { Type: 'TimeBasedCanary', TimeBasedCanary: { CanaryPercentage: 10, CanaryInterval: 5 } },
    500,
  ],
] as const)('safe deployment in %s', (env, routing, latencyMs) => {
  let result: ReturnType<typeof synthWithDeployment>;
  beforeAll(() => {
    result = synthWithDeployment(env);
  });

  test('shifts traffic as the environment config says', () => {
    result.stateless.hasResourceProperties('AWS::CodeDeploy::DeploymentConfig', {
      DeploymentConfigName: Match.stringLikeRegexp(`^Shipshape-${env}-Canary`),
      TrafficRoutingConfig: routing,
    });
  });

  test('the latency rollback alarm uses the SLO latency threshold', () => {
    result.stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Duration',
      Threshold: latencyMs,
      AlarmDescription: Match.stringLikeRegexp(
        'Runbook: https://github.com/example/shipshape/blob/main/runbooks/deployment-failed.md',
      ),
    });
  });

  test('outputs what the operator CLI reads', () => {
    for (const id of [
      'CodeDeployApplication',
      'DeploymentGroupName',
      'FunctionName',
      'AliasName',
      'ApiUrl',
    ]) {
      result.stateless.hasOutput(id, Match.anyValue());
    }
    result.stateless.hasOutput('AliasName', { Value: 'live' });
  });

  test('the migration gate reaches the database instance (not the proxy) from the application tier', () => {
    result.stateless.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('BeforeAllowTraffic'),
      Environment: {
        Variables: Match.objectLike({
          DB_HOST: {
            'Fn::ImportValue': Match.stringLikeRegexp('FnGetAttDatabase[0-9A-F]{8}EndpointAddress'),
          },
          DB_NAME: 'shipshape',
        }),
      },
    });
    result.stateless.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      Description: Match.stringLikeRegexp('Migration gate'),
      FromPort: { 'Fn::ImportValue': Match.stringLikeRegexp('Port') },
    });
  });

  test('the smoke test knocks on the CloudFront URL', () => {
    result.stateless.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('AfterAllowTraffic'),
      Environment: { Variables: Match.objectLike({ API_URL: Match.anyValue() }) },
    });
    expect(result.deployment.smokeTest).toBeDefined();
  });
});

describe('safe deployment policy', () => {
  test('the deployment construct has zero unacknowledged cdk-nag findings in production', () => {
    const { stage } = synthWithDeployment('production');
    const app = stage.node.root as App;
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    try {
      app.synth({ force: true });
    } catch (e) {
      if (!existsSync(join(app.outdir, 'validation-report.json'))) throw e;
    }
    const ours = readFindings(app.outdir).filter((f) => f.path.includes('/Stateless/Deployment/'));
    for (const f of ours) console.log(`[${f.severity}] ${f.rule} at ${f.path}: ${f.description}`);
    expect(ours.map((f) => `${f.rule} ${f.path}`)).toEqual([]);
  });
});
