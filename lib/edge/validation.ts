// Validation of Edge's props and stack at synth time: every error names the construct, the value
// received and the fix. Values that are unresolved tokens are skipped.
import { type Stack, Token } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { EdgeProps } from './props';

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** Throws when the Edge at `scope` cannot be built as configured. */
export function validateEdge(scope: Construct, stack: Stack, props: EdgeProps): void {
  const where = `Edge '${scope.node.path}'`;
  if (Token.isUnresolved(stack.region) || Token.isUnresolved(stack.account)) {
    throw new Error(
      `${where}: the stack must have an explicit account and region (env), because Edge places its web ACL in a us-east-1 stack of the same account`,
    );
  }
  // `_crossRegionReferences` is the only public view of the stack prop; checking it here gives
  // a clearer error than the one CDK raises at synth, far from this construct.
  if (stack.region !== 'us-east-1' && !stack._crossRegionReferences) {
    throw new Error(
      `${where}: stack '${stack.node.path}' is in ${stack.region}, so the distribution references the web ACL in us-east-1 across regions; create the stack with crossRegionReferences: true`,
    );
  }
  const positive: Array<[string, number | undefined, number]> = [
    ['throttleRatePerSecond', props.throttleRatePerSecond, 10_000],
    ['throttleBurst', props.throttleBurst, 5_000],
  ];
  for (const [name, value, max] of positive) {
    if (
      value !== undefined &&
      !Token.isUnresolved(value) &&
      (!Number.isInteger(value) || value < 1 || value > max)
    ) {
      throw new Error(`${where}: ${name} must be an integer between 1 and ${max}, got ${value}`);
    }
  }
  const domain = props.domain;
  if (domain && !Token.isUnresolved(domain.domainName) && !HOSTNAME.test(domain.domainName)) {
    throw new Error(
      `${where}: domain.domainName must be a lower-case DNS name such as api.example.com, got '${domain.domainName}'`,
    );
  }
  const certificateArn = domain?.certificate.certificateArn;
  if (certificateArn && !Token.isUnresolved(certificateArn)) {
    const region = certificateArn.split(':')[3];
    if (region !== 'us-east-1') {
      throw new Error(
        `${where}: CloudFront only reads ACM certificates in us-east-1, got one in '${region}' (${certificateArn}); request or import the certificate in us-east-1`,
      );
    }
  }
  const rotation = props.originVerifyRotation;
  if (rotation && !Token.isUnresolved(rotation.toSeconds())) {
    const days = rotation.toDays({ integral: false });
    if (days < 1 || days > 365) {
      throw new Error(
        `${where}: originVerifyRotation must be between 1 and 365 days, got ${rotation.toHumanString()}`,
      );
    }
  }
}
