import * as path from 'node:path';
import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { guardRuleId } from '../policy/readiness-rules';

/** Props of {@link CacheAuthTokenRotation}. */
export interface CacheAuthTokenRotationProps {
  /** The AUTH token secret (a plain string) the replication group was created with. */
  readonly authToken: secretsmanager.ISecret;
  /** Id of the replication group (its `Ref`). */
  readonly replicationGroupId: string;
  /** Host name of the primary endpoint, to prove the new token works. */
  readonly primaryEndpoint: string;
  /** Port of the endpoint. */
  readonly port: number;
  /** Network access to the cache nodes. */
  readonly cacheConnections: ec2.IConnectable;
  /** VPC of the cache. */
  readonly vpc: ec2.IVpc;
  /**
   * Subnets of the rotation function: they need a route to the ElastiCache and Secrets Manager
   * APIs (NAT or endpoints) and to the cache nodes.
   * @default - private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * How often the token is rotated; the previous token stays valid until the next rotation.
   * @default Duration.days(30)
   */
  readonly interval?: Duration;
  /**
   * Retention of the function's logs.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * Rotates a Valkey/Redis OSS AUTH token kept in Secrets Manager on a schedule: a rotation
 * function (`lambda/cache-auth-rotation`) generates a new token, applies it with ElastiCache's
 * `ROTATE` strategy (the cache then accepts the new and the previous token), proves the new one
 * authenticates against the primary endpoint, and makes it AWSCURRENT. Clients that read the
 * token before a rotation keep working until the next rotation, one interval later, retires it.
 * Failures reach the page topic through the account's Secrets Manager rotation-failure rule
 * (`Observability`); runbook `runbooks/secret-rotation.md`.
 *
 * The replication group's CloudFormation `AuthToken` is a versionless dynamic reference, which
 * CloudFormation resolves only when the reference itself changes, so a later deployment does not
 * set the token back (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/dynamic-references-secretsmanager.html).
 */
export class CacheAuthTokenRotation extends Construct {
  /** The rotation function. */
  public readonly function: lambda.Function;
  /** Its log group. */
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: CacheAuthTokenRotationProps) {
    super(scope, id);
    const interval = props.interval ?? Duration.days(30);
    const days = interval.toDays({ integral: false });
    if (!interval.isUnresolved() && (days < 1 || days > 365)) {
      throw new Error(
        `CacheAuthTokenRotation '${this.node.path}': interval must be between 1 and 365 days (Secrets Manager's rotation schedule), got ${days} days`,
      );
    }
    const stack = Stack.of(this);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `${this.node.path}: HTTPS to AWS APIs and Valkey to the cache`,
      allowAllOutbound: false,
    });
    securityGroup.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(443),
      'HTTPS to the ElastiCache and Secrets Manager APIs',
    );
    securityGroup.connections.allowTo(
      props.cacheConnections,
      ec2.Port.tcp(props.port),
      'Valkey: prove the new AUTH token',
    );

    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Rotates the AUTH token of one ElastiCache replication group',
      managedPolicies: [
        iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaVPCAccessExecutionRole'),
      ],
    });
    this.logGroup.grantWrite(role);
    // ModifyReplicationGroup and DescribeReplicationGroups on this group only
    // (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticache.html).
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['elasticache:DescribeReplicationGroups', 'elasticache:ModifyReplicationGroup'],
        resources: [
          stack.formatArn({
            service: 'elasticache',
            resource: 'replicationgroup',
            resourceName: props.replicationGroupId,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: path.join(__dirname, '../../lambda/cache-auth-rotation/index.ts'),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      // A rotation step may wait for the replication group to finish applying the token.
      timeout: Duration.minutes(10),
      role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [securityGroup],
      description: 'Rotates the AUTH token of the Valkey cache',
      environment: {
        REPLICATION_GROUP_ID: props.replicationGroupId,
        CACHE_HOST: props.primaryEndpoint,
        CACHE_PORT: String(props.port),
        POWERTOOLS_SERVICE_NAME: 'cache-auth-rotation',
      },
      bundling: { externalModules: [], minify: true, sourceMap: true },
    });

    props.authToken.addRotationSchedule('Rotation', {
      rotationLambda: this.function,
      automaticallyAfter: interval,
      // The first rotation comes on schedule, not during the deployment that created the cache.
      rotateImmediatelyOnUpdate: false,
    });

    this.acknowledge(role, props.logRetention ?? logs.RetentionDays.ONE_YEAR);
  }

  private acknowledge(role: iam.Role, retention: logs.RetentionDays): void {
    const ack = (scope: Construct, id: string, reason: string) =>
      Validations.of(scope).acknowledge({ id, reason });
    ack(
      role,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
      'AWS-managed policy Lambda needs to create and delete its network interfaces in the VPC (ENI actions take no resource ARN).',
    );
    ack(
      role,
      'NIST.800.53.R5-IAMNoInlinePolicy',
      "The role's own DefaultPolicy holds only this function's statements (this replication group, this secret, its log group); a managed policy would be shareable across roles, which least privilege avoids.",
    );
    ack(
      role,
      'AwsSolutions-IAM5[Resource::*]',
      'secretsmanager:GetRandomPassword (added by the rotation schedule), the network-interface actions of a VPC function and the X-Ray actions of tracing: ACTIVE act on no resource and only accept "*".',
    );
    ack(
      this.function,
      'NIST.800.53.R5-LambdaConcurrency',
      'Runs once per rotation (every 30 days by default); a reservation would take capacity from the account pool for nothing.',
    );
    const sync =
      'Invoked synchronously by Secrets Manager rotation, which records a failed step and retries; a DLQ applies only to asynchronous invocations. Failures page through the rotation-failure rule.';
    ack(this.function, 'NIST.800.53.R5-LambdaDLQ', sync);
    ack(this.function, 'Serverless-LambdaDLQ', sync);
    const logs =
      'Rotation logs (step, secret ARN, replication group, status; never a token), encrypted at rest by CloudWatch Logs with service keys.';
    ack(this.logGroup, 'NIST.800.53.R5-CloudWatchLogGroupEncrypted', logs);
    ack(this.logGroup, guardRuleId('cloudwatch_log_group_encrypted_check'), logs);
    if (retention < 365) {
      ack(
        this.logGroup,
        guardRuleId('cloudwatch_log_group_retention_period_check'),
        `Kept ${retention} days by configuration in this (non-production) environment; production keeps a year.`,
      );
    }
  }
}
