import type { Logger } from '@aws-lambda-powertools/logger';
import type { ApiError } from './errors';

/** Logs a classified error at the level its kind deserves: info (user), warn (retryable), error (fatal, with the stack). */
export function logError(logger: Logger, error: ApiError): void {
  const details = {
    code: error.code,
    status: error.status,
    kind: error.kind,
    error: errorSummary(error.cause),
  };
  if (error.kind === 'user') logger.info('request refused', details);
  else if (error.kind === 'retryable') logger.warn('dependency failure (retryable)', details);
  else logger.error('request failed (fatal)', { ...details, stack: errorStack(error.cause) });
}

/** Name, message and code of an error: never its data. */
export function errorSummary(error: unknown): { name: string; message: string; code?: string } | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { name, message, code } = error as { name?: unknown; message?: unknown; code?: unknown };
  return {
    name: String(name ?? 'Error'),
    message: String(message ?? ''),
    ...(typeof code === 'string' ? { code } : {}),
  };
}

function errorStack(error: unknown): string | undefined {
  const stack =
    typeof error === 'object' && error !== null ? (error as { stack?: unknown }).stack : undefined;
  return typeof stack === 'string' ? stack : undefined;
}
