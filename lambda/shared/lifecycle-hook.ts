/**
 * What every CodeDeploy lifecycle hook (BeforeAllowTraffic, AfterAllowTraffic) has in common:
 * the event CodeDeploy sends, and reporting the verdict back with
 * `PutLifecycleEventHookExecutionStatus`. CodeDeploy waits (up to an hour) for that call, so a
 * hook must report on every path — including its own failures — or the deployment hangs until
 * CodeDeploy gives up. No CDK imports: bundled into the hook Lambdas.
 */
import {
  type CodeDeployClient,
  LifecycleEventStatus,
  PutLifecycleEventHookExecutionStatusCommand,
} from '@aws-sdk/client-codedeploy';
import { z } from 'zod';

/** The event CodeDeploy invokes a Lambda lifecycle hook with. */
export const lifecycleHookEventSchema = z.object({
  DeploymentId: z.string().regex(/^d-[A-Z0-9]+$/, 'must be a CodeDeploy deployment id such as d-ABC123DEF'),
  LifecycleEventHookExecutionId: z.string().min(1),
});
export type LifecycleHookEvent = z.infer<typeof lifecycleHookEventSchema>;

/** The verdict a hook reports. */
export type HookVerdict = 'Succeeded' | 'Failed';

/** How long one CodeDeploy API call may take before it is abandoned. */
export const CODEDEPLOY_CALL_TIMEOUT_MS = 5_000;
/** Attempts at reporting the verdict: without it the deployment hangs for an hour. */
const REPORT_ATTEMPTS = 3;

/**
 * Reports the verdict to CodeDeploy, retrying throttling and network errors a few times with
 * backoff. Throws only when every attempt failed (the Lambda then fails too, which CodeDeploy
 * eventually treats as a failed hook).
 */
export async function reportHookStatus(
  codedeploy: CodeDeployClient,
  event: LifecycleHookEvent,
  status: HookVerdict,
): Promise<void> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= REPORT_ATTEMPTS; attempt++) {
    try {
      await codedeploy.send(
        new PutLifecycleEventHookExecutionStatusCommand({
          deploymentId: event.DeploymentId,
          lifecycleEventHookExecutionId: event.LifecycleEventHookExecutionId,
          status: status === 'Succeeded' ? LifecycleEventStatus.SUCCEEDED : LifecycleEventStatus.FAILED,
        }),
        { abortSignal: AbortSignal.timeout(CODEDEPLOY_CALL_TIMEOUT_MS) },
      );
      return;
    } catch (error) {
      lastError = error;
      if (!isRetryable(error) || attempt === REPORT_ATTEMPTS) break;
      await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
    }
  }
  throw lastError;
}

function isRetryable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const meta = (error as { $metadata?: { httpStatusCode?: number } }).$metadata;
  const status = meta?.httpStatusCode;
  if (status === undefined) return true; // network error, timeout (AbortError)
  return status >= 500 || status === 429 || error.name === 'ThrottlingException';
}

/** Reads a required environment variable, naming it in the error when it is missing. */
export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`environment variable ${name} is not set (the construct sets it at synth time)`);
  }
  return value;
}

/** `error.message` for anything thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The part of Powertools' `Logger` a hook entry uses to tag its lines. */
export interface HookEntryLogger {
  resetKeys(): void;
  appendKeys(keys: Record<string, string>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

/**
 * The first step of every hook entry: validates the event at the edge and tags every later log
 * line with the deployment and request ids. Without a deployment id there is nobody to report
 * to, so a malformed event fails loudly (the invocation errors) instead.
 */
export function acceptLifecycleHookEvent(
  event: unknown,
  log: HookEntryLogger,
  requestId: string,
): LifecycleHookEvent {
  log.resetKeys();
  const parsed = lifecycleHookEventSchema.safeParse(event);
  if (!parsed.success) {
    log.error('not a CodeDeploy lifecycle event', { error: parsed.error.message });
    throw new Error(`not a CodeDeploy lifecycle event: ${parsed.error.message}`);
  }
  log.appendKeys({ deploymentId: parsed.data.DeploymentId, requestId });
  return parsed.data;
}
