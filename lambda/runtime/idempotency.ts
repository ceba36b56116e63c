import { createHash } from 'node:crypto';
import { ApiError } from './errors';
import type { Database, Sql, TransactionContext } from './pool';

/** `Idempotency-Key`: client-chosen, 8-128 URL-safe characters (a UUID fits). */
export const IDEMPOTENCY_KEY = /^[A-Za-z0-9_-]{8,128}$/;

/** The part of a response that is stored and replayed. */
export interface StoredResponse {
  readonly statusCode: number;
  readonly body?: string;
}

/** What {@link IdempotencyStore.run} answers: the response, and whether it is a replay. */
export interface IdempotentResult extends StoredResponse {
  /** `true` when the write ran before and this is its stored response. */
  readonly replayed: boolean;
}

/** One idempotent write. */
export interface IdempotentRequest {
  /**
   * What the key is scoped to besides the caller: the route and the canonical id of the
   * resource (`POST /notes`, `PATCH /notes/<lower-case id>`), never the raw path, so `/notes/`
   * and `/notes`, or an id in another case, share one key.
   */
  readonly scope: string;
  /** The client's `Idempotency-Key` (see {@link IDEMPOTENCY_KEY}). */
  readonly key: string;
  /** The validated request; its hash detects a key reused for a different request. */
  readonly request: unknown;
}

/** Options of {@link IdempotencyStore}. */
export interface IdempotencyStoreOptions {
  /** How long a completed write's response is replayed. @default 86400 (24 h) */
  readonly ttlSeconds?: number;
  /**
   * How long a duplicate waits for a first request that is still running before it gets 409 +
   * `Retry-After` (the first holds the key's row until it commits).
   * @default 300
   */
  readonly inProgressWaitMs?: number;
  /** Expired keys are pruned at most this often per container. @default 600000 (10 min) */
  readonly pruneEveryMs?: number;
  /** Called when pruning fails (it never fails a request). @default - ignored */
  readonly onPruneError?: (error: unknown) => void;
}

// Claims the key, or reclaims it when its record has expired. A row committed by an earlier
// request makes this insert nothing; a row another open transaction inserted makes it wait for
// that transaction (at most lock_timeout), then insert (it rolled back) or nothing (it committed).
// https://www.postgresql.org/docs/current/sql-insert.html#SQL-ON-CONFLICT
const CLAIM = `INSERT INTO idempotency_keys AS k
  (caller_id, scope, idempotency_key, request_hash, expires_at)
  VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))
  ON CONFLICT (caller_id, scope, idempotency_key) DO UPDATE
    SET request_hash = EXCLUDED.request_hash, status_code = NULL, response_body = NULL,
        created_at = now(), expires_at = EXCLUDED.expires_at
    WHERE k.expires_at <= now()
  RETURNING true AS claimed`;
const READ = `SELECT request_hash, status_code, response_body FROM idempotency_keys
  WHERE caller_id = $1 AND scope = $2 AND idempotency_key = $3`;
const COMPLETE = `UPDATE idempotency_keys SET status_code = $4, response_body = $5
  WHERE caller_id = $1 AND scope = $2 AND idempotency_key = $3`;
const PRUNE = 'SELECT prune_idempotency_keys($1) AS pruned';

/** The store's statements, for the request-path bench's floor (not part of the runtime API). */
export const IDEMPOTENCY_SQL = { claim: CLAIM, read: READ, complete: COMPLETE, prune: PRUNE } as const;

interface KeyRow {
  request_hash: string;
  status_code: number | null;
  response_body: string | null;
}

type Outcome = { kind: 'done'; response: StoredResponse } | { kind: 'found'; row: KeyRow | undefined };

