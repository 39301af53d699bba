-- Roles, schemas and extensions of the platform's database (dev only: password = role name).
--
-- The postgres image runs this once, as the superuser, connected to POSTGRES_DB
-- (gpuplatform), when its data volume is empty. It is idempotent, so it can also be
-- re-run by hand:
--   docker compose exec -T postgres psql -U postgres -d gpuplatform < deploy/docker/postgres-init/01-roles-and-schemas.sql
--
-- Each service owns the schema named after it and logs in with its own role; the
-- migrations create their schema if missing, which needs CREATE on the database.
\set ON_ERROR_STOP on

DO $$
DECLARE
    svc text;
BEGIN
    FOREACH svc IN ARRAY ARRAY['intake', 'evaluation', 'allocation', 'telemetry', 'billing', 'dashboard'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = svc) THEN
            EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L', svc, svc);
        END IF;
        EXECUTE format('GRANT CONNECT, CREATE ON DATABASE %I TO %I', current_database(), svc);
        EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', svc, svc);
        EXECUTE format('ALTER SCHEMA %I OWNER TO %I', svc, svc);
    END LOOP;
END
$$;

-- Allocation's exclusion constraints (no overlapping reservations) need GiST on scalar columns.
CREATE EXTENSION IF NOT EXISTS btree_gist;
