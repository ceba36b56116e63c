// The rollback alarms of SafeDeployment. They watch the NEW version's real traffic — requests
// through the `live` alias that executed that version — and CodeDeploy rolls the deployment back
// while any of them is in ALARM
// (https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-groups-configure-advanced-options.html).
//
// Which metrics carry "the new version's real traffic":
// - The service's own EMF metrics (lambda/runtime/deployment-metrics.ts): `ServerErrors` counts
//   every 5xx the API answered, handled or not, `Requests` every request, `Latency` the handler
//   time; one dimension set, FunctionName + ExecutedVersion, and an alarm must name exactly that
//   set (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
//   4xx are the caller's doing and never count.
// - Lambda's own `Errors`/`Invocations`/`Throttles` of calls through the alias, which Lambda
//   records under `Resource=<function>:<alias>` with `ExecutedVersion=<version>`
//   (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics.html, "Using dimensions").
//   These see what EMF cannot: a version that crashes on init, times out or runs out of memory
//   never writes its EMF line. `Resource=<function>:<version>` only ever sees direct invocations
//   of the version (the gate's self-test), never the alias's traffic: nothing here uses it.
//
// Missing data is NOT BREACHING on all three
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-and-missing-data).
// During a canary a minute without datapoints means the new version served no request in it: no
// evidence of failure. `breaching` would roll back (and notify) every quiet canary; `missing`
// would leave the alarm INSUFFICIENT_DATA, which does not stop a deployment either (CodeDeploy
// acts on ALARM: https://docs.aws.amazon.com/codedeploy/latest/userguide/monitoring-create-alarms.html)
// but hides on a dashboard that the canary saw nothing. A version
// too broken to publish anything is caught by the Lambda-level alarm (its failed invocations are
// datapoints) and by the migration gate's self-test before any traffic shifts.
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cw_actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import {
  DEPLOYMENT_METRIC_DIMENSIONS,
  DEPLOYMENT_METRIC_NAMES,
  DEPLOYMENT_METRICS_NAMESPACE,
} from '../../lambda/runtime/deployment-metrics';
import { ALARM_PERIOD_MINUTES, DATAPOINTS_TO_ALARM, EVALUATION_PERIODS } from './canary-arithmetic';

/** What the rollback alarms watch. */
export interface RollbackAlarmOptions {
  /** The alias CodeDeploy shifts; its current version is the one being deployed. */
  readonly alias: lambda.Alias;
  /** Error rate of the new version, percent, that rolls back. */
  readonly errorRate: number;
  /** p99 latency of the new version that rolls back. */
  readonly latency: Duration;
  /** Minutes with fewer requests on the new version do not count. */
  readonly minimumRequests: number;
  readonly runbookUrl?: string;
  readonly alarmTopic?: sns.ITopic;
}

/** The rollback alarms, by role. */
export interface RollbackAlarms {
  /** `ErrorRateAlarm`: 5xx share of the new version's requests (EMF). */
  readonly errorRateAlarm: cloudwatch.Alarm;
  /** `LatencyAlarm`: p99 handler latency of the new version (EMF). */
  readonly latencyAlarm: cloudwatch.Alarm;
  /** `InvocationErrorRateAlarm`: Lambda-level failed and throttled invocations of the new version through the alias. */
  readonly invocationErrorRateAlarm: cloudwatch.Alarm;
}

const period = Duration.minutes(ALARM_PERIOD_MINUTES);

