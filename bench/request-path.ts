// `npx tsx bench/request-path.ts [--samples N] [--json]` (also part of `npm run bench`)
// The API's request path in process against the local PostgreSQL and Redis, side by side with
// its floor: the same SQL statements and Redis commands issued directly, one after another, on
// the same pool and client. Samples alternate between the two so drift in machine load hits
// both alike. Reports p50/p99 and their ratio to the floor for a cached read, an uncached read
// and an idempotent create, and what the rest costs (the handler with parts switched off).
import { randomBytes, randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { parseArgs } from 'node:util';
import type { Pool } from 'pg';
import { createApiHandler } from '../lambda/api/app';
import { createDependencies } from '../lambda/api/dependencies';
import { TOKEN_BUCKET_LUA } from '../lambda/api/rate-limit';
import { COLUMNS } from '../lambda/api/notes';
import { type CacheClient, createCacheClient } from '../lambda/runtime/cache';
import { IDEMPOTENCY_SQL } from '../lambda/runtime/idempotency';
import { createPool, sqlComment } from '../lambda/runtime/pool';
import { createTestDatabase, withAdminClient } from '../test/helpers/postgres';

const WARMUP = 150;
const CLIENT_ID = 'bench-client';
const RUN = randomBytes(4).toString('hex');
const CALLER = `bench-${RUN}`;
const PREFIX = `shipshape-bench:${RUN}:`;
const ROLE = `bench_${RUN}`;
const PASSWORD = randomBytes(12).toString('hex');

/** What {@link run} measured. */
export interface RequestPathBench {
  readonly results: readonly PathResult[];
  readonly cost: HandlerCost;
}

export interface PathResult {
  readonly name: string;
  readonly handler: { p50: number; p99: number };
  readonly floor: { p50: number; p99: number };
  readonly ratioP50: number;
  readonly ratioP99: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
const summary = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
};

function event(method: string, path: string, body?: unknown): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: {
      'content-type': 'application/json',
      ...(method === 'POST' ? { 'idempotency-key': randomUUID() } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    isBase64Encoded: false,
    requestContext: {
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'bench' },
      requestId: randomUUID(),
      routeKey: '$default',
      authorizer: { jwt: { claims: { sub: CALLER, token_use: 'access', client_id: CLIENT_ID }, scopes: [] } },
    },
  } as unknown as APIGatewayProxyEventV2;
}

const context = {
  functionName: 'bench',
  awsRequestId: 'bench',
  getRemainingTimeInMillis: () => 10_000,
} as unknown as Context;

