import { RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as cognito from 'aws-cdk-lib/aws-cognito';
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

/**
 * Cognito user pool API operations that sign a user in or out of an account, named by the
 * `X-Amz-Target` header of the request (`AWSCognitoIdentityProviderService.<Operation>`). These are
 * the unauthenticated public operations a credential-stuffing or sign-up flood calls
 * (https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-waf.html, "AWS WAF inspects
 * requests to the following endpoints"; the operations are the public user pool API of
 * https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_InitiateAuth.html
 * and its siblings).
 */
export const SIGN_IN_OPERATIONS = [
  'InitiateAuth',
  'RespondToAuthChallenge',
  'SignUp',
  'ConfirmSignUp',
  'ResendConfirmationCode',
  'ForgotPassword',
  'ConfirmForgotPassword',
] as const;

/**
 * Managed login (hosted UI) paths that take credentials or codes, lower case
 * (https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-userpools-server-contract-reference.html).
 */
export const SIGN_IN_PATH_PREFIXES = [
  '/login',
  '/oauth2/token',
  '/signup',
  '/forgotpassword',
  '/confirmforgotpassword',
] as const;

/** AWS managed rule groups of the sign-in ACL. ATP (account takeover prevention) cannot be used on a user pool. */
export const SIGN_IN_MANAGED_RULE_GROUPS = ['AWSManagedRulesAmazonIpReputationList'] as const;

/** Props of {@link SignInFirewall}. */
export interface SignInFirewallProps {
  /** The user pool to protect; any `cognito.IUserPool`, in this stack's region. */
  readonly userPool: cognito.IUserPool;

  /**
   * Sign-in, sign-up and password-reset requests one IP address may send in any 5 minutes before
   * it is blocked.
   * @default 100
   */
  readonly perIpSignInRequestsPer5Min?: number;

  /**
   * Requests of any kind one IP address may send to the user pool in any 5 minutes (token
   * refreshes, user attribute calls, ...). Must be at least `perIpSignInRequestsPer5Min`.
   * @default 1000
   */
  readonly perIpRequestsPer5Min?: number;

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
 * A regional WAFv2 web ACL associated with a Cognito user pool, so the place where users sign in
 * is protected like the API: the AWS IP reputation list, a per-IP limit on every request to the
 * pool, and a stricter per-IP limit on sign-in, sign-up and password-reset calls (the public API
 * operations by their `X-Amz-Target` header, and the managed login paths). Requests blocked by WAF
 * do not count against the pool's own API quotas
 * (https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-waf.html).
 *
 * Logs go to `aws-waf-logs-*` with the `authorization` header redacted; Cognito does not forward
 * user names or passwords to WAF (same page).
 *
 * Works on any user pool: `new SignInFirewall(this, 'SignInWaf', { userPool })`.
 */
export class SignInFirewall extends Construct {
  /** The web ACL (scope `REGIONAL`). */
  public readonly webAcl: wafv2.CfnWebACL;
  /** Name of the web ACL: the `WebACL` dimension of its `AWS/WAFV2` metrics. */
  public readonly webAclName: string;
  /** Log group receiving every request WAF evaluated. */
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: SignInFirewallProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const signIn = props.perIpSignInRequestsPer5Min ?? 100;
    const all = props.perIpRequestsPer5Min ?? 1000;
    validateRateLimits(this, 'SignInFirewall', {
      perIpSignInRequestsPer5Min: signIn,
      perIpRequestsPer5Min: all,
    });
    if (!Token.isUnresolved(signIn) && !Token.isUnresolved(all) && signIn > all) {
      throw new Error(
        `SignInFirewall '${this.node.path}': perIpSignInRequestsPer5Min (${signIn}) must not exceed perIpRequestsPer5Min (${all}); the sign-in limit is the stricter one`,
      );
    }

    this.webAclName = metricNameOf(`${stack.stackName}-${id}`);
    const metric = this.webAclName;
    const signInRequests = anyOf([
      ...SIGN_IN_OPERATIONS.map((operation) =>
        byteMatch(
          { singleHeader: { Name: 'x-amz-target' } },
          `AWSCognitoIdentityProviderService.${operation}`,
          'EXACTLY',
          ['NONE'],
        ),
      ),
      ...SIGN_IN_PATH_PREFIXES.map((prefix) =>
        byteMatch({ uriPath: {} }, prefix, 'STARTS_WITH', ['NORMALIZE_PATH', 'LOWERCASE']),
      ),
    ]);
    const rules = [
      ...SIGN_IN_MANAGED_RULE_GROUPS.map((name, priority) => managedRule(name, priority, metric)),
      perIpRateRule('PerIpRateLimit', SIGN_IN_MANAGED_RULE_GROUPS.length, all, metric),
      perIpRateRule(
        'PerIpSignInRateLimit',
        SIGN_IN_MANAGED_RULE_GROUPS.length + 1,
        signIn,
        metric,
        signInRequests,
      ),
    ];

    this.webAcl = new wafv2.CfnWebACL(this, 'Resource', {
      name: this.webAclName,
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      description: 'Sign-in endpoints of the user pool: IP reputation and per-IP rate limits',
      rules,
      visibilityConfig: visibility(metric),
    });
    new wafv2.CfnWebACLAssociation(this, 'Association', {
      resourceArn: props.userPool.userPoolArn,
      webAclArn: this.webAcl.attrArn,
    });
    this.logGroup = logWebAcl(this, this.webAcl, this.webAclName, {
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      redactedHeaders: ['authorization'],
    });
  }

  /**
   * Requests the ACL blocked (`AWS/WAFV2` `BlockedRequests`, dimensions `WebACL`, `Region`,
   * `Rule=ALL`: https://docs.aws.amazon.com/waf/latest/developerguide/waf-metrics.html), summed.
   */
  public metricBlockedRequests(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/WAFV2',
      metricName: 'BlockedRequests',
      dimensionsMap: { WebACL: this.webAclName, Region: Stack.of(this).region, Rule: 'ALL' },
      statistic: 'Sum',
      ...props,
    });
  }
}
