/*
 * cluster/shard.c
 *    The cluster's shard map: tidal.shard_for, tidal.set_shard_map and the
 *    apply of its replicated record (LOG_RECORD_SHARD_MAP).
 *
 * A shard map is one of:
 *    single   every entity is in shard 0;
 *    hash     shard = a stable 64-bit mix of the entity, modulo the count;
 *    ranges   shard i holds the entities in ranges[i]; the ranges must
 *             tile the whole bigint space, in order, with no gap or overlap.
 * It routes the entities of the default tenant (0); a registered tenant
 * lives whole on its own shard (tidal.tenants.shard).
 *
 * The map is set on the cluster leader and travels through tidal's log
 * like a tenant registration, so that every node of every region routes
 * alike.  Each map has a version one above the map it replaced; a node
 * keeps the highest version it has seen (then the later HLC).  It lives in
 * tidal.shard_map (one row; no row means single, version 0) and is cached
 * by state/ownership.c.
 *
 * set_shard_map refuses a map that routes some entity elsewhere once this
 * node's hot state holds events of the default tenant: moving ownership
 * without moving the events would give wrong scores.  Ranges move with
 * their events through tidal.move_shard_range (move_range.c, reshard.c),
 * whose moves every later map's record lists (reshard_learn_moves).
 *
 *    May call: core/, pg/, log/, state/, replication/, cluster/.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rangetypes.h"
#include "utils/typcache.h"

#include "cluster/election.h"
#include "cluster/reshard.h"
#include "cluster/shard.h"
#include "core/shardmap.h"
#include "core/util.h"
#include "log/append.h"
#include "pg/owner.h"
#include "pg/query.h"
#include "pg/settings.h"
#include "state/clock.h"
#include "state/ownership.h"
#include "state/recovery.h"
#include "state/stage.h"
#include "state/state.h"

PG_FUNCTION_INFO_V1(tidal_shard_for);
PG_FUNCTION_INFO_V1(tidal_set_shard_map);

/* tidal.shard_for(entity bigint) RETURNS int */
Datum
tidal_shard_for(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(ownership_shard_of(PG_GETARG_INT64(0)));
}

static void
map_error(const char *msg) pg_attribute_noreturn();

static void
map_error(const char *msg)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid shard map: %s", msg),
			 errhint("Use 'single'; 'hash' with shard_count; or 'ranges' with int8range[] covering every bigint, "
					 "e.g. ARRAY['(,0)', '[0,)']::int8range[].")));
}

/*
 * Check ranges: they must start unbounded below, end unbounded above, and
 * touch end to start.  Fills map->count and map->starts (palloc'd).
 */
static void
check_ranges(ArrayType *arr, ShardMap *map)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;
	TypeCacheEntry *typcache = lookup_type_cache(INT8RANGEOID, TYPECACHE_RANGE_INFO);
	RangeBound	prev_upper;

	if (ARR_NDIM(arr) > 1)
		map_error("ranges must be a one-dimensional array");
	deconstruct_array(arr, INT8RANGEOID, -1, false, TYPALIGN_DOUBLE, &elems, &nulls, &n);
	if (n == 0 || n > SHARDMAP_MAX_SHARDS)
		map_error("ranges must have 1 to 1024 elements");
	map->count = n;
	map->nsegments = n;
	map->segment_shard = NULL;
	map->starts = palloc(sizeof(int64) * Max(n - 1, 1));
	memset(&prev_upper, 0, sizeof(prev_upper));
	for (i = 0; i < n; i++)
	{
		RangeBound	lower;
		RangeBound	upper;
		bool		empty;

		if (nulls[i])
			map_error("ranges must not contain NULL");
		range_deserialize(typcache, DatumGetRangeTypeP(elems[i]), &lower, &upper, &empty);
		if (empty)
			map_error("a range is empty");
		if (i == 0 && !lower.infinite)
			map_error("the first range must be unbounded below, e.g. '(,0)'");
		if (i > 0 && (lower.infinite || prev_upper.infinite ||
					  DatumGetInt64(lower.val) != DatumGetInt64(prev_upper.val)))
			map_error("each range must begin where the one before it ends (no gap, no overlap, in order)");
		if (i > 0)
			map->starts[i - 1] = DatumGetInt64(lower.val);
		prev_upper = upper;
	}
	if (!prev_upper.infinite)
		map_error("the last range must be unbounded above, e.g. '[0,)'");
}

