/**
 * `shipshape migrate up|down|status`: apply, revert or list the database migrations against
 * any PostgreSQL database. Arguments are validated (and the migration files read) before any
 * connection is made; the password in the URL is never printed.
 */
import { parseArgs } from 'node:util';
import {
  BEFORE_FIRST_MIGRATION,
  defaultMigrationsDir,
  findMigration,
  loadMigrations,
  migrate,
  MIGRATION_PHASES,
  MigrationFileError,
  MigrationPlanError,
  migrationStatus,
  type MigrateOptions,
  type MigrateResult,
  type Migration,
  type MigrationLogger,
  type MigrationPhase,
  type MigrationStatus,
} from '../../migrations';
import { ExitCode } from '../main';

export const HELP = `Usage: shipshape migrate <up|down|status> [options]

Apply, revert or list the database migrations in migrations/ (expand/contract, see README).
Each migration runs in its own transaction with a lock timeout and a statement timeout.

Commands:
  up        Apply pending migrations (all, or up to --to / --count)
  down      Revert applied migrations, newest first; needs --to or --count (a schema
            rollback is always explicit)
  status    List every migration with its phase and whether it is applied

Options:
  --database-url <url>       postgres://user:password@host:port/database
                             (default: $DATABASE_URL; prefer it: a URL on the command line
                             is visible in the process list and shell history)
  --to <migration>           up: apply up to and including it; down: revert everything after
                             it (0000 reverts all). A name (0003_accounts_and_notes) or number (3)
  --count <n>                At most n migrations
  --phase <expand|contract>  up only: apply only these phases (repeatable or comma-separated)
  --lock-timeout <time>      Per-migration lock_timeout, e.g. 5s or 500ms (default 5s)
  --statement-timeout <time> Per-migration statement_timeout, e.g. 60s or 2m (default 60s)
  --migrations-dir <dir>     Where the migration files are (default: the repository's migrations/)
  --dry-run                  Print what would run and change nothing
  --json                     Print the result as JSON
  -h, --help                 Show this help

Examples:
  export DATABASE_URL=postgres://shipshape:...@127.0.0.1:5432/app
  shipshape migrate status
  shipshape migrate up --dry-run
  shipshape migrate up --phase expand          # what the deploy hook runs
  shipshape migrate down --count 1             # revert the newest migration
  shipshape migrate down --to 0002 --json      # revert everything after 0002_heartbeat

Exit codes: 0 done, 1 failed (a failed migration is rolled back), 2 bad arguments (nothing changed).`;

class UsageError extends Error {}

interface Invocation {
  readonly command: 'up' | 'down' | 'status';
  readonly url: URL;
  readonly dir: string;
  readonly json: boolean;
  readonly options: Omit<MigrateOptions, 'direction' | 'connection' | 'logger'>;
}

/** `postgres://user:***@host/db`: the URL as it may be printed. */
export function redactUrl(url: URL): string {
  const copy = new URL(url.toString());
  if (copy.password) copy.password = '***';
  return copy.toString();
}

function parseDuration(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+)(ms|s|m)?$/.exec(value.trim());
  const unit: Record<string, number> = { ms: 1, s: 1_000, m: 60_000 };
  const ms = match ? Number(match[1]) * (unit[match[2] ?? 'ms'] ?? NaN) : NaN;
  if (!match || ms < 1)
    throw new UsageError(`${flag} must be a duration like 500ms, 5s or 2m; got '${value}'`);
  return ms;
}

function parseDatabaseUrl(value: string | undefined): URL {
  if (value === undefined || value === '') {
    throw new UsageError('no database: pass --database-url <url> or set DATABASE_URL');
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Do not echo the value: it may hold a password.
    throw new UsageError(
      'the database URL is not a valid URL (expected postgres://user:password@host:port/database)',
    );
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new UsageError(
      `the database URL must start with postgres:// or postgresql://; got ${redactUrl(url)}`,
    );
  }
  if (!url.hostname || url.pathname.length <= 1) {
    throw new UsageError(`the database URL needs a host and a database name; got ${redactUrl(url)}`);
  }
  return url;
}

