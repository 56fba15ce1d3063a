-- tidal 0.3 -> 0.4: the hide calls and tidal.is_hidden take a tenant.
-- This upgrade script is assembled from this header and the sql/tidal/ parts
-- new in 0.4 (see UPGRADE_0_4 in the Makefile), so that an upgraded database
-- and a fresh install run the same statements.

\echo Use "ALTER EXTENSION tidal UPDATE TO '0.4'" to load this file. \quit

-- the calls that take a tenant since 0.4, in their 0.3 form
DROP FUNCTION tidal.hide_item(bigint, bigint, tidal.hlc);
DROP FUNCTION tidal.unhide_item(bigint, bigint, tidal.hlc);
DROP FUNCTION tidal.block_creator(bigint, bigint, tidal.hlc);
DROP FUNCTION tidal.unblock_creator(bigint, bigint, tidal.hlc);
DROP FUNCTION tidal.is_hidden(bigint, bigint);

-- Hard negatives per tenant (0.4): the hide calls and tidal.is_hidden take
-- the tenant whose item (or creator) it is, like the other tenant-scoped
-- calls.  A user's hides in one tenant never hide another tenant's items.

CREATE FUNCTION tidal.hide_item(user_id bigint, item_id bigint, at tidal.hlc DEFAULT NULL,
                                tenant bigint DEFAULT 0)
    RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_hide_item'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.hide_item(bigint, bigint, tidal.hlc, bigint) IS
    'the user never sees the item in tidal.retrieve again, unless a later unhide_item';

CREATE FUNCTION tidal.unhide_item(user_id bigint, item_id bigint, at tidal.hlc DEFAULT NULL,
                                  tenant bigint DEFAULT 0)
    RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_unhide_item'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.unhide_item(bigint, bigint, tidal.hlc, bigint) IS
    'undo every hide of the item by the user with an earlier HLC';

CREATE FUNCTION tidal.block_creator(user_id bigint, creator_id bigint, at tidal.hlc DEFAULT NULL,
                                    tenant bigint DEFAULT 0)
    RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_block_creator'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.block_creator(bigint, bigint, tidal.hlc, bigint) IS
    'the user never sees items of the creator in tidal.retrieve, unless a later unblock_creator';

CREATE FUNCTION tidal.unblock_creator(user_id bigint, creator_id bigint, at tidal.hlc DEFAULT NULL,
                                      tenant bigint DEFAULT 0)
    RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_unblock_creator'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.unblock_creator(bigint, bigint, tidal.hlc, bigint) IS
    'undo every block of the creator by the user with an earlier HLC';

CREATE FUNCTION tidal.is_hidden(user_id bigint, item_id bigint, tenant bigint DEFAULT 0)
    RETURNS boolean
    AS 'MODULE_PATHNAME', 'tidal_is_hidden'
    LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION tidal.is_hidden(bigint, bigint, bigint) IS
    'whether tidal.retrieve drops the item for the user (hidden, or its creator blocked)';
