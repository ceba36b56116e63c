/**
 * The migration runner: applies or reverts the SQL migrations of `migrations/` against any
 * PostgreSQL database, each in its own transaction with `lock_timeout` and `statement_timeout`.
 *
 * Why not node-pg-migrate's runner (it is installed, and the file format is its SQL format):
 * it cannot set per-migration `SET LOCAL lock_timeout`/`statement_timeout`, knows nothing of
 * expand/contract phases (the deploy hook must apply expand migrations while holding back a
 * contract), and v9 is ESM-only, which neither the CommonJS test setup nor a CommonJS Lambda
 * bundle load cleanly. What it does (history table, advisory lock, up/down with count) fits in
 * this small module. The history table keeps node-pg-migrate's `id`/`name`/`run_on` columns.
 *
 * No CDK imports here: the deploy hook Lambda bundles this module.
 */
import { Client, type ClientConfig, type DatabaseError } from 'pg';
import { findMigration, loadMigrations, MIGRATION_PHASES, type Migration } from './migration-files';
import {
  DEFAULT_LOCK_TIMEOUT_MS,
  DEFAULT_STATEMENT_TIMEOUT_MS,
  type MigrateOptions,
  type MigrateResult,
  type MigrationConnection,
  type MigrationDirection,
  MigrationError,
  MIGRATION_LOCK_ID,
  MigrationLockError,
  type MigrationLogger,
  MigrationPlanError,
  type MigrationStatus,
  type MigrationStep,
  MIGRATIONS_TABLE,
  type SkippedMigration,
} from './migrate-contract';

export * from './migrate-contract';

const CONNECT_TIMEOUT_MS = 10_000;

interface AppliedRow {
  readonly id: number;
  readonly name: string;
  readonly checksum: string;
  readonly run_on: Date;
}

const NO_LOG: MigrationLogger = { info: () => undefined, warn: () => undefined };

/**
 * Applies (`up`) or reverts (`down`) migrations. Each migration runs in its own transaction
 * with `SET LOCAL lock_timeout` and `statement_timeout` and records itself in
 * `public.shipshape_migrations` in the same transaction, so a failure leaves no partial change.
 * Throws {@link MigrationPlanError}, {@link MigrationLockError} or {@link MigrationError}.
 */
export async function migrate(options: MigrateOptions): Promise<MigrateResult> {
  const settings = validateOptions(options);
  const migrations = loadMigrations(options.dir);
  const logger = options.logger ?? NO_LOG;
  const dryRun = options.dryRun ?? false;

  const client = newClient(options.connection);
  client.on('error', (error) => logger.warn('database connection error', { error: error.message }));
  await client.connect();
  try {
    if (!dryRun) {
      const locked = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
        MIGRATION_LOCK_ID,
      ]);
      if (!locked.rows[0].locked) throw new MigrationLockError();
      await ensureHistoryTable(client, settings);
    }
    const applied = await readHistory(client);
    warnAboutDrift(migrations, applied, logger);
    const plan =
      options.direction === 'up'
        ? planUp(migrations, applied, options)
        : planDown(migrations, applied, options);
    logger.info(dryRun ? 'migration plan (dry run)' : 'migration plan', {
      direction: options.direction,
      migrations: plan.run.map((m) => m.name),
      skipped: plan.skipped.map((s) => s.name),
    });
    if (dryRun) {
      return {
        direction: options.direction,
        dryRun,
        applied: plan.run.map((m) => step(m, 0)),
        skipped: plan.skipped,
      };
    }

    const completed: MigrationStep[] = [];
    for (const migration of plan.run) {
      completed.push(await runOne(client, migration, options.direction, settings, completed, logger));
    }
    return { direction: options.direction, dryRun, applied: completed, skipped: plan.skipped };
  } finally {
    await client.end().catch(() => undefined); // ending the session also releases the advisory lock
  }
}

