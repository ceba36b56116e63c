import { loadMigrations } from '../../../lib/migrations';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Client } from 'pg';
import {
  createHandler,
  type CriticalTable,
  type VerificationResult,
  type VerifierEnvironment,
} from '../../../lambda/restore-verification/verifier';
import type { ConnectFn } from '../../../lambda/runtime/iam-connect';
import { createTestDatabase, type TestDatabase, TEST_DATABASE_URL } from '../../helpers/postgres';

/** Every migration in the repository, oldest first: the seeded source is migrated to the newest. */
const MIGRATIONS = loadMigrations().map((m) => m.name);
const LATEST = MIGRATIONS[MIGRATIONS.length - 1];
const PREVIOUS = MIGRATIONS[MIGRATIONS.length - 2];

/**
 * The verifier against real PostgreSQL: a migrated, seeded "source" is pg_dump'ed and restored
 * into fresh databases (the local stand-in for a point-in-time restore), which the verifier
 * checks as restore_verifier. Locally it authenticates with the test superuser's password and
 * `SET ROLE restore_verifier`, so the checks run with exactly that role's privileges and RLS
 * policies; on AWS the same handler signs an IAM token instead.
 */

const server = new URL(TEST_DATABASE_URL);
const CRITICAL_TABLES: CriticalTable[] = [
  { name: 'notes', minRows: 0 },
  { name: 'accounts', minRows: 0 },
  { name: 'heartbeat', minRows: 1 },
];
const NEWEST_HEARTBEAT_AGE_SECONDS = 300;

/**
 * Password auth as the server's superuser, then the target user's privileges via SET ROLE, in the
 * session time zone `timeZone` (a parameter group or a role setting can give any zone).
 */
const passwordConnectIn =
  (timeZone?: string): ConnectFn =>
  async (target) => {
    const client = new Client({
      host: target.host,
      port: target.port,
      database: target.database,
      user: decodeURIComponent(server.username),
      password: decodeURIComponent(server.password),
      connectionTimeoutMillis: 10_000,
    });
    await client.connect();
    await client.query(`SET ROLE ${client.escapeIdentifier(target.user)}`);
    if (timeZone) await client.query(`SET TIME ZONE ${client.escapeLiteral(timeZone)}`);
    return client;
  };

function handlerFor(database: string, timeZone?: string) {
  const env: VerifierEnvironment = {
    DATABASE_NAME: database,
    DATABASE_USER: 'restore_verifier',
    PROXY_ENDPOINT: server.hostname,
    DATABASE_PORT: Number(server.port || 5432),
    CRITICAL_TABLES,
  };
  return createHandler(() => ({
    connect: passwordConnectIn(timeZone),
    env,
    logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    now: () => new Date(),
  }));
}

let source: TestDatabase;
let dumpDir: string;
let dumpFile: string;
let requestedAt: Date;
let sourceMigrations: Array<{ name: string; runOn: string }>;
const restored: TestDatabase[] = [];

/** A new database holding the source's dump, after `breakIt` ran on it as the superuser. */
async function restoreCopy(label: string, breakIt?: string): Promise<TestDatabase> {
  const db = await createTestDatabase(`rv_${label}`);
  restored.push(db);
  execFileSync('pg_restore', ['--exit-on-error', '--dbname', db.url, dumpFile], { stdio: 'pipe' });
  if (breakIt) await db.pool.query(breakIt);
  return db;
}

async function verify(db: TestDatabase, overrides: Record<string, unknown> = {}, timeZone?: string) {
  return handlerFor(
    db.name,
    timeZone,
  )({
    action: 'verify',
    host: server.hostname,
    port: Number(server.port || 5432),
    restorePointTime: requestedAt.toISOString(),
    requestedAt: requestedAt.toISOString(),
    sourceMigrations,
    ...overrides,
  });
}

