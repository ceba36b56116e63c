/**
 * Reading and validating migration files. Pure file parsing: no database, no CDK, so it can be
 * bundled into a Lambda (the deploy hook) as well as run from the CLI and the tests.
 *
 * File format (node-pg-migrate's SQL format plus a phase header):
 *
 *   migrations/NNNN_snake_case_name.sql
 *   line 1:  -- phase: expand | contract
 *   line 2:  -- contracts: NNNN            (contract migrations only: the expand it completes)
 *   ...      -- Up Migration
 *            <SQL>
 *            -- Down Migration
 *            <SQL>
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export type MigrationPhase = 'expand' | 'contract';
export const MIGRATION_PHASES: readonly MigrationPhase[] = ['expand', 'contract'];

/** One parsed, validated migration file. */
export interface Migration {
  /** File name without `.sql`, e.g. `0003_accounts_and_notes`; the key in the history table. */
  readonly name: string;
  /** The four-digit number, e.g. `0003`. */
  readonly number: string;
  readonly phase: MigrationPhase;
  /**
   * For a contract migration, the name of the expand migration it completes (a contract may
   * only be applied once that expand has been live for at least one earlier release).
   * @default - undefined for expand migrations
   */
  readonly contracts?: string;
  /** SQL of the `-- Up Migration` section. */
  readonly up: string;
  /** SQL of the `-- Down Migration` section. */
  readonly down: string;
  /** sha256 of the file content; the history records it to detect edits after applying. */
  readonly checksum: string;
  readonly path: string;
}

