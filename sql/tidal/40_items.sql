-- ---------------------------------------------------------------------------
-- Items and hard negatives (since 0.2).
-- Written through tidal's log; the tables hold the merged state.
-- ---------------------------------------------------------------------------

-- One row per item: a last-writer-wins register over the whole item.
CREATE TABLE tidal.item_data (
    tenant     bigint NOT NULL DEFAULT 0,
    item       bigint NOT NULL,
    creator    bigint,
    metadata   jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL,
    updated_at tidal.hlc NOT NULL,
    PRIMARY KEY (tenant, item)
);

-- Per (user, target): the latest hide and the latest unhide seen.  The target
-- is hidden while no unhide is strictly later than the latest hide.
CREATE TABLE tidal.hides (
    tenant      bigint NOT NULL DEFAULT 0,
    user_id     bigint NOT NULL,
    target_kind "char" NOT NULL CHECK (target_kind IN ('i', 'c')),  -- item, creator
    target      bigint NOT NULL,
    hidden_at   tidal.hlc,
    unhidden_at tidal.hlc,
    PRIMARY KEY (tenant, user_id, target_kind, target)
);

REVOKE ALL ON tidal.item_data, tidal.hides FROM PUBLIC;

CREATE VIEW tidal.items AS
    SELECT item AS item_id, creator, metadata, created_at,
           tidal.hlc_to_timestamptz(updated_at) AS updated_at
      FROM tidal.item_data
     WHERE tenant = 0;
COMMENT ON VIEW tidal.items IS 'items known to tidal: creator, metadata, creation time';

CREATE VIEW tidal.hidden AS
    SELECT user_id,
           CASE target_kind WHEN 'i' THEN 'item' ELSE 'creator' END AS target_kind,
           target AS target_id,
           tidal.hlc_to_timestamptz(hidden_at) AS hidden_at
      FROM tidal.hides
     WHERE tenant = 0
       AND hidden_at IS NOT NULL
       AND (unhidden_at IS NULL OR unhidden_at OPERATOR(tidal.<=) hidden_at);
COMMENT ON VIEW tidal.hidden IS 'items users hid and creators they blocked, as of now';

GRANT SELECT ON tidal.items, tidal.hidden TO PUBLIC;

-- tidal.upsert_item takes a tenant since 0.3: see 92_tenants.sql.

CREATE FUNCTION tidal.hide_item(user_id bigint, item_id bigint, at tidal.hlc DEFAULT NULL)
    RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_hide_item'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.hide_item(bigint, bigint, tidal.hlc) IS
    'the user never sees the item in tidal.retrieve again, unless a later unhide_item';

CREATE FUNCTION tidal.unhide_item(user_id bigint, item_id bigint, at tidal.hlc DEFAULT NULL)
    RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_unhide_item'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.unhide_item(bigint, bigint, tidal.hlc) IS
    'undo every hide of the item by the user with an earlier HLC';

CREATE FUNCTION tidal.block_creator(user_id bigint, creator_id bigint, at tidal.hlc DEFAULT NULL)
    RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_block_creator'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.block_creator(bigint, bigint, tidal.hlc) IS
    'the user never sees items of the creator in tidal.retrieve, unless a later unblock_creator';

CREATE FUNCTION tidal.unblock_creator(user_id bigint, creator_id bigint, at tidal.hlc DEFAULT NULL)
    RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_unblock_creator'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.unblock_creator(bigint, bigint, tidal.hlc) IS
    'undo every block of the creator by the user with an earlier HLC';

CREATE FUNCTION tidal.is_hidden(user_id bigint, item_id bigint)
    RETURNS boolean
    AS 'MODULE_PATHNAME', 'tidal_is_hidden'
    LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION tidal.is_hidden(bigint, bigint) IS
    'whether tidal.retrieve drops the item for the user (hidden, or its creator blocked)';
