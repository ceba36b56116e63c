/**
 * Waiting on a deployment the CLI started: polling CodeDeploy and the alias through the injected
 * clock, honouring Ctrl-C (the deployment keeps running and the message says how to follow it),
 * a timeout, and the post-rollback health check of the API.
 */
import { GetDeploymentCommand } from '@aws-sdk/client-codedeploy';
import type { ServiceOutputs } from './aws';
import { isAbortError, isCredentialError } from './aws';
import { type AliasState, type HealthResult, readAlias, type Runtime, statusCommand } from './deployments';
import { CliError, ExitCode } from './exit-codes';
import { elapsedSeconds, formatDuration } from './output';

function describeWeights(alias: AliasState): string {
  const extra = Object.entries(alias.weights);
  if (extra.length === 0) return `version ${alias.version} 100%`;
  const others = extra.reduce((sum, [, w]) => sum + w, 0);
  return [
    `version ${alias.version} ${Math.round((1 - others) * 100)}%`,
    ...extra.map(([v, w]) => `version ${v} ${Math.round(w * 100)}%`),
  ].join(', ');
}

/** Ctrl-C while waiting: the command's change log (lib/cli/changes.ts) says what still runs. */
function interrupted(deploymentId: string, what: string): CliError {
  return new CliError(
    `Interrupted (Ctrl-C): stopped waiting for deployment ${deploymentId}. ${what}`,
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
        `  Check:  aws deploy get-deployment --deployment-id ${deploymentId}   (or: ${statusCommand(rt)})` +
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
  const what = `The shift to version ${version} was started.`;
  for (;;) {
    const { deploymentInfo: info } = await guard(rt, deploymentId, what, () =>
      rt.clients.codeDeploy.send(new GetDeploymentCommand({ deploymentId }), { abortSignal: rt.signal }),
    );
    const status = info?.status ?? 'Unknown';
    const overview = info?.deploymentOverview;
    const elapsed = formatDuration(elapsedSeconds(rt.now() - started));
    rt.out.progress(
      `${deploymentId}: ${status}${overview ? ` (${overview.Succeeded ?? 0} succeeded, ${overview.InProgress ?? 0} in progress)` : ''} — ${elapsed}`,
    );
    if (status === 'Succeeded') {
      rt.changes.finished(deploymentId, 'succeeded');
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
      rt.changes.finished(deploymentId, `${status.toLowerCase()}: ${reason}`);
      throw new CliError(
        `Deployment ${deploymentId} ${status.toLowerCase()}: ${reason}. CodeDeploy kept or restored the previous ` +
          `version; check with '${statusCommand(rt)}'.`,
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
      `${outputs.aliasName}: ${describeWeights(alias)} — ${formatDuration(elapsedSeconds(rt.now() - started))}`,
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
