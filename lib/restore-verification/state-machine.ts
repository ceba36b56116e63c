// The restore-verification state machine: janitor → restore → wait/poll → verify → delete →
// report, with a failure branch that deletes the throwaway instance, reports Success=0 and
// notifies. Every construct is created in the RestoreVerification's scope, so ids are stable.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';

const DELETE_RETRY_INTERVAL = Duration.minutes(1);
const DELETE_RETRY_ATTEMPTS = 45;

/** Builds the state machine (`<scope>/Resource`) and its log group. */
export function buildStateMachine(
  scope: Construct,
  opts: {
    controlFunction: lambda.IFunction;
    verifierFunction: lambda.IFunction;
    databaseName: string;
    environmentName: string;
    pollInterval: Duration;
    stateMachineTimeout: Duration;
    logRetention: logs.RetentionDays;
    alarmTopic?: sns.ITopic;
  },
): sfn.StateMachine {
  const executionName = sfn.JsonPath.stringAt('$$.Execution.Name');
  const invoke = (sid: string, fn: lambda.IFunction, payload: Record<string, unknown>, resultPath: string) =>
    new tasks.LambdaInvoke(scope, sid, {
      lambdaFunction: fn,
      payload: sfn.TaskInput.fromObject(payload),
      payloadResponseOnly: true,
      retryOnServiceExceptions: true,
      resultPath,
      taskTimeout: sfn.Timeout.duration(Duration.minutes(5)),
    });
  const retryTransient = (task: tasks.LambdaInvoke): tasks.LambdaInvoke => {
    task.addRetry({
      errors: ['RetryableError'],
      interval: Duration.seconds(30),
      backoffRate: 2,
      maxAttempts: 3,
    });
    return task;
  };

  // A step that connects to PostgreSQL retries `DatabaseNotReady` (refused, timed out, DNS not
  // resolving yet, 57P03 starting up: lambda/restore-verification/verifier/connection-errors.ts)
  // with backoff: right after RDS reports the copy `available` it may not take sessions yet.
  // 15 s doubling, at most 5 minutes apart, 6 retries: about 16 minutes in all. Full jitter
  // and MaxDelaySeconds per https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
  const retryUntilReachable = (task: tasks.LambdaInvoke): tasks.LambdaInvoke => {
    task.addRetry({
      errors: ['DatabaseNotReady'],
      interval: Duration.seconds(15),
      backoffRate: 2,
      maxAttempts: 6,
      maxDelay: Duration.minutes(5),
      jitterStrategy: sfn.JitterType.FULL,
    });
    return task;
  };

  // Failure branch: delete, publish Success=0, notify, fail. Every step continues on error.
  const failed = new sfn.Fail(scope, 'RestoreVerificationFailed', {
    errorPath: '$.failure.Error',
    causePath: '$.failure.Cause',
  });
  const deleteAfterFailure = deleteTask(scope, opts.controlFunction, 'DeleteAfterFailure', executionName);
  const publishFailure = invoke(
    'PublishFailureMetrics',
    opts.controlFunction,
    { action: 'report', executionName, success: false, reason: sfn.JsonPath.stringAt('$.failure.Cause') },
    '$.report',
  );
  let notifyOrFail: sfn.IChainable = failed;
  if (opts.alarmTopic) {
    const notify = new tasks.SnsPublish(scope, 'NotifyFailure', {
      topic: opts.alarmTopic,
      subject: `Restore verification failed: ${opts.databaseName} (${opts.environmentName})`,
      message: sfn.TaskInput.fromText(
        sfn.JsonPath.format(
          'Restore verification run {} failed. Error: {}. Cause: {}. The throwaway instance was deleted (see the execution history if the delete step failed).',
          executionName,
          sfn.JsonPath.stringAt('$.failure.Error'),
          sfn.JsonPath.stringAt('$.failure.Cause'),
        ),
      ),
      resultPath: '$.notification',
    });
    notify.addCatch(failed, { resultPath: '$.notifyError' });
    notify.next(failed);
    notifyOrFail = notify;
  }
  deleteAfterFailure.addCatch(publishFailure, { resultPath: '$.cleanupError' });
  publishFailure.addCatch(notifyOrFail, { resultPath: '$.reportError' });
  deleteAfterFailure.next(publishFailure);
  publishFailure.next(notifyOrFail);
  const onError = <T extends sfn.TaskStateBase>(task: T): T => {
    task.addCatch(deleteAfterFailure, { errors: [sfn.Errors.ALL], resultPath: '$.failure' });
    return task;
  };

  // Main path.
  const janitor = onError(
    retryTransient(
      invoke('Janitor', opts.controlFunction, { action: 'janitor', executionName }, '$.janitor'),
    ),
  );
  const startRestore = onError(
    retryTransient(
      invoke('StartRestore', opts.controlFunction, { action: 'startRestore', executionName }, '$.restore'),
    ),
  );
  const readSource = onError(
    retryTransient(
      retryUntilReachable(
        invoke('ReadSourceMigrations', opts.verifierFunction, { action: 'readSource' }, '$.source'),
      ),
    ),
  );
  const wait = new sfn.Wait(scope, 'WaitForRestore', { time: sfn.WaitTime.duration(opts.pollInterval) });
  const check = onError(
    retryTransient(
      invoke(
        'CheckRestore',
        opts.controlFunction,
        { action: 'describe', executionName, requestedAt: sfn.JsonPath.stringAt('$.restore.requestedAt') },
        '$.status',
      ),
    ),
  );
  const verify = onError(
    retryTransient(
      retryUntilReachable(
        invoke(
          'Verify',
          opts.verifierFunction,
          {
            action: 'verify',
            host: sfn.JsonPath.stringAt('$.status.host'),
            port: sfn.JsonPath.numberAt('$.status.port'),
            restorePointTime: sfn.JsonPath.stringAt('$.restore.restorePointTime'),
            requestedAt: sfn.JsonPath.stringAt('$.restore.requestedAt'),
            sourceMigrations: sfn.JsonPath.listAt('$.source.migrations'),
          },
          '$.verification',
        ),
      ),
    ),
  );
  const deleteAfterSuccess = onError(
    deleteTask(scope, opts.controlFunction, 'DeleteAfterSuccess', executionName),
  );
  const publishSuccess = onError(
    invoke(
      'PublishSuccessMetrics',
      opts.controlFunction,
      {
        action: 'report',
        executionName,
        success: true,
        rtoSeconds: sfn.JsonPath.numberAt('$.verification.rtoSeconds'),
        rpoSeconds: sfn.JsonPath.numberAt('$.verification.rpoSeconds'),
      },
      '$.report',
    ),
  );
  const restoreFailed = new sfn.Pass(scope, 'RestoreFailed', {
    parameters: {
      Error: 'RestoreFailed',
      Cause: sfn.JsonPath.format(
        'The restored instance reached status {}',
        sfn.JsonPath.stringAt('$.status.status'),
      ),
    },
    resultPath: '$.failure',
  }).next(deleteAfterFailure);
  const restoreTimedOut = new sfn.Pass(scope, 'RestoreTimedOut', {
    parameters: {
      Error: 'RestoreTimedOut',
      Cause: sfn.JsonPath.format(
        'The restored instance was still {} after {} seconds',
        sfn.JsonPath.stringAt('$.status.status'),
        sfn.JsonPath.stringAt('$.status.elapsedSeconds'),
      ),
    },
    resultPath: '$.failure',
  }).next(deleteAfterFailure);

  const definition = janitor
    .next(startRestore)
    .next(readSource)
    .next(wait)
    .next(check)
    .next(
      new sfn.Choice(scope, 'RestoreAvailable?')
        .when(
          sfn.Condition.stringEquals('$.status.state', 'available'),
          verify.next(deleteAfterSuccess).next(publishSuccess).next(new sfn.Succeed(scope, 'Verified')),
        )
        .when(sfn.Condition.stringEquals('$.status.state', 'failed'), restoreFailed)
        .when(sfn.Condition.stringEquals('$.status.state', 'timedOut'), restoreTimedOut)
        .otherwise(wait),
    );

  const logGroup = new logs.LogGroup(scope, 'StateMachineLogs', {
    retention: opts.logRetention,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const stateMachine = new sfn.StateMachine(scope, 'Resource', {
    definitionBody: sfn.DefinitionBody.fromChainable(definition),
    comment: 'Restore the database at its latest restorable time, verify it, always delete it',
    timeout: opts.stateMachineTimeout,
    tracingEnabled: true,
    logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
  });
  opts.alarmTopic?.grantPublish(stateMachine);
  return stateMachine;
}

export function deleteTask(
  scope: Construct,
  controlFunction: lambda.IFunction,
  id: string,
  executionName: string,
): tasks.LambdaInvoke {
  const task = new tasks.LambdaInvoke(scope, id, {
    lambdaFunction: controlFunction,
    payload: sfn.TaskInput.fromObject({ action: 'delete', executionName }),
    payloadResponseOnly: true,
    retryOnServiceExceptions: true,
    resultPath: '$.cleanup',
    taskTimeout: sfn.Timeout.duration(Duration.minutes(5)),
  });
  task
    .addRetry({
      // A restore still `creating` cannot be deleted yet: wait for it, up to 45 minutes.
      errors: ['InstanceNotDeletableYet'],
      interval: DELETE_RETRY_INTERVAL,
      backoffRate: 1,
      maxAttempts: DELETE_RETRY_ATTEMPTS,
    })
    .addRetry({
      errors: ['RetryableError'],
      interval: Duration.seconds(30),
      backoffRate: 2,
      maxAttempts: 3,
    });
  return task;
}
