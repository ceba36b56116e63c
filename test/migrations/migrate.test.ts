/**
 * The runner against the real PostgreSQL server: round trips with the schema compared after
 * each, atomic failure, lock and statement timeouts, phases, the advisory lock.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Client } from 'pg';
import {
  migrate,
  MIGRATION_LOCK_ID,
  MigrationError,
  MigrationLockError,
  MigrationPlanError,
  loadMigrations,
  migrationStatus,
} from '../../lib/migrations';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres';

const FIXTURES = join(__dirname, 'fixtures');
const SHIPSHAPE_ROLES = [
  'app',
  'restore_verifier',
  'shipshape_api',
  'shipshape_heartbeat',
  'shipshape_jobs_worker',
  'shipshape_outbox_relay',
  'shipshape_owner',
];
/** The repository's migrations, oldest first. */
const REPOSITORY_MIGRATIONS = loadMigrations().map((m) => m.name);

/** `pg_dump --schema-only` without comments, settings and the history table: what the migrations own. */
function schemaOf(db: TestDatabase): string {
  const dump = execFileSync(
    'pg_dump',
    ['--schema-only', '--exclude-table=public.shipshape_migrations', `--dbname=${db.url}`],
    { encoding: 'utf8' },
  );
  return dump
    .split('\n')
    .filter(
      (line) => !/^(--|SET |SELECT pg_catalog\.set_config|\\(un)?restrict )/.test(line) && line.trim() !== '',
    )
    .join('\n');
}

async function tableNames(db: TestDatabase): Promise<string[]> {
  const result = await db.pool.query<{ relname: string }>(
    "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY relname",
  );
  return result.rows.map((r) => r.relname);
}

async function appliedNames(db: TestDatabase): Promise<string[]> {
  const result = await db.pool.query<{ name: string }>('SELECT name FROM shipshape_migrations ORDER BY id');
  return result.rows.map((r) => r.name);
}

describe('migrate: round trips on the repository migrations', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('migrate_round_trip');
  });
  afterAll(() => db.drop());

  test('each migration reverts to exactly the schema before it, and re-applies to the same schema', async () => {
    const levels = [schemaOf(db)];
    for (const expected of REPOSITORY_MIGRATIONS) {
      const up = await migrate({ direction: 'up', count: 1, connection: db.url });
      expect(up.applied.map((s) => s.name)).toEqual([expected]);
      levels.push(schemaOf(db));
      expect(levels.at(-1)).not.toEqual(levels.at(-2)); // the migration changed something

      const down = await migrate({ direction: 'down', connection: db.url });
      expect(down.applied.map((s) => s.name)).toEqual([expected]);
      expect(schemaOf(db)).toEqual(levels.at(-2));

      await migrate({ direction: 'up', count: 1, connection: db.url });
      expect(schemaOf(db)).toEqual(levels.at(-1));
    }
    expect(levels.at(-1)).toContain('CREATE TABLE public.notes');
    expect(levels.at(-1)).toContain('ALTER TABLE public.notes OWNER TO shipshape_owner;');
  });

  test('down to zero leaves the schema as it was before any migration, and up again restores it', async () => {
    const before = schemaOf(db);
    const down = await migrate({ direction: 'down', to: '0000', connection: db.url });
    expect(down.applied.map((s) => s.name)).toEqual([...REPOSITORY_MIGRATIONS].reverse());
    expect(await tableNames(db)).toEqual(['shipshape_migrations']);
    expect(await appliedNames(db)).toEqual([]);

    const up = await migrate({ direction: 'up', connection: db.url });
    expect(up.applied).toHaveLength(REPOSITORY_MIGRATIONS.length);
    expect(schemaOf(db)).toEqual(before);
  });

  test('down to zero revokes every grant this database gave the shared roles, and keeps roles others use', async () => {
    await migrate({ direction: 'down', to: '0000', connection: db.url });
    try {
      const dependents = await db.pool.query(
        `SELECT r.rolname FROM pg_shdepend d JOIN pg_roles r ON r.oid = d.refobjid
         WHERE d.refclassid = 'pg_authid'::regclass AND r.rolname = ANY($1)
           AND (d.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                OR (d.classid = 'pg_database'::regclass
                    AND d.objid = (SELECT oid FROM pg_database WHERE datname = current_database())))`,
        [SHIPSHAPE_ROLES],
      );
      expect(dependents.rows).toEqual([]);
      // The migrated template (and other test databases) still use the roles: they must survive.
      const roles = await db.pool.query<{ rolname: string }>(
        'SELECT rolname FROM pg_roles WHERE rolname = ANY($1) ORDER BY rolname',
        [SHIPSHAPE_ROLES],
      );
      expect(roles.rows.map((r) => r.rolname)).toEqual(SHIPSHAPE_ROLES);
    } finally {
      await migrate({ direction: 'up', connection: db.url });
    }
  });

  test('up is a no-op when everything is applied, and status lists each migration as applied', async () => {
    const result = await migrate({ direction: 'up', connection: db.url });
    expect(result.applied).toEqual([]);
    const status = await migrationStatus(db.url);
    expect(status.migrations.map((m) => [m.name, m.phase, m.state, m.modified])).toEqual(
      REPOSITORY_MIGRATIONS.map((name) => [name, 'expand', 'applied', false]),
    );
    expect(status.migrations[0].appliedAt).toBeInstanceOf(Date);
    expect(status.unknownApplied).toEqual([]);
  });
});

