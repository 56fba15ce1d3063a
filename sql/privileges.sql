-- Privileges a DBA expects: global configuration is the extension owner's
-- unless granted, and tenants other than the default tenant 0 are reached
-- only by roles granted them with tidal.grant_tenant.
SET timezone = 'UTC';
\set VERBOSITY terse

CREATE ROLE tidal_priv_user LOGIN;
CREATE ROLE tidal_priv_group NOLOGIN;
CREATE ROLE tidal_priv_member LOGIN IN ROLE tidal_priv_group;
SELECT tidal.register_tenant(7, 'seven') IS NOT NULL AS registered;
SELECT tidal.define_signal('priv_view', '1 day', ARRAY['1 day']::interval[]);

-- an ordinary role cannot change what everyone shares
SET ROLE tidal_priv_user;
SELECT tidal.define_signal('priv_mine', '1 day');
SELECT tidal.define_profile('popular', '{"terms": [{"signal": "priv_view"}]}');
SELECT tidal.define_profile('priv_profile', '{"terms": [{"signal": "priv_view"}]}');
SELECT tidal.add_peer(9, 'host=nowhere');
SELECT tidal.drop_peer(9);
SELECT tidal.set_shard_map('single');
SELECT tidal.register_tenant(8, 'eight');
SELECT tidal.begin_tenant_migration(7, 1);
SELECT tidal.grant_tenant('tidal_priv_user', 7);
SELECT tidal.revoke_tenant('tidal_priv_user', 7);
SELECT count(*) AS readable_grants FROM tidal.tenant_grants;
RESET ROLE;
SELECT spec FROM tidal.profiles WHERE name = 'popular';
SELECT count(*) AS defined_by_ordinary_role FROM tidal.signals WHERE name = 'priv_mine';

-- ... until the owner grants it
GRANT EXECUTE ON FUNCTION tidal.define_signal(text, interval, interval[], text, int),
                          tidal.define_profile(text, jsonb) TO tidal_priv_user;
SET ROLE tidal_priv_user;
SELECT tidal.define_signal('priv_mine', '1 day');
SELECT tidal.define_profile('priv_profile', '{"terms": [{"signal": "priv_mine"}]}') IS NOT NULL AS defined;
RESET ROLE;
REVOKE EXECUTE ON FUNCTION tidal.define_signal(text, interval, interval[], text, int),
                           tidal.define_profile(text, jsonb) FROM tidal_priv_user;

-- the default tenant 0 is open to every role
SET ROLE tidal_priv_user;
SELECT tidal.signal('priv_view', 1, 2, '2026-01-01') IS NOT NULL AS written;
SELECT tidal.decay_score(1, 'priv_view', '2026-01-01') AS score;
RESET ROLE;

-- tenant 7: nothing without a grant, reads and writes alike
SELECT tidal.signal('priv_view', 1, 3, '2026-01-01', tenant => 7) IS NOT NULL AS written_by_owner;
SELECT tidal.upsert_item(71, 5, '{}', '2026-01-01', tenant => 7) IS NOT NULL AS item_by_owner;
SET ROLE tidal_priv_user;
SELECT tidal.signal('priv_view', 1, tenant => 7);
SELECT tidal.signal_batch('priv_view', '{1,2}', tenant => 7);
SELECT tidal.decay_score(1, 'priv_view', '2026-01-01', tenant => 7);
SELECT tidal.window_count(1, 'priv_view', '1 day', tenant => 7);
SELECT tidal.upsert_item(72, tenant => 7);
SELECT * FROM tidal.retrieve(tenant => 7);
SELECT tidal.hide_item(1, 71, tenant => 7);
SELECT tidal.unhide_item(1, 71, tenant => 7);
SELECT tidal.block_creator(1, 5, tenant => 7);
SELECT tidal.unblock_creator(1, 5, tenant => 7);
SELECT tidal.is_hidden(1, 71, tenant => 7);
SELECT tidal.signal('priv_view', 1, tenant => 12345);   -- whether a tenant exists is no-one's business
\set VERBOSITY default
SELECT tidal.decay_score(1, 'priv_view', '2026-01-01', tenant => 7);
\set VERBOSITY terse
RESET ROLE;

-- a grant opens the tenant to the role
SELECT tidal.grant_tenant('tidal_priv_user', 7);
SELECT tidal.grant_tenant('tidal_priv_user', 7);   -- again: nothing changes
SELECT role, tenant FROM tidal.tenant_grants ORDER BY role::text, tenant;
SET ROLE tidal_priv_user;
SELECT tidal.signal('priv_view', 1, 1, '2026-01-01', tenant => 7) IS NOT NULL AS written;
SELECT tidal.decay_score(1, 'priv_view', '2026-01-01', tenant => 7) AS score;
SELECT tidal.upsert_item(72, 5, '{}', '2026-01-01', tenant => 7) IS NOT NULL AS item;
SELECT tidal.hide_item(1, 71, tenant => 7) IS NOT NULL AS hidden;
SELECT tidal.is_hidden(1, 71, tenant => 7);
SELECT item_id FROM tidal.retrieve(1, '{71,72}', at => '2026-01-01', tenant => 7) ORDER BY item_id;
SELECT tidal.signal('priv_view', 1, tenant => 8);       -- other tenants stay closed
SELECT tenant, granted_to FROM tidal.tenant_access;     -- what the role may use
RESET ROLE;

-- membership in a granted role counts
SET ROLE tidal_priv_member;
SELECT tidal.decay_score(1, 'priv_view', '2026-01-01', tenant => 7);
RESET ROLE;
SELECT tidal.grant_tenant('tidal_priv_group', 7);
SET ROLE tidal_priv_member;
SELECT tidal.decay_score(1, 'priv_view', '2026-01-01', tenant => 7) AS score;
SELECT tenant, granted_to FROM tidal.tenant_access;
RESET ROLE;

-- a revoke closes it again
SELECT tidal.revoke_tenant('tidal_priv_user', 7);
SELECT tidal.revoke_tenant('tidal_priv_user', 7);   -- nothing left to revoke
SET ROLE tidal_priv_user;
SELECT tidal.decay_score(1, 'priv_view', '2026-01-01', tenant => 7);
RESET ROLE;

-- bad arguments
SELECT tidal.grant_tenant('tidal_priv_user', 0);
SELECT tidal.grant_tenant('tidal_priv_user', -1);
SELECT tidal.grant_tenant(NULL, 7);
SELECT tidal.grant_tenant('tidal_priv_user', 999);

-- delegation: the owner can grant the management functions too
GRANT EXECUTE ON FUNCTION tidal.grant_tenant(regrole, bigint) TO tidal_priv_user;
SET ROLE tidal_priv_user;
SELECT tidal.grant_tenant('tidal_priv_member', 7);
RESET ROLE;
REVOKE EXECUTE ON FUNCTION tidal.grant_tenant(regrole, bigint) FROM tidal_priv_user;

SELECT tidal.revoke_tenant('tidal_priv_group', 7), tidal.revoke_tenant('tidal_priv_member', 7);
SELECT count(*) AS grants_left FROM tidal.tenant_grants;
SET ROLE tidal_priv_member;    -- no grant left at all: refused, read again from an empty table
SELECT tidal.decay_score(1, 'priv_view', '2026-01-01', tenant => 7);
RESET ROLE;
DROP ROLE tidal_priv_member, tidal_priv_group, tidal_priv_user;
