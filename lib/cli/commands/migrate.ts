/* eslint-disable @typescript-eslint/no-require-imports -- modules load on first use so that `--help`
   stays fast; `require`, not `import()`, because the bin/shipshape.js shim hooks tsx into CommonJS only. */
/**
 * `shipshape migrate up|down|status`: apply, revert or list the database migrations, with the
 * conventions of every other command: `--env` is required, production asks for confirmation
 * (or `--yes`), `--dry-run` changes nothing, every flag and the migration files are checked
 * before any connection, and the exit codes are the shared ones (lib/cli/exit-codes.ts). The
 * password in the URL is never printed.
 */
import {
  type CommandDeps,
  confirmProduction,
  parseFlags,
  runGuarded,
  validateCommonFlags,
  withDeps,
} from '../command';
import type { ChangeLog } from '../changes';
import { CliError, ExitCode, exitCodeHelp } from '../exit-codes';
import { type MigrateInvocation, redactUrl, scrub, splitCommand, validateInvocation } from '../migrate-args';
import type { Output } from '../output';

export { redactUrl } from '../migrate-args';

export const HELP = `Usage: shipshape migrate <up|down|status> --env <staging|production> [options]

Apply, revert or list the database migrations in migrations/ (expand/contract, see README).
Each migration runs in its own transaction with a lock timeout and a statement timeout.
In production, up and down ask you to type 'production' (or take --yes).

Commands:
  up        Apply pending migrations (all, or up to --to / --count)
  down      Revert applied migrations, newest first; needs --to or --count (a schema
            rollback is always explicit)
  status    List every migration with its phase and whether it is applied (read-only)

Options:
  --env <name>               staging | production (required): the environment the database
                             belongs to; production asks for confirmation before a change
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
  --yes                      Do not ask for confirmation (production asks otherwise)
  --dry-run                  Print what would run and change nothing
  --json                     Print one JSON document on stdout; messages go to stderr
  -h, --help                 Show this help

${exitCodeHelp()}

A failed migration is rolled back (exit 1); the ones before it stay applied and are listed.
Ctrl-C cannot stop a migration half-way: the run finishes the current one, and the message
lists what was applied (exit 10).

Examples:
  export DATABASE_URL=postgres://shipshape:...@127.0.0.1:5432/app
  shipshape migrate status --env staging
  shipshape migrate up --env staging --dry-run
  shipshape migrate up --env production --phase expand          # what the deploy hook runs
  shipshape migrate down --env staging --count 1                # revert the newest migration
  shipshape migrate down --env production --to 0002 --yes --json
`;

const OPTIONS = {
  env: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  'database-url': { type: 'string' },
  to: { type: 'string' },
  count: { type: 'string' },
  phase: { type: 'string', multiple: true },
  'lock-timeout': { type: 'string' },
  'statement-timeout': { type: 'string' },
  'migrations-dir': { type: 'string' },
  'dry-run': { type: 'boolean' },
  yes: { type: 'boolean' },
} as const;

export async function run(argv: string[], injected?: CommandDeps): Promise<number> {
  return withDeps(injected, (deps) =>
    runGuarded(deps, argv.includes('--json'), async (out, changes) => {
      const { command, rest } = splitCommand(argv);
      const values = parseFlags(rest, OPTIONS);
      if (values.help || command === 'help') {
        deps.stdout.write(HELP);
        return ExitCode.OK;
      }
      const { environment } = await validateCommonFlags({ env: values.env });
      const migrations: typeof import('../../migrations') = require('../../migrations');
      const invocation = validateInvocation(command, values, migrations.MIGRATION_PHASES);
      // The files are read and checked before any connection.
      const dir = values['migrations-dir'] ?? deps.migrationsDir ?? migrations.defaultMigrationsDir();
      const files = loadFiles(migrations, dir);
      if (invocation.to !== undefined && !/^0+$/.test(invocation.to)) {
        if (!migrations.findMigration(files, invocation.to)) {
          throw new CliError(
            `--to: no migration '${invocation.to}'; known: ${files.map((m) => m.name).join(', ')}`,
            ExitCode.USAGE,
          );
        }
      }
      const database = redactUrl(invocation.url);
      try {
        if (invocation.command === 'status') {
          const status = await migrations.migrationStatus(invocation.url.toString(), { dir });
          printStatus(out, status, database, environment);
          out.result({ ok: true, environment, database, ...status });
          return ExitCode.OK;
        }
        const dryRun = values['dry-run'] === true;
        if (environment === 'production' && !dryRun && values.yes !== true) {
          out.info(
            `${invocation.command === 'up' ? 'Apply' : 'Revert'} migrations on ${database} (production).`,
          );
          await confirmProduction(
            deps,
            out,
            environment,
            `${invocation.command === 'up' ? 'apply' : 'revert'} migrations`,
          );
        }
        if (deps.signal.aborted) {
          throw new CliError(
            'Interrupted before any change was made; nothing was changed.',
            ExitCode.INTERRUPTED,
          );
        }
        const run = () =>
          migrations.migrate({
            ...options(invocation, dir, dryRun),
            connection: invocation.url.toString(),
            logger: logger(out, changes, invocation.command),
          });
        const result = dryRun
          ? await run()
          : await changes.during(`migrate ${invocation.command} on ${database}`, run);
        printResult(out, result, database, environment);
        if (deps.signal.aborted && changes.changed) {
          throw new CliError(
            'Interrupted (Ctrl-C) while migrations ran; a migration cannot be stopped half-way, so the run finished.',
            ExitCode.INTERRUPTED,
          );
        }
        out.result({ ok: true, environment, database, ...result });
        return ExitCode.OK;
      } catch (error) {
        throw classify(error, invocation, database);
      }
    }),
  );
}

