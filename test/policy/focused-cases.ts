/**
 * Focused cases for the rule edges the fixture apps do not reach: hand-written template
 * resources, each with the verdict AWS behaviour calls for. Run by rules.test.ts; the rule ids
 * here count as covered in production-readiness-checks.test.ts.
 */
import type { JsonObject } from '../../lib/policy/readiness-rules';

export interface FocusedCase {
  readonly rule: string;
  readonly name: string;
  /** Resources of the template; the first is the one checked. */
  readonly resources: Record<string, JsonObject>;
  readonly production?: boolean;
  readonly expected: 'compliant' | 'non-compliant' | 'not-applicable';
  /** Text the reasons (or, with `fix:`, the fix) must contain. */
  readonly mentions?: string;
}

const tg = { TargetGroupARNs: [{ Ref: 'Tg' }], MaxSize: '2', MinSize: '1' };
const alarmed = {
  AlarmConfiguration: { Enabled: true, Alarms: [{ Name: 'errors' }] },
  AutoRollbackConfiguration: { Enabled: true, Events: ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_ALARM'] },
};
const acl = {
  Type: 'AWS::WAFv2::WebACL',
  Properties: { Scope: 'REGIONAL', Rules: [{ Statement: { RateBasedStatement: { Limit: 100 } } }] },
};

export const CASES: readonly FocusedCase[] = [
  {
    rule: 'AutoScalingRollback',
    name: 'an ASG behind a target group with no update policy',
    expected: 'non-compliant',
    resources: { Asg: { Type: 'AWS::AutoScaling::AutoScalingGroup', Properties: tg } },
  },
  {
    rule: 'AutoScalingRollback',
    name: 'an ASG whose rolling updates wait for signals',
    expected: 'compliant',
    resources: {
      Asg: {
        Type: 'AWS::AutoScaling::AutoScalingGroup',
        Properties: tg,
        UpdatePolicy: { AutoScalingRollingUpdate: { WaitOnResourceSignals: true } },
      },
    },
  },
  {
    rule: 'AutoScalingRollback',
    name: 'an ASG deployed by CodeDeploy with alarm rollback',
    expected: 'compliant',
    resources: {
      Asg: { Type: 'AWS::AutoScaling::AutoScalingGroup', Properties: tg },
      Dg: {
        Type: 'AWS::CodeDeploy::DeploymentGroup',
        Properties: { AutoScalingGroups: [{ Ref: 'Asg' }], ...alarmed },
      },
    },
  },
  {
    rule: 'AutoScalingRollback',
    name: 'a worker ASG that serves no traffic',
    expected: 'not-applicable',
    resources: {
      Asg: { Type: 'AWS::AutoScaling::AutoScalingGroup', Properties: { MaxSize: '1', MinSize: '1' } },
    },
  },
  {
    rule: 'ECSDeploymentRollback',
    name: 'a circuit breaker that stops but does not roll back',
    expected: 'non-compliant',
    mentions: 'does not roll it back',
    resources: {
      Svc: {
        Type: 'AWS::ECS::Service',
        Properties: {
          LoadBalancers: [{ ContainerName: 'web' }],
          DeploymentConfiguration: { DeploymentCircuitBreaker: { Enable: true, Rollback: false } },
        },
      },
    },
  },
  {
    rule: 'ECSDeploymentRollback',
    name: 'ECS native blue/green',
    expected: 'compliant',
    resources: {
      Svc: {
        Type: 'AWS::ECS::Service',
        Properties: {
          LoadBalancers: [{ ContainerName: 'web' }],
          DeploymentConfiguration: { Strategy: 'BLUE_GREEN' },
        },
      },
    },
  },
  {
    rule: 'ECSDeploymentRollback',
    name: 'CodeDeploy blue/green whose group watches no alarms',
    expected: 'non-compliant',
    mentions: 'watches no alarms',
    resources: {
      Svc: {
        Type: 'AWS::ECS::Service',
        Properties: {
          LoadBalancers: [{ ContainerName: 'web' }],
          DeploymentController: { Type: 'CODE_DEPLOY' },
        },
      },
      Dg: {
        Type: 'AWS::CodeDeploy::DeploymentGroup',
        Properties: { ECSServices: [{ ServiceName: { 'Fn::GetAtt': ['Svc', 'Name'] } }] },
      },
    },
  },
  {
    rule: 'ECSDeploymentRollback',
    name: 'a queue worker without a load balancer',
    expected: 'not-applicable',
    resources: { Svc: { Type: 'AWS::ECS::Service', Properties: {} } },
  },
  {
    rule: 'RegionalWAF',
    name: 'a Cognito user pool without a web ACL',
    expected: 'non-compliant',
    resources: { Pool: { Type: 'AWS::Cognito::UserPool', Properties: {} } },
  },
  {
    rule: 'RegionalWAF',
    name: 'an AppSync API with a rate-limited web ACL',
    expected: 'compliant',
    resources: {
      Gql: { Type: 'AWS::AppSync::GraphQLApi', Properties: {} },
      Acl: acl,
      Assoc: {
        Type: 'AWS::WAFv2::WebACLAssociation',
        Properties: {
          ResourceArn: { 'Fn::GetAtt': ['Gql', 'Arn'] },
          WebACLArn: { 'Fn::GetAtt': ['Acl', 'Arn'] },
        },
      },
    },
  },
  {
    rule: 'RegionalWAF',
    name: 'an internal ALB',
    expected: 'not-applicable',
    resources: {
      Lb: { Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer', Properties: { Scheme: 'internal' } },
    },
  },
  {
    rule: 'RegionalWAF',
    name: 'a private REST API stage',
    expected: 'not-applicable',
    resources: {
      Stage: { Type: 'AWS::ApiGateway::Stage', Properties: { RestApiId: { Ref: 'Api' } } },
      Api: {
        Type: 'AWS::ApiGateway::RestApi',
        Properties: { EndpointConfiguration: { Types: ['PRIVATE'] } },
      },
    },
  },
  {
    rule: 'RouteAuthorization',
    name: 'an HTTP API health check',
    expected: 'compliant',
    resources: {
      R: {
        Type: 'AWS::ApiGatewayV2::Route',
        Properties: { RouteKey: 'GET /health', AuthorizationType: 'NONE' },
      },
    },
  },
  {
    rule: 'RouteAuthorization',
    name: 'an HTTP API write route without an authoriser',
    expected: 'non-compliant',
    mentions: 'POST /notes',
    resources: { R: { Type: 'AWS::ApiGatewayV2::Route', Properties: { RouteKey: 'POST /notes' } } },
  },
  {
    rule: 'RouteAuthorization',
    name: 'a sign-in route declared public',
    expected: 'compliant',
    resources: {
      R: {
        Type: 'AWS::ApiGatewayV2::Route',
        Properties: { RouteKey: 'POST /sign-in', AuthorizationType: 'NONE' },
        Metadata: { 'shipshape:public-route': 'sign-in takes credentials' },
      },
    },
  },
  {
    rule: 'RouteAuthorization',
    name: 'a WebSocket message route (authorised at $connect)',
    expected: 'not-applicable',
    resources: {
      R: { Type: 'AWS::ApiGatewayV2::Route', Properties: { ApiId: { Ref: 'Ws' }, RouteKey: 'sendMessage' } },
      Ws: { Type: 'AWS::ApiGatewayV2::Api', Properties: { ProtocolType: 'WEBSOCKET' } },
    },
  },
  {
    rule: 'RouteAuthorization',
    name: 'a REST CORS preflight',
    expected: 'not-applicable',
    resources: {
      M: {
        Type: 'AWS::ApiGateway::Method',
        Properties: { HttpMethod: 'OPTIONS', AuthorizationType: 'NONE' },
      },
    },
  },
  {
    rule: 'Backups',
    name: 'a table without PITR that an AWS Backup plan selects by tag',
    expected: 'compliant',
    resources: {
      T: { Type: 'AWS::DynamoDB::Table', Properties: { Tags: [{ Key: 'backup', Value: 'daily' }] } },
      Sel: {
        Type: 'AWS::Backup::BackupSelection',
        Properties: {
          BackupSelection: {
            ListOfTags: [{ ConditionType: 'STRINGEQUALS', ConditionKey: 'backup', ConditionValue: 'daily' }],
          },
        },
      },
    },
  },
  {
    rule: 'Backups',
    name: 'a memcached cluster (keeps no snapshots by design)',
    expected: 'not-applicable',
    resources: { C: { Type: 'AWS::ElastiCache::CacheCluster', Properties: { Engine: 'memcached' } } },
  },
  {
    rule: 'Backups',
    name: 'a Valkey replication group without snapshots',
    expected: 'non-compliant',
    resources: { C: { Type: 'AWS::ElastiCache::ReplicationGroup', Properties: { Engine: 'valkey' } } },
  },
  {
    rule: 'Backups',
    name: 'an EFS file system with automatic backups',
    expected: 'compliant',
    resources: { F: { Type: 'AWS::EFS::FileSystem', Properties: { BackupPolicy: { Status: 'ENABLED' } } } },
  },
  {
    rule: 'Backups',
    name: 'an access-log bucket',
    expected: 'not-applicable',
    resources: {
      Logs: { Type: 'AWS::S3::Bucket', Properties: {} },
      Data: {
        Type: 'AWS::S3::Bucket',
        Properties: { LoggingConfiguration: { DestinationBucketName: { Ref: 'Logs' } } },
      },
    },
  },
  {
    rule: 'RestoreTested',
    name: 'restore testing of a database no backup plan backs up',
    expected: 'non-compliant',
    mentions: 'no AWS Backup selection backs it up',
    resources: {
      Db: { Type: 'AWS::RDS::DBInstance', Properties: {} },
      Rt: {
        Type: 'AWS::Backup::RestoreTestingSelection',
        Properties: { ProtectedResourceType: 'RDS', ProtectedResourceArns: ['*'] },
      },
    },
  },
  {
    rule: 'RestoreTested',
    name: 'restore testing of another resource type',
    expected: 'non-compliant',
    resources: {
      Db: { Type: 'AWS::RDS::DBInstance', Properties: {} },
      Rt: {
        Type: 'AWS::Backup::RestoreTestingSelection',
        Properties: { ProtectedResourceType: 'DynamoDB', ProtectedResourceArns: ['*'] },
      },
      Sel: { Type: 'AWS::Backup::BackupSelection', Properties: { BackupSelection: { Resources: ['*'] } } },
    },
  },
  {
    rule: 'RestoreTested',
    name: 'restore testing that excludes the database by tag',
    expected: 'non-compliant',
    resources: {
      Db: { Type: 'AWS::RDS::DBInstance', Properties: { Tags: [{ Key: 'tier', Value: 'scratch' }] } },
      Rt: {
        Type: 'AWS::Backup::RestoreTestingSelection',
        Properties: {
          ProtectedResourceType: 'RDS',
          ProtectedResourceArns: ['*'],
          ProtectedResourceConditions: {
            StringNotEquals: [{ Key: 'aws:ResourceTag/tier', Value: 'scratch' }],
          },
        },
      },
      Sel: { Type: 'AWS::Backup::BackupSelection', Properties: { BackupSelection: { Resources: ['*'] } } },
    },
  },
  {
    rule: 'StatefulRetain',
    name: 'a data bucket with autoDeleteObjects (fix: drop it, then RETAIN)',
    expected: 'non-compliant',
    mentions: 'fix:Remove `autoDeleteObjects: true`',
    resources: {
      B: { Type: 'AWS::S3::Bucket', Properties: {} },
      Auto: { Type: 'Custom::S3AutoDeleteObjects', Properties: { BucketName: { Ref: 'B' } } },
    },
  },
  {
    rule: 'StatefulRetain',
    name: 'a bucket filled by a BucketDeployment',
    expected: 'not-applicable',
    resources: {
      B: { Type: 'AWS::S3::Bucket', Properties: {} },
      D: { Type: 'Custom::CDKBucketDeployment', Properties: { DestinationBucketName: { Ref: 'B' } } },
    },
  },
  {
    rule: 'ModernTls',
    name: 'an HTTPS listener on ELBSecurityPolicy-2016-08',
    expected: 'non-compliant',
    resources: {
      L: {
        Type: 'AWS::ElasticLoadBalancingV2::Listener',
        Properties: { Protocol: 'HTTPS', SslPolicy: 'ELBSecurityPolicy-2016-08' },
      },
    },
  },
  {
    rule: 'ModernTls',
    name: 'an HTTPS listener without an explicit policy',
    expected: 'non-compliant',
    mentions: 'not set',
    resources: { L: { Type: 'AWS::ElasticLoadBalancingV2::Listener', Properties: { Protocol: 'HTTPS' } } },
  },
  {
    rule: 'ModernTls',
    name: 'an HTTPS listener on ELBSecurityPolicy-TLS13-1-2-2021-06',
    expected: 'compliant',
    resources: {
      L: {
        Type: 'AWS::ElasticLoadBalancingV2::Listener',
        Properties: { Protocol: 'HTTPS', SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06' },
      },
    },
  },
  {
    rule: 'ModernTls',
    name: 'CloudFront on the default certificate (policy fixed by CloudFront)',
    expected: 'not-applicable',
    resources: { D: { Type: 'AWS::CloudFront::Distribution', Properties: { DistributionConfig: {} } } },
  },
  {
    rule: 'ModernTls',
    name: 'an HTTP API domain on TLS 1.0',
    expected: 'non-compliant',
    resources: {
      D: {
        Type: 'AWS::ApiGatewayV2::DomainName',
        Properties: { DomainNameConfigurations: [{ SecurityPolicy: 'TLS_1_0' }] },
      },
    },
  },
  {
    rule: 'HttpsOnly',
    name: 'an HTTP listener on an internal ALB',
    expected: 'not-applicable',
    resources: {
      L: {
        Type: 'AWS::ElasticLoadBalancingV2::Listener',
        Properties: { Protocol: 'HTTP', LoadBalancerArn: { Ref: 'Lb' } },
      },
      Lb: { Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer', Properties: { Scheme: 'internal' } },
    },
  },
  {
    rule: 'HttpsOnly',
    name: 'an HTTP listener that redirects to HTTPS',
    expected: 'compliant',
    resources: {
      L: {
        Type: 'AWS::ElasticLoadBalancingV2::Listener',
        Properties: {
          Protocol: 'HTTP',
          DefaultActions: [{ Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS' } }],
        },
      },
    },
  },
  {
    rule: 'MultiAZ',
    name: 'a Multi-AZ DB cluster (three AZs by design)',
    production: true,
    expected: 'compliant',
    resources: {
      C: { Type: 'AWS::RDS::DBCluster', Properties: { DBClusterInstanceClass: 'db.m6gd.large' } },
    },
  },
  {
    rule: 'MultiAZ',
    name: 'a replication group without automatic failover',
    production: true,
    expected: 'non-compliant',
    mentions: 'AutomaticFailoverEnabled',
    resources: { C: { Type: 'AWS::ElastiCache::ReplicationGroup', Properties: { MultiAZEnabled: true } } },
  },
  {
    rule: 'MultiAZ',
    name: 'a single-AZ database outside production',
    production: false,
    expected: 'not-applicable',
    resources: { Db: { Type: 'AWS::RDS::DBInstance', Properties: {} } },
  },
  {
    rule: 'SecretRotation',
    name: 'a database secret rotated through its target attachment',
    expected: 'compliant',
    resources: {
      S: { Type: 'AWS::SecretsManager::Secret', Properties: {} },
      A: { Type: 'AWS::SecretsManager::SecretTargetAttachment', Properties: { SecretId: { Ref: 'S' } } },
      R: { Type: 'AWS::SecretsManager::RotationSchedule', Properties: { SecretId: { Ref: 'A' } } },
    },
  },
  {
    rule: 'LambdaLogRetention',
    name: 'a CDK framework provider function',
    expected: 'not-applicable',
    resources: {
      CustomS3AutoDeleteObjectsCustomResourceProviderHandler9D90184F: {
        Type: 'AWS::Lambda::Function',
        Properties: {},
      },
    },
  },
  {
    rule: 'EntryPointTargetsAlias',
    name: 'an ALB target group invoking a function directly',
    expected: 'non-compliant',
    resources: {
      Tg: {
        Type: 'AWS::ElasticLoadBalancingV2::TargetGroup',
        Properties: { TargetType: 'lambda', Targets: [{ Id: { 'Fn::GetAtt': ['Fn', 'Arn'] } }] },
      },
      Fn: { Type: 'AWS::Lambda::Function', Properties: {} },
    },
  },
  {
    rule: 'PlaintextSecrets',
    name: 'a plain SSM parameter holding a connection string with a password',
    expected: 'non-compliant',
    mentions: 'embedded password',
    resources: {
      P: {
        Type: 'AWS::SSM::Parameter',
        Properties: { Type: 'String', Name: '/app/database_url', Value: 'mysql://app:hunter22@db:3306/app' },
      },
    },
  },
];

/** Rule ids the focused cases exercise with a non-compliant case. */
export const FOCUSED_CASES: readonly string[] = [
  ...new Set(CASES.filter((c) => c.expected === 'non-compliant').map((c) => c.rule)),
];
