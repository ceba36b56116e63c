import * as path from 'node:path';
import { Duration, RemovalPolicy, Size, Token, Tokenization, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as rds from 'aws-cdk-lib/aws-rds';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledgeServiceFindings } from './acknowledgements';
import { loadMigrations } from '../migrations/migration-files';
import { SubnetTier } from '../network/network';

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
   * `SHIPSHAPE_SCHEMA_VERSION`: `shipshape rollback` refuses a target older than an applied
   * `contract` migration.
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
export interface ServiceProps extends ServiceOptions {
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

/** Limits Cognito puts on access-token validity. */
const TOKEN_VALIDITY_MINUTES = { min: 5, max: 24 * 60 } as const;

/**
 * The sample API: a Node.js Lambda (arm64, bundled by esbuild) in the application subnets,
 * published as a new version on every code change behind the alias `live` (the deployment
 * shifts traffic on it), talking to PostgreSQL through the RDS Proxy as `app` with IAM tokens and
 * to Valkey over TLS; and the Cognito user pool + app client whose access tokens the edge's JWT
 * authorizer checks.
 */
export class Service extends Construct {
  /** The API function; invoke it through {@link alias}. */
  public readonly function: nodejs.NodejsFunction;
  /** Alias `live`: what the HTTP API integrates with and what deployments shift. */
  public readonly alias: lambda.Alias;
  public readonly logGroup: logs.LogGroup;
  public readonly securityGroup: ec2.SecurityGroup;
  public readonly connections: ec2.Connections;
  /** Issues the access tokens the API accepts. */
  public readonly userPool: cognito.UserPool;
  /** Public app client (SRP sign-in, no secret) whose tokens the API accepts. */
  public readonly userPoolClient: cognito.UserPoolClient;

  constructor(scope: Construct, id: string, props: ServiceProps) {
    super(scope, id);
    const memorySize = props.memorySize ?? Size.mebibytes(512);
    const timeout = props.timeout ?? Duration.seconds(10);
    const requestsPerMinute = props.requestsPerMinutePerCaller ?? 120;
    const accessTokenValidity = props.accessTokenValidity ?? Duration.minutes(60);
    const databaseUser = props.databaseUser ?? 'app';
    this.validate({ memorySize, timeout, requestsPerMinute, accessTokenValidity, databaseUser });

    this.userPool = new cognito.UserPool(this, 'UserPool', {
      selfSignUpEnabled: props.selfSignUp ?? false,
      signInAliases: { email: true },
      autoVerify: { email: true },
      standardAttributes: { email: { required: true, mutable: true } },
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      mfa: cognito.Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      featurePlan: cognito.FeaturePlan.PLUS,
      standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION,
      deletionProtection: props.userPoolDeletionProtection ?? true,
      removalPolicy: props.userPoolRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    Validations.of(this.userPool).acknowledge({
      id: 'AwsSolutions-COG2',
      reason:
        'MFA is optional (TOTP) so the sample API stays usable from scripts; Plus-plan threat protection (FULL_FUNCTION) blocks risky sign-ins and can require MFA adaptively. Teams with stricter needs set mfa REQUIRED.',
    });

    this.userPoolClient = this.userPool.addClient('Client', {
      // USER_PASSWORD_AUTH (over TLS) lets the deployment smoke test sign in without an SRP client.
      authFlows: { userSrp: true, userPassword: true },
      generateSecret: false,
      disableOAuth: true,
      accessTokenValidity,
      idTokenValidity: accessTokenValidity,
      refreshTokenValidity: Duration.days(30),
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
    });

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Shipshape API function: egress to the database proxy, the cache and HTTPS only',
      allowAllOutbound: false,
    });
    this.securityGroup.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(443),
      'HTTPS to AWS APIs and the Cognito JWKS (through NAT)',
    );
    this.connections = this.securityGroup.connections;

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const environment: Record<string, string> = {
      DB_HOST: props.database.proxy.endpoint,
      DB_PORT: '5432',
      DB_NAME: props.database.databaseName,
      DB_USER: databaseUser,
      CACHE_HOST: props.cache.primaryEndpoint,
      CACHE_PORT: Tokenization.stringifyNumber(props.cache.port),
      USER_POOL_ID: this.userPool.userPoolId,
      USER_POOL_CLIENT_ID: this.userPoolClient.userPoolClientId,
      VERIFY_TOKEN_SIGNATURE: String(props.verifyTokenSignature ?? true),
      REQUESTS_PER_MINUTE_PER_CALLER: String(requestsPerMinute),
      SHIPSHAPE_SCHEMA_VERSION: props.schemaVersion ?? newestMigration(),
      POWERTOOLS_SERVICE_NAME: 'shipshape-api',
      POWERTOOLS_METRICS_NAMESPACE: 'Shipshape',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      // Stack traces point into lambda/api/*.ts (the bundle ships a source map).
      NODE_OPTIONS: '--enable-source-maps',
    };
    if (props.cache.authToken) environment.CACHE_AUTH_SECRET_ARN = props.cache.authToken.secretArn;

