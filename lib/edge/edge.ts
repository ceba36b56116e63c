import { Duration, RemovalPolicy, Stack, Stage, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as cognito from 'aws-cdk-lib/aws-cognito';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ORIGIN_VERIFY_HEADER } from '../../lambda/shared/origin-verify-header';
import { guardRuleId } from '../policy/readiness-rules';
import type { AlarmTarget } from '../observability/alarm-target';
import { addEdgeAlarms, type EdgeAlarmOptions } from './alarms';
import { acknowledgeEdgeFindings } from './acknowledgements';
import { EdgeFirewall } from './edge-firewall';
import { SignInFirewall } from './sign-in-firewall';
import type { EdgeProps } from './props';
import { createOriginVerifyRotation } from './rotation';
import { validateEdge } from './validation';

export * from './props';

export type { EdgeAlarmOptions } from './alarms';

export { ORIGIN_VERIFY_HEADER };

/**
 * The front door of an API: an HTTP API (JWT-authorized routes, a public `GET /health`,
 * throttling, JSON access logs) behind a CloudFront distribution with a WAFv2 web ACL, plus a
 * private S3 bucket for static assets served through origin access control.
 *
 * The web ACL must live in us-east-1; Edge creates a small sibling stack there (in the same
 * stage and account) and references the ACL across regions, so the caller's stack can be in any
 * region. That stack needs `crossRegionReferences: true`.
 *
 * The API's execute-api endpoint stays enabled because it is CloudFront's origin (disabling it
 * would need a regional custom domain and certificate on the API). Requests that bypass
 * CloudFront are told apart by the origin-verify header: CloudFront adds
 * {@link ORIGIN_VERIFY_HEADER} with a value from {@link originVerifySecret}, rotated by a Lambda
 * that rewrites the header on the distribution. The API handler must reject requests without a
 * current, pending or previous value (`createOriginVerifier` in `lambda/shared/origin-verify.ts`);
 * give it access with {@link grantOriginVerify}.
 */
export class Edge extends Construct {
  /** Header name CloudFront sets on API requests (lower case). */
  public static readonly ORIGIN_VERIFY_HEADER = ORIGIN_VERIFY_HEADER;

  /** The HTTP API. */
  public readonly httpApi: apigwv2.HttpApi;
  /** The API's `$default` stage (throttled, access-logged). */
  public readonly stage: apigwv2.HttpStage;
  /** Log group of the API's access logs (one JSON object per request). */
  public readonly accessLogGroup: logs.LogGroup;
  /** The CloudFront distribution. */
  public readonly distribution: cloudfront.Distribution;
  /** Private bucket of static assets, served under `assetsPathPattern`. */
  public readonly assetsBucket: s3.Bucket;
  /** Bucket of CloudFront standard logs and assets-bucket access logs. */
  public readonly logBucket: s3.Bucket;
  /** Secret whose value CloudFront sends in {@link ORIGIN_VERIFY_HEADER}. */
  public readonly originVerifySecret: secretsmanager.ISecret;
  /** The function that rotates {@link originVerifySecret} and rewrites the distribution's header. */
  public readonly originVerifyRotationFunction: lambda.IFunction;
  /** The us-east-1 stack holding the web ACL (the caller's own stack if that is in us-east-1). */
  public readonly firewallStack: Stack;
  /** The WAFv2 web ACL attached to the distribution. */
  public readonly firewall: EdgeFirewall;
  /** The regional WAFv2 web ACL on the user pool, where users sign in. */
  public readonly signInFirewall: SignInFirewall;
  /** Public base URL viewers use: `https://` + the custom domain or the distribution's domain. */
  public readonly url: string;

