-- 0.8: a signal has a polarity (Forage, issue 16): 1 for a positive
-- reaction (save, share), -1 for a negative one (skip), 0 for neither
-- (view, the default, and every signal defined before). Interest vectors
-- add an item's embedding with its signal's sign. The definition record
-- carries it (flag 0x01 of kind 2) when it is not 0.
ALTER TABLE tidal.signal_defs
    ADD COLUMN polarity smallint NOT NULL DEFAULT 0 CHECK (polarity BETWEEN -1 AND 1);

CREATE OR REPLACE VIEW tidal.signals AS
    SELECT name, half_life, windows, entity_kind,
           tidal.hlc_to_timestamptz(defined_at) AS defined_at,
           polarity
      FROM tidal.signal_defs;

DROP FUNCTION tidal.define_signal(text, interval, interval[], text);
CREATE FUNCTION tidal.define_signal(name text, half_life interval,
                                    windows interval[] DEFAULT '{}',
                                    entity_kind text DEFAULT 'item',
                                    polarity int DEFAULT 0)
    RETURNS void
    AS 'MODULE_PATHNAME', 'tidal_define_signal'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.define_signal(text, interval, interval[], text, int) IS
    'define a signal type: its half-life, its windows, what it is about, and whether it is a positive (1) or negative (-1) reaction';
-- global configuration: the owner's, grantable (as since 0.5)
REVOKE ALL ON FUNCTION tidal.define_signal(text, interval, interval[], text, int) FROM PUBLIC;
