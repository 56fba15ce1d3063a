-- The owner switch: tidal runs its own statements as the extension's owner,
-- with the search path pinned to pg_catalog alone and as a security-restricted
-- operation.  The two escalations of issue 11 are played here literally by an
-- ordinary role; afterwards the role must still not be a superuser.
SET timezone = 'UTC';
\set VERBOSITY terse

-- every SECURITY DEFINER function of tidal pins its search path
SELECT p.oid::regprocedure AS security_definer_without_pinned_path
  FROM pg_proc p
 WHERE p.pronamespace = 'tidal'::regnamespace AND p.prosecdef
   AND NOT coalesce(p.proconfig @> '{"search_path=pg_catalog, pg_temp"}', false);
SELECT count(*) > 0 AS has_security_definer_functions
  FROM pg_proc WHERE pronamespace = 'tidal'::regnamespace AND prosecdef;

CREATE ROLE tidal_os_attacker LOGIN;
CREATE SCHEMA tidal_os_evil AUTHORIZATION tidal_os_attacker;
SELECT tidal.upsert_item(4240, 1, '{"suite": "owner_switch"}', '2026-01-01') IS NOT NULL AS item_ok;

SET SESSION AUTHORIZATION tidal_os_attacker;
SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user;

-- 1. a domain in pg_temp named like the type tidal's own SQL casts to
CREATE FUNCTION pg_temp.pwn(j pg_catalog.jsonb) RETURNS bool LANGUAGE plpgsql AS
$$BEGIN IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
   THEN EXECUTE 'ALTER ROLE tidal_os_attacker SUPERUSER'; END IF; RETURN true; END$$;
CREATE DOMAIN pg_temp.jsonb AS pg_catalog.jsonb CHECK (pg_temp.pwn(VALUE));
SELECT tidal.upsert_item(4242, 1, '{"a":1}') IS NOT NULL AS upserted;
SELECT rolsuper FROM pg_roles WHERE rolname = 'tidal_os_attacker';
RESET SESSION AUTHORIZATION;
ALTER ROLE tidal_os_attacker NOSUPERUSER;   -- each escalation on its own
SET SESSION AUTHORIZATION tidal_os_attacker;
SELECT (tidal.reconcile())->>'converged' AS converged;
SELECT rolsuper FROM pg_roles WHERE rolname = 'tidal_os_attacker';
RESET SESSION AUTHORIZATION;
ALTER ROLE tidal_os_attacker NOSUPERUSER;   -- each escalation on its own
SET SESSION AUTHORIZATION tidal_os_attacker;

-- 2. an operator in a schema the role owns, first on its search_path
CREATE FUNCTION tidal_os_evil.eq(a bigint, b bigint) RETURNS bool LANGUAGE plpgsql AS
$$BEGIN IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
   THEN EXECUTE 'ALTER ROLE tidal_os_attacker SUPERUSER'; END IF;
   RETURN a OPERATOR(pg_catalog.=) b; END$$;
CREATE OPERATOR tidal_os_evil.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = tidal_os_evil.eq);
SET search_path = tidal_os_evil, pg_catalog, public;
SELECT count(*) > 0 AS ranked FROM tidal.retrieve(tenant => 0, at => '2026-01-02');
SELECT count(*) > 0 AS ranked FROM tidal.retrieve(candidates => '{4240}', tenant => 0, at => '2026-01-02');
SELECT tidal.is_hidden(1, 4240, tenant => 0) AS hidden;
SELECT rolsuper FROM pg_roles WHERE rolname = 'tidal_os_attacker';
RESET SESSION AUTHORIZATION;
ALTER ROLE tidal_os_attacker NOSUPERUSER;   -- each escalation on its own
SET SESSION AUTHORIZATION tidal_os_attacker;

-- the caller's settings are back after every call, also after an error
-- raised inside the owner's part and caught by an EXCEPTION block
RESET search_path;
SHOW search_path;
SELECT current_user, session_user;
BEGIN;
SET TRANSACTION READ ONLY;
DO $$
BEGIN
    PERFORM tidal.upsert_item(4243, 1, '{"a":2}');
    RAISE EXCEPTION 'not reached';
EXCEPTION WHEN read_only_sql_transaction THEN
    RAISE NOTICE 'caught: %', SQLERRM;
END $$;
SHOW search_path;
SELECT current_user, session_user;
DECLARE tidal_os_held CURSOR WITH HOLD FOR SELECT 1;   -- refused in a security-restricted operation
CLOSE tidal_os_held;
ROLLBACK;
SELECT tidal.upsert_item(4243, 1, '{"a":2}') IS NOT NULL AS upserted_after_error;
SELECT rolsuper FROM pg_roles WHERE rolname = 'tidal_os_attacker';

DROP DOMAIN pg_temp.jsonb;
DROP FUNCTION pg_temp.pwn(pg_catalog.jsonb);
RESET SESSION AUTHORIZATION;
SELECT rolsuper FROM pg_roles WHERE rolname = 'tidal_os_attacker';
DROP SCHEMA tidal_os_evil CASCADE;
DROP ROLE tidal_os_attacker;
