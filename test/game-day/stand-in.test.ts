/**
 * The stand-in's own rules, checked on small cases: a game day is only as honest as the
 * CloudWatch and Lambda behaviour it simulates.
 */
import { AlarmEvaluator, evaluateExpr, evaluateRule, parseExpression } from './stand-in/alarms';
import { SimClock } from './stand-in/clock';
import { CodeDeployService } from './stand-in/codedeploy';
import { LambdaService, releaseStdout } from './stand-in/lambda';
import { MetricStore } from './stand-in/metrics';
import { DeployedTemplate, type Json, type TemplateJson } from './stand-in/template';

const T0 = Date.parse('2026-11-24T00:00:00Z');

afterAll(releaseStdout);
const MINUTE = 60_000;

function alarmTemplate(properties: Record<string, Json>): DeployedTemplate {
  const template: TemplateJson = {
    Resources: {
      Fn: { Type: 'AWS::Lambda::Function', Properties: {} },
      Rate: {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: {
          AlarmName: 'rate',
          ComparisonOperator: 'GreaterThanThreshold',
          Threshold: 5,
          EvaluationPeriods: 3,
          DatapointsToAlarm: 2,
          TreatMissingData: 'notBreaching',
          Metrics: [
            { Id: 'expr', Expression: 'IF(calls >= 10, 100 * FILL(errors, 0) / calls, 0)', ReturnData: true },
            ...['errors', 'calls'].map((id) => ({
              Id: id,
              ReturnData: false,
              MetricStat: {
                Metric: {
                  Namespace: 'Test',
                  MetricName: id,
                  Dimensions: [{ Name: 'FunctionName', Value: { Ref: 'Fn' } }],
                },
                Period: 60,
                Stat: 'Sum',
              },
            })),
          ],
          ...properties,
        },
      },
    },
  };
  return new DeployedTemplate('S', template, { publishedVersion: () => '1', importValue: (n) => n });
}

describe('alarm evaluation', () => {
  function minute(store: MetricStore, m: number, calls: number, errors: number) {
    for (let i = 0; i < calls; i++) {
      store.put('Test', 'calls', { FunctionName: 'S-Fn' }, T0 + m * MINUTE + i, 1);
      store.put('Test', 'errors', { FunctionName: 'S-Fn' }, T0 + m * MINUTE + i, i < errors ? 1 : 0);
    }
  }

  it('fires on M of N breaching periods of a metric-math expression, and not on one', () => {
    const store = new MetricStore();
    const alarms = new AlarmEvaluator(alarmTemplate({}), store);
    minute(store, 0, 20, 4); // 20% — breaching
    minute(store, 1, 20, 0);
    alarms.evaluate(T0 + 2 * MINUTE);
    expect(alarms.state('rate')).toBe('OK');
    minute(store, 2, 20, 2); // 10% — the second breaching datapoint in the last three
    alarms.evaluate(T0 + 3 * MINUTE);
    expect(alarms.state('rate')).toBe('ALARM');
  });

  it('ignores datapoints with other dimensions and treats low-traffic minutes as 0', () => {
    const store = new MetricStore();
    const alarms = new AlarmEvaluator(alarmTemplate({}), store);
    for (let m = 0; m < 3; m++) {
      minute(store, m, 5, 5); // under 10 calls: IF(...) yields 0
      store.put('Test', 'errors', { FunctionName: 'S-Fn', Resource: 'S-Fn:live' }, T0 + m * MINUTE, 50);
    }
    alarms.evaluate(T0 + 3 * MINUTE);
    expect(alarms.state('rate')).toBe('OK');
  });

  it('refuses, loudly, what it cannot evaluate', () => {
    expect(() => parseExpression('ANOMALY_DETECTION_BAND(m1, 2)')).toThrow(
      /does not evaluate the metric math function/,
    );
    const alarms = new AlarmEvaluator(alarmTemplate({ EvaluationInterval: 10 }), new MetricStore());
    expect(() => alarms.requireSupported(['rate'])).toThrow(
      /does not evaluate the property EvaluationInterval/,
    );
  });

  it('evaluates math and composite rules the documented way', () => {
    const lookup = (id: string) => ({ a: 6, b: 3 })[id];
    expect(evaluateExpr(parseExpression('IF(a > b, a / b, 0) + FILL(c, 1)'), lookup)).toBe(3);
    expect(evaluateExpr(parseExpression('a + c'), lookup)).toBeUndefined();
    expect(evaluateExpr(parseExpression('MAX([a, b, c])'), lookup)).toBe(6);
    const states: Record<string, 'OK' | 'ALARM'> = { x: 'ALARM', y: 'OK' };
    expect(evaluateRule('(ALARM("x") AND ALARM("y"))', (n) => states[n])).toBe(false);
    expect(evaluateRule('ALARM("x") AND NOT ALARM("y")', (n) => states[n])).toBe(true);
  });

  it('computes percentiles and percentile ranks over the period', () => {
    const store = new MetricStore();
    for (let i = 1; i <= 100; i++) store.put('Test', 'Latency', {}, T0 + i * 100, i * 10);
    expect(store.statistic('Test', 'Latency', {}, 'p99', T0, T0 + MINUTE)).toBe(990);
    expect(store.statistic('Test', 'Latency', {}, 'PR(:500)', T0, T0 + MINUTE)).toBe(50);
    expect(store.statistic('Test', 'Latency', {}, 'Sum', T0 + MINUTE, T0 + 2 * MINUTE)).toBeUndefined();
  });
});

