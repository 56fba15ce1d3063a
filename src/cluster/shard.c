/*
 * cluster/shard.c
 *    Routing entities to shards: tidal.shard_for and tidal.set_shard_map.
 *
 * A shard map is one of:
 *    single   every entity is in shard 0;
 *    hash     shard = a stable 64-bit mix of the entity, modulo the count;
 *    ranges   shard i holds the entities in ranges[i]; the ranges must
 *             tile the whole bigint space, in order, with no gap or overlap.
 * The map lives in tidal.shard_map (one row; no row means single).
 *
 *    May call: core/, pg/, cluster/.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/rangetypes.h"
#include "utils/typcache.h"

#include "pg/query.h"
#include "pg/settings.h"
#include "pg/owner.h"
#include "core/util.h"

PG_FUNCTION_INFO_V1(tidal_shard_for);
PG_FUNCTION_INFO_V1(tidal_set_shard_map);

#define MAX_SHARDS 1024

/* tidal.shard_for(entity bigint) RETURNS int */
Datum
tidal_shard_for(PG_FUNCTION_ARGS)
{
	static OwnedQuery q = {
		"SELECT mode, shard_count, "
		"       (SELECT i - 1 FROM pg_catalog.generate_subscripts(ranges, 1) i WHERE ranges[i] @> $1 LIMIT 1) "
		"  FROM tidal.shard_map",
		1, {INT8OID}, NULL
	};
	int64		entity = PG_GETARG_INT64(0);
	Datum		args[1] = {Int64GetDatum(entity)};
	int32		shard = 0;
	TidalSavedUser saved;

	query_begin(&saved);
	query_exec(&q, args, NULL, true, SPI_OK_SELECT);
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		bool		isnull;
		char	   *mode = SPI_getvalue(tup, SPI_tuptable->tupdesc, 1);

		if (strcmp(mode, "hash") == 0)
		{
			int32		n = DatumGetInt32(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull));

			shard = (int32) (tidal_mix64((uint64) entity) % (uint64) n);
		}
		else if (strcmp(mode, "ranges") == 0)
			shard = DatumGetInt32(SPI_getbinval(tup, SPI_tuptable->tupdesc, 3, &isnull));
	}
	query_end(&saved);
	PG_RETURN_INT32(shard);
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

/* ranges must start unbounded below, end unbounded above, and touch end to start */
static int
check_ranges(ArrayType *arr)
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
	if (n == 0 || n > MAX_SHARDS)
		map_error("ranges must have 1 to 1024 elements");
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
		prev_upper = upper;
	}
	if (!prev_upper.infinite)
		map_error("the last range must be unbounded above, e.g. '[0,)'");
	return n;
}

/*
 * tidal.set_shard_map(mode text, shard_count int DEFAULT NULL, ranges int8range[] DEFAULT NULL)
 *    RETURNS int: the number of shards
 */
Datum
tidal_set_shard_map(PG_FUNCTION_ARGS)
{
	static OwnedQuery q = {
		"INSERT INTO tidal.shard_map (one, mode, shard_count, ranges) VALUES (true, $1, $2, $3) "
		"ON CONFLICT (one) DO UPDATE SET mode = excluded.mode, shard_count = excluded.shard_count, "
		"ranges = excluded.ranges",
		3, {TEXTOID, INT4OID, INT8RANGEARRAYOID}, NULL
	};
	char	   *mode;
	int32		count = 1;
	Datum		args[3];
	char		nulls[3] = "  n";
	TidalSavedUser saved;

	if (PG_ARGISNULL(0))
		map_error("mode must not be NULL");
	mode = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (strcmp(mode, "single") == 0)
	{
		if (!PG_ARGISNULL(1) || !PG_ARGISNULL(2))
			map_error("'single' takes neither shard_count nor ranges");
	}
	else if (strcmp(mode, "hash") == 0)
	{
		if (PG_ARGISNULL(1) || !PG_ARGISNULL(2))
			map_error("'hash' takes shard_count, and no ranges");
		count = PG_GETARG_INT32(1);
		if (count < 1 || count > MAX_SHARDS)
			map_error("shard_count must be between 1 and 1024");
	}
	else if (strcmp(mode, "ranges") == 0)
	{
		if (PG_ARGISNULL(2) || !PG_ARGISNULL(1))
			map_error("'ranges' takes ranges, and no shard_count");
		count = check_ranges(PG_GETARG_ARRAYTYPE_P(2));
		args[2] = PG_GETARG_DATUM(2);
		nulls[2] = ' ';
	}
	else
		map_error("mode must be 'single', 'hash' or 'ranges'");

	args[0] = CStringGetTextDatum(mode);
	args[1] = Int32GetDatum(count);
	query_begin(&saved);
	query_exec(&q, args, nulls, false, SPI_OK_INSERT);
	query_end(&saved);
	PG_RETURN_INT32(count);
}
