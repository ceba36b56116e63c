// What the control function may do in RDS: describe everything, but restore and delete only
// throwaway instances carrying the purpose tag and the construct's identifier prefix.
import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as rds from 'aws-cdk-lib/aws-rds';
import type { Construct } from 'constructs';
import { RESTORE_PURPOSE, RESTORE_TAGS } from '../../lambda/shared/restore-verification';
import type { RestoreVerificationProps } from './props';

/** Grants `grantee` the RDS control-plane actions of a verification run. */
export function grantRdsControl(
  scope: Construct,
  grantee: lambda.IFunction,
  props: RestoreVerificationProps,
  subnetGroup: rds.ISubnetGroup,
  parameterGroupName: string | undefined,
  prefix: string,
): void {
  const stack = Stack.of(scope);
  const rdsArn = (resource: string, resourceName: string) =>
    stack.formatArn({ service: 'rds', resource, resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
  const throwaway = rdsArn('db', `${prefix}*`);
  const purposeTag = { [`aws:RequestTag/${RESTORE_TAGS.purpose}`]: RESTORE_PURPOSE };

  const statements = [
    new iam.PolicyStatement({
      sid: 'ListAndDescribeInstances',
      actions: ['rds:DescribeDBInstances'],
      resources: [rdsArn('db', '*')],
    }),
    new iam.PolicyStatement({
      sid: 'RestoreIntoTaggedThrowawayOnly',
      actions: ['rds:RestoreDBInstanceToPointInTime', 'rds:AddTagsToResource'],
      resources: [throwaway],
      conditions: { StringEquals: purposeTag },
    }),
    new iam.PolicyStatement({
      sid: 'RestoreFromTheSourceOnly',
      actions: ['rds:RestoreDBInstanceToPointInTime'],
      resources: [
        props.instance.instanceArn,
        rdsArn('subgrp', subnetGroup.subnetGroupName),
        rdsArn('og', 'default:*'),
        rdsArn('pg', parameterGroupName ?? 'default.*'),
      ],
    }),
    new iam.PolicyStatement({
      sid: 'DeleteTaggedThrowawayOnly',
      actions: ['rds:DeleteDBInstance'],
      resources: [throwaway],
      conditions: { StringEquals: { [`aws:ResourceTag/${RESTORE_TAGS.purpose}`]: RESTORE_PURPOSE } },
    }),
  ];
  for (const statement of statements) grantee.addToRolePolicy(statement);
  if (props.encryptionKey) {
    // RDS encrypts the restore with the source's key through a grant it creates for itself.
    grantee.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'LetRdsUseTheSourceKey',
        actions: ['kms:DescribeKey', 'kms:CreateGrant'],
        resources: [props.encryptionKey.keyArn],
        conditions: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
      }),
    );
  }
}
