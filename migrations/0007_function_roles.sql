-- phase: expand
-- One database role per function (issue 19, item 5): until now the API, the jobs worker, the
-- outbox relay and the heartbeat writer all signed in as `app`, so the API could read every
-- tenant's outbox payloads, delete processed_jobs and mark outbox rows published. Each function
-- now has a login role with only what its own SQL needs. This migration is the platform's part
-- (`shipshape init` copies it into an adopted service, with 0001, 0002, 0004 and 0006):
--
--   shipshape_api           outbox (insert; the generated id back, no payloads); its grants on
--                           the application's own tables come from the application's migrations
--                           (here 0008_api_role_grants.sql; in an adopted service its baseline)
--   shipshape_jobs_worker   processed_jobs (insert; the job id back)
--   shipshape_outbox_relay  outbox (read, stamp, park, prune), processed_jobs (prune)
--   shipshape_heartbeat     heartbeat (insert; id and time back)
--   restore_verifier        unchanged (0001: reads everything, writes nothing)
--
-- A table added by a later migration grants to the role of the function that uses it, in that
-- migration.
--
-- Deploy order (expand now, contract later; docs/migrations.md "One role per function"):
-- `app` keeps every grant and stays in the row-level-security policies, because during this
-- release the previous version of each function (a canary's old version, a rollback) still
-- signs in as `app`; the constructs keep `rds-db:connect` for `app` as well for the same reason.
-- A later contract migration revokes `app`'s grants once a release using these roles has been
-- live; the release after it drops `app` from the IAM policies.
--
-- Roles are cluster-wide: created only when absent, dropped on the way down only when nothing
-- on the cluster still refers to them (as 0001 does).

-- Up Migration
DO $$
DECLARE
  role_name text;
BEGIN
  FOREACH role_name IN ARRAY ARRAY['shipshape_api', 'shipshape_jobs_worker', 'shipshape_outbox_relay',
                                   'shipshape_heartbeat'] LOOP
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = role_name) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I LOGIN', role_name);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; -- created concurrently
      END;
    END IF;
  END LOOP;
END
$$;

-- IAM tokens only (through the RDS Proxy); no passwords.
GRANT rds_iam TO shipshape_api, shipshape_jobs_worker, shipshape_outbox_relay, shipshape_heartbeat;

DO $$
BEGIN
  EXECUTE format(
    'GRANT CONNECT ON DATABASE %I TO shipshape_api, shipshape_jobs_worker, shipshape_outbox_relay, shipshape_heartbeat',
    current_database());
END
$$;
GRANT USAGE ON SCHEMA public TO shipshape_api, shipshape_jobs_worker, shipshape_outbox_relay, shipshape_heartbeat;

SET LOCAL ROLE shipshape_owner;

-- The API: new outbox rows it cannot read back. `INSERT ... RETURNING id` needs SELECT on the
-- returned column, so exactly that one.
GRANT INSERT ON public.outbox TO shipshape_api;
GRANT SELECT (id) ON public.outbox TO shipshape_api;

-- The worker: records a job as processed (`ON CONFLICT DO NOTHING RETURNING job_id`).
GRANT INSERT ON public.processed_jobs TO shipshape_jobs_worker;
GRANT SELECT (job_id) ON public.processed_jobs TO shipshape_jobs_worker;

-- The relay: claims (`FOR UPDATE` needs an UPDATE grant), stamps, parks and prunes outbox rows,
-- and prunes processed-job entries by age.
GRANT SELECT, DELETE ON public.outbox TO shipshape_outbox_relay;
GRANT UPDATE (published_at, attempts, last_error, refusals, parked_at) ON public.outbox TO shipshape_outbox_relay;
GRANT SELECT (job_id, processed_at), DELETE ON public.processed_jobs TO shipshape_outbox_relay;

-- The heartbeat writer: one row a minute, its id and time back for the log line.
GRANT INSERT ON public.heartbeat TO shipshape_heartbeat;
GRANT SELECT (id, recorded_at) ON public.heartbeat TO shipshape_heartbeat;


-- Down Migration
SET LOCAL ROLE shipshape_owner;

REVOKE ALL ON public.heartbeat FROM shipshape_heartbeat;
REVOKE ALL ON public.processed_jobs FROM shipshape_jobs_worker, shipshape_outbox_relay;
REVOKE ALL ON public.outbox FROM shipshape_api, shipshape_outbox_relay;
-- Column grants are not covered by REVOKE ALL on the table.
REVOKE SELECT (id) ON public.outbox FROM shipshape_api;
REVOKE UPDATE (published_at, attempts, last_error, refusals, parked_at) ON public.outbox FROM shipshape_outbox_relay;
REVOKE SELECT (job_id) ON public.processed_jobs FROM shipshape_jobs_worker;
REVOKE SELECT (job_id, processed_at) ON public.processed_jobs FROM shipshape_outbox_relay;
REVOKE SELECT (id, recorded_at) ON public.heartbeat FROM shipshape_heartbeat;

RESET ROLE;

REVOKE USAGE ON SCHEMA public FROM shipshape_api, shipshape_jobs_worker, shipshape_outbox_relay, shipshape_heartbeat;
DO $$
BEGIN
  EXECUTE format(
    'REVOKE CONNECT ON DATABASE %I FROM shipshape_api, shipshape_jobs_worker, shipshape_outbox_relay, shipshape_heartbeat',
    current_database());
END
$$;

-- Dropped only when no object, grant or default privilege in ANY database of the cluster still
-- refers to the role (see 0001_roles for why).
DO $$
DECLARE
  role_name text;
BEGIN
  FOREACH role_name IN ARRAY ARRAY['shipshape_api', 'shipshape_jobs_worker', 'shipshape_outbox_relay',
                                   'shipshape_heartbeat'] LOOP
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = role_name)
       AND NOT EXISTS (
         SELECT FROM pg_shdepend d
         WHERE d.refclassid = 'pg_authid'::regclass
           AND d.refobjid = (SELECT oid FROM pg_roles WHERE rolname = role_name)
       ) THEN
      EXECUTE format('DROP ROLE %I', role_name);
    END IF;
  END LOOP;
END
$$;
