/**
 * Throwaway databases on the shared test PostgreSQL server (`TEST_DATABASE_URL`, default
 * postgres://shipshape:shipshape@127.0.0.1:5432/postgres, a superuser).
 *
 *   const db = await createTestDatabase('notes', { migrated: true });
 *   await db.pool.query('...');      // connected as the superuser to the new database
 *   // act as the service: BEGIN; SET LOCAL ROLE app; SELECT set_config('app.caller_id', $1, true); ...
 *   await db.drop();                 // in afterAll
 *
 * Migrated databases are cloned (`CREATE DATABASE x TEMPLATE tpl`) from a template database
 * that is migrated once per set of migrations: the template's name carries a hash of the
 * migration files and of the runner, so a change to either builds a new one, and test runs of
 * different branches sharing the server never use each other's. Building it is serialized by an
 * advisory lock in the maintenance database, so parallel jest workers (and parallel jest runs)
 * build it once and then only clone it. jest's globalSetup builds it up front and drops stale
 * test databases (see postgres-global-setup.ts).
 *
 * Every database is named `shipshape_test_<prefix>_<created, base36 ms>_<random>`; the
 * creation time in the name is what the stale-database sweep reads.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Pool, type PoolClient } from 'pg';
import { defaultMigrationsDir, migrate } from '../../lib/migrations';

export const TEST_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? 'postgres://shipshape:shipshape@127.0.0.1:5432/postgres';

export const TEST_DATABASE_PREFIX = 'shipshape_test_';
const TEMPLATE_PREFIX = 'shipshape_tpl_';
/** Any 64-bit number; the lock lives in the maintenance database, which every helper connects to. */
const TEMPLATE_LOCK_ID = '6001986360245585233';
const STALE_AFTER_MS = 60 * 60 * 1000;
const STALE_TEMPLATE_AFTER_MS = 24 * 60 * 60 * 1000;

export interface TestDatabase {
  /** Database name, `shipshape_test_…`. */
  readonly name: string;
  /** Connection string for the superuser to this database. */
  readonly url: string;
  /** A pool connected as the superuser to this database (connects lazily; `drop()` ends it). */
  readonly pool: Pool;
  /** Ends the pool and drops the database (even with open connections). */
  drop(): Promise<void>;
}

export interface CreateTestDatabaseOptions {
  /**
   * Clone the migrated template (every migration of `migrations/` applied) instead of an empty database.
   * @default false
   */
  readonly migrated?: boolean;
}

/** `url` with its database replaced by `database`. */
export function databaseUrl(database: string, base: string = TEST_DATABASE_URL): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Runs `work` with a client connected to the maintenance database of the test server. */
export async function withAdminClient<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A fresh database name: `shipshape_test_<prefix>_<base36 ms>_<random>`, at most 63 bytes. */
export function testDatabaseName(prefix: string, now: number = Date.now()): string {
  const clean =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '') || 'db';
  const suffix = `_${now.toString(36)}_${randomBytes(3).toString('hex')}`;
  return `${TEST_DATABASE_PREFIX}${clean.slice(0, 63 - TEST_DATABASE_PREFIX.length - suffix.length)}${suffix}`;
}

/** When a test database was created, read from its name; undefined for names not made here. */
export function createdAtOf(name: string): number | undefined {
  if (!name.startsWith(TEST_DATABASE_PREFIX)) return undefined;
  const match = /_([0-9a-z]+)_[0-9a-f]{6}$/.exec(name);
  if (!match) return undefined;
  const value = parseInt(match[1], 36);
  return Number.isFinite(value) ? value : undefined;
}

/** Name of the template for the current migrations and runner code. */
export function templateName(migrationsDir: string = defaultMigrationsDir()): string {
  const hash = createHash('sha256');
  const runnerDir = join(__dirname, '..', '..', 'lib', 'migrations');
  for (const [dir, ext] of [
    [migrationsDir, '.sql'],
    [runnerDir, '.ts'],
  ] as const) {
    for (const file of readdirSync(dir)
      .filter((f) => f.endsWith(ext))
      .sort()) {
      hash
        .update(file)
        .update('\0')
        .update(readFileSync(join(dir, file)))
        .update('\0');
    }
  }
  return `${TEMPLATE_PREFIX}${hash.digest('hex').slice(0, 16)}`;
}

/**
 * Makes sure the migrated template for the current migrations exists and returns its name.
 * Safe to call from many processes at once.
 */
