-- phase: expand
-- Transactional outbox (written by the service in the same transaction as the change it
-- announces, drained by the outbox relay) and the idempotent consumer's ledger of processed
-- jobs. Both are new tables, so this migration is purely additive: the previous release never
-- reads or writes them, which makes it safe to run before a canary and to keep on a code
-- rollback. They ship in one migration because they are two halves of one delivery guarantee
-- (the relay may re-send after a crash; processed_jobs makes a re-send harmless), and neither
-- is useful without the other.
--
-- No row-level security on these two: they are system tables that the relay and the worker
-- read across every caller, and a payload carries ids only, never note content. The service
-- reaches them only through enqueueInTransaction() (lambda/shared/outbox.ts).

-- Up Migration
SET LOCAL ROLE shipshape_owner;

CREATE TABLE public.outbox (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_type text NOT NULL,
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz NULL,
  -- reason: counts send attempts of one row; the relay stops long before 2^31 (contract says int).
  -- squawk-ignore prefer-bigint-over-int
  attempts int NOT NULL DEFAULT 0,
  last_error text NULL,
  CONSTRAINT outbox_job_type_format CHECK (job_type ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
  CONSTRAINT outbox_payload_object CHECK (jsonb_typeof(payload) = 'object'),
  CONSTRAINT outbox_attempts_not_negative CHECK (attempts >= 0),
  CONSTRAINT outbox_last_error_length CHECK (char_length(last_error) <= 1000)
);

-- The relay's query path: the oldest unpublished rows. Partial, so it stays as small as the
-- backlog however many published rows the table keeps.
CREATE INDEX outbox_unpublished_idx ON public.outbox (id) WHERE published_at IS NULL;
-- Housekeeping deletes published rows by age.
CREATE INDEX outbox_published_at_idx ON public.outbox (published_at) WHERE published_at IS NOT NULL;

CREATE TABLE public.processed_jobs (
  job_id text PRIMARY KEY,
  job_type text NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT processed_jobs_job_id_length CHECK (char_length(job_id) BETWEEN 1 AND 200)
);

-- Housekeeping deletes entries past every redelivery window by age.
CREATE INDEX processed_jobs_processed_at_idx ON public.processed_jobs (processed_at);

-- app as the service: INSERT jobs. app as the relay: claim, stamp and prune them.
GRANT SELECT, INSERT, DELETE ON public.outbox TO app;
GRANT UPDATE (published_at, attempts, last_error) ON public.outbox TO app;
-- app as the worker: record processed jobs. app as the relay: prune old entries.
GRANT SELECT, INSERT, DELETE ON public.processed_jobs TO app;
-- restore_verifier reads every table (also granted by the owner's default privileges).
GRANT SELECT ON public.outbox, public.processed_jobs TO restore_verifier;

-- Down Migration
SET LOCAL ROLE shipshape_owner;

-- reason: reverts the migration that created the table; down is the explicit, gated schema rollback.
-- squawk-ignore ban-drop-table
DROP TABLE public.processed_jobs;
-- reason: reverts the migration that created the table; unpublished jobs are lost with it.
-- squawk-ignore ban-drop-table
DROP TABLE public.outbox;
