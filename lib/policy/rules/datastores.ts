/**
 * What counts as a datastore, and what covers one with AWS Backup or a restore test. Shared by
 * the data rules and the assembly-wide visibility rules.
 */
import { declared, RESTORE_VERIFIED_MARKER, type TemplateContext } from '../rule';
import {
  isObject,
  list,
  literalStrings,
  prop,
  references,
  referencedLogicalIds,
  tagsOf,
  type JsonValue,
  type TemplateResource,
} from '../template';

/**
 * Resource types that hold data a deletion would lose. Log groups, queues, secrets and KMS keys
 * are left out on purpose: logs and in-flight messages are transient, and deleting a secret or a
 * key is always scheduled (a 7 to 30 day window in which it can be cancelled).
 */
export const STATEFUL_RESOURCE_TYPES: readonly string[] = [
  'AWS::RDS::DBInstance',
  'AWS::RDS::DBCluster',
  'AWS::ElastiCache::ReplicationGroup',
  'AWS::ElastiCache::CacheCluster',
  'AWS::ElastiCache::ServerlessCache',
  'AWS::DynamoDB::Table',
  'AWS::DynamoDB::GlobalTable',
  'AWS::S3::Bucket',
  'AWS::EFS::FileSystem',
  'AWS::Cognito::UserPool',
  'AWS::DocDB::DBCluster',
  'AWS::Neptune::DBCluster',
  'AWS::OpenSearchService::Domain',
  'AWS::Backup::BackupVault',
];

export const RDS_TYPES = ['AWS::RDS::DBInstance', 'AWS::RDS::DBCluster'];

/** A DB instance that is a cluster member or a read replica has no data (or backups) of its own. */
export function ownsItsData(resource: TemplateResource): boolean {
  if (resource.type !== 'AWS::RDS::DBInstance') return true;
  const p = resource.properties;
  return p.DBClusterIdentifier === undefined && p.SourceDBInstanceIdentifier === undefined;
}

/** Whether an ElastiCache resource runs an engine that keeps snapshots (Redis OSS or Valkey). */
export function cacheKeepsSnapshots(resource: TemplateResource): boolean {
  const engine = resource.properties.Engine;
  return typeof engine !== 'string' || !/memcached/i.test(engine);
}

/** CDK-generated buckets that hold nothing of the app's: pipeline artifact replication. */
const GENERATED_BUCKET = /^CrossRegionCodePipelineReplicationBucket/;

/**
 * Why a bucket holds no data of its own, or undefined when it does: it receives logs (S3 server
 * access logs, CloudFront standard logs, ALB access logs), its content is deployed from source
 * by a `BucketDeployment`, or it stores pipeline artifacts.
 */
export function bucketHoldsNoData(bucket: TemplateResource, context: TemplateContext): string | undefined {
  if (GENERATED_BUCKET.test(bucket.logicalId)) return 'CDK pipeline artifact replication bucket';
  if (bucket.properties.AccessControl === 'LogDeliveryWrite') return 'log delivery bucket';
  const id = bucket.logicalId;
  for (const other of context.resources.values()) {
    if (other.logicalId === id) continue;
    const p = other.properties;
    if (
      other.type === 'AWS::S3::Bucket' &&
      references(prop(p, 'LoggingConfiguration', 'DestinationBucketName'), id)
    )
      return 'access-log destination';
    if (
      other.type === 'AWS::CloudFront::Distribution' &&
      references(prop(p, 'DistributionConfig', 'Logging'), id)
    )
      return 'CloudFront log destination';
    if (
      other.type === 'AWS::ElasticLoadBalancingV2::LoadBalancer' &&
      list(p.LoadBalancerAttributes).some(
        (a) => isObject(a) && a.Key === 'access_logs.s3.bucket' && references(a.Value, id),
      )
    )
      return 'load balancer access-log destination';
    if (other.type === 'Custom::CDKBucketDeployment' && references(p.DestinationBucketName, id))
      return 'content deployed from source by a BucketDeployment';
    if (
      other.type === 'AWS::CodePipeline::Pipeline' &&
      (references(p.ArtifactStore, id) || references(p.ArtifactStores, id))
    )
      return 'pipeline artifact store';
  }
  return undefined;
}

/** The auto-delete custom resource CDK adds for `autoDeleteObjects: true`, if the bucket has one. */
export function autoDeletesObjects(bucket: TemplateResource, context: TemplateContext): boolean {
  for (const other of context.resources.values()) {
    if (
      other.type === 'Custom::S3AutoDeleteObjects' &&
      references(other.properties.BucketName, bucket.logicalId)
    )
      return true;
  }
  return tagsOf(bucket).get('aws-cdk:auto-delete-objects') === 'true';
}

/** Backup selections and restore testing selections visible to a rule: local ones first. */
function backupResources(
  context: TemplateContext,
  type: string,
): Array<{ r: TemplateResource; local: boolean }> {
  const out: Array<{ r: TemplateResource; local: boolean }> = [];
  for (const r of context.resources.values()) if (r.type === type) out.push({ r, local: true });
  for (const r of context.remoteBackupResources) if (r.type === type) out.push({ r, local: false });
  return out;
}

