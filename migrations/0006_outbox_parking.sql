-- phase: expand
-- Parking for outbox rows SQS keeps refusing (issue 19, item 3). Before this, one refused row
-- stopped every relay run and was retried forever, so the rest of the outbox drained a batch a
-- minute. Now the relay counts per-row refusals in `refusals` (a failed SendMessageBatch call as
-- a whole, an outage, is not a refusal of any one row) and, after N of them, stamps
-- `parked_at`: the row leaves the relay's claim query, an alarm fires on the parked count, and
-- an operator releases it (runbooks/outbox-parked.md). Both columns are new and the previous
-- relay never reads them, so this migration is purely additive.

-- Up Migration
SET LOCAL ROLE shipshape_owner;

-- A constant default is a catalogue-only change since PostgreSQL 11 (no table rewrite).
-- reason: counts refusals of one row; the relay parks it after a handful (contract says int, like attempts).
-- squawk-ignore prefer-bigint-over-int
ALTER TABLE public.outbox ADD COLUMN refusals int NOT NULL DEFAULT 0;
ALTER TABLE public.outbox ADD COLUMN parked_at timestamptz NULL;

-- Down Migration
SET LOCAL ROLE shipshape_owner;

-- reason: reverts this migration; down is the explicit, gated schema rollback (parked rows go back to the queue of retries).
-- squawk-ignore ban-drop-column
ALTER TABLE public.outbox DROP COLUMN parked_at;
-- reason: reverts this migration; down is the explicit, gated schema rollback.
-- squawk-ignore ban-drop-column
ALTER TABLE public.outbox DROP COLUMN refusals;
