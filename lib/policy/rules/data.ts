/**
 * Data: every datastore has backups, a restore test, Multi-AZ and deletion protection in
 * production, and survives its stack. Checklist seed: "backups automatic *and restore-tested*".
 */
import {
  DEFAULT_MINIMUM_BACKUP_RETENTION_DAYS,
  fail,
  NA,
  OK,
  type ReadinessRule,
  RESTORE_VERIFIED_MARKER,
  verdict,
} from '../rule';
import { bool, list, num, prop, references, type TemplateResource } from '../template';
import {
  autoDeletesObjects,
  awsBackupSelectionOf,
  bucketHoldsNoData,
  cacheKeepsSnapshots,
  ownsItsData,
  RDS_TYPES,
  restoreCoverage,
  STATEFUL_RESOURCE_TYPES,
} from './datastores';

const SEED_BACKUPS = 'Backups automatic and restore-tested';

const BACKUP_TYPES = [
  ...RDS_TYPES,
  'AWS::DynamoDB::Table',
  'AWS::DynamoDB::GlobalTable',
  'AWS::ElastiCache::ReplicationGroup',
  'AWS::ElastiCache::CacheCluster',
  'AWS::ElastiCache::ServerlessCache',
  'AWS::EFS::FileSystem',
  'AWS::S3::Bucket',
];

