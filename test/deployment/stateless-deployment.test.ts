import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { type EnvironmentName, loadEnvironmentConfig } from '../../lib/config';
import { ShipshapeStage, stageId } from '../../lib/stages/shipshape-stage';
import { AwsSolutionsChecks } from 'cdk-nag';
import { newTestApp, readFindings } from '../helpers/synth';
import { alarmResourceDimensions } from './alarm-dimensions';

/** One environment as the app builds it: service, safe deployment and edge in the stateless stack. */
function synthWithDeployment(name: EnvironmentName) {
  const app = newTestApp();
  const config = loadEnvironmentConfig(name);
  const stage = new ShipshapeStage(app, stageId(config), { config });
  const stack = stage.stateless;
  return {
    stage,
    deployment: stack.deployment!,
    stateless: Template.fromStack(stack),
    stateful: Template.fromStack(stage.stateful),
  };
}

describe.each([
  ['staging', { Type: 'TimeBasedCanary', TimeBasedCanary: { CanaryPercentage: 50, CanaryInterval: 4 } }, 800],
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

  test('the latency rollback alarm uses the SLO latency threshold on the EMF p99 of the new version', () => {
    result.stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([
        Match.objectLike({
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({ Namespace: 'Shipshape/ServiceVersions', MetricName: 'Latency' }),
            Stat: 'p99',
          }),
        }),
      ]),
      Threshold: latencyMs,
      AlarmDescription: Match.stringLikeRegexp(
        'Runbook: https://github.com/example/shipshape/blob/main/runbooks/deployment-failed.md',
      ),
    });
  });

  test('no alarm of the synthesized stack watches Resource=<function>:<version>', () => {
    const versions = Object.keys(result.stateless.findResources('AWS::Lambda::Version'));
    expect(versions.length).toBeGreaterThan(0);
    const resourceDimensions = alarmResourceDimensions(result.stateless);
    // The deployment group's Lambda-level alarm has Resource=<function>:live at least.
    expect(resourceDimensions.some((value) => value.includes(':live'))).toBe(true);
    for (const value of resourceDimensions) {
      for (const version of versions) expect(value).not.toContain(version);
      expect(value).not.toMatch(/:\d+"/);
    }
  });

  test('outputs what the operator CLI reads', () => {
    for (const id of [
      'CodeDeployApplication',
      'DeploymentGroupName',
      'FunctionName',
      'AliasName',
      'ApiUrl',
      'MigrationGateFunctionName',
      'SmokeTestFunctionName',
    ]) {
      result.stateless.hasOutput(id, Match.anyValue());
    }
    result.stateless.hasOutput('AliasName', { Value: 'live' });
    result.stateless.hasOutput('MigrationGateFunctionName', {
      Value: { Ref: Match.stringLikeRegexp('DeploymentMigrationGate') },
    });
    result.stateless.hasOutput('SmokeTestFunctionName', {
      Value: { Ref: Match.stringLikeRegexp('DeploymentSmokeTest') },
    });
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
