/**
 * Error classification of the API. Every failure ends up as one of three kinds:
 * - `user` (4xx): the caller can fix it; the message says how.
 * - `retryable` (503 + Retry-After): a dependency is slow or down; the same request may succeed later.
 * - `fatal` (500): a bug or a misconfiguration; it alarms and someone must look.
 */
export type ErrorKind = 'user' | 'retryable' | 'fatal';

/** Field name → problems, for validation errors. */
export type FieldErrors = Record<string, string[]>;

export interface ApiErrorOptions {
  readonly fields?: FieldErrors;
  readonly retryAfterSeconds?: number;
  readonly cause?: unknown;
}

/** An error that knows its HTTP status, its stable code and its kind. */
export class ApiError extends Error {
  public readonly fields?: FieldErrors;
  public readonly retryAfterSeconds?: number;

  constructor(
    public readonly status: number,
    public readonly code: string,
    message: string,
    options: ApiErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'ApiError';
    this.fields = options.fields;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  public get kind(): ErrorKind {
    if (this.status < 500) return 'user';
    return this.status === 503 ? 'retryable' : 'fatal';
  }
}

export const badRequest = (message: string, fields?: FieldErrors) =>
  new ApiError(400, 'validation_failed', message, { fields });
export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} was not found`);
export const unauthorized = (message: string) => new ApiError(401, 'unauthorized', message);

/** A dependency failed in a way that a later retry may not hit. */
export function unavailable(dependency: string, cause?: unknown, retryAfterSeconds = 1): ApiError {
  return new ApiError(
    503,
    'dependency_unavailable',
    `${dependency} is temporarily unavailable; retry later`,
    {
      retryAfterSeconds,
      cause,
    },
  );
}

// SQLSTATE classes and codes that mean "try again": connection problems, timeouts, capacity,
// serialization failures, server shutting down.
const RETRYABLE_SQLSTATE_PREFIXES = ['08', '53', '57P', '40'];
const RETRYABLE_SQLSTATES = new Set(['57014', '55P03']);
// Node socket errors seen when a server is down or unreachable.
const RETRYABLE_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);
const RETRYABLE_MESSAGES = [
  /timeout/i,
  /connection terminated/i,
  /the client is closed/i,
  /socket closed/i,
  /connection is closed/i,
];

/** Whether an error from `pg`, the Redis client or a socket is worth retrying. */
export function isTransient(error: unknown, depth = 0): boolean {
  // Duck-typed: socket errors can come from another realm, where `instanceof Error` is false.
  if (typeof error !== 'object' || error === null || depth > 5) return false;
  const { code, message, cause } = error as { code?: unknown; message?: unknown; cause?: unknown };
  if (typeof code === 'string') {
    if (RETRYABLE_SOCKET_CODES.has(code) || RETRYABLE_SQLSTATES.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code)) return RETRYABLE_SQLSTATE_PREFIXES.some((p) => code.startsWith(p));
  }
  if (typeof message === 'string' && RETRYABLE_MESSAGES.some((re) => re.test(message))) return true;
  return cause !== undefined && cause !== error && isTransient(cause, depth + 1);
}

// PostgreSQL data exceptions (class 22) and check violations (23514): the statement was refused
// because of a value it was given, so the value came from the request and the caller can fix it.
// https://www.postgresql.org/docs/current/errcodes-appendix.html
const DATA_EXCEPTION_MESSAGES: Record<string, string> = {
  '22001': 'a value is longer than allowed',
  '22003': 'a number is out of range',
  '22007': 'a date or time is not valid',
  '22008': 'a date or time is out of range',
  '22009': 'a time zone offset is out of range',
  '22021': 'text must be valid UTF-8 without NUL (\\u0000) characters',
  '22P02': 'a value does not have the expected format',
  '22P05': 'text contains a character that cannot be stored',
  '23514': 'a value breaks a rule of the data (for example a length limit)',
};

/**
 * A PostgreSQL data exception (SQLSTATE class 22) or check violation (23514) as a 400 whose
 * message says what kind of value was refused (never the statement or the constraint's name);
 * `undefined` for anything else.
 */
export function dataException(error: unknown): ApiError | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !/^(22[0-9A-Z]{3}|23514)$/.test(code)) return undefined;
  const what = DATA_EXCEPTION_MESSAGES[code] ?? 'a value cannot be stored as sent';
  return new ApiError(400, 'invalid_value', `the request was refused: ${what}`, { cause: error });
}

/**
 * Turns anything thrown into an {@link ApiError}: API errors pass through, PostgreSQL data
 * exceptions become 400 ({@link dataException}), transient dependency failures become 503,
 * everything else is fatal (500) with a message that leaks nothing internal.
 */
export function classify(error: unknown, dependency = 'a dependency'): ApiError {
  if (error instanceof ApiError) return error;
  const refused = dataException(error);
  if (refused) return refused;
  if (isTransient(error)) return unavailable(dependency, error);
  return new ApiError(500, 'internal_error', 'the request failed unexpectedly; it has been logged', {
    cause: error,
  });
}