const backups: ReadinessRule = {
  id: 'Backups',
  group: 'data',
  severity: 'blocker',
  seed: SEED_BACKUPS,
  title: 'Every datastore has automated backups or point-in-time recovery',
  why:
    'Without automated backups a bad migration, a deleted row or a ransomware key leaves nothing to restore. ' +
    'RDS point-in-time recovery restores from the automated backups; DynamoDB needs PITR turned on; ' +
    'EFS and ElastiCache keep nothing unless told to; an unversioned bucket loses every overwritten object.',
  fix:
    'RDS/Aurora: `backupRetention: Duration.days(7)` or more. DynamoDB: `pointInTimeRecoverySpecification: ' +
    '{ pointInTimeRecoveryEnabled: true }` (TableV2; `pointInTimeRecovery: true` on Table). ElastiCache: ' +
    '`snapshotRetentionLimit` above 0. EFS: `enableAutomaticBackups: true`. S3: `versioned: true`. An AWS ' +
    'Backup plan (`backup.BackupPlan` + `addSelection`) that selects the resource counts too.',
  equivalents: [
    'NIST.800.53.R5-RDSInstanceBackupEnabled',
    'NIST.800.53.R5-DynamoDBPITREnabled',
    'NIST.800.53.R5-ElastiCacheRedisClusterAutomaticBackup',
    'NIST.800.53.R5-S3BucketVersioningEnabled',
    'ProductionReadiness-RDSBackups',
  ],
  fixByType: {
    'AWS::RDS::DBInstance': '`backupRetention: Duration.days(7)` (or more) on the `rds.DatabaseInstance`.',
    'AWS::RDS::DBCluster':
      '`backup: { retention: Duration.days(7) }` (or more) on the `rds.DatabaseCluster`.',
    'AWS::DynamoDB::Table':
      '`pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true }` on the `dynamodb.Table`, or a `backup.BackupPlan` with `addSelection(id, { resources: [backup.BackupResource.fromDynamoDbTable(table)] })`.',
    'AWS::DynamoDB::GlobalTable':
      '`pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true }` on the `dynamodb.TableV2` (and on each replica that overrides it).',
    'AWS::ElastiCache::ReplicationGroup':
      '`snapshotRetentionLimit: 7` (days) on the `elasticache.CfnReplicationGroup`; or, if it only holds derived data that refills from the database, acknowledge the finding with that reason.',
    'AWS::ElastiCache::CacheCluster':
      '`snapshotRetentionLimit: 7` (days) on the `elasticache.CfnCacheCluster`, or acknowledge it if it only holds derived data.',
    'AWS::ElastiCache::ServerlessCache':
      '`snapshotRetentionLimit: 7` (days) on the `elasticache.CfnServerlessCache`, or acknowledge it if it only holds derived data.',
    'AWS::EFS::FileSystem':
      '`enableAutomaticBackups: true` on the `efs.FileSystem` (or an AWS Backup plan that selects it).',
    'AWS::S3::Bucket':
      '`versioned: true` on the `s3.Bucket` (with a `lifecycleRules` entry expiring noncurrent versions), or an AWS Backup plan that selects it.',
  },
  resourceTypes: BACKUP_TYPES,
  check(resource, context, options) {
    if (!BACKUP_TYPES.includes(resource.type) || !ownsItsData(resource)) return NA;
    const p = resource.properties;
    const planned = awsBackupSelectionOf(resource, context);
    switch (resource.type) {
      case 'AWS::RDS::DBInstance':
      case 'AWS::RDS::DBCluster': {
        // https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_WorkingWithAutomatedBackups.html
        // (a retention of 0 turns automated backups off; CloudFormation's default is 1 day).
        const minimum = options.minimumBackupRetentionDays ?? DEFAULT_MINIMUM_BACKUP_RETENTION_DAYS;
        const retention = p.BackupRetentionPeriod === undefined ? 1 : num(p.BackupRetentionPeriod);
        if (retention === undefined)
          return fail('BackupRetentionPeriod is not a literal number, so the retention cannot be verified');
        if (retention === 0)
          return fail('automated backups are disabled (BackupRetentionPeriod 0): no point-in-time recovery');
        if (retention < minimum)
          return fail(`backups are kept ${retention} day(s); at least ${minimum} are required`);
        return OK;
      }
      case 'AWS::DynamoDB::Table': {
        // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-dynamodb-table-pointintimerecoveryspecification.html
        if (
          bool(prop(p, 'PointInTimeRecoverySpecification', 'PointInTimeRecoveryEnabled')) === true ||
          planned
        )
          return OK;
        return fail(
          'point-in-time recovery is off (PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled) and no AWS Backup plan selects the table',
        );
      }
      case 'AWS::DynamoDB::GlobalTable': {
        const replicas = list(p.Replicas);
        const off = replicas.filter(
          (r) => bool(prop(r, 'PointInTimeRecoverySpecification', 'PointInTimeRecoveryEnabled')) !== true,
        );
        if (off.length === 0 || planned) return OK;
        return fail(`point-in-time recovery is off on ${off.length} of ${replicas.length} replica(s)`);
      }
      case 'AWS::EFS::FileSystem':
        if (prop(p, 'BackupPolicy', 'Status') === 'ENABLED' || planned) return OK;
        return fail(
          'automatic backups are off (BackupPolicy.Status is not ENABLED) and no AWS Backup plan selects it',
        );
      case 'AWS::S3::Bucket': {
        if (bucketHoldsNoData(resource, context)) return NA;
        if (prop(p, 'VersioningConfiguration', 'Status') === 'Enabled' || planned) return OK;
        return fail('versioning is off: an overwrite or delete loses the object for good');
      }
      default: {
        // ElastiCache (Redis OSS / Valkey): snapshots only when SnapshotRetentionLimit > 0.
        // https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/backups-automatic.html
        if (!cacheKeepsSnapshots(resource)) return NA;
        const limit = num(p.SnapshotRetentionLimit) ?? 0;
        return limit > 0 ? OK : fail('no automatic snapshots (SnapshotRetentionLimit is 0 or absent)');
      }
    }
  },
};

