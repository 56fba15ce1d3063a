-- ---------------------------------------------------------------------------
-- Internal: forget any hot state left by an earlier copy of the extension
-- in this database, so that it is rebuilt from the (new, empty) log.
-- ---------------------------------------------------------------------------
CREATE FUNCTION tidal._reset_state() RETURNS void
    AS 'MODULE_PATHNAME', 'tidal_reset_state_sql'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION tidal._reset_state() FROM PUBLIC;
SELECT tidal._reset_state();
