import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sns from 'aws-cdk-lib/aws-sns';
import { BurnRateSlo, SloIndicator, SRE_WORKBOOK_WINDOWS } from '../../lib/observability/burn-rate-slo';
import { newTestApp } from '../helpers/synth';

const requests = new cloudwatch.Metric({
  namespace: 'AWS/ApiGateway',
  metricName: 'Count',
  dimensionsMap: { ApiId: 'abc' },
});
const errors = new cloudwatch.Metric({
  namespace: 'AWS/ApiGateway',
  metricName: '5xx',
  dimensionsMap: { ApiId: 'abc' },
});
const latency = new cloudwatch.Metric({
  namespace: 'AWS/ApiGateway',
  metricName: 'Latency',
  dimensionsMap: { ApiId: 'abc' },
});

function build(targetPercent: number, indicator = SloIndicator.ratio(errors, requests)) {
  const stack = new Stack(newTestApp(), 'Slo');
  const page = new sns.Topic(stack, 'Page');
  const ticket = new sns.Topic(stack, 'Ticket');
  const slo = new BurnRateSlo(stack, 'Availability', {
    sloName: 'Availability',
    objective: `${targetPercent}% of requests succeed`,
    indicator,
    targetPercent,
    pageTopic: page,
    ticketTopic: ticket,
    runbookUrl: 'https://example.com/runbooks/slo-burn-rate.md',
    alarmNamePrefix: 'Test',
  });
  return { stack, slo, template: Template.fromStack(stack) };
}

describe('BurnRateSlo', () => {
  describe.each([99.9, 99.5, 99])('with a %s%% target', (target) => {
    const budget = (100 - target) / 100;
    let template: Template;
    beforeAll(() => {
      template = build(target).template;
    });

    test.each(SRE_WORKBOOK_WINDOWS.map((w) => [w.name, w.burnRate, w] as const))(
      '%s alarms at %sx the budget on both windows',
      (name, burnRate, window) => {
        const expected = burnRate * budget;
        for (const [suffix, length] of [
          ['Long', window.longWindow],
          ['Short', window.shortWindow],
        ] as const) {
          const seconds = length.toSeconds();
          const period = Math.min(seconds, 86_400);
          const alarms = template.findResources('AWS::CloudWatch::Alarm', {
            Properties: { AlarmName: `Test-Availability-${name}${suffix}` },
          });
          const [alarm] = Object.values(alarms) as Array<{ Properties: Record<string, unknown> }>;
          expect(alarm).toBeDefined();
          expect(alarm.Properties.Threshold).toBeCloseTo(expected, 10);
          expect(alarm.Properties.EvaluationPeriods).toBe(seconds / period);
          expect(alarm.Properties.DatapointsToAlarm).toBe(seconds / period);
          expect(alarm.Properties.TreatMissingData).toBe('notBreaching');
          const metrics = alarm.Properties.Metrics as Array<{
            MetricStat?: { Period: number; Stat: string };
          }>;
          for (const m of metrics.filter((x) => x.MetricStat)) {
            expect(m.MetricStat).toEqual(expect.objectContaining({ Period: period, Stat: 'Sum' }));
          }
        }
      },
    );
  });

  test('the 3-day window becomes three consecutive daily datapoints', () => {
    const { template } = build(99.9);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Test-Availability-BudgetBurnLong',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      Metrics: Match.arrayWith([Match.objectLike({ MetricStat: Match.objectLike({ Period: 86_400 }) })]),
    });
  });

  test('each pair is a composite of its long and short window, with alarm and OK actions', () => {
    const { template } = build(99.9);
    template.resourceCountIs('AWS::CloudWatch::CompositeAlarm', 3);
    const composite = template.findResources('AWS::CloudWatch::CompositeAlarm', {
      Properties: { AlarmName: 'Test-Availability-FastBurn' },
    });
    const props = (Object.values(composite)[0] as { Properties: Record<string, unknown> }).Properties;
    expect(JSON.stringify(props.AlarmRule)).toMatch(/ALARM\(.*FastBurnLong.*\) AND ALARM\(.*FastBurnShort/);
    expect(props.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^Page/) }]);
    expect(props.OKActions).toEqual([{ Ref: expect.stringMatching(/^Page/) }]);
    template.hasResourceProperties('AWS::CloudWatch::CompositeAlarm', {
      AlarmName: 'Test-Availability-BudgetBurn',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^Ticket') }],
    });
  });

  test('a faster burn suppresses the slower alerts while it fires', () => {
    const { template } = build(99.9);
    template.hasResourceProperties('AWS::CloudWatch::CompositeAlarm', {
      AlarmName: 'Test-Availability-SlowBurn',
      ActionsSuppressor: { 'Fn::GetAtt': [Match.stringLikeRegexp('AvailabilityFastBurn'), 'Arn'] },
    });
    template.hasResourceProperties('AWS::CloudWatch::CompositeAlarm', {
      AlarmName: 'Test-Availability-BudgetBurn',
      ActionsSuppressor: { 'Fn::GetAtt': [Match.stringLikeRegexp('AvailabilitySlowBurn'), 'Arn'] },
    });
    template.hasResourceProperties('AWS::CloudWatch::CompositeAlarm', {
      AlarmName: 'Test-Availability-FastBurn',
      ActionsSuppressor: Match.absent(),
    });
  });

  test('component alarms carry no actions of their own, only the runbook link', () => {
    const { template } = build(99.9);
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Array<{
      Properties: Record<string, unknown>;
    }>;
    expect(alarms).toHaveLength(6);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toBeUndefined();
      expect(alarm.Properties.AlarmDescription).toMatch(
        /\nRunbook: https:\/\/example.com\/runbooks\/slo-burn-rate.md$/,
      );
    }
  });

  test('a latency SLO counts requests slower than the threshold with the percentile-rank statistic', () => {
    const { template } = build(99, SloIndicator.latency(latency, Duration.millis(500)));
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Test-Availability-FastBurnShort',
      Threshold: Match.anyValue(),
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: '1 - (fast / 100)' }),
        Match.objectLike({ MetricStat: Match.objectLike({ Stat: 'PR(:500)', Period: 300 }) }),
      ]),
    });
  });

  test('exposes the fast-burn short-window alarm for deployment rollbacks', () => {
    const { slo, stack } = build(99.9);
    expect(stack.resolve(slo.fastBurnShortWindowAlarm.alarmName)).toEqual({
      Ref: expect.stringMatching(/^AvailabilityFastBurnShort/),
    });
    expect(slo.alerts.map((a) => a.window.name)).toEqual(['FastBurn', 'SlowBurn', 'BudgetBurn']);
  });

  test('fails when the target is 100%', () => {
    expect(() => build(100)).toThrow(/targetPercent must be above 0 and below 100, got 100/);
  });

  test('fails when the fast burn would need more than 100% errors', () => {
    expect(() => build(90)).toThrow(
      /a 14.4x burn of a 90% target needs an error ratio of 1.440 \(over 100%\)/,
    );
  });
});