const snapshotTags: ReadinessRule = {
  id: 'SnapshotTags',
  group: 'data',
  severity: 'cleanup',
  seed: SEED_BACKUPS,
  title: 'RDS databases copy their tags to snapshots',
  why: 'Snapshots without tags lose their owner, environment and cost allocation, and tag-based backup policies miss them.',
  fix: '`copyTagsToSnapshot: true` (the L2 default of `rds.DatabaseInstance` and `rds.DatabaseCluster`).',
  resourceTypes: RDS_TYPES,
  check(resource) {
    if (!RDS_TYPES.includes(resource.type) || !ownsItsData(resource)) return NA;
    return bool(resource.properties.CopyTagsToSnapshot) === true
      ? OK
      : fail('CopyTagsToSnapshot is not enabled');
  },
};

const RESTORE_TYPES = [
  ...RDS_TYPES,
  'AWS::DynamoDB::Table',
  'AWS::DynamoDB::GlobalTable',
  'AWS::EFS::FileSystem',
  'AWS::DocDB::DBCluster',
  'AWS::Neptune::DBCluster',
];

const restoreTested: ReadinessRule = {
  id: 'RestoreTested',
  group: 'data',
  severity: 'blocker',
  seed: SEED_BACKUPS,
  title: 'Every database and file system is covered by an automated restore test',
  why:
    'A backup that was never restored is a hope, not a backup. A scheduled restore test proves the backups ' +
    'restore, and measures the real recovery point and recovery time.',
  fix:
    'AWS Backup restore testing: `new backup.CfnRestoreTestingPlan(...)` with a `CfnRestoreTestingSelection` ' +
    'whose `protectedResourceType` matches (RDS, Aurora, DynamoDB, EFS) and that selects the resource, plus a ' +
    '`backup.BackupPlan` selecting it. With Shipshape: `new RestoreVerification(this, id, { database })`. With ' +
    `your own restore job: declare it, \`Tags.of(db).add('${RESTORE_VERIFIED_MARKER}', '<name of the test>')\`.`,
  equivalents: ['ProductionReadiness-RDSRestoreVerified'],
  resourceTypes: RESTORE_TYPES,
  check(resource, context) {
    if (!RESTORE_TYPES.includes(resource.type) || !ownsItsData(resource)) return NA;
    const coverage = restoreCoverage(resource, context);
    return coverage.covered ? OK : fail(coverage.reason);
  },
};

const PROTECTABLE = [
  ...RDS_TYPES,
  'AWS::DynamoDB::Table',
  'AWS::DynamoDB::GlobalTable',
  'AWS::Cognito::UserPool',
  'AWS::DocDB::DBCluster',
  'AWS::Neptune::DBCluster',
];

const deletionProtection: ReadinessRule = {
  id: 'DeletionProtection',
  group: 'data',
  severity: 'blocker',
  seed: 'Deletion protection on data',
  title: 'Production databases, tables and user pools have deletion protection',
  why: 'One mistaken `cdk destroy`, stack rename or console click must not be able to delete production data.',
  fix:
    'RDS/Aurora/DocumentDB/Neptune: `deletionProtection: true`. DynamoDB: `deletionProtection: true`. Cognito: ' +
    '`deletionProtection: true` on the `UserPool`. Production-only: see "production" in the report header.',
  equivalents: [
    'ProductionReadiness-RDSDeletionProtection',
    'AwsSolutions-RDS10',
    'NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled',
  ],
  fixByType: {
    'AWS::RDS::DBInstance': '`deletionProtection: true` on the `rds.DatabaseInstance`.',
    'AWS::RDS::DBCluster': '`deletionProtection: true` on the `rds.DatabaseCluster`.',
    'AWS::DynamoDB::Table': '`deletionProtection: true` on the `dynamodb.Table`.',
    'AWS::DynamoDB::GlobalTable': '`deletionProtection: true` on the `dynamodb.TableV2` (and every replica).',
    'AWS::Cognito::UserPool': '`deletionProtection: true` on the `cognito.UserPool`.',
  },
  resourceTypes: PROTECTABLE,
  check(resource, context) {
    if (!PROTECTABLE.includes(resource.type) || !ownsItsData(resource) || !context.production) return NA;
    const p = resource.properties;
    if (resource.type === 'AWS::Cognito::UserPool')
      return p.DeletionProtection === 'ACTIVE' ? OK : fail('DeletionProtection is not ACTIVE');
    if (resource.type === 'AWS::DynamoDB::Table')
      return bool(p.DeletionProtectionEnabled) === true ? OK : fail('DeletionProtectionEnabled is not true');
    if (resource.type === 'AWS::DynamoDB::GlobalTable') {
      const off = list(p.Replicas).filter((r) => bool(prop(r, 'DeletionProtectionEnabled')) !== true);
      return off.length === 0 ? OK : fail(`DeletionProtectionEnabled is off on ${off.length} replica(s)`);
    }
    return bool(p.DeletionProtection) === true ? OK : fail('DeletionProtection is not enabled');
  },
};