/** A migration directory that breaks the rules; the message lists every problem found. */
export class MigrationFileError extends Error {
  constructor(
    readonly dir: string,
    readonly problems: readonly string[],
  ) {
    super(
      `Invalid migrations in ${dir} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    );
    this.name = 'MigrationFileError';
  }
}

/** `NNNN_snake_case_name.sql`; group 1 is the number. */
export const FILE_NAME = /^(\d{4})_[a-z0-9]+(?:_[a-z0-9]+)*\.sql$/;
/** Line 1 of every migration: `-- phase: expand|contract`; group 1 is the phase. */
export const PHASE_LINE = /^--\s*phase:\s*(\S+)\s*$/;
/** Line 2 of a contract migration: `-- contracts: NNNN` (or the expand's name); group 1 is it. */
export const CONTRACTS_LINE = /^--\s*contracts:\s*(\S+)\s*$/;
// node-pg-migrate's markers: a line comment `-- Up Migration` / `-- Down Migration`.
const UP_MARKER = /^\s*--\s*up migration\s*$/im;
const DOWN_MARKER = /^\s*--\s*down migration\s*$/im;
// The runner owns the transaction; a migration that commits would escape its timeouts and atomicity.
const TRANSACTION_CONTROL = /^\s*(begin|commit|rollback|start\s+transaction)\s*(transaction|work)?\s*;/im;

/**
 * Finds the migrations directory: `SHIPSHAPE_MIGRATIONS_DIR`, then `migrations/` in the current
 * directory (an adopter's repository), then `migrations/` of this package (two levels above
 * this file), then `migrations/` next to a bundled handler.
 */
export function defaultMigrationsDir(): string {
  const candidates = [
    process.env.SHIPSHAPE_MIGRATIONS_DIR,
    resolve(process.cwd(), 'migrations'),
    resolve(__dirname, '..', '..', 'migrations'),
    resolve(__dirname, 'migrations'),
  ].filter((c): c is string => c !== undefined && c !== '');
  const found = candidates.find((c) => existsSync(c));
  if (!found) {
    throw new Error(
      `No migrations directory found (looked in ${candidates.join(', ')}). ` +
        'Pass `dir`, or set SHIPSHAPE_MIGRATIONS_DIR.',
    );
  }
  return found;
}

/**
 * What an adopter with an existing schema and no migrations must do; shown when a directory
 * holds none.
 */
export const BASELINE_ADVICE =
  'A database that already has tables needs a baseline migration first: dump the schema ' +
  '(pg_dump --schema-only --no-owner --no-privileges "$DATABASE_URL"), put its CREATE statements ' +
  "under '-- Up Migration' of NNNN_baseline.sql with line 1 '-- phase: expand', grant the tables to " +
  "the service's database role (shipshape_api), and write the DROP statements under '-- Down Migration'. " +
  '`shipshape init` writes it from a schema.sql it finds; see docs/adopt.md#baseline-migration.';

/** Removes SQL line comments and blank lines: what is left is what would run. */
function executableSql(sql: string): string {
  return sql
    .split('\n')
    .filter((line) => !/^\s*(--.*)?$/.test(line))
    .join('\n')
    .trim();
}

/** Parses one migration file; returns the migration or the problems found. */
export function parseMigration(fileName: string, content: string, path = fileName): Migration | string[] {
  const problems: string[] = [];
  const match = FILE_NAME.exec(fileName);
  if (!match) {
    return [`${fileName}: file name must be NNNN_snake_case_name.sql (e.g. 0005_add_note_tags.sql)`];
  }
  const name = fileName.replace(/\.sql$/, '');
  const lines = content.replace(/\r\n/g, '\n').split('\n');

  const phaseMatch = PHASE_LINE.exec(lines[0] ?? '');
  let phase: MigrationPhase | undefined;
  if (!phaseMatch) {
    problems.push(`${fileName}: line 1 must be '-- phase: expand' or '-- phase: contract'`);
  } else if (!MIGRATION_PHASES.includes(phaseMatch[1] as MigrationPhase)) {
    problems.push(`${fileName}: unknown phase '${phaseMatch[1]}'; use expand or contract`);
  } else {
    phase = phaseMatch[1] as MigrationPhase;
  }

  const contractsMatch = CONTRACTS_LINE.exec(lines[1] ?? '');
  if (phase === 'contract' && !contractsMatch) {
    problems.push(
      `${fileName}: a contract migration needs line 2 '-- contracts: NNNN' (the expand it completes)`,
    );
  }
  if (phase === 'expand' && contractsMatch) {
    problems.push(`${fileName}: '-- contracts:' is only allowed on contract migrations`);
  }

  const body = lines.join('\n');
  const upAt = body.search(UP_MARKER);
  const downAt = body.search(DOWN_MARKER);
  let up = '';
  let down = '';
  if (upAt < 0) problems.push(`${fileName}: missing '-- Up Migration' section`);
  if (downAt < 0)
    problems.push(`${fileName}: missing '-- Down Migration' section (every migration is reversible)`);
  if (upAt >= 0 && downAt >= 0) {
    if (downAt < upAt) {
      problems.push(`${fileName}: '-- Up Migration' must come before '-- Down Migration'`);
    } else {
      up = body.slice(upAt, downAt).replace(UP_MARKER, '').trim();
      down = body.slice(downAt).replace(DOWN_MARKER, '').trim();
      if (executableSql(up) === '') problems.push(`${fileName}: the Up Migration section is empty`);
      if (executableSql(down) === '') problems.push(`${fileName}: the Down Migration section is empty`);
    }
  }
  if (TRANSACTION_CONTROL.test(executableSql(body))) {
    problems.push(
      `${fileName}: must not BEGIN/COMMIT/ROLLBACK; the runner wraps each migration in one transaction`,
    );
  }
  if (problems.length > 0 || phase === undefined) return problems;
  return {
    name,
    number: match[1],
    phase,
    ...(contractsMatch ? { contracts: contractsMatch[1] } : {}),
    up,
    down,
    checksum: createHash('sha256').update(content).digest('hex'),
    path,
  };
}

/**
 * Reads every `*.sql` file of `dir` (default: {@link defaultMigrationsDir}), validates each and
 * the set (unique numbers, contracts naming an earlier expand migration), and returns them in
 * order. Throws {@link MigrationFileError} listing every problem.
 */
export function loadMigrations(dir: string = defaultMigrationsDir()): Migration[] {
  if (!existsSync(dir)) throw new MigrationFileError(dir, [`directory does not exist. ${BASELINE_ADVICE}`]);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  const problems: string[] = [];
  const migrations: Migration[] = [];
  for (const file of files) {
    const path = join(dir, file);
    const parsed = parseMigration(file, readFileSync(path, 'utf8'), path);
    if (Array.isArray(parsed)) problems.push(...parsed);
    else migrations.push(parsed);
  }

  const byNumber = new Map<string, Migration>();
  for (const m of migrations) {
    const clash = byNumber.get(m.number);
    if (clash) problems.push(`${m.name}: number ${m.number} is already used by ${clash.name}`);
    byNumber.set(m.number, m);
  }
  const resolved = migrations.map((m) => {
    if (m.contracts === undefined) return m;
    const target = byNumber.get(m.contracts) ?? migrations.find((e) => e.name === m.contracts);
    if (!target) {
      problems.push(`${m.name}: contracts '${m.contracts}', which is not a migration in ${dir}`);
    } else if (target.number >= m.number) {
      problems.push(`${m.name}: contracts ${target.name}, which is not an earlier migration`);
    } else if (target.phase !== 'expand') {
      problems.push(
        `${m.name}: contracts ${target.name}, which is a ${target.phase} migration, not an expand`,
      );
    } else {
      return { ...m, contracts: target.name };
    }
    return m;
  });
  if (files.length === 0) problems.push(`no *.sql migration files yet. ${BASELINE_ADVICE}`);
  if (problems.length > 0) throw new MigrationFileError(dir, problems);
  return resolved;
}

/**
 * Resolves a user's reference to a migration: its full name (`0003_accounts_and_notes`) or its
 * number (`0003` or `3`). Returns undefined when nothing matches.
 */
export function findMigration(migrations: readonly Migration[], reference: string): Migration | undefined {
  const ref = reference.replace(/\.sql$/, '');
  if (/^\d+$/.test(ref)) return migrations.find((m) => Number(m.number) === Number(ref));
  return migrations.find((m) => m.name === ref);
}