beforeAll(async () => {
  source = await createTestDatabase('rv_source', { migrated: true });
  requestedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
  await source.pool.query(`INSERT INTO public.accounts (id) VALUES ('user-a'), ('user-b')`);
  await source.pool.query(
    `INSERT INTO public.notes (owner_id, title, body) VALUES ('user-a', 'first', 'x'), ('user-b', 'second', 'y')`,
  );
  await source.pool.query(
    `INSERT INTO public.heartbeat (recorded_at, source) VALUES
       ($1::timestamptz - interval '15 minutes', 'test'), ($1::timestamptz - make_interval(secs => $2), 'test')`,
    [requestedAt.toISOString(), NEWEST_HEARTBEAT_AGE_SECONDS],
  );
  dumpDir = mkdtempSync(join(tmpdir(), 'shipshape-rv-'));
  dumpFile = join(dumpDir, 'source.dump');
  execFileSync('pg_dump', ['--format=custom', '--file', dumpFile, source.url], { stdio: 'pipe' });

  const read = (await handlerFor(source.name)({ action: 'readSource' })) as {
    migrations: typeof sourceMigrations;
  };
  sourceMigrations = read.migrations;
});

afterAll(async () => {
  await Promise.all([source, ...restored].filter(Boolean).map((db) => db.drop()));
  if (dumpDir) rmSync(dumpDir, { recursive: true, force: true });
});

describe('verifier against a pg_dump restored into a second database', () => {
  test('readSource returns the source migration history, newest first, as restore_verifier', () => {
    expect(sourceMigrations.map((m) => m.name)).toEqual([...MIGRATIONS].reverse());
    for (const m of sourceMigrations) expect(Date.parse(m.runOn)).toBeLessThanOrEqual(Date.now());
  });

  test('passes on a faithful restore and measures the RPO from the newest heartbeat', async () => {
    const db = await restoreCopy('good');
    const result = (await verify(db)) as VerificationResult;
    expect(result.passed).toBe(true);
    expect(result.failures).toEqual([]);
    expect(result.restoredMigration).toBe(LATEST);
    expect(result.expectedMigration).toBe(LATEST);
    expect(result.rpoSeconds).toBe(NEWEST_HEARTBEAT_AGE_SECONDS);
    // RLS on notes/accounts: restore_verifier's read-all policies let it count every row.
    expect(result.tables).toEqual([
      { name: 'notes', exists: true, rows: 2, minRows: 0 },
      { name: 'accounts', exists: true, rows: 2, minRows: 0 },
      { name: 'heartbeat', exists: true, rows: 2, minRows: 1 },
    ]);
    expect(result.rtoSeconds).toBeGreaterThanOrEqual(0);
  });

  test('passes when the source migrated after the restore point (a deploy during the run)', async () => {
    const db = await restoreCopy('later_deploy');
    const later = new Date(requestedAt.getTime() + 60_000).toISOString();
    const result = (await verify(db, {
      sourceMigrations: [{ name: '9999_applied_after_the_restore_point', runOn: later }, ...sourceMigrations],
    })) as VerificationResult;
    expect(result.passed).toBe(true);
    expect(result.expectedMigration).toBe(LATEST);
  });

  test("measures the restore point from the copy: a migration applied after the recorded point but before the copy's newest heartbeat is expected", async () => {
    const db = await restoreCopy('measured_point');
    const at = (minutesBefore: number) =>
      new Date(requestedAt.getTime() - minutesBefore * 60_000).toISOString();
    // The recorded point (the source's LatestRestorableTime before the call) is an hour old, but
    // the copy holds a heartbeat from 5 minutes before the request, so it is at least that fresh.
    const history = [
      { name: LATEST, runOn: at(30) },
      { name: PREVIOUS, runOn: at(120) },
    ];
    const result = (await verify(db, {
      restorePointTime: at(60),
      sourceMigrations: history,
    })) as VerificationResult;
    expect(result.passed).toBe(true);
    expect(result.expectedMigration).toBe(LATEST);
    expect(result.restorePointTime).toBe(at(NEWEST_HEARTBEAT_AGE_SECONDS / 60));
    expect(result.restorePointLagSeconds).toBe(NEWEST_HEARTBEAT_AGE_SECONDS);
  });

  test('a migration applied between the measured point and the request may or may not be in the copy', async () => {
    const db = await restoreCopy(
      'in_window',
      `DELETE FROM public.shipshape_migrations WHERE name = '${LATEST}'`,
    );
    const at = (minutesBefore: number) =>
      new Date(requestedAt.getTime() - minutesBefore * 60_000).toISOString();
    const history = [
      { name: LATEST, runOn: at(1) },
      { name: PREVIOUS, runOn: at(120) },
    ];
    const without = (await verify(db, {
      restorePointTime: at(60),
      sourceMigrations: history,
    })) as VerificationResult;
    expect(without).toMatchObject({ passed: true, expectedMigration: PREVIOUS, restoredMigration: PREVIOUS });
    const withIt = (await verify(await restoreCopy('in_window_2'), {
      restorePointTime: at(60),
      sourceMigrations: history,
    })) as VerificationResult;
    expect(withIt).toMatchObject({ passed: true, expectedMigration: PREVIOUS, restoredMigration: LATEST });
  });

  test('fails with a clear reason when a critical table is missing', async () => {
    const db = await restoreCopy('missing_table', 'DROP TABLE public.notes');
    await expect(verify(db)).rejects.toMatchObject({
      name: 'VerificationFailed',
      message: 'critical table public.notes is missing from the restored database',
    });
  });

  test('fails with a clear reason when a critical table has too few rows', async () => {
    const db = await restoreCopy('too_few_rows', 'DELETE FROM public.heartbeat');
    await expect(verify(db)).rejects.toMatchObject({
      name: 'VerificationFailed',
      message: expect.stringContaining(
        'critical table public.heartbeat has 0 rows, fewer than the minimum 1',
      ),
    });
  });

  test('fails with a clear reason when the restored schema is at an older migration', async () => {
    const db = await restoreCopy(
      'older_migration',
      `DELETE FROM public.shipshape_migrations WHERE name = '${LATEST}'`,
    );
    await expect(verify(db)).rejects.toMatchObject({
      name: 'VerificationFailed',
      message: `restored schema is at migration ${PREVIOUS} but the source was at ${LATEST} at the restore point`,
    });
  });

  test('fails when the source had no migration at the restore point', async () => {
    const db = await restoreCopy('no_source_history');
    await expect(verify(db, { sourceMigrations: [] })).rejects.toMatchObject({
      message: expect.stringContaining('no migration applied at or before the restore point'),
    });
  });

  test('rejects an invalid event as a user error before connecting', async () => {
    await expect(handlerFor(source.name)({ action: 'verify', host: '' })).rejects.toMatchObject({
      name: 'UserError',
    });
  });
});

