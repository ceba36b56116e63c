import type { Pool, PoolClient } from 'pg';
import { createIamPool, createPool, sqlComment } from './pool';
import { currentRequest } from './request-scope';

/** Options of {@link createPoolFromEnv}. */
export interface PoolFromEnvOptions {
  /**
   * Connections per container. Lambda serves one request per container at a time, so 2 covers
   * a request plus a health check; the RDS Proxy pools the rest.
   * @default 2
   */
  readonly max?: number;
  /**
   * Client-side limit of one query (the proxy multiplexes transactions, so no session
   * `statement_timeout` is set: a session setting would pin the connection).
   * @default 5000, or `DB_QUERY_TIMEOUT_MS`
   */
  readonly queryTimeoutMs?: number;
  /**
   * Gives up opening or borrowing a connection after this long.
   * @default 2000
   */
  readonly connectionTimeoutMs?: number;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * The one line an adopter changes: `new Pool({ connectionString: process.env.DATABASE_URL })`
 * becomes `createPoolFromEnv()`. It returns a plain `pg` `Pool`, so every query of the app
 * stays as it is.
 *
 * - On AWS (`DB_HOST` set by the `Service` construct): a pool to the RDS Proxy as `DB_USER`
 *   with a 15-minute IAM token instead of a password and TLS that verifies the proxy's
 *   certificate ({@link createIamPool}).
 * - Elsewhere (`DATABASE_URL`, e.g. from `.env` on a laptop or in CI): a pool to that URL.
 *
 * Every statement sent inside a request served by {@link apiHandler} starts with
 * `/* request_id=... *\/`, so a slow query in the database log leads back to the request.
 * @throws naming the variables to set when neither is present.
 */
export function createPoolFromEnv(options: PoolFromEnvOptions = {}): Pool {
  const env = options.env ?? process.env;
  const max = options.max ?? 2;
  const connectionTimeoutMs = options.connectionTimeoutMs ?? 2000;
  const queryTimeoutMs = options.queryTimeoutMs ?? positiveInteger(env.DB_QUERY_TIMEOUT_MS, 5000);
  let pool: Pool;
  if (env.DB_HOST) {
    const missing = ['DB_NAME', 'DB_USER', 'AWS_REGION'].filter((name) => !env[name]);
    if (missing.length > 0) {
      throw new Error(`createPoolFromEnv: DB_HOST is set but ${missing.join(', ')} is not`);
    }
    pool = createIamPool({
      host: env.DB_HOST,
      port: positiveInteger(env.DB_PORT, 5432),
      database: env.DB_NAME!,
      user: env.DB_USER!,
      region: env.AWS_REGION!,
      max,
      connectionTimeoutMs,
      queryTimeoutMs,
    });
  } else if (env.DATABASE_URL) {
    pool = createPool({
      connectionString: env.DATABASE_URL,
      max,
      connectionTimeoutMillis: connectionTimeoutMs,
      query_timeout: queryTimeoutMs,
    });
  } else {
    throw new Error(
      'createPoolFromEnv: set DB_HOST, DB_NAME, DB_USER and AWS_REGION (the Service construct does) or DATABASE_URL',
    );
  }
  pool.on('connect', tagQueriesWithRequestId);
  return pool;
}

function positiveInteger(value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) {
    throw new Error(`createPoolFromEnv: expected a positive integer, got '${value}'`);
  }
  return parsed;
}

type QueryArgs = Parameters<PoolClient['query']>;

/** Prefixes every text query of `client` with the current request's id, when there is one. */
function tagQueriesWithRequestId(client: PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  client.query = ((...args: QueryArgs) => {
    const requestId = currentRequest()?.requestId;
    const [first, ...rest] = args as unknown[];
    if (requestId === undefined) return query(first, ...rest);
    if (typeof first === 'string') return query(`${sqlComment(requestId)} ${first}`, ...rest);
    if (isQueryConfig(first))
      return query({ ...first, text: `${sqlComment(requestId)} ${first.text}` }, ...rest);
    return query(first, ...rest);
  }) as PoolClient['query'];
}

/** A `{ text, values }` config object (not a submittable such as a cursor or stream). */
function isQueryConfig(value: unknown): value is { text: string } {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { text?: unknown; submit?: unknown };
  return typeof candidate.text === 'string' && typeof candidate.submit !== 'function';
}
