import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Pool } from 'pg';
import type { AccessTokenClaims } from '../shared/jwt';
import type { ApiDependencies, BeforeRouteHook } from './app';
import { createAuthenticator } from './auth';
import { type CacheClient, connector, ItemCache } from '../runtime/cache';
import { Database } from '../runtime/pool';
import { IdempotencyStore } from '../runtime/idempotency';
import type { Note } from './notes';
import { RateLimiter } from './rate-limit';

/** Tunables of the API with their production defaults. */
export interface ApiSettings {
  /** App client whose access tokens are accepted. */
  readonly clientId: string;
  /** Requests per minute per caller (token bucket, burst of the same size). */
  readonly requestsPerMinute: number;
  /** Prefix of every cache and rate-limit key (tests use a unique one). @default 'shipshape:' */
  readonly keyPrefix?: string;
  /** Server-side limit of each SQL statement. @default 2000 */
  readonly statementTimeoutMs?: number;
  /** How long a request waits for the cache connection. @default 500 */
  readonly cacheConnectTimeoutMs?: number;
  /** Cache-aside TTL: the longest a missed invalidation can serve stale data. @default 60 */
  readonly cacheTtlSeconds?: number;
  /** How long a write's response is kept for replays. @default 86400 (24 h) */
  readonly idempotencyTtlSeconds?: number;
  /** How long a duplicate write waits for the first before 409 + Retry-After. @default 300 */
  readonly idempotencyWaitMs?: number;
  /** @default 16384 */
  readonly maxBodyBytes?: number;
  /** @default 1000 */
  readonly healthCheckTimeoutMs?: number;
  readonly verifyToken?: (token: string) => Promise<AccessTokenClaims>;
  readonly beforeRoute?: readonly BeforeRouteHook[];
  readonly logger?: Logger;
  readonly metrics?: Metrics;
}

/** Wires the API's collaborators around a database pool and a cache client. */
export function createDependencies(pool: Pool, cache: CacheClient, settings: ApiSettings): ApiDependencies {
  const prefix = settings.keyPrefix ?? 'shipshape:';
  const database = new Database(pool, settings.statementTimeoutMs ?? 2000);
  const logger = settings.logger ?? new Logger();
  return {
    database,
    cache,
    connectCache: connector(cache, settings.cacheConnectTimeoutMs ?? 500),
    notesCache: new ItemCache<Note>(cache, `${prefix}note:`, settings.cacheTtlSeconds ?? 60),
    authenticate: createAuthenticator({ clientId: settings.clientId, verifyToken: settings.verifyToken }),
    rateLimiter: new RateLimiter(cache, `${prefix}rate:`, settings.requestsPerMinute),
    idempotency: new IdempotencyStore(database, {
      ttlSeconds: settings.idempotencyTtlSeconds ?? 86_400,
      inProgressWaitMs: settings.idempotencyWaitMs ?? 300,
      onPruneError: (error) =>
        logger.warn('pruning expired idempotency keys failed', { error: String(error) }),
    }),
    logger,
    metrics: settings.metrics ?? new Metrics(),
    maxBodyBytes: settings.maxBodyBytes ?? 16_384,
    healthCheckTimeoutMs: settings.healthCheckTimeoutMs ?? 1000,
    beforeRoute: settings.beforeRoute,
  };
}