function parseInvocation(argv: string[]): Invocation | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        'database-url': { type: 'string' },
        to: { type: 'string' },
        count: { type: 'string' },
        phase: { type: 'string', multiple: true },
        'lock-timeout': { type: 'string' },
        'statement-timeout': { type: 'string' },
        'migrations-dir': { type: 'string' },
        'dry-run': { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length !== 1 || !['up', 'down', 'status'].includes(positionals[0])) {
    throw new UsageError(
      positionals.length === 0
        ? 'missing command: up, down or status'
        : `expected one command (up, down or status); got '${positionals.join(' ')}'`,
    );
  }
  const command = positionals[0] as Invocation['command'];
  const url = parseDatabaseUrl(values['database-url'] ?? process.env.DATABASE_URL);

  if (command === 'status') {
    const misplaced = (
      ['to', 'count', 'phase', 'dry-run', 'lock-timeout', 'statement-timeout'] as const
    ).filter((flag) => values[flag] !== undefined);
    if (misplaced.length > 0) {
      throw new UsageError(`status takes no ${misplaced.map((f) => `--${f}`).join(', ')}`);
    }
  }

  let count: number | undefined;
  if (values.count !== undefined) {
    if (!/^\d+$/.test(values.count) || Number(values.count) < 1) {
      throw new UsageError(`--count must be a whole number of at least 1; got '${values.count}'`);
    }
    count = Number(values.count);
  }
  if (count !== undefined && values.to !== undefined)
    throw new UsageError('give either --to or --count, not both');
  if (command === 'down' && count === undefined && values.to === undefined) {
    throw new UsageError('down needs --to <migration> or --count <n>: a schema rollback is always explicit');
  }

  let phases: MigrationPhase[] | undefined;
  if (values.phase !== undefined) {
    if (command !== 'up') throw new UsageError('--phase only applies to up');
    phases = values.phase.flatMap((p) => p.split(',')).map((p) => p.trim()) as MigrationPhase[];
    const unknown = phases.filter((p) => !MIGRATION_PHASES.includes(p));
    if (unknown.length > 0) {
      throw new UsageError(`--phase must be ${MIGRATION_PHASES.join(' or ')}; got '${unknown.join(', ')}'`);
    }
  }

  const dir = values['migrations-dir'] ?? defaultMigrationsDir();
  const migrations: Migration[] = loadMigrations(dir);
  if (values.to !== undefined) {
    const revertAll = /^0+$/.test(values.to);
    if (revertAll && command === 'up') throw new UsageError('--to 0000 only makes sense with down');
    if (!revertAll && !findMigration(migrations, values.to)) {
      throw new UsageError(
        `--to: no migration '${values.to}'; known: ${migrations.map((m) => m.name).join(', ')}`,
      );
    }
  }

  return {
    command,
    url,
    dir,
    json: values.json ?? false,
    options: {
      dir,
      ...(values.to !== undefined ? { to: /^0+$/.test(values.to) ? BEFORE_FIRST_MIGRATION : values.to } : {}),
      ...(count !== undefined ? { count } : {}),
      ...(phases ? { phases } : {}),
      ...(values['lock-timeout'] !== undefined
        ? { lockTimeout: parseDuration('--lock-timeout', values['lock-timeout']) }
        : {}),
      ...(values['statement-timeout'] !== undefined
        ? { statementTimeout: parseDuration('--statement-timeout', values['statement-timeout']) }
        : {}),
      dryRun: values['dry-run'] ?? false,
    },
  };
}

function printResult(result: MigrateResult, database: string): void {
  const verb = result.direction === 'up' ? 'apply' : 'revert';
  const past = result.direction === 'up' ? 'Applied' : 'Reverted';
  console.log(`Database: ${database}`);
  if (result.applied.length === 0) {
    console.log(
      result.direction === 'up' ? 'Nothing to apply: the database is up to date.' : 'Nothing to revert.',
    );
  } else {
    console.log(
      result.dryRun
        ? `Would ${verb} ${result.applied.length} migration(s) (dry run, nothing changed):`
        : `${past} ${result.applied.length} migration(s):`,
    );
    const width = Math.max(...result.applied.map((s) => s.name.length));
    for (const step of result.applied) {
      const timing = result.dryRun ? '' : `  ${step.durationMs} ms`;
      console.log(`  ${step.name.padEnd(width)}  ${step.phase.padEnd(8)}${timing}`);
    }
  }
  for (const skipped of result.skipped) {
    console.log(`Held back: ${skipped.name} (${skipped.phase}): ${skipped.reason}`);
  }
}