/* check a map given as (mode, shard_count, ranges); fills map */
static void
check_map(const char *mode, bool has_count, int32 count, ArrayType *ranges, ShardMap *map)
{
	memset(map, 0, sizeof(*map));
	if (!shardmap_mode_from_name(mode, &map->mode))
		map_error("mode must be 'single', 'hash' or 'ranges'");
	switch (map->mode)
	{
		case SHARDMAP_SINGLE:
			if (has_count || ranges != NULL)
				map_error("'single' takes neither shard_count nor ranges");
			map->count = 1;
			map->nsegments = 1;
			break;
		case SHARDMAP_HASH:
			if (!has_count || ranges != NULL)
				map_error("'hash' takes shard_count, and no ranges");
			if (count < 1 || count > SHARDMAP_MAX_SHARDS)
				map_error("shard_count must be between 1 and 1024");
			map->count = count;
			map->nsegments = 1;
			break;
		case SHARDMAP_RANGES:
			if (ranges == NULL || has_count)
				map_error("'ranges' takes ranges, and no shard_count");
			check_ranges(ranges, map);
			break;
	}
}

/*
 * Check the shards of the ranges of a map (a range moved to another shard
 * makes them differ from 0, 1, ...): one per range, each below count, and
 * every shard below count holding some range.
 */
static void
check_range_shards(ArrayType *range_shards, int nsegments, int32 count)
{
	int32	   *v;
	bool	   *seen;
	int			n;
	int			i;

	if (ARR_NDIM(range_shards) > 1 || array_contains_nulls(range_shards) ||
		ARR_ELEMTYPE(range_shards) != INT4OID)
		map_error("range_shards must be a one-dimensional int[] without NULLs");
	n = ArrayGetNItems(ARR_NDIM(range_shards), ARR_DIMS(range_shards));
	if (n != nsegments)
		map_error("range_shards must give one shard per range");
	if (count < 1 || count > SHARDMAP_MAX_SHARDS)
		map_error("shard_count must be between 1 and 1024");
	v = (int32 *) ARR_DATA_PTR(range_shards);
	seen = palloc0(sizeof(bool) * count);
	for (i = 0; i < n; i++)
	{
		if (v[i] < 0 || v[i] >= count)
			map_error("a range's shard is outside 0 .. shard_count - 1");
		seen[v[i]] = true;
	}
	for (i = 0; i < count; i++)
		if (!seen[i])
			map_error("every shard below shard_count must hold a range");
	pfree(seen);
}

/*
 * Store a map in tidal.shard_map unless the map there is newer (a higher
 * version, or the same version with a later HLC).  True if it was stored.
 */
static bool
store_map(const char *mode, int32 count, Datum ranges, bool has_ranges, Datum range_shards,
		  bool has_range_shards, int64 version, const TidalHlc *hlc)
{
	static OwnedQuery q = {
		"INSERT INTO tidal.shard_map AS m (one, mode, shard_count, ranges, version, defined_at, range_shards) "
		"VALUES (true, $1, $2, $3, $4, tidal.hlc($5, $6, $7), $8) "
		"ON CONFLICT (one) DO UPDATE SET mode = excluded.mode, shard_count = excluded.shard_count, "
		"       ranges = excluded.ranges, version = excluded.version, defined_at = excluded.defined_at, "
		"       range_shards = excluded.range_shards "
		" WHERE m.version < excluded.version "
		"    OR (m.version = excluded.version "
		"        AND (m.defined_at IS NULL OR tidal.hlc_cmp(m.defined_at, excluded.defined_at) OPERATOR(pg_catalog.<) 0))",
		8, {TEXTOID, INT4OID, INT8RANGEARRAYOID, INT8OID, INT8OID, INT4OID, INT4OID, INT4ARRAYOID}, NULL
	};
	Datum		args[8];
	char		nulls[8] = "        ";
	bool		stored;
	TidalSavedUser saved;

	args[0] = CStringGetTextDatum(mode);
	args[1] = Int32GetDatum(count);
	args[2] = ranges;
	nulls[2] = has_ranges ? ' ' : 'n';
	args[3] = Int64GetDatum(version);
	args[4] = Int64GetDatum(hlc->wall_ns);
	args[5] = Int32GetDatum(hlc->logical);
	args[6] = Int32GetDatum(hlc->node);
	args[7] = range_shards;
	nulls[7] = has_range_shards ? ' ' : 'n';
	query_begin(&saved);
	query_exec(&q, args, nulls, false, SPI_OK_INSERT);
	stored = SPI_processed > 0;
	query_end(&saved);
	if (stored)
		stage_definitions_changed();	/* every backend reloads the map at commit */
	return stored;
}

