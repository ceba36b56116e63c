// The CodeDeploy lifecycle hook functions of SafeDeployment (migration gate, smoke test): one
// factory with their network, logs and policy acknowledgements, and the grants they need.
import * as path from 'node:path';
import { type Duration, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { guardRuleId } from '../policy/readiness-rules';
import {
  acknowledgeFunctionBaseline,
  acknowledgeSynchronousInvocation,
} from '../shared/function-acknowledgements';
import type { MigrationTarget } from './props';

const REPO_ROOT = path.join(__dirname, '..', '..');

/** Egress HTTPS only (AWS APIs through the NAT); the database port is opened by `allowTo`. */
function hookSecurityGroup(scope: Construct, id: string, vpc: ec2.IVpc): ec2.SecurityGroup {
  const group = new ec2.SecurityGroup(scope, `${id}SecurityGroup`, {
    vpc,
    description: `${id} hook: HTTPS to AWS APIs and PostgreSQL to the database only`,
    allowAllOutbound: false,
  });
  group.addEgressRule(
    ec2.Peer.anyIpv4(),
    ec2.Port.tcp(443),
    'HTTPS to AWS APIs (Secrets Manager, CodeDeploy, Lambda)',
  );
  return group;
}

/** A hook function `<scope>/<id>` from `lambda/deploy-hooks/<entryFolder>`, with its log group. */
export function createHookFunction(
  scope: Construct,
  id: string,
  entryFolder: string,
  options: {
    readonly timeout: Duration;
    readonly description: string;
    readonly environment: Record<string, string>;
    readonly migrations?: MigrationTarget;
  },
): nodejs.NodejsFunction {
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, { retention: logs.RetentionDays.THREE_MONTHS });
  const fn = new nodejs.NodejsFunction(scope, id, {
    entry: path.join(REPO_ROOT, 'lambda', 'deploy-hooks', entryFolder, 'index.ts'),
    projectRoot: REPO_ROOT,
    depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: 512,
    timeout: options.timeout,
    description: options.description,
    environment: { POWERTOOLS_SERVICE_NAME: `shipshape-${entryFolder}`, ...options.environment },
    logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    tracing: lambda.Tracing.ACTIVE,
    ...(options.migrations
      ? {
          vpc: options.migrations.vpc,
          vpcSubnets: options.migrations.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
          securityGroups: [hookSecurityGroup(scope, id, options.migrations.vpc)],
        }
      : {}),
    bundling: {
      minify: true,
      sourceMap: true,
      target: 'node24',
      externalModules: ['@aws-sdk/*', 'pg-native'],
      commandHooks:
        entryFolder === 'migration-gate'
          ? {
              beforeBundling: () => [],
              beforeInstall: () => [],
              // The migration files travel with the gate: lib/migrations finds them next to the handler.
              afterBundling: (inputDir: string, outputDir: string) => [
                `mkdir -p "${outputDir}/migrations" && cp "${inputDir}"/migrations/*.sql "${outputDir}/migrations/"`,
              ],
            }
          : undefined,
    },
  });
  acknowledgeFunctionBaseline(fn, { inVpc: options.migrations !== undefined });
  const ack = (scope: Construct, ruleId: string, reason: string) =>
    Validations.of(scope).acknowledge({ id: ruleId, reason });
  const hook =
    'A CodeDeploy lifecycle hook: invoked once per deployment, reporting through PutLifecycleEventHookExecutionStatus; a failure or timeout fails the deployment and rolls back. A DLQ would never be read and a concurrency reservation would take account capacity for one invocation per deploy.';
  acknowledgeSynchronousInvocation(fn, hook);
  ack(fn, 'NIST.800.53.R5-LambdaConcurrency', hook);
  if (!options.migrations) {
    ack(
      fn,
      'NIST.800.53.R5-LambdaInsideVPC',
      'The smoke test calls the public API through CloudFront, as a user does; inside the VPC it would need NAT to test the same path.',
    );
  }
  const hookLogs =
    'Deployment hook logs (deployment ids, migration names, smoke-test steps; never the password), encrypted at rest by CloudWatch Logs with service keys; kept three months, the span of deployment forensics.';
  ack(logGroup, 'NIST.800.53.R5-CloudWatchLogGroupEncrypted', hookLogs);
  ack(logGroup, guardRuleId('cloudwatch_log_group_encrypted_check'), hookLogs);
  ack(logGroup, guardRuleId('cloudwatch_log_group_retention_period_check'), hookLogs);
  return fn;
}

/**
 * `secret.grantRead(grantee)` through the grantee's own policy only. The L2 also writes the
 * grantee into the secret's KMS key policy, which for a secret in the stateful stack and a hook in
 * the stateless one is a reference back from stateful to stateless: a dependency cycle. The key
 * policy already delegates to IAM in the account, so the identity policy suffices.
 */
export function grantSecretRead(secret: secretsmanager.ISecret, grantee: iam.IGrantable): void {
  iam.Grant.addToPrincipal({
    grantee,
    actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
    resourceArns: [secret.secretFullArn ?? `${secret.secretArn}-??????`],
  });
  if (secret.encryptionKey) {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [secret.encryptionKey.keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(secret).region}.amazonaws.com` },
        },
      }),
    );
  }
}

/**
 * The granular cdk-nag id of an AWS-managed policy finding. Managed policy ARNs always carry
 * the `AWS::Partition` pseudo parameter, whatever the stack knows about its partition.
 */
export function managedPolicyFinding(policyName: string): string {
  return `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/${policyName}]`;
}