export async function ensureMigratedTemplate(): Promise<string> {
  const template = templateName();
  await withAdminClient(async (admin) => {
    await admin.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK_ID]);
    try {
      const existing = await admin.query<{ datistemplate: boolean }>(
        'SELECT datistemplate FROM pg_database WHERE datname = $1',
        [template],
      );
      // datistemplate is set last: a template without it is a half-built leftover of a crash.
      if (existing.rows[0]?.datistemplate) return;
      await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(template)} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${quoteIdent(template)}`);
      await migrate({ direction: 'up', connection: databaseUrl(template) });
      await admin.query(
        `COMMENT ON DATABASE ${quoteIdent(template)} IS 'shipshape test template built ${Date.now()}'`,
      );
      // No connections allowed: CREATE DATABASE … TEMPLATE fails while anyone is connected to it.
      await admin.query(
        `ALTER DATABASE ${quoteIdent(template)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`,
      );
    } finally {
      await admin.query('SELECT pg_advisory_unlock($1)', [TEMPLATE_LOCK_ID]);
    }
  });
  return template;
}

/**
 * Drops `shipshape_test_*` databases created more than an hour ago (left by crashed runs), and
 * templates of other migration sets built more than a day ago (left by earlier code).
 */
export async function dropStaleTestDatabases(now: number = Date.now()): Promise<string[]> {
  const current = templateName();
  return withAdminClient(async (admin) => {
    const templates = await admin.query<{ datname: string; built: string | null }>(
      `SELECT datname, shobj_description(oid, 'pg_database') AS built FROM pg_database
       WHERE datname LIKE 'shipshape\\_tpl\\_%' AND datname <> $1`,
      [current],
    );
    const staleTemplates = templates.rows
      .filter((row) => {
        const built = /built (\d+)$/.exec(row.built ?? '');
        return built !== null && now - Number(built[1]) > STALE_TEMPLATE_AFTER_MS;
      })
      .map((row) => row.datname);
    for (const name of staleTemplates) {
      await admin.query(`ALTER DATABASE ${quoteIdent(name)} WITH IS_TEMPLATE false`);
      await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    }

    const result = await admin.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE datname LIKE 'shipshape\\_test\\_%'",
    );
    const stale = result.rows
      .map((row) => row.datname)
      .filter((name) => {
        const createdAt = createdAtOf(name);
        return createdAt !== undefined && now - createdAt > STALE_AFTER_MS;
      });
    for (const name of stale) await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    return [...staleTemplates, ...stale];
  });
}

/** Creates a uniquely named database on the test server (see the module comment). */
export async function createTestDatabase(
  prefix: string,
  options: CreateTestDatabaseOptions = {},
): Promise<TestDatabase> {
  const name = testDatabaseName(prefix);
  await withAdminClient(async (admin) => {
    for (let attempt = 1; ; attempt++) {
      const template = options.migrated ? await ensureMigratedTemplate() : undefined;
      const from = template ? ` TEMPLATE ${quoteIdent(template)}` : '';
      try {
        await admin.query(`CREATE DATABASE ${quoteIdent(name)}${from}`);
        return;
      } catch (error) {
        // 3D000: another run's sweep dropped the template between the check and the clone.
        if ((error as { code?: string }).code !== '3D000' || attempt > 1) throw error;
      }
    }
  });
  const url = databaseUrl(name);
  const pool = new Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 10_000 });
  pool.on('error', () => undefined); // a dropped database kills idle clients; that is expected
  let dropped = false;
  return {
    name,
    url,
    pool,
    async drop() {
      if (dropped) return;
      dropped = true;
      await pool.end();
      await withAdminClient((admin) =>
        admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`),
      );
    },
  };
}

/**
 * Runs `work` in a transaction as database `role` (SET LOCAL ROLE), with `app.caller_id` set the
 * way the service sets it, then rolls back (or commits, to seed data): the grants and row-level
 * security a function's role really has.
 */
export async function asRole<T>(
  db: TestDatabase,
  role: string,
  callerId: string | undefined,
  work: (client: PoolClient) => Promise<T>,
  commit = false,
): Promise<T> {
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL ROLE ${client.escapeIdentifier(role)}`);
    if (callerId !== undefined)
      await client.query("SELECT set_config('app.caller_id', $1, true)", [callerId]);
    const result = await work(client);
    await client.query(commit ? 'COMMIT' : 'ROLLBACK');
    return result;
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}