/*
 * The replicated map (LOG_RECORD_SHARD_MAP): JSON {"mode", "shard_count",
 * "ranges" (text of each int8range, or null), "version"}, checked like
 * tidal.set_shard_map's arguments before it is stored.
 */
void
shard_map_apply_record(const LogRecord *rec)
{
	static OwnedQuery parse_q = {
		"SELECT j OPERATOR(pg_catalog.->>) 'mode', "
		"       (j OPERATOR(pg_catalog.->>) 'shard_count')::pg_catalog.int4, "
		"       CASE WHEN pg_catalog.jsonb_typeof(j OPERATOR(pg_catalog.->) 'ranges') = 'array' "
		"            THEN ARRAY(SELECT x::pg_catalog.int8range "
		"                         FROM pg_catalog.jsonb_array_elements_text(j OPERATOR(pg_catalog.->) 'ranges') "
		"                              WITH ORDINALITY AS e(x, i) ORDER BY e.i) END, "
		"       (j OPERATOR(pg_catalog.->>) 'version')::pg_catalog.int8, "
		"       CASE WHEN pg_catalog.jsonb_typeof(j OPERATOR(pg_catalog.->) 'range_shards') = 'array' "
		"            THEN ARRAY(SELECT x::pg_catalog.int4 "
		"                         FROM pg_catalog.jsonb_array_elements_text(j OPERATOR(pg_catalog.->) 'range_shards') "
		"                              WITH ORDINALITY AS e(x, i) ORDER BY e.i) END, "
		"       CASE WHEN pg_catalog.jsonb_typeof(j OPERATOR(pg_catalog.->) 'moves') = 'array' "
		"            THEN (j OPERATOR(pg_catalog.->) 'moves')::pg_catalog.text END "
		"  FROM (SELECT $1::pg_catalog.jsonb AS j) s",
		1, {TEXTOID}, NULL
	};
	bool		shards_null;
	Datum		range_shards;
	char	   *moves = NULL;
	Datum		args[1];
	char	   *mode;
	bool		count_null;
	int32		count;
	bool		ranges_null;
	Datum		ranges;
	bool		version_null;
	int64		version;
	ShardMap	map;
	TidalSavedUser saved;
	MemoryContext caller = CurrentMemoryContext;

	Assert(rec->kind == LOG_RECORD_SHARD_MAP);
	args[0] = PointerGetDatum(cstring_to_text_with_len(rec->text, rec->text_len));
	query_begin(&saved);
	query_exec(&parse_q, args, NULL, true, SPI_OK_SELECT);
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		mode_null;
		Datum		d = SPI_getbinval(tup, desc, 1, &mode_null);
		MemoryContext spi = MemoryContextSwitchTo(caller);

		mode = mode_null ? NULL : TextDatumGetCString(d);
		count = DatumGetInt32(SPI_getbinval(tup, desc, 2, &count_null));
		ranges = SPI_getbinval(tup, desc, 3, &ranges_null);
		if (!ranges_null)
			ranges = PointerGetDatum(DatumGetArrayTypePCopy(ranges));
		version = DatumGetInt64(SPI_getbinval(tup, desc, 4, &version_null));
		range_shards = SPI_getbinval(tup, desc, 5, &shards_null);
		if (!shards_null)
			range_shards = PointerGetDatum(DatumGetArrayTypePCopy(range_shards));
		{
			bool		moves_null;
			Datum		m = SPI_getbinval(tup, desc, 6, &moves_null);

			if (!moves_null)
				moves = TextDatumGetCString(m);
		}
		MemoryContextSwitchTo(spi);
	}
	query_end(&saved);
	if (mode == NULL || version_null || version < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("a replicated shard map must give its mode and a version of at least 1")));
	check_map(mode, !count_null && strcmp(mode, "hash") == 0, count,
			  ranges_null ? NULL : DatumGetArrayTypeP(ranges), &map);
	if (!shards_null)
	{
		if (map.mode != SHARDMAP_RANGES || count_null)
			map_error("only a 'ranges' map with its shard_count gives its ranges to shards");
		check_range_shards(DatumGetArrayTypeP(range_shards), map.nsegments, count);
		map.count = count;
	}
	(void) store_map(mode, map.count, ranges, !ranges_null, range_shards, !shards_null, version, &rec->hlc);
	ownership_invalidate();		/* this transaction routes by what it stored */
	/* every move the map's record lists: learned, and cut here if it is this shard's to hand over */
	if (moves != NULL)
		reshard_learn_moves(moves);
}

