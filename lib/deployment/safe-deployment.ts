import { Duration, Stack, Tokenization, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledgeGrantPolicies } from '../shared/function-acknowledgements';
import { createRollbackAlarms } from './alarms';
import { createHookFunction, grantSecretRead, managedPolicyFinding } from './hooks';
import type { SafeDeploymentProps, SmokeTestTarget, TrafficShift } from './props';
import { validateSafeDeployment } from './validation';

export * from './props';

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
  public readonly migrationGate: nodejs.NodejsFunction;
  /** AfterAllowTraffic hook; set by {@link addSmokeTest} (or the `smokeTest` prop). */
  public smokeTest?: nodejs.NodejsFunction;
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
    validateSafeDeployment(this, shift, percentage, interval, errorRate, minimumInvocations);

    this.alias = props.alias;
    const version = props.alias.version;

    ({ errorRateAlarm: this.errorRateAlarm, latencyAlarm: this.latencyAlarm } = createRollbackAlarms(this, {
      version,
      aliasName: props.alias.aliasName,
      errorRate,
      latency,
      minimumInvocations,
      runbookUrl: props.runbookUrl,
      alarmTopic: props.alarmTopic,
    }));

    this.application = new codedeploy.LambdaApplication(this, 'Application');
    this.deploymentConfig = this.trafficConfig(shift.strategy, percentage, interval, props.environmentName);

    this.migrationGate = createHookFunction(this, 'MigrationGate', 'migration-gate', {
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
    acknowledgeGrantPolicies(this);
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
  public addSmokeTest(target: SmokeTestTarget): nodejs.NodejsFunction {
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
    this.smokeTest = createHookFunction(this, 'SmokeTest', 'smoke-test', {
      timeout: Duration.minutes(2),
      description: 'CodeDeploy AfterAllowTraffic: smoke test through the front door',
      environment: {
        API_URL: target.apiUrl,
        USER_POOL_CLIENT_ID: target.userPoolClient.userPoolClientId,
        SMOKE_USERNAME: username,
        SMOKE_PASSWORD_SECRET_ARN: this.smokeTestCredentials.secretArn,
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
}
