/**
 * Flags of `shipshape migrate`, validated before any connection is made: the sub-command, the
 * database URL (never echoed with its password), the plan (--to/--count/--phase) and timeouts.
 */
import { CliError, ExitCode } from './exit-codes';

/** What `migrate` was asked to do, once every flag is valid. */
export interface MigrateInvocation {
  readonly command: 'up' | 'down' | 'status';
  readonly url: URL;
  readonly to?: string;
  readonly count?: number;
  readonly phases?: readonly string[];
  readonly lockTimeout?: number;
  readonly statementTimeout?: number;
}

/** `postgres://user:***@host/db`: the URL as it may be printed. */
export function redactUrl(url: URL): string {
  const copy = new URL(url.toString());
  if (copy.password) copy.password = '***';
  return copy.toString();
}

/** Removes the URL's password from any text that might echo it (driver errors, for one). */
export function scrub(text: string, url: URL | undefined): string {
  if (!url?.password) return text;
  return text.split(url.password).join('***').split(decodeURIComponent(url.password)).join('***');
}

/** `500ms`, `5s`, `2m` (a bare number is milliseconds) → milliseconds. */
export function parseDuration(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+)(ms|s|m)?$/.exec(value.trim());
  const unit: Record<string, number> = { ms: 1, s: 1_000, m: 60_000 };
  const ms = match ? Number(match[1]) * (unit[match[2] ?? 'ms'] ?? NaN) : NaN;
  if (!match || ms < 1) {
    throw new CliError(`${flag} must be a duration like 500ms, 5s or 2m; got '${value}'`, ExitCode.USAGE);
  }
  return ms;
}

/** A postgres:// URL with a host and a database; the message never contains the password. */
export function parseDatabaseUrl(value: string | undefined): URL {
  if (value === undefined || value === '') {
    throw new CliError('no database: pass --database-url <url> or set DATABASE_URL', ExitCode.USAGE);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Do not echo the value: it may hold a password.
    throw new CliError(
      'the database URL is not a valid URL (expected postgres://user:password@host:port/database)',
      ExitCode.USAGE,
    );
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new CliError(
      `the database URL must start with postgres:// or postgresql://; got ${redactUrl(url)}`,
      ExitCode.USAGE,
    );
  }
  if (!url.hostname || url.pathname.length <= 1) {
    throw new CliError(
      `the database URL needs a host and a database name; got ${redactUrl(url)}`,
      ExitCode.USAGE,
    );
  }
  return url;
}

/** The sub-command (first argument) and the flags after it. */
export function splitCommand(argv: readonly string[]): { command?: string; rest: string[] } {
  const [first, ...rest] = argv;
  if (first === undefined || first.startsWith('-')) return { rest: [...argv] };
  return { command: first, rest };
}

/** Validates everything that does not need the migration files or the database. */
export function validateInvocation(
  command: string | undefined,
  values: {
    'database-url'?: string;
    to?: string;
    count?: string;
    phase?: string[];
    'lock-timeout'?: string;
    'statement-timeout'?: string;
    'dry-run'?: boolean;
    yes?: boolean;
  },
  phasesAllowed: readonly string[],
): MigrateInvocation {
  if (command === undefined) throw new CliError('missing command: up, down or status', ExitCode.USAGE);
  if (command !== 'up' && command !== 'down' && command !== 'status') {
    throw new CliError(`expected one command (up, down or status); got '${command}'`, ExitCode.USAGE);
  }
  if (command === 'status') {
    const misplaced = [
      ...(['to', 'count', 'phase', 'lock-timeout', 'statement-timeout'] as const).filter(
        (flag) => values[flag] !== undefined,
      ),
      ...(values['dry-run'] === true ? ['dry-run'] : []),
      ...(values.yes === true ? ['yes'] : []),
    ];
    if (misplaced.length > 0) {
      throw new CliError(`status takes no ${misplaced.map((f) => `--${f}`).join(', ')}`, ExitCode.USAGE);
    }
  }
  let count: number | undefined;
  if (values.count !== undefined) {
    if (!/^\d+$/.test(values.count) || Number(values.count) < 1) {
      throw new CliError(
        `--count must be a whole number of at least 1; got '${values.count}'`,
        ExitCode.USAGE,
      );
    }
    count = Number(values.count);
  }
  if (count !== undefined && values.to !== undefined) {
    throw new CliError('give either --to or --count, not both', ExitCode.USAGE);
  }
  if (command === 'down' && count === undefined && values.to === undefined) {
    throw new CliError(
      'down needs --to <migration> or --count <n>: a schema rollback is always explicit',
      ExitCode.USAGE,
    );
  }
  if (values.to !== undefined && /^0+$/.test(values.to) && command === 'up') {
    throw new CliError('--to 0000 only makes sense with down', ExitCode.USAGE);
  }
  let phases: string[] | undefined;
  if (values.phase !== undefined) {
    if (command !== 'up') throw new CliError('--phase only applies to up', ExitCode.USAGE);
    phases = values.phase.flatMap((p) => p.split(',')).map((p) => p.trim());
    const unknown = phases.filter((p) => !phasesAllowed.includes(p));
    if (unknown.length > 0) {
      throw new CliError(
        `--phase must be ${phasesAllowed.join(' or ')}; got '${unknown.join(', ')}'`,
        ExitCode.USAGE,
      );
    }
  }
  const lockTimeout = parseDuration('--lock-timeout', values['lock-timeout']);
  const statementTimeout = parseDuration('--statement-timeout', values['statement-timeout']);
  const url = parseDatabaseUrl(values['database-url'] ?? process.env.DATABASE_URL);
  return { command, url, to: values.to, count, phases, lockTimeout, statementTimeout };
}
