import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { Duration, Stack, Token, Tokenization, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cw_actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import type * as cognito from 'aws-cdk-lib/aws-cognito';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { SmokeCheck } from '../../lambda/deploy-hooks/smoke-test/smoke';
import { guardRuleId } from '../policy/readiness-rules';
import { handlerCode } from '../util/handler-code';

/** How CodeDeploy moves traffic from the old version to the new one. */
export interface TrafficShift {
  /** `canary`: `percentage` for `interval`, then the rest. `linear`: `percentage` more every `interval`. */
  readonly strategy: 'canary' | 'linear' | 'allAtOnce';
  /**
   * Share of the traffic, 1-99 (ignored for `allAtOnce`).
   * @default 10
   */
  readonly percentage?: number;
  /**
   * Canary: how long the first share runs. Linear: time between steps. Whole minutes, 1-60.
   * @default Duration.minutes(5)
   */
  readonly interval?: Duration;
}

/** Reusable knobs of {@link SafeDeployment}. */
export interface SafeDeploymentOptions {
  /**
   * How traffic shifts to a new version.
   * @default - canary, 10% for 5 minutes
   */
  readonly trafficShift?: TrafficShift;

  /**
   * Roll back when more than this share of the new version's invocations fail, in percent.
   * @default 5
   */
  readonly errorRateThresholdPercent?: number;

  /**
   * Roll back when the new version's p99 duration exceeds this (use the SLO latency threshold).
   * @default Duration.seconds(1)
   */
  readonly latencyThreshold?: Duration;

  /**
   * A minute with fewer invocations of the new version than this never counts as breaching the
   * error-rate alarm (one failed request out of two is noise, not a 50% error rate).
   * @default 10
   */
  readonly minimumInvocationsPerMinute?: number;

  /**
   * More alarms that roll a deployment back (e.g. the SLO fast-burn alarm).
   * @default - none
   */
  readonly rollbackAlarms?: cloudwatch.IAlarm[];

  /**
   * Where the rollback alarms also notify.
   * @default - no notification (CodeDeploy acts on them; the deployment's failure is the signal)
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * Runbook the alarm descriptions link to.
   * @default - no link
   */
  readonly runbookUrl?: string;

  /**
   * A migration that waits longer than this for a lock gives up and rolls back.
   * @default Duration.seconds(5)
   */
  readonly migrationLockTimeout?: Duration;

  /**
   * Longest statement of a migration.
   * @default Duration.minutes(5)
   */
  readonly migrationStatementTimeout?: Duration;

  /**
   * Name of the environment, for the custom deployment configuration's name.
   * @default - the stack name
   */
  readonly environmentName?: string;
}

/** The database the migration gate migrates. */
export interface MigrationTarget {
  /** Master user secret (`username`, `password`, and optionally `host`, `port`, `dbname`). */
  readonly secret: secretsmanager.ISecret;
  /** The instance endpoint (NOT the proxy): migrations are DDL under a session advisory lock. */
  readonly endpoint: { readonly hostname: string; readonly port: number };
  /** Security group(s) of the instance; the gate is allowed in on the default port. */
  readonly connections: ec2.IConnectable;
  /** VPC the gate runs in (it must reach the instance, Secrets Manager, CodeDeploy and Lambda). */
  readonly vpc: ec2.IVpc;
  /**
   * Subnets of the gate: they need a route to the AWS APIs.
   * @default - private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * Database to migrate.
   * @default - `dbname` of the secret, else `postgres`
   */
  readonly databaseName?: string;
  /**
   * The migrations the gate applies (`NNNN_name.sql` files, see `lib/migrations`); they are
   * copied into the gate's code asset at synth, so a changed file deploys a new gate.
   * @default - `migrations/` in the directory `cdk synth` runs in (the CDK app's project root)
   */
  readonly migrationsDirectory?: string;
}

/** Where the smoke test knocks and who it signs in as. */
export interface SmokeTestTarget {
  /** Base URL of the public front door (the CloudFront URL). */
  readonly apiUrl: string;
  /** The API's Cognito app client; it must allow `USER_PASSWORD_AUTH` for the smoke user. */
  readonly userPoolClient: cognito.IUserPoolClient;
  /**
   * User name of the smoke-test user (an e-mail address fits pools that sign in by e-mail).
   * @default 'smoke-test@shipshape.invalid'
   */
  readonly username?: string;
  /**
   * Public liveness path probed first.
   * @default '/health'
   */
  readonly healthPath?: string;
  /**
   * The service's own checks, run after sign-in (the smoke user's token is sent unless
   * `authenticated: false`; writes get a fresh Idempotency-Key).
   * @default - the sample API's note round trip
   */
  readonly checks?: readonly SmokeCheck[];
}

/** Props of {@link SafeDeployment}. */
export interface SafeDeploymentProps extends SafeDeploymentOptions {
  /** The alias CodeDeploy shifts (the service's `live`). */
  readonly alias: lambda.Alias;
  /**
   * Run migrations before traffic shifts.
   * @default - no migrations, the gate only self-tests the new version
   */
  readonly migrations?: MigrationTarget;
  /**
   * Smoke-test the front door after traffic shifted.
   * @default - no AfterAllowTraffic hook
   */
  readonly smokeTest?: SmokeTestTarget;
  /**
   * Path of the API's liveness check the gate invokes on the new version (a synthetic
   * `GET <healthPath>` event) before any traffic shifts.
   * @default '/health'
   */
  readonly healthPath?: string;
  /**
   * The edge's origin-verify secret, when the API refuses requests without CloudFront's header:
   * the gate's self-test (a direct invoke of the new version) sends its current value.
   * @default - the self-test sends no origin-verify header
   */
  readonly originVerifySecret?: secretsmanager.ISecret;
}

/**
 * Safe deployments of a Lambda-backed API: a CodeDeploy deployment group on the alias that
 * shifts traffic gradually and rolls back by itself.
 *
 * - **BeforeAllowTraffic — the migration gate** (`lambda/deploy-hooks/migration-gate`): applies
 *   pending migrations (each in its own transaction with lock and statement timeouts, so a failure
 *   leaves no partial schema), refuses a contract migration whose expand has not been live for a
 *   full release, self-tests the new version with `GET /health`, and reports the verdict. A
 *   failure stops the deployment while the old version still serves 100%.
 * - **AfterAllowTraffic — the smoke test** (`lambda/deploy-hooks/smoke-test`): `GET /health`
 *   and a write/read round-trip with an `Idempotency-Key` through the real front door.
 * - **Automatic rollback** on a failed deployment, a stopped deployment, or an alarm. The alarms
 *   watch the NEW version only (`alias.version` metrics carry its `Resource` dimension), so the
 *   old version's health can neither mask nor trigger them:
 *   - error rate `100 * Errors / Invocations` above `errorRateThresholdPercent` (minutes with
 *     fewer than `minimumInvocationsPerMinute` invocations count as 0);
 *   - p99 `Duration` above `latencyThreshold`.
 *
 * Both evaluate 1-minute periods and fire on 2 of 3 breaching datapoints; missing data is not
 * breaching (a version without traffic has done nothing wrong). The arithmetic for the default
 * canary, 10% for 5 minutes: the error-rate alarm needs at least 10 invocations of the new version
 * in a minute, i.e. the API must serve at least 100 requests/minute (about 1.7 per second) in
 * total. With 5% as threshold, one failure in every 20 requests on the canary breaches. Two
 * breaching minutes close at t = 2 min; CloudWatch evaluates within about a minute after
 * ingestion, so the alarm is in ALARM at about t = 3 min, before the shift at t = 5 min, and
 * CodeDeploy rolls back while 90% of the traffic never saw the new version. Below 100
 * requests/minute the alarm stays quiet and the smoke test is the gate. A canary of 1 minute
 * (staging's 50% for 1 minute) is shorter than any 2-of-3 alarm: there the alarms still roll
 * back until the deployment completes (including the AfterAllowTraffic hook), and the smoke test
 * carries the check.
 */
export class SafeDeployment extends Construct {
  /** The CodeDeploy application. */
  public readonly application: codedeploy.LambdaApplication;
  /** The deployment group on the alias. */
  public readonly deploymentGroup: codedeploy.LambdaDeploymentGroup;
  /** The traffic-shifting configuration in use. */
  public readonly deploymentConfig: codedeploy.ILambdaDeploymentConfig;
  /** BeforeAllowTraffic hook. */
  public readonly migrationGate: lambda.Function;
  /** AfterAllowTraffic hook; set by {@link addSmokeTest} (or the `smokeTest` prop). */
  public smokeTest?: lambda.Function;
  /** Secret with the smoke-test user's password (provision the Cognito user with it). */
  public smokeTestCredentials?: secretsmanager.Secret;
  /** The alias CodeDeploy shifts. */
  public readonly alias: lambda.Alias;
  /** New version's error rate above the threshold. */
  public readonly errorRateAlarm: cloudwatch.Alarm;
  /** New version's p99 latency above the threshold. */
  public readonly latencyAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: SafeDeploymentProps) {
    super(scope, id);
    const shift = props.trafficShift ?? { strategy: 'canary' };
    const percentage = shift.percentage ?? 10;
    const interval = shift.interval ?? Duration.minutes(5);
    const errorRate = props.errorRateThresholdPercent ?? 5;
    const latency = props.latencyThreshold ?? Duration.seconds(1);
    const minimumInvocations = props.minimumInvocationsPerMinute ?? 10;
    this.validate(shift, percentage, interval, errorRate, minimumInvocations);

    this.alias = props.alias;
    const version = props.alias.version;
    const runbook = props.runbookUrl ? ` Runbook: ${props.runbookUrl}` : '';

    this.errorRateAlarm = new cloudwatch.Alarm(this, 'ErrorRateAlarm', {
      alarmDescription: `Rolls the deployment back: the new version of ${props.alias.aliasName} fails more than ${errorRate}% of invocations (minutes with ${minimumInvocations}+ invocations).${runbook}`,
      metric: new cloudwatch.MathExpression({
        label: 'New version error rate (%)',
        expression: `IF(invocations >= ${minimumInvocations}, 100 * FILL(errors, 0) / invocations, 0)`,
        usingMetrics: {
          errors: newVersionMetric(version, 'Errors', 'Sum'),
          invocations: newVersionMetric(version, 'Invocations', 'Sum'),
        },
        period: Duration.minutes(1),
      }),
      threshold: errorRate,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.latencyAlarm = new cloudwatch.Alarm(this, 'LatencyAlarm', {
      alarmDescription: `Rolls the deployment back: p99 duration of the new version of ${props.alias.aliasName} is above ${latency.toMilliseconds()} ms.${runbook}`,
      metric: newVersionMetric(version, 'Duration', 'p99'),
      threshold: latency.toMilliseconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmTopic) {
      for (const alarm of [this.errorRateAlarm, this.latencyAlarm]) {
        alarm.addAlarmAction(new cw_actions.SnsAction(props.alarmTopic));
        alarm.addOkAction(new cw_actions.SnsAction(props.alarmTopic));
      }
    }

    this.application = new codedeploy.LambdaApplication(this, 'Application');
    this.deploymentConfig = this.trafficConfig(shift.strategy, percentage, interval, props.environmentName);

    this.migrationGate = this.hookFunction('MigrationGate', 'migration-gate', {
      timeout: Duration.minutes(10),
      description: 'CodeDeploy BeforeAllowTraffic: applies pending migrations, self-tests the new version',
      environment: {
        TARGET_VERSION_ARN: version.functionArn,
        MIGRATION_LOCK_TIMEOUT_MS: String(
          (props.migrationLockTimeout ?? Duration.seconds(5)).toMilliseconds(),
        ),
        MIGRATION_STATEMENT_TIMEOUT_MS: String(
          (props.migrationStatementTimeout ?? Duration.minutes(5)).toMilliseconds(),
        ),
        // Node 20+ Lambda runtimes load the RDS certificate authorities only when asked to.
        NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
        ...(props.originVerifySecret ? { ORIGIN_VERIFY_SECRET_ARN: props.originVerifySecret.secretArn } : {}),
        ...(props.healthPath ? { HEALTH_PATH: props.healthPath } : {}),
        ...(props.migrations
          ? {
              DB_SECRET_ARN: props.migrations.secret.secretArn,
              DB_HOST: props.migrations.endpoint.hostname,
              DB_PORT: Tokenization.stringifyNumber(props.migrations.endpoint.port),
              ...(props.migrations.databaseName ? { DB_NAME: props.migrations.databaseName } : {}),
            }
          : {}),
      },
      migrations: props.migrations,
    });
    version.grantInvoke(this.migrationGate);
    if (props.originVerifySecret) grantSecretRead(props.originVerifySecret, this.migrationGate);
    if (props.migrations) {
      grantSecretRead(props.migrations.secret, this.migrationGate);
      // From the gate's side: with the database in a stack this one depends on, the rule then
      // lands in this stack (no dependency cycle), as Database.grantConnect does.
      this.migrationGate.connections.allowTo(
        props.migrations.connections,
        props.migrations.connections.connections.defaultPort ?? ec2.Port.tcp(props.migrations.endpoint.port),
        'Migration gate (CodeDeploy BeforeAllowTraffic hook)',
      );
    }

    this.deploymentGroup = new codedeploy.LambdaDeploymentGroup(this, 'DeploymentGroup', {
      application: this.application,
      alias: props.alias,
      deploymentConfig: this.deploymentConfig,
      alarms: [this.errorRateAlarm, this.latencyAlarm, ...(props.rollbackAlarms ?? [])],
      preHook: this.migrationGate,
      autoRollback: { failedDeployment: true, stoppedDeployment: true, deploymentInAlarm: true },
    });
    this.acknowledgeHookInvoke(this.migrationGate);
    // The alias update starts the CodeDeploy deployment. The gate must be updated first (its
    // TARGET_VERSION_ARN names the new version) with its permissions in place; a Ref inside the
    // alias's UpdatePolicy alone does not order the updates.
    props.alias.node.addDependency(this.migrationGate);
    // The gate reads its own deployment and group (for the contract rule); nothing else.
    this.migrationGate.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['codedeploy:GetDeployment', 'codedeploy:GetDeploymentGroup'],
        resources: [this.deploymentGroup.deploymentGroupArn],
      }),
    );
    if (props.smokeTest) this.addSmokeTest(props.smokeTest);
    Validations.of(this).acknowledge({
      id: 'NIST.800.53.R5-IAMNoInlinePolicy',
      reason:
        "CDK grant methods write each role's least-privilege statements into that role's own DefaultPolicy, scoped to this construct's resources; a managed policy would be shareable across roles, which least privilege avoids.",
    });
    const tokenPort =
      "The hook's egress goes to the database security group on the instance's Endpoint.Port token (PostgreSQL, 5432), never SSH and never a CIDR; the rule cannot resolve the token.";
    Validations.of(this).acknowledge({ id: 'NIST.800.53.R5-EC2RestrictedSSH', reason: tokenPort });
    Validations.of(this).acknowledge({ id: 'NIST.800.53.R5-EC2RestrictedCommonPorts', reason: tokenPort });
    Validations.of(this.deploymentGroup).acknowledge({
      id: managedPolicyFinding('service-role/AWSCodeDeployRoleForLambdaLimited'),
      reason:
        'The AWS-managed CodeDeploy role for Lambda, limited variant: alias updates and invoking hooks named CodeDeployHook_* are scoped by AWS; the L2 attaches it.',
    });
  }

  /**
   * Adds the AfterAllowTraffic smoke test (once the front door exists). Creates the smoke-test
   * user's credentials secret; provision the Cognito user from it (README "Safe deployment").
   */
  public addSmokeTest(target: SmokeTestTarget): lambda.Function {
    if (this.smokeTest) {
      throw new Error(
        `SafeDeployment '${this.node.path}': a smoke test is already defined; call addSmokeTest once`,
      );
    }
    const username = target.username ?? 'smoke-test@shipshape.invalid';
    // The secret holds the password alone; the user name is no secret and travels in env.
    this.smokeTestCredentials = new secretsmanager.Secret(this, 'SmokeTestCredentials', {
      description: `Password of the smoke-test user ${username} (AfterAllowTraffic hook)`,
      generateSecretString: {
        passwordLength: 32,
        requireEachIncludedType: true,
        // Cognito accepts these symbols; quotes, backslash and backtick only make shells unhappy.
        excludeCharacters: '"\'\\`',
      },
    });
    const lockstep =
      'The password must equal the Cognito smoke user password; rotating it needs admin-set-user-password in lockstep, done by the operator (runbooks/deployment-failed.md). The user can only reach its own notes (RLS).';
    Validations.of(this.smokeTestCredentials).acknowledge({ id: 'AwsSolutions-SMG4', reason: lockstep });
    Validations.of(this.smokeTestCredentials).acknowledge({
      id: 'NIST.800.53.R5-SecretsManagerRotationEnabled',
      reason: lockstep,
    });
    Validations.of(this.smokeTestCredentials).acknowledge({
      id: 'NIST.800.53.R5-SecretsManagerUsingKMSKey',
      reason:
        'The password of a test user that owns only test notes; the AWS managed key suffices and avoids a key policy for one secret.',
    });
    this.smokeTest = this.hookFunction('SmokeTest', 'smoke-test', {
      timeout: Duration.minutes(2),
      description: 'CodeDeploy AfterAllowTraffic: smoke test through the front door',
      environment: {
        API_URL: target.apiUrl,
        USER_POOL_CLIENT_ID: target.userPoolClient.userPoolClientId,
        SMOKE_USERNAME: username,
        SMOKE_PASSWORD_SECRET_ARN: this.smokeTestCredentials.secretArn,
        ...(target.healthPath ? { SMOKE_HEALTH_PATH: target.healthPath } : {}),
        ...(target.checks ? { SMOKE_CHECKS: JSON.stringify(target.checks) } : {}),
      },
    });
    this.smokeTestCredentials.grantRead(this.smokeTest);
    this.deploymentGroup.addPostHook(this.smokeTest);
    this.alias.node.addDependency(this.smokeTest);
    this.acknowledgeHookInvoke(this.smokeTest);
    return this.smokeTest;
  }

  private acknowledgeHookInvoke(hook: lambda.IFunction): void {
    const logicalId = Stack.of(this).getLogicalId(hook.node.defaultChild as lambda.CfnFunction);
    Validations.of(this.deploymentGroup).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>:*]`,
      reason: `CodeDeploy invokes the ${hook.node.id} hook; the L2 grant covers the qualified ARNs (versions) of this one function only.`,
    });
  }

  /** Adds an alarm that rolls deployments back while it is in ALARM (e.g. the SLO fast-burn alarm). */
  public addRollbackAlarm(alarm: cloudwatch.IAlarm): void {
    this.deploymentGroup.addAlarm(alarm);
  }

  /** Lets `grantee` start and stop deployments of this group (e.g. the operator CLI's rollback). */
  public grantDeploy(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: [
        'codedeploy:CreateDeployment',
        'codedeploy:StopDeployment',
        'codedeploy:GetDeployment',
        'codedeploy:GetDeploymentGroup',
        'codedeploy:ListDeployments',
      ],
      resourceArns: [this.deploymentGroup.deploymentGroupArn],
    });
  }

  /** Error rate of the new version, in percent (the rollback alarm's metric). */
  public metricNewVersionErrorRate(): cloudwatch.IMetric {
    return this.errorRateAlarm.metric;
  }

  private validate(
    shift: TrafficShift,
    percentage: number,
    interval: Duration,
    errorRate: number,
    minimumInvocations: number,
  ): void {
    const where = `SafeDeployment '${this.node.path}'`;
    if (shift.strategy !== 'allAtOnce') {
      if (
        !Token.isUnresolved(percentage) &&
        (!Number.isInteger(percentage) || percentage < 1 || percentage > 99)
      ) {
        throw new Error(
          `${where}: trafficShift.percentage must be a whole number from 1 to 99, got ${percentage}`,
        );
      }
      const minutes = interval.toMinutes({ integral: false });
      if (!interval.isUnresolved() && (!Number.isInteger(minutes) || minutes < 1 || minutes > 60)) {
        throw new Error(
          `${where}: trafficShift.interval must be whole minutes from 1 to 60, got ${interval.toHumanString()}; use Duration.minutes(n)`,
        );
      }
    }
    if (!Token.isUnresolved(errorRate) && (errorRate <= 0 || errorRate >= 100)) {
      throw new Error(
        `${where}: errorRateThresholdPercent must be above 0 and below 100, got ${errorRate}; 5 fits most APIs`,
      );
    }
    if (
      !Token.isUnresolved(minimumInvocations) &&
      (!Number.isInteger(minimumInvocations) || minimumInvocations < 1)
    ) {
      throw new Error(
        `${where}: minimumInvocationsPerMinute must be a whole number of at least 1, got ${minimumInvocations}`,
      );
    }
  }

  private trafficConfig(
    strategy: TrafficShift['strategy'],
    percentage: number,
    interval: Duration,
    environmentName: string | undefined,
  ): codedeploy.ILambdaDeploymentConfig {
    if (strategy === 'allAtOnce') return codedeploy.LambdaDeploymentConfig.ALL_AT_ONCE;
    const minutes = interval.toMinutes();
    // A stable, readable name per environment and shape: two environments in one account (or a
    // changed shape) never collide, and the same shape never replaces the resource.
    const env = (environmentName ?? Stack.of(this).stackName).replace(/[^A-Za-z0-9-]/g, '-');
    const shape = strategy === 'canary' ? 'Canary' : 'Linear';
    return new codedeploy.LambdaDeploymentConfig(this, 'TrafficShift', {
      deploymentConfigName: `Shipshape-${env}-${shape}${percentage}Percent${minutes}Minutes`,
      trafficRouting:
        strategy === 'canary'
          ? new codedeploy.TimeBasedCanaryTrafficRouting({ percentage, interval })
          : new codedeploy.TimeBasedLinearTrafficRouting({ percentage, interval }),
    });
  }

  /** Egress HTTPS only (AWS APIs through the NAT); the database port is opened by `allowTo`. */
  private hookSecurityGroup(id: string, vpc: ec2.IVpc): ec2.SecurityGroup {
    const group = new ec2.SecurityGroup(this, `${id}SecurityGroup`, {
      vpc,
      description: `${id} hook: HTTPS to AWS APIs and PostgreSQL to the database only`,
      allowAllOutbound: false,
    });
    group.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(443),
      'HTTPS to AWS APIs (Secrets Manager, CodeDeploy, Lambda)',
    );
    return group;
  }

  private hookFunction(
    id: string,
    entryFolder: string,
    options: {
      readonly timeout: Duration;
      readonly description: string;
      readonly environment: Record<string, string>;
      readonly migrations?: MigrationTarget;
    },
  ): lambda.Function {
    const logGroup = new logs.LogGroup(this, `${id}Logs`, { retention: logs.RetentionDays.THREE_MONTHS });
    const fn = new lambda.Function(this, id, {
      code: handlerCode(`deploy-hooks/${entryFolder}`, {
        // The migration files travel with the gate: lib/migrations finds them next to the handler.
        extraDirectories: options.migrations
          ? { migrations: migrationsDirectory(this, options.migrations) }
          : undefined,
      }),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 512,
      timeout: options.timeout,
      description: options.description,
      environment: { POWERTOOLS_SERVICE_NAME: `shipshape-${entryFolder}`, ...options.environment },
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      ...(options.migrations
        ? {
            vpc: options.migrations.vpc,
            vpcSubnets: options.migrations.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
            securityGroups: [this.hookSecurityGroup(id, options.migrations.vpc)],
          }
        : {}),
    });
    Validations.of(fn).acknowledge({
      id: managedPolicyFinding('service-role/AWSLambdaBasicExecutionRole'),
      reason: 'AWS-managed basic execution role: writes to its own log group only.',
    });
    if (options.migrations) {
      Validations.of(fn).acknowledge({
        id: managedPolicyFinding('service-role/AWSLambdaVPCAccessExecutionRole'),
        reason:
          'AWS-managed VPC access role: lets Lambda manage the ENIs the gate needs to reach the database.',
      });
    }
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray PutTraceSegments/PutTelemetryRecords have no resource-level permissions.',
    });
    const ack = (scope: Construct, ruleId: string, reason: string) =>
      Validations.of(scope).acknowledge({ id: ruleId, reason });
    const hook =
      'A CodeDeploy lifecycle hook: invoked once per deployment, reporting through PutLifecycleEventHookExecutionStatus; a failure or timeout fails the deployment and rolls back. A DLQ would never be read and a concurrency reservation would take account capacity for one invocation per deploy.';
    ack(fn, 'NIST.800.53.R5-LambdaDLQ', hook);
    ack(fn, 'Serverless-LambdaDLQ', hook);
    ack(fn, 'NIST.800.53.R5-LambdaConcurrency', hook);
    if (!options.migrations) {
      ack(
        fn,
        'NIST.800.53.R5-LambdaInsideVPC',
        'The smoke test calls the public API through CloudFront, as a user does; inside the VPC it would need NAT to test the same path.',
      );
    }
    const hookLogs =
      'Deployment hook logs (deployment ids, migration names, smoke-test steps; never the password), encrypted at rest by CloudWatch Logs with service keys; kept three months, the span of deployment forensics.';
    ack(logGroup, 'NIST.800.53.R5-CloudWatchLogGroupEncrypted', hookLogs);
    ack(logGroup, guardRuleId('cloudwatch_log_group_encrypted_check'), hookLogs);
    ack(logGroup, guardRuleId('cloudwatch_log_group_retention_period_check'), hookLogs);
    return fn;
  }
}

/**
 * A 1-minute AWS/Lambda metric of one version. CloudWatch's `Resource` dimension of a version
 * is `<function name>:<version>`; `Version.metric*()` puts the full ARN there, which matches
 * no datapoint, so the metric is built by hand.
 */
function newVersionMetric(
  version: lambda.IVersion,
  metricName: string,
  statistic: string,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/Lambda',
    metricName,
    statistic,
    period: Duration.minutes(1),
    dimensionsMap: {
      FunctionName: version.lambda.functionName,
      Resource: `${version.lambda.functionName}:${version.version}`,
    },
  });
}

/**
 * `secret.grantRead(grantee)` through the grantee's own policy only. The L2 also writes the
 * grantee into the secret's KMS key policy, which for a secret in the stateful stack and a hook in
 * the stateless one is a reference back from stateful to stateless: a dependency cycle. The key
 * policy already delegates to IAM in the account, so the identity policy suffices.
 */
function grantSecretRead(secret: secretsmanager.ISecret, grantee: iam.IGrantable): void {
  iam.Grant.addToPrincipal({
    grantee,
    actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
    resourceArns: [secret.secretFullArn ?? `${secret.secretArn}-??????`],
  });
  if (secret.encryptionKey) {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [secret.encryptionKey.keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(secret).region}.amazonaws.com` },
        },
      }),
    );
  }
}

/**
 * The granular cdk-nag id of an AWS-managed policy finding. Managed policy ARNs always carry
 * the `AWS::Partition` pseudo parameter, whatever the stack knows about its partition.
 */
function managedPolicyFinding(policyName: string): string {
  return `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/${policyName}]`;
}

/** The migrations directory the gate ships with; a missing one fails synth naming the fix. */
function migrationsDirectory(scope: Construct, target: MigrationTarget): string {
  const dir = path.resolve(target.migrationsDirectory ?? 'migrations');
  const hasSql = existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.sql'));
  if (!hasSql) {
    throw new Error(
      `SafeDeployment '${scope.node.path}': the migration gate has no migrations to apply: '${dir}' ${
        existsSync(dir) ? 'holds no .sql file' : 'does not exist'
      }. Set migrations.migrationsDirectory to your migrations folder, or leave out \`migrations\` to deploy without a migration gate.`,
    );
  }
  return dir;
}