    this.function = new nodejs.NodejsFunction(this, 'Resource', {
      description: 'Shipshape sample API (HTTP API payload v2)',
      entry: path.join(__dirname, '..', '..', 'lambda', 'api', 'index.ts'),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: memorySize.toMebibytes(),
      timeout,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets ?? { subnetGroupName: SubnetTier.APPLICATION },
      securityGroups: [this.securityGroup],
      environment,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      bundling: {
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        target: 'node24',
        format: nodejs.OutputFormat.CJS,
        // Bundle the AWS SDK modules we use instead of relying on the runtime's copy: tested
        // versions, and only the clients we import.
        bundleAwsSDK: true,
      },
    });

    this.alias = new lambda.Alias(this, 'LiveAlias', {
      aliasName: 'live',
      version: this.function.currentVersion,
      description: 'The version serving traffic; deployments shift this alias',
    });

    props.database.grantConnect(this.function, databaseUser);
    props.cache.grantConnect(this.function);

    acknowledgeServiceFindings(this);
  }

  /** Lets `grantee` invoke the `live` alias. */
  public grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return this.alias.grantInvoke(grantee);
  }

  /** Invocations of the `live` alias that failed (unhandled errors; 5xx answers are in {@link metricFaults}). */
  public metricErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.alias.metricErrors(props);
  }

  /** Duration of invocations of the `live` alias. */
  public metricDuration(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.alias.metricDuration(props);
  }

  /** Throttled invocations of the `live` alias. */
  public metricThrottles(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.alias.metricThrottles(props);
  }

  /**
   * Requests the API answered with a 5xx, per route (EMF metric `Fault`, namespace `Shipshape`).
   * @param route e.g. `POST /notes`
   */
  public metricFaults(route: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'Shipshape',
      metricName: 'Fault',
      dimensionsMap: { service: 'shipshape-api', route },
      statistic: cloudwatch.Stats.SUM,
      ...props,
    });
  }

  private validate(v: {
    memorySize: Size;
    timeout: Duration;
    requestsPerMinute: number;
    accessTokenValidity: Duration;
    databaseUser: string;
  }): void {
    const fail = (message: string): never => {
      throw new Error(`Service '${this.node.path}': ${message}`);
    };
    const mib = v.memorySize.toMebibytes();
    if (!Token.isUnresolved(mib) && (mib < 128 || mib > 10_240)) {
      fail(`memorySize must be between 128 and 10240 MiB, got ${mib}`);
    }
    const seconds = v.timeout.toSeconds();
    if (!Token.isUnresolved(seconds) && (seconds < 1 || seconds > 29)) {
      fail(`timeout must be between 1 and 29 seconds (the HTTP API gives up at 30), got ${seconds}`);
    }
    if (
      !Token.isUnresolved(v.requestsPerMinute) &&
      (!Number.isInteger(v.requestsPerMinute) || v.requestsPerMinute < 1)
    ) {
      fail(`requestsPerMinutePerCaller must be a positive integer, got ${v.requestsPerMinute}`);
    }
    const minutes = v.accessTokenValidity.toMinutes();
    if (
      !Token.isUnresolved(minutes) &&
      (minutes < TOKEN_VALIDITY_MINUTES.min || minutes > TOKEN_VALIDITY_MINUTES.max)
    ) {
      fail(
        `accessTokenValidity must be between ${TOKEN_VALIDITY_MINUTES.min} minutes and 1 day (Cognito's limits), got ${minutes} minutes`,
      );
    }
    if (!Token.isUnresolved(v.databaseUser) && !/^[a-z_][a-z0-9_]{0,62}$/.test(v.databaseUser)) {
      fail(
        `databaseUser must be a plain PostgreSQL role name (lower case, digits, _), got '${v.databaseUser}'`,
      );
    }
  }
}

function newestMigration(): string {
  const migrations = loadMigrations();
  const newest = migrations[migrations.length - 1];
  if (!newest) throw new Error('Service: migrations/ holds no migration; set schemaVersion explicitly');
  return newest.name;
}
