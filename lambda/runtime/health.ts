import { classify } from './errors';
import { errorSummary } from './log';
import { withTimeout } from './timeout';

/** A named probe of one dependency; it resolves when the dependency answers. */
export type HealthProbe = () => Promise<unknown>;

/** Options of the health check {@link apiHandler} answers itself. */
export interface HealthCheckOptions {
  /**
   * Path answered with the checks (GET only); other paths go to the app.
   * @default '/health'
   */
  readonly path?: string;
  /** The probes, by name, e.g. `{ database: databaseProbe(pool), cache: cacheProbe(connectCacheFromEnv) }`. */
  readonly probes: Readonly<Record<string, HealthProbe>>;
  /**
   * Time budget of each probe.
   * @default 1000
   */
  readonly timeoutMs?: number;
}

/** Result of one probe: its latency, and the error code when it failed. */
export interface ProbeResult {
  readonly status: 'ok' | 'error';
  readonly latencyMs: number;
  readonly error?: string;
}

/** `SELECT 1` through a pool (anything with `query`). */
export function databaseProbe(pool: { query(text: string): Promise<unknown> }): HealthProbe {
  return () => pool.query('SELECT 1');
}

/** `PING` on the cache client `connect` returns (e.g. {@link connectCacheFromEnv}). */
export function cacheProbe(connect: () => Promise<{ ping(): Promise<unknown> }>): HealthProbe {
  return async () => (await connect()).ping();
}

/**
 * Runs every probe in parallel, each within the time budget: 200 `{status:'ok'}` when all
 * answer, else 503 `{status:'degraded'}` with `Retry-After` (a dependency is down, not the caller's
 * fault). Failures are reported by error code only, never with internal detail.
 */
export async function runHealthCheck(
  options: HealthCheckOptions,
  warn: (message: string, details: Record<string, unknown>) => void = () => undefined,
): Promise<{ statusCode: number; headers: Record<string, string>; body: string }> {
  const timeoutMs = options.timeoutMs ?? 1000;
  const entries = await Promise.all(
    Object.entries(options.probes).map(async ([name, probe]): Promise<[string, ProbeResult]> => {
      const started = Date.now();
      try {
        await withTimeout(probe(), timeoutMs, `${name} check`);
        return [name, { status: 'ok', latencyMs: Date.now() - started }];
      } catch (error) {
        warn(`health: ${name} check failed`, { error: errorSummary(error) });
        return [name, { status: 'error', latencyMs: Date.now() - started, error: classify(error).code }];
      }
    }),
  );
  const healthy = entries.every(([, result]) => result.status === 'ok');
  return {
    statusCode: healthy ? 200 : 503,
    headers: { 'content-type': 'application/json', ...(healthy ? {} : { 'retry-after': '5' }) },
    body: JSON.stringify({ status: healthy ? 'ok' : 'degraded', checks: Object.fromEntries(entries) }),
  };
}
