/*
 * state/ownership.c
 *    Which shard owns an entity of tenant 0 (ownership.h): the shard map of
 *    tidal.shard_map, cached per backend and reloaded whenever the shared
 *    definitions generation moves (a transaction that changed the map
 *    bumps it at commit, as one that changed signal definitions does).
 *
 *    May call: core/, pg/, log/, state/.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "storage/lmgr.h"
#include "access/xact.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "catalog/namespace.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "pg/query.h"
#include "pg/settings.h"
#include "state/ownership.h"
#include "state/state.h"

static ShardMap cached_map = {SHARDMAP_SINGLE, 1, 0, 1, NULL, NULL};

static void
free_map(ShardMap *m)
{
	if (m->starts != NULL)
		pfree(m->starts);
	if (m->segment_shard != NULL)
		pfree(m->segment_shard);
	m->starts = NULL;
	m->segment_shard = NULL;
}
static uint64 map_generation = 0;	/* 0: not loaded */
static Oid	map_relid = InvalidOid;	/* tidal.shard_map, locked by every user of the map */
static RangeMove *moves = NULL;	/* tidal.range_moves, oldest first (TopMemoryContext) */
static int	nmoves = 0;
static bool cut_here = false;	/* has this node's shard cut some range (the usual case: no)? */

/* tidal.range_moves (0.7 on; none before) */
static void
load_moves(void)
{
	static OwnedQuery q = {
		"SELECT version, pg_catalog.lower(entities), pg_catalog.upper(entities), from_shard, to_shard, "
		"       cut_at IS NOT NULL, received_at IS NOT NULL "
		"  FROM tidal.range_moves ORDER BY version",
		0, {InvalidOid}, NULL
	};
	TidalSavedUser saved;
	uint64		i;

	if (moves != NULL)
		pfree(moves);
	moves = NULL;
	nmoves = 0;
	cut_here = false;
	if (!query_has_column("range_moves", NULL))
		return;
	query_begin(&saved);
	query_exec(&q, NULL, NULL, false, SPI_OK_SELECT);
	if (SPI_processed > 0)
		moves = MemoryContextAllocZero(TopMemoryContext, sizeof(RangeMove) * SPI_processed);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		RangeMove  *m = &moves[i];
		bool		isnull;

		m->version = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		m->entities.lo = DatumGetInt64(SPI_getbinval(tup, desc, 2, &m->entities.lo_inf));
		m->entities.hi = DatumGetInt64(SPI_getbinval(tup, desc, 3, &m->entities.hi_inf));
		m->from_shard = DatumGetInt32(SPI_getbinval(tup, desc, 4, &isnull));
		m->to_shard = DatumGetInt32(SPI_getbinval(tup, desc, 5, &isnull));
		m->cut = DatumGetBool(SPI_getbinval(tup, desc, 6, &isnull));
		m->received = DatumGetBool(SPI_getbinval(tup, desc, 7, &isnull));
		cut_here |= m->cut && m->from_shard == tidal_shard_id;
	}
	nmoves = (int) SPI_processed;
	query_end(&saved);
}

