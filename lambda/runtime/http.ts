import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import * as z from 'zod/mini';
import { en } from 'zod/locales';
import { ApiError, badRequest, type FieldErrors } from './errors';

// zod/mini ships without messages; English ones for the checks that carry no message of their own.
// Set on first validation rather than at import, so importing this module has no side effects.
let messagesConfigured = false;
export function configureMessages(): void {
  if (messagesConfigured) return;
  z.config(en());
  messagesConfigured = true;
}

export type ApiResponse = APIGatewayProxyStructuredResultV2 & {
  statusCode: number;
  headers: Record<string, string>;
};

/**
 * A request id we accept from the edge: short and made of characters that cannot break out of
 * a SQL comment or a log field. Anything else is replaced by a fresh UUID.
 */
const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** The request id of this request: the edge's `x-request-id` when well-formed, else a new UUID. */
export function requestIdOf(event: APIGatewayProxyEventV2): string {
  const fromEdge = header(event, 'x-request-id');
  return fromEdge !== undefined && REQUEST_ID.test(fromEdge) ? fromEdge : randomUUID();
}

/** A header value by case-insensitive name (HTTP API v2 lower-cases them already). */
export function header(event: APIGatewayProxyEventV2, name: string): string | undefined {
  const headers = event.headers ?? {};
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): ApiResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

export function noContent(): ApiResponse {
  return { statusCode: 204, headers: {} };
}

/** The one error body of the API: `{ error: { code, message, requestId, fields? } }`. */
export function errorResponse(error: ApiError, requestId: string): ApiResponse {
  const headers: Record<string, string> = {};
  if (error.retryAfterSeconds !== undefined) headers['retry-after'] = String(error.retryAfterSeconds);
  return json(
    error.status,
    {
      error: {
        code: error.code,
        message: error.message,
        requestId,
        ...(error.fields ? { fields: error.fields } : {}),
      },
    },
    headers,
  );
}

/**
 * Reads a JSON body: 413 above `maxBytes`, 415 when it is not JSON, 400 when it does not parse
 * or does not match `schema` (with the problems per field).
 */
export function parseJsonBody<T>(
  event: APIGatewayProxyEventV2,
  schema: z.ZodMiniType<T>,
  maxBytes: number,
): T {
  const raw = event.body ?? '';
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.length > maxBytes) {
    throw new ApiError(
      413,
      'payload_too_large',
      `the body is ${bytes.length} bytes; the limit is ${maxBytes}`,
    );
  }
  const contentType = header(event, 'content-type');
  if (contentType !== undefined && !/^application\/json\s*(;|$)/i.test(contentType)) {
    throw new ApiError(415, 'unsupported_media_type', `send application/json, not ${contentType}`);
  }
  let value: unknown;
  try {
    value = bytes.length === 0 ? undefined : JSON.parse(bytes.toString('utf8'));
  } catch {
    throw badRequest('the body is not valid JSON');
  }
  return validate(schema, value, 'the body');
}

/** Validates `value` against `schema`, or throws a 400 naming every bad field. */
export function validate<T>(schema: z.ZodMiniType<T>, value: unknown, what: string): T {
  configureMessages();
  const result = z.safeParse(schema, value);
  if (result.success) return result.data;
  const fields: FieldErrors = {};
  for (const issue of result.error.issues) {
    const path = issue.path.length > 0 ? issue.path.join('.') : '(root)';
    (fields[path] ??= []).push(issue.message);
  }
  throw badRequest(`${what} is invalid`, fields);
}
