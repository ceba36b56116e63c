import { setTimeout as sleep } from 'node:timers/promises';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Logger } from '@aws-lambda-powertools/logger';
import { createClient } from '@redis/client';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { rotateSecret, rotationEventSchema } from '../shared/secret-rotation';
import { type AuthProbe, cacheTokenTarget } from './cache-token';

const env = z
  .object({
    REPLICATION_GROUP_ID: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be an ElastiCache replication group id'),
    CACHE_HOST: z.string().min(1),
    CACHE_PORT: z.coerce.number().int().min(1).max(65_535),
    /** TLS to the cache: always on AWS (transit encryption is required); 'false' only for a local test server. */
    CACHE_TLS: z.enum(['true', 'false']).default('true'),
  })
  .safeParse(process.env);

const logger = new Logger({ serviceName: 'cache-auth-rotation' });
const secrets = new SecretsManagerClient({
  maxAttempts: 3,
  requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000 },
});
const elasticache = new ElastiCacheClient({
  maxAttempts: 3,
  requestHandler: { connectionTimeout: 2_000, requestTimeout: 10_000 },
});

/** Time kept back from the Lambda timeout so a step fails (and reports) before it is killed. */
const MARGIN_MS = 20_000;

/** Opens one connection with `password` and PINGs: false when the server refuses the password. */
function probe(settings: { host: string; port: number; tls: boolean }): AuthProbe {
  return async (password) => {
    const client = createClient({
      socket: {
        host: settings.host,
        port: settings.port,
        connectTimeout: 5_000,
        reconnectStrategy: false,
        ...(settings.tls ? { tls: true as const, servername: settings.host } : {}),
      },
      password,
      disableOfflineQueue: true,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return (await client.ping()) === 'PONG';
    } catch (error) {
      // Valkey/Redis answer a wrong password with WRONGPASS (AUTH with ACL users, Redis >= 6).
      if (/WRONGPASS|invalid (username-)?password/i.test((error as Error).message)) return false;
      throw error;
    } finally {
      client.destroy();
    }
  };
}

/**
 * Secrets Manager rotation function of a cache's AUTH token (see `cache-token.ts` for how the
 * token reaches ElastiCache). Bad settings or an invalid event fail the step at once, so Secrets
 * Manager records the rotation as failed (and the rotation-failure alarm fires) instead of waiting.
 */
export async function handler(event: unknown, context: Context): Promise<void> {
  logger.addContext(context);
  try {
    if (!env.success) {
      logger.error('invalid settings', { issues: env.error.issues });
      throw new Error(
        `invalid settings: ${env.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`,
      );
    }
    const parsed = rotationEventSchema.safeParse(event);
    if (!parsed.success) {
      logger.error('not a Secrets Manager rotation event', { issues: parsed.error.issues });
      throw new Error('invalid rotation event');
    }
    const settings = env.data;
    await rotateSecret(
      parsed.data,
      { secrets, logger },
      cacheTokenTarget({
        elasticache,
        replicationGroupId: settings.REPLICATION_GROUP_ID,
        probe: probe({
          host: settings.CACHE_HOST,
          port: settings.CACHE_PORT,
          tls: settings.CACHE_TLS === 'true',
        }),
        logger,
        remainingMs: () => context.getRemainingTimeInMillis() - MARGIN_MS,
        sleep: (ms) => sleep(ms),
      }),
    );
  } catch (error) {
    logger.error('rotation step failed', { error: error as Error });
    throw error;
  } finally {
    logger.resetKeys();
  }
}
