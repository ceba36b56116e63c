/**
 * The rollback engine behind `status`, `rollback` and `drill`: reads the live state of the
 * service (alias routing, CodeDeploy history, schema versions), plans a rollback, carries it out
 * through CodeDeploy and waits for it. Every AWS call goes through injected clients, and every
 * wait through an injected clock, so the whole flow runs instantly under test.
 */
import {
  type DeploymentInfo,
  BatchGetDeploymentsCommand,
  CreateDeploymentCommand,
  ListDeploymentsCommand,
  StopDeploymentCommand,
} from '@aws-sdk/client-codedeploy';
import {
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  ListVersionsByFunctionCommand,
} from '@aws-sdk/client-lambda';
import { type AwsClients, isAbortError, isCredentialError, type ServiceOutputs } from './aws';
import type { ChangeLog } from './changes';
import { CliError, ExitCode } from './exit-codes';
import { elapsedSeconds, type Output } from './output';
import { appSpecField, appSpecOf, lambdaAppSpec } from './app-spec';
import { waitForAlias, waitForDeployment } from './deployment-waits';
import type { RollbackPlan } from './rollback-plan';
import {
  SCHEMA_CONTRACTS_VARIABLE,
  SCHEMA_VERSION_VARIABLE,
  type VersionDeclaration,
} from './schema-compatibility';

export * from './deployment-waits';
export * from './rollback-plan';
export { lambdaAppSpec } from './app-spec';
export { SCHEMA_CONTRACTS_VARIABLE, SCHEMA_VERSION_VARIABLE } from './schema-compatibility';

