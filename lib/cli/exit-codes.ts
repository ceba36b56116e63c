/**
 * Exit codes of the `shipshape` CLI. Scripts, CI jobs and runbooks branch on them, so a value
 * never changes meaning once released. Every code above 2 means "nothing was changed" unless
 * its description says otherwise.
 */
export const ExitCode = {
  /** The command did what it set out to do (for rollback: traffic is on the target and healthy). */
  OK: 0,
  /** An unexpected failure: the command did not finish what it set out to do. */
  FAILED: 1,
  /** The command line is wrong (unknown command or flag, bad value). Nothing was changed. */
  USAGE: 2,
  /**
   * Refused on purpose, with the reason printed: the target needs a dropped schema, or the schema
   * safety cannot be decided from what the versions declare (the message names the override).
   * Nothing was changed.
   */
  REFUSED: 3,
  /**
   * The environment's stack or one of the outputs the CLI reads is missing (for a rollback, also
   * the hook function names; the message names the override). Nothing was changed.
   */
  MISSING_STACK: 4,
  /** There is no earlier version to roll back to. Nothing was changed. */
  NO_PREVIOUS_VERSION: 5,
  /** A rollback is already running; the command printed its id. Nothing was changed. */
  ALREADY_ROLLING_BACK: 6,
  /** AWS credentials are missing, expired or invalid. Refresh them and run the command again. */
  EXPIRED_CREDENTIALS: 7,
  /** Confirmation was declined, or needed but impossible (no terminal and no --yes). Nothing was changed. */
  NOT_CONFIRMED: 8,
  /** Traffic moved to the target version but its health check failed. */
  UNHEALTHY: 9,
  /**
   * Interrupted (Ctrl-C) after the command changed something (a deployment was created or
   * stopped). The message lists what changed and what is still running, and how to follow or
   * stop it.
   */
  INTERRUPTED_AFTER_CHANGE: 10,
  /** Interrupted (Ctrl-C) before any change. Nothing was changed. */
  INTERRUPTED: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit code table printed by `--help`. */
export function exitCodeHelp(): string {
  return [
    'Exit codes:',
    '  0    done (rolled back / drill passed)',
    '  1    failed (the message says what state AWS is in)',
    '  2    usage error (bad flag or value); nothing changed',
    '  3    refused, with the reason; nothing changed',
    '  4    stack or stack output missing; nothing changed',
    '  5    no previous version to roll back to; nothing changed',
    '  6    a rollback is already in progress; nothing changed',
    '  7    AWS credentials missing or expired',
    '  8    not confirmed (declined, or no terminal and no --yes); nothing changed',
    '  9    traffic moved but the health check failed',
    '  10   interrupted (Ctrl-C) after a change; the message says what changed and what still runs',
    '  130  interrupted (Ctrl-C) before any change; nothing changed',
  ].join('\n');
}

/** An error that carries the exit code the CLI should end with. */
export class CliError extends Error {
  constructor(
    message: string,
    public readonly exitCode: ExitCodeValue,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
