/**
 * Per-version service metrics that safe deployments watch, published through CloudWatch's
 * embedded metric format (EMF). Generic: any HTTP Lambda handler (API Gateway payload 1.0 or
 * 2.0, a function URL, serverless-express) can be wrapped with {@link withDeploymentMetrics}.
 *
 * Why the service publishes these itself rather than relying on `AWS/Lambda` alone:
 * - Lambda's `Errors` counts invocations whose *code failed* (an unhandled throw, a timeout, out
 *   of memory); an API that catches an error and answers 500 is a successful invocation to
 *   Lambda. `ServerErrors` here counts every 5xx response the handler returned, and an unhandled
 *   throw too (API Gateway turns that into a 5xx for the caller). 4xx are the client's doing
 *   and never count.
 * - The version that actually ran is `context.functionVersion` (a number when the function was
 *   invoked through an alias or a version ARN, `$LATEST` otherwise). Lambda records calls
 *   through an alias under `Resource=<function>:<alias>` plus `ExecutedVersion`, never under
 *   `Resource=<function>:<version>` (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics.html,
 *   "Using dimensions"), so an alarm on "the new version" needs the version as a dimension of
 *   its own: {@link DEPLOYMENT_METRIC_DIMENSIONS}.
 *
 * One EMF document per request, written as one line to stdout: in Lambda, CloudWatch Logs
 * extracts the metrics from the function's log group
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html;
 * Lambda: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Generation.html).
 * A document with a dimension set publishes to exactly that set (here `FunctionName` +
 * `ExecutedVersion`), so the alarms name the same two dimensions, no more and no fewer.
 *
 * No CDK imports: bundled into handlers. The CDK side (lib/deployment) imports the constants.
 */

/** CloudWatch namespace of the per-version service metrics. */
export const DEPLOYMENT_METRICS_NAMESPACE = 'Shipshape/ServiceVersions';

/** Metric names (shared contract with the deployment group's alarms). */
export const DEPLOYMENT_METRIC_NAMES = {
  /** 1 per request the handler answered (or threw on). Unit Count; alarms use Sum. */
  requests: 'Requests',
  /** 1 per 5xx response or unhandled throw, 0 otherwise. Unit Count; alarms use Sum. */
  serverErrors: 'ServerErrors',
  /** Handler time of one request in milliseconds. Alarms use p99. */
  latency: 'Latency',
} as const;

/** Dimension names, in the one dimension set every document declares. */
export const DEPLOYMENT_METRIC_DIMENSIONS = {
  /** The function's name (`context.functionName`), without qualifier. */
  functionName: 'FunctionName',
  /** The version that ran (`context.functionVersion`), e.g. `42`, or `$LATEST`. */
  executedVersion: 'ExecutedVersion',
} as const;

/** The bits of the Lambda context the metrics need. */
export interface DeploymentMetricsContext {
  readonly functionName: string;
  readonly functionVersion: string;
}

/** One request as measured. */
export interface RequestMeasurement {
  readonly functionName: string;
  readonly executedVersion: string;
  /** HTTP status answered; `undefined` when the handler threw. */
  readonly statusCode: number | undefined;
  readonly latencyMs: number;
  /** Epoch milliseconds the request started (the EMF timestamp). */
  readonly timestamp: number;
}

/** Whether the request counts as a server error: a 5xx, or no answer at all (a throw). */
export function isServerError(statusCode: number | undefined): boolean {
  return statusCode === undefined || statusCode >= 500;
}

/** The EMF document of one request. */
export function emfDocument(measurement: RequestMeasurement): Record<string, unknown> {
  const { functionName, executedVersion } = DEPLOYMENT_METRIC_DIMENSIONS;
  const names = DEPLOYMENT_METRIC_NAMES;
  return {
    _aws: {
      Timestamp: measurement.timestamp,
      CloudWatchMetrics: [
        {
          Namespace: DEPLOYMENT_METRICS_NAMESPACE,
          Dimensions: [[functionName, executedVersion]],
          Metrics: [
            { Name: names.requests, Unit: 'Count' },
            { Name: names.serverErrors, Unit: 'Count' },
            { Name: names.latency, Unit: 'Milliseconds' },
          ],
        },
      ],
    },
    [functionName]: measurement.functionName,
    [executedVersion]: measurement.executedVersion,
    [names.requests]: 1,
    [names.serverErrors]: isServerError(measurement.statusCode) ? 1 : 0,
    [names.latency]: measurement.latencyMs,
    // Not a metric (no directive names it): lets Logs Insights filter the documents by status.
    statusCode: measurement.statusCode ?? 'unhandled',
  };
}

/** Options of {@link withDeploymentMetrics}; tests replace the sink and the clock. */
export interface DeploymentMetricsOptions {
  /**
   * Where each EMF line goes.
   * @default - one line on process.stdout (which Lambda ships to the function's log group)
   */
  readonly write?: (line: string) => void;
  /**
   * Milliseconds since the epoch.
   * @default Date.now
   */
  readonly now?: () => number;
}

/** The status code of an HTTP Lambda result: a bare string/object without one means 200. */
function statusOf(result: unknown): number {
  if (typeof result === 'object' && result !== null && 'statusCode' in result) {
    const code = Number((result as { statusCode: unknown }).statusCode);
    // An unreadable status reaches the caller as a 5xx from API Gateway: count it as one.
    return Number.isInteger(code) ? code : 500;
  }
  // API Gateway payload 2.0 answers 200 for a result without a statusCode
  // (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html).
  return 200;
}

/**
 * Wraps an HTTP Lambda handler so that every request publishes {@link DEPLOYMENT_METRIC_NAMES}
 * for the version that ran. The handler's result and errors pass through unchanged; a failure
 * to write the metrics never fails the request.
 *
 * @example
 * export const handler = withDeploymentMetrics(async (event, context) => ({ statusCode: 200, body: 'ok' }));
 */
export function withDeploymentMetrics<E, C extends DeploymentMetricsContext, R>(
  handler: (event: E, context: C) => Promise<R>,
  options: DeploymentMetricsOptions = {},
): (event: E, context: C) => Promise<R> {
  const now = options.now ?? Date.now;
  const write = options.write ?? ((line: string) => void process.stdout.write(line));
  const publish = (context: C, started: number, statusCode: number | undefined) => {
    try {
      const document = emfDocument({
        functionName: context.functionName,
        executedVersion: context.functionVersion,
        statusCode,
        latencyMs: Math.max(0, now() - started),
        timestamp: started,
      });
      write(`${JSON.stringify(document)}\n`);
    } catch {
      // Metrics are best effort: a broken sink must not turn a good answer into an error.
    }
  };
  return async (event, context) => {
    const started = now();
    let result: R;
    try {
      result = await handler(event, context);
    } catch (error) {
      publish(context, started, undefined);
      throw error;
    }
    publish(context, started, statusOf(result));
    return result;
  };
}
