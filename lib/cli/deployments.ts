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
import type { AwsClients, ServiceOutputs } from './aws';
import { CliError, ExitCode } from './exit-codes';
import { elapsedSeconds, type Output } from './output';
import { appSpecField, appSpecOf, lambdaAppSpec, parseHooks } from './app-spec';
import { waitForAlias, waitForDeployment } from './deployment-waits';
import { checkSchemaCompatibility, type MigrationHeader } from './schema-compatibility';

export * from './deployment-waits';
export { lambdaAppSpec } from './app-spec';

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
  readonly migrations: readonly MigrationHeader[];
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

/** The name of the env var each published version carries (shared contract). */
export const SCHEMA_VERSION_VARIABLE = 'SHIPSHAPE_SCHEMA_VERSION';
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
  readonly hooks: Readonly<Record<string, string>>;
}

export type RollbackPlan =
  | {
      /** A deployment is shifting traffic: stop it and let CodeDeploy put the old version back. */
      readonly kind: 'stop';
      readonly deploymentId: string;
      readonly fromVersion?: string;
      readonly toVersion: string;
    }
  | {
      /** Shift the alias to the target version all at once through CodeDeploy. */
      readonly kind: 'deploy';
      readonly fromVersion: string;
      readonly toVersion: string;
      readonly fromSchema?: string;
      readonly toSchema?: string;
      readonly hooks: Readonly<Record<string, string>>;
      /** Where the target came from: `--to`, the deployment history, or the version list. */
      readonly source: string;
    };

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

/** Alias state, recent deployments (newest first), the active one, and the traffic hooks in use. */
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
  const withHooks = infos.find((info) => Object.keys(parseHooks(appSpecOf(info))).length > 0);
  return { alias, deployments, active, hooks: withHooks ? parseHooks(appSpecOf(withHooks)) : {} };
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