/**
 * Exactly-once writes behind an `Idempotency-Key`, with PostgreSQL as the only source of truth
 * (table `idempotency_keys`, migration 0005). The key is claimed by the first statement of the
 * write's own transaction and its response stored by the last, so the key's record commits if
 * and only if the write does: a request stopped anywhere (before or after COMMIT, a timeout, the
 * cache down) leaves all or nothing, and a retry replays the first response.
 *
 * - same key, same request, completed: the first response, `replayed: true`;
 * - same key while the first is still running: 409 `idempotency_in_progress` + `Retry-After`;
 * - same key, different request: 422 `idempotency_key_reused`;
 * - a write that fails (4xx or 5xx) rolls back with its claim: the key stays free for a retry.
 *
 * The transaction sets `app.caller_id`, so row-level security keeps callers to their own keys.
 *
 * Exactly-once does not depend on how the function dies: an uncommitted claim is never visible
 * to anyone else. How soon a key held by a dead request frees up does: Lambda resets the
 * execution environment of an invocation that timed out or crashed
 * (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html), closing its
 * connection, and RDS Proxy ends the session when the client connection drops
 * (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-pinning.html), so
 * PostgreSQL rolls the transaction back; until then duplicates get 409 and retry.
 */
export class IdempotencyStore {
  private readonly ttlSeconds: number;
  private readonly inProgressWaitMs: number;
  private readonly pruneEveryMs: number;
  private lastPrune = 0;

  constructor(
    private readonly database: Database,
    private readonly options: IdempotencyStoreOptions = {},
  ) {
    this.ttlSeconds = Math.max(1, Math.floor(options.ttlSeconds ?? 86_400));
    this.inProgressWaitMs = options.inProgressWaitMs ?? 300;
    this.pruneEveryMs = options.pruneEveryMs ?? 600_000;
  }

  /** Runs `work` (the write, on the transaction's `sql`) at most once per caller, scope and key. */
  public async run(
    context: TransactionContext,
    request: IdempotentRequest,
    work: (sql: Sql) => Promise<StoredResponse>,
  ): Promise<IdempotentResult> {
    const hash = requestHash(request.request);
    const ids = [context.callerId, request.scope, request.key];
    const outcome = await this.database.transaction(
      { ...context, lockTimeoutMs: this.inProgressWaitMs },
      async (sql): Promise<Outcome> => {
        const claimed = await claim(sql, [...ids, hash, this.ttlSeconds]);
        if (!claimed) return { kind: 'found', row: (await sql.query<KeyRow>(READ, ids))[0] };
        const response = await work(sql);
        await sql.query(COMPLETE, [...ids, response.statusCode, response.body ?? null]);
        return { kind: 'done', response };
      },
    );
    if (outcome.kind === 'done') {
      await this.pruneNowAndThen(context);
      return { statusCode: outcome.response.statusCode, body: outcome.response.body, replayed: false };
    }
    const row = outcome.row;
    // Gone between the two statements (pruned) or not completed: either way, retry shortly.
    if (row === undefined || row.status_code === null) throw inProgress();
    if (row.request_hash !== hash) {
      throw new ApiError(
        422,
        'idempotency_key_reused',
        'this Idempotency-Key was already used for a different request; use a new key for a new request',
      );
    }
    return { statusCode: row.status_code, body: row.response_body ?? undefined, replayed: true };
  }

  /** Deletes expired keys (all callers, through the owner's function) once per `pruneEveryMs`. */
  private async pruneNowAndThen(context: TransactionContext): Promise<void> {
    const now = Date.now();
    if (now - this.lastPrune < this.pruneEveryMs) return;
    this.lastPrune = now;
    try {
      await this.database.transaction(context, (sql) => sql.query(PRUNE, [1000]));
    } catch (error) {
      this.options.onPruneError?.(error);
    }
  }
}

async function claim(sql: Sql, params: unknown[]): Promise<boolean> {
  try {
    return (await sql.query(CLAIM, params)).length === 1;
  } catch (error) {
    // lock_not_available: another transaction holds the key, i.e. the first request still runs.
    if ((error as { code?: unknown }).code === '55P03') throw inProgress(error);
    throw error;
  }
}

function inProgress(cause?: unknown): ApiError {
  return new ApiError(
    409,
    'idempotency_in_progress',
    'a request with this Idempotency-Key is still being processed; retry shortly to get its result',
    { retryAfterSeconds: 1, cause },
  );
}

/** SHA-256 of the request as canonical JSON (object keys sorted), hex. */
export function requestHash(request: unknown): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
