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
    // Both windows, or the short window with enough bad events to be evidence on its own.
    expect(JSON.stringify(props.AlarmRule)).toMatch(
      /\(ALARM\(.*FastBurnLong.*\) AND ALARM\(.*FastBurnShort[^E]*\)\) OR ALARM\(.*FastBurnShortEvidence/,
    );
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
    expect(alarms).toHaveLength(7); // long + short per window, and the fast burn's evidence alarm
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

  test('the fast burn pages on its 5-minute window alone only with at least 6 bad events in it', () => {
    const { template } = build(99.9);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Test-Availability-FastBurnShortEvidence',
      Threshold: Match.anyValue(),
      EvaluationPeriods: 1,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'IF(bad >= 6, bad / total, 0)' }),
        Match.objectLike({ Id: 'bad', MetricStat: Match.objectLike({ Stat: 'Sum', Period: 300 }) }),
      ]),
    });
    // The slower windows keep the workbook's pair only.
    const slow = template.findResources('AWS::CloudWatch::CompositeAlarm', {
      Properties: { AlarmName: 'Test-Availability-SlowBurn' },
    });
    expect(JSON.stringify(Object.values(slow)[0])).not.toContain(' OR ');
  });

  test('a latency SLO counts slow requests as samples × (1 − PR) for the evidence alarm', () => {
    const { template } = build(99, SloIndicator.latency(latency, Duration.millis(500)));
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Test-Availability-FastBurnShortEvidence',
      Threshold: Match.anyValue(),
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'IF(samples * (1 - fast / 100) >= 6, 1 - (fast / 100), 0)' }),
        Match.objectLike({
          Id: 'samples',
          MetricStat: Match.objectLike({ Stat: 'SampleCount', Period: 300 }),
        }),
      ]),
    });
  });

  test('without minimumBadEvents a window is the plain pair, and the rollback alarm its short window', () => {
    const stack = new Stack(newTestApp(), 'Plain');
    const topic = new sns.Topic(stack, 'Topic');
    const slo = new BurnRateSlo(stack, 'Availability', {
      sloName: 'Availability',
      objective: '99.9% of requests succeed',
      indicator: SloIndicator.ratio(errors, requests),
      targetPercent: 99.9,
      pageTopic: topic,
      ticketTopic: topic,
      runbookUrl: 'https://example.com/runbooks/slo-burn-rate.md',
      windows: SRE_WORKBOOK_WINDOWS.map(({ minimumBadEvents: _none, ...window }) => window),
    });
    Template.fromStack(stack).resourceCountIs('AWS::CloudWatch::Alarm', 6);
    expect(slo.alerts[0].evidenceAlarm).toBeUndefined();
    expect(stack.resolve(slo.fastBurnShortWindowAlarm.alarmName)).toEqual({
      Ref: expect.stringMatching(/^AvailabilityFastBurnShort[0-9A-F]{8}$/),
    });
  });

  test('exposes the fast-burn evidence alarm for deployment rollbacks (a single error on a quiet API rolls nothing back)', () => {
    const { slo, stack } = build(99.9);
    expect(stack.resolve(slo.fastBurnShortWindowAlarm.alarmName)).toEqual({
      Ref: expect.stringMatching(/^AvailabilityFastBurnShortEvidence/),
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
