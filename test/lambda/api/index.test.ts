import type * as SecretsManager from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { type AwsStub, mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type * as Entry from '../../../lambda/api/index';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:cache-auth-AbCdEf';

const ENV = {
  AWS_REGION: 'eu-west-1',
  DB_HOST: 'proxy.example.internal',
  DB_NAME: 'shipshape',
  CACHE_HOST: 'cache.example.internal',
  CACHE_AUTH_SECRET_ARN: SECRET_ARN,
  USER_POOL_ID: 'eu-west-1_Test',
  USER_POOL_CLIENT_ID: 'client',
  REQUESTS_PER_MINUTE_PER_CALLER: '60',
  ORIGIN_VERIFY_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:origin-verify-AbCdEf',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
};

const event = {
  rawPath: '/health',
  headers: { 'x-request-id': 'startup-test-01' },
  requestContext: { http: { method: 'GET' } },
} as unknown as APIGatewayProxyEventV2;
const context = { functionName: 'api', awsRequestId: 'r', getRemainingTimeInMillis: () => 5000 } as Context;

// The entry point keeps per-container state, so each test loads a fresh copy of it (and of the
// SDK it uses, whose client is mocked).
let secrets: AwsStub<SecretsManager.ServiceInputTypes, SecretsManager.ServiceOutputTypes, unknown>;
let GetSecretValueCommand: typeof SecretsManager.GetSecretValueCommand;

async function loadHandler(env: Record<string, string>) {
  jest.resetModules();
  const sdk = jest.requireActual<typeof SecretsManager>('@aws-sdk/client-secrets-manager');
  secrets = mockClient(sdk.SecretsManagerClient);
  GetSecretValueCommand = sdk.GetSecretValueCommand;
  const saved = { ...process.env };
  for (const key of Object.keys(ENV)) delete process.env[key];
  Object.assign(process.env, env);
  const module = jest.requireActual<typeof Entry>('../../../lambda/api/index');
  return {
    module,
    restore: () => {
      process.env = saved;
      secrets.restore();
    },
  };
}

describe('API entry point', () => {
  test('reads the cache AUTH token as a bare secret string or from JSON', async () => {
    const { module, restore } = await loadHandler(ENV);
    try {
      secrets
        .on(GetSecretValueCommand)
        .resolvesOnce({ SecretString: 'bare-token' })
        .resolvesOnce({ SecretString: '{"password":"json-token"}' });
      expect(await module.readCacheToken(SECRET_ARN)).toBe('bare-token');
      expect(await module.readCacheToken(SECRET_ARN)).toBe('json-token');
      expect(secrets).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: SECRET_ARN });
      expect(await module.readCacheToken(undefined)).toBeUndefined();
      expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
    } finally {
      restore();
    }
  });

  test('answers 503 with the error body when the secret cannot be read at cold start, and retries later', async () => {
    const { module, restore } = await loadHandler(ENV);
    try {
      secrets
        .on(GetSecretValueCommand)
        .rejects(Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' }));
      const first = await module.handler(event, context);
      expect(first.statusCode).toBe(503);
      expect(first.headers['retry-after']).toBe('1');
      expect(JSON.parse(first.body as string).error).toMatchObject({
        code: 'dependency_unavailable',
        requestId: 'startup-test-01',
      });
      await module.handler(event, context);
      // A failed start is not cached: the next request tries again.
      expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
    } finally {
      restore();
    }
  });

  test('answers 500 (fatal) when its environment is incomplete', async () => {
    const { USER_POOL_ID: _omitted, ...incomplete } = ENV;
    const { module, restore } = await loadHandler(incomplete);
    try {
      const response = await module.handler(event, context);
      expect(response.statusCode).toBe(500);
      expect(JSON.parse(response.body as string).error.code).toBe('internal_error');
      expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 0);
    } finally {
      restore();
    }
  });
});
