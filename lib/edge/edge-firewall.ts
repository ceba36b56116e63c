import { ArnFormat, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';

/** HTTP methods the stricter per-IP rate limit counts. */
export const WRITE_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** Path prefixes the stricter per-IP rate limit counts (sign-in and token endpoints). */
export const AUTH_PATH_PREFIXES = ['/auth', '/login', '/oauth2'] as const;

/** AWS managed rule groups evaluated first, in this order. */
export const MANAGED_RULE_GROUPS = [
  'AWSManagedRulesCommonRuleSet',
  'AWSManagedRulesKnownBadInputsRuleSet',
  'AWSManagedRulesSQLiRuleSet',
  'AWSManagedRulesAmazonIpReputationList',
] as const;

/** Smallest limit WAF accepts in a rate-based rule. */
const MIN_RATE_LIMIT = 10;
const MAX_RATE_LIMIT = 2_000_000_000;

/** Props of {@link EdgeFirewall}. */
export interface EdgeFirewallProps {
  /**
   * Requests one IP address may send in any 5 minutes, to any path, before it is blocked.
   * @default 2000
   */
  readonly perIpRequestsPer5Min?: number;

  /**
   * Requests one IP address may send in any 5 minutes with a write method (POST, PUT, PATCH,
   * DELETE) or to an auth path (`/auth`, `/login`, `/oauth2`) before it is blocked. Must not
   * exceed `perIpRequestsPer5Min`.
   * @default 300
   */
  readonly perIpWriteRequestsPer5Min?: number;

  /**
   * How long WAF logs are kept.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * What happens to the WAF log group when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A WAFv2 web ACL for CloudFront (scope `CLOUDFRONT`, so its stack must be in us-east-1): AWS
 * managed rule groups for common exploits, known bad inputs, SQL injection and IP reputation,
 * then a per-IP rate limit on all traffic and a stricter one on writes and auth paths. Every
 * rule and the ACL publish CloudWatch metrics and sampled requests; full logs go to a
 * CloudWatch log group `aws-waf-logs-*` with the `authorization` header redacted.
 *
 * Most users never create this directly: {@link Edge} creates it in a us-east-1 stack of its own.
 */
export class EdgeFirewall extends Construct {
  /** The web ACL. */
  public readonly webAcl: wafv2.CfnWebACL;
  /** ARN of the web ACL, for `Distribution.webAclId`. */
  public readonly webAclArn: string;
  /** Name of the web ACL: also its metric name, the `WebACL` dimension of its `AWS/WAFV2` metrics. */
  public readonly webAclName: string;
  /** Metric name of the ACL; each rule's metric is `<metricName>-<rule name>`. */
  public readonly metricName: string;
  /** Log group receiving every request WAF evaluated. */
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: EdgeFirewallProps = {}) {
    super(scope, id);

    const stack = Stack.of(this);
    if (!Token.isUnresolved(stack.region) && stack.region !== 'us-east-1') {
      throw new Error(
        `EdgeFirewall '${this.node.path}': a CloudFront web ACL must be created in us-east-1, but this stack is in ${stack.region}. Create it in a us-east-1 stack (Edge does this for you).`,
      );
    }
    const perIp = props.perIpRequestsPer5Min ?? 2000;
    const perIpWrite = props.perIpWriteRequestsPer5Min ?? 300;
    for (const [name, value] of [
      ['perIpRequestsPer5Min', perIp],
      ['perIpWriteRequestsPer5Min', perIpWrite],
    ] as const) {
      if (
        !Token.isUnresolved(value) &&
        (!Number.isInteger(value) || value < MIN_RATE_LIMIT || value > MAX_RATE_LIMIT)
      ) {
        throw new Error(
          `EdgeFirewall '${this.node.path}': ${name} must be an integer between ${MIN_RATE_LIMIT} and ${MAX_RATE_LIMIT} (WAF rate-based rule limits), got ${value}`,
        );
      }
    }
    if (!Token.isUnresolved(perIp) && !Token.isUnresolved(perIpWrite) && perIpWrite > perIp) {
      throw new Error(
        `EdgeFirewall '${this.node.path}': perIpWriteRequestsPer5Min (${perIpWrite}) must not exceed perIpRequestsPer5Min (${perIp}); the write/auth limit is the stricter one`,
      );
    }

    this.webAclName = metricNameOf(`${stack.stackName}-${id}`);
    this.metricName = this.webAclName;
    const rules: wafv2.CfnWebACL.RuleProperty[] = [
      ...MANAGED_RULE_GROUPS.map((name, priority) => managedRule(name, priority, this.metricName)),
      {
        name: 'PerIpRateLimit',
        priority: MANAGED_RULE_GROUPS.length,
        action: { block: {} },
        statement: { rateBasedStatement: { limit: perIp, aggregateKeyType: 'IP', evaluationWindowSec: 300 } },
        visibilityConfig: visibility(`${this.metricName}-PerIpRateLimit`),
      },
      {
        name: 'PerIpWriteAndAuthRateLimit',
        priority: MANAGED_RULE_GROUPS.length + 1,
        action: { block: {} },
        statement: {
          rateBasedStatement: {
            limit: perIpWrite,
            aggregateKeyType: 'IP',
            evaluationWindowSec: 300,
            scopeDownStatement: {
              orStatement: {
                statements: [
                  ...WRITE_METHODS.map((method) => byteMatch({ method: {} }, method, 'EXACTLY', 'NONE')),
                  ...AUTH_PATH_PREFIXES.map((prefix) =>
                    byteMatch({ uriPath: {} }, prefix, 'STARTS_WITH', 'LOWERCASE'),
                  ),
                ],
              },
            },
          },
        },
        visibilityConfig: visibility(`${this.metricName}-PerIpWriteAndAuthRateLimit`),
      },
    ];

    this.webAcl = new wafv2.CfnWebACL(this, 'Resource', {
      // A fixed name, so metrics and runbook commands can name the ACL without looking it up.
      name: this.webAclName,
      scope: 'CLOUDFRONT',
      defaultAction: { allow: {} },
      description: 'Front door of the API: managed rule groups and per-IP rate limits',
      rules,
      visibilityConfig: visibility(this.metricName),
    });
    this.webAclArn = this.webAcl.attrArn;

    // WAF only delivers to log groups whose name starts with aws-waf-logs-.
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `aws-waf-logs-${this.webAclName}`,
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    new wafv2.CfnLoggingConfiguration(this, 'Logging', {
      resourceArn: this.webAcl.attrArn,
      // WAF wants the log group ARN without the ':*' suffix of LogGroup.logGroupArn.
      logDestinationConfigs: [
        stack.formatArn({
          service: 'logs',
          resource: 'log-group',
          resourceName: this.logGroup.logGroupName,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
      redactedFields: [{ singleHeader: { Name: 'authorization' } }],
    });
  }
}

function managedRule(name: string, priority: number, aclMetric: string): wafv2.CfnWebACL.RuleProperty {
  return {
    name,
    priority,
    overrideAction: { none: {} },
    statement: {
      managedRuleGroupStatement: {
        vendorName: 'AWS',
        name,
        // The common rule set blocks bodies over 8 KB; a note may hold 10,000 characters (up to
        // 40 KB of UTF-8), which the service validates itself. Count instead of block, so the
        // metric still shows how often it happens.
        ruleActionOverrides:
          name === 'AWSManagedRulesCommonRuleSet'
            ? [{ name: 'SizeRestrictions_BODY', actionToUse: { count: {} } }]
            : undefined,
      },
    },
    visibilityConfig: visibility(`${aclMetric}-${name}`),
  };
}

function byteMatch(
  fieldToMatch: wafv2.CfnWebACL.FieldToMatchProperty,
  searchString: string,
  positionalConstraint: 'EXACTLY' | 'STARTS_WITH',
  transformation: 'NONE' | 'LOWERCASE',
): wafv2.CfnWebACL.StatementProperty {
  return {
    byteMatchStatement: {
      fieldToMatch,
      searchString,
      positionalConstraint,
      textTransformations: [{ priority: 0, type: transformation }],
    },
  };
}

function visibility(metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty {
  return { cloudWatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName };
}

/** WAF metric names allow letters, digits, '-' and '_' (up to 128 characters). */
function metricNameOf(raw: string): string {
  return raw.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 80);
}
