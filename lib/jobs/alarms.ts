// The alarms of BackgroundJobs: dead-letter queue not empty, oldest message too old, worker
// invocations failing, outbox not draining, outbox rows parked. Each description ends with its runbook link.
import type { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { BackgroundJobs } from './background-jobs';

/** What the alarms need to know of the jobs. */
export interface BackgroundJobsAlarmOptions {
  readonly runbookBaseUrl: string;
  /** Receives alarm and OK notifications; without it the alarms only change state. */
  readonly alarmTopic?: sns.ITopic;
  readonly maxReceiveCount: number;
  readonly maxMessageAge: Duration;
  readonly parkAfterRefusals: number;
}

/** Creates the five alarms in the scope of `jobs` (ids unchanged: `DeadLetterQueueNotEmptyAlarm`, …). */
export function createBackgroundJobsAlarms(
  jobs: BackgroundJobs,
  o: BackgroundJobsAlarmOptions,
): BackgroundJobs['alarms'] {
  const runbook = (file: string) => `Runbook: ${o.runbookBaseUrl}/${file}`;
  const action = o.alarmTopic ? new cwActions.SnsAction(o.alarmTopic) : undefined;
  const alarm = (alarmId: string, alarmProps: cloudwatch.AlarmProps): cloudwatch.Alarm => {
    const created = new cloudwatch.Alarm(jobs, alarmId, alarmProps);
    if (action) {
      created.addAlarmAction(action);
      created.addOkAction(action);
    }
    return created;
  };

  return {
    deadLetterQueueNotEmpty: alarm('DeadLetterQueueNotEmptyAlarm', {
      alarmDescription:
        `Background jobs (${jobs.node.path}): messages are waiting in the dead-letter queue; ` +
        `each is a job that failed ${o.maxReceiveCount} times and will not run until redriven. ` +
        runbook('dead-letter-queue.md'),
      metric: jobs.metricDeadLetterQueueMessages(),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
    oldestMessageAge: alarm('OldestMessageAgeAlarm', {
      alarmDescription:
        `Background jobs (${jobs.node.path}): the oldest queued job has waited more than ` +
        `${o.maxMessageAge.toMinutes()} minutes; the worker is failing or not keeping up. ` +
        runbook('background-jobs.md'),
      metric: jobs.metricOldestMessageAge(),
      threshold: o.maxMessageAge.toSeconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
    workerErrors: alarm('WorkerErrorsAlarm', {
      alarmDescription:
        `Background jobs (${jobs.node.path}): the worker failed whole invocations (crash, ` +
        'timeout or database unreachable), not single jobs. ' +
        runbook('background-jobs.md'),
      metric: jobs.metricWorkerErrors(),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
    outboxBacklog: alarm('OutboxBacklogAlarm', {
      alarmDescription:
        `Background jobs (${jobs.node.path}): the outbox has not drained for 15 minutes, or the ` +
        'relay has stopped reporting; committed jobs are not reaching the queue. ' +
        runbook('outbox-backlog.md'),
      metric: jobs.metricOutboxBacklog(),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      // No data means the relay is not running: the backlog can only be growing.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    }),
    outboxParked: alarm('OutboxParkedAlarm', {
      alarmDescription:
        `Background jobs (${jobs.node.path}): the relay parked outbox rows that SQS refused ` +
        `${o.parkAfterRefusals} times; those jobs will not run until an operator releases them. ` +
        runbook('outbox-parked.md'),
      metric: jobs.metricOutboxParked(),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      // The backlog alarm already covers a relay that stopped reporting.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
  };
}
