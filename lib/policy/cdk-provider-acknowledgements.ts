import { Aspects, type IAspect, type Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { guardRuleId } from './readiness-rules';

/** Ids of the stack-level singleton providers CDK adds for its own custom resources. */
const CDK_PROVIDER = /^Custom::\w+CustomResourceProvider$/;

class AcknowledgeCdkProviders implements IAspect {
  public visit(node: IConstruct): void {
    if (
      !CDK_PROVIDER.test(node.node.id) ||
      node.node.metadata.some((m) => m.type === 'shipshape:cdk-provider')
    )
      return;
    node.node.addMetadata('shipshape:cdk-provider', true);
    Validations.of(node).acknowledge({
      id: guardRuleId('lambda_inside_vpc_check'),
      reason: `${node.node.id}: a CDK-managed deploy-time function that only calls AWS APIs (EC2, SSM); it handles no application data and needs no path into the VPC.`,
    });
  }
}

/**
 * Acknowledges Control Tower's "Lambda in a VPC" rule on the singleton providers CDK itself adds
 * to `stack` (restricting the default security group, cross-region references). They are created
 * lazily during synthesis, so the acknowledgement is applied by an aspect.
 */
export function acknowledgeCdkProviderFunctions(stack: Stack): void {
  Aspects.of(stack).add(new AcknowledgeCdkProviders());
}
