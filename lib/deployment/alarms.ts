// The rollback alarms of SafeDeployment: error rate and p99 duration of the new version. While
// either is in ALARM during a deployment, CodeDeploy rolls back.
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cw_actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';

/** What the rollback alarms watch. */
export interface RollbackAlarmOptions {
  /** The version being deployed (the alias's current version). */
  readonly version: lambda.IVersion;
  readonly aliasName: string;
  /** Error rate of the new version, percent, that rolls back. */
  readonly errorRate: number;
  /** p99 duration of the new version that rolls back. */
  readonly latency: Duration;
  /** Minutes with fewer invocations do not count. */
  readonly minimumInvocations: number;
  readonly runbookUrl?: string;
  readonly alarmTopic?: sns.ITopic;
}

/** Creates `ErrorRateAlarm` and `LatencyAlarm` in `scope` (the SafeDeployment). */
export function createRollbackAlarms(
  scope: Construct,
  o: RollbackAlarmOptions,
): { errorRateAlarm: cloudwatch.Alarm; latencyAlarm: cloudwatch.Alarm } {
  const runbook = o.runbookUrl ? ` Runbook: ${o.runbookUrl}` : '';
  const errorRateAlarm = new cloudwatch.Alarm(scope, 'ErrorRateAlarm', {
    alarmDescription: `Rolls the deployment back: the new version of ${o.aliasName} fails more than ${o.errorRate}% of invocations (minutes with ${o.minimumInvocations}+ invocations).${runbook}`,
    metric: new cloudwatch.MathExpression({
      label: 'New version error rate (%)',
      expression: `IF(invocations >= ${o.minimumInvocations}, 100 * FILL(errors, 0) / invocations, 0)`,
      usingMetrics: {
        errors: newVersionMetric(o.version, 'Errors', 'Sum'),
        invocations: newVersionMetric(o.version, 'Invocations', 'Sum'),
      },
      period: Duration.minutes(1),
    }),
    threshold: o.errorRate,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 3,
    datapointsToAlarm: 2,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  const latencyAlarm = new cloudwatch.Alarm(scope, 'LatencyAlarm', {
    alarmDescription: `Rolls the deployment back: p99 duration of the new version of ${o.aliasName} is above ${o.latency.toMilliseconds()} ms.${runbook}`,
    metric: newVersionMetric(o.version, 'Duration', 'p99'),
    threshold: o.latency.toMilliseconds(),
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 3,
    datapointsToAlarm: 2,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  if (o.alarmTopic) {
    for (const alarm of [errorRateAlarm, latencyAlarm]) {
      alarm.addAlarmAction(new cw_actions.SnsAction(o.alarmTopic));
      alarm.addOkAction(new cw_actions.SnsAction(o.alarmTopic));
    }
  }
  return { errorRateAlarm, latencyAlarm };
}

/**
 * A 1-minute AWS/Lambda metric of one version. CloudWatch's `Resource` dimension of a version
 * is `<function name>:<version>`; `Version.metric*()` puts the full ARN there, which matches
 * no datapoint, so the metric is built by hand.
 */
function newVersionMetric(
  version: lambda.IVersion,
  metricName: string,
  statistic: string,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/Lambda',
    metricName,
    statistic,
    period: Duration.minutes(1),
    dimensionsMap: {
      FunctionName: version.lambda.functionName,
      Resource: `${version.lambda.functionName}:${version.version}`,
    },
  });
}
