-- phase: expand
-- A row written every minute by the heartbeat writer (as `app`). Restore verification reads the
-- newest row of a restored copy to measure the real recovery point.

-- Up Migration
SET LOCAL ROLE shipshape_owner;

CREATE TABLE public.heartbeat (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  source text NOT NULL
);

GRANT SELECT, INSERT ON public.heartbeat TO app;

-- Down Migration
SET LOCAL ROLE shipshape_owner;

-- reason: reverts the migration that created the table; down is the explicit, gated schema rollback.
-- squawk-ignore ban-drop-table
DROP TABLE public.heartbeat;
