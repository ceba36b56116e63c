/**
 * Lambda entry of the BeforeAllowTraffic hook (the migration gate). See gate.ts.
 */
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { acceptLifecycleHookEvent, messageOf, requiredEnv } from '../../shared/lifecycle-hook';
import { type GateDependencies, type GateOutcome, type GateSettings, runMigrationGate } from './gate';

const logger = new Logger({ serviceName: 'shipshape-migration-gate' });
// Clients are created once per container; SDK v3 honours AWS_ENDPOINT_URL by itself.
const codedeploy = new CodeDeployClient({ maxAttempts: 3 });
const lambda = new LambdaClient({ maxAttempts: 2 });
const secrets = new SecretsManagerClient({ maxAttempts: 3 });

/** Reads the gate's settings from the environment the construct sets. */
export function settingsFromEnv(): GateSettings {
  const optionalInt = (name: string) => (process.env[name] ? Number(process.env[name]) : undefined);
  return {
    secretArn: process.env.DB_SECRET_ARN || undefined,
    host: process.env.DB_HOST || undefined,
    port: optionalInt('DB_PORT'),
    database: process.env.DB_NAME || undefined,
    targetVersionArn: requiredEnv('TARGET_VERSION_ARN'),
    originVerifySecretArn: process.env.ORIGIN_VERIFY_SECRET_ARN || undefined,
    lockTimeoutMs: optionalInt('MIGRATION_LOCK_TIMEOUT_MS') ?? 5_000,
    statementTimeoutMs: optionalInt('MIGRATION_STATEMENT_TIMEOUT_MS') ?? 300_000,
    selfTestTimeoutMs: optionalInt('SELF_TEST_TIMEOUT_MS') ?? 30_000,
  };
}

/** Builds the handler; tests pass their own dependencies. */
export function createHandler(overrides: Partial<Omit<GateDependencies, 'remainingTimeMs'>> = {}) {
  return async (event: unknown, context: Pick<Context, 'getRemainingTimeInMillis' | 'awsRequestId'>) => {
    const log = overrides.logger ?? logger;
    const hookEvent = acceptLifecycleHookEvent(event, log, context.awsRequestId);
    let settings: GateSettings;
    try {
      settings = overrides.settings ?? settingsFromEnv();
    } catch (error) {
      log.error('misconfigured migration gate', { error: messageOf(error) });
      throw error;
    }
    const outcome: GateOutcome = await runMigrationGate(
      {
        codedeploy,
        lambda,
        secrets,
        logger,
        tls: { rejectUnauthorized: true },
        ...overrides,
        settings,
        remainingTimeMs: () => context.getRemainingTimeInMillis(),
      },
      hookEvent,
    );
    return outcome;
  };
}

export const handler = createHandler();
