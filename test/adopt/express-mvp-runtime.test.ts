/**
 * The adopted Express MVP answers correctly on the Lambda path: the fixture, changed only as
 * docs/adopt.md says, with the entry `shipshape init` writes, run through
 * @codegenie/serverless-express and the runtime library against the real PostgreSQL (migrated
 * with the migrations init wrote, connected as the service role `app`) and the real Redis.
 */
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { run as init } from '../../lib/cli/commands/init';
import { migrate } from '../../lib/migrations';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres';
import { applyAdopterChanges, changedLines, copyFixture } from './adopter-changes';

// The package's runtime entry point resolves to this repository's source (the packed tarball is
// exercised by the synth test); the name is the one the adopter's code imports.
jest.mock('@shipshape/cdk/runtime', () => jest.requireActual('../../lambda/runtime'), { virtual: true });

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const REPO = join(__dirname, '..', '..');

type Handler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2 & { statusCode: number; headers: Record<string, string> }>;

let project: string;
let db: TestDatabase;
let handler: Handler;
const saved = { ...process.env };

beforeAll(async () => {
  project = mkdtempSync(join(tmpdir(), 'shipshape-adopt-runtime-'));
  copyFixture(project);
  applyAdopterChanges(project);
  symlinkSync(join(REPO, 'node_modules'), join(project, 'node_modules'), 'dir');
  const out: string[] = [];
  const io = {
    cwd: project,
    stdout: { write: (t: string) => out.push(t) },
    stderr: { write: (t: string) => out.push(t) },
  };
  const code = await init(
    [
      '--yes',
      '--staging-account',
      '111111111111',
      '--production-account',
      '222222222222',
      '--alarm-email',
      'oncall@example.com',
      '--repository-url',
      'https://github.com/acme/todo-api',
    ],
    io,
  );
  expect({ code, out: out.join('') }).toMatchObject({ code: 0 });

  db = await createTestDatabase('adopt');
  await migrate({ direction: 'up', connection: db.url, dir: join(project, 'migrations') });
  // Connect as the API's role (what the Service's DB_USER names), so the platform's role migration
  // and the baseline's grants are what the app runs with.
  const asApp = new URL(db.url);
  asApp.searchParams.set('options', '-c role=shipshape_api');
  process.env.DATABASE_URL = asApp.toString();
  process.env.REDIS_URL = REDIS_URL;
  // What the Service construct sets on AWS; quiet here (the logs and EMF are asserted in test/lambda/runtime).
  process.env.POWERTOOLS_SERVICE_NAME = 'todo-api';
  process.env.POWERTOOLS_METRICS_NAMESPACE = 'Shipshape';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  handler = (require(join(project, 'lambda.js')) as { handler: Handler }).handler;
});

afterAll(async () => {
  process.env = saved;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pool = require(join(project, 'db.js')) as { end(): Promise<void> };
  await pool.end();

  const runtime = jest.requireActual<typeof import('../../lambda/runtime')>('../../lambda/runtime');
  (await runtime.connectCacheFromEnv()).destroy();
  await db.drop();
  rmSync(project, { recursive: true, force: true });
});

let sequence = 0;
function request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  sequence += 1;
  const event = {
    version: '2.0',
    routeKey: path === '/health' ? 'GET /health' : 'ANY /{proxy+}',
    rawPath: path,
    rawQueryString: '',
    headers: {
      host: 'api.example.com',
      'user-agent': 'jest',
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    requestContext: {
      accountId: '111111111111',
      apiId: 'api',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'jest' },
      requestId: `apigw-${sequence}`,
      routeKey: path === '/health' ? 'GET /health' : 'ANY /{proxy+}',
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
  const context = {
    awsRequestId: `lambda-${sequence}`,
    functionName: 'api',
    getRemainingTimeInMillis: () => 10_000,
  } as unknown as Context;
  return handler(event, context);
}

const bodyOf = (response: { body?: string }) =>
  JSON.parse(response.body ?? 'null') as Record<string, unknown>;

test('GET /health probes the real database (as app) and the real Redis', async () => {
  const response = await request('GET', '/health', undefined, { 'x-request-id': 'adopt-health-1' });
  expect(response.statusCode).toBe(200);
  expect(bodyOf(response)).toMatchObject({
    status: 'ok',
    checks: { database: { status: 'ok' }, cache: { status: 'ok' } },
  });
  expect(response.headers['x-request-id']).toBe('adopt-health-1');
});

test('the fixture’s routes create, list, read, update and delete todos with their inline queries', async () => {
  const created = await request('POST', '/todos', { title: 'ship it' }, { 'x-request-id': 'adopt-create-1' });
  expect(created.statusCode).toBe(201);
  expect(created.headers['x-request-id']).toBe('adopt-create-1');
  const todo = bodyOf(created);
  expect(todo).toMatchObject({ title: 'ship it', completed: false });
  expect(typeof todo.id).toBe('number');

  const list = await request('GET', '/todos');
  expect(list.statusCode).toBe(200);
  expect((JSON.parse(list.body!) as { id: number }[]).map((t) => t.id)).toContain(todo.id);

  const updated = await request('PATCH', `/todos/${String(todo.id)}`, { completed: true });
  expect(updated.statusCode).toBe(200);
  expect(bodyOf(updated)).toMatchObject({ id: todo.id, title: 'ship it', completed: true });

  const read = await request('GET', `/todos/${String(todo.id)}`);
  expect(bodyOf(read)).toMatchObject({ id: todo.id, completed: true });

  expect((await request('DELETE', `/todos/${String(todo.id)}`)).statusCode).toBe(204);
  const gone = await request('GET', `/todos/${String(todo.id)}`);
  expect(gone.statusCode).toBe(404);
  expect(bodyOf(gone)).toEqual({ error: 'Todo not found' });
});

test('the app’s own validation still answers 400', async () => {
  const response = await request('POST', '/todos', {});
  expect(response.statusCode).toBe(400);
  expect(bodyOf(response)).toEqual({ error: 'Title is required' });
});

test('what the runtime cannot fix: the app’s own error handler answers a malformed id with 500', async () => {
  // PostgreSQL refuses 'abc' for an integer column (22P02); the fixture passes the error to its
  // catch-all handler, which answers 500 — a client error the canary alarms count as a fault.
  const response = await request('GET', '/todos/abc');
  expect(response.statusCode).toBe(500);
  expect(bodyOf(response)).toEqual({ error: 'Something went wrong' });
});

test('the adopter changed two files, by the documented lines only', () => {
  const lines = changedLines(project, ['db.js', 'index.js']);
  expect(lines).toEqual({ 'db.js': { added: 1, removed: 1 }, 'index.js': { added: 7, removed: 3 } });
  expect(readFileSync(join(project, 'routes', 'todos.js'), 'utf8')).toBe(
    readFileSync(join(__dirname, '..', 'fixtures', 'express-mvp', 'routes', 'todos.js'), 'utf8'),
  );
});