// Far from UTC on both sides, one with a half-hour offset: UTC+14 and UTC-3:30 (UTC-2:30 in summer).
describe.each(['Pacific/Kiritimati', 'America/St_Johns'])('with the session time zone %s', (zone) => {
  /** The source's history as instants, read as epoch milliseconds by the superuser. */
  async function truth(): Promise<Array<{ name: string; runOn: string }>> {
    const { rows } = await source.pool.query<{ name: string; ms: string }>(
      'SELECT name, round(extract(epoch FROM run_on) * 1000)::bigint AS ms FROM shipshape_migrations ORDER BY id DESC',
    );
    return rows.map((r) => ({ name: r.name, runOn: new Date(Number(r.ms)).toISOString() }));
  }

  test('readSource returns each migration at the instant it was applied', async () => {
    const read = (await handlerFor(source.name, zone)({ action: 'readSource' })) as {
      migrations: typeof sourceMigrations;
    };
    expect(read.migrations).toEqual(await truth());
    expect(read.migrations).toEqual(sourceMigrations); // the same as read in the server's own zone
  });

  test('expects the migration applied just before the restore point and measures the RPO', async () => {
    const history = await truth();
    const read = (await handlerFor(source.name, zone)({ action: 'readSource' })) as {
      migrations: typeof sourceMigrations;
    };
    const db = await restoreCopy(`tz_${zone.replace(/\W+/g, '_')}`);
    // One second after the newest migration: a reading shifted by the zone offset puts it
    // hours after the restore point (no migration expected) or keeps a wrong order.
    const restorePoint = new Date(Date.parse(history[0].runOn) + 1000);
    const result = (await verify(
      db,
      { sourceMigrations: read.migrations, restorePointTime: restorePoint.toISOString() },
      zone,
    )) as VerificationResult;
    expect(result.expectedMigration).toBe(LATEST);
    expect(result.passed).toBe(true);
    expect(result.rpoSeconds).toBe(NEWEST_HEARTBEAT_AGE_SECONDS);
    expect(Date.parse(result.newestHeartbeat!)).toBe(
      requestedAt.getTime() - NEWEST_HEARTBEAT_AGE_SECONDS * 1000,
    );
  });
});