/** Which migrations are applied and which are pending (read-only; creates nothing). */
export async function migrationStatus(
  connection: MigrationConnection,
  options: { readonly dir?: string } = {},
): Promise<MigrationStatus> {
  const migrations = loadMigrations(options.dir);
  const client = newClient(connection);
  client.on('error', () => undefined);
  await client.connect();
  try {
    const applied = await readHistory(client);
    const byName = new Map(applied.map((row) => [row.name, row]));
    const known = new Set(migrations.map((m) => m.name));
    return {
      migrations: migrations.map((m) => {
        const row = byName.get(m.name);
        return {
          name: m.name,
          phase: m.phase,
          ...(m.contracts ? { contracts: m.contracts } : {}),
          state: row ? 'applied' : 'pending',
          ...(row ? { appliedAt: row.run_on } : {}),
          modified: row !== undefined && row.checksum !== m.checksum,
        };
      }),
      unknownApplied: applied
        .filter((row) => !known.has(row.name))
        .map((row) => ({ name: row.name, appliedAt: row.run_on })),
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

interface Settings {
  readonly lockTimeout: number;
  readonly statementTimeout: number;
}

function validateOptions(options: MigrateOptions): Settings {
  if (options.direction !== 'up' && options.direction !== 'down') {
    throw new MigrationPlanError(`direction must be 'up' or 'down', got '${String(options.direction)}'`);
  }
  if (options.count !== undefined && (!Number.isInteger(options.count) || options.count < 1)) {
    throw new MigrationPlanError(`count must be a whole number of at least 1, got ${options.count}`);
  }
  if (options.count !== undefined && options.to !== undefined) {
    throw new MigrationPlanError('give either `to` or `count`, not both');
  }
  if (options.phases !== undefined) {
    if (options.direction === 'down') {
      throw new MigrationPlanError(
        '`phases` only applies going up; a down run reverts in reverse order whatever the phase',
      );
    }
    const unknown = options.phases.filter((p) => !MIGRATION_PHASES.includes(p));
    if (unknown.length > 0 || options.phases.length === 0) {
      throw new MigrationPlanError(
        `phases must be a non-empty list of ${MIGRATION_PHASES.join(', ')}; got [${options.phases.join(', ')}]`,
      );
    }
  }
  const lockTimeout = options.lockTimeout ?? DEFAULT_LOCK_TIMEOUT_MS;
  const statementTimeout = options.statementTimeout ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  for (const [name, value] of [
    ['lockTimeout', lockTimeout],
    ['statementTimeout', statementTimeout],
  ] as const) {
    // 0 would mean "no timeout" to PostgreSQL, which is exactly what the runner exists to prevent.
    if (!Number.isInteger(value) || value < 1) {
      throw new MigrationPlanError(
        `${name} must be a whole number of milliseconds of at least 1, got ${value}`,
      );
    }
  }
  return { lockTimeout, statementTimeout };
}

function newClient(connection: MigrationConnection): Client {
  const base: ClientConfig = {
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    application_name: 'shipshape-migrate',
  };
  return new Client(
    typeof connection === 'string' ? { ...base, connectionString: connection } : { ...base, ...connection },
  );
}

async function ensureHistoryTable(client: Client, settings: Settings): Promise<void> {
  await inTransaction(client, settings, async () => {
    await client.query(`
      CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
        id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name varchar(255) NOT NULL UNIQUE,
        phase text NOT NULL,
        checksum text NOT NULL,
        run_on timestamptz NOT NULL DEFAULT now()
      )`);
  });
}

async function readHistory(client: Client): Promise<AppliedRow[]> {
  const exists = await client.query<{ exists: boolean }>(
    `SELECT to_regclass('${MIGRATIONS_TABLE}') IS NOT NULL AS exists`,
  );
  if (!exists.rows[0].exists) return [];
  const result = await client.query<AppliedRow>(
    `SELECT id, name, checksum, run_on FROM ${MIGRATIONS_TABLE} ORDER BY id`,
  );
  return result.rows;
}

function warnAboutDrift(
  migrations: readonly Migration[],
  applied: readonly AppliedRow[],
  logger: MigrationLogger,
) {
  const byName = new Map(migrations.map((m) => [m.name, m]));
  for (const row of applied) {
    const file = byName.get(row.name);
    if (!file) {
      logger.warn('applied migration has no file here (the database is ahead of this code)', {
        migration: row.name,
      });
    } else if (file.checksum !== row.checksum) {
      logger.warn('migration file changed after it was applied; add a new migration instead', {
        migration: row.name,
      });
    }
  }
}

interface Plan {
  readonly run: readonly Migration[];
  readonly skipped: readonly SkippedMigration[];
}

function resolveTarget(migrations: readonly Migration[], to: string): Migration {
  const target = findMigration(migrations, to);
  if (!target) {
    throw new MigrationPlanError(`no migration '${to}'; known: ${migrations.map((m) => m.name).join(', ')}`);
  }
  return target;
}

function planUp(
  migrations: readonly Migration[],
  applied: readonly AppliedRow[],
  options: MigrateOptions,
): Plan {
  const done = new Set(applied.map((row) => row.name));
  let pending = migrations.filter((m) => !done.has(m.name));
  if (options.to !== undefined) {
    const target = resolveTarget(migrations, options.to);
    pending = pending.filter((m) => m.number <= target.number);
  }
  const phases = options.phases ?? MIGRATION_PHASES;
  const skipped = pending
    .filter((m) => !phases.includes(m.phase))
    .map((m) => ({ name: m.name, phase: m.phase, reason: `${m.phase} migrations not requested` }));
  let run = pending.filter((m) => phases.includes(m.phase));
  if (options.count !== undefined) run = run.slice(0, options.count);

  const willBeApplied = new Set([...done, ...run.map((m) => m.name)]);
  for (const m of run) {
    if (m.contracts !== undefined && !willBeApplied.has(m.contracts)) {
      throw new MigrationPlanError(
        `${m.name} contracts ${m.contracts}, which is not applied; apply the expand migration first`,
      );
    }
  }
  return { run, skipped };
}

function planDown(
  migrations: readonly Migration[],
  applied: readonly AppliedRow[],
  options: MigrateOptions,
): Plan {
  const byName = new Map(migrations.map((m) => [m.name, m]));
  const newestFirst = [...applied].reverse();
  let rows: AppliedRow[];
  if (options.to !== undefined) {
    if (/^0+$/.test(options.to)) {
      rows = newestFirst;
    } else {
      const target = resolveTarget(migrations, options.to);
      if (!applied.some((row) => row.name === target.name)) {
        throw new MigrationPlanError(`${target.name} is not applied, so there is nothing to revert down to`);
      }
      rows = newestFirst.filter((row) => (byName.get(row.name)?.number ?? row.name) > target.number);
    }
  } else {
    rows = newestFirst.slice(0, options.count ?? 1);
  }
  const run = rows.map((row) => {
    const migration = byName.get(row.name);
    if (!migration) {
      throw new MigrationPlanError(
        `${row.name} is applied but has no file here, so it cannot be reverted; run down from the ` +
          'release that added it',
      );
    }
    return migration;
  });
  return { run, skipped: [] };
}

function step(migration: Migration, durationMs: number): MigrationStep {
  return {
    name: migration.name,
    phase: migration.phase,
    ...(migration.contracts ? { contracts: migration.contracts } : {}),
    durationMs,
  };
}

async function inTransaction(client: Client, settings: Settings, work: () => Promise<void>): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(
      "SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true)",
      [`${settings.lockTimeout}ms`, `${settings.statementTimeout}ms`],
    );
    await work();
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

async function runOne(
  client: Client,
  migration: Migration,
  direction: MigrationDirection,
  settings: Settings,
  completed: readonly MigrationStep[],
  logger: MigrationLogger,
): Promise<MigrationStep> {
  const started = performance.now();
  const sql = direction === 'up' ? migration.up : migration.down;
  try {
    await inTransaction(client, settings, async () => {
      await client.query(sql);
      // A migration may SET [LOCAL] ROLE shipshape_owner; the history belongs to the connecting user.
      await client.query('RESET ROLE');
      if (direction === 'up') {
        await client.query(`INSERT INTO ${MIGRATIONS_TABLE} (name, phase, checksum) VALUES ($1, $2, $3)`, [
          migration.name,
          migration.phase,
          migration.checksum,
        ]);
      } else {
        await client.query(`DELETE FROM ${MIGRATIONS_TABLE} WHERE name = $1`, [migration.name]);
      }
    });
  } catch (error) {
    const pgError = error as Partial<DatabaseError>;
    const where =
      pgError.position !== undefined
        ? ` (line ${lineOf(sql, Number(pgError.position))} of its ${direction === 'up' ? 'Up' : 'Down'} Migration section)`
        : '';
    const hint =
      pgError.code === '55P03'
        ? ` It waited more than the ${settings.lockTimeout} ms lock timeout for a lock another session holds; ` +
          'retry when traffic is lower, or find the blocking session (pg_blocking_pids).'
        : pgError.code === '57014'
          ? ` A statement ran longer than the ${settings.statementTimeout} ms statement timeout.`
          : '';
    logger.warn('migration failed and was rolled back', {
      migration: migration.name,
      direction,
      code: pgError.code,
    });
    throw new MigrationError(
      `Migration ${migration.name} (${direction}) failed and was rolled back${where}: ` +
        `${pgError.message ?? String(error)}${pgError.code ? ` [SQLSTATE ${pgError.code}]` : ''}.${hint}`,
      migration.name,
      direction,
      pgError.code,
      completed,
      { cause: error },
    );
  }
  const durationMs = Math.round(performance.now() - started);
  logger.info(direction === 'up' ? 'migration applied' : 'migration reverted', {
    migration: migration.name,
    phase: migration.phase,
    durationMs,
  });
  return step(migration, durationMs);
}

function lineOf(sql: string, position: number): number {
  return sql.slice(0, Math.max(0, position - 1)).split('\n').length;
}