const MULTI_AZ_TYPES = [
  ...RDS_TYPES,
  'AWS::ElastiCache::ReplicationGroup',
  'AWS::ElastiCache::CacheCluster',
  'AWS::EFS::FileSystem',
];

function clusterInstances(cluster: TemplateResource, resources: Iterable<TemplateResource>): number {
  let count = 0;
  for (const r of resources) {
    if (r.type === 'AWS::RDS::DBInstance' && references(r.properties.DBClusterIdentifier, cluster.logicalId))
      count += 1;
  }
  return count;
}

const multiAz: ReadinessRule = {
  id: 'MultiAZ',
  group: 'data',
  severity: 'hardening',
  seed: 'Every error has a recovery path',
  title: 'Production datastores survive the loss of one Availability Zone',
  why:
    'A single-AZ database or cache is down for as long as its zone is, and a failed instance is replaced from ' +
    'backup (minutes to hours) instead of failing over (about a minute).',
  fix:
    'RDS: `multiAz: true`. Aurora: at least one reader (`readers: [ClusterInstance.serverlessV2(...)]`), which ' +
    'RDS places in another AZ. ElastiCache: `multiAzEnabled: true`, `automaticFailoverEnabled: true` and two or ' +
    'more nodes. EFS: a Regional file system (no `availabilityZoneName`, i.e. not One Zone).',
  equivalents: ['NIST.800.53.R5-RDSMultiAZSupport'],
  fixByType: {
    'AWS::RDS::DBInstance': '`multiAz: true` on the `rds.DatabaseInstance`.',
    'AWS::RDS::DBCluster':
      "`readers: [rds.ClusterInstance.serverlessV2('Reader', { scaleWithWriter: true })]` (or a provisioned reader) on the `rds.DatabaseCluster`.",
    'AWS::ElastiCache::ReplicationGroup':
      '`multiAzEnabled: true`, `automaticFailoverEnabled: true` and `numCacheClusters: 2` (or more) on the `elasticache.CfnReplicationGroup`.',
    'AWS::ElastiCache::CacheCluster':
      'Use an `elasticache.CfnReplicationGroup` with `multiAzEnabled: true`, `automaticFailoverEnabled: true` and two or more nodes instead of a single `CfnCacheCluster`.',
    'AWS::EFS::FileSystem':
      'Drop `oneZone: true` from the `efs.FileSystem` (a Regional file system stores data in several AZs).',
  },
  resourceTypes: MULTI_AZ_TYPES,
  check(resource, context) {
    if (!MULTI_AZ_TYPES.includes(resource.type) || !ownsItsData(resource) || !context.production) return NA;
    const p = resource.properties;
    switch (resource.type) {
      case 'AWS::RDS::DBInstance':
        // https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.MultiAZSingleStandby.html
        return bool(p.MultiAZ) === true ? OK : fail('MultiAZ is not enabled: a single instance in one zone');
      case 'AWS::RDS::DBCluster': {
        // Multi-AZ DB clusters (DBClusterInstanceClass) span three AZs by design; Aurora needs a
        // replica in another AZ to fail over to.
        // https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Concepts.AuroraHighAvailability.html
        if (p.DBClusterInstanceClass !== undefined || p.EngineMode === 'serverless') return OK;
        const instances = clusterInstances(resource, context.resources.values());
        return instances >= 2
          ? OK
          : fail(`the cluster has ${instances} instance(s) in this template: no replica to fail over to`);
      }
      case 'AWS::ElastiCache::ReplicationGroup': {
        // https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/AutoFailover.html
        const reasons: string[] = [];
        if (bool(p.MultiAZEnabled) !== true) reasons.push('MultiAZEnabled is not true');
        if (bool(p.AutomaticFailoverEnabled) !== true) reasons.push('AutomaticFailoverEnabled is not true');
        return verdict(reasons);
      }
      case 'AWS::ElastiCache::CacheCluster':
        return fail('a single cache cluster: no replica in another zone (use a replication group)');
      default:
        return p.AvailabilityZoneName === undefined
          ? OK
          : fail('a One Zone file system (AvailabilityZoneName is set)');
    }
  },
};

