import { Logger } from '@aws-lambda-powertools/logger';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import * as z from 'zod/mini';
import { cognitoIssuer, createAccessTokenVerifier } from '../shared/jwt';
import { createOriginVerifier } from '../shared/origin-verify';
import { type ApiDependencies, createApiHandler } from './app';
import { createCacheClient, readCacheToken } from '../runtime/cache';
import { createIamPool } from '../runtime/pool';
import { createDependencies } from './dependencies';
import { classify } from '../runtime/errors';
import { originGuard } from './origin-guard';
import { type ApiResponse, configureMessages, errorResponse, requestIdOf } from '../runtime/http';

/** The function's environment: identifiers only, never a secret value. */
const text = z.string().check(z.minLength(1));
const port = (fallback: number) => z._default(z.coerce.number().check(z.int()), fallback);
const environment = z.object({
  AWS_REGION: text,
  DB_HOST: text,
  DB_PORT: port(5432),
  DB_NAME: text,
  DB_USER: z._default(text, 'app'),
  CACHE_HOST: text,
  CACHE_PORT: port(6379),
  /** Secret holding the cache AUTH token (JSON with `password`/`token`, or the bare token). */
  CACHE_AUTH_SECRET_ARN: z.optional(z.string().check(z.startsWith('arn:'))),
  CACHE_USERNAME: z.optional(text),
  USER_POOL_ID: text,
  USER_POOL_CLIENT_ID: text,
  VERIFY_TOKEN_SIGNATURE: z._default(z.enum(['true', 'false']), 'true'),
  REQUESTS_PER_MINUTE_PER_CALLER: z.coerce.number().check(z.int(), z.positive()),
  STATEMENT_TIMEOUT_MS: port(2000),
  /** Secret whose current/pending/previous value CloudFront sends as x-origin-verify. */
  ORIGIN_VERIFY_SECRET_ARN: z.string().check(z.startsWith('arn:')),
});

const secrets = new SecretsManagerClient({
  requestHandler: { connectionTimeout: 1000, requestTimeout: 2000 },
  maxAttempts: 2,
});

const startupLogger = new Logger();

export { readCacheToken };

async function build(): Promise<ApiDependencies> {
  configureMessages();
  const env = z.parse(environment, process.env);
  const pool = createIamPool({
    host: env.DB_HOST,
    port: env.DB_PORT,
    database: env.DB_NAME,
    user: env.DB_USER,
    region: env.AWS_REGION,
    max: 2,
    connectionTimeoutMs: 2000,
    queryTimeoutMs: env.STATEMENT_TIMEOUT_MS + 1000,
  });
  const cache = createCacheClient({
    host: env.CACHE_HOST,
    port: env.CACHE_PORT,
    tls: true,
    username: env.CACHE_USERNAME,
    password: await readCacheToken(env.CACHE_AUTH_SECRET_ARN, secrets),
    connectTimeoutMs: 1000,
    commandTimeoutMs: 250,
  });
  const issuer = cognitoIssuer(env.AWS_REGION, env.USER_POOL_ID);
  return createDependencies(pool, cache, {
    clientId: env.USER_POOL_CLIENT_ID,
    requestsPerMinute: env.REQUESTS_PER_MINUTE_PER_CALLER,
    statementTimeoutMs: env.STATEMENT_TIMEOUT_MS,
    verifyToken:
      env.VERIFY_TOKEN_SIGNATURE === 'true'
        ? createAccessTokenVerifier({ issuer, clientId: env.USER_POOL_CLIENT_ID })
        : undefined,
    beforeRoute: [
      originGuard(createOriginVerifier({ secretId: env.ORIGIN_VERIFY_SECRET_ARN, secretsClient: secrets })),
    ],
  });
}

// Built once per container, on the first request (the cache secret read is async); a failed
// build is retried by the next request rather than poisoning the container.
let ready: Promise<(event: APIGatewayProxyEventV2, context: Context) => Promise<ApiResponse>> | undefined;

export async function handler(event: APIGatewayProxyEventV2, context: Context): Promise<ApiResponse> {
  ready ??= build()
    .then(createApiHandler)
    .catch((error: unknown) => {
      ready = undefined;
      throw error;
    });
  let api: Awaited<typeof ready>;
  try {
    api = await ready;
  } catch (error) {
    // A bad environment is fatal (500); a secret read that timed out is retryable (503).
    const apiError = classify(error, 'the service configuration');
    const requestId = requestIdOf(event);
    startupLogger.error('the API could not start', {
      requestId,
      kind: apiError.kind,
      error: error instanceof Error ? { name: error.name, message: error.message } : String(error),
    });
    const response = errorResponse(apiError, requestId);
    response.headers['x-request-id'] = requestId;
    return response;
  }
  return api(event, context);
}
