// The SLO section of an environment's dashboard: attainment and remaining error budget over
// 30 days, requests and errors, latency percentiles against the threshold, and the burn-rate alerts.
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { ApiSlos } from './observability';

/** Adds the SLO widgets to `dashboard`. */
export function addSloDashboard(
  dashboard: cloudwatch.Dashboard,
  slos: ApiSlos,
  alerts: cloudwatch.IAlarm[],

  serverErrors: cloudwatch.Metric,
  requests: cloudwatch.Metric,
  latency: cloudwatch.Metric,
): void {
  const availabilityBudget = (100 - slos.availabilityTargetPercent) / 100;
  const latencyBudget = (100 - slos.latencyTargetPercent) / 100;
  const ms = slos.latencyThreshold.toMilliseconds();
  const month = { statistic: cloudwatch.Stats.SUM, period: Duration.days(30) };
  dashboard.addWidgets(
    new cloudwatch.TextWidget({
      markdown: `### SLOs (30 days): availability ${slos.availabilityTargetPercent}%, latency ${slos.latencyTargetPercent}% under ${ms} ms`,
      width: 24,
      height: 1,
    }),
    new cloudwatch.SingleValueWidget({
      title: 'SLO attainment and remaining error budget (%, last 30 days)',
      metrics: [
        new cloudwatch.MathExpression({
          expression: 'IF(total > 0, 100 * (1 - bad / total), 100)',
          usingMetrics: { bad: serverErrors.with(month), total: requests.with(month) },
          label: 'Availability',
          period: Duration.days(30),
        }),
        new cloudwatch.MathExpression({
          expression: `IF(total2 > 0, 100 * (1 - (bad2 / total2) / ${availabilityBudget}), 100)`,
          usingMetrics: { bad2: serverErrors.with(month), total2: requests.with(month) },
          label: 'Availability budget left',
          period: Duration.days(30),
        }),
        latency.with({
          statistic: `PR(:${ms})`,
          period: Duration.days(30),
          label: `Latency (under ${ms} ms)`,
        }),
        new cloudwatch.MathExpression({
          expression: `100 * (1 - ((100 - fast) / 100) / ${latencyBudget})`,
          usingMetrics: { fast: latency.with({ statistic: `PR(:${ms})`, period: Duration.days(30) }) },
          label: 'Latency budget left',
          period: Duration.days(30),
        }),
      ],
      setPeriodToTimeRange: true,
      start: '-P30D',
      width: 24,
      height: 4,
    }),
    new cloudwatch.GraphWidget({
      title: 'API requests and errors (per 5 minutes)',
      left: [requests],
      right: [serverErrors],
      width: 12,
    }),
    new cloudwatch.GraphWidget({
      title: 'API latency percentiles (ms)',
      left: ['p50', 'p90', 'p99'].map((p) => latency.with({ statistic: p, label: p })),
      leftAnnotations: [{ value: ms, label: 'SLO threshold' }],
      width: 12,
    }),
    new cloudwatch.AlarmStatusWidget({
      title: 'SLO burn-rate alerts',
      alarms: alerts,
      width: 24,
      height: 3,
    }),
  );
}