const KEEPING_POLICIES = new Set(['Retain', 'Snapshot', 'RetainExceptOnCreate']);

const statefulKeepsData: ReadinessRule = {
  id: 'StatefulRetain',
  group: 'data',
  severity: 'blocker',
  seed: 'Deletion protection on data',
  title:
    'Datastores keep their data when deleted or replaced (DeletionPolicy and UpdateReplacePolicy Retain or Snapshot)',
  why:
    'CloudFormation deletes a resource when it leaves the template or must be replaced; for a database, bucket, ' +
    'table or user pool that means the data is gone, with no undo.',
  fix: '`removalPolicy: RemovalPolicy.RETAIN` (or `RemovalPolicy.SNAPSHOT` on databases and caches) on the construct.',
  resourceTypes: STATEFUL_RESOURCE_TYPES,
  check(resource, context) {
    if (!STATEFUL_RESOURCE_TYPES.includes(resource.type)) return NA;
    if (resource.type === 'AWS::RDS::DBInstance' && resource.properties.DBClusterIdentifier !== undefined)
      return NA;
    if (
      resource.type === 'AWS::S3::Bucket' &&
      bucketHoldsNoData(resource, context)?.includes('BucketDeployment')
    )
      return NA;
    const reasons: string[] = [];
    if (!KEEPING_POLICIES.has(resource.deletionPolicy ?? 'Delete'))
      reasons.push(`DeletionPolicy is ${resource.deletionPolicy ?? 'Delete (the default)'}`);
    if (!KEEPING_POLICIES.has(resource.updateReplacePolicy ?? 'Delete'))
      reasons.push(`UpdateReplacePolicy is ${resource.updateReplacePolicy ?? 'Delete (the default)'}`);
    if (reasons.length > 0 && resource.type === 'AWS::S3::Bucket' && autoDeletesObjects(resource, context)) {
      // CDK rejects RETAIN together with autoDeleteObjects, so "set RETAIN" alone would break synth.
      reasons.push('`autoDeleteObjects` empties it when the stack deletes it');
      return verdict(
        reasons,
        'Remove `autoDeleteObjects: true` (CDK only allows it with `RemovalPolicy.DESTROY`) and set ' +
          '`removalPolicy: RemovalPolicy.RETAIN`. If the bucket only holds files rebuilt from source, fill it with ' +
          '`s3deploy.BucketDeployment` (the audit then treats it as holding no data) or acknowledge the finding with that reason.',
      );
    }
    return verdict(reasons);
  },
};

/** The data rules, in report order. */
export const DATA_RULES: readonly ReadinessRule[] = [
  backups,
  restoreTested,
  statefulKeepsData,
  deletionProtection,
  multiAz,
  snapshotTags,
];
