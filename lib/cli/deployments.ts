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
  GetDeploymentCommand,
  ListDeploymentsCommand,
  StopDeploymentCommand,
} from '@aws-sdk/client-codedeploy';
import {
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  ListVersionsByFunctionCommand,
} from '@aws-sdk/client-lambda';
import type { AwsClients, ServiceOutputs } from './aws';
import { isAbortError, isCredentialError } from './aws';
import { CliError, ExitCode } from './exit-codes';
import { formatDuration, type Output } from './output';
import { checkSchemaCompatibility, type MigrationHeader } from './schema-compatibility';

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

function appSpecOf(info: DeploymentInfo): string {
  return info.revision?.appSpecContent?.content ?? info.revision?.string?.content ?? '';
}

/** Reads `CurrentVersion` / `TargetVersion` from a JSON or YAML AppSpec. */
function appSpecField(appSpec: string, field: string): string | undefined {
  return new RegExp(`["']?${field}["']?\\s*:\\s*["']?(\\d+)`).exec(appSpec)?.[1];
}

/** Reads the traffic hooks (`BeforeAllowTraffic`, `AfterAllowTraffic`) of a JSON or YAML AppSpec. */
function parseHooks(appSpec: string): Record<string, string> {
  const hooks: Record<string, string> = {};
  for (const hook of ['BeforeAllowTraffic', 'AfterAllowTraffic']) {
    const match = new RegExp(`["']?${hook}["']?\\s*:\\s*["']?([A-Za-z0-9_:.\\-]+)`).exec(appSpec);
    if (match) hooks[hook] = match[1];
  }
  return hooks;
}

/** The AppSpec of a Lambda deployment that moves `alias` from one version to another. */
export function lambdaAppSpec(
  outputs: ServiceOutputs,
  fromVersion: string,
  toVersion: string,
  hooks: Readonly<Record<string, string>>,
): string {
  const resources = [
    {
      [outputs.aliasName]: {
        Type: 'AWS::Lambda::Function',
        Properties: {
          Name: outputs.functionName,
          Alias: outputs.aliasName,
          CurrentVersion: fromVersion,
          TargetVersion: toVersion,
        },
      },
    },
  ];
  const hookList = Object.entries(hooks).map(([name, fn]) => ({ [name]: fn }));
  // `version` must read 0.0: JSON.stringify would write 0.
  return `{"version":0.0,"Resources":${JSON.stringify(resources)}${
    hookList.length > 0 ? `,"Hooks":${JSON.stringify(hookList)}` : ''
  }}`;
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
      elapsedSeconds: seconds(rt.now() - started),
    };
  }
  rt.out.step(`Creating deployment: version ${plan.fromVersion} → ${plan.toVersion} (LambdaAllAtOnce)`);
  const id = await startShift(rt, outputs, plan.fromVersion, plan.toVersion, plan.hooks, description);
  rt.out.step(`Deployment ${id} created; waiting for it to finish`);
  await waitForDeployment(rt, outputs, id, plan.toVersion, started);
  return { deploymentId: id, version: plan.toVersion, elapsedSeconds: seconds(rt.now() - started) };
}

function seconds(ms: number): number {
  return Math.round(ms / 100) / 10;
}

function describeWeights(alias: AliasState): string {
  const extra = Object.entries(alias.weights);
  if (extra.length === 0) return `version ${alias.version} 100%`;
  const others = extra.reduce((sum, [, w]) => sum + w, 0);
  return [
    `version ${alias.version} ${Math.round((1 - others) * 100)}%`,
    ...extra.map(([v, w]) => `version ${v} ${Math.round(w * 100)}%`),
  ].join(', ');
}

function interrupted(deploymentId: string, what: string): CliError {
  return new CliError(
    `Interrupted: stopped waiting. ${what} Deployment ${deploymentId} keeps running in CodeDeploy and ` +
      `finishes on its own (all at once, so the alias is never left half-shifted).\n` +
      `  Check:  aws deploy get-deployment --deployment-id ${deploymentId}   (or: shipshape status)\n` +
      `  Stop:   aws deploy stop-deployment --deployment-id ${deploymentId} --auto-rollback-enabled`,
    ExitCode.INTERRUPTED,
  );
}

async function pause(rt: Runtime, deploymentId: string, what: string): Promise<void> {
  try {
    await rt.sleep(rt.pollIntervalMs, rt.signal);
  } catch (error) {
    if (isAbortError(error) || rt.signal.aborted) throw interrupted(deploymentId, what);
    throw error;
  }
}