/** Creates the rollback alarms in `scope` (the SafeDeployment). */
export function createRollbackAlarms(scope: Construct, o: RollbackAlarmOptions): RollbackAlarms {
  const runbook = o.runbookUrl ? ` Runbook: ${o.runbookUrl}` : '';
  const fn = o.alias.version.lambda.functionName;
  const version = o.alias.version.version;
  const guard = `minutes with ${o.minimumRequests}+ requests on the new version`;
  const emf = (metricName: string, statistic: string) =>
    new cloudwatch.Metric({
      namespace: DEPLOYMENT_METRICS_NAMESPACE,
      metricName,
      statistic,
      period,
      dimensionsMap: {
        [DEPLOYMENT_METRIC_DIMENSIONS.functionName]: fn,
        [DEPLOYMENT_METRIC_DIMENSIONS.executedVersion]: version,
      },
    });
  const viaAlias = (metricName: string) =>
    new cloudwatch.Metric({
      namespace: 'AWS/Lambda',
      metricName,
      statistic: cloudwatch.Stats.SUM,
      period,
      dimensionsMap: { FunctionName: fn, Resource: `${fn}:${o.alias.aliasName}`, ExecutedVersion: version },
    });
  const requests = emf(DEPLOYMENT_METRIC_NAMES.requests, cloudwatch.Stats.SUM);
  const rollback = {
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: EVALUATION_PERIODS,
    datapointsToAlarm: DATAPOINTS_TO_ALARM,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  };

  const errorRateAlarm = new cloudwatch.Alarm(scope, 'ErrorRateAlarm', {
    alarmDescription: `Rolls the deployment back: the new version of ${o.alias.aliasName} answers more than ${o.errorRate}% of its requests with a 5xx (${guard}; 4xx never count).${runbook}`,
    metric: new cloudwatch.MathExpression({
      label: 'New version server-error rate (%)',
      expression: `IF(requests >= ${o.minimumRequests}, 100 * FILL(serverErrors, 0) / requests, 0)`,
      usingMetrics: {
        serverErrors: emf(DEPLOYMENT_METRIC_NAMES.serverErrors, cloudwatch.Stats.SUM),
        requests,
      },
      period,
    }),
    threshold: o.errorRate,
    ...rollback,
  });
  const latencyAlarm = new cloudwatch.Alarm(scope, 'LatencyAlarm', {
    alarmDescription: `Rolls the deployment back: p99 latency of the new version of ${o.alias.aliasName} is above ${o.latency.toMilliseconds()} ms (${guard}).${runbook}`,
    metric: new cloudwatch.MathExpression({
      label: 'New version p99 latency (ms)',
      expression: `IF(requests >= ${o.minimumRequests}, latency, 0)`,
      usingMetrics: { latency: emf(DEPLOYMENT_METRIC_NAMES.latency, cloudwatch.Stats.p(99)), requests },
      period,
    }),
    threshold: o.latency.toMilliseconds(),
    ...rollback,
  });
  // Throttles are not Invocations (Lambda counts them apart), so they join both sides.
  const attempts = 'FILL(invocations, 0) + FILL(throttles, 0)';
  const invocationErrorRateAlarm = new cloudwatch.Alarm(scope, 'InvocationErrorRateAlarm', {
    alarmDescription: `Rolls the deployment back: more than ${o.errorRate}% of the invocations of the new version of ${o.alias.aliasName} through the alias fail in Lambda (crash, timeout, out of memory) or are throttled (minutes with ${o.minimumRequests}+ invocations).${runbook}`,
    metric: new cloudwatch.MathExpression({
      label: 'New version failed or throttled invocations (%)',
      expression: `IF(${attempts} >= ${o.minimumRequests}, 100 * (FILL(errors, 0) + FILL(throttles, 0)) / (${attempts}), 0)`,
      usingMetrics: {
        errors: viaAlias('Errors'),
        throttles: viaAlias('Throttles'),
        invocations: viaAlias('Invocations'),
      },
      period,
    }),
    threshold: o.errorRate,
    ...rollback,
  });
  const alarms = { errorRateAlarm, latencyAlarm, invocationErrorRateAlarm };
  if (o.alarmTopic) {
    for (const alarm of Object.values(alarms)) {
      alarm.addAlarmAction(new cw_actions.SnsAction(o.alarmTopic));
      alarm.addOkAction(new cw_actions.SnsAction(o.alarmTopic));
    }
  }
  return alarms;
}
