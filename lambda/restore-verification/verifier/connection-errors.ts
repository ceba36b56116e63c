import { RetryableError } from '../../runtime/task-errors';

/**
 * The database could not be reached or would not take a session yet. Right after RDS reports a
 * restored instance `available`, its DNS name may not resolve yet, the port may refuse or time
 * out, and PostgreSQL may still be starting (SQLSTATE 57P03) or restarting after applying the
 * parameter group. The state machine retries this error with backoff on the steps that connect
 * (the Retry field matches the error's `name`, which Lambda reports as the error type:
 * https://docs.aws.amazon.com/lambda/latest/dg/nodejs-exceptions.html,
 * https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).
 */
export class DatabaseNotReadyError extends RetryableError {
  override readonly name = 'DatabaseNotReady';
}

/** Socket and DNS failures from Node.js (`error.code`). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ENOTFOUND', // DNS: the new endpoint's name does not resolve yet
  'EAI_AGAIN', // DNS: temporary resolver failure
]);

/**
 * PostgreSQL SQLSTATEs meaning "not now" rather than "never": class 08 (connection exception),
 * 57P01-57P03 (shutting down, crashed, starting up), 53300 (too many connections).
 * https://www.postgresql.org/docs/current/errcodes-appendix.html
 */
const NOT_NOW_SQLSTATES = /^(08\w{3}|57P0[123]|53300)$/;

/** Messages of node-postgres for a connection that dropped or never completed. */
const PG_CONNECTION_MESSAGES = [
  /Connection terminated unexpectedly/i,
  /Connection terminated due to connection timeout/i,
  /timeout expired/i,
];

/** True when `error` says the database is unreachable or not accepting sessions yet. */
export function isConnectionError(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || NOT_NOW_SQLSTATES.test(code))) return true;
  if (typeof message === 'string' && PG_CONNECTION_MESSAGES.some((pattern) => pattern.test(message)))
    return true;
  // Node wraps several attempts (IPv4 and IPv6 addresses) in an AggregateError.
  if (error instanceof AggregateError) return error.errors.some(isConnectionError);
  return false;
}

/**
 * Runs `work` and turns a connection failure into {@link DatabaseNotReadyError} naming `what`;
 * every other error (a failed check, a permission error) passes through unchanged.
 */
export async function classifyConnectionErrors<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!isConnectionError(error)) throw error;
    const detail =
      error instanceof Error
        ? `${(error as { code?: string }).code ?? error.name}: ${error.message}`
        : String(error);
    throw new DatabaseNotReadyError(`${what} is not reachable yet (${detail})`, { cause: error });
  }
}
