import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import type { Authenticator } from './auth';
import type { CacheClient, ItemCache } from '../runtime/cache';
import type { Database } from '../runtime/pool';
import { ApiError, badRequest, classify } from '../runtime/errors';
import {
  errorResponse,
  header,
  json,
  noContent,
  requestIdOf,
  validate,
  type ApiResponse,
} from '../runtime/http';
import { IDEMPOTENCY_KEY, type IdempotencyStore, type IdempotentResult } from '../runtime/idempotency';
import { type Note, noteId } from './notes';
import type { RateLimiter } from './rate-limit';
import { NOTE_PATH, noteRoutes, type RequestContext, type Route } from './routes';
import { errorSummary, logError } from '../runtime/log';
import { withTimeout } from '../runtime/timeout';

/**
 * Runs before routing, for checks that apply to every request (e.g. the edge's origin-verify
 * header). Return a response to answer right away, throw an {@link ApiError} to refuse, or
 * return nothing to go on.
 */
export type BeforeRouteHook = (
  event: APIGatewayProxyEventV2,
  requestId: string,
) => ApiResponse | undefined | Promise<ApiResponse | undefined>;

/** Everything the API talks to, created once per container and injected (tests pass their own). */
export interface ApiDependencies {
  readonly database: Database;
  readonly cache: CacheClient;
  /** Makes sure the cache is connected, within a short timeout. */
  readonly connectCache: () => Promise<void>;
  readonly notesCache: ItemCache<Note>;
  readonly authenticate: Authenticator;
  readonly rateLimiter: RateLimiter;
  /** Exactly-once writes: keys recorded in PostgreSQL, in the write's own transaction. */
  readonly idempotency: IdempotencyStore;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Bodies larger than this are refused with 413. */
  readonly maxBodyBytes: number;
  /** Time budget of each dependency check of `GET /health`. */
  readonly healthCheckTimeoutMs: number;
  readonly beforeRoute?: readonly BeforeRouteHook[];
}

const ROUTES: readonly Route[] = [
  {
    method: 'GET',
    key: 'GET /health',
    pattern: /^\/health\/?$/,
    authenticated: false,
    read: health,
  },
  ...noteRoutes(bestEffort),
];

