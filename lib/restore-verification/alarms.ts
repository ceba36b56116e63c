// The alarms of RestoreVerification: no successful verification within the schedule period
// (failed or did not run), a failed run, and an RPO above target. Each names its runbook.
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
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
