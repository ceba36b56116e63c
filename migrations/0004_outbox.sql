-- phase: expand
-- Up Migration
-- Transactional outbox (written by the service in the same transaction as the change it
-- announces, drained by the outbox relay) and the idempotent consumer's ledger of processed
-- jobs. Both are new tables, so this migration is purely additive: the previous release never
-- reads or writes them, which makes it safe to run before a canary and to leave in place on a
-- code rollback. They ship together because they are two halves of one delivery guarantee
-- (the relay may re-send, processed_jobs makes a re-send harmless); neither is useful alone.
-- Every statement is idempotent (IF NOT EXISTS), so a half-applied run can simply be re-run.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE TABLE IF NOT EXISTS outbox (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_type text NOT NULL CHECK (job_type ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
  payload jsonb NOT NULL CHECK (jsonb_typeof(payload) = 'object'),
  created_at timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz NULL,
  -- squawk-ignore prefer-bigint-over-int -- a send-attempt counter, capped far below 2^31
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_error text NULL CHECK (char_length(last_error) <= 1000)
);

COMMENT ON TABLE outbox IS
  'Jobs committed with the change that caused them; the outbox relay sends unpublished rows to SQS and stamps published_at in the same transaction.';

-- The relay's only query path: the oldest unpublished rows. Partial, so it stays as small as
-- the backlog however many published rows the table keeps.
CREATE INDEX IF NOT EXISTS outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;
-- Housekeeping deletes published rows by age.
CREATE INDEX IF NOT EXISTS outbox_published_at_idx ON outbox (published_at) WHERE published_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS processed_jobs (
  job_id text PRIMARY KEY CHECK (char_length(job_id) BETWEEN 1 AND 200),
  job_type text NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE processed_jobs IS
  'Idempotent consumer ledger: a job id is inserted in the same transaction as its effect, so a redelivered job is acted on once.';

CREATE INDEX IF NOT EXISTS processed_jobs_processed_at_idx ON processed_jobs (processed_at);

-- No row-level security on these two: they are system tables that the relay and the worker
-- read across every caller, and the payload carries ids only (never note content). The service
-- reaches them only through enqueueInTransaction().
-- app: the service INSERTs jobs; the relay (also app) claims, stamps and prunes them.
GRANT SELECT, INSERT, DELETE ON outbox TO app;
GRANT UPDATE (published_at, attempts, last_error) ON outbox TO app;
-- app: the worker records processed jobs; the relay prunes entries past every redelivery window.
GRANT SELECT, INSERT, DELETE ON processed_jobs TO app;
-- restore_verifier reads every table in public.
GRANT SELECT ON outbox, processed_jobs TO restore_verifier;

-- Down Migration
-- Only for an explicit, gated schema rollback: the jobs in the outbox are lost with it.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';
-- squawk-ignore ban-drop-table -- the down of this migration's own new tables
DROP TABLE IF EXISTS processed_jobs;
-- squawk-ignore ban-drop-table
DROP TABLE IF EXISTS outbox;