static void
load_map(void)
{
	/* version: 0.7 on; before it the column does not exist */
	static OwnedQuery q = {
		"SELECT m.mode, m.shard_count, "
		"       coalesce((pg_catalog.to_jsonb(m) OPERATOR(pg_catalog.->>) 'version')::pg_catalog.int8, 0), "
		"       ARRAY(SELECT pg_catalog.lower(u.r) FROM pg_catalog.unnest(m.ranges) WITH ORDINALITY u(r, i) "
		"              WHERE u.i > 1 ORDER BY u.i), "
		"       coalesce(pg_catalog.array_length(m.ranges, 1), 1), "
		"       ARRAY(SELECT x::pg_catalog.int4 FROM pg_catalog.jsonb_array_elements_text("
		"                    CASE WHEN pg_catalog.jsonb_typeof(pg_catalog.to_jsonb(m) OPERATOR(pg_catalog.->) 'range_shards') "
		"                              = 'array' THEN pg_catalog.to_jsonb(m) OPERATOR(pg_catalog.->) 'range_shards' "
		"                         ELSE '[]'::pg_catalog.jsonb END) x) "
		"  FROM tidal.shard_map m",
		0, {InvalidOid}, NULL
	};
	uint64		generation = state_defs_generation();	/* first: a later change forces a reload */
	ShardMap	map = {SHARDMAP_SINGLE, 1, 0, 1, NULL, NULL};
	TidalSavedUser saved;

	/* an extension at 0.1 has no shard map: every entity in shard 0 */
	if (!query_has_column("shard_map", NULL))
	{
		free_map(&cached_map);
		cached_map = map;
		map_generation = generation;
		map_relid = InvalidOid;
		return;
	}
	map_relid = get_relname_relid("shard_map", get_namespace_oid("tidal", false));
	load_moves();
	/* not read-only: a fresh snapshot, which sees this transaction's own change of the map, and the latest commits */
	query_begin(&saved);
	query_exec(&q, NULL, NULL, false, SPI_OK_SELECT);
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *mode = TextDatumGetCString(SPI_getbinval(tup, desc, 1, &isnull));

		if (!shardmap_mode_from_name(mode, &map.mode))
			elog(ERROR, "tidal.shard_map holds an unknown mode \"%s\"", mode);
		map.count = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		map.version = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
		if (map.mode == SHARDMAP_SINGLE)
			map.count = 1;
		if (map.count < 1 || map.count > SHARDMAP_MAX_SHARDS)
			elog(ERROR, "tidal.shard_map holds %d shards", map.count);
		if (map.mode == SHARDMAP_RANGES)
		{
			ArrayType  *starts = DatumGetArrayTypeP(SPI_getbinval(tup, desc, 4, &isnull));
			ArrayType  *shards = DatumGetArrayTypeP(SPI_getbinval(tup, desc, 6, &isnull));
			int			nshards = ArrayGetNItems(ARR_NDIM(shards), ARR_DIMS(shards));
			int			i;

			map.nsegments = DatumGetInt32(SPI_getbinval(tup, desc, 5, &isnull));
			if (map.nsegments < 1 || map.nsegments > SHARDMAP_MAX_SEGMENTS ||
				ArrayGetNItems(ARR_NDIM(starts), ARR_DIMS(starts)) != map.nsegments - 1 ||
				array_contains_nulls(starts) ||
				(nshards != 0 && nshards != map.nsegments) || array_contains_nulls(shards))
				elog(ERROR, "tidal.shard_map's ranges do not match its %d shards", map.count);
			map.starts = MemoryContextAlloc(TopMemoryContext, sizeof(int64) * Max(map.nsegments - 1, 1));
			memcpy(map.starts, ARR_DATA_PTR(starts), sizeof(int64) * (map.nsegments - 1));
			if (nshards > 0)
			{
				map.segment_shard = MemoryContextAlloc(TopMemoryContext, sizeof(int32) * nshards);
				memcpy(map.segment_shard, ARR_DATA_PTR(shards), sizeof(int32) * nshards);
				for (i = 0; i < nshards; i++)
					if (map.segment_shard[i] < 0 || map.segment_shard[i] >= map.count)
						elog(ERROR, "tidal.shard_map gives a range to shard %d of %d", map.segment_shard[i], map.count);
			}
			else if (map.nsegments != map.count)
				elog(ERROR, "tidal.shard_map's ranges do not match its %d shards", map.count);
		}
	}
	query_end(&saved);

	free_map(&cached_map);
	cached_map = map;
	map_generation = generation;
}

const ShardMap *
ownership_map(void)
{
	if (map_generation == 0 || map_generation != state_defs_generation())
		load_map();
	return &cached_map;
}

void
ownership_lock_for_events(void)
{
	if (!IsTransactionState())
		return;
	/* a backend's first load learns the table's oid */
	if (!OidIsValid(map_relid))
		(void) ownership_map();
	if (!OidIsValid(map_relid))
		return;					/* SQL objects without a shard map */
	LockRelationOid(map_relid, RowShareLock);
	/* then the map again: a cut that committed before we got the lock bumped the generation */
	(void) ownership_map();
}

void
ownership_invalidate(void)
{
	map_generation = 0;
}

const RangeMove *
ownership_moves(int *n)
{
	(void) ownership_map();
	*n = nmoves;
	return moves;
}

bool
ownership_move_contains(const RangeMove *m, int64 entity)
{
	return state_range_holds(&m->entities, entity);
}

int32
ownership_cut_to(int64 entity)
{
	int			i;

	(void) ownership_map();
	if (!cut_here)
		return -1;
	for (i = 0; i < nmoves; i++)
		if (moves[i].cut && moves[i].from_shard == tidal_shard_id && ownership_move_contains(&moves[i], entity))
			return moves[i].to_shard;
	return -1;
}

bool
ownership_awaits_handoff(bool any, int64 entity)
{
	int			i;

	(void) ownership_map();
	for (i = 0; i < nmoves; i++)
		if (!moves[i].received && moves[i].to_shard == tidal_shard_id &&
			(any || ownership_move_contains(&moves[i], entity)))
			return true;
	return false;
}

int32
ownership_shard_of(int64 entity)
{
	return shardmap_owner(ownership_map(), entity);
}

bool
ownership_owns(int64 entity)
{
	return ownership_shard_of(entity) == tidal_shard_id;
}

/*
 * A record its writer routed (LOG_SIGNAL_HAS_SHARD, 0.7 on) belongs to that
 * shard as a whole; an older one, event by event, to the owners by the map.
 */