/** `SHIPSHAPE_SCHEMA_VERSION` of a published version; throws USAGE when the version does not exist. */
export async function readSchemaVersion(
  rt: Runtime,
  functionName: string,
  version: string,
): Promise<string | undefined> {
  try {
    const config = await rt.clients.lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: functionName, Qualifier: version }),
      { abortSignal: rt.signal },
    );
    return config.Environment?.Variables?.[SCHEMA_VERSION_VARIABLE];
  } catch (error) {
    if (error instanceof Error && error.name === 'ResourceNotFoundException') {
      throw new CliError(`Version ${version} of ${functionName} does not exist.`, ExitCode.USAGE);
    }
    throw error;
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

/**
 * Decides what a rollback would do now, using read-only calls only.
 * @throws CliError ALREADY_ROLLING_BACK, NO_PREVIOUS_VERSION, REFUSED (schema) or USAGE (bad --to).
 */
export async function planRollback(
  rt: Runtime,
  outputs: ServiceOutputs,
  state: ServiceState,
  to?: string,
): Promise<RollbackPlan | { readonly kind: 'noop'; readonly version: string }> {
  const { active, alias } = state;
  if (active?.isRollback) {
    throw new CliError(
      `A rollback is already in progress: deployment ${active.id} (${active.status}). Follow it with ` +
        `'shipshape status' or 'aws deploy get-deployment --deployment-id ${active.id}'.`,
      ExitCode.ALREADY_ROLLING_BACK,
    );
  }
  if (active) {
    if (to !== undefined) {
      throw new CliError(
        `Deployment ${active.id} is in progress; --to cannot be used until it is stopped. Run without --to ` +
          'to stop it and return to the version it replaces.',
        ExitCode.USAGE,
      );
    }
    // During a canary the alias still points at the old version; after the shift the AppSpec says.
    const old = active.fromVersion ?? (Object.keys(alias.weights).length > 0 ? alias.version : undefined);
    if (!old) {
      throw new CliError(
        `Deployment ${active.id} is in progress but the version it replaces is unknown. Stop it with ` +
          `'aws deploy stop-deployment --deployment-id ${active.id} --auto-rollback-enabled'.`,
        ExitCode.FAILED,
      );
    }
    return { kind: 'stop', deploymentId: active.id, fromVersion: active.toVersion, toVersion: old };
  }

  let target: { version: string; source: string } | undefined;
  if (to !== undefined) target = { version: to, source: 'given with --to' };
  else target = await findPreviousVersion(rt, outputs, state);
  if (!target) {
    throw new CliError(
      `No previous version of ${outputs.functionName}: version ${alias.version} is the only published version.`,
      ExitCode.NO_PREVIOUS_VERSION,
    );
  }
  if (target.version === alias.version && Object.keys(alias.weights).length === 0) {
    // Still validate that it exists so a typo is reported.
    await readSchemaVersion(rt, outputs.functionName, target.version);
    return { kind: 'noop', version: target.version };
  }
  const [fromSchema, toSchema] = await Promise.all([
    readSchemaVersion(rt, outputs.functionName, alias.version),
    readSchemaVersion(rt, outputs.functionName, target.version),
  ]);
  const verdict = checkSchemaCompatibility(
    { version: alias.version, schema: fromSchema },
    { version: target.version, schema: toSchema },
    rt.migrations,
  );
  if (!verdict.compatible) throw new CliError(`Refusing to roll back: ${verdict.reason}.`, ExitCode.REFUSED);
  return {
    kind: 'deploy',
    fromVersion: alias.version,
    toVersion: target.version,
    fromSchema,
    toSchema,
    hooks: state.hooks,
    source: target.source,
  };
}

/** Human-readable lines describing a plan. */
export function describePlan(plan: RollbackPlan, outputs: ServiceOutputs): string[] {
  if (plan.kind === 'stop') {
    return [
      `Stop deployment ${plan.deploymentId} (to version ${plan.fromVersion ?? '?'}) with automatic rollback and wait ` +
        `until version ${plan.toVersion} carries 100% of ${outputs.functionName}:${outputs.aliasName}.`,
    ];
  }
  const hooks = Object.keys(plan.hooks);
  return [
    `Shift ${outputs.functionName}:${outputs.aliasName} from version ${plan.fromVersion} to version ${plan.toVersion} ` +
      `(${plan.source}) all at once through CodeDeploy (${outputs.codeDeployApplication}/${outputs.deploymentGroupName}).`,
    `Schema: live ${plan.fromSchema ?? 'unknown'}, target ${plan.toSchema ?? 'unknown'}; no contract migration in between.`,
    hooks.length > 0
      ? `Traffic hooks run as in every deployment: ${hooks.join(', ')} (the migration gate applies expand migrations only, so it changes nothing on a rollback).`
      : 'No traffic hooks were found in recent deployments; none will run.',
  ];
}

export interface DeploymentResult {
  readonly deploymentId?: string;
  readonly version: string;
  readonly elapsedSeconds: number;
}

/** Starts a CodeDeploy deployment that moves the alias to `toVersion` all at once. */
export async function startShift(
  rt: Runtime,
  outputs: ServiceOutputs,
  fromVersion: string,
  toVersion: string,
  hooks: Readonly<Record<string, string>>,
  description: string,
): Promise<string> {
  // No abort signal: once sent, the call must finish so that we know the deployment id.
  const response = await rt.clients.codeDeploy.send(
    new CreateDeploymentCommand({
      applicationName: outputs.codeDeployApplication,
      deploymentGroupName: outputs.deploymentGroupName,
      deploymentConfigName: 'CodeDeployDefault.LambdaAllAtOnce',
      description,
      revision: {
        revisionType: 'AppSpecContent',
        appSpecContent: { content: lambdaAppSpec(outputs, fromVersion, toVersion, hooks) },
      },
    }),
  );
  if (!response.deploymentId) throw new CliError('CodeDeploy returned no deployment id', ExitCode.FAILED);
  return response.deploymentId;
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
    await rt.clients.codeDeploy.send(
      new StopDeploymentCommand({ deploymentId: plan.deploymentId, autoRollbackEnabled: true }),
    );
    await waitForAlias(rt, outputs, plan.toVersion, started, plan.deploymentId);
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