async function guard<T>(rt: Runtime, deploymentId: string, what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (rt.signal.aborted || isAbortError(error)) throw interrupted(deploymentId, what);
    if (error instanceof CliError) throw error;
    // The change is under way: whatever broke the wait, say which deployment runs and how to follow it.
    const credentials = isCredentialError(error);
    const cause = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new CliError(
      `${credentials ? 'AWS credentials expired' : 'Lost track of the deployment'} while waiting (${cause}). ${what} ` +
        `Deployment ${deploymentId} keeps running in CodeDeploy.\n` +
        `  Check:  aws deploy get-deployment --deployment-id ${deploymentId}   (or: shipshape status)` +
        (credentials ? '\nRefresh the credentials (e.g. aws sso login) before checking.' : ''),
      credentials ? ExitCode.EXPIRED_CREDENTIALS : ExitCode.FAILED,
    );
  }
}

function checkTimeout(rt: Runtime, started: number, deploymentId: string): void {
  if (rt.now() - started > rt.waitTimeoutMs) {
    throw new CliError(
      `Gave up waiting after ${formatDuration(rt.waitTimeoutMs / 1000)}: deployment ${deploymentId} has not finished. ` +
        `Check it: aws deploy get-deployment --deployment-id ${deploymentId}`,
      ExitCode.FAILED,
    );
  }
}

/** Polls a deployment until it ends; succeeds only when the alias then serves `version` alone. */
export async function waitForDeployment(
  rt: Runtime,
  outputs: ServiceOutputs,
  deploymentId: string,
  version: string,
  started: number,
): Promise<void> {
  const what = `Rollback to version ${version} was started.`;
  for (;;) {
    const { deploymentInfo: info } = await guard(rt, deploymentId, what, () =>
      rt.clients.codeDeploy.send(new GetDeploymentCommand({ deploymentId }), { abortSignal: rt.signal }),
    );
    const status = info?.status ?? 'Unknown';
    const overview = info?.deploymentOverview;
    const elapsed = formatDuration(seconds(rt.now() - started));
    rt.out.progress(
      `${deploymentId}: ${status}${overview ? ` (${overview.Succeeded ?? 0} succeeded, ${overview.InProgress ?? 0} in progress)` : ''} — ${elapsed}`,
    );
    if (status === 'Succeeded') {
      const alias = await guard(rt, deploymentId, what, () => readAlias(rt, outputs));
      if (alias.version !== version || Object.keys(alias.weights).length > 0) {
        throw new CliError(
          `Deployment ${deploymentId} succeeded but ${outputs.aliasName} serves ${describeWeights(alias)}, not version ${version}.`,
          ExitCode.FAILED,
        );
      }
      return;
    }
    if (status === 'Failed' || status === 'Stopped') {
      const reason = info?.errorInformation?.message ?? 'no reason given';
      throw new CliError(
        `Deployment ${deploymentId} ${status.toLowerCase()}: ${reason}. CodeDeploy kept or restored the previous ` +
          `version; check with 'shipshape status'.`,
        ExitCode.FAILED,
      );
    }
    checkTimeout(rt, started, deploymentId);
    await pause(rt, deploymentId, what);
  }
}

/** Polls the alias until `version` carries 100% of traffic (no additional weights). */
export async function waitForAlias(
  rt: Runtime,
  outputs: ServiceOutputs,
  version: string,
  started: number,
  deploymentId: string,
): Promise<void> {
  const what = `Deployment ${deploymentId} was stopped with automatic rollback.`;
  for (;;) {
    const alias = await guard(rt, deploymentId, what, () => readAlias(rt, outputs));
    rt.out.progress(
      `${outputs.aliasName}: ${describeWeights(alias)} — ${formatDuration(seconds(rt.now() - started))}`,
    );
    if (alias.version === version && Object.keys(alias.weights).length === 0) return;
    checkTimeout(rt, started, deploymentId);
    await pause(rt, deploymentId, what);
  }
}

/** GETs `<apiUrl>/health` up to `attempts` times; healthy on the first 2xx. */
export async function verifyHealth(rt: Runtime, apiUrl: string, attempts = 3): Promise<HealthResult> {
  const url = `${apiUrl.replace(/\/+$/, '')}/health`;
  let last: HealthResult = { healthy: false, detail: 'not checked' };
  for (let attempt = 1; attempt <= attempts; attempt++) {
    last = await rt.healthCheck(url, rt.signal);
    if (last.healthy) return last;
    if (attempt < attempts) await rt.sleep(rt.pollIntervalMs, rt.signal);
  }
  return last;
}

/** The default health check: one GET with a timeout; 2xx is healthy. */
export async function httpHealthCheck(
  url: string,
  signal: AbortSignal,
  timeoutMs = 5_000,
): Promise<HealthResult> {
  try {
    const response = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) });
    await response.body?.cancel();
    return { healthy: response.ok, detail: `HTTP ${response.status}` };
  } catch (error) {
    if (signal.aborted) throw error;
    // fetch rejects with a DOMException, which is not `instanceof Error` in every realm.
    const name = (error as { name?: unknown } | null)?.name;
    return {
      healthy: false,
      detail: name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : String(error),
    };
  }
}