/** Builds the HTTP API (payload v2) handler around its dependencies. */
export function createApiHandler(deps: ApiDependencies) {
  const { logger, metrics } = deps;

  return async (event: APIGatewayProxyEventV2, context: Context): Promise<ApiResponse> => {
    const started = Date.now();
    const requestId = requestIdOf(event);
    const method = event.requestContext?.http?.method ?? 'GET';
    const path = event.rawPath ?? '/';
    logger.addContext(context);
    logger.appendKeys({ requestId, method, path });

    let routeKey = 'unmatched';
    let response: ApiResponse;
    try {
      response = await (async () => {
        for (const hook of deps.beforeRoute ?? []) {
          const early = await hook(event, requestId);
          if (early) return early;
        }
        const match = matchRoute(method, path);
        routeKey = match.route.key;
        logger.appendKeys({ route: routeKey });
        return await serve(match.route, validateParams(match.rawParams), event, context, requestId, deps);
      })();
    } catch (error) {
      const apiError = classify(error, 'a dependency');
      logError(logger, apiError);
      response = errorResponse(apiError, requestId);
    }

    response.headers['x-request-id'] = requestId;
    response.headers['cache-control'] ??= 'no-store';
    const latencyMs = Date.now() - started;
    logger.info('request completed', { status: response.statusCode, latencyMs });
    metrics.addDimension('route', routeKey);
    metrics.addMetric('Requests', MetricUnit.Count, 1);
    metrics.addMetric('Latency', MetricUnit.Milliseconds, latencyMs);
    if (response.statusCode >= 500) metrics.addMetric('Fault', MetricUnit.Count, 1);
    else if (response.statusCode >= 400) metrics.addMetric('ClientError', MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
    logger.resetKeys();
    return response;
  };
}

function matchRoute(method: string, path: string): { route: Route; rawParams: Record<string, string> } {
  const candidates = ROUTES.filter((r) => r.pattern.test(path));
  if (candidates.length === 0) throw new ApiError(404, 'route_not_found', `there is no route ${path}`);
  const route = candidates.find((r) => r.method === method);
  if (!route) {
    const allowed = candidates.map((r) => r.method).join(', ');
    throw new ApiError(405, 'method_not_allowed', `${method} is not allowed on ${path}; use ${allowed}`);
  }
  const id = NOTE_PATH.exec(path)?.[1];
  return { route, rawParams: id === undefined ? {} : { id } };
}

/** Path parameters, validated (after the route is known, so errors are counted against it). */
function validateParams(rawParams: Record<string, string>): Record<string, string> {
  if (rawParams.id === undefined) return {};
  let id: string;
  try {
    id = decodeURIComponent(rawParams.id);
  } catch {
    id = rawParams.id;
  }
  // Canonical: one note, one cache key and one idempotency scope whatever case the id was sent in.
  return { id: validate(noteId, id, 'the path').toLowerCase() };
}

async function serve(
  route: Route,
  params: Record<string, string>,
  event: APIGatewayProxyEventV2,
  context: Context,
  requestId: string,
  deps: ApiDependencies,
): Promise<ApiResponse> {
  if (!route.authenticated) {
    return route.read!({ event, context, requestId, params, caller: { id: '' } }, deps);
  }

  const caller = await deps.authenticate(event);
  deps.logger.appendKeys({ callerId: caller.id });

  const limit = await bestEffort(deps, 'rate-limit', () => deps.rateLimiter.take(caller.id));
  if (limit && !limit.allowed) {
    deps.metrics.addMetric('RateLimited', MetricUnit.Count, 1);
    throw new ApiError(429, 'rate_limited', `too many requests; retry in ${limit.retryAfterSeconds} s`, {
      retryAfterSeconds: limit.retryAfterSeconds,
    });
  }
  const ctx: RequestContext = { event, context, requestId, params, caller };
  const rateHeaders: Record<string, string> = limit
    ? { 'x-ratelimit-remaining': String(limit.remaining) }
    : {};

  if (!route.write) return withHeaders(await route.read!(ctx, deps), rateHeaders);

  const key = header(event, 'idempotency-key');
  if (key === undefined || !IDEMPOTENCY_KEY.test(key)) {
    throw badRequest('writes need an Idempotency-Key header', {
      'Idempotency-Key': ['must be 8-128 characters of A-Z, a-z, 0-9, "_" or "-" (a UUID works)'],
    });
  }
  deps.logger.appendKeys({ idempotencyKey: key });
  const write = route.write;
  const input = write.parse(ctx, deps);
  const stored = await deps.idempotency.run(
    { callerId: caller.id, requestId },
    { scope: route.key.replace('{id}', params.id ?? ''), key, request: input },
    (sql) => write.apply(sql, ctx, input),
  );
  await write.afterCommit?.(ctx, deps);
  if (stored.replayed) {
    deps.metrics.addMetric('IdempotentReplay', MetricUnit.Count, 1);
    deps.logger.info('replayed the stored response of an earlier request with this Idempotency-Key');
  }
  return withHeaders(toResponse(stored), {
    ...rateHeaders,
    ...(stored.replayed ? { 'idempotent-replayed': 'true' } : {}),
  });
}

function toResponse(result: IdempotentResult): ApiResponse {
  if (result.statusCode === 204 || result.body === undefined)
    return { ...noContent(), statusCode: result.statusCode };
  return {
    statusCode: result.statusCode,
    headers: { 'content-type': 'application/json' },
    body: result.body,
  };
}

function withHeaders(response: ApiResponse, headers: Record<string, string>): ApiResponse {
  return { ...response, headers: { ...response.headers, ...headers } };
}

/**
 * Runs a cache operation that must not fail the request (cache-aside reads, fills, the rate
 * limit): a cache outage degrades to the database answering and no per-caller limit (the WAF's
 * per-IP limits still apply). Logged and counted so it is seen.
 */
async function bestEffort<T>(
  deps: ApiDependencies,
  what: string,
  op: () => Promise<T>,
): Promise<T | undefined> {
  try {
    await deps.connectCache();
    return await op();
  } catch (error) {
    deps.metrics.addMetric('CacheError', MetricUnit.Count, 1);
    deps.logger.warn(`cache ${what} failed; continuing without the cache`, { error: errorSummary(error) });
    return undefined;
  }
}

async function health({ requestId }: RequestContext, deps: ApiDependencies): Promise<ApiResponse> {
  const timeout = deps.healthCheckTimeoutMs;
  const check = async (name: string, probe: () => Promise<unknown>) => {
    const started = Date.now();
    try {
      await withTimeout(probe(), timeout, `${name} check`);
      return { status: 'ok' as const, latencyMs: Date.now() - started };
    } catch (error) {
      deps.logger.warn(`health: ${name} check failed`, { error: errorSummary(error) });
      return { status: 'error' as const, latencyMs: Date.now() - started, error: classify(error).code };
    }
  };
  const [database, cache] = await Promise.all([
    check('database', () => deps.database.ping(requestId)),
    check('cache', async () => {
      await deps.connectCache();
      await deps.cache.ping();
    }),
  ]);
  const healthy = database.status === 'ok' && cache.status === 'ok';
  return json(
    healthy ? 200 : 503,
    { status: healthy ? 'ok' : 'degraded', checks: { database, cache } },
    healthy ? {} : { 'retry-after': '5' },
  );
}
