-- phase: expand
-- Idempotency keys of the service's writes, recorded in the SAME transaction as the write they
-- guard (lambda/runtime/idempotency.ts): a key is claimed by the transaction's first statement
-- and its response stored by its last, so the key, the note and the outbox job commit together
-- or not at all. A request that is stopped anywhere (before or after COMMIT, cache down, the
-- function timing out) leaves either everything or nothing, and a retry replays the stored
-- response. A new table, so this is purely additive: the previous release (whose keys live in
-- the cache) never reads it, and keeping it on a code rollback is harmless.
--
-- Row-level security keeps each caller to their own keys, like notes. Not FORCEd, so that the
-- owner's prune function below can delete every caller's expired rows.

-- Up Migration
SET LOCAL ROLE shipshape_owner;

CREATE TABLE public.idempotency_keys (
  caller_id text NOT NULL,
  -- Route and canonical resource id: 'POST /notes', 'PATCH /notes/<lower-case uuid>'.
  scope text NOT NULL,
  idempotency_key text NOT NULL,
  -- SHA-256 (hex) of the validated request: the same key with another request is refused.
  request_hash text NOT NULL,
  -- NULL while the claiming transaction runs (nobody else can see that row before it commits).
  -- reason: an HTTP status code (100-599); the shared contract says int.
  -- squawk-ignore prefer-bigint-over-int
  status_code int NULL,
  response_body text NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  CONSTRAINT idempotency_keys_pkey PRIMARY KEY (caller_id, scope, idempotency_key),
  CONSTRAINT idempotency_keys_caller_id_length CHECK (char_length(caller_id) BETWEEN 1 AND 128),
  CONSTRAINT idempotency_keys_scope_length CHECK (char_length(scope) BETWEEN 1 AND 200),
  CONSTRAINT idempotency_keys_key_format CHECK (idempotency_key ~ '^[A-Za-z0-9_-]{8,128}$'),
  CONSTRAINT idempotency_keys_request_hash_format CHECK (request_hash ~ '^[0-9a-f]{64}$'),
  CONSTRAINT idempotency_keys_status_code_range CHECK (status_code BETWEEN 100 AND 599),
  CONSTRAINT idempotency_keys_expiry_after_creation CHECK (expires_at > created_at)
);

-- The prune function deletes expired keys oldest first.
CREATE INDEX idempotency_keys_expires_at_idx ON public.idempotency_keys (expires_at);

ALTER TABLE public.idempotency_keys ENABLE ROW LEVEL SECURITY;

CREATE POLICY idempotency_keys_caller ON public.idempotency_keys TO app
  USING (caller_id = current_setting('app.caller_id', true))
  WITH CHECK (caller_id = current_setting('app.caller_id', true));

-- app claims a key (INSERT, or UPDATE of its own expired row), stores the response (UPDATE)
-- and reads it back for a replay (SELECT). No DELETE: expired rows go through the function.
GRANT SELECT, INSERT ON public.idempotency_keys TO app;
GRANT UPDATE (request_hash, status_code, response_body, created_at, expires_at) ON public.idempotency_keys TO app;
GRANT SELECT ON public.idempotency_keys TO restore_verifier;

-- Deletes up to max_rows expired keys of every caller; returns how many. Runs as the owner (row-
-- level security is not forced, so the owner sees every row) with a fixed search_path; the API
-- calls it now and then, so the table stays as small as a day of writes.
CREATE FUNCTION public.prune_idempotency_keys(max_rows integer)
RETURNS integer
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
  WITH expired AS (
    SELECT caller_id, scope, idempotency_key FROM public.idempotency_keys
    WHERE expires_at < now()
    ORDER BY expires_at
    LIMIT least(greatest(max_rows, 0), 10000)
    FOR UPDATE SKIP LOCKED
  ), deleted AS (
    DELETE FROM public.idempotency_keys k USING expired e
    WHERE k.caller_id = e.caller_id AND k.scope = e.scope AND k.idempotency_key = e.idempotency_key
    RETURNING 1
  )
  SELECT count(*)::integer FROM deleted
$$;

REVOKE ALL ON FUNCTION public.prune_idempotency_keys(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.prune_idempotency_keys(integer) TO app;

-- Down Migration
SET LOCAL ROLE shipshape_owner;

DROP FUNCTION public.prune_idempotency_keys(integer);
-- reason: reverts the migration that created the table; keys are replay records that expire within a day.
-- squawk-ignore ban-drop-table
DROP TABLE public.idempotency_keys;