function printStatus(status: MigrationStatus, database: string): void {
  console.log(`Database: ${database}`);
  const width = Math.max(...status.migrations.map((m) => m.name.length));
  for (const m of status.migrations) {
    const state = m.state === 'applied' ? `applied ${m.appliedAt?.toISOString()}` : 'pending';
    const notes = [
      m.contracts ? `contracts ${m.contracts}` : '',
      m.modified ? 'FILE CHANGED SINCE IT WAS APPLIED' : '',
    ].filter(Boolean);
    console.log(
      `  ${m.name.padEnd(width)}  ${m.phase.padEnd(8)}  ${state}${notes.length ? `  (${notes.join('; ')})` : ''}`,
    );
  }
  for (const u of status.unknownApplied) {
    console.log(
      `  ${u.name.padEnd(width)}  ?         applied ${u.appliedAt.toISOString()}  (no file in this release)`,
    );
  }
  const pending = status.migrations.filter((m) => m.state === 'pending').length;
  console.log(pending === 0 ? 'Up to date.' : `${pending} pending.`);
}

/** Name and message of anything thrown (errors from Node's core may come from another realm). */
function describeError(error: unknown): { name: string; message: string } {
  if (
    typeof error === 'object' &&
    error !== null &&
    'message' in error &&
    typeof error.message === 'string'
  ) {
    const name = 'name' in error && typeof error.name === 'string' ? error.name : 'Error';
    return { name, message: error.message || name };
  }
  return { name: 'Error', message: String(error) };
}

/** Removes the URL's password from any text that might echo it (driver errors, for one). */
function scrub(text: string, url: URL | undefined): string {
  if (!url?.password) return text;
  return text.split(url.password).join('***').split(decodeURIComponent(url.password)).join('***');
}

export async function run(argv: string[]): Promise<number> {
  let invocation: Invocation | 'help';
  try {
    invocation = parseInvocation(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`shipshape migrate: ${error.message}\nRun 'shipshape migrate --help' for usage.`);
      return ExitCode.USAGE;
    }
    if (error instanceof MigrationFileError) {
      console.error(`shipshape migrate: ${error.message}`);
      return ExitCode.FAILED;
    }
    throw error;
  }
  if (invocation === 'help') {
    console.log(HELP);
    return ExitCode.OK;
  }

  const { command, url, json, options } = invocation;
  const database = redactUrl(url);
  const logger: MigrationLogger = {
    info: (message, attributes) => {
      if (!json && attributes?.migration) console.log(`  … ${message}: ${String(attributes.migration)}`);
    },
    warn: (message, attributes) =>
      console.error(`warning: ${message}${attributes?.migration ? `: ${String(attributes.migration)}` : ''}`),
  };
  try {
    if (command === 'status') {
      const status = await migrationStatus(url.toString(), { dir: invocation.dir });
      if (json) console.log(JSON.stringify({ database, ...status }, null, 2));
      else printStatus(status, database);
      return ExitCode.OK;
    }
    const result = await migrate({ ...options, direction: command, connection: url.toString(), logger });
    if (json) console.log(JSON.stringify({ database, ...result }, null, 2));
    else printResult(result, database);
    return ExitCode.OK;
  } catch (error) {
    const { name, message: text } = describeError(error);
    const known = /^Migration\w*Error$/.test(name);
    const message = scrub(known ? text : `${text} (database ${database})`, url);
    if (json) console.log(JSON.stringify({ database, error: message }, null, 2));
    console.error(`shipshape migrate ${command}: ${message}`);
    return error instanceof MigrationPlanError ? ExitCode.USAGE : ExitCode.FAILED;
  }
}