/** Everything the engine needs from the outside world. */
export interface Runtime {
  readonly clients: AwsClients;
  readonly out: Output;
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`, rejects with an AbortError when `signal` fires. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** One GET of the health endpoint. */
  healthCheck(url: string, signal: AbortSignal): Promise<HealthResult>;
  /** Fires on Ctrl-C. */
  readonly signal: AbortSignal;
  /** What this command has changed so far (reported on Ctrl-C). */
  readonly changes: ChangeLog;
  /** The environment (`--env`), for the commands printed to follow a deployment. */
  readonly environment?: string;
  /** @default 5 seconds */
  readonly pollIntervalMs: number;
  /** Give up waiting for a deployment after this long. */
  readonly waitTimeoutMs: number;
}

export interface HealthResult {
  readonly healthy: boolean;
  /** HTTP status, or the network error. */
  readonly detail: string;
}

/** Descriptions of deployments this CLI creates start with this, so `status` can tell them apart. */
export const ROLLBACK_DESCRIPTION_PREFIX = 'shipshape rollback';
const ACTIVE_STATUSES = ['Created', 'Queued', 'InProgress', 'Baking', 'Ready'] as const;
const HISTORY_SIZE = 25;

export interface AliasState {
  readonly version: string;
  /** Additional versions receiving traffic during a canary, version → weight (0..1). */
  readonly weights: Readonly<Record<string, number>>;
}

export interface DeploymentSummary {
  readonly id: string;
  readonly status: string;
  readonly creator?: string;
  readonly description?: string;
  readonly createdAt?: string;
  readonly completedAt?: string;
  readonly durationSeconds?: number;
  readonly fromVersion?: string;
  readonly toVersion?: string;
  readonly isRollback: boolean;
  readonly error?: string;
}

export interface ServiceState {
  readonly alias: AliasState;
  /** Newest first. */
  readonly deployments: readonly DeploymentSummary[];
  readonly active?: DeploymentSummary;
}

export async function readAlias(rt: Runtime, outputs: ServiceOutputs): Promise<AliasState> {
  const alias = await rt.clients.lambda.send(
    new GetAliasCommand({ FunctionName: outputs.functionName, Name: outputs.aliasName }),
    { abortSignal: rt.signal },
  );
  if (!alias.FunctionVersion) {
    throw new CliError(
      `Alias ${outputs.aliasName} of ${outputs.functionName} has no version`,
      ExitCode.FAILED,
    );
  }
  return {
    version: alias.FunctionVersion,
    weights: { ...(alias.RoutingConfig?.AdditionalVersionWeights ?? {}) },
  };
}

/** Alias state, recent deployments (newest first) and the active one. */
export async function readServiceState(rt: Runtime, outputs: ServiceOutputs): Promise<ServiceState> {
  const alias = await readAlias(rt, outputs);
  const list = await rt.clients.codeDeploy.send(
    new ListDeploymentsCommand({
      applicationName: outputs.codeDeployApplication,
      deploymentGroupName: outputs.deploymentGroupName,
    }),
    { abortSignal: rt.signal },
  );
  const ids = (list.deployments ?? []).slice(0, HISTORY_SIZE);
  let infos: DeploymentInfo[] = [];
  if (ids.length > 0) {
    const batch = await rt.clients.codeDeploy.send(new BatchGetDeploymentsCommand({ deploymentIds: ids }), {
      abortSignal: rt.signal,
    });
    infos = [...(batch.deploymentsInfo ?? [])].sort(
      (a, b) => (b.createTime?.getTime() ?? 0) - (a.createTime?.getTime() ?? 0),
    );
  }
  const deployments = infos.map(summarize);
  const active = deployments.find((d) => (ACTIVE_STATUSES as readonly string[]).includes(d.status));
  return { alias, deployments, active };
}

function summarize(info: DeploymentInfo): DeploymentSummary {
  const appSpec = appSpecOf(info);
  const created = info.createTime;
  const completed = info.completeTime;
  return {
    id: info.deploymentId ?? '?',
    status: info.status ?? 'Unknown',
    creator: info.creator,
    description: info.description,
    createdAt: created?.toISOString(),
    completedAt: completed?.toISOString(),
    durationSeconds:
      created && completed ? Math.round((completed.getTime() - created.getTime()) / 1000) : undefined,
    fromVersion: appSpecField(appSpec, 'CurrentVersion'),
    toVersion: appSpecField(appSpec, 'TargetVersion'),
    isRollback:
      info.creator === 'codeDeployRollback' ||
      Boolean(info.rollbackInfo?.rollbackTriggeringDeploymentId) ||
      (info.description ?? '').startsWith(ROLLBACK_DESCRIPTION_PREFIX),
    error: info.errorInformation?.message,
  };
}

/**
 * What a published version declares about its schema (`SHIPSHAPE_SCHEMA_VERSION`,
 * `SHIPSHAPE_SCHEMA_CONTRACTS`), from GetFunctionConfiguration qualified by the version
 * (https://docs.aws.amazon.com/lambda/latest/api/API_GetFunctionConfiguration.html: a version's
 * configuration, environment included, is fixed when it is published).
 * An API error is returned as `readError` (the schema check then fails closed); a version that
 * does not exist is a usage error; Ctrl-C and expired credentials are thrown as they are.
 */
export async function readVersionDeclaration(
  rt: Runtime,
  functionName: string,
  version: string,
): Promise<VersionDeclaration> {
  try {
    const config = await rt.clients.lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: functionName, Qualifier: version }),
      { abortSignal: rt.signal },
    );
    const variables = config.Environment?.Variables ?? {};
    return {
      version,
      schema: variables[SCHEMA_VERSION_VARIABLE],
      contracts: variables[SCHEMA_CONTRACTS_VARIABLE],
    };
  } catch (error) {
    if (error instanceof Error && error.name === 'ResourceNotFoundException') {
      throw new CliError(`Version ${version} of ${functionName} does not exist.`, ExitCode.USAGE);
    }
    if (rt.signal.aborted || isAbortError(error) || isCredentialError(error)) throw error;
    const name = (error as { name?: unknown } | null)?.name;
    const message = error instanceof Error ? error.message : String(error);
    return { version, readError: `${typeof name === 'string' ? name : 'Error'}: ${message}` };
  }
}

/**
 * The version that served before the live one: the source of the last successful deployment
 * onto it that was not itself a rollback, else the newest published version below it.
 */
export async function findPreviousVersion(
  rt: Runtime,
  outputs: ServiceOutputs,
  state: ServiceState,
): Promise<{ version: string; source: string } | undefined> {
  const live = state.alias.version;
  // A rollback onto the live version came *from* the bad version: never go back there.
  const onto = state.deployments.find(
    (d) => d.status === 'Succeeded' && !d.isRollback && d.toVersion === live && d.fromVersion,
  );
  if (onto?.fromVersion && onto.fromVersion !== live) {
    return { version: onto.fromVersion, source: `the version ${onto.id} replaced` };
  }
  const versions: number[] = [];
  let marker: string | undefined;
  do {
    const page = await rt.clients.lambda.send(
      new ListVersionsByFunctionCommand({ FunctionName: outputs.functionName, Marker: marker }),
      { abortSignal: rt.signal },
    );
    for (const v of page.Versions ?? [])
      if (v.Version && /^\d+$/.test(v.Version)) versions.push(Number(v.Version));
    marker = page.NextMarker;
  } while (marker);
  const below = versions.filter((v) => v < Number(live)).sort((a, b) => b - a);
  return below.length > 0
    ? { version: String(below[0]), source: `the newest published version below ${live}` }
    : undefined;
}

export interface DeploymentResult {
  readonly deploymentId?: string;
  readonly version: string;
  readonly elapsedSeconds: number;
}

/**
 * How every deployment this CLI creates (rollbacks and drills) treats the deployment group's
 * alarms: not polled. CreateDeployment's `overrideAlarmConfiguration` replaces the group's alarm
 * configuration for that one deployment; AWS describes exactly this use: redeploy a revision
 * known to work with alarm polling turned off, so that the alarm raised by the failed deployment
 * cannot block it. Specifying it needs the codedeploy:UpdateDeploymentGroup permission.
 * https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_CreateDeployment.html
 * https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_AlarmConfiguration.html
 * Without it, any of the group's alarms in ALARM stops the deployment (status Stopped):
 * https://docs.aws.amazon.com/codedeploy/latest/userguide/monitoring-create-alarms.html
 * Canary deployments of new code are created by CloudFormation, not here, and keep the group's
 * alarms in full.
 */
export const ROLLBACK_ALARM_OVERRIDE = { enabled: false } as const;

/** Why {@link ROLLBACK_ALARM_OVERRIDE} is used; printed in every plan. */
export const ALARM_OVERRIDE_REASON =
  "the deployment group's alarms are not polled for this deployment (overrideAlarmConfiguration " +
  'enabled=false): they are likely in ALARM because of the incident this deployment ends, and CodeDeploy ' +
  'stops a deployment while one of them is. The target is checked by the hooks and by /health instead';

/**
 * Starts a CodeDeploy deployment that moves the alias to `toVersion` all at once, with the
 * group's alarms overridden ({@link ROLLBACK_ALARM_OVERRIDE}), and records it in the change log.
 */
export async function startShift(
  rt: Runtime,
  outputs: ServiceOutputs,
  fromVersion: string,
  toVersion: string,
  hooks: Readonly<Record<string, string>>,
  description: string,
): Promise<string> {
  let deploymentId: string | undefined;
  try {
    // No abort signal: once sent, the call must finish so that we know the deployment id.
    const request = `CreateDeployment ${outputs.aliasName} version ${fromVersion} → ${toVersion}`;
    const response = await rt.changes.during(request, () =>
      rt.clients.codeDeploy.send(
        new CreateDeploymentCommand({
          applicationName: outputs.codeDeployApplication,
          deploymentGroupName: outputs.deploymentGroupName,
          deploymentConfigName: 'CodeDeployDefault.LambdaAllAtOnce',
          description: shortDescription(description),
          overrideAlarmConfiguration: { ...ROLLBACK_ALARM_OVERRIDE },
          revision: {
            revisionType: 'AppSpecContent',
            appSpecContent: { content: lambdaAppSpec(outputs, fromVersion, toVersion, hooks) },
          },
        }),
      ),
    );
    deploymentId = response.deploymentId;
  } catch (error) {
    if (error instanceof Error && /AccessDenied/.test(error.name)) {
      throw new CliError(
        `CodeDeploy refused the deployment (${error.name}: ${error.message}). Overriding the group's alarms ` +
          'needs codedeploy:UpdateDeploymentGroup as well as codedeploy:CreateDeployment (see ' +
          'runbooks/rollback.md). Nothing was changed.',
        ExitCode.FAILED,
      );
    }
    throw error;
  }
  if (!deploymentId) {
    throw new CliError(
      `CodeDeploy accepted the deployment but returned no id; check '${statusCommand(rt)}' before retrying.`,
      ExitCode.FAILED,
    );
  }
  rt.changes.record(
    `created deployment ${deploymentId}: ${outputs.aliasName} version ${fromVersion} → ${toVersion}, all at once, alarms not polled`,
    deploymentId,
    {
      what: `deployment ${deploymentId} in CodeDeploy; all at once, so the alias is never left half-shifted`,
      commands: [
        `Check:  aws deploy get-deployment --deployment-id ${deploymentId}   (or: ${statusCommand(rt)})`,
        `Stop:   aws deploy stop-deployment --deployment-id ${deploymentId} --auto-rollback-enabled`,
      ],
    },
  );
  return deploymentId;
}

