/*
 * cluster/move_range.c
 *    tidal.move_shard_range: the next shard map, in which a range of the
 *    default tenant's entities that one shard owns belongs to another, with
 *    the move listed in it.  Publishing it (cluster/shard.c) starts the
 *    move; cluster/reshard.c carries it out in each region.
 *
 *    May call: core/, pg/, log/, state/, replication/, cluster/.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"

#include "cluster/election.h"
#include "cluster/shard.h"
#include "core/codec.h"
#include "core/shardmap.h"
#include "state/ownership.h"
#include "state/recovery.h"
#include "state/state.h"

PG_FUNCTION_INFO_V1(tidal_move_shard_range);

static void
move_error(int code, const char *msg, const char *hint) pg_attribute_noreturn();

static void
move_error(int code, const char *msg, const char *hint)
{
	ereport(ERROR, (errcode(code), errmsg("cannot move the range: %s", msg), errhint("%s", hint)));
}

static int
int64_cmp(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : (x > y ? 1 : 0);
}

/* [from bound i - 1 (unbounded for 0) to bound j (unbounded for the last segment)) */
static char *
segments_text(const int64 *bounds, int i, int j, int nseg)
{
	StateRange	r = {i == 0, i == 0 ? 0 : bounds[i - 1], j == nseg - 1, j == nseg - 1 ? 0 : bounds[j]};

	return state_range_text(&r);
}

/*
 * tidal.move_shard_range(entities int8range, to_shard int) RETURNS bigint
 *    the new map version
 */
Datum
tidal_move_shard_range(PG_FUNCTION_ARGS)
{
	int32		to = PG_GETARG_INT32(1);
	StateRange	mv;
	const ShardMap *map;
	const RangeMove *moves;
	int			nmoves;
	int64	   *bounds;
	int			nb = 0;
	int			nseg;
	int32	   *owner;
	int32		from = -1;
	int32		count;
	int			i;
	StringInfoData ranges_txt;
	StringInfoData shards_txt;
	bool	   *holds;
	int			out = 0;
	int64		version;

	/* [lo, hi) of the range, in canonical form */
	if (!state_range_from_datum(PG_GETARG_DATUM(0), &mv))
		move_error(ERRCODE_INVALID_PARAMETER_VALUE, "the range is empty", "Give a range of entities, e.g. '[1000,2000)'.");
	if (to < 0 || to > LOG_MAX_SHARD)
		move_error(ERRCODE_INVALID_PARAMETER_VALUE, "to_shard is outside 0 .. 1023",
				   "Give a shard of the map, or shard_count for a new shard.");
	election_require_leader("tidal.move_shard_range");
	tidal_ensure_loaded();

	/* each entity moves at most once (a shard never takes back what it handed over) */
	moves = ownership_moves(&nmoves);
	for (i = 0; i < nmoves; i++)
		if ((moves[i].entities.lo_inf || mv.hi_inf || moves[i].entities.lo < mv.hi) &&
			(moves[i].entities.hi_inf || mv.lo_inf || mv.lo < moves[i].entities.hi))
			move_error(ERRCODE_FEATURE_NOT_SUPPORTED,
					   psprintf("it overlaps the range %s moved by map version " INT64_FORMAT,
								state_range_text(&moves[i].entities), moves[i].version),
					   "An entity moves at most once in this version of tidal: move a range that has not moved.");

	/* the map last: the pointer holds until the next call of ownership_* */
	map = ownership_map();
	if (map->mode != SHARDMAP_RANGES)
		move_error(ERRCODE_FEATURE_NOT_SUPPORTED, "only a 'ranges' shard map moves ranges",
				   "Set a 'ranges' map with tidal.set_shard_map before the first signal.");
	count = map->count;
	if (to > count)
		move_error(ERRCODE_INVALID_PARAMETER_VALUE, "to_shard is beyond the next new shard",
				   psprintf("The map has %d shards: give 0 .. %d (%d adds a shard).", count, count, count));

	/* the segments, split at the range's ends */
	bounds = palloc(sizeof(int64) * (map->nsegments + 2));
	for (i = 0; i < map->nsegments - 1; i++)
		bounds[nb++] = map->starts[i];
	if (!mv.lo_inf)
		bounds[nb++] = mv.lo;
	if (!mv.hi_inf)
		bounds[nb++] = mv.hi;
	qsort(bounds, nb, sizeof(int64), int64_cmp);
	for (i = 1, out = nb > 0 ? 1 : 0; i < nb; i++)
		if (bounds[i] != bounds[out - 1])
			bounds[out++] = bounds[i];
	nb = out;
	nseg = nb + 1;
	owner = palloc(sizeof(int32) * nseg);
	for (i = 0; i < nseg; i++)
	{
		int64		rep = i == 0 ? PG_INT64_MIN : bounds[i - 1];
		bool		inside = state_range_holds(&mv, rep);

		owner[i] = shardmap_owner(map, rep);
		if (!inside)
			continue;
		if (from >= 0 && owner[i] != from)
			move_error(ERRCODE_INVALID_PARAMETER_VALUE, "the range spans entities of several shards",
					   "Move a range that one shard owns today (tidal.shards shows the map).");
		from = owner[i];
		owner[i] = to;
	}
	if (from == to)
		move_error(ERRCODE_INVALID_PARAMETER_VALUE, psprintf("shard %d owns the range already", to),
				   "Give another shard.");
	if (to == count)
		count++;
	holds = palloc0(sizeof(bool) * count);
	for (i = 0; i < nseg; i++)
		holds[owner[i]] = true;
	if (!holds[from])
		move_error(ERRCODE_INVALID_PARAMETER_VALUE, psprintf("it would leave shard %d without entities", from),
				   "Move part of the shard's entities; every shard of the map keeps a range.");

	/* the new map: adjacent segments of one shard merged */
	initStringInfo(&ranges_txt);
	initStringInfo(&shards_txt);
	appendStringInfoChar(&ranges_txt, '{');
	appendStringInfoChar(&shards_txt, '{');
	out = 0;
	for (i = 0; i < nseg; i++)
	{
		int			j = i;

		while (j + 1 < nseg && owner[j + 1] == owner[i])
			j++;
		appendStringInfo(&ranges_txt, "%s\"%s\"", out ? "," : "",
						 segments_text(bounds, i, j, nseg));
		appendStringInfo(&shards_txt, "%s%d", out ? "," : "", owner[i]);
		out++;
		i = j;
	}
	appendStringInfoChar(&ranges_txt, '}');
	appendStringInfoChar(&shards_txt, '}');

	version = map->version + 1;
	version = shard_map_publish("ranges", count,
								DatumGetArrayTypeP(OidInputFunctionCall(F_ARRAY_IN, ranges_txt.data, INT8RANGEOID, -1)),
								DatumGetArrayTypeP(OidInputFunctionCall(F_ARRAY_IN, shards_txt.data, INT4OID, -1)),
								psprintf("{\"version\": " INT64_FORMAT ", \"entities\": \"%s\", \"from\": %d, \"to\": %d}",
										 version, state_range_text(&mv), from, to));
	PG_RETURN_INT64(version);
}
