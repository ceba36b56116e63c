import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import type * as cognito from 'aws-cdk-lib/aws-cognito';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';

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
