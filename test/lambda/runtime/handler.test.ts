import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { ApiError, apiHandler, currentRequest, type RequestOutcome } from '../../../lambda/runtime';

function event(headers: Record<string, string> = {}): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'ANY /{proxy+}',
    rawPath: '/todos',
    rawQueryString: '',
    headers,
    requestContext: { routeKey: 'ANY /{proxy+}', http: { method: 'GET', path: '/todos' } },
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

function context(remainingMs = 10_000): Context {
  return {
    functionName: 'api',
    functionVersion: '7',
    awsRequestId: 'lambda-request',
    getRemainingTimeInMillis: () => remainingMs,
  } as unknown as Context;
}

const silentLogger = () => new Logger({ logLevel: 'SILENT' });
const metrics = () => new Metrics({ namespace: 'Test', serviceName: 'test' });

describe('apiHandler', () => {
  let logged: string[];
  beforeEach(() => {
    logged = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      logged.push(String(chunk));
      return true;
    });
  });
  afterEach(() => jest.restoreAllMocks());

  test('passes the edge request id to the app, the request scope and the response', async () => {
    const seen: (string | undefined)[] = [];
    const handler = apiHandler(
      async (e) => {
        seen.push(e.headers['x-request-id'], currentRequest()?.requestId);
        return { statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: '[]' };
      },
      { logger: silentLogger(), metrics: metrics() },
    );
    const response = await handler(event({ 'x-request-id': 'edge-req-123' }), context());
    expect(seen).toEqual(['edge-req-123', 'edge-req-123']);
    expect(response.statusCode).toBe(200);
    expect(response.headers['x-request-id']).toBe('edge-req-123');
    expect(response.headers['content-type']).toBe('application/json');
  });

  test('replaces a malformed request id with a fresh UUID', async () => {
    const handler = apiHandler(async () => ({ statusCode: 204 }), {
      logger: silentLogger(),
      metrics: metrics(),
    });
    const response = await handler(event({ 'x-request-id': '*/ DROP TABLE x; --' }), context());
    expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('an ApiError the app throws becomes its 4xx with the one error body', async () => {
    const handler = apiHandler(
      async () => {
        throw new ApiError(404, 'not_found', 'the todo was not found');
      },
      { logger: silentLogger(), metrics: metrics() },
    );
    const response = await handler(event({ 'x-request-id': 'req-404-abc' }), context());
    expect(response.statusCode).toBe(404);
    expect(JSON.parse(response.body!)).toEqual({
      error: { code: 'not_found', message: 'the todo was not found', requestId: 'req-404-abc' },
    });
  });

  test('a transient dependency failure is a 503 with Retry-After; anything else a 500 that leaks nothing', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const transient = apiHandler(
      async () => {
        throw refused;
      },
      { logger: silentLogger(), metrics: metrics() },
    );
    const r503 = await transient(event(), context());
    expect(r503.statusCode).toBe(503);
    expect(r503.headers['retry-after']).toBe('1');

    const bug = apiHandler(
      async () => {
        throw new TypeError('cannot read properties of undefined (reading "password")');
      },
      { logger: silentLogger(), metrics: metrics() },
    );
    const r500 = await bug(event(), context());
    expect(r500.statusCode).toBe(500);
    expect(r500.body).not.toContain('password');
  });

  test('answers 503 before the function timeout when the app takes too long', async () => {
    const handler = apiHandler(() => new Promise(() => undefined), {
      logger: silentLogger(),
      metrics: metrics(),
      reserveMs: 500,
    });
    const started = Date.now();
    const response = await handler(event(), context(650));
    expect(Date.now() - started).toBeLessThan(600);
    expect(response.statusCode).toBe(503);
    expect(JSON.parse(response.body!).error.code).toBe('timeout');
  });

  test('hands every outcome to the hooks, survives a failing hook, and emits EMF per route', async () => {
    const outcomes: RequestOutcome[] = [];
    const handler = apiHandler(async () => ({ statusCode: 502, body: 'bad gateway' }), {
      logger: silentLogger(),
      metrics: metrics(),
      onOutcome: [
        (o) => outcomes.push(o),
        () => {
          throw new Error('hook broke');
        },
      ],
    });
    const response = await handler(event({ 'x-request-id': 'req-hooks-1' }), context());
    expect(response.statusCode).toBe(502);
    expect(outcomes).toEqual([
      expect.objectContaining({
        requestId: 'req-hooks-1',
        route: 'ANY /{proxy+}',
        status: 502,
        kind: 'fatal',
      }),
    ]);
    const documents = logged
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((l) => '_aws' in l);
    expect(documents.find((d) => 'route' in d)).toMatchObject({
      route: 'ANY /{proxy+}',
      Requests: 1,
      Fault: 1,
    });
    // The per-version document the canary alarms read, for the version that ran.
    expect(documents.find((d) => 'ExecutedVersion' in d)).toMatchObject({
      FunctionName: 'api',
      ExecutedVersion: '7',
      Requests: 1,
      ServerErrors: 1,
    });
  });

  test('a bare string or object result is a 200 JSON answer', async () => {
    const handler = apiHandler(async () => '{"ok":true}', { logger: silentLogger(), metrics: metrics() });
    const response = await handler(event(), context());
    expect(response).toMatchObject({ statusCode: 200, body: '{"ok":true}' });
  });
});