  constructor(scope: Construct, id: string, props: EdgeProps) {
    super(scope, id);
    const stack = Stack.of(this);
    validateEdge(this, stack, props);

    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;

    // --- HTTP API -------------------------------------------------------------------------
    this.httpApi = new apigwv2.HttpApi(this, 'Api', {
      description: `API behind CloudFront (${this.node.path})`,
      createDefaultStage: false,
    });
    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', { retention: logRetention, removalPolicy });
    this.stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.throttleRatePerSecond ?? 50, burstLimit: props.throttleBurst ?? 100 },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogGroup),
        format: apigw.AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });

    const integration = new HttpLambdaIntegration('Service', props.handler);
    const [healthRoute] = this.httpApi.addRoutes({
      path: '/health',
      methods: [apigwv2.HttpMethod.GET],
      integration,
    });
    const publicHealth =
      'GET /health is the public liveness probe for CloudFront, the canary hooks and uptime checks; it returns no data. Every other route requires a Cognito JWT.';
    Validations.of(healthRoute).acknowledge({ id: 'AwsSolutions-APIG4', reason: publicHealth });
    Validations.of(healthRoute).acknowledge({
      id: guardRuleId('api_gw_v2_authorization_type_configured_check'),
      reason: publicHealth,
    });
    this.httpApi.addRoutes({
      path: '/{proxy+}',
      methods: [apigwv2.HttpMethod.ANY],
      integration,
      authorizer: new HttpJwtAuthorizer('CognitoJwt', cognitoIssuer(props.userPool, stack), {
        jwtAudience: [props.userPoolClient.userPoolClientId],
      }),
    });

    // --- Origin protection ----------------------------------------------------------------
    const secret = new secretsmanager.Secret(this, 'OriginVerifySecret', {
      description: `Value CloudFront sends in the ${ORIGIN_VERIFY_HEADER} header to the API origin (${this.node.path})`,
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      // The rotation schedule denies DeleteSecret to the whole account (so a rotated secret cannot
      // vanish mid-rotation); CloudFormation could not delete it either, so it is kept.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.originVerifySecret = secret;

    // --- Buckets --------------------------------------------------------------------------
    this.logBucket = new s3.Bucket(this, 'LogBucket', {
      // CloudFront standard logging writes through the bucket ACL (awslogsdelivery account).
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      lifecycleRules: [
        {
          expiration: Duration.days(logRetention),
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy,
    });
    Validations.of(this.logBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the log bucket itself; logging its access into itself would loop.',
    });

    this.assetsBucket = new s3.Bucket(this, 'AssetsBucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      serverAccessLogsBucket: this.logBucket,
      serverAccessLogsPrefix: 'assets-access/',
      removalPolicy,
    });

    // --- Firewall in us-east-1 ------------------------------------------------------------
    this.firewallStack = stack.region === 'us-east-1' ? stack : this.createFirewallStack(stack);
    this.firewall = new EdgeFirewall(
      this.firewallStack === stack ? this : this.firewallStack,
      this.firewallStack === stack ? 'Firewall' : 'WebAcl',
      {
        perIpRequestsPer5Min: props.perIpRequestsPer5Min,
        perIpWriteRequestsPer5Min: props.perIpWriteRequestsPer5Min,
        writePathPrefixes: props.writePathPrefixes,
        logRetention,
        removalPolicy,
      },
    );
    // Sign-in happens at Cognito, not behind CloudFront: it gets a web ACL of its own.
    this.signInFirewall = new SignInFirewall(this, 'SignInFirewall', {
      userPool: props.userPool,
      perIpSignInRequestsPer5Min: props.perIpSignInRequestsPer5Min,
      logRetention,
      removalPolicy,
    });

    // --- Distribution ---------------------------------------------------------------------
    const apiDomain = `${this.httpApi.apiId}.execute-api.${stack.region}.${stack.urlSuffix}`;
    const apiOrigin = new origins.HttpOrigin(apiDomain, {
      protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
      originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
      // A dynamic reference: the template holds {{resolve:secretsmanager:...}}, never the value.
      customHeaders: { [ORIGIN_VERIFY_HEADER]: secret.secretValue.unsafeUnwrap() },
      readTimeout: Duration.seconds(30),
    });
    const securityHeaders = (contentSecurityPolicy: string): cloudfront.ResponseSecurityHeadersBehavior => ({
      strictTransportSecurity: {
        accessControlMaxAge: Duration.days(730),
        includeSubdomains: true,
        preload: true,
        override: true,
      },
      contentSecurityPolicy: { contentSecurityPolicy, override: true },
      frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
      contentTypeOptions: { override: true },
      referrerPolicy: {
        referrerPolicy: cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
        override: true,
      },
    });
    const apiHeaders = new cloudfront.ResponseHeadersPolicy(this, 'ApiResponseHeaders', {
      comment: 'Security headers for API responses (JSON: nothing may be framed or loaded)',
      securityHeadersBehavior: securityHeaders("default-src 'none'; frame-ancestors 'none'"),
    });
    const assetHeaders = new cloudfront.ResponseHeadersPolicy(this, 'AssetResponseHeaders', {
      comment: 'Security headers for static assets',
      securityHeadersBehavior: securityHeaders(props.assetsContentSecurityPolicy ?? DEFAULT_ASSETS_CSP),
    });

    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: `Front door of ${this.node.path}`,
      defaultBehavior: {
        origin: apiOrigin,
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
        cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
        originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        responseHeadersPolicy: apiHeaders,
        compress: true,
      },
      additionalBehaviors: {
        [props.assetsPathPattern ?? '/assets/*']: {
          origin: origins.S3BucketOrigin.withOriginAccessControl(this.assetsBucket),
          viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
          allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD_OPTIONS,
          cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
          responseHeadersPolicy: assetHeaders,
          compress: true,
        },
      },
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: props.priceClass ?? cloudfront.PriceClass.PRICE_CLASS_100,
      enableIpv6: true,
      enableLogging: true,
      logBucket: this.logBucket,
      logFilePrefix: 'cloudfront/',
      webAclId: this.firewall.webAclArn,
      ...(props.domain
        ? {
            domainNames: [props.domain.domainName],
            certificate: props.domain.certificate,
            minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
          }
        : {}),
    });
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR1',
      reason:
        'The API serves customers worldwide; abusive sources are handled by the WAF IP reputation list and per-IP rate limits instead of geo blocking.',
    });
    if (!props.domain) {
      Validations.of(this.distribution).acknowledge({
        id: 'AwsSolutions-CFR4',
        reason:
          'Without a custom domain CloudFront serves its default *.cloudfront.net certificate, whose security policy cannot be chosen; set config.domain to enforce TLSv1.2_2021.',
      });
    }
    this.url = `https://${props.domain?.domainName ?? this.distribution.distributionDomainName}`;

    this.originVerifyRotationFunction = createOriginVerifyRotation(
      this,
      secret,
      props,
      logRetention,
      removalPolicy,
    );
    acknowledgeEdgeFindings(this, logRetention);
  }

  /**
   * Lets `grantee` (the API function) read every version of the origin-verify secret, which it
   * needs to accept the current, pending and previous values during a rotation.
   */
  public grantOriginVerify(grantee: iam.IGrantable): iam.Grant {
    return this.originVerifySecret.grantRead(grantee);
  }

  /**
   * Creates the edge's alarms in `target`: API Gateway 5xx rate, 4xx surge and p99 latency, the
   * origin-verify rotation function, and the CloudFront 5xx, origin latency and WAF alarms in a
   * us-east-1 stack `<stack>EdgeAlarms` (their metrics exist only there), which is returned.
   */
  public addAlarms(target: AlarmTarget, options: EdgeAlarmOptions): Stack {
    return addEdgeAlarms(this, target, options);
  }

  /** Requests the web ACL blocked (all rules), per 5 minutes. The metric lives in us-east-1. */
  public metricBlockedRequests(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/WAFV2',
      metricName: 'BlockedRequests',
      dimensionsMap: { WebACL: this.firewall.webAclName, Rule: 'ALL' },
      region: 'us-east-1',
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(5),
      ...props,
    });
  }

  /** 5xx responses of the HTTP API (answered by API Gateway or the function). */
  public metricApiServerErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.httpApi.metricServerError({ statistic: cloudwatch.Stats.SUM, ...props });
  }

  private createFirewallStack(stack: Stack): Stack {
    const stage = Stage.of(this);
    const id = `${stack.node.id}${this.node.id}Waf`;
    if (!stage || stage.node.tryFindChild(id)) {
      throw new Error(
        `Edge '${this.node.path}': cannot create its us-east-1 stack '${id}' (no enclosing Stage/App, or the id is taken); give this Edge a different id`,
      );
    }
    return new Stack(stage, id, {
      env: { account: stack.account, region: 'us-east-1' },
      crossRegionReferences: true,
      terminationProtection: stack.terminationProtection,
      description: `Web ACL (WAFv2, CloudFront scope) of ${this.node.path}; CloudFront web ACLs live in us-east-1`,
    });
  }
}

/** Issuer (`iss` claim) of the user pool's tokens. */
function cognitoIssuer(userPool: cognito.IUserPool, stack: Stack): string {
  return `https://cognito-idp.${userPool.env.region}.${stack.urlSuffix}/${userPool.userPoolId}`;
}

/** Fields of one access-log line (JSON). */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  requestTime: '$context.requestTime',
  httpMethod: '$context.httpMethod',
  path: '$context.path',
  routeKey: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationStatus: '$context.integrationStatus',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
  userAgent: '$context.identity.userAgent',
};

const DEFAULT_ASSETS_CSP =
  "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; upgrade-insecure-requests";
