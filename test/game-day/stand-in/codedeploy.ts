/**
 * CodeDeploy for Lambda, as the stand-in models it
 * (https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-steps-lambda.html):
 * a deployment moves an alias from `CurrentVersion` to `TargetVersion` (AppSpec,
 * https://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file-structure-resources.html)
 * through the lifecycle events BeforeAllowTraffic → AllowTraffic → AfterAllowTraffic.
 * - Hooks: CodeDeploy invokes the hook function with `DeploymentId` and
 *   `LifecycleEventHookExecutionId` and waits for `PutLifecycleEventHookExecutionStatus`; no
 *   status within one hour fails the event
 *   (https://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file-structure-hooks.html#appspec-hooks-lambda).
 *   The invocation is asynchronous, so a hook that throws is retried by Lambda twice, one and two
 *   minutes later (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html).
 * - Traffic: all at once, or canary (percentage, wait the interval, then the rest), or linear
 *   (https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations.html).
 * - Alarms: while a deployment runs, CodeDeploy polls the group's alarms (or the deployment's
 *   `overrideAlarmConfiguration`, https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_CreateDeployment.html)
 *   and stops the deployment when one is in ALARM; an alarm already in ALARM blocks a new
 *   deployment ("Turning off alarm polling ensures that the new deployment proceeds without being
 *   blocked by the alarm", same page). The stand-in polls when the deployment starts, before each
 *   lifecycle event and every minute while it waits (the polling interval is not documented).
 * - Rollback: on failure, on StopDeployment with auto-rollback, or on an alarm, with the group's
 *   AutoRollbackConfiguration, the alias goes back to `CurrentVersion` at 100% and a rollback
 *   deployment (creator `codeDeployRollback`, `rollbackInfo`) is recorded
 *   (https://docs.aws.amazon.com/codedeploy/latest/userguide/deployments-rollback-and-redeploy.html).
 *   The stand-in's rollback completes at once and runs no hooks (unverified: AWS runs it as a
 *   deployment of its own that takes some seconds).
 * - One active deployment per group: CreateDeployment fails with
 *   DeploymentLimitExceededException while one is in progress.
 */
import type { SimClock } from './clock';
import type { LambdaService } from './lambda';

const HOOK_TIMEOUT_MS = 60 * 60_000;
const ASYNC_RETRY_DELAYS_MS = [60_000, 120_000];

export interface TrafficConfig {
  readonly type: 'AllAtOnce' | 'TimeBasedCanary' | 'TimeBasedLinear';
  readonly percentage?: number;
  readonly intervalMinutes?: number;
}

export interface AlarmConfig {
  readonly enabled: boolean;
  readonly alarms: readonly string[];
  readonly ignorePollAlarmFailure?: boolean;
}

export interface DeploymentGroup {
  readonly applicationName: string;
  readonly deploymentGroupName: string;
  readonly deploymentConfigName: string;
  readonly alarmConfiguration: AlarmConfig;
  readonly autoRollbackEvents: readonly string[];
}

export interface Deployment {
  readonly deploymentId: string;
  readonly applicationName: string;
  readonly deploymentGroupName: string;
  readonly deploymentConfigName: string;
  readonly description?: string;
  readonly creator: string;
  readonly appSpec: string;
  readonly functionName: string;
  readonly alias: string;
  readonly currentVersion: string;
  readonly targetVersion: string;
  readonly hooks: Readonly<Record<string, string>>;
  readonly alarmConfiguration: AlarmConfig;
  readonly overrideAlarmConfiguration?: AlarmConfig;
  status: 'Created' | 'InProgress' | 'Succeeded' | 'Failed' | 'Stopped';
  readonly createTime: number;
  completeTime?: number;
  errorInformation?: { code: string; message: string };
  rollbackInfo?: {
    rollbackDeploymentId?: string;
    rollbackTriggeringDeploymentId?: string;
    rollbackMessage?: string;
  };
  /** When the target version first carried 100% of traffic. */
  fullTrafficAt?: number;
  readonly events: Array<{ time: number; event: string; detail?: string }>;
}

