/**
 * The API handler against the real PostgreSQL and Redis of the test run, shared by the handler,
 * property and fault-injection tests. The function connects as a password login role that is a
 * member of `app` and switches to it (`-c role=app`): the same privileges and row-level security
 * as `app` with an IAM token on AWS.
 *
 *   beforeAll(() => startApi('service'));  afterAll(stopApi);
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { createLocalJWKSet, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import type { Pool } from 'pg';
import { createApiHandler } from '../../../lambda/api/app';
import { type CacheClient, createCacheClient } from '../../../lambda/runtime/cache';
import { createPool } from '../../../lambda/runtime/pool';
import { type ApiSettings, createDependencies } from '../../../lambda/api/dependencies';
import type { ApiResponse } from '../../../lambda/runtime/http';
import { cognitoIssuer, createAccessTokenVerifier } from '../../../lambda/shared/jwt';
import { createTestDatabase, type TestDatabase, withAdminClient } from '../../helpers/postgres';

const REDIS_URL = new URL(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
export const RUN = randomBytes(4).toString('hex');
const KEY_PREFIX = `shipshape-test:service:${RUN}:`;
const ISSUER = cognitoIssuer('eu-west-1', 'eu-west-1_Test');
const CLIENT_ID = 'test-app-client';
const LOGIN_ROLE = `svc_test_${RUN}`;
const LOGIN_PASSWORD = randomBytes(12).toString('hex');
export const ALICE = 'alice-0000-sub';
export const BOB = 'bob-1111-sub';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
export type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<ApiResponse>;

/** What {@link startApi} set up; valid until {@link stopApi}. */
export interface ApiUnderTest {
  readonly db: TestDatabase;
  /** Connected as the `app` role (row-level security applies). */
  readonly appPool: Pool;
  readonly redis: CacheClient;
  readonly signingKey: KeyPair;
  /** The handler with the default test dependencies. */
  readonly handle: Handler;
}

let api: ApiUnderTest | undefined;
let verifyToken: ReturnType<typeof createAccessTokenVerifier>;
const extraPools: Pool[] = [];
const extraClients: CacheClient[] = [];
const tokens = new Map<string, { at: number; token: Promise<string> }>();

function current(): ApiUnderTest {
  if (!api) throw new Error('startApi() first');
  return api;
}

export function redisClient(port = Number(REDIS_URL.port || 6379)): CacheClient {
  const client = createCacheClient({
    host: REDIS_URL.hostname,
    port,
    tls: false,
    connectTimeoutMs: 500,
    commandTimeoutMs: 1000,
  });
  extraClients.push(client);
  return client;
}

export function appRolePool(
  overrides: { port?: number; connectionString?: string; max?: number } = {},
  db: TestDatabase = current().db,
): Pool {
  const url = new URL(db.url);
  const pool = createPool({
    host: url.hostname,
    port: overrides.port ?? Number(url.port || 5432),
    database: url.pathname.slice(1),
    user: LOGIN_ROLE,
    password: LOGIN_PASSWORD,
    options: '-c role=app',
    max: overrides.max ?? 4,
    connectionTimeoutMillis: 1000,
    query_timeout: 5000,
  });
  extraPools.push(pool);
  return pool;
}

/** A pool as the superuser to the test database (bypasses row-level security). */
export function superuserPool(): Pool {
  const url = new URL(current().db.url);
  const pool = createPool({ connectionString: current().db.url, database: url.pathname.slice(1), max: 2 });
  extraPools.push(pool);
  return pool;
}

export function dependencies(overrides: Partial<ApiSettings> & { pool?: Pool; cache?: CacheClient } = {}) {
  const { pool, cache, ...settings } = overrides;
  return createDependencies(pool ?? current().appPool, cache ?? current().redis, {
    clientId: CLIENT_ID,
    requestsPerMinute: 10_000,
    keyPrefix: `${KEY_PREFIX}${randomBytes(3).toString('hex')}:`,
    verifyToken,
    logger: new Logger({ logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: 'ShipshapeTest', serviceName: 'test' }),
    healthCheckTimeoutMs: 1500,
    ...settings,
  });
}

