import { Signer } from '@aws-sdk/rds-signer';
import { Pool, type PoolClient, type PoolConfig, type QueryResultRow } from 'pg';

/** Runs one SQL statement; the request id is prepended as a comment. */
export interface Sql {
  query<R extends QueryResultRow>(text: string, params?: readonly unknown[]): Promise<R[]>;
}

/** Settings of the pool to the RDS Proxy. */
export interface IamPoolSettings {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  /** The database role the token is signed for (`app`). */
  readonly user: string;
  readonly region: string;
  /** Connections per container. Lambda runs one request at a time, so 1-2 is enough. */
  readonly max: number;
  /** Gives up opening a connection (or borrowing one) after this long. */
  readonly connectionTimeoutMs: number;
  /** Client-side backstop for one query; the server-side limit is set per transaction. */
  readonly queryTimeoutMs: number;
}

/**
 * A small pool to the RDS Proxy as `user`, authenticated with an IAM token (signed locally by
 * `@aws-sdk/rds-signer`, valid 15 minutes, used only when a connection opens) over TLS that
 * verifies the proxy's certificate (ACM-issued, trusted by Node's default CA store).
 */
export function createIamPool(settings: IamPoolSettings): Pool {
  const signer = new Signer({
    hostname: settings.host,
    port: settings.port,
    username: settings.user,
    region: settings.region,
  });
  return createPool({
    host: settings.host,
    port: settings.port,
    database: settings.database,
    user: settings.user,
    password: () => signer.getAuthToken(),
    ssl: { rejectUnauthorized: true },
    max: settings.max,
    connectionTimeoutMillis: settings.connectionTimeoutMs,
    query_timeout: settings.queryTimeoutMs,
  });
}

/** A pool with the service's defaults: idle connections close before the proxy drops them. */
export function createPool(config: PoolConfig): Pool {
  const pool = new Pool({
    idleTimeoutMillis: 60_000,
    allowExitOnIdle: true,
    application_name: 'shipshape-api',
    ...config,
  });
  // An idle client that errors (proxy restart, failover) must not crash the container.
  pool.on('error', () => undefined);
  return pool;
}

/** Who is calling and for which request: set on every transaction. */
export interface TransactionContext {
  readonly callerId: string;
  readonly requestId: string;
  /**
   * `lock_timeout` of the transaction: a statement waiting longer than this for a row another
   * transaction holds fails with SQLSTATE 55P03 instead of waiting for the statement timeout.
   * @default - the role's setting (PostgreSQL's default: wait)
   */
  readonly lockTimeoutMs?: number;
}

const SET_CONTEXT = "SELECT set_config('app.caller_id', $1, true), set_config('statement_timeout', $2, true)";
const SET_CONTEXT_WITH_LOCK_TIMEOUT = `${SET_CONTEXT}, set_config('lock_timeout', $3, true)`;

/**
 * Database access of the service. Every unit of work runs in a transaction that first sets
 * `app.caller_id` (the key of the row-level security policies) and a `statement_timeout`, both
 * local to the transaction, and every statement carries `/* request_id=... *\/` so a slow query
 * in the database log leads back to the request.
 */
export class Database {
  constructor(
    private readonly pool: Pool,
    private readonly statementTimeoutMs: number,
  ) {}

  /** Runs `work` in a transaction on behalf of `context.callerId`; rolls back on any error. */
  public async transaction<T>(context: TransactionContext, work: (sql: Sql) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const sql = tagged(client, context.requestId);
    let broken = false;
    try {
      await sql.query('BEGIN');
      const settings = [context.callerId, String(this.statementTimeoutMs)];
      if (context.lockTimeoutMs !== undefined) settings.push(String(Math.max(1, context.lockTimeoutMs)));
      await sql.query(settings.length === 3 ? SET_CONTEXT_WITH_LOCK_TIMEOUT : SET_CONTEXT, settings);
      const result = await work(sql);
      await sql.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await sql.query('ROLLBACK');
      } catch {
        broken = true;
      }
      throw error;
    } finally {
      // A connection whose rollback failed is in an unknown state: destroy it instead of reusing it.
      client.release(broken);
    }
  }

  /** `SELECT 1` through the pool, for the health check. */
  public async ping(requestId: string): Promise<void> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await tagged(client, requestId).query('SELECT 1');
    } catch (error) {
      broken = true;
      throw error;
    } finally {
      client.release(broken);
    }
  }
}

/** Request ids are validated to `[A-Za-z0-9._:-]`; the replace is a second guard for the comment. */
export function sqlComment(requestId: string): string {
  return `/* request_id=${requestId.replace(/[^A-Za-z0-9._:-]/g, '_')} */`;
}

function tagged(client: PoolClient, requestId: string): Sql {
  const comment = sqlComment(requestId);
  return {
    async query<R extends QueryResultRow>(text: string, params: readonly unknown[] = []) {
      const result = await client.query<R>(`${comment} ${text}`, params as unknown[]);
      return result.rows;
    },
  };
}
