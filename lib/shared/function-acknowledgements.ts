// The policy findings every Lambda function of ours raises by construction, acknowledged with
// one reason each so the constructs (restore verification, jobs, service, deployment hooks)
// do not repeat them. A construct acknowledges what is specific to it next to its resources.
import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { guardRuleId } from '../policy/readiness-rules';

const MANAGED = 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role';

/** What {@link acknowledgeFunctionBaseline} needs to know of the function. */
export interface FunctionBaselineOptions {
  /** The function runs in a VPC (its role gets AWSLambdaVPCAccessExecutionRole). */
  readonly inVpc: boolean;
  /**
   * The function's subnets are imported from another stack (`Fn::ImportValue`), which the Control
   * Tower `lambda_inside_vpc_check` rule cannot resolve.
   * @default false
   */
  readonly importedSubnets?: boolean;
}

/**
 * AWS-managed execution policies (basic logs; ENI management in a VPC) and the unscoped X-Ray
 * actions that `tracing: ACTIVE` adds, acknowledged on `fn` (the function or its role).
 */
export function acknowledgeFunctionBaseline(fn: IConstruct, options: FunctionBaselineOptions): void {
  const v = Validations.of(fn);
  v.acknowledge({
    id: `${MANAGED}/AWSLambdaBasicExecutionRole]`,
    reason:
      'AWS-managed basic execution policy: lets the function write its own CloudWatch Logs only; a copy of it would add nothing.',
  });
  if (options.inVpc) {
    v.acknowledge({
      id: `${MANAGED}/AWSLambdaVPCAccessExecutionRole]`,
      reason:
        'AWS-managed VPC access policy: the ENI management a function in a VPC needs, whose actions take no resource ARN.',
    });
  }
  v.acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'X-Ray tracing (tracing: ACTIVE) adds xray:PutTraceSegments and xray:PutTelemetryRecords, which support no resource scoping.',
  });
  if (options.importedSubnets) {
    v.acknowledge({
      id: guardRuleId('lambda_inside_vpc_check'),
      reason:
        'The function runs in the VPC (its own security group); its subnet ids are imported from the stateful stack (Fn::ImportValue), which the Control Tower rule cannot resolve.',
    });
  }
}

/** NIST IAMNoInlinePolicy on a construct whose roles get their statements from CDK grant methods. */
export function acknowledgeGrantPolicies(scope: IConstruct): void {
  Validations.of(scope).acknowledge({
    id: 'NIST.800.53.R5-IAMNoInlinePolicy',
    reason:
      "CDK grant methods write each role's least-privilege statements into that role's own DefaultPolicy, scoped to this construct's resources; a managed policy would be shareable across roles, which least privilege avoids.",
  });
}

/** The dead-letter-queue findings of a function that is only invoked synchronously (`reason` says by whom). */
export function acknowledgeSynchronousInvocation(fn: IConstruct, reason: string): void {
  for (const id of ['NIST.800.53.R5-LambdaDLQ', 'Serverless-LambdaDLQ']) {
    Validations.of(fn).acknowledge({ id, reason });
  }
}