/**
 * A TCP server that answers every PostgreSQL startup packet the way a server that is still
 * starting does: an ErrorResponse with SQLSTATE 57P03 (cannot_connect_now), then closes.
 * https://www.postgresql.org/docs/current/protocol-message-formats.html (ErrorResponse)
 */
async function startingUpServer(): Promise<Server> {
  const field = (type: string, value: string) =>
    Buffer.concat([Buffer.from(type), Buffer.from(`${value}\0`)]);
  const body = Buffer.concat([
    field('S', 'FATAL'),
    field('V', 'FATAL'),
    field('C', '57P03'),
    field('M', 'the database system is starting up'),
    Buffer.from([0]),
  ]);
  const length = Buffer.alloc(4);
  length.writeInt32BE(body.length + 4);
  const message = Buffer.concat([Buffer.from('E'), length, body]);
  const server = createServer((socket) => {
    socket.once('data', () => socket.end(message));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

describe('connection errors right after the copy becomes available', () => {
  let starting: Server;
  beforeAll(async () => {
    starting = await startingUpServer();
  });
  afterAll(() => new Promise<void>((resolve) => starting.close(() => resolve())));

  const cases: Array<[string, () => { host: string; port: number }, RegExp]> = [
    ['the port refuses (ECONNREFUSED)', () => ({ host: '127.0.0.1', port: 1 }), /ECONNREFUSED/],
    [
      'PostgreSQL is still starting (57P03 cannot_connect_now)',
      () => ({ host: '127.0.0.1', port: (starting.address() as AddressInfo).port }),
      /57P03: the database system is starting up/,
    ],
    // RFC 2606 reserves .invalid: it never resolves, as a new endpoint may not yet.
    [
      'the endpoint name does not resolve (DNS)',
      () => ({ host: 'restored-copy.invalid', port: 5432 }),
      /ENOTFOUND|EAI_AGAIN/,
    ],
  ];

  test.each(cases)(
    '%s: fails as DatabaseNotReady, which the state machine retries',
    async (_what, where, detail) => {
      const error = await verify(restored[0] ?? (await restoreCopy('conn')), where()).catch(
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ name: 'DatabaseNotReady' });
      expect((error as Error).message).toMatch(detail);
    },
  );

  test('reading the source fails as DatabaseNotReady when the proxy refuses', async () => {
    const env: VerifierEnvironment = {
      DATABASE_NAME: source.name,
      DATABASE_USER: 'restore_verifier',
      PROXY_ENDPOINT: '127.0.0.1',
      DATABASE_PORT: 1,
      CRITICAL_TABLES,
    };
    const handler = createHandler(() => ({
      connect: passwordConnectIn(),
      env,
      logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
      now: () => new Date(),
    }));
    await expect(handler({ action: 'readSource' })).rejects.toMatchObject({ name: 'DatabaseNotReady' });
  });

  test('a reachable copy that fails a check, or refuses the role, is not taken for a connection error', async () => {
    const broken = await restoreCopy('not_conn', 'DROP TABLE public.notes');
    await expect(verify(broken)).rejects.toMatchObject({ name: 'VerificationFailed' });
    const locked = await restoreCopy('no_grant', 'REVOKE SELECT ON public.accounts FROM restore_verifier');
    const error = await verify(locked).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: '42501' });
    expect((error as Error).name).not.toBe('DatabaseNotReady');
  });
});