interface PendingHook {
  readonly deployment: Deployment;
  readonly executionId: string;
  readonly hook: string;
  readonly startedAt: number;
  status?: 'Succeeded' | 'Failed';
  reportedAt?: number;
}

export class CodeDeployService {
  public readonly deployments: Deployment[] = [];
  private readonly groups = new Map<string, DeploymentGroup>();
  private readonly configs = new Map<string, TrafficConfig>([
    ['CodeDeployDefault.LambdaAllAtOnce', { type: 'AllAtOnce' }],
    [
      'CodeDeployDefault.LambdaCanary10Percent5Minutes',
      { type: 'TimeBasedCanary', percentage: 10, intervalMinutes: 5 },
    ],
  ]);
  private readonly hooks = new Map<string, PendingHook>();
  private ids = 0;

  constructor(
    private readonly clock: SimClock,
    private readonly lambda: LambdaService,
    private readonly alarmState: (name: string) => string,
  ) {}

  public addConfig(name: string, config: TrafficConfig): void {
    this.configs.set(name, config);
  }

  public addGroup(group: DeploymentGroup): void {
    this.groups.set(`${group.applicationName}/${group.deploymentGroupName}`, group);
  }

  public group(applicationName: string, deploymentGroupName: string): DeploymentGroup {
    const group = this.groups.get(`${applicationName}/${deploymentGroupName}`);
    if (!group)
      throw awsError('DeploymentGroupDoesNotExistException', `No deployment group ${deploymentGroupName}`);
    return group;
  }

  public get(deploymentId: string): Deployment {
    const d = this.deployments.find((x) => x.deploymentId === deploymentId);
    if (!d)
      throw awsError('DeploymentDoesNotExistException', `The deployment ${deploymentId} could not be found`);
    return d;
  }

  public active(applicationName: string, deploymentGroupName: string): Deployment | undefined {
    return this.deployments.find(
      (d) =>
        d.applicationName === applicationName &&
        d.deploymentGroupName === deploymentGroupName &&
        (d.status === 'Created' || d.status === 'InProgress'),
    );
  }

  public lastSuccessful(applicationName: string, deploymentGroupName: string): Deployment | undefined {
    return [...this.deployments]
      .reverse()
      .find(
        (d) =>
          d.applicationName === applicationName &&
          d.deploymentGroupName === deploymentGroupName &&
          d.status === 'Succeeded',
      );
  }

  /** CreateDeployment with an AppSpec (JSON; `version: 0.0` as CodeDeploy writes it). */
  public create(input: {
    applicationName: string;
    deploymentGroupName: string;
    deploymentConfigName?: string;
    description?: string;
    appSpec: string;
    creator?: string;
    overrideAlarmConfiguration?: AlarmConfig;
  }): Deployment {
    const group = this.group(input.applicationName, input.deploymentGroupName);
    const configName = input.deploymentConfigName ?? group.deploymentConfigName;
    if (!this.configs.has(configName))
      throw awsError('DeploymentConfigDoesNotExistException', `No config ${configName}`);
    const active = this.active(input.applicationName, input.deploymentGroupName);
    if (active) {
      throw awsError(
        'DeploymentLimitExceededException',
        `The deployment group ${input.deploymentGroupName} already has an active deployment ${active.deploymentId}`,
      );
    }
    const spec = parseAppSpec(input.appSpec);
    const alias = this.lambda.getAlias(spec.functionName, spec.alias);
    // Unverified but safe: the AppSpec's CurrentVersion must be what the alias serves.
    if (alias.version !== spec.currentVersion || Object.keys(alias.weights).length > 0) {
      throw awsError(
        'InvalidInputException',
        `AppSpec CurrentVersion ${spec.currentVersion} is not the version alias ${spec.alias} serves (${alias.version})`,
      );
    }
    this.lambda.configuration(spec.functionName, spec.targetVersion);
    const deployment: Deployment = {
      deploymentId: `d-${String(++this.ids).padStart(9, '0').replace(/0/g, 'A')}`,
      applicationName: input.applicationName,
      deploymentGroupName: input.deploymentGroupName,
      deploymentConfigName: configName,
      description: input.description,
      creator: input.creator ?? 'user',
      appSpec: input.appSpec,
      ...spec,
      alarmConfiguration: input.overrideAlarmConfiguration ?? group.alarmConfiguration,
      overrideAlarmConfiguration: input.overrideAlarmConfiguration,
      status: 'Created',
      createTime: this.clock.now(),
      events: [],
    };
    this.deployments.push(deployment);
    this.clock.at(this.clock.now(), () => this.run(deployment));
    return deployment;
  }

