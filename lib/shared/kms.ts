import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';

/**
 * Adds the key policy statement AWS Control Tower's CT.KMS.PR.3 asks for: nobody may create a
 * grant on the key unless the grant is for an AWS resource (RDS, ElastiCache and Secrets Manager
 * create theirs that way) or the caller is an AWS service. Grants are how a key's use leaks to
 * principals its policy never names; this closes that path for people and app roles.
 */
export function limitGrantsToAwsServices(key: kms.Key): void {
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'GrantsOnlyForAwsServices',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:CreateGrant'],
      resources: ['*'],
      conditions: {
        BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' },
      },
    }),
  );
}
