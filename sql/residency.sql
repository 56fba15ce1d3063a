-- Residency of raw events (issue 13): the elided record (kind 8) and the
-- owner-only inspection of the log.  A record is read with the codec every
-- replicated record goes through, so these are the bounds a peer's batch is
-- held to.
--
-- header: kind, flags, reserved, body length (LE), hlc (wall, logical,
-- node), tenant; body of kind 8: the elided kind (uint8), its events (uint32)
CREATE FUNCTION pg_temp.rec(kind text, body_len text, tenant text, body text) RETURNS bytea
    LANGUAGE sql AS $$
    SELECT decode(kind || '000000' || body_len || '0100000000000000' || '00000000' || '01000000'
                  || tenant || body, 'hex') $$;

-- an elided signal record of tenant 42 standing for 3 events
SELECT * FROM tidal._log_records(pg_temp.rec('08', '05000000', '2a00000000000000', '01' || '03000000'), false);
-- an elided item and hide: one event each
SELECT * FROM tidal._log_records(pg_temp.rec('08', '05000000', '2a00000000000000', '03' || '01000000'), false);
SELECT * FROM tidal._log_records(pg_temp.rec('08', '05000000', '2a00000000000000', '04' || '01000000'), false);

-- tenant 0's signal events may be elided (they belong to another shard of the region, 0.7 on) ...
SELECT * FROM tidal._log_records(pg_temp.rec('08', '05000000', '0000000000000000', '01' || '03000000'), false);
-- ... but not its items or hides (every shard keeps them); and no negative tenant
SELECT * FROM tidal._log_records(pg_temp.rec('08', '05000000', '0000000000000000', '03' || '01000000'), false);
SELECT * FROM tidal._log_records(pg_temp.rec('08', '05000000', 'ffffffffffffffff', '01' || '03000000'), false);
-- refused: a kind that holds no tenant data (a definition, a registration, an elided record)
SELECT * FROM tidal._log_records(pg_temp.rec('08', '05000000', '2a00000000000000', '02' || '01000000'), false);
SELECT * FROM tidal._log_records(pg_temp.rec('08', '05000000', '2a00000000000000', '06' || '01000000'), false);
SELECT * FROM tidal._log_records(pg_temp.rec('08', '05000000', '2a00000000000000', '08' || '01000000'), false);
-- refused: no events, or an item standing for more than one
SELECT * FROM tidal._log_records(pg_temp.rec('08', '05000000', '2a00000000000000', '01' || '00000000'), false);
SELECT * FROM tidal._log_records(pg_temp.rec('08', '05000000', '2a00000000000000', '03' || '02000000'), false);
-- refused: a body shorter or longer than the kind's, a body length beyond the record
SELECT * FROM tidal._log_records(pg_temp.rec('08', '04000000', '2a00000000000000', '01' || '030000'), false);
SELECT * FROM tidal._log_records(pg_temp.rec('08', '06000000', '2a00000000000000', '01' || '03000000' || '00'), false);
SELECT * FROM tidal._log_records(pg_temp.rec('08', '09000000', '2a00000000000000', '01' || '03000000'), false);
-- a batch that is not one
SELECT * FROM tidal._log_records('\x0102'::bytea, true);

-- the owner's only
SELECT p.proname, has_function_privilege('public', p.oid, 'EXECUTE') AS public_may
  FROM pg_proc p
 WHERE p.pronamespace = 'tidal'::regnamespace
   AND p.proname IN ('log_records', '_log_records', '_ship_tenant')
 ORDER BY 1;
