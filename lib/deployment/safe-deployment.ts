import { Duration, Stack, Tokenization, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledgeGrantPolicies } from '../shared/function-acknowledgements';
import { createRollbackAlarms } from './alarms';
import { createHookFunction, grantSecretRead, managedPolicyFinding } from './hooks';
import type { SafeDeploymentProps, SmokeTestTarget, TrafficShift } from './props';
import { validateSafeDeployment } from './validation';

export * from './canary-arithmetic';
export * from './props';

/**
 * Safe deployments of a Lambda-backed API: a CodeDeploy deployment group on the alias that
 * shifts traffic gradually and rolls back by itself.
 *
 * - **BeforeAllowTraffic — the migration gate** (`lambda/deploy-hooks/migration-gate`): reads the
 *   deployment it is called for (`GetDeployment`, its AppSpec: function, current and target
 *   version). Rolling forward it applies pending migrations (each in its own transaction with
 *   lock and statement timeouts, so a failure leaves no partial schema) and refuses a contract
 *   migration whose expand has not been live for a full release; rolling back (target older than
 *   current) it applies none. Either way it self-tests the TARGET version with `GET /health` and
 *   reports the verdict. A failure stops the deployment while the current version still serves 100%.
 * - **AfterAllowTraffic — the smoke test** (`lambda/deploy-hooks/smoke-test`): `GET /health`
 *   and a write/read round-trip with an `Idempotency-Key` through the real front door.
 * - Both hooks report Failed on bad settings or any error, and stop within a total time budget
 *   (Lambda's remaining time less 20 s to report), so a deployment never waits an hour on them.
 * - **Automatic rollback** on a failed deployment, a stopped deployment, or an alarm. The alarms
 *   watch the new version's real traffic through the alias (see `alarms.ts`):
 *   - `ErrorRateAlarm`: 5xx responses / requests of the new version from the service's EMF
 *     metrics, above `errorRateThresholdPercent` (4xx never count);
 *   - `LatencyAlarm`: p99 latency of the new version (EMF) above `latencyThreshold`;
 *   - `InvocationErrorRateAlarm`: Lambda's failed and throttled invocations of the new version
 *     through the alias (`ExecutedVersion`), which catches crashes that write no EMF line.
 *   Minutes with fewer than `minimumInvocationsPerMinute` requests on the new version count as
 *   0; missing data is not breaching (see `alarms.ts` for why).
 *
 * All evaluate 1-minute periods and fire on 2 of 3 breaching datapoints, so a canary interval
 * shorter than 3 minutes is refused at synth, and so is an `expectedRequestsPerMinute` that, at
 * the canary percentage, never reaches the minimum (see `canary-arithmetic.ts` and
 * docs/constructs/safe-deployment.md for the arithmetic).
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
  /** New version's failed or throttled invocations (Lambda's own metrics) above the threshold. */
  public readonly invocationErrorRateAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: SafeDeploymentProps) {
    super(scope, id);
    const shift = props.trafficShift ?? { strategy: 'canary' };
    const percentage = shift.percentage ?? 10;
    const interval = shift.interval ?? Duration.minutes(5);
    const errorRate = props.errorRateThresholdPercent ?? 5;
    const latency = props.latencyThreshold ?? Duration.seconds(1);
    const minimumRequests = props.minimumInvocationsPerMinute ?? 10;
    validateSafeDeployment(this, {
      shift,
      percentage,
      interval,
      errorRate,
      minimumRequests,
      expectedRequestsPerMinute: props.expectedRequestsPerMinute,
    });

    this.alias = props.alias;
    const alarms = createRollbackAlarms(this, {
      alias: props.alias,
      errorRate,
      latency,
      minimumRequests,
      runbookUrl: props.runbookUrl,
      alarmTopic: props.alarmTopic,
    });
    this.errorRateAlarm = alarms.errorRateAlarm;
    this.latencyAlarm = alarms.latencyAlarm;
    this.invocationErrorRateAlarm = alarms.invocationErrorRateAlarm;
    // The alarms name the new version: they are updated before the alias update starts the
    // deployment, or the canary would be watched through the previous version's metrics.
    for (const alarm of Object.values(alarms)) props.alias.node.addDependency(alarm);

    this.application = new codedeploy.LambdaApplication(this, 'Application');
    this.deploymentConfig = this.trafficConfig(shift.strategy, percentage, interval, props.environmentName);

    this.migrationGate = createHookFunction(this, 'MigrationGate', 'migration-gate', {
      timeout: Duration.minutes(10),
      description: 'CodeDeploy BeforeAllowTraffic: applies pending migrations, self-tests the new version',
      environment: {
        // The function only: the versions come from each deployment's AppSpec at run time.
        TARGET_FUNCTION_NAME: props.alias.version.lambda.functionName,
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
    this.grantSelfTest(props.alias);
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
      alarms: [...Object.values(alarms), ...(props.rollbackAlarms ?? [])],
      preHook: this.migrationGate,
      autoRollback: { failedDeployment: true, stoppedDeployment: true, deploymentInAlarm: true },
    });
    this.acknowledgeHookInvoke(this.migrationGate);
    // The alias update starts the CodeDeploy deployment. The gate (its code and settings) must
    // be updated first with its permissions in place; a Ref inside the alias's UpdatePolicy
    // alone does not order the updates.
    props.alias.node.addDependency(this.migrationGate);
    // The gate reads its own deployment (the AppSpec) and group (for the contract rule); nothing
    // else. Both actions take the deploymentgroup resource type, the narrowest the service
    // authorization reference offers for them (a deployment id has no ARN of its own):
    // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscodedeploy.html
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
    this.smokeTest = createHookFunction(this, 'SmokeTest', 'smoke-test', {
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

  /**
   * The gate invokes the deployment's target version, whichever it is: `lambda:InvokeFunction`
   * on the function's qualified ARNs, with the alias itself denied (its routing is what the
   * deployment decides). The unqualified ARN ($LATEST) does not match `<arn>:*`.
   */
  private grantSelfTest(alias: lambda.Alias): void {
    const fn = alias.version.lambda;
    this.migrationGate.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [`${fn.functionArn}:*`] }),
    );
    this.migrationGate.addToRolePolicy(
      new iam.PolicyStatement({
        effect: iam.Effect.DENY,
        actions: ['lambda:InvokeFunction'],
        // Built from the function's ARN: a reference to the alias would cycle (the alias waits for this policy).
        resources: [`${fn.functionArn}:${alias.aliasName}`],
      }),
    );
    const child = fn.node.defaultChild;
    const arn =
      child instanceof lambda.CfnFunction ? `<${Stack.of(child).getLogicalId(child)}.Arn>` : fn.functionArn;
    Validations.of(this.migrationGate).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${arn}:*]`,
      reason:
        "The gate self-tests the version each deployment targets, known only at run time from the deployment's AppSpec: the versions of this one function; its alias is denied.",
    });
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
