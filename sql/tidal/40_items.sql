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

-- The hide calls and tidal.is_hidden take a tenant since 0.4: see 94_tenant_hides.sql.
