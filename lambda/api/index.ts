import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import * as z from 'zod/mini';
import { cognitoIssuer, createAccessTokenVerifier } from '../shared/jwt';
import { type ApiDependencies, createApiHandler } from './app';
import { createCacheClient } from './cache';
import { createIamPool } from './db';
import { createDependencies } from './dependencies';
import type { ApiResponse } from './http';
import { withTimeout } from './timeout';

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
});

const secrets = new SecretsManagerClient({
  requestHandler: { connectionTimeout: 1000, requestTimeout: 2000 },
  maxAttempts: 2,
});

async function cacheToken(secretArn: string | undefined): Promise<string | undefined> {
  if (secretArn === undefined) return undefined;
  const { SecretString } = await withTimeout(
    secrets.send(new GetSecretValueCommand({ SecretId: secretArn })),
    3000,
    'reading the cache auth secret',
  );
  if (SecretString === undefined) throw new Error('the cache auth secret has no string value');
  try {
    const parsed = JSON.parse(SecretString) as { password?: unknown; token?: unknown };
    const token = parsed.password ?? parsed.token;
    if (typeof token === 'string') return token;
  } catch {
    // not JSON: the secret is the bare token
  }
  return SecretString;
}

async function build(): Promise<ApiDependencies> {
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
    password: await cacheToken(env.CACHE_AUTH_SECRET_ARN),
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
  return (await ready)(event, context);
}
