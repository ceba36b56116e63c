-- phase: expand
-- The API role's grants on the sample application's own tables (0003 accounts and notes, 0005
-- idempotency keys), split from the platform's 0007 so that an adopted service gets the roles
-- from 0007 and grants its own tables to shipshape_api in its baseline. The same grants `app`
-- has, under the same row-level-security policies, which now cover both roles: during this
-- release the previous version of the API (a canary's old version, a rollback) still signs in as
-- `app` (docs/migrations.md "One role per function").

-- Up Migration
SET LOCAL ROLE shipshape_owner;

-- One caller's rows only (the policies below). `ON CONFLICT (id)` needs SELECT on the conflict
-- target; the policy limits it to the caller's row.
GRANT SELECT, INSERT ON public.accounts TO shipshape_api;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.notes TO shipshape_api;
-- Idempotency keys: claim, store and replay its own callers' keys; no DELETE (expired keys go
-- through the owner's prune function).
GRANT SELECT, INSERT ON public.idempotency_keys TO shipshape_api;
GRANT UPDATE (request_hash, status_code, response_body, created_at, expires_at) ON public.idempotency_keys TO shipshape_api;
GRANT EXECUTE ON FUNCTION public.prune_idempotency_keys(integer) TO shipshape_api;
ALTER POLICY accounts_caller ON public.accounts TO app, shipshape_api;
ALTER POLICY notes_caller ON public.notes TO app, shipshape_api;
ALTER POLICY idempotency_keys_caller ON public.idempotency_keys TO app, shipshape_api;

-- Down Migration
SET LOCAL ROLE shipshape_owner;

ALTER POLICY idempotency_keys_caller ON public.idempotency_keys TO app;
ALTER POLICY notes_caller ON public.notes TO app;
ALTER POLICY accounts_caller ON public.accounts TO app;
REVOKE EXECUTE ON FUNCTION public.prune_idempotency_keys(integer) FROM shipshape_api;
REVOKE ALL ON public.idempotency_keys FROM shipshape_api;
-- Column grants are not covered by REVOKE ALL on the table.
REVOKE UPDATE (request_hash, status_code, response_body, created_at, expires_at) ON public.idempotency_keys FROM shipshape_api;
REVOKE ALL ON public.notes FROM shipshape_api;
REVOKE ALL ON public.accounts FROM shipshape_api;
