import {
  IdempotencyAlreadyInProgressError,
  PERSISTENCE_ATTRIBUTE_KEY_MAPPINGS,
  IdempotencyConfig,
  IdempotencyPersistenceLayerError,
  IdempotencyValidationError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { CachePersistenceLayer } from '@aws-lambda-powertools/idempotency/cache';
import type { IdempotencyRecord } from '@aws-lambda-powertools/idempotency/persistence';
import type { Context } from 'aws-lambda';
import type { CacheClient } from '../runtime/cache';
import { ApiError, unavailable } from '../runtime/errors';

/** What identifies one write: who, which route (method + path), which key, and what was sent. */
export interface IdempotencyScope {
  readonly callerId: string;
  readonly route: string;
  readonly key: string;
  /** Hashed to detect a key reused with a different request. */
  readonly body: unknown;
}

/** The part of a response that is stored and replayed. */
export interface StoredResponse {
  readonly statusCode: number;
  readonly body?: string;
  /** Set on a replay. */
  readonly replayed?: boolean;
}

/** `Idempotency-Key`: client-chosen, 8-128 URL-safe characters (a UUID fits). */
export const IDEMPOTENCY_KEY = /^[A-Za-z0-9_-]{8,128}$/;

/**
 * `Idempotency-Key` handling on top of Powertools idempotency with its Redis/Valkey persistence
 * layer. The record key hashes caller + route + key, so two callers (or two routes) can never
 * collide; the request body is validated so a key reused for a different request is refused
 * (422). A retry of a completed write gets the first response back; a duplicate that arrives
 * while the first is still running gets 409 and `Retry-After` (and writes nothing).
 */
export class Idempotency {
  private readonly config: IdempotencyConfig;
  private readonly run: (
    scope: IdempotencyScope,
    op: () => Promise<StoredResponse>,
  ) => Promise<StoredResponse>;

  constructor(client: CacheClient, options: { keyPrefix: string; expiresAfterSeconds: number }) {
    this.config = new IdempotencyConfig({
      eventKeyJmesPath: '[callerId, route, key]',
      payloadValidationJmesPath: 'body',
      expiresAfterSeconds: options.expiresAfterSeconds,
      throwOnNoIdempotencyKey: true,
      responseHook: (response) => ({ ...(response as object), replayed: true }),
    });
    const persistenceStore = new PayloadKeepingCachePersistenceLayer(client);
    this.run = makeIdempotent(
      async (_scope: IdempotencyScope, op: () => Promise<StoredResponse>): Promise<StoredResponse> => op(),
      { persistenceStore, config: this.config, keyPrefix: options.keyPrefix, dataIndexArgument: 0 },
    );
  }

  /**
   * Runs `op` at most once per scope. The Lambda context bounds how long an in-progress record
   * blocks duplicates (until this invocation would have timed out).
   */
  public async once(
    scope: IdempotencyScope,
    context: Context,
    op: () => Promise<StoredResponse>,
  ): Promise<StoredResponse> {
    this.config.registerLambdaContext(context);
    try {
      return await this.run(scope, op);
    } catch (error) {
      throw translate(error);
    }
  }
}

/**
 * Powertools 2.35's cache layer drops the payload hash when it marks a record COMPLETED, so with
 * payload validation on, every replay would fail validation (422) instead of returning the stored
 * response. This keeps the hash in the completed record; everything else is the library's.
 */
class PayloadKeepingCachePersistenceLayer extends CachePersistenceLayer {
  constructor(private readonly cacheClient: CacheClient) {
    super({ client: cacheClient });
  }

  protected override async _updateRecord(record: IdempotencyRecord): Promise<void> {
    const keys = PERSISTENCE_ATTRIBUTE_KEY_MAPPINGS;
    const item = {
      [keys.statusAttr]: record.getStatus(),
      [keys.expiryAttr]: record.expiryTimestamp,
      [keys.dataAttr]: record.responseData,
      [keys.validationKeyAttr]: record.payloadHash,
    };
    const ttlSeconds = Math.max(1, Math.ceil((record.expiryTimestamp ?? 0) - Date.now() / 1000));
    await this.cacheClient.set(record.idempotencyKey, JSON.stringify(item), { EX: ttlSeconds });
  }
}

function translate(error: unknown): unknown {
  if (error instanceof IdempotencyAlreadyInProgressError) {
    return new ApiError(
      409,
      'idempotency_in_progress',
      'a request with this Idempotency-Key is still being processed; retry shortly to get its result',
      { retryAfterSeconds: 1 },
    );
  }
  if (error instanceof IdempotencyValidationError) {
    return new ApiError(
      422,
      'idempotency_key_reused',
      'this Idempotency-Key was already used for a different request; use a new key for a new request',
    );
  }
  if (error instanceof IdempotencyPersistenceLayerError) return unavailable('the idempotency store', error);
  return error;
}