/** `shipshape status --env <env>`: how to see where a deployment stands. */
export function statusCommand(rt: Pick<Runtime, 'environment'>): string {
  return `shipshape status${rt.environment ? ` --env ${rt.environment}` : ''}`;
}

/**
 * CodeDeploy rejects a long description (DescriptionTooLongException, limit not documented:
 * https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_CreateDeployment.html), which
 * must never be what stops a rollback: keep it short; the full reason is printed anyway.
 */
function shortDescription(description: string): string {
  return description.length <= 160 ? description : `${description.slice(0, 159)}…`;
}

/** Carries out a plan and waits until the target version carries all traffic. */
export async function executePlan(
  rt: Runtime,
  outputs: ServiceOutputs,
  plan: RollbackPlan,
  description: string,
): Promise<DeploymentResult> {
  const started = rt.now();
  if (plan.kind === 'stop') {
    rt.out.step(`Stopping deployment ${plan.deploymentId} with automatic rollback`);
    await rt.changes.during(`StopDeployment ${plan.deploymentId} with automatic rollback`, () =>
      rt.clients.codeDeploy.send(
        new StopDeploymentCommand({ deploymentId: plan.deploymentId, autoRollbackEnabled: true }),
      ),
    );
    rt.changes.record(`stopped deployment ${plan.deploymentId} with automatic rollback`, plan.deploymentId, {
      what: `CodeDeploy's automatic rollback of ${plan.deploymentId}, putting version ${plan.toVersion} back on 100%`,
      commands: [
        `Check:  ${statusCommand(rt)}   (or: aws lambda get-alias --function-name ${outputs.functionName} --name ${outputs.aliasName})`,
      ],
    });
    await waitForAlias(rt, outputs, plan.toVersion, started, plan.deploymentId);
    rt.changes.finished(plan.deploymentId, `version ${plan.toVersion} serves 100%`);
    return {
      deploymentId: plan.deploymentId,
      version: plan.toVersion,
      elapsedSeconds: elapsedSeconds(rt.now() - started),
    };
  }
  rt.out.step(`Creating deployment: version ${plan.fromVersion} → ${plan.toVersion} (LambdaAllAtOnce)`);
  const id = await startShift(rt, outputs, plan.fromVersion, plan.toVersion, plan.hooks, description);
  rt.out.step(`Deployment ${id} created; waiting for it to finish`);
  await waitForDeployment(rt, outputs, id, plan.toVersion, started);
  return { deploymentId: id, version: plan.toVersion, elapsedSeconds: elapsedSeconds(rt.now() - started) };
}
