import { Duration, RemovalPolicy, Size, Tokenization, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledgeServiceFindings } from './acknowledgements';
import { SubnetTier } from '../network/network';
import { HANDLER_BUNDLING } from './code';
import { schemaDeclaration } from './schema-declaration';
import type { ServiceProps } from './props';
import { validateExtraEnvironment, validateService, validateServiceCode } from './validation';

export { HANDLER_BUNDLING, type ServiceCode } from './code';
export * from './props';

/**
 * A team's API on Lambda: their code ({@link ServiceCode}: an entry bundled at synth or ready
 * code) as a Node.js function (arm64) in the application subnets, published as a new version on
 * every code change behind the alias `live` (the deployment shifts traffic on it), talking to
 * PostgreSQL through the RDS Proxy with IAM tokens and to Valkey over TLS (the runtime library
 * `@shipshape/cdk/runtime` reads the environment this sets); and the Cognito user pool + app
 * client whose access tokens the edge's JWT authorizer checks. The sample API is one user.
 */
export class Service extends Construct {
  /** The API function; invoke it through {@link alias}. */
  public readonly function: lambda.Function;
  /** Public liveness path (routed without authorization, probed by the smoke test). */
  public readonly healthPath: string;
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
    validateService(this, { memorySize, timeout, requestsPerMinute, accessTokenValidity, databaseUser });
    this.healthPath = props.healthPath ?? '/health';
    validateServiceCode(this, props, this.healthPath);

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
      // SHIPSHAPE_SCHEMA_VERSION and SHIPSHAPE_SCHEMA_CONTRACTS, read back by `shipshape rollback`.
      ...schemaDeclaration(props.schemaVersion, props.migrationsDirectory),
      POWERTOOLS_SERVICE_NAME: props.serviceName ?? 'shipshape-api',
      POWERTOOLS_METRICS_NAMESPACE: 'Shipshape',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      // Stack traces point into the sources (the bundle ships a source map).
      NODE_OPTIONS: '--enable-source-maps',
    };
    if (props.cache.authToken) environment.CACHE_AUTH_SECRET_ARN = props.cache.authToken.secretArn;
    validateExtraEnvironment(this, environment, props.environment ?? {});
    Object.assign(environment, props.environment);

    const common: Omit<lambda.FunctionProps, 'code' | 'handler'> = {
      description: props.description ?? 'API (HTTP API payload v2)',
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
      initialPolicy: props.initialPolicy,
    };
    this.function = props.code
      ? new lambda.Function(this, 'Resource', { ...common, code: props.code, handler: props.handler! })
      : new nodejs.NodejsFunction(this, 'Resource', {
          ...common,
          entry: props.entry,
          handler: props.handler ?? 'handler',
          projectRoot: props.projectRoot,
          depsLockFilePath: props.depsLockFilePath,
          bundling: HANDLER_BUNDLING,
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
}
