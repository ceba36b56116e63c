import {
  DEPLOYMENT_METRICS_NAMESPACE,
  DEPLOYMENT_METRIC_DIMENSIONS,
  DEPLOYMENT_METRIC_NAMES,
  emfDocument,
  isServerError,
  withDeploymentMetrics,
} from '../../../lambda/runtime/deployment-metrics';

const context = { functionName: 'Production-Stateless-Api', functionVersion: '42' };

/** Runs `handler` once through the wrapper and returns the EMF documents it wrote. */
async function measure(
  handler: () => Promise<unknown>,
): Promise<{ docs: Record<string, unknown>[]; result: unknown; error?: unknown }> {
  const lines: string[] = [];
  let clock = 1_000;
  const wrapped = withDeploymentMetrics(
    async () => {
      clock += 37;
      return handler();
    },
    { write: (line) => lines.push(line), now: () => clock },
  );
  let result: unknown;
  let error: unknown;
  try {
    result = await wrapped({}, context);
  } catch (caught) {
    error = caught;
  }
  return { docs: lines.map((l) => JSON.parse(l) as Record<string, unknown>), result, error };
}

describe('per-version deployment metrics (EMF)', () => {
  test('a 200 counts one request, no server error, and its latency, for the version that ran', async () => {
    const { docs, result } = await measure(async () => ({ statusCode: 200, body: 'ok' }));
    expect(result).toEqual({ statusCode: 200, body: 'ok' });
    expect(docs).toHaveLength(1);
    expect(docs[0]).toMatchObject({
      FunctionName: 'Production-Stateless-Api',
      ExecutedVersion: '42',
      Requests: 1,
      ServerErrors: 0,
      Latency: 37,
    });
  });

  test.each([500, 502, 503, 504])('a handled %i response counts as a server error', async (statusCode) => {
    const { docs } = await measure(async () => ({ statusCode }));
    expect(docs[0]).toMatchObject({ Requests: 1, ServerErrors: 1 });
  });

  test.each([400, 401, 403, 404, 409, 413, 422, 429])(
    'a %i (client error) never counts as a server error',
    async (statusCode) => {
      const { docs } = await measure(async () => ({ statusCode }));
      expect(docs[0]).toMatchObject({ Requests: 1, ServerErrors: 0 });
    },
  );

  test('an unhandled throw counts as a server error and is rethrown unchanged', async () => {
    const boom = new Error('boom');
    const { docs, error } = await measure(async () => {
      throw boom;
    });
    expect(error).toBe(boom);
    expect(docs[0]).toMatchObject({ Requests: 1, ServerErrors: 1, statusCode: 'unhandled' });
  });

  test('a result without statusCode is a 200 (API Gateway payload 2.0), an unreadable one a 500', async () => {
    expect((await measure(async () => 'plain body')).docs[0]).toMatchObject({ ServerErrors: 0 });
    expect((await measure(async () => ({ statusCode: 'teapot' }))).docs[0]).toMatchObject({
      ServerErrors: 1,
    });
  });

  test('the document is valid EMF: one directive naming exactly the two dimensions and three metrics', () => {
    const doc = emfDocument({
      functionName: 'f',
      executedVersion: '7',
      statusCode: 201,
      latencyMs: 12,
      timestamp: 1_700_000_000_000,
    });
    const aws = doc._aws as { Timestamp: number; CloudWatchMetrics: Array<Record<string, unknown>> };
    expect(aws.Timestamp).toBe(1_700_000_000_000);
    expect(aws.CloudWatchMetrics).toEqual([
      {
        Namespace: DEPLOYMENT_METRICS_NAMESPACE,
        Dimensions: [
          [DEPLOYMENT_METRIC_DIMENSIONS.functionName, DEPLOYMENT_METRIC_DIMENSIONS.executedVersion],
        ],
        Metrics: [
          { Name: DEPLOYMENT_METRIC_NAMES.requests, Unit: 'Count' },
          { Name: DEPLOYMENT_METRIC_NAMES.serverErrors, Unit: 'Count' },
          { Name: DEPLOYMENT_METRIC_NAMES.latency, Unit: 'Milliseconds' },
        ],
      },
    ]);
    // Every dimension and metric the directive names is a member of the root (EMF requirement).
    for (const name of [
      ...Object.values(DEPLOYMENT_METRIC_DIMENSIONS),
      ...Object.values(DEPLOYMENT_METRIC_NAMES),
    ]) {
      expect(doc).toHaveProperty(name);
    }
  });

  test('a broken metrics sink never fails the request', async () => {
    const wrapped = withDeploymentMetrics(async () => ({ statusCode: 200 }), {
      write: () => {
        throw new Error('EPIPE');
      },
    });
    await expect(wrapped({}, context)).resolves.toEqual({ statusCode: 200 });
  });

  test('isServerError: 5xx and no answer only', () => {
    expect([undefined, 500, 599].map(isServerError)).toEqual([true, true, true]);
    expect([200, 301, 404, 499].map(isServerError)).toEqual([false, false, false, false]);
  });
});