export function context(remainingMs = 10_000): Context {
  return {
    functionName: 'shipshape-api-test',
    functionVersion: '1',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:111111111111:function:shipshape-api-test:live',
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/shipshape-api-test',
    logStreamName: 'test',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => remainingMs,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export async function accessToken(sub: string, key?: KeyPair): Promise<string> {
  const sign = () =>
    new SignJWT({ token_use: 'access', client_id: CLIENT_ID })
      .setProtectedHeader({ alg: 'RS256', kid: 'test' })
      .setSubject(sub)
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign((key ?? current().signingKey).privateKey);
  if (key) return sign();
  // One token per caller for up to 4 of its 5 minutes: signing is the slow part of a request.
  const cached = tokens.get(sub);
  if (cached && Date.now() - cached.at < 240_000) return cached.token;
  const token = sign();
  tokens.set(sub, { at: Date.now(), token });
  return token;
}

export interface RequestOptions {
  readonly as?: string | null;
  readonly body?: unknown;
  readonly rawBody?: string;
  readonly headers?: Record<string, string>;
  readonly query?: Record<string, string>;
  /** Sets `rawQueryString` as sent (`query` builds both it and `queryStringParameters`). */
  readonly rawQueryString?: string;
  readonly idempotencyKey?: string | null;
  readonly token?: string;
  readonly isBase64Encoded?: boolean;
}

export async function event(
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<APIGatewayProxyEventV2> {
  const caller = options.as === undefined ? ALICE : options.as;
  const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
  if (method !== 'GET' && options.idempotencyKey !== null) {
    headers['idempotency-key'] = options.idempotencyKey ?? randomUUID();
  }
  if (caller !== null) headers.authorization = `Bearer ${options.token ?? (await accessToken(caller))}`;
  const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: options.rawQueryString ?? new URLSearchParams(options.query ?? {}).toString(),
    queryStringParameters: options.query,
    headers,
    body,
    isBase64Encoded: options.isBase64Encoded ?? false,
    requestContext: {
      accountId: '111111111111',
      apiId: 'api',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'jest' },
      ...(caller === null
        ? {}
        : {
            authorizer: {
              jwt: { claims: { sub: caller, token_use: 'access', client_id: CLIENT_ID }, scopes: [] },
              principalId: '',
              integrationLatency: 0,
            },
          }),
    },
  } as unknown as APIGatewayProxyEventV2;
}

export async function call(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse> {
  return current().handle(await event(method, path, options), context());
}

export function bodyOf<T = Record<string, unknown>>(response: ApiResponse): T {
  return JSON.parse(response.body as string) as T;
}

export interface NoteBody {
  id: string;
  title: string;
  body: string;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export async function createNote(as = ALICE, title = 'a note', body = 'text'): Promise<NoteBody> {
  const response = await call('POST', '/notes', { as, body: { title, body } });
  expect(response.statusCode).toBe(201);
  return bodyOf<NoteBody>(response);
}

/** Rows as the superuser sees them (row-level security does not apply to superusers). */
export async function countNotes(ownerId: string): Promise<number> {
  const result = await current().db.pool.query('SELECT count(*)::int AS n FROM notes WHERE owner_id = $1', [
    ownerId,
  ]);
  return result.rows[0].n as number;
}

/** Creates the database (migrated), the login role, the cache client and the signing key. */
export async function startApi(prefix: string): Promise<ApiUnderTest> {
  const db = await createTestDatabase(prefix, { migrated: true });
  await withAdminClient(async (admin) => {
    await admin.query(`CREATE ROLE ${LOGIN_ROLE} LOGIN PASSWORD '${LOGIN_PASSWORD}' IN ROLE app`);
  });
  const appPool = appRolePool({}, db);
  const redis = redisClient();
  await redis.connect();
  const signingKey = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(signingKey.publicKey)), kid: 'test', alg: 'RS256' };
  verifyToken = createAccessTokenVerifier({
    issuer: ISSUER,
    clientId: CLIENT_ID,
    keys: createLocalJWKSet({ keys: [jwk] }),
  });
  api = { db, appPool, redis, signingKey, handle: async () => Promise.reject(new Error('not yet')) };
  api = { ...api, handle: createApiHandler(dependencies()) };
  return api;
}

export async function stopApi(): Promise<void> {
  await Promise.all(extraPools.map((p) => p.end().catch(() => undefined)));
  const redis = api?.redis;
  if (redis?.isReady) {
    for await (const keys of redis.scanIterator({ MATCH: `${KEY_PREFIX}*`, COUNT: 200 })) {
      if (keys.length > 0) await redis.del(keys);
    }
  }
  for (const client of extraClients) {
    try {
      client.destroy(); // also stops the reconnect loop of the clients pointed at a closed port
    } catch {
      // already closed
    }
  }
  await api?.db.drop();
  await withAdminClient((admin) => admin.query(`DROP ROLE IF EXISTS ${LOGIN_ROLE}`));
  api = undefined;
}
