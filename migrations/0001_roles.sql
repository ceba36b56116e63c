-- phase: expand
-- Roles and privileges the service needs. Roles are cluster-wide (shared by every database on
-- the instance, and by every test database on a shared server), so they are created only when
-- absent and dropped on the way down only when nothing else on the cluster still depends on
-- them (see the Down Migration). `rds_iam` exists on RDS; on plain PostgreSQL it is created as
-- a NOLOGIN role so that the same migrations run locally and in AWS.

-- Up Migration
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_iam') THEN
    BEGIN
      CREATE ROLE rds_iam NOLOGIN;
      -- Marks the role as ours, so the Down Migration never drops RDS's own rds_iam.
      COMMENT ON ROLE rds_iam IS 'created by shipshape migration 0001_roles';
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; -- created concurrently
    END;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'shipshape_owner') THEN
    BEGIN
      CREATE ROLE shipshape_owner NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app') THEN
    BEGIN
      CREATE ROLE app LOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'restore_verifier') THEN
    BEGIN
      CREATE ROLE restore_verifier LOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
  END IF;
END
$$;

-- Both login roles authenticate with IAM tokens only (through the RDS Proxy); no passwords.
GRANT rds_iam TO app, restore_verifier;
-- The migrating (master) user switches to the owner with SET ROLE, so it must be a member.
GRANT shipshape_owner TO CURRENT_USER;

DO $$
BEGIN
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO app, restore_verifier', current_database());
END
$$;

GRANT USAGE, CREATE ON SCHEMA public TO shipshape_owner;
GRANT USAGE ON SCHEMA public TO app, restore_verifier;

-- restore_verifier reads every table shipshape_owner creates from now on (and the history).
ALTER DEFAULT PRIVILEGES FOR ROLE shipshape_owner IN SCHEMA public GRANT SELECT ON TABLES TO restore_verifier;
GRANT SELECT ON public.shipshape_migrations TO restore_verifier;

-- Down Migration
-- Undo this database's grants first; they are what ties the roles to this database.
REVOKE SELECT ON public.shipshape_migrations FROM restore_verifier;
ALTER DEFAULT PRIVILEGES FOR ROLE shipshape_owner IN SCHEMA public REVOKE SELECT ON TABLES FROM restore_verifier;
REVOKE USAGE ON SCHEMA public FROM app, restore_verifier;
REVOKE USAGE, CREATE ON SCHEMA public FROM shipshape_owner;

DO $$
BEGIN
  EXECUTE format('REVOKE CONNECT ON DATABASE %I FROM app, restore_verifier', current_database());
END
$$;

-- A role is dropped only when no object, grant or default privilege in ANY database of the
-- cluster still refers to it (pg_shdepend is cluster-wide). Another database on the same
-- instance (a second service, a restored copy, a parallel test database) may use the same
-- roles; dropping them would break it, and DROP ROLE would fail anyway. Memberships
-- (pg_auth_members) are not dependencies: DROP ROLE removes them with the role.
DO $$
DECLARE
  role_name text;
BEGIN
  FOREACH role_name IN ARRAY ARRAY['app', 'restore_verifier', 'shipshape_owner'] LOOP
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = role_name)
       AND NOT EXISTS (
         SELECT FROM pg_shdepend d
         WHERE d.refclassid = 'pg_authid'::regclass
           AND d.refobjid = (SELECT oid FROM pg_roles WHERE rolname = role_name)
       ) THEN
      EXECUTE format('DROP ROLE %I', role_name);
    END IF;
  END LOOP;
  -- rds_iam only when this migration created it (never RDS's own) and no role is a member.
  IF EXISTS (
       SELECT FROM pg_roles r
       WHERE r.rolname = 'rds_iam'
         AND shobj_description(r.oid, 'pg_authid') = 'created by shipshape migration 0001_roles'
     )
     AND NOT EXISTS (
       SELECT FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid WHERE r.rolname = 'rds_iam'
     )
     AND NOT EXISTS (
       SELECT FROM pg_shdepend d
       WHERE d.refclassid = 'pg_authid'::regclass
         AND d.refobjid = (SELECT oid FROM pg_roles WHERE rolname = 'rds_iam')
     ) THEN
    DROP ROLE rds_iam;
  END IF;
END
$$;