/** Runs the request-path bench (creates and drops its own database, role and cache keys). */
export async function run(SAMPLES = 600): Promise<RequestPathBench> {
  const db = await createTestDatabase('bench', { migrated: true });
  await withAdminClient((admin) =>
    admin.query(`CREATE ROLE ${ROLE} LOGIN PASSWORD '${PASSWORD}' IN ROLE app`),
  );
  const url = new URL(db.url);
  const pool = createPool({
    host: url.hostname,
    port: Number(url.port || 5432),
    database: url.pathname.slice(1),
    user: ROLE,
    password: PASSWORD,
    options: '-c role=app',
    max: 2,
  });
  const redisUrl = new URL(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  const cache = createCacheClient({
    host: redisUrl.hostname,
    port: Number(redisUrl.port || 6379),
    tls: false,
    connectTimeoutMs: 1000,
    commandTimeoutMs: 1000,
  });
  await cache.connect();
  // Production logging and metrics (one log line and one EMF line per request), written to a
  // sink instead of a terminal: their cost is formatting, as on Lambda.
  const realWrite = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  const handler = createApiHandler(
    createDependencies(pool, cache, {
      clientId: CLIENT_ID,
      requestsPerMinute: 1_000_000,
      keyPrefix: PREFIX,
      logger: new Logger({ serviceName: 'bench', logLevel: 'INFO' }),
      metrics: new Metrics({ namespace: 'Bench', serviceName: 'bench' }),
    }),
  );

  // Floor: the statements and commands the handler issues, without the handler.
  const rateKey = `${PREFIX}rate:${CALLER}`;
  const rateArgs = { keys: [rateKey], arguments: ['1000000', String(1_000_000 / 60_000)] };
  await cache.eval(TOKEN_BUCKET_LUA, rateArgs);
  const sha = String(await cache.scriptLoad(TOKEN_BUCKET_LUA));
  const noteKey = (id: string) => `${PREFIX}note:${CALLER}:${id}`;
  const transaction = async (statements: Array<[string, unknown[]]>) => {
    const client = await pool.connect();
    const comment = sqlComment(randomUUID());
    try {
      for (const [text, params] of statements) await client.query(`${comment} ${text}`, params);
    } finally {
      client.release();
    }
  };
  const context3 = "SELECT set_config('app.caller_id', $1, true), set_config('statement_timeout', $2, true)";
  const floor = {
    async cachedRead(id: string) {
      await cache.evalSha(sha, rateArgs);
      await cache.get(noteKey(id));
    },
    async uncachedRead(id: string) {
      await cache.evalSha(sha, rateArgs);
      await cache.get(noteKey(`${id}-floor`));
      await transaction([
        ['BEGIN', []],
        [context3, [CALLER, '2000']],
        [`SELECT ${COLUMNS} FROM notes WHERE id = $1 AND owner_id = $2`, [id, CALLER]],
        ['COMMIT', []],
      ]);
      await cache.set(noteKey(`${id}-floor`), '{"id":"x"}', { EX: 60 });
    },
    async create() {
      await cache.evalSha(sha, rateArgs);
      const key = randomUUID();
      const hash = randomBytes(32).toString('hex');
      const client = await pool.connect();
      const c = sqlComment(randomUUID());
      try {
        await client.query(`${c} BEGIN`);
        await client.query(`${c} ${context3}, set_config('lock_timeout', $3, true)`, [CALLER, '2000', '300']);
        await client.query(`${c} ${IDEMPOTENCY_SQL.claim}`, [CALLER, 'POST /notes', key, hash, 86400]);
        await client.query(`${c} INSERT INTO accounts (id) VALUES ($1) ON CONFLICT (id) DO NOTHING`, [
          CALLER,
        ]);
        const { rows } = await client.query(
          `${c} INSERT INTO notes (owner_id, title, body) VALUES ($1, $2, $3) RETURNING ${COLUMNS}`,
          [CALLER, 'bench', 'body'],
        );
        await client.query(
          `${c} INSERT INTO outbox (job_type, payload) VALUES ($1, $2::jsonb) RETURNING id::text AS id`,
          ['note.created', JSON.stringify({ noteId: rows[0].id, ownerId: CALLER })],
        );
        await client.query(`${c} ${IDEMPOTENCY_SQL.complete}`, [
          CALLER,
          'POST /notes',
          key,
          201,
          JSON.stringify(rows[0]),
        ]);
        await client.query(`${c} COMMIT`);
      } finally {
        client.release();
      }
    },
  };

  const call = async (method: string, path: string, body?: unknown) => {
    const response = await handler(event(method, path, body), context);
    if (response.statusCode >= 300)
      throw new Error(`${method} ${path}: ${response.statusCode} ${response.body}`);
    return response;
  };
  const created = JSON.parse((await call('POST', '/notes', { title: 'hot', body: 'x' })).body as string) as {
    id: string;
  };
  // Notes read once each, so every uncached read is a miss (handler and floor alike).
  const cold: string[] = [];
  for (let i = 0; i < SAMPLES + WARMUP; i++) {
    const r = await db.pool.query("INSERT INTO notes (owner_id, title) VALUES ($1, 'cold') RETURNING id", [
      CALLER,
    ]);
    cold.push(r.rows[0].id as string);
  }
  await call('GET', `/notes/${created.id}`); // fills the cache

  const paths = [
    {
      name: 'cached read (GET /notes/{id}, hit)',
      handler: () => call('GET', `/notes/${created.id}`),
      floor: () => floor.cachedRead(created.id),
    },
    {
      name: 'uncached read (GET /notes/{id}, miss)',
      handler: (i: number) => call('GET', `/notes/${cold[i]}`),
      floor: (i: number) => floor.uncachedRead(cold[i]),
    },
    {
      name: 'idempotent create (POST /notes)',
      handler: () => call('POST', '/notes', { title: 'bench', body: 'body' }),
      floor: () => floor.create(),
    },
  ];
  const results: PathResult[] = [];
  for (const path of paths) {
    const h: number[] = [];
    const f: number[] = [];
    for (let i = 0; i < SAMPLES + WARMUP; i++) {
      // Alternating which goes first, so neither always runs on the other's warm-up.
      const [first, second] = i % 2 === 0 ? [path.handler, path.floor] : [path.floor, path.handler];
      const t0 = performance.now();
      await first(i);
      const t1 = performance.now();
      await second(i);
      const t2 = performance.now();
      if (i >= WARMUP) {
        (i % 2 === 0 ? h : f).push(t1 - t0);
        (i % 2 === 0 ? f : h).push(t2 - t1);
      }
    }
    const hs = summary(h);
    const fs = summary(f);
    results.push({
      name: path.name,
      handler: hs,
      floor: fs,
      ratioP50: hs.p50 / fs.p50,
      ratioP99: hs.p99 / fs.p99,
    });
  }

  const cost = await handlerCost();
  process.stdout.write = realWrite;
  cache.destroy();
  await pool.end();
  await db.drop();
  await withAdminClient((admin) => admin.query(`DROP ROLE IF EXISTS ${ROLE}`));
  return { results, cost };
}

/** Per-request CPU of the handler alone (what it adds to the floor) on a cached read. */
export interface HandlerCost {
  readonly fullUs: number;
  readonly withoutLoggingUs: number;
  readonly withoutMetricsUs: number;
  readonly withoutBothUs: number;
}

/**
 * What the rest costs: the cached read against an in-memory cache that answers at once, so only
 * the handler's own work is timed (routing, validation, JSON, the log line, the EMF metrics),
 * with logging and metrics switched off in turn.
 */
async function handlerCost(): Promise<HandlerCost> {
  const id = randomUUID();
  const stored = JSON.stringify({ id, title: 't', body: 'b', version: 1, createdAt: 'c', updatedAt: 'u' });
  const instant = {
    isReady: true,
    evalSha: async () => [1, 100, 0],
    get: async () => stored,
    on: () => undefined,
  };
  const noMetrics = {
    addMetric: () => undefined,
    addDimension: () => undefined,
    publishStoredMetrics: () => undefined,
  };
  const perRequestUs = async (logging: boolean, metrics: boolean) => {
    const handler = createApiHandler(
      createDependencies({} as Pool, instant as unknown as CacheClient, {
        clientId: CLIENT_ID,
        requestsPerMinute: 1_000_000,
        logger: new Logger({ serviceName: 'bench', logLevel: logging ? 'INFO' : 'SILENT' }),
        metrics: metrics
          ? new Metrics({ namespace: 'Bench', serviceName: 'bench' })
          : (noMetrics as unknown as Metrics),
      }),
    );
    const run = async (n: number) => {
      for (let i = 0; i < n; i++) await handler(event('GET', `/notes/${id}`), context);
    };
    await run(2000);
    const started = performance.now();
    await run(10_000);
    return ((performance.now() - started) / 10_000) * 1000;
  };
  return {
    fullUs: await perRequestUs(true, true),
    withoutLoggingUs: await perRequestUs(false, true),
    withoutMetricsUs: await perRequestUs(true, false),
    withoutBothUs: await perRequestUs(false, false),
  };
}

export function table({ results, cost }: RequestPathBench): string {
  const ms = (n: number) => `${n.toFixed(2)} ms`;
  const us = (n: number) => `${n.toFixed(0)} µs`;
  return [
    '| request path | handler p50 / p99 | floor p50 / p99 | ratio p50 / p99 |',
    '| --- | --- | --- | --- |',
    ...results.map(
      (r) =>
        `| ${r.name} | ${ms(r.handler.p50)} / ${ms(r.handler.p99)} | ${ms(r.floor.p50)} / ${ms(r.floor.p99)} | ${r.ratioP50.toFixed(2)}× / ${r.ratioP99.toFixed(2)}× |`,
    ),
    '',
    `Handler CPU per cached read with an instant cache (what it adds to the floor): ${us(cost.fullUs)}; ` +
      `without the log line ${us(cost.withoutLoggingUs)}, without EMF metrics ${us(cost.withoutMetricsUs)}, ` +
      `without both ${us(cost.withoutBothUs)} (routing, auth claims, validation, JSON).`,
  ].join('\n');
}

if (require.main === module) {
  const { values: args } = parseArgs({
    options: { samples: { type: 'string', default: '600' }, json: { type: 'boolean', default: false } },
  });
  run(Number(args.samples)).then(
    (bench) => console.log(args.json ? JSON.stringify(bench) : table(bench)),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
