// Cleanup when a verification execution itself ends badly. The main state machine's failure
// branch runs only when one of its steps fails; an execution that times out, is aborted (by an
// operator, or by a redeploy that replaces the state machine) or fails outside a step runs no
// state of its own, and its throwaway instance would wait for the next day's janitor. Step
// Functions sends an "Execution Status Change" event to EventBridge for every such end
// (https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html); a rule starts a small
// cleanup state machine that deletes the run's instance (waiting while it is still `creating`,
// as the main delete does) and, for a timeout or an abort, publishes Success=0 so that
// RunFailedAlarm pages at once.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventsTargets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { deleteTask } from './state-machine';

/** The execution statuses that trigger the cleanup (the `detail.status` values of the event). */
export const CLEANUP_ON_STATUSES = ['FAILED', 'TIMED_OUT', 'ABORTED'] as const;

/** What {@link buildExecutionCleanup} creates. */
export interface ExecutionCleanup {
  readonly stateMachine: sfn.StateMachine;
  readonly rule: events.Rule;
}

/**
 * Builds `<scope>/CleanupStateMachine` and `<scope>/ExecutionEndedRule`. The cleanup's input is
 * `{ executionName, status }`, taken from the event's `detail.name` and `detail.status`.
 */
export function buildExecutionCleanup(
  scope: Construct,
  opts: {
    controlFunction: lambda.IFunction;
    verification: sfn.IStateMachine;
    logRetention: logs.RetentionDays;
  },
): ExecutionCleanup {
  const executionName = sfn.JsonPath.stringAt('$.executionName');
  const done = new sfn.Succeed(scope, 'CleanedUp');
  const publishFailure = new tasks.LambdaInvoke(scope, 'CleanupPublishFailureMetrics', {
    lambdaFunction: opts.controlFunction,
    payload: sfn.TaskInput.fromObject({
      action: 'report',
      executionName,
      success: false,
      reason: sfn.JsonPath.format('The verification execution ended {}', sfn.JsonPath.stringAt('$.status')),
    }),
    payloadResponseOnly: true,
    retryOnServiceExceptions: true,
    resultPath: '$.report',
    taskTimeout: sfn.Timeout.duration(Duration.minutes(5)),
  });
  publishFailure.next(done);
  // FAILED runs published Success=0 on their own failure branch; the others never reached one.
  const reportIfUnreported = new sfn.Choice(scope, 'ReportedByTheRun?')
    .when(sfn.Condition.stringEquals('$.status', 'FAILED'), done)
    .otherwise(publishFailure);
  const remove = deleteTask(scope, opts.controlFunction, 'CleanupDelete', executionName);
  // A delete that still fails leaves the instance to the janitor; the failure metric goes out anyway.
  remove.addCatch(reportIfUnreported, { resultPath: '$.cleanupError' });
  remove.next(reportIfUnreported);

  const logGroup = new logs.LogGroup(scope, 'CleanupStateMachineLogs', {
    retention: opts.logRetention,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const stateMachine = new sfn.StateMachine(scope, 'CleanupStateMachine', {
    definitionBody: sfn.DefinitionBody.fromChainable(remove),
    comment:
      'Deletes the throwaway instance of a verification execution that failed, timed out or was aborted',
    // The delete waits up to 45 minutes for a `creating` instance, with retries on top.
    timeout: Duration.hours(2),
    tracingEnabled: true,
    logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
  });

  const rule = new events.Rule(scope, 'ExecutionEndedRule', {
    description: 'Cleans up after a restore verification execution that failed, timed out or was aborted',
    // Event shape: https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html
    eventPattern: {
      source: ['aws.states'],
      detailType: ['Step Functions Execution Status Change'],
      detail: {
        status: [...CLEANUP_ON_STATUSES],
        stateMachineArn: [opts.verification.stateMachineArn],
      },
    },
    targets: [
      new eventsTargets.SfnStateMachine(stateMachine, {
        input: events.RuleTargetInput.fromObject({
          executionName: events.EventField.fromPath('$.detail.name'),
          status: events.EventField.fromPath('$.detail.status'),
        }),
        retryAttempts: 10,
        maxEventAge: Duration.hours(2),
      }),
    ],
  });
  return { stateMachine, rule };
}
