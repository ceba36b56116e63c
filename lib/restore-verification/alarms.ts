// The alarms of RestoreVerification: no successful verification within the schedule period
// (failed or did not run), a failed run, and an RPO above target, each naming its runbook; and
// its part of an environment's monitoring (functions, missing heartbeats, dashboard).
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { type AlarmTarget, timeoutOf } from '../observability/alarm-target';
import type { RestoreVerification } from './restore-verification';

/** What the alarms need to know of the verification. */
export interface RestoreVerificationAlarmOptions {
  readonly databaseName: string;
  readonly environmentName: string;
  readonly schedulePeriod: Duration;
  readonly restoreTimeout: Duration;
  readonly rpoTarget: Duration;
  readonly runbookUrl: string;
  /** Receives alarm and OK notifications; without it the alarms only change state. */
  readonly alarmTopic?: sns.ITopic;
}

/** The three alarms, created in the scope of `rv` (ids `FailedAlarm`, `RunFailedAlarm`, `RpoAlarm`). */
export function createRestoreVerificationAlarms(
  rv: RestoreVerification,
  o: RestoreVerificationAlarmOptions,
): { failedAlarm: cloudwatch.Alarm; runFailedAlarm: cloudwatch.Alarm; rpoAlarm: cloudwatch.Alarm } {
  const runbook = `Runbook: ${o.runbookUrl}`;
  // "Failed or did not run", as a sliding window: hourly datapoints of Success (Maximum), and
  // the alarm fires only when NONE of the last `schedule period + restore timeout + 1 h` hours
  // holds a success (missing hours breach). A single daily datapoint would instead sit in
  // ALARM every morning between midnight UTC and the run.
  const staleHours = Math.ceil((o.schedulePeriod.toSeconds() + o.restoreTimeout.toSeconds() + 3_600) / 3_600);
  const failedAlarm = new cloudwatch.Alarm(rv, 'FailedAlarm', {
    metric: rv.metricSuccess({ statistic: cloudwatch.Stats.MAXIMUM, period: Duration.hours(1) }),
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    evaluationPeriods: staleHours,
    datapointsToAlarm: staleHours,
    treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    alarmDescription:
      `No successful restore verification of ${o.databaseName} (${o.environmentName}) in the last ` +
      `${staleHours} hours (schedule period + restore timeout + 1 h): runs failed or did not run, so the backups are unproven. ${runbook}`,
  });
  // A failed run pages at once rather than when the window above runs out.
  const runFailedAlarm = new cloudwatch.Alarm(rv, 'RunFailedAlarm', {
    metric: rv.metricSuccess({ statistic: cloudwatch.Stats.MINIMUM, period: Duration.hours(1) }),
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    alarmDescription:
      `A restore verification run of ${o.databaseName} (${o.environmentName}) failed in the last hour; ` +
      `the state machine's notification carries the reason. ${runbook}`,
  });
  const rpoAlarm = new cloudwatch.Alarm(rv, 'RpoAlarm', {
    metric: rv.metricRpoSeconds({ statistic: cloudwatch.Stats.MAXIMUM }),
    threshold: o.rpoTarget.toSeconds(),
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    alarmDescription:
      `The restore of ${o.databaseName} (${o.environmentName}) lost more than ` +
      `${o.rpoTarget.toHumanString()} of data (RPO target). ${runbook}`,
  });
  if (o.alarmTopic) {
    for (const alarm of [failedAlarm, runFailedAlarm, rpoAlarm]) {
      alarm.addAlarmAction(new cwActions.SnsAction(o.alarmTopic));
      alarm.addOkAction(new cwActions.SnsAction(o.alarmTopic));
    }
  }

  return { failedAlarm, runFailedAlarm, rpoAlarm };
}

/** What {@link addRestoreVerificationMonitoring} needs beyond the construct. */
export interface RestoreVerificationMonitoringOptions {
  /**
   * How often the heartbeat writer runs; "no heartbeat" fires after max(5 min, 3 intervals).
   * @default - the construct's `heartbeatInterval`
   */
  readonly heartbeatInterval?: Duration;
}

/**
 * The verification's part of an environment's monitoring (called by
 * {@link RestoreVerification.addAlarms}): its three functions' Lambda alarms, the `HeartbeatMissing`
 * alarm, and dashboard widgets for the last run and its own alarms (which stay on the construct).
 */
export function addRestoreVerificationMonitoring(
  rv: RestoreVerification,
  target: AlarmTarget,
  interval: Duration,
): cloudwatch.Alarm {
  target.monitorFunctions(
    {
      name: 'RestoreVerificationControl',
      function: rv.controlFunction,
      timeout: timeoutOf(rv.controlFunction),
    },
    {
      name: 'RestoreVerificationVerifier',
      function: rv.verifierFunction,
      timeout: timeoutOf(rv.verifierFunction),
    },
    { name: 'HeartbeatWriter', function: rv.heartbeatFunction, timeout: timeoutOf(rv.heartbeatFunction) },
  );
  const minutes = Math.max(5, Math.ceil(interval.toMinutes({ integral: false }) * 3));
  const period = Duration.minutes(minutes);
  const fn = rv.heartbeatFunction;
  const heartbeatMissing = target.alarm('HeartbeatMissing', {
    meaning: `No heartbeat written for ${minutes} minutes (3 intervals): the writer does not run or cannot reach the database, and restore verification cannot measure the RPO.`,
    metric: new cloudwatch.MathExpression({
      expression: 'invocations - FILL(errors, 0)',
      usingMetrics: {
        invocations: fn.metricInvocations({ statistic: cloudwatch.Stats.SUM, period }),
        errors: fn.metricErrors({ statistic: cloudwatch.Stats.SUM, period }),
      },
      period,
      label: 'Heartbeats written',
    }),
    threshold: 1,
    comparison: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    severity: 'ticket',
    runbook: 'heartbeat.md',
  });
  target.addWidgets(
    new cloudwatch.TextWidget({ markdown: '### Restore verification (daily)', width: 24, height: 1 }),
    new cloudwatch.SingleValueWidget({
      title: 'Last restore verification: success (1), RPO and RTO (seconds)',
      metrics: [
        rv.metricSuccess({ period: Duration.days(1) }),
        rv.metricRpoSeconds({ period: Duration.days(1) }),
        rv.metricRtoSeconds({ period: Duration.days(1) }),
      ],
      width: 12,
      height: 4,
    }),
    new cloudwatch.AlarmStatusWidget({
      title: 'Restore verification alarms (defined by RestoreVerification)',
      alarms: [rv.failedAlarm, rv.runFailedAlarm, rv.rpoAlarm],
      width: 12,
      height: 4,
    }),
  );
  return heartbeatMissing;
}
