// Policy acknowledgements of Edge (cdk-nag AwsSolutions, NIST 800-53 R5, Serverless and the
// Control Tower guard rules): each finding is acknowledged on the resource it concerns.
import { Stack, Validations } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { guardRuleId } from '../policy/readiness-rules';
import { acknowledgeGrantPolicies } from '../shared/function-acknowledgements';
import type { Edge } from './edge';

/** Acknowledges every finding the edge's own resources raise. */
export function acknowledgeEdgeFindings(edge: Edge, logRetention: logs.RetentionDays): void {
  const ack = (scope: Construct, id: string, reason: string) =>
    Validations.of(scope).acknowledge({ id, reason });
  // The web ACL lives in us-east-1 and its ARN crosses regions through CDK's export writer (in
  // the firewall stack) and reader (in this stack). CDK adds those provider functions while it
  // resolves references, after every aspect has run, so they can only be acknowledged from
  // their stacks. The functions of this construct and its neighbours are acknowledged one by
  // one; the NIST pack still checks every CfnFunction individually.
  const crossRegion =
    "CDK's cross-region export reader/writer functions (added during synthesis for the us-east-1 web ACL ARN) only call SSM Parameter Store at deploy time; they handle no application data and need no path into the VPC.";
  ack(Stack.of(edge), guardRuleId('lambda_inside_vpc_check'), crossRegion);
  ack(edge.firewallStack, guardRuleId('lambda_inside_vpc_check'), crossRegion);
  acknowledgeGrantPolicies(edge);
  ack(
    edge,
    guardRuleId('lambda_function_public_access_prohibited_check'),
    'Invoke permissions go to service principals only, each bound to its source: API Gateway for the routes of this HTTP API (SourceArn) and Secrets Manager for the rotation; no public principal.',
  );
  const logs =
    'HTTP API access logs and rotation logs (request ids, routes, status codes, client IPs; no bodies or tokens), encrypted at rest by CloudWatch Logs with service keys.';
  for (const scope of [edge.accessLogGroup, edge.node.findChild('OriginVerifyRotationLogs')]) {
    ack(scope, 'NIST.800.53.R5-CloudWatchLogGroupEncrypted', logs);
    ack(scope, guardRuleId('cloudwatch_log_group_encrypted_check'), logs);
    if (logRetention < 365) {
      ack(
        scope,
        guardRuleId('cloudwatch_log_group_retention_period_check'),
        `Kept ${logRetention} days by configuration in this (non-production) environment; production keeps a year.`,
      );
    }
  }
  ack(
    edge.originVerifySecret,
    'NIST.800.53.R5-SecretsManagerUsingKMSKey',
    'The origin-verify header value only proves a request came through CloudFront (the WAF also checks it); it guards no data, and the AWS managed key avoids a key policy that CloudFront-side rotation would also need.',
  );
  const buckets = {
    replication:
      'Replication to a second region would copy, not protect: the assets are rebuilt from the repository on deploy and the access logs are kept for analysis only.',
    kms: 'SSE-S3 at rest: CloudFront reads the assets through origin access control and writes standard logs, which SSE-KMS would complicate (key policy for the CloudFront service) for no gain on public assets and request logs.',
    objectLock:
      'Object lock would block lifecycle expiry and redeploys of assets; these buckets hold no records that must be immutable.',
    notifications:
      'Nothing consumes object events from these buckets; CloudTrail data events cover auditing if needed.',
  };
  for (const bucket of [edge.assetsBucket, edge.logBucket]) {
    ack(bucket, 'NIST.800.53.R5-S3BucketReplicationEnabled', buckets.replication);
    ack(bucket, 'NIST.800.53.R5-S3DefaultEncryptionKMS', buckets.kms);
    ack(bucket, guardRuleId('s3_bucket_default_encryption_kms_check'), buckets.kms);
    ack(bucket, guardRuleId('s3_bucket_object_lock_enabled_check'), buckets.objectLock);
    ack(bucket, guardRuleId('s3_event_notifications_enabled_check'), buckets.notifications);
  }
  ack(
    edge.assetsBucket,
    guardRuleId('s3_lifecycle_policy_check'),
    'Static assets are replaced by each deploy and must stay available while referenced; there is nothing to age out.',
  );
  ack(
    edge.assetsBucket,
    guardRuleId('s3_version_lifecycle_policy_check'),
    'Static assets are replaced by each deploy; old versions are the rollback path for assets and are small.',
  );
  ack(
    edge.logBucket,
    guardRuleId('s3_bucket_acl_prohibited_check'),
    'CloudFront standard logging writes through the bucket ACL (awslogsdelivery); the ACL grants only that, and public access is blocked.',
  );
  ack(
    edge.logBucket,
    guardRuleId('s3_bucket_logging_enabled_check'),
    'This is the access-log bucket; logging it into itself would loop, and into another bucket would only move the question.',
  );
  const noDomain =
    'Without config.domain CloudFront serves its default *.cloudfront.net certificate, which cannot use a custom certificate, SNI or a chosen security policy; set config.domain to get all three.';
  for (const rule of [
    'cloudfront_custom_ssl_certificate_check',
    'cloudfront_sni_enabled_check',
    'cloudfront_security_policy_check',
  ]) {
    ack(edge.distribution, guardRuleId(rule), noDomain);
  }
  ack(
    edge.distribution,
    guardRuleId('cloudfront_default_root_object_configured_check'),
    'The distribution fronts a JSON API; there is no index document to serve at the root.',
  );
  ack(
    edge.distribution,
    guardRuleId('cloudfront_origin_failover_enabled_check'),
    'One regional HTTP API is the only origin: a failover origin would need a second region of the whole data tier, which this design does not run.',
  );
}
