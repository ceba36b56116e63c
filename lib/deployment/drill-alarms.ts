// The alarms of rollback drills (`shipshape drill` publishes DrillSucceeded,
// TimeToRollbackSeconds and TimeToRecoverSeconds to Shipshape/Deployments per Environment): no
// successful drill for too long, and a failed drill; plus their dashboard widgets.
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { AlarmTarget } from '../observability/alarm-target';

/** Options of {@link addRollbackDrillAlarms}. */
export interface RollbackDrillAlarmOptions {
  /** `Environment` dimension of the drill metrics, e.g. `production`. */
  readonly environmentName: string;
  /**
   * Alarm when no rollback drill succeeded for this long. CloudWatch evaluates at most 7 days
   * of daily datapoints, so a longer age is clamped to 7 days (the alarm fires sooner, never later).
   * @default Duration.days(14)
   */
  readonly maxAge?: Duration;
}

/** Creates `RollbackDrillStale` and `RollbackDrillFailed` in `target`; returns them in that order. */
export function addRollbackDrillAlarms(
  target: AlarmTarget,
  options: RollbackDrillAlarmOptions,
): [cloudwatch.Alarm, cloudwatch.Alarm] {
  const { environmentName } = options;
  const configured = options.maxAge ?? Duration.days(14);
  const days = Math.min(7, Math.ceil(configured.toDays({ integral: false })));
  const metric = (statistic: string) =>
    new cloudwatch.Metric({
      namespace: 'Shipshape/Deployments',
      metricName: 'DrillSucceeded',
      dimensionsMap: { Environment: environmentName },
      statistic,
      period: Duration.days(1),
    });
  const clamped =
    days < configured.toDays({ integral: false })
      ? ` (configured ${configured.toHumanString()}, clamped: CloudWatch evaluates at most 7 daily datapoints)`
      : '';
  const stale = target.alarm('RollbackDrillStale', {
    meaning: `No successful rollback drill in ${environmentName} for ${days} days${clamped}: rollback is unproven. Run \`shipshape drill\`.`,
    metric: metric(cloudwatch.Stats.MAXIMUM),
    threshold: 1,
    comparison: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    evaluationPeriods: days,
    treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    severity: 'ticket',
    runbook: 'rollback-drill.md',
  });
  const failed = target.alarm('RollbackDrillFailed', {
    meaning: `A rollback drill in ${environmentName} failed today: the rollback path is broken.`,
    metric: metric(cloudwatch.Stats.MINIMUM),
    threshold: 1,
    comparison: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    evaluationPeriods: 1,
    severity: 'ticket',
    runbook: 'rollback-drill.md',
  });
  const drill = (name: string, statistic: string) =>
    new cloudwatch.Metric({
      namespace: 'Shipshape/Deployments',
      metricName: name,
      dimensionsMap: { Environment: environmentName },
      statistic,
      period: Duration.days(7),
    });
  target.addWidgets(
    new cloudwatch.TextWidget({ markdown: '### Deployments and rollback drills', width: 24, height: 1 }),
    new cloudwatch.SingleValueWidget({
      title: 'Last drill (7 days): succeeded, time to roll back and to recover (s)',
      metrics: [
        drill('DrillSucceeded', cloudwatch.Stats.MAXIMUM),
        drill('TimeToRollbackSeconds', cloudwatch.Stats.MAXIMUM),
        drill('TimeToRecoverSeconds', cloudwatch.Stats.MAXIMUM),
      ],
      width: 12,
      height: 4,
    }),
    new cloudwatch.AlarmStatusWidget({
      title: 'Drill alarms',
      alarms: [stale, failed],
      width: 12,
      height: 4,
    }),
  );
  return [stale, failed];
}
