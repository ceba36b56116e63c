/**
 * Lambda entry of the AfterAllowTraffic hook (the smoke test). See smoke.ts.
 */
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { acceptLifecycleHookEvent, requiredEnv } from '../../shared/lifecycle-hook';
import { runSmokeTest, type SmokeDependencies, type SmokeSettings } from './smoke';

const logger = new Logger({ serviceName: 'shipshape-smoke-test' });
const codedeploy = new CodeDeployClient({ maxAttempts: 3 });
const secrets = new SecretsManagerClient({ maxAttempts: 3 });

/** Reads the smoke test's settings from the environment the construct sets. */
export function settingsFromEnv(): SmokeSettings {
  const region = requiredEnv('AWS_REGION');
  return {
    apiUrl: requiredEnv('API_URL'),
    username: requiredEnv('SMOKE_USERNAME'),
    passwordSecretArn: requiredEnv('SMOKE_PASSWORD_SECRET_ARN'),
    userPoolClientId: requiredEnv('USER_POOL_CLIENT_ID'),
    // Same override order as the SDK: service-specific, then global, then the public endpoint.
    cognitoEndpoint:
      process.env.AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER ||
      process.env.AWS_ENDPOINT_URL ||
      `https://cognito-idp.${region}.amazonaws.com/`,
    requestTimeoutMs: Number(process.env.SMOKE_REQUEST_TIMEOUT_MS || 10_000),
  };
}

/** Builds the handler; tests pass their own dependencies. */
export function createHandler(overrides: Partial<SmokeDependencies> = {}) {
  return async (event: unknown, context: Pick<Context, 'awsRequestId'>) => {
    const log = overrides.logger ?? logger;
    const hookEvent = acceptLifecycleHookEvent(event, log, context.awsRequestId);
    return runSmokeTest(
      {
        codedeploy,
        secrets,
        logger,
        fetch: globalThis.fetch,
        ...overrides,
        settings: overrides.settings ?? settingsFromEnv(),
      },
      hookEvent,
    );
  };
}

export const handler = createHandler();