describe('migrate: planning', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('migrate_plan');
  });
  afterAll(() => db.drop());

  test('a dry run returns the plan and changes nothing, not even the history table', async () => {
    // The deploy hook passes its Powertools Logger; the runner's logger type accepts it as is.
    const logger = new Logger({ serviceName: 'migrate-test', logLevel: 'SILENT' });
    const result = await migrate({ direction: 'up', dryRun: true, connection: db.url, logger });
    expect(result.dryRun).toBe(true);
    expect(result.applied.map((s) => s.name)).toEqual(REPOSITORY_MIGRATIONS);
    expect(await tableNames(db)).toEqual([]);
  });

  test('up --to applies up to and including the named migration; down --to keeps it', async () => {
    const up = await migrate({ direction: 'up', to: '0002', connection: db.url });
    expect(up.applied.map((s) => s.name)).toEqual(['0001_roles', '0002_heartbeat']);
    await migrate({ direction: 'up', connection: db.url });
    const down = await migrate({ direction: 'down', to: '0001_roles', connection: db.url });
    expect(down.applied.map((s) => s.name)).toEqual(REPOSITORY_MIGRATIONS.slice(1).reverse());
    expect(await appliedNames(db)).toEqual(['0001_roles']);
    await migrate({ direction: 'up', connection: db.url });
  });

  test('status flags a migration file edited after it was applied, and applied migrations it has no file for', async () => {
    await db.pool.query("UPDATE shipshape_migrations SET checksum = 'edited' WHERE name = '0002_heartbeat'");
    await db.pool.query(
      "INSERT INTO shipshape_migrations (name, phase, checksum) VALUES ('0099_from_a_newer_release', 'expand', 'x')",
    );
    try {
      const status = await migrationStatus(db.url);
      expect(status.migrations.find((m) => m.name === '0002_heartbeat')?.modified).toBe(true);
      expect(status.unknownApplied.map((m) => m.name)).toEqual(['0099_from_a_newer_release']);

      // A code rollback runs `up` with an older release: a newer applied migration is not an error...
      const warnings: string[] = [];
      const up = await migrate({
        direction: 'up',
        connection: db.url,
        logger: { info: () => undefined, warn: (message) => warnings.push(message) },
      });
      expect(up.applied).toEqual([]);
      expect(warnings).toEqual(
        expect.arrayContaining([
          expect.stringContaining('no file here'),
          expect.stringContaining('changed after'),
        ]),
      );
      // ...but reverting it needs the release that has its down section.
      await expect(migrate({ direction: 'down', connection: db.url })).rejects.toThrow(
        /0099_from_a_newer_release is applied but has no file here/,
      );
    } finally {
      await db.pool.query("DELETE FROM shipshape_migrations WHERE name = '0099_from_a_newer_release'");
    }
  });

  test('fails when another run holds the migration lock, and changes nothing', async () => {
    const holder = new Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
      await expect(migrate({ direction: 'down', connection: db.url })).rejects.toBeInstanceOf(
        MigrationLockError,
      );
      expect(await appliedNames(db)).toHaveLength(REPOSITORY_MIGRATIONS.length);
    } finally {
      await holder.end();
    }
  });

  test.each([
    [{ count: 0 }, /count must be a whole number of at least 1, got 0/],
    [{ count: 1, to: '0002' }, /either `to` or `count`/],
    [{ to: '0042' }, /no migration '0042'; known: 0001_roles, 0002_heartbeat/],
    [{ lockTimeout: 0 }, /lockTimeout must be a whole number of milliseconds of at least 1, got 0/],
    [{ statementTimeout: 1.5 }, /statementTimeout must be a whole number/],
    [{ phases: [] }, /phases must be a non-empty list of expand, contract/],
  ])('fails when the options are %j', async (options, message) => {
    const promise = migrate({ direction: 'up', connection: db.url, ...options });
    await expect(promise).rejects.toBeInstanceOf(MigrationPlanError);
    await expect(promise).rejects.toThrow(message);
  });

  test('fails when phases are given going down', async () => {
    await expect(migrate({ direction: 'down', phases: ['contract'], connection: db.url })).rejects.toThrow(
      /`phases` only applies going up/,
    );
  });

  test('fails when reverting down to a migration that is not applied', async () => {
    await migrate({ direction: 'down', to: '0002', connection: db.url });
    try {
      await expect(migrate({ direction: 'down', to: '0003', connection: db.url })).rejects.toThrow(
        /0003_accounts_and_notes is not applied/,
      );
    } finally {
      await migrate({ direction: 'up', connection: db.url });
    }
  });
});