  /** StopDeployment: with auto-rollback, the alias goes back to the current version. */
  public stop(deploymentId: string, autoRollbackEnabled: boolean | undefined): void {
    const d = this.get(deploymentId);
    if (d.status !== 'InProgress' && d.status !== 'Created') {
      throw awsError(
        'DeploymentAlreadyCompletedException',
        `The deployment ${deploymentId} has already completed`,
      );
    }
    this.end(
      d,
      'Stopped',
      { code: 'DEPLOYMENT_STOPPED', message: 'The deployment was stopped by the user' },
      autoRollbackEnabled ?? true,
    );
  }

  /** PutLifecycleEventHookExecutionStatus. */
  public putHookStatus(deploymentId: string, executionId: string, status: string): void {
    const pending = this.hooks.get(executionId);
    if (!pending || pending.deployment.deploymentId !== deploymentId) {
      throw awsError('InvalidLifecycleEventHookExecutionIdException', `No hook execution ${executionId}`);
    }
    if (pending.status)
      throw awsError('LifecycleEventAlreadyCompletedException', `${executionId} already completed`);
    if (status !== 'Succeeded' && status !== 'Failed') {
      throw awsError('InvalidLifecycleEventHookExecutionStatusException', `status ${status}`);
    }
    pending.status = status;
    pending.reportedAt = this.clock.now();
  }

  /** Every hook execution, for the scenarios' timing assertions. */
  public hookExecutions(): PendingHook[] {
    return [...this.hooks.values()];
  }

  private log(d: Deployment, event: string, detail?: string): void {
    d.events.push({ time: this.clock.now(), event, detail });
  }

  private alarmInAlarm(d: Deployment): string | undefined {
    if (!d.alarmConfiguration.enabled) return undefined;
    return d.alarmConfiguration.alarms.find((name) => this.alarmState(name) === 'ALARM');
  }

  /** Stops the deployment if an alarm fires; returns whether it is still running. */
  private poll(d: Deployment): boolean {
    if (d.status !== 'InProgress') return false;
    const firing = this.alarmInAlarm(d);
    if (firing) {
      this.end(
        d,
        'Stopped',
        {
          code: 'ALARM_ACTIVE',
          message: `One or more alarms have been activated according to the Amazon CloudWatch metrics you selected, and the affected deployments have been stopped. Activated alarms: <${firing}>`,
        },
        this.rollbackOn(d, 'DEPLOYMENT_STOP_ON_ALARM'),
      );
      return false;
    }
    return true;
  }

  private rollbackOn(d: Deployment, event: string): boolean {
    return this.group(d.applicationName, d.deploymentGroupName).autoRollbackEvents.includes(event);
  }

  /** Waits `ms` of simulated time, polling alarms every minute; false when the deployment ended. */
  private async wait(d: Deployment, ms: number): Promise<boolean> {
    const end = this.clock.now() + ms;
    while (this.clock.now() < end) {
      const step = Math.min(60_000 - (this.clock.now() % 60_000), end - this.clock.now());
      await this.clock.sleep(step);
      if (!this.poll(d)) return false;
    }
    return true;
  }

