// Policy acknowledgements of BackgroundJobs (cdk-nag AwsSolutions, NIST 800-53 R5, Serverless and
// the Control Tower guard rules): each finding is acknowledged on the resource it concerns.
import { Stack, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { guardRuleId } from '../policy/readiness-rules';
import type { BackgroundJobs } from './background-jobs';

/** Acknowledges every finding the jobs' own resources raise. */
export function acknowledgeBackgroundJobsFindings(jobs: BackgroundJobs, scheduleRole: iam.IRole): void {
  for (const fn of [jobs.worker, jobs.relay]) {
    Validations.of(fn).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason:
          'The AWS-managed basic execution policy only lets the function write its own CloudWatch Logs; a copy of it would add nothing.',
      },
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
        reason:
          'The function runs in the VPC to reach the RDS Proxy; Lambda needs these ENI permissions, which only exist on Resource "*".',
      },
    );
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
  ack(
    jobs,
    'NIST.800.53.R5-IAMNoInlinePolicy',
    "CDK grant methods write each role's least-privilege statements into that role's own DefaultPolicy, scoped to this construct's resources; a managed policy would be shareable across roles, which least privilege avoids.",
  );
  const logs =
    'Job processing logs (job ids, attempts, outcomes; the logging standard keeps payload secrets out), encrypted at rest by CloudWatch Logs with service keys; retention from config, as long as the jobs are worth debugging.';
  ack(jobs, 'NIST.800.53.R5-CloudWatchLogGroupEncrypted', logs);
  ack(jobs, guardRuleId('cloudwatch_log_group_encrypted_check'), logs);
  ack(jobs, guardRuleId('cloudwatch_log_group_retention_period_check'), logs);
  for (const fn of [jobs.worker, jobs.relay]) {
    ack(
      fn,
      'AwsSolutions-IAM5[Resource::*]',
      'X-Ray tracing (tracing: ACTIVE) adds xray:PutTraceSegments and xray:PutTelemetryRecords, which support no resource scoping.',
    );
    ack(
      fn,
      guardRuleId('lambda_inside_vpc_check'),
      'The function runs in the VPC (application subnets, its own security group); its subnet ids are imported from the stateful stack (Fn::ImportValue), which the Control Tower rule cannot resolve.',
    );
  }
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
