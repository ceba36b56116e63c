// Props of Service: what it needs from the database and cache tiers, its knobs, and the code.
import type { Duration, RemovalPolicy, Size } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as rds from 'aws-cdk-lib/aws-rds';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ServiceCode } from './code';

/** What the service needs from the database tier (the `Database` construct satisfies it). */
export interface ServiceDatabase {
  /** The RDS Proxy the service connects through, with IAM authentication. */
  readonly proxy: rds.IDatabaseProxy;
  /** The application database. */
  readonly databaseName: string;
  /** Lets `grantee` connect through the proxy as the database role `dbUser` (IAM and network). */
  grantConnect(grantee: iam.IGrantable & ec2.IConnectable, dbUser: string): iam.Grant;
}

/** What the service needs from the cache tier (the `Cache` construct satisfies it). */
export interface ServiceCache {
  /** Hostname of the primary endpoint (TLS). */
  readonly primaryEndpoint: string;
  /** Port of the primary endpoint. */
  readonly port: number;
  /**
   * Secret holding the AUTH token, read by the function at cold start (never put in its environment).
   * @default - no AUTH token
   */
  readonly authToken?: ISecret;
  /** Lets `grantee` reach the cache and read its AUTH token. */
  grantConnect(grantee: iam.IGrantable & ec2.IConnectable): iam.Grant;
}

/** Reusable knobs of {@link Service}. */
export interface ServiceOptions {
  /**
   * Description of the function.
   * @default 'API (HTTP API payload v2)'
   */
  readonly description?: string;

  /**
   * Service name on logs and metrics (`POWERTOOLS_SERVICE_NAME`, the `service` dimension).
   * @default 'shipshape-api'
   */
  readonly serviceName?: string;

  /**
   * Extra environment of the function: identifiers and settings only. Secrets go in Secrets
   * Manager and are read at run time; names the construct sets itself are refused.
   * @default - none
   */
  readonly environment?: Record<string, string>;

  /**
   * Extra permissions of the function (least privilege: name the resources). For resources
   * with a `grant*()` method, call it with {@link Service.function} instead.
   * @default - none
   */
  readonly initialPolicy?: iam.PolicyStatement[];

  /**
   * Public liveness path of the API: routed without authorization at the edge and probed by the
   * deployment smoke test. It must answer 200 without data.
   * @default '/health'
   */
  readonly healthPath?: string;

  /**
   * Directory of the service's migrations; the newest names {@link schemaVersion}.
   * @default - `migrations/` in the directory `cdk synth` runs in
   */
  readonly migrationsDirectory?: string;

  /**
   * Memory of the API function (CPU scales with it).
   * @default Size.mebibytes(512)
   */
  readonly memorySize?: Size;

  /**
   * Hard limit of one invocation. The HTTP API gives up at 30 s, so at most 29 s.
   * @default Duration.seconds(10)
   */
  readonly timeout?: Duration;

  /**
   * Requests one caller may make per minute (token bucket in the cache) before 429.
   * @default 120
   */
  readonly requestsPerMinutePerCaller?: number;

  /**
   * How long Cognito access and ID tokens live (5 minutes to 1 day).
   * @default Duration.minutes(60)
   */
  readonly accessTokenValidity?: Duration;

  /**
   * Database role the function connects as (IAM token, row-level security applies).
   * @default 'app'
   */
  readonly databaseUser?: string;

  /**
   * Retention of the function's log group.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Verify the bearer token's signature in the function too (defence in depth behind the JWT
   * authorizer). Costs one JWKS fetch per container.
   * @default true
   */
  readonly verifyTokenSignature?: boolean;

  /**
   * The newest migration this code was built against, published with every version as
   * `SHIPSHAPE_SCHEMA_VERSION`, next to `SHIPSHAPE_SCHEMA_CONTRACTS` (the contract migrations
   * up to it, from migrations/): `shipshape rollback` refuses a target built before a contract
   * migration the live version includes, and any rollback it cannot decide from them.
   * @default - the newest file in migrations/
   */
  readonly schemaVersion?: string;

  /**
   * Let anyone create an account (e-mail verified). Off: accounts are created by an administrator.
   * @default false
   */
  readonly selfSignUp?: boolean;

  /**
   * What happens to the user pool when it leaves the stack. User pools hold data (the accounts).
   * @default RemovalPolicy.RETAIN
   */
  readonly userPoolRemovalPolicy?: RemovalPolicy;

  /**
   * Refuse to delete the user pool through the API.
   * @default true
   */
  readonly userPoolDeletionProtection?: boolean;
}

/** Props of {@link Service}. */
export interface ServiceProps extends ServiceOptions, ServiceCode {
  /** VPC of the database proxy and cache. */
  readonly vpc: ec2.IVpc;

  /**
   * Where the function runs: private subnets with egress (it fetches the Cognito JWKS).
   * @default - the `Application` subnet group of {@link Network}
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  readonly database: ServiceDatabase;
  readonly cache: ServiceCache;
}