/* the map's JSON, as the replicated record carries it */
static char *
map_json(const char *mode, int32 count, ArrayType *ranges, int64 version, ArrayType *range_shards,
		 const char *moves)
{
	StringInfoData json;

	initStringInfo(&json);
	appendStringInfo(&json, "{\"mode\": \"%s\", \"shard_count\": %d, \"version\": " INT64_FORMAT ", \"ranges\": ",
					 mode, count, version);
	if (ranges == NULL)
		appendStringInfoString(&json, "null");
	else
	{
		Datum	   *elems;
		int			n;
		int			i;

		deconstruct_array(ranges, INT8RANGEOID, -1, false, TYPALIGN_DOUBLE, &elems, NULL, &n);
		appendStringInfoChar(&json, '[');
		for (i = 0; i < n; i++)
			appendStringInfo(&json, "%s\"%s\"", i ? ", " : "",
							 OidOutputFunctionCall(F_RANGE_OUT, elems[i]));
		appendStringInfoChar(&json, ']');
	}
	if (range_shards != NULL)
	{
		int32	   *v = (int32 *) ARR_DATA_PTR(range_shards);
		int			n = ArrayGetNItems(ARR_NDIM(range_shards), ARR_DIMS(range_shards));
		int			i;

		appendStringInfoString(&json, ", \"range_shards\": [");
		for (i = 0; i < n; i++)
			appendStringInfo(&json, "%s%d", i ? ", " : "", v[i]);
		appendStringInfoChar(&json, ']');
	}
	if (moves != NULL)
		appendStringInfo(&json, ", \"moves\": %s", moves);
	appendStringInfoChar(&json, '}');
	return json.data;
}

int64
shard_map_publish(const char *mode, int32 count, ArrayType *ranges, ArrayType *range_shards,
				  const char *new_move)
{
	int64		version = ownership_map()->version + 1;
	TidalHlc	hlc = hlc_clock_now();
	StringInfoData rec;
	LogRecord	decoded;

	initStringInfo(&rec);
	codec_shard_map_record(&rec, &hlc, map_json(mode, count, ranges, version, range_shards,
												reshard_moves_json(new_move)));
	log_append_record(rec.data, rec.len, &decoded);
	shard_map_apply_record(&decoded);
	return version;
}

/*
 * tidal.set_shard_map(mode text, shard_count int DEFAULT NULL, ranges int8range[] DEFAULT NULL)
 *    RETURNS int: the number of shards
 */
Datum
tidal_set_shard_map(PG_FUNCTION_ARGS)
{
	char	   *mode;
	ArrayType  *ranges = PG_ARGISNULL(2) ? NULL : PG_GETARG_ARRAYTYPE_P(2);
	ShardMap	map;
	const ShardMap *current;
	int			nmoves;

	if (PG_ARGISNULL(0))
		map_error("mode must not be NULL");
	mode = text_to_cstring(PG_GETARG_TEXT_PP(0));
	check_map(mode, !PG_ARGISNULL(1), PG_ARGISNULL(1) ? 0 : PG_GETARG_INT32(1), ranges, &map);

	election_require_leader("tidal.set_shard_map");
	tidal_ensure_loaded();
	current = ownership_map();
	if (!shardmap_same_routing(current, &map) && state_entry_count(MyDatabaseId) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the shard map cannot move entities to other shards once signals are stored"),
				 errdetail("This node's hot state holds events, and the new map routes some entities to another shard than the current one does."),
				 errhint("Set the shard map before the first signal; a map that routes every entity as today (e.g. the same ranges) is accepted.")));

	if (ownership_moves(&nmoves) != NULL && nmoves > 0 && !shardmap_same_routing(current, &map))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the shard map cannot route entities differently once a range has moved"),
				 errhint("Move ranges with tidal.move_shard_range.")));
	(void) shard_map_publish(mode, map.count, ranges, NULL, NULL);
	PG_RETURN_INT32(map.count);
}