bool
ownership_record_owned(const LogRecord *rec, int32 shard, bool *all_owned)
{
	const ShardMap *map = ownership_map();
	bool		any = false;
	bool		all = true;
	uint32		i;

	Assert(rec->kind == LOG_RECORD_SIGNAL);
	if (rec->shard >= 0)
	{
		/* its writer routed it: to that shard, whatever the map says now */
		*all_owned = rec->shard == shard;
		return rec->shard == shard;
	}
	if (map->count == 1)
	{
		*all_owned = shard == 0;
		return shard == 0;
	}
	for (i = 0; i < rec->nevents; i++)
	{
		LogSignalEvent ev;

		codec_signal_event(rec, i, &ev);
		if (shardmap_owner(map, ev.entity) == shard)
			any = true;
		else
			all = false;
	}
	*all_owned = any && all;
	return any;
}

typedef bool (*keep_event_fn) (int64 entity, void *arg);

/*
 * A record of the events of rec that keep accepts, encoded into buf (same
 * HLC, name and key), routed to shard and counted in region (-1: any):
 * false if there are none.
 */
static bool
part_where(const LogRecord *rec, keep_event_fn keep, void *arg, int32 shard, int32 region,
		   StringInfo buf, LogRecord *part)
{
	bool		with_users = (rec->flags & LOG_SIGNAL_HAS_USER) != 0;
	char	   *name;
	char	   *key = NULL;
	uint32		kept = 0;
	uint32		i;
	Size		consumed;
	const char *why;

	for (i = 0; i < rec->nevents; i++)
	{
		LogSignalEvent ev;

		codec_signal_event(rec, i, &ev);
		if (keep(ev.entity, arg))
			kept++;
	}
	if (kept == 0)
		return false;
	name = pnstrdup(rec->name, rec->name_len);
	if (rec->key != NULL)
		key = pnstrdup(rec->key, rec->key_len);
	resetStringInfo(buf);
	if (region >= 0)
		codec_begin_region_signal_record(buf, &rec->hlc, name, key, shard, region, with_users, kept);
	else
		codec_begin_signal_record(buf, &rec->hlc, 0, name, key, shard, with_users, kept);
	for (i = 0; i < rec->nevents; i++)
	{
		LogSignalEvent ev;

		codec_signal_event(rec, i, &ev);
		if (keep(ev.entity, arg))
			codec_add_signal_event(buf, with_users, ev.entity, ev.weight, ev.at_us, ev.user_id);
	}
	if (rec->flags & LOG_SIGNAL_HAS_INTEREST)
	{
		/* its one event, kept: what it adds to its user's interests goes with it */
		LogInterest interest = {rec->interest_arm, rec->interest_dims, rec->interest_vector};

		codec_add_signal_interest(buf, 0, &interest);
	}
	if (!codec_read_record(buf->data, buf->len, &consumed, part, &why))
		elog(ERROR, "tidal could not re-encode part of a signal record: %s", why);
	return true;
}

static bool
owned_by_map(int64 entity, void *arg)
{
	return shardmap_owner((const ShardMap *) arg, entity) == tidal_shard_id;
}

static bool
not_cut(int64 entity, void *arg pg_attribute_unused())
{
	return ownership_cut_to(entity) < 0;
}

static bool
in_move(int64 entity, void *arg)
{
	return ownership_move_contains((const RangeMove *) arg, entity);
}

bool
ownership_owned_part(const LogRecord *rec, StringInfo buf, LogRecord *part)
{
	bool		all;
	bool		any_cut = false;
	uint32		i;

	Assert(rec->kind == LOG_RECORD_SIGNAL);
	if (rec->tenant != 0)
	{
		*part = *rec;
		return true;
	}
	/* events handed on within another region are that region's */
	if (rec->region >= 0 && rec->region != tidal_region_id)
		return false;
	if (!ownership_record_owned(rec, tidal_shard_id, &all))
		return false;
	if (rec->shard < 0)
	{
		if (all)
		{
			*part = *rec;
			return true;
		}
		/* a record written before the map changed, or by a node that did not split it */
		return part_where(rec, owned_by_map, (void *) ownership_map(), tidal_shard_id, -1, buf, part);
	}

	/* routed here: all of it, but what this shard has handed over since (a moved range) */
	for (i = 0; cut_here && i < rec->nevents && !any_cut; i++)
	{
		LogSignalEvent ev;

		codec_signal_event(rec, i, &ev);
		any_cut = ownership_cut_to(ev.entity) >= 0;
	}
	if (!any_cut)
	{
		*part = *rec;
		return true;
	}
	return part_where(rec, not_cut, NULL, rec->shard, rec->region, buf, part);
}

bool
ownership_handed_on_part(const LogRecord *rec, const RangeMove *m, StringInfo buf, LogRecord *part)
{
	Assert(rec->kind == LOG_RECORD_SIGNAL);
	if (rec->tenant != 0 || rec->shard != tidal_shard_id || !m->cut || m->from_shard != tidal_shard_id ||
		(rec->region >= 0 && rec->region != tidal_region_id))
		return false;
	return part_where(rec, in_move, (void *) m, m->to_shard, tidal_region_id, buf, part);
}
