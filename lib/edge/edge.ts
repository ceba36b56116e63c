import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack, Stage, Token, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as cognito from 'aws-cdk-lib/aws-cognito';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ORIGIN_VERIFY_HEADER } from '../../lambda/shared/origin-verify-header';
import { guardRuleId } from '../policy/readiness-rules';
import { EdgeFirewall } from './edge-firewall';
import { SignInFirewall } from './sign-in-firewall';

export { ORIGIN_VERIFY_HEADER };

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** A custom domain for the distribution. */
export interface EdgeDomain {
  /** The name viewers use, e.g. `api.example.com` (point a CNAME or alias record at the distribution). */
  readonly domainName: string;
  /** ACM certificate covering `domainName`; CloudFront only reads certificates in us-east-1. */
  readonly certificate: acm.ICertificate;
}

/** Reusable knobs of {@link Edge}. */
export interface EdgeOptions {
  /**
   * Steady-state requests per second the API's default stage accepts.
   * @default 50
   */
  readonly throttleRatePerSecond?: number;

  /**
   * Burst the API's default stage accepts above the steady rate.
   * @default 100
   */
  readonly throttleBurst?: number;

  /**
   * WAF: requests per 5 minutes one IP address may send to any path.
   * @default 2000
   */
  readonly perIpRequestsPer5Min?: number;

  /**
   * WAF: requests per 5 minutes one IP address may send with a write method to `writePathPrefixes`.
   * @default 300
   */
  readonly perIpWriteRequestsPer5Min?: number;

  /**
   * WAF: path prefixes of the API's write routes, lower case (e.g. `['/notes']`), which the
   * stricter per-IP limit counts.
   * @default ['/'] - every write request
   */
  readonly writePathPrefixes?: readonly string[];

  /**
   * WAF on the user pool: sign-in, sign-up and password-reset requests per 5 minutes one IP
   * address may send to Cognito.
   * @default 100
   */
  readonly perIpSignInRequestsPer5Min?: number;

  /**
   * How long API access logs, WAF logs and CloudFront standard logs are kept.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Custom domain and certificate of the distribution. With a domain, viewers must use TLS 1.2
   * (`TLSv1.2_2021`) or newer.
   * @default - the distribution's own `*.cloudfront.net` name
   */
  readonly domain?: EdgeDomain;

  /**
   * Edge locations that serve the distribution.
   * @default cloudfront.PriceClass.PRICE_CLASS_100
   */
  readonly priceClass?: cloudfront.PriceClass;

  /**
   * Path pattern served from the assets bucket; everything else goes to the API.
   * @default '/assets/*'
   */
  readonly assetsPathPattern?: string;

  /**
   * Content-Security-Policy sent with static assets.
   * @default "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; upgrade-insecure-requests"
   */
  readonly assetsContentSecurityPolicy?: string;

  /**
   * How often the origin-verify secret is rotated.
   * @default Duration.days(30)
   */
  readonly originVerifyRotation?: Duration;

  /**
   * What happens to log groups and buckets when they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** Props of {@link Edge}. */
export interface EdgeProps extends EdgeOptions {
  /** The function (usually its `live` alias) that serves every API route. */
  readonly handler: lambda.IFunction;
  /** User pool whose tokens the API accepts. */
  readonly userPool: cognito.IUserPool;
  /** App client of the user pool: the audience the JWT authorizer requires. */
  readonly userPoolClient: cognito.IUserPoolClient;
}

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
    this.validate(stack, props);

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

