// Policy acknowledgements of BackgroundJobs (cdk-nag AwsSolutions, NIST 800-53 R5, Serverless and
// the Control Tower guard rules): each finding is acknowledged on the resource it concerns.
import { Stack, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { guardRuleId } from '../policy/readiness-rules';
import { acknowledgeFunctionBaseline, acknowledgeGrantPolicies } from '../shared/function-acknowledgements';
import type { BackgroundJobs } from './background-jobs';

/** Acknowledges every finding the jobs' own resources raise. */
export function acknowledgeBackgroundJobsFindings(jobs: BackgroundJobs, scheduleRole: iam.IRole): void {
  for (const fn of [jobs.worker, jobs.relay]) {
    acknowledgeFunctionBaseline(fn, { inVpc: true, importedSubnets: true });
  }
  Validations.of(jobs.relay).acknowledge(
    {
      id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason:
        'Granted by queue.grantSendMessages on the one key of the job queue: SQS needs data keys to encrypt messages.',
    },
    {
      id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]',
      reason: 'Granted by queue.grantSendMessages and scoped to the one key of the job queue.',
    },
  );
  const ack = (scope: Construct, id: string, reason: string) =>
    Validations.of(scope).acknowledge({ id, reason });
  acknowledgeGrantPolicies(jobs);
  const logs =
    'Job processing logs (job ids, attempts, outcomes; the logging standard keeps payload secrets out), encrypted at rest by CloudWatch Logs with service keys; retention from config, as long as the jobs are worth debugging.';
  ack(jobs, 'NIST.800.53.R5-CloudWatchLogGroupEncrypted', logs);
  ack(jobs, guardRuleId('cloudwatch_log_group_encrypted_check'), logs);
  ack(jobs, guardRuleId('cloudwatch_log_group_retention_period_check'), logs);
  ack(
    jobs.worker,
    'NIST.800.53.R5-LambdaConcurrency',
    "The SQS event source's maxConcurrency already caps the worker (and so its database connections); reserving concurrency would take capacity from the account pool (new accounts have 10) and throttle it below what the account allows.",
  );
  ack(
    jobs.relay,
    'NIST.800.53.R5-LambdaConcurrency',
    'Invoked once a minute by the schedule; overlapping runs are harmless (FOR UPDATE SKIP LOCKED); reserving concurrency would take capacity from the account pool (new accounts have 10) and throttle it below what the account allows.',
  );
  const workerDlq =
    'Invoked by the SQS event source mapping, never asynchronously: a failed job returns to the queue and, after maxReceiveCount, moves to the dead-letter queue (alarmed); a Lambda DLQ would never receive anything.';
  ack(jobs.worker, 'NIST.800.53.R5-LambdaDLQ', workerDlq);
  ack(jobs.worker, 'Serverless-LambdaDLQ', workerDlq);
  ack(
    jobs.worker,
    'Serverless-LambdaEventSourceMappingDestination',
    "SQS event sources do not support on-failure destinations; failed messages go to the queue's own dead-letter queue through its redrive policy.",
  );
  const relayDlq =
    'Invoked by EventBridge Scheduler every minute: a failed run leaves the outbox rows in place for the next run, and the outbox-backlog alarm fires when they pile up; a DLQ of stale invocations would replay nothing useful.';
  ack(jobs.relay, 'NIST.800.53.R5-LambdaDLQ', relayDlq);
  ack(jobs.relay, 'Serverless-LambdaDLQ', relayDlq);
  const dlqOfItsOwn =
    'This is the dead-letter queue of the job queue; messages end here after maxReceiveCount attempts and an alarm pages. A dead-letter queue of the dead-letter queue would only hide them.';
  ack(jobs.deadLetterQueue, 'Serverless-SQSRedrivePolicy', dlqOfItsOwn);
  ack(jobs.deadLetterQueue, guardRuleId('sqs_dlq_check'), dlqOfItsOwn);

  Validations.of(scheduleRole).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${Stack.of(jobs).getLogicalId(jobs.relay.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
    reason:
      'Invoke permission on the versions and aliases of the outbox relay function only (the LambdaInvoke target grant).',
  });
}
