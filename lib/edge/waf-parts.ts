/**
 * Pieces shared by the web ACLs of {@link EdgeFirewall} (CloudFront) and
 * {@link SignInFirewall} (Cognito): rule statements, visibility, and logging to CloudWatch Logs.
 */
import { ArnFormat, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import type { Construct } from 'constructs';
import { guardRuleId } from '../policy/readiness-rules';

/** Smallest limit WAF accepts in a rate-based rule. */
export const MIN_RATE_LIMIT = 10;
/** Largest limit WAF accepts in a rate-based rule. */
export const MAX_RATE_LIMIT = 2_000_000_000;

/** Throws unless every named limit is an integer WAF accepts in a rate-based rule. */
export function validateRateLimits(construct: Construct, name: string, limits: Record<string, number>): void {
  for (const [prop, value] of Object.entries(limits)) {
    if (
      !Token.isUnresolved(value) &&
      (!Number.isInteger(value) || value < MIN_RATE_LIMIT || value > MAX_RATE_LIMIT)
    ) {
      throw new Error(
        `${name} '${construct.node.path}': ${prop} must be an integer between ${MIN_RATE_LIMIT} and ${MAX_RATE_LIMIT} (WAF rate-based rule limits), got ${value}`,
      );
    }
  }
}

/** An AWS managed rule group, its own rule actions unless `countInstead` names rules to only count. */
export function managedRule(
  name: string,
  priority: number,
  aclMetric: string,
  countInstead: readonly string[] = [],
): wafv2.CfnWebACL.RuleProperty {
  return {
    name,
    priority,
    overrideAction: { none: {} },
    statement: {
      managedRuleGroupStatement: {
        vendorName: 'AWS',
        name,
        ruleActionOverrides:
          countInstead.length > 0
            ? countInstead.map((rule) => ({ name: rule, actionToUse: { count: {} } }))
            : undefined,
      },
    },
    visibilityConfig: visibility(`${aclMetric}-${name}`),
  };
}

/** A per-IP rate-based blocking rule over 5 minutes, optionally counting only what `scopeDown` matches. */
export function perIpRateRule(
  name: string,
  priority: number,
  limit: number,
  aclMetric: string,
  scopeDown?: wafv2.CfnWebACL.StatementProperty,
): wafv2.CfnWebACL.RuleProperty {
  return {
    name,
    priority,
    action: { block: {} },
    statement: {
      rateBasedStatement: {
        limit,
        aggregateKeyType: 'IP',
        evaluationWindowSec: 300,
        ...(scopeDown ? { scopeDownStatement: scopeDown } : {}),
      },
    },
    visibilityConfig: visibility(`${aclMetric}-${name}`),
  };
}

/**
 * A byte match on one request component. Transformations apply in order before matching
 * (https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-transformation.html).
 */
export function byteMatch(
  fieldToMatch: wafv2.CfnWebACL.FieldToMatchProperty,
  searchString: string,
  positionalConstraint: 'EXACTLY' | 'STARTS_WITH',
  transformations: ReadonlyArray<'NONE' | 'LOWERCASE' | 'NORMALIZE_PATH'>,
): wafv2.CfnWebACL.StatementProperty {
  return {
    byteMatchStatement: {
      fieldToMatch,
      searchString,
      positionalConstraint,
      textTransformations: transformations.map((type, priority) => ({ priority, type })),
    },
  };
}

/** OR of the statements; a single statement stands alone (WAF wants at least two in an OR). */
export function anyOf(statements: wafv2.CfnWebACL.StatementProperty[]): wafv2.CfnWebACL.StatementProperty {
  return statements.length === 1 ? statements[0] : { orStatement: { statements } };
}

/** CloudWatch metrics and sampled requests on. */
export function visibility(metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty {
  return { cloudWatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName };
}

/** WAF metric names allow letters, digits, '-' and '_' (up to 128 characters). */
export function metricNameOf(raw: string): string {
  return raw.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 80);
}

/** Where and how long a web ACL's logs are kept. */
export interface WafLoggingOptions {
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** Headers replaced by `REDACTED` in the log (lower case). */
  readonly redactedHeaders: readonly string[];
}

/**
 * Sends every request the ACL evaluated to a log group named `aws-waf-logs-<acl name>` (WAF
 * only delivers to log groups with that prefix:
 * https://docs.aws.amazon.com/waf/latest/developerguide/logging-cw-logs.html), with the given
 * headers redacted, and acknowledges the log group's policy findings with their reasons.
 */
export function logWebAcl(
  scope: Construct,
  webAcl: wafv2.CfnWebACL,
  webAclName: string,
  options: WafLoggingOptions,
): logs.LogGroup {
  const stack = Stack.of(scope);
  const logGroup = new logs.LogGroup(scope, 'Logs', {
    logGroupName: `aws-waf-logs-${webAclName}`,
    retention: options.logRetention,
    removalPolicy: options.removalPolicy,
  });
  new wafv2.CfnLoggingConfiguration(scope, 'Logging', {
    resourceArn: webAcl.attrArn,
    // WAF wants the log group ARN without the ':*' suffix of LogGroup.logGroupArn.
    logDestinationConfigs: [
      stack.formatArn({
        service: 'logs',
        resource: 'log-group',
        resourceName: logGroup.logGroupName,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    ],
    redactedFields: options.redactedHeaders.map((name) => ({ singleHeader: { Name: name } })),
  });

  const reason = `WAF request logs with the ${options.redactedHeaders.join(', ')} header(s) redacted, encrypted at rest by CloudWatch Logs with service keys.`;
  Validations.of(logGroup).acknowledge({ id: 'NIST.800.53.R5-CloudWatchLogGroupEncrypted', reason });
  Validations.of(logGroup).acknowledge({ id: guardRuleId('cloudwatch_log_group_encrypted_check'), reason });
  if (options.logRetention < 365) {
    Validations.of(logGroup).acknowledge({
      id: guardRuleId('cloudwatch_log_group_retention_period_check'),
      reason: `Kept ${options.logRetention} days by configuration in this (non-production) environment; production keeps a year.`,
    });
  }
  return logGroup;
}
