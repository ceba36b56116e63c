import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { ApiError, classify } from './errors';
import { withDeploymentMetrics } from './deployment-metrics';
import { type HealthCheckOptions, runHealthCheck } from './health';
import { errorResponse, requestIdOf } from './http';
import { logError } from './log';
import { runInRequestScope } from './request-scope';
import { TimeoutError, withTimeout } from './timeout';

/** What one request ended as; handed to every {@link RequestOutcomeHook}. */
export interface RequestOutcome {
  readonly requestId: string;
  /** Low-cardinality route: the HTTP API's route key (`GET /health`, `ANY /{proxy+}`). */
  readonly route: string;
  readonly status: number;
  readonly latencyMs: number;
  /** `ok` (< 400), `user` (4xx), `retryable` (503), `fatal` (other 5xx). */
  readonly kind: 'ok' | ApiError['kind'];
}

/**
 * Called once per request after the response is known: where per-version deployment metrics
 * plug in. A hook that throws is logged and ignored (metrics never fail a request).
 */
export type RequestOutcomeHook = (outcome: RequestOutcome) => void;

/** A handler for HTTP API (payload v2) events, e.g. `serverlessExpress({ app })`. */
export type HttpApiHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2 | string | undefined | void>;

/** Options of {@link apiHandler}. */
export interface ApiHandlerOptions {
  /**
   * Time kept back from the function's remaining time: the handler answers 503 this long before
   * Lambda would kill it, so a slow dependency ends in a classified answer, not a timeout.
   * @default 500
   */
  readonly reserveMs?: number;
  /** @default - a Powertools Logger (service from POWERTOOLS_SERVICE_NAME) */
  readonly logger?: Logger;
  /**
   * EMF metrics per route: `Requests`, `Latency`, `Fault` (5xx), `ClientError` (4xx).
   * @default - a Powertools Metrics (namespace POWERTOOLS_METRICS_NAMESPACE)
   */
  readonly metrics?: Metrics;
  /** Extra per-request hooks (a hook that throws is logged and ignored). */
  readonly onOutcome?: readonly RequestOutcomeHook[];
  /**
   * Publish the per-version metrics the deployment's canary alarms watch
   * ({@link withDeploymentMetrics}: `Requests`, `ServerErrors`, `Latency` by `FunctionName` and
   * `ExecutedVersion`). Turning this off leaves the canary blind to this handler's 5xx answers.
   * @default true
   */
  readonly deploymentMetrics?: boolean;
  /**
   * Answer `GET <path>` with dependency probes instead of the app (the deployment's gate and
   * smoke test call it, so a version that cannot reach its database never takes traffic).
   * @default - health requests go to the app like any other
   */
  readonly healthCheck?: HealthCheckOptions;
}

type WrappedHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<ApiResult>;
type ApiResult = APIGatewayProxyStructuredResultV2 & { statusCode: number; headers: Record<string, string> };

/**
 * Wraps an API handler with what production needs around it:
 * - a request id end to end: the edge's `x-request-id` (or a new one) is passed on to the app
 *   as the `x-request-id` header, set on every log line and SQL comment
 *   ({@link createPoolFromEnv}), and returned as `x-request-id`;
 * - one structured log line per request (status, latency, route) and errors logged by kind;
 * - EMF metrics per route, the per-version deployment metrics the canary alarms watch, and any
 *   {@link RequestOutcomeHook};
 * - a time budget below the function timeout: 503 + `Retry-After` instead of a Lambda timeout;
 * - anything thrown classified into 4xx (an `ApiError` the app threw), 503 (a transient
 *   dependency failure) or 500, with one JSON error body that leaks nothing internal.
 */
export function apiHandler(inner: HttpApiHandler, options: ApiHandlerOptions = {}): WrappedHandler {
  const reserveMs = options.reserveMs ?? 500;
  let logger = options.logger;
  let metrics = options.metrics;

  const handle: WrappedHandler = async (event, context) => {
    logger ??= new Logger();
    metrics ??= new Metrics();
    const started = Date.now();
    const requestId = requestIdOf(event);
    const route = event.requestContext?.routeKey ?? 'unmatched';
    event.headers = { ...(event.headers ?? {}), 'x-request-id': requestId };
    const budgetMs = Math.max(1, (context.getRemainingTimeInMillis?.() ?? 30_000) - reserveMs);
    logger.addContext(context);
    logger.appendKeys({ requestId, route, method: event.requestContext?.http?.method, path: event.rawPath });

    let response: ApiResult;
    try {
      const health = options.healthCheck;
      const isHealth =
        health !== undefined &&
        event.requestContext?.http?.method === 'GET' &&
        event.rawPath === (health.path ?? '/health');
      const result = await runInRequestScope({ requestId, deadline: started + budgetMs }, () =>
        withTimeout<Awaited<ReturnType<HttpApiHandler>>>(
          isHealth ? runHealthCheck(health, (m, d) => logger!.warn(m, d)) : inner(event, context),
          budgetMs,
          'the request',
        ),
      );
      response = normalize(result);
    } catch (error) {
      const apiError =
        error instanceof TimeoutError
          ? new ApiError(503, 'timeout', 'the request took too long; retry later', {
              retryAfterSeconds: 1,
              cause: error,
            })
          : classify(error, 'a dependency');
      logError(logger, apiError);
      response = errorResponse(apiError, requestId);
    }
    response.headers['x-request-id'] = requestId;

    const latencyMs = Date.now() - started;
    const outcome: RequestOutcome = {
      requestId,
      route,
      status: response.statusCode,
      latencyMs,
      kind: kindOf(response.statusCode),
    };
    logger.info('request completed', { status: response.statusCode, latencyMs });
    record(metrics, outcome);
    for (const hook of options.onOutcome ?? []) {
      try {
        hook(outcome);
      } catch (error) {
        logger.warn('a request outcome hook failed', { error: String(error) });
      }
    }
    logger.resetKeys();
    return response;
  };
  return options.deploymentMetrics === false ? handle : withDeploymentMetrics(handle);
}

function kindOf(status: number): RequestOutcome['kind'] {
  if (status < 400) return 'ok';
  if (status < 500) return 'user';
  return status === 503 ? 'retryable' : 'fatal';
}

function record(metrics: Metrics, outcome: RequestOutcome): void {
  metrics.addDimension('route', outcome.route);
  metrics.addMetric('Requests', MetricUnit.Count, 1);
  metrics.addMetric('Latency', MetricUnit.Milliseconds, outcome.latencyMs);
  if (outcome.status >= 500) metrics.addMetric('Fault', MetricUnit.Count, 1);
  else if (outcome.status >= 400) metrics.addMetric('ClientError', MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
}

/**
 * HTTP API payload v2 accepts a bare string or object as a 200 JSON answer; normalized here so
 * headers can be added.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
 */
function normalize(result: APIGatewayProxyStructuredResultV2 | string | undefined | void): ApiResult {
  if (result === undefined || result === null) {
    return { statusCode: 204, headers: {} };
  }
  if (typeof result === 'string') {
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: result };
  }
  if (typeof result.statusCode !== 'number') {
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(result) };
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(result.headers ?? {}))
    headers[name.toLowerCase()] = String(value);
  return { ...result, statusCode: result.statusCode, headers };
}