  private async run(d: Deployment): Promise<void> {
    d.status = 'InProgress';
    this.log(d, 'Start');
    // The lifecycle runs as a chain of scheduled steps, so time (and traffic) moves between them.
    const steps: Array<() => Promise<boolean>> = [
      async () => this.poll(d),
      () => this.runHook(d, 'BeforeAllowTraffic'),
      async () => this.poll(d),
      () => this.shift(d),
      async () => this.poll(d),
      () => this.runHook(d, 'AfterAllowTraffic'),
    ];
    const next = async (i: number): Promise<void> => {
      if (i === steps.length) {
        if (d.status === 'InProgress') {
          d.status = 'Succeeded';
          d.completeTime = this.clock.now();
          this.log(d, 'End', 'Succeeded');
        }
        return;
      }
      if (!(await steps[i]())) return;
      this.clock.at(this.clock.now(), () => next(i + 1));
    };
    await next(0);
  }

  private async shift(d: Deployment): Promise<boolean> {
    const config = this.configs.get(d.deploymentConfigName)!;
    this.log(d, 'AllowTraffic', config.type);
    if (config.type === 'TimeBasedCanary') {
      this.lambda.updateAlias(d.functionName, d.alias, d.currentVersion, {
        [d.targetVersion]: config.percentage! / 100,
      });
      this.log(d, 'Shifted', `${config.percentage}%`);
      if (!(await this.wait(d, config.intervalMinutes! * 60_000))) return false;
    } else if (config.type === 'TimeBasedLinear') {
      for (let pct = config.percentage!; pct < 100; pct += config.percentage!) {
        this.lambda.updateAlias(d.functionName, d.alias, d.currentVersion, { [d.targetVersion]: pct / 100 });
        this.log(d, 'Shifted', `${pct}%`);
        if (!(await this.wait(d, config.intervalMinutes! * 60_000))) return false;
      }
    }
    this.lambda.updateAlias(d.functionName, d.alias, d.targetVersion);
    d.fullTrafficAt = this.clock.now();
    this.log(d, 'Shifted', '100%');
    return true;
  }

  private async runHook(d: Deployment, hook: string): Promise<boolean> {
    const fn = d.hooks[hook];
    if (!fn) return true;
    const executionId = `${hook}-${d.deploymentId}-${this.hooks.size + 1}`;
    const pending: PendingHook = { deployment: d, executionId, hook, startedAt: this.clock.now() };
    this.hooks.set(executionId, pending);
    this.log(d, hook, `invoke ${fn}`);
    const event = { DeploymentId: d.deploymentId, LifecycleEventHookExecutionId: executionId };
    const attempt = async () => {
      const result = await this.lambda.invoke(fn, event);
      this.log(
        d,
        hook,
        `${result.functionError ? 'invocation failed' : 'returned'}: ${JSON.stringify(result.payload ?? null).slice(0, 400)}`,
      );
      return result.functionError === undefined;
    };
    if (!(await attempt())) {
      let at = this.clock.now();
      for (const delay of ASYNC_RETRY_DELAYS_MS) {
        at += delay;
        this.clock.at(at, async () => {
          if (!pending.status && d.status === 'InProgress') await attempt();
        });
      }
    }
    const deadline = pending.startedAt + HOOK_TIMEOUT_MS;
    while (!pending.status && this.clock.now() < deadline && d.status === 'InProgress') {
      if (!(await this.wait(d, Math.min(60_000, deadline - this.clock.now())))) return false;
    }
    if (d.status !== 'InProgress') return false;
    if (pending.status === 'Succeeded') {
      this.log(d, hook, 'Succeeded');
      return true;
    }
    const timedOut = !pending.status;
    this.end(
      d,
      'Failed',
      {
        code: timedOut ? 'TIMEOUT' : 'HOOK_EXECUTION_FAILURE',
        message: timedOut
          ? `The ${hook} lifecycle event timed out waiting for the hook's status (1 hour)`
          : `The deployment failed because a specified lifecycle event hook (${hook}) failed`,
      },
      this.rollbackOn(d, 'DEPLOYMENT_FAILURE'),
    );
    return false;
  }

