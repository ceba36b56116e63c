-- phase: expand
-- The sample service's data: one account per Cognito user and that user's notes. Row-level
-- security keeps every caller to their own rows: the service runs
-- `SELECT set_config('app.caller_id', <Cognito sub>, true)` at the start of each transaction,
-- and FORCE applies the policies to the table owner too. restore_verifier may read everything.

-- Up Migration
SET LOCAL ROLE shipshape_owner;

CREATE TABLE public.accounts (
  id text PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT accounts_id_not_blank CHECK (length(id) BETWEEN 1 AND 128)
);

CREATE TABLE public.notes (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  owner_id text NOT NULL REFERENCES public.accounts (id),
  title text NOT NULL,
  body text NOT NULL DEFAULT '',
  -- reason: an optimistic-locking counter per note; it never nears 2^31 (the shared contract says int).
  -- squawk-ignore prefer-bigint-over-int
  version int NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT notes_title_length CHECK (char_length(title) BETWEEN 1 AND 200),
  CONSTRAINT notes_body_length CHECK (char_length(body) <= 10000),
  CONSTRAINT notes_version_positive CHECK (version >= 1),
  -- Lets a future table reference a note together with its owner (composite foreign key).
  CONSTRAINT notes_owner_id_id_key UNIQUE (owner_id, id)
);

-- Cursor pagination: WHERE owner_id = $1 AND (created_at, id) < ($2, $3)
-- ORDER BY created_at DESC, id DESC.
CREATE INDEX notes_owner_created_idx ON public.notes (owner_id, created_at DESC, id DESC);

GRANT SELECT, INSERT, UPDATE, DELETE ON public.accounts, public.notes TO app;

ALTER TABLE public.accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.accounts FORCE ROW LEVEL SECURITY;
ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.notes FORCE ROW LEVEL SECURITY;

CREATE POLICY accounts_caller ON public.accounts TO app
  USING (id = current_setting('app.caller_id', true))
  WITH CHECK (id = current_setting('app.caller_id', true));
CREATE POLICY accounts_restore_verifier_read ON public.accounts FOR SELECT TO restore_verifier
  USING (true);

CREATE POLICY notes_caller ON public.notes TO app
  USING (owner_id = current_setting('app.caller_id', true))
  WITH CHECK (owner_id = current_setting('app.caller_id', true));
CREATE POLICY notes_restore_verifier_read ON public.notes FOR SELECT TO restore_verifier
  USING (true);

-- Down Migration
SET LOCAL ROLE shipshape_owner;

-- reason: reverts the migration that created the table; down is the explicit, gated schema rollback.
-- squawk-ignore ban-drop-table
DROP TABLE public.notes;
-- reason: reverts the migration that created the table; notes, its only dependant, is dropped above.
-- squawk-ignore ban-drop-table
DROP TABLE public.accounts;