    this.originVerifyRotationFunction = this.createRotation(secret, props, logRetention, removalPolicy);
    this.acknowledgePolicyFindings(logRetention);
  }

  /**
   * Lets `grantee` (the API function) read every version of the origin-verify secret, which it
   * needs to accept the current, pending and previous values during a rotation.
   */
  public grantOriginVerify(grantee: iam.IGrantable): iam.Grant {
    return this.originVerifySecret.grantRead(grantee);
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

  private validate(stack: Stack, props: EdgeProps): void {
    const where = `Edge '${this.node.path}'`;
    if (Token.isUnresolved(stack.region) || Token.isUnresolved(stack.account)) {
      throw new Error(
        `${where}: the stack must have an explicit account and region (env), because Edge places its web ACL in a us-east-1 stack of the same account`,
      );
    }
    // `_crossRegionReferences` is the only public view of the stack prop; checking it here gives
    // a clearer error than the one CDK raises at synth, far from this construct.
    if (stack.region !== 'us-east-1' && !stack._crossRegionReferences) {
      throw new Error(
        `${where}: stack '${stack.node.path}' is in ${stack.region}, so the distribution references the web ACL in us-east-1 across regions; create the stack with crossRegionReferences: true`,
      );
    }
    const positive: Array<[string, number | undefined, number]> = [
      ['throttleRatePerSecond', props.throttleRatePerSecond, 10_000],
      ['throttleBurst', props.throttleBurst, 5_000],
    ];
    for (const [name, value, max] of positive) {
      if (
        value !== undefined &&
        !Token.isUnresolved(value) &&
        (!Number.isInteger(value) || value < 1 || value > max)
      ) {
        throw new Error(`${where}: ${name} must be an integer between 1 and ${max}, got ${value}`);
      }
    }
    const domain = props.domain;
    if (domain && !Token.isUnresolved(domain.domainName) && !HOSTNAME.test(domain.domainName)) {
      throw new Error(
        `${where}: domain.domainName must be a lower-case DNS name such as api.example.com, got '${domain.domainName}'`,
      );
    }
    const certificateArn = domain?.certificate.certificateArn;
    if (certificateArn && !Token.isUnresolved(certificateArn)) {
      const region = certificateArn.split(':')[3];
      if (region !== 'us-east-1') {
        throw new Error(
          `${where}: CloudFront only reads ACM certificates in us-east-1, got one in '${region}' (${certificateArn}); request or import the certificate in us-east-1`,
        );
      }
    }
    const rotation = props.originVerifyRotation;
    if (rotation && !Token.isUnresolved(rotation.toSeconds())) {
      const days = rotation.toDays({ integral: false });
      if (days < 1 || days > 365) {
        throw new Error(
          `${where}: originVerifyRotation must be between 1 and 365 days, got ${rotation.toHumanString()}`,
        );
      }
    }
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

  private createRotation(
    secret: secretsmanager.Secret,
    props: EdgeProps,
    logRetention: logs.RetentionDays,
    removalPolicy: RemovalPolicy,
  ): lambda.IFunction {
    const logGroup = new logs.LogGroup(this, 'OriginVerifyRotationLogs', {
      retention: logRetention,
      removalPolicy,
    });
    const role = new iam.Role(this, 'OriginVerifyRotationRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Rotates the origin-verify secret and rewrites the header on the distribution',
    });
    logGroup.grantWrite(role);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['cloudfront:GetDistributionConfig', 'cloudfront:UpdateDistribution'],
        resources: [this.distribution.distributionArn],
      }),
    );

    const fn = new nodejs.NodejsFunction(this, 'OriginVerifyRotation', {
      entry: path.join(__dirname, '../../lambda/origin-verify-rotation/index.ts'),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.minutes(1),
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      description: 'Rotates the origin-verify secret of the CloudFront distribution',
      environment: {
        DISTRIBUTION_ID: this.distribution.distributionId,
        ORIGIN_VERIFY_HEADER,
        POWERTOOLS_SERVICE_NAME: 'origin-verify-rotation',
      },
      // Bundle the SDK pieces (SigV4 signer, credential chain) instead of relying on the
      // versions inside the Lambda runtime.
      bundling: { externalModules: [], minify: true, sourceMap: true },
    });

    secret.addRotationSchedule('Rotation', {
      rotationLambda: fn,
      automaticallyAfter: props.originVerifyRotation ?? Duration.days(30),
      // Do not race the deployment that just wrote the distribution; the first rotation comes
      // on schedule.
      rotateImmediatelyOnUpdate: false,
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'secretsmanager:GetRandomPassword, added by the rotation schedule, acts on no resource and only accepts "*"; so do the X-Ray actions that tracing: ACTIVE adds.',
    });
    const ack = (scope: Construct, id: string, reason: string) =>
      Validations.of(scope).acknowledge({ id, reason });
    ack(
      fn,
      'NIST.800.53.R5-LambdaConcurrency',
      'Runs once per rotation (every 30 days by default); a reservation would take capacity from the account pool for nothing.',
    );
    const sync =
      'Invoked synchronously by Secrets Manager rotation, which records a failed step and retries the rotation; a DLQ applies only to asynchronous invocations.';
    ack(fn, 'NIST.800.53.R5-LambdaDLQ', sync);
    ack(fn, 'Serverless-LambdaDLQ', sync);
    const outside =
      'Calls only the Secrets Manager and CloudFront APIs (both public endpoints, no VPC resources); placing it in the VPC would need NAT or endpoints without reducing what it can reach.';
    ack(fn, 'NIST.800.53.R5-LambdaInsideVPC', outside);
    ack(fn, guardRuleId('lambda_inside_vpc_check'), outside);
    return fn;
  }

  private acknowledgePolicyFindings(logRetention: logs.RetentionDays): void {
    const ack = (scope: Construct, id: string, reason: string) =>
      Validations.of(scope).acknowledge({ id, reason });
    // The web ACL lives in us-east-1 and its ARN crosses regions through CDK's export writer (in
    // the firewall stack) and reader (in this stack). CDK adds those provider functions while it
    // resolves references, after every aspect has run, so they can only be acknowledged from
    // their stacks. The functions of this construct and its neighbours are acknowledged one by
    // one; the NIST pack still checks every CfnFunction individually.
    const crossRegion =
      "CDK's cross-region export reader/writer functions (added during synthesis for the us-east-1 web ACL ARN) only call SSM Parameter Store at deploy time; they handle no application data and need no path into the VPC.";
    ack(Stack.of(this), guardRuleId('lambda_inside_vpc_check'), crossRegion);
    ack(this.firewallStack, guardRuleId('lambda_inside_vpc_check'), crossRegion);
    ack(
      this,
      'NIST.800.53.R5-IAMNoInlinePolicy',
      "CDK grant methods write each role's least-privilege statements into that role's own DefaultPolicy, scoped to this construct's resources; a managed policy would be shareable across roles, which least privilege avoids.",
    );
    ack(
      this,
      guardRuleId('lambda_function_public_access_prohibited_check'),
      'Invoke permissions go to service principals only, each bound to its source: API Gateway for the routes of this HTTP API (SourceArn) and Secrets Manager for the rotation; no public principal.',
    );
    const logs =
      'HTTP API access logs and rotation logs (request ids, routes, status codes, client IPs; no bodies or tokens), encrypted at rest by CloudWatch Logs with service keys.';
    for (const scope of [this.accessLogGroup, this.node.findChild('OriginVerifyRotationLogs')]) {
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
      this.originVerifySecret,
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
    for (const bucket of [this.assetsBucket, this.logBucket]) {
      ack(bucket, 'NIST.800.53.R5-S3BucketReplicationEnabled', buckets.replication);
      ack(bucket, 'NIST.800.53.R5-S3DefaultEncryptionKMS', buckets.kms);
      ack(bucket, guardRuleId('s3_bucket_default_encryption_kms_check'), buckets.kms);
      ack(bucket, guardRuleId('s3_bucket_object_lock_enabled_check'), buckets.objectLock);
      ack(bucket, guardRuleId('s3_event_notifications_enabled_check'), buckets.notifications);
    }
    ack(
      this.assetsBucket,
      guardRuleId('s3_lifecycle_policy_check'),
      'Static assets are replaced by each deploy and must stay available while referenced; there is nothing to age out.',
    );
    ack(
      this.assetsBucket,
      guardRuleId('s3_version_lifecycle_policy_check'),
      'Static assets are replaced by each deploy; old versions are the rollback path for assets and are small.',
    );
    ack(
      this.logBucket,
      guardRuleId('s3_bucket_acl_prohibited_check'),
      'CloudFront standard logging writes through the bucket ACL (awslogsdelivery); the ACL grants only that, and public access is blocked.',
    );
    ack(
      this.logBucket,
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
      ack(this.distribution, guardRuleId(rule), noDomain);
    }
    ack(
      this.distribution,
      guardRuleId('cloudfront_default_root_object_configured_check'),
      'The distribution fronts a JSON API; there is no index document to serve at the root.',
    );
    ack(
      this.distribution,
      guardRuleId('cloudfront_origin_failover_enabled_check'),
      'One regional HTTP API is the only origin: a failover origin would need a second region of the whole data tier, which this design does not run.',
    );
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