  private end(
    d: Deployment,
    status: 'Failed' | 'Stopped',
    error: { code: string; message: string },
    rollback: boolean,
  ): void {
    d.status = status;
    d.errorInformation = error;
    d.completeTime = this.clock.now();
    this.log(d, 'End', `${status}: ${error.code}`);
    if (!rollback) return;
    this.lambda.updateAlias(d.functionName, d.alias, d.currentVersion);
    const rollbackDeployment: Deployment = {
      ...d,
      deploymentId: `d-${String(++this.ids).padStart(9, '0').replace(/0/g, 'R')}`,
      creator: 'codeDeployRollback',
      description: `Rollback of ${d.deploymentId}`,
      currentVersion: d.targetVersion,
      targetVersion: d.currentVersion,
      appSpec: d.appSpec
        .replace(`"CurrentVersion":"${d.currentVersion}"`, '"CurrentVersion":"__T__"')
        .replace(`"TargetVersion":"${d.targetVersion}"`, `"TargetVersion":"${d.currentVersion}"`)
        .replace('"CurrentVersion":"__T__"', `"CurrentVersion":"${d.targetVersion}"`),
      status: 'Succeeded',
      createTime: this.clock.now(),
      completeTime: this.clock.now(),
      fullTrafficAt: this.clock.now(),
      errorInformation: undefined,
      rollbackInfo: { rollbackTriggeringDeploymentId: d.deploymentId },
      events: [{ time: this.clock.now(), event: 'Rollback', detail: `alias back to ${d.currentVersion}` }],
    };
    d.rollbackInfo = {
      rollbackDeploymentId: rollbackDeployment.deploymentId,
      rollbackMessage: error.message,
    };
    this.deployments.push(rollbackDeployment);
  }
}

/** Reads the Lambda AppSpec (JSON, as CloudFormation and the CLI write it; YAML fails loudly). */
export function parseAppSpec(content: string): {
  functionName: string;
  alias: string;
  currentVersion: string;
  targetVersion: string;
  hooks: Record<string, string>;
} {
  let spec: {
    Resources?: Array<Record<string, { Type?: string; Properties?: Record<string, string> }>>;
    Hooks?: Array<Record<string, string>>;
  };
  try {
    spec = JSON.parse(content) as typeof spec;
  } catch {
    throw awsError(
      'InvalidRevisionException',
      `the stand-in reads JSON AppSpecs only: ${content.slice(0, 80)}`,
    );
  }
  const resources = spec.Resources ?? [];
  if (resources.length !== 1)
    throw awsError('InvalidRevisionException', 'a Lambda AppSpec has exactly one resource');
  const resource = Object.values(resources[0])[0];
  const p = resource?.Properties ?? {};
  if (
    resource?.Type !== 'AWS::Lambda::Function' ||
    !p.Name ||
    !p.Alias ||
    !p.CurrentVersion ||
    !p.TargetVersion
  ) {
    throw awsError(
      'InvalidRevisionException',
      `incomplete Lambda AppSpec resource: ${JSON.stringify(resource)}`,
    );
  }
  const hooks: Record<string, string> = {};
  for (const entry of spec.Hooks ?? []) {
    for (const [name, fn] of Object.entries(entry)) {
      if (name !== 'BeforeAllowTraffic' && name !== 'AfterAllowTraffic') {
        throw awsError('InvalidRevisionException', `unknown Lambda hook ${name}`);
      }
      hooks[name] = fn;
    }
  }
  return {
    functionName: p.Name,
    alias: p.Alias,
    currentVersion: String(p.CurrentVersion),
    targetVersion: String(p.TargetVersion),
    hooks,
  };
}

export function awsError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400 } });
}
