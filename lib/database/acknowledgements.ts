// Policy acknowledgements of Database (cdk-nag AwsSolutions, NIST 800-53 R5 and the Control
// Tower guard rules): each finding is acknowledged on the resource it concerns, with its reason.
import { Validations } from 'aws-cdk-lib';
import { guardRuleId } from '../policy/readiness-rules';
import type { Database } from './database';

/** Acknowledges every finding the database's own resources raise. */
export function acknowledgeDatabaseFindings(
  db: Database,
  multiAz: boolean,
  deletionProtection: boolean,
  logRetentionDays: number,
): void {
  const instance = Validations.of(db.instance);
  const defaultPort =
    'PostgreSQL keeps its default port 5432: the instance sits in isolated subnets and its security group admits only the proxy and the rotation function; the proxy listens on 5432 regardless.';
  instance.acknowledge({ id: 'AwsSolutions-RDS11', reason: defaultPort });
  instance.acknowledge({ id: guardRuleId('rds_instance_no_default_ports_check'), reason: defaultPort });
  if (logRetentionDays < 365) {
    for (const logGroup of Object.values(db.logGroups)) {
      Validations.of(logGroup).acknowledge({
        id: guardRuleId('cloudwatch_log_group_retention_period_check'),
        reason: `PostgreSQL logs are kept ${logRetentionDays} days by configuration in this (non-production) environment; production keeps them a year.`,
      });
    }
  }
  Validations.of(db).acknowledge({
    id: 'NIST.800.53.R5-IAMNoInlinePolicy',
    reason:
      "CDK writes the proxy role's and rotation's least-privilege statements (this database's secret and key only) into each role's own DefaultPolicy; a managed policy would be shareable across roles, which least privilege avoids.",
  });
  instance.acknowledge({
    id: 'NIST.800.53.R5-RDSInBackupPlan',
    reason:
      'Backed up by RDS automated backups with point-in-time recovery (retention from config, at least 7 days) and proven daily by RestoreVerification; an AWS Backup plan would duplicate the same in-region copies.',
  });
  Validations.of(db.securityGroup).acknowledge({
    id: 'NIST.800.53.R5-EC2RestrictedSSH',
    reason:
      "The ingress port is the instance's Endpoint.Port token (PostgreSQL, 5432), not SSH, and its source is the proxy's or the rotation function's security group, never a CIDR; the rule cannot resolve the token.",
  });
  Validations.of(db.securityGroup).acknowledge({
    id: 'NIST.800.53.R5-EC2RestrictedCommonPorts',
    reason:
      "The ingress port is the instance's Endpoint.Port token (PostgreSQL, 5432) and its source is the proxy's or the rotation function's security group, never a CIDR; the rule cannot resolve the token.",
  });
  if (!multiAz) {
    const singleAz =
      'Multi-AZ is off by configuration in this (non-production) environment; production config is validated to turn it on.';
    instance.acknowledge({ id: 'NIST.800.53.R5-RDSMultiAZSupport', reason: singleAz });
    instance.acknowledge({ id: guardRuleId('rds_instance_multi_az_support_check'), reason: singleAz });
    instance.acknowledge({
      id: 'AwsSolutions-RDS3',
      reason:
        'Multi-AZ is off by configuration in this (non-production) environment; production config is validated to turn it on.',
    });
  }
  if (!deletionProtection) {
    const unprotected =
      'Deletion protection is off by configuration in this (non-production) environment so it can be torn down; production config is validated to turn it on, and deletion still leaves a final snapshot.';
    instance.acknowledge({
      id: 'NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled',
      reason: unprotected,
    });
    instance.acknowledge({
      id: guardRuleId('rds_instance_deletion_protection_enabled_check'),
      reason: unprotected,
    });
    instance.acknowledge({
      id: 'AwsSolutions-RDS10',
      reason:
        'Deletion protection is off by configuration in this (non-production) environment so it can be torn down; production config is validated to turn it on, and deletion still leaves a final snapshot.',
    });
  }
  const monitoringRole = db.instance.node.tryFindChild('MonitoringRole');
  if (monitoringRole) {
    Validations.of(monitoringRole).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]',
      reason:
        'Enhanced Monitoring role: the AWS managed policy only lets RDS write OS metrics to the RDSOSMetrics log group; AWS maintains it for the service.',
    });
  }
}