describe('Lambda', () => {
  it('routes an alias by weight and records alias calls with ExecutedVersion, and EMF with its own dimensions', async () => {
    const store = new MetricStore();
    const lambda = new LambdaService(store, () => T0, {});
    const handler =
      (label: string) =>
      async (_event: unknown, context: { functionName: string; functionVersion: string }) => {
        process.stdout.write(
          `${JSON.stringify({
            _aws: {
              Timestamp: T0,
              CloudWatchMetrics: [
                {
                  Namespace: 'App',
                  Dimensions: [['FunctionName', 'ExecutedVersion']],
                  Metrics: [{ Name: 'Hits' }],
                },
              ],
            },
            FunctionName: context.functionName,
            ExecutedVersion: context.functionVersion,
            Hits: 1,
          })}\n`,
        );
        return label;
      };
    lambda.createFunction('api', { environment: {}, timeoutMs: 1000, handler: handler('one') });
    lambda.publishVersion('api');
    lambda.updateFunctionCode('api', { environment: {}, timeoutMs: 1000, handler: handler('two') });
    lambda.publishVersion('api');
    lambda.createAlias('api', 'live', '1');
    lambda.updateAlias('api', 'live', '1', { '2': 0.1 });
    const served: unknown[] = [];
    for (let i = 0; i < 100; i++) served.push((await lambda.invoke('api', {}, 'live')).payload);
    expect(served.filter((s) => s === 'two')).toHaveLength(10);
    const at = (dims: Record<string, string>) =>
      store.sum('AWS/Lambda', 'Invocations', dims, T0, T0 + MINUTE);
    expect(at({ FunctionName: 'api', Resource: 'api:live', ExecutedVersion: '2' })).toBe(10);
    expect(at({ FunctionName: 'api', Resource: 'api:2' })).toBe(0);
    expect(store.sum('App', 'Hits', { FunctionName: 'api', ExecutedVersion: '2' }, T0, T0 + MINUTE)).toBe(10);
    expect(store.sum('App', 'Hits', { FunctionName: 'api' }, T0, T0 + MINUTE)).toBe(0);
  });
});

describe('the clock', () => {
  it('runs tasks in time order and lets a sleeping task resume while time moves', async () => {
    const clock = new SimClock(T0);
    const seen: string[] = [];
    clock.at(T0 + 2_000, () => seen.push('b'));
    clock.at(T0 + 1_000, async () => {
      seen.push('a');
      await clock.sleep(5_000);
      seen.push(`a again at ${clock.now() - T0}`);
    });
    await clock.advance(10_000);
    expect(seen).toEqual(['a', 'b', 'a again at 6000']);
  });
});

describe('CodeDeploy', () => {
  function setup(
    hook: (event: { DeploymentId: string; LifecycleEventHookExecutionId: string }) => Promise<unknown>,
  ) {
    const clock = new SimClock(T0);
    const store = new MetricStore();
    const lambda = new LambdaService(store, () => clock.now(), {});
    const ok = async () => 'ok';
    lambda.createFunction('api', { environment: {}, timeoutMs: 1000, handler: ok });
    lambda.publishVersion('api');
    lambda.publishVersion('api');
    lambda.createAlias('api', 'live', '1');
    lambda.createFunction('gate', { environment: {}, timeoutMs: 1000, handler: (e) => hook(e as never) });
    const codeDeploy = new CodeDeployService(clock, lambda, () => 'OK');
    codeDeploy.addGroup({
      applicationName: 'app',
      deploymentGroupName: 'group',
      deploymentConfigName: 'CodeDeployDefault.LambdaAllAtOnce',
      alarmConfiguration: { enabled: false, alarms: [] },
      autoRollbackEvents: ['DEPLOYMENT_FAILURE'],
    });
    const appSpec = JSON.stringify({
      version: 0.0,
      Resources: [
        {
          live: {
            Type: 'AWS::Lambda::Function',
            Properties: { Name: 'api', Alias: 'live', CurrentVersion: '1', TargetVersion: '2' },
          },
        },
      ],
      Hooks: [{ BeforeAllowTraffic: 'gate' }],
    });
    const create = () => codeDeploy.create({ applicationName: 'app', deploymentGroupName: 'group', appSpec });
    return { clock, lambda, codeDeploy, create };
  }

  it('fails a hook that never reports after one hour, keeps the old version, and allows one active deployment', async () => {
    const { clock, lambda, create } = setup(async () => undefined);
    const d = create();
    expect(() => create()).toThrow(expect.objectContaining({ name: 'DeploymentLimitExceededException' }));
    await clock.advance(59 * MINUTE);
    expect(d.status).toBe('InProgress');
    await clock.advance(2 * MINUTE);
    expect({ status: d.status, code: d.errorInformation?.code }).toEqual({
      status: 'Failed',
      code: 'TIMEOUT',
    });
    expect(lambda.getAlias('api', 'live')).toEqual({ version: '1', weights: {} });
  });

  it('shifts the alias once the hook reports Succeeded with its execution id', async () => {
    const ref: { codeDeploy?: CodeDeployService } = {};
    const world = setup(async (event) =>
      ref.codeDeploy!.putHookStatus(event.DeploymentId, event.LifecycleEventHookExecutionId, 'Succeeded'),
    );
    ref.codeDeploy = world.codeDeploy;
    const d = world.create();
    await world.clock.advance(MINUTE);
    expect(d.status).toBe('Succeeded');
    expect(world.lambda.getAlias('api', 'live')).toEqual({ version: '2', weights: {} });
    expect(() => world.codeDeploy.putHookStatus(d.deploymentId, 'made-up', 'Succeeded')).toThrow(
      /No hook execution/,
    );
  });
});