type Migrations = typeof import('../../migrations');

function loadFiles(migrations: Migrations, dir: string): ReturnType<Migrations['loadMigrations']> {
  try {
    return migrations.loadMigrations(dir);
  } catch (error) {
    if (error instanceof migrations.MigrationFileError) throw new CliError(error.message, ExitCode.FAILED);
    throw error;
  }
}

function options(invocation: MigrateInvocation, dir: string, dryRun: boolean) {
  const { BEFORE_FIRST_MIGRATION }: Migrations = require('../../migrations');
  return {
    direction: invocation.command as 'up' | 'down',
    dir,
    dryRun,
    ...(invocation.to !== undefined
      ? { to: /^0+$/.test(invocation.to) ? BEFORE_FIRST_MIGRATION : invocation.to }
      : {}),
    ...(invocation.count !== undefined ? { count: invocation.count } : {}),
    ...(invocation.phases ? { phases: invocation.phases as ('expand' | 'contract')[] } : {}),
    ...(invocation.lockTimeout !== undefined ? { lockTimeout: invocation.lockTimeout } : {}),
    ...(invocation.statementTimeout !== undefined ? { statementTimeout: invocation.statementTimeout } : {}),
  };
}

/** Logs each migration as it completes and records it as a change (for Ctrl-C and failures). */
function logger(
  out: Output,
  changes: ChangeLog,
  command: string,
): import('../../migrations').MigrationLogger {
  return {
    info: (message, attributes) => {
      const migration = attributes?.migration === undefined ? undefined : String(attributes.migration);
      if (!migration) return;
      if (/^migration (applied|reverted)$/.test(message)) {
        changes.record(`${command === 'up' ? 'applied' : 'reverted'} migration ${migration}`);
      }
      out.info(`  … ${message}: ${migration}`);
    },
    warn: (message, attributes) =>
      out.warn(`warning: ${message}${attributes?.migration ? `: ${String(attributes.migration)}` : ''}`),
  };
}

/** Maps a failure to the shared exit codes; the password never appears in the message. */
function classify(error: unknown, invocation: MigrateInvocation, database: string): unknown {
  if (error instanceof CliError) return error;
  const { MigrationLockError, MigrationPlanError }: Migrations = require('../../migrations');
  const { name, message } = describeError(error);
  const text = scrub(
    /^Migration\w*Error$/.test(name) ? message : `${message} (database ${database})`,
    invocation.url,
  );
  if (error instanceof MigrationPlanError) return new CliError(text, ExitCode.USAGE);
  if (error instanceof MigrationLockError) return new CliError(text, ExitCode.REFUSED);
  return new CliError(`migrate ${invocation.command}: ${text}`, ExitCode.FAILED);
}

function printResult(
  out: Output,
  result: import('../../migrations').MigrateResult,
  database: string,
  environment: string,
): void {
  const verb = result.direction === 'up' ? 'apply' : 'revert';
  const past = result.direction === 'up' ? 'Applied' : 'Reverted';
  out.info(`Database: ${database} (${environment})`);
  if (result.applied.length === 0) {
    out.info(
      result.direction === 'up' ? 'Nothing to apply: the database is up to date.' : 'Nothing to revert.',
    );
  } else {
    out.info(
      result.dryRun
        ? `Would ${verb} ${result.applied.length} migration(s) (dry run, nothing changed):`
        : `${past} ${result.applied.length} migration(s):`,
    );
    const width = Math.max(...result.applied.map((s) => s.name.length));
    for (const step of result.applied) {
      const timing = result.dryRun ? '' : `  ${step.durationMs} ms`;
      out.info(`  ${step.name.padEnd(width)}  ${step.phase.padEnd(8)}${timing}`);
    }
  }
  for (const skipped of result.skipped) {
    out.info(`Held back: ${skipped.name} (${skipped.phase}): ${skipped.reason}`);
  }
}

function printStatus(
  out: Output,
  status: import('../../migrations').MigrationStatus,
  database: string,
  environment: string,
): void {
  out.info(`Database: ${database} (${environment})`);
  const width = Math.max(...status.migrations.map((m) => m.name.length));
  for (const m of status.migrations) {
    const state = m.state === 'applied' ? `applied ${m.appliedAt?.toISOString()}` : 'pending';
    const notes = [
      m.contracts ? `contracts ${m.contracts}` : '',
      m.modified ? 'FILE CHANGED SINCE IT WAS APPLIED' : '',
    ].filter(Boolean);
    out.info(
      `  ${m.name.padEnd(width)}  ${m.phase.padEnd(8)}  ${state}${notes.length ? `  (${notes.join('; ')})` : ''}`,
    );
  }
  for (const u of status.unknownApplied) {
    out.info(
      `  ${u.name.padEnd(width)}  ?         applied ${u.appliedAt.toISOString()}  (no file in this release)`,
    );
  }
  const pending = status.migrations.filter((m) => m.state === 'pending').length;
  out.info(pending === 0 ? 'Up to date.' : `${pending} pending.`);
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