describe('migrate: failures leave nothing behind', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('migrate_failure');
  });
  afterEach(() => db.drop());

  test('a failing migration is rolled back entirely; the migrations before it stay applied', async () => {
    const dir = join(FIXTURES, 'failing');
    const error = await migrate({ direction: 'up', dir, connection: db.url }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    const failure = error as MigrationError;
    expect(failure.migration).toBe('0002_broken');
    expect(failure.code).toBe('42P01'); // undefined_table
    expect(failure.message).toMatch(
      /0002_broken \(up\) failed and was rolled back \(line 3 of its Up Migration/,
    );
    expect(failure.completed.map((s) => s.name)).toEqual(['0001_create_widgets']);

    expect(await tableNames(db)).toEqual(['shipshape_migrations', 'widgets']); // no gadgets
    const columns = await db.pool.query(
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'widgets'",
    );
    expect(columns.rows).toEqual([{ column_name: 'id' }]); // no colour
    expect(await appliedNames(db)).toEqual(['0001_create_widgets']);
  });

  test('lock_timeout stops a migration waiting on a held lock, and nothing changes', async () => {
    await migrate({ direction: 'up', connection: db.url });
    const holder = new Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE public.notes, public.accounts, public.outbox IN ACCESS EXCLUSIVE MODE');
      // The newest migration's down alters or drops one of these (0008 changes the notes policy,
      // 0004 drops outbox), so it must wait for the lock; without lock_timeout it would
      // wait for the statement timeout (here far beyond the test timeout) and block all traffic.
      const error = await migrate({
        direction: 'down',
        connection: db.url,
        lockTimeout: 200,
        statementTimeout: 600_000,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MigrationError);
      expect((error as MigrationError).isLockTimeout).toBe(true);
      expect((error as MigrationError).message).toMatch(/lock timeout/);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    expect(await tableNames(db)).toEqual([
      'accounts',
      'heartbeat',
      'idempotency_keys',
      'notes',
      'outbox',
      'processed_jobs',
      'shipshape_migrations',
    ]);
    expect(await appliedNames(db)).toEqual(REPOSITORY_MIGRATIONS);
  });

  test('statement_timeout stops a slow migration, and nothing changes', async () => {
    const dir = join(FIXTURES, 'slow');
    const error = await migrate({ direction: 'up', dir, connection: db.url, statementTimeout: 200 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as MigrationError).isStatementTimeout).toBe(true);
    const columns = await db.pool.query(
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'widgets'",
    );
    expect(columns.rows).toEqual([{ column_name: 'id' }]);
    expect(await appliedNames(db)).toEqual(['0001_create_widgets']);
  });
});

describe('migrate: expand/contract phases', () => {
  const dir = join(FIXTURES, 'phased');
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('migrate_phases');
  });
  afterAll(() => db.drop());

  test('fails when a contract would run before the expand it completes', async () => {
    await expect(migrate({ direction: 'up', dir, phases: ['contract'], connection: db.url })).rejects.toThrow(
      /0002_drop_name contracts 0001_add_display_name, which is not applied/,
    );
    expect(await tableNames(db)).toEqual(['shipshape_migrations']);
  });

  test('up with phases [expand] applies expand migrations and holds back the contract', async () => {
    const result = await migrate({ direction: 'up', dir, phases: ['expand'], connection: db.url });
    expect(result.applied.map((s) => [s.name, s.phase])).toEqual([
      ['0001_add_display_name', 'expand'],
      ['0003_add_email', 'expand'],
    ]);
    expect(result.skipped).toEqual([
      { name: '0002_drop_name', phase: 'contract', reason: 'contract migrations not requested' },
    ]);
    const status = await migrationStatus(db.url, { dir });
    expect(status.migrations.map((m) => [m.name, m.state, m.contracts])).toEqual([
      ['0001_add_display_name', 'applied', undefined],
      ['0002_drop_name', 'pending', '0001_add_display_name'],
      ['0003_add_email', 'applied', undefined],
    ]);
  });

  test('a later run applies the contract, and down reverts in reverse order of application', async () => {
    const up = await migrate({ direction: 'up', dir, connection: db.url });
    expect(up.applied.map((s) => [s.name, s.contracts])).toEqual([
      ['0002_drop_name', '0001_add_display_name'],
    ]);
    const down = await migrate({ direction: 'down', count: 2, dir, connection: db.url });
    expect(down.applied.map((s) => s.name)).toEqual(['0002_drop_name', '0003_add_email']);
  });
});
