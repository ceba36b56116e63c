import { RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import {
  anyOf,
  byteMatch,
  logWebAcl,
  managedRule,
  metricNameOf,
  perIpRateRule,
  validateRateLimits,
  visibility,
} from './waf-parts';

/** HTTP methods the stricter per-IP rate limit counts. */
export const WRITE_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** AWS managed rule groups evaluated first, in this order. */
export const MANAGED_RULE_GROUPS = [
  'AWSManagedRulesCommonRuleSet',
  'AWSManagedRulesKnownBadInputsRuleSet',
  'AWSManagedRulesSQLiRuleSet',
  'AWSManagedRulesAmazonIpReputationList',
] as const;

/** A path prefix WAF can match: starts with '/', lower case, no wildcards, query or fragment. */
const PATH_PREFIX = /^\/[a-z0-9\-._~%!$&'()+,;=:@/]*$/;

/** Props of {@link EdgeFirewall}. */
export interface EdgeFirewallProps {
  /**
   * Requests one IP address may send in any 5 minutes, to any path, before it is blocked.
   * @default 2000
   */
  readonly perIpRequestsPer5Min?: number;

  /**
   * Requests one IP address may send in any 5 minutes with a write method (POST, PUT, PATCH,
   * DELETE) to one of `writePathPrefixes` before it is blocked. Must not exceed
   * `perIpRequestsPer5Min`.
   * @default 300
   */
  readonly perIpWriteRequestsPer5Min?: number;

  /**
   * Path prefixes of the API's write routes (lower case, e.g. `['/notes']`): the stricter limit
   * counts write-method requests whose normalized, lower-cased path starts with one of them.
   * Sign-in is not served here: it happens at Cognito, protected by {@link SignInFirewall}.
   * @default ['/'] - every write request
   */
  readonly writePathPrefixes?: readonly string[];

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
 * then a per-IP rate limit on all traffic and a stricter one on the API's write routes. Every
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
    validateRateLimits(this, 'EdgeFirewall', {
      perIpRequestsPer5Min: perIp,
      perIpWriteRequestsPer5Min: perIpWrite,
    });
    if (!Token.isUnresolved(perIp) && !Token.isUnresolved(perIpWrite) && perIpWrite > perIp) {
      throw new Error(
        `EdgeFirewall '${this.node.path}': perIpWriteRequestsPer5Min (${perIpWrite}) must not exceed perIpRequestsPer5Min (${perIp}); the write limit is the stricter one`,
      );
    }
    const writePaths = props.writePathPrefixes ?? ['/'];
    if (writePaths.length === 0) {
      throw new Error(
        `EdgeFirewall '${this.node.path}': writePathPrefixes is empty; give the path prefixes of the API's write routes (e.g. ['/notes']) or leave it unset to count every write`,
      );
    }
    for (const prefix of writePaths) {
      if (!PATH_PREFIX.test(prefix)) {
        throw new Error(
          `EdgeFirewall '${this.node.path}': writePathPrefixes entry '${prefix}' must start with '/' and be lower case without wildcards, query or fragment (e.g. '/notes')`,
        );
      }
    }

    this.webAclName = metricNameOf(`${stack.stackName}-${id}`);
    this.metricName = this.webAclName;
    const rules: wafv2.CfnWebACL.RuleProperty[] = [
      // The common rule set blocks bodies over 8 KB; a note may hold 10,000 characters (up to
      // 40 KB of UTF-8), which the service validates itself. Count instead of block, so the
      // metric still shows how often it happens.
      ...MANAGED_RULE_GROUPS.map((name, priority) =>
        managedRule(
          name,
          priority,
          this.metricName,
          name === 'AWSManagedRulesCommonRuleSet' ? ['SizeRestrictions_BODY'] : [],
        ),
      ),
      perIpRateRule('PerIpRateLimit', MANAGED_RULE_GROUPS.length, perIp, this.metricName),
      perIpRateRule(
        'PerIpWriteRateLimit',
        MANAGED_RULE_GROUPS.length + 1,
        perIpWrite,
        this.metricName,
        writeScopeDown(writePaths),
      ),
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

    this.logGroup = logWebAcl(this, this.webAcl, this.webAclName, {
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      redactedHeaders: ['authorization'],
    });
  }
}

/**
 * Write methods AND one of the write paths. Paths are compared after NORMALIZE_PATH (collapses
 * `//`, `/./`, `/../`) and LOWERCASE, so `/NOTES` or `//notes` count like `/notes`
 * (https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-transformation.html).
 */
function writeScopeDown(pathPrefixes: readonly string[]): wafv2.CfnWebACL.StatementProperty {
  const methods = anyOf(
    WRITE_METHODS.map((method) => byteMatch({ method: {} }, method, 'EXACTLY', ['NONE'])),
  );
  if (pathPrefixes.includes('/')) return methods;
  const paths = anyOf(
    pathPrefixes.map((prefix) =>
      byteMatch({ uriPath: {} }, prefix, 'STARTS_WITH', ['NORMALIZE_PATH', 'LOWERCASE']),
    ),
  );
  return { andStatement: { statements: [methods, paths] } };
}
