/**
 * Lambda entry of the AfterAllowTraffic hook (the smoke test). See smoke.ts.
 */
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { acceptLifecycleHookEvent } from '../../shared/lifecycle-hook';
import { envSettings, settingsReader } from '../settings';
import { runSmokeTest, smokeChecksSchema, type SmokeDependencies, type SmokeSettings } from './smoke';

const logger = new Logger({ serviceName: 'shipshape-smoke-test' });
const codedeploy = new CodeDeployClient({ maxAttempts: 3 });
const secrets = new SecretsManagerClient({ maxAttempts: 3 });

/**
 * Reads the smoke test's settings from the environment the construct sets; throws naming the
 * variable when one is missing or invalid (the handler reports that as Failed).
 */
export function settingsFromEnv(): SmokeSettings {
  const env = envSettings();
  const region = env.required('AWS_REGION');
  const checks = env.optional('SMOKE_CHECKS');
  return {
    apiUrl: env.required('API_URL'),
    username: env.required('SMOKE_USERNAME'),
    passwordSecretArn: env.required('SMOKE_PASSWORD_SECRET_ARN'),
    userPoolClientId: env.required('USER_POOL_CLIENT_ID'),
    // Same override order as the SDK: service-specific, then global, then the public endpoint.
    cognitoEndpoint:
      env.optional('AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER') ??
      env.optional('AWS_ENDPOINT_URL') ??
      `https://cognito-idp.${region}.amazonaws.com/`,
    requestTimeoutMs: env.optionalInt('SMOKE_REQUEST_TIMEOUT_MS', 1) ?? 10_000,
    healthPath: env.optional('SMOKE_HEALTH_PATH') ?? '/health',
    ...(checks ? { checks: smokeChecksSchema.parse(JSON.parse(checks)) } : {}),
  };
}

/** What tests (and the game-day stand-in) may replace. */
export type SmokeOverrides = Partial<Omit<SmokeDependencies, 'remainingTimeMs' | 'settings'>> & {
  readonly settings?: SmokeSettings | (() => SmokeSettings);
};

/** Builds the handler; tests pass their own dependencies. */
export function createHandler(overrides: SmokeOverrides = {}) {
  return async (event: unknown, context: Pick<Context, 'getRemainingTimeInMillis' | 'awsRequestId'>) => {
    const log = overrides.logger ?? logger;
    const hookEvent = acceptLifecycleHookEvent(event, log, context.awsRequestId);
    return runSmokeTest(
      {
        codedeploy,
        secrets,
        logger,
        fetch: globalThis.fetch,
        ...overrides,
        settings: settingsReader(overrides.settings, settingsFromEnv),
        remainingTimeMs: () => context.getRemainingTimeInMillis(),
      },
      hookEvent,
    );
  };
}

export const handler = createHandler();
