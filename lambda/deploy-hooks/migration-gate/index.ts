/**
 * Lambda entry of the BeforeAllowTraffic hook (the migration gate). See gate.ts.
 */
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { acceptLifecycleHookEvent } from '../../shared/lifecycle-hook';
import { envSettings, settingsReader } from '../settings';
import { type GateDependencies, type GateOutcome, type GateSettings, runMigrationGate } from './gate';

const logger = new Logger({ serviceName: 'shipshape-migration-gate' });
// Clients are created once per container; SDK v3 honours AWS_ENDPOINT_URL by itself.
const codedeploy = new CodeDeployClient({ maxAttempts: 3 });
const lambda = new LambdaClient({ maxAttempts: 2 });
const secrets = new SecretsManagerClient({ maxAttempts: 3 });

/**
 * Reads the gate's settings from the environment the construct sets; throws naming the
 * variable when one is missing or invalid (the handler reports that as Failed).
 */
export function settingsFromEnv(): GateSettings {
  const env = envSettings();
  return {
    functionName: env.required('TARGET_FUNCTION_NAME'),
    secretArn: env.optional('DB_SECRET_ARN'),
    host: env.optional('DB_HOST'),
    port: env.optionalInt('DB_PORT', 1, 65_535),
    database: env.optional('DB_NAME'),
    originVerifySecretArn: env.optional('ORIGIN_VERIFY_SECRET_ARN'),
    lockTimeoutMs: env.optionalInt('MIGRATION_LOCK_TIMEOUT_MS', 1) ?? 5_000,
    statementTimeoutMs: env.optionalInt('MIGRATION_STATEMENT_TIMEOUT_MS', 1) ?? 300_000,
    selfTestTimeoutMs: env.optionalInt('SELF_TEST_TIMEOUT_MS', 1) ?? 30_000,
    healthPath: env.optional('HEALTH_PATH') ?? '/health',
  };
}

/** What tests (and the game-day stand-in) may replace. */
export type GateOverrides = Partial<Omit<GateDependencies, 'remainingTimeMs' | 'settings'>> & {
  readonly settings?: GateSettings | (() => GateSettings);
};

/** Builds the handler; tests pass their own dependencies. */
export function createHandler(overrides: GateOverrides = {}) {
  return async (event: unknown, context: Pick<Context, 'getRemainingTimeInMillis' | 'awsRequestId'>) => {
    const log = overrides.logger ?? logger;
    const hookEvent = acceptLifecycleHookEvent(event, log, context.awsRequestId);
    const outcome: GateOutcome = await runMigrationGate(
      {
        codedeploy,
        lambda,
        secrets,
        logger,
        tls: { rejectUnauthorized: true },
        ...overrides,
        settings: settingsReader(overrides.settings, settingsFromEnv),
        remainingTimeMs: () => context.getRemainingTimeInMillis(),
      },
      hookEvent,
    );
    return outcome;
  };
}

export const handler = createHandler();
