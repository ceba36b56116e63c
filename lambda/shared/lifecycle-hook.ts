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

/** `error.message` for anything thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The part of Powertools' `Logger` a hook entry uses to tag its lines. */
export interface HookEntryLogger {
  resetKeys(): void;
  appendKeys(keys: Record<string, string>): void;
  info(message: string, attributes: Record<string, unknown>): void;
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

/**
 * Time kept back from the Lambda timeout to report the verdict: three attempts of
 * {@link CODEDEPLOY_CALL_TIMEOUT_MS} plus backoff fit in it.
 */
export const DEFAULT_REPORT_RESERVE_MS = 20_000;

/** The total time a hook may still spend before it must stop and report Failed. */
export interface HookBudget {
  /** Milliseconds left of the budget (Lambda's remaining time minus the report reserve). */
  remainingMs(): number;
  /** Aborted when the budget is spent; pass it to every call that can wait. */
  readonly signal: AbortSignal;
}

/** A signal that aborts at the end of the budget or after `ms`, whichever comes first. */
export function budgetSignal(budget: HookBudget, ms: number): AbortSignal {
  return AbortSignal.any([budget.signal, AbortSignal.timeout(ms)]);
}

/** Why a hook failed without a verdict of its own. */
export type HookFailureCause = 'settings' | 'budget' | 'error';

/** How {@link runLifecycleHook} runs one hook. */
export interface LifecycleHookRun<S, O extends { readonly verdict: HookVerdict; readonly reason: string }> {
  /** Used in log lines and reasons, e.g. `migration gate`. */
  readonly name: string;
  readonly codedeploy: CodeDeployClient;
  readonly logger: HookEntryLogger;
  /** Reads (and validates) the settings: runs inside the guard, so bad settings report Failed. */
  readonly settings: () => S;
  /** Lambda's `context.getRemainingTimeInMillis`. */
  readonly remainingTimeMs: () => number;
  /** @default DEFAULT_REPORT_RESERVE_MS */
  readonly reportReserveMs?: number;
  /** The hook's own work; resolves with its verdict. A throw becomes Failed. */
  readonly body: (settings: S, budget: HookBudget) => Promise<O>;
  /** The outcome to report when the body threw, the settings were bad or the budget ran out. */
  readonly failed: (cause: HookFailureCause, reason: string) => O;
  /**
   * Called when the budget is spent, before Failed is reported: ends work that would otherwise
   * go on after the verdict (e.g. a migration's database session). Given {@link STOP_GRACE_MS}.
   * Returns what it did, for the reason.
   */
  readonly stop?: () => Promise<string | undefined>;
}

/** How long `stop` may take; the report reserve covers it. */
export const STOP_GRACE_MS = 3_000;

/**
 * Runs a hook so that CodeDeploy always hears back in time: settings are parsed inside the
 * guard, any error becomes Failed, and the hook's TOTAL time is bounded by Lambda's remaining
 * time minus the report reserve. When the budget is spent the hook reports Failed at once, with
 * the reason, while the Lambda still runs (CodeDeploy otherwise waits up to an hour for a
 * status: https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_PutLifecycleEventHookExecutionStatus.html,
 * https://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file-structure-hooks.html#appspec-hooks-lambda).
 */
export async function runLifecycleHook<
  S,
  O extends { readonly verdict: HookVerdict; readonly reason: string },
>(run: LifecycleHookRun<S, O>, event: LifecycleHookEvent): Promise<O> {
  const reserve = run.reportReserveMs ?? DEFAULT_REPORT_RESERVE_MS;
  const budgetMs = run.remainingTimeMs() - reserve;
  const controller = new AbortController();
  const budget: HookBudget = {
    remainingMs: () => run.remainingTimeMs() - reserve,
    signal: controller.signal,
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const spent = new Promise<O>((resolve) => {
    timer = setTimeout(
      () => {
        controller.abort(new Error(`${run.name}: time budget spent`));
        const reason = `${run.name} stopped: its time budget of ${budgetMs} ms (Lambda time left minus ${reserve} ms to report) is spent`;
        void stopWithin(run.stop).then((stopped) =>
          resolve(run.failed('budget', stopped ? `${reason}; ${stopped}` : reason)),
        );
      },
      Math.max(0, budgetMs),
    );
  });
  let outcome: O;
  try {
    const settings = settingsOrThrow(run);
    if (budgetMs <= 0) {
      throw new Error(`too little time: ${budgetMs + reserve} ms left, ${reserve} ms are needed to report`);
    }
    // Once the budget is spent, its verdict stands: whatever the work returns later (e.g. the
    // error of a session `stop` ended) is not the reason to report.
    const work = run.body(settings, budget).then(
      (result) => (controller.signal.aborted ? spent : result),
      (error: unknown) => (controller.signal.aborted ? spent : Promise.reject(error)),
    );
    outcome = await Promise.race([work, spent]);
  } catch (error) {
    outcome =
      error instanceof HookSettingsError
        ? run.failed('settings', error.message)
        : run.failed('error', `${run.name} error: ${messageOf(error)}`);
  } finally {
    clearTimeout(timer);
  }
  const log = outcome.verdict === 'Succeeded' ? run.logger.info : run.logger.error;
  log.call(run.logger, `${run.name} ${outcome.verdict.toLowerCase()}`, {
    deploymentId: event.DeploymentId,
    ...outcome,
  });
  await reportHookStatus(run.codedeploy, event, outcome.verdict);
  return outcome;
}

/** Runs `stop` for at most {@link STOP_GRACE_MS}; never throws. */
async function stopWithin(
  stop: (() => Promise<string | undefined>) | undefined,
): Promise<string | undefined> {
  if (!stop) return undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const grace = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`stopping took longer than ${STOP_GRACE_MS} ms`), STOP_GRACE_MS);
  });
  try {
    return await Promise.race([stop(), grace]);
  } catch (error) {
    return `stopping failed: ${messageOf(error)}`;
  } finally {
    clearTimeout(timer);
  }
}

/** The hook's settings are missing or invalid. */
export class HookSettingsError extends Error {}

function settingsOrThrow<S>(run: { name: string; settings: () => S }): S {
  try {
    return run.settings();
  } catch (error) {
    throw new HookSettingsError(`${run.name} is misconfigured: ${messageOf(error)}`);
  }
}