/** `aws:ResourceTag/<key>` (or a bare key) against the resource's literal tags. */
function tagMatches(
  resource: TemplateResource,
  key: JsonValue | undefined,
  value: JsonValue | undefined,
): boolean {
  if (typeof key !== 'string' || typeof value !== 'string') return false;
  const tag = tagsOf(resource).get(key.replace(/^aws:ResourceTag\//, ''));
  if (tag === undefined) return false;
  return value.includes('*')
    ? new RegExp(`^${value.split('*').map(escape).join('.*')}$`).test(tag)
    : tag === value;
}
function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const ARN_SERVICE: Readonly<Record<string, string>> = {
  'AWS::RDS::DBInstance': ':rds:',
  'AWS::RDS::DBCluster': ':rds:',
  'AWS::DynamoDB::Table': ':dynamodb:',
  'AWS::DynamoDB::GlobalTable': ':dynamodb:',
  'AWS::EFS::FileSystem': ':elasticfilesystem:',
  'AWS::S3::Bucket': ':s3:',
  'AWS::DocDB::DBCluster': ':rds:',
  'AWS::Neptune::DBCluster': ':rds:',
};

/** Whether an ARN list names this resource: by reference (same template), `*`, or a service wildcard. */
function arnsCover(arns: JsonValue | undefined, resource: TemplateResource, local: boolean): boolean {
  for (const arn of list(arns)) {
    if (arn === '*') return true;
    if (local && referencedLogicalIds(arn).has(resource.logicalId)) return true;
    const text = literalStrings(arn).join('');
    const service = ARN_SERVICE[resource.type];
    if (service && text.includes(service) && text.endsWith('*') && !isObject(arn)) return true;
  }
  return false;
}

/**
 * The AWS Backup selection that backs this resource up, if any: by ARN (reference, `*`, or a
 * service wildcard) or by tag (`ListOfTags`), narrowed by `Conditions.StringEquals`.
 * https://docs.aws.amazon.com/aws-backup/latest/devguide/assigning-resources.html
 */
export function awsBackupSelectionOf(
  resource: TemplateResource,
  context: TemplateContext,
): string | undefined {
  for (const { r, local } of backupResources(context, 'AWS::Backup::BackupSelection')) {
    const selection = r.properties.BackupSelection;
    const byArn = arnsCover(prop(selection, 'Resources'), resource, local);
    const byTag = list(prop(selection, 'ListOfTags')).some(
      (t) => isObject(t) && tagMatches(resource, t.ConditionKey, t.ConditionValue),
    );
    if (!byArn && !byTag) continue;
    const equals = list(prop(selection, 'Conditions', 'StringEquals'));
    if (!equals.every((c) => isObject(c) && tagMatches(resource, c.ConditionKey, c.ConditionValue))) continue;
    if (arnsCover(prop(selection, 'NotResources'), resource, local)) continue;
    return r.logicalId;
  }
  return undefined;
}

const RESTORE_TEST_TYPE: Readonly<Record<string, readonly string[]>> = {
  'AWS::RDS::DBInstance': ['RDS'],
  'AWS::RDS::DBCluster': ['Aurora', 'RDS'],
  'AWS::DynamoDB::Table': ['DynamoDB'],
  'AWS::DynamoDB::GlobalTable': ['DynamoDB'],
  'AWS::EFS::FileSystem': ['EFS'],
  'AWS::DocDB::DBCluster': ['DocumentDB'],
  'AWS::Neptune::DBCluster': ['Neptune'],
};

/** What proves a datastore restores: a declared test, or AWS Backup restore testing. */
export type RestoreCoverage =
  { readonly covered: true; readonly by: string } | { readonly covered: false; readonly reason: string };

/**
 * Whether a restore test covers the datastore: the declared marker (Shipshape's
 * RestoreVerification sets it; anyone may set it for their own test), or an AWS Backup restore
 * testing selection of the resource's type that selects it (by ARN or `*`, narrowed by
 * `ProtectedResourceConditions`) while an AWS Backup plan backs it up — restore testing restores
 * AWS Backup recovery points, so without a plan there is nothing to test.
 * https://docs.aws.amazon.com/aws-backup/latest/devguide/restore-testing.html and the protected
 * resource types and ARN/condition rules of
 * https://docs.aws.amazon.com/aws-backup/latest/devguide/API_RestoreTestingSelectionForCreate.html
 */
export function restoreCoverage(resource: TemplateResource, context: TemplateContext): RestoreCoverage {
  const marker = declared(resource, RESTORE_VERIFIED_MARKER);
  if (marker) return { covered: true, by: `declared restore test '${marker}'` };
  const types = RESTORE_TEST_TYPE[resource.type] ?? [];
  for (const { r, local } of backupResources(context, 'AWS::Backup::RestoreTestingSelection')) {
    const p = r.properties;
    if (typeof p.ProtectedResourceType !== 'string' || !types.includes(p.ProtectedResourceType)) continue;
    if (!arnsCover(p.ProtectedResourceArns, resource, local)) continue;
    const equals = list(prop(p, 'ProtectedResourceConditions', 'StringEquals'));
    const notEquals = list(prop(p, 'ProtectedResourceConditions', 'StringNotEquals'));
    if (!equals.every((c) => isObject(c) && tagMatches(resource, c.Key, c.Value))) continue;
    if (notEquals.some((c) => isObject(c) && tagMatches(resource, c.Key, c.Value))) continue;
    const backup = awsBackupSelectionOf(resource, context);
    if (!backup) {
      return {
        covered: false,
        reason: `restore testing selection ${r.logicalId} selects it, but no AWS Backup selection backs it up, so there is no recovery point to test`,
      };
    }
    return { covered: true, by: `AWS Backup restore testing (${r.logicalId})` };
  }
  return {
    covered: false,
    reason: `no restore test is known to cover it (no AWS Backup restore testing selection, no \`${RESTORE_VERIFIED_MARKER}\` declaration)`,
  };
}
