// The rotation of the origin-verify secret: a function that writes a new value into the
// distribution's origin header (and accepts current, pending and previous values during the
// switch), run by a Secrets Manager rotation schedule. Created in the Edge's scope (ids stable).
import * as path from 'node:path';
import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { ORIGIN_VERIFY_HEADER } from '../../lambda/shared/origin-verify-header';
import { guardRuleId } from '../policy/readiness-rules';
import type { Edge } from './edge';
import type { EdgeProps } from './props';

/** Creates the rotation function and schedules the secret's rotation with it. */
export function createOriginVerifyRotation(
  edge: Edge,
  secret: secretsmanager.Secret,
  props: EdgeProps,
  logRetention: logs.RetentionDays,
  removalPolicy: RemovalPolicy,
): lambda.IFunction {
  const logGroup = new logs.LogGroup(edge, 'OriginVerifyRotationLogs', {
    retention: logRetention,
    removalPolicy,
  });
  const role = new iam.Role(edge, 'OriginVerifyRotationRole', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: 'Rotates the origin-verify secret and rewrites the header on the distribution',
  });
  logGroup.grantWrite(role);
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['cloudfront:GetDistributionConfig', 'cloudfront:UpdateDistribution'],
      resources: [edge.distribution.distributionArn],
    }),
  );

  const fn = new nodejs.NodejsFunction(edge, 'OriginVerifyRotation', {
    entry: path.join(__dirname, '../../lambda/origin-verify-rotation/index.ts'),
    handler: 'handler',
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: 256,
    timeout: Duration.minutes(1),
    role,
    logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    tracing: lambda.Tracing.ACTIVE,
    description: 'Rotates the origin-verify secret of the CloudFront distribution',
    environment: {
      DISTRIBUTION_ID: edge.distribution.distributionId,
      ORIGIN_VERIFY_HEADER,
      POWERTOOLS_SERVICE_NAME: 'origin-verify-rotation',
    },
    // Bundle the SDK pieces (SigV4 signer, credential chain) instead of relying on the
    // versions inside the Lambda runtime.
    bundling: { externalModules: [], minify: true, sourceMap: true },
  });

  secret.addRotationSchedule('Rotation', {
    rotationLambda: fn,
    automaticallyAfter: props.originVerifyRotation ?? Duration.days(30),
    // Do not race the deployment that just wrote the distribution; the first rotation comes
    // on schedule.
    rotateImmediatelyOnUpdate: false,
  });
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'secretsmanager:GetRandomPassword, added by the rotation schedule, acts on no resource and only accepts "*"; so do the X-Ray actions that tracing: ACTIVE adds.',
  });
  const ack = (scope: Construct, id: string, reason: string) =>
    Validations.of(scope).acknowledge({ id, reason });
  ack(
    fn,
    'NIST.800.53.R5-LambdaConcurrency',
    'Runs once per rotation (every 30 days by default); a reservation would take capacity from the account pool for nothing.',
  );
  const sync =
    'Invoked synchronously by Secrets Manager rotation, which records a failed step and retries the rotation; a DLQ applies only to asynchronous invocations.';
  ack(fn, 'NIST.800.53.R5-LambdaDLQ', sync);
  ack(fn, 'Serverless-LambdaDLQ', sync);
  const outside =
    'Calls only the Secrets Manager and CloudFront APIs (both public endpoints, no VPC resources); placing it in the VPC would need NAT or endpoints without reducing what it can reach.';
  ack(fn, 'NIST.800.53.R5-LambdaInsideVPC', outside);
  ack(fn, guardRuleId('lambda_inside_vpc_check'), outside);
  return fn;
}
