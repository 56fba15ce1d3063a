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
#include "utils/array.h"
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
		return;
	}
	query_begin(&saved);
	query_exec(&q, NULL, NULL, true, SPI_OK_SELECT);
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

bool
ownership_owned_part(const LogRecord *rec, StringInfo buf, LogRecord *part)
{
	const ShardMap *map;
	bool		all;
	bool		with_users = (rec->flags & LOG_SIGNAL_HAS_USER) != 0;
	char	   *name;
	char	   *key = NULL;
	uint32		owned = 0;
	uint32		i;
	Size		consumed;
	const char *why;

	Assert(rec->kind == LOG_RECORD_SIGNAL);
	if (rec->tenant != 0)
	{
		*part = *rec;
		return true;
	}
	if (!ownership_record_owned(rec, tidal_shard_id, &all))
		return false;
	if (all)
	{
		*part = *rec;
		return true;
	}

	/* a record written before the map changed, or by a node that did not split it */
	map = ownership_map();
	for (i = 0; i < rec->nevents; i++)
	{
		LogSignalEvent ev;

		codec_signal_event(rec, i, &ev);
		if (shardmap_owner(map, ev.entity) == tidal_shard_id)
			owned++;
	}
	name = pnstrdup(rec->name, rec->name_len);
	if (rec->key != NULL)
		key = pnstrdup(rec->key, rec->key_len);
	resetStringInfo(buf);
	codec_begin_signal_record(buf, &rec->hlc, 0, name, key, tidal_shard_id, with_users, owned);
	for (i = 0; i < rec->nevents; i++)
	{
		LogSignalEvent ev;

		codec_signal_event(rec, i, &ev);
		if (shardmap_owner(map, ev.entity) == tidal_shard_id)
			codec_add_signal_event(buf, with_users, ev.entity, ev.weight, ev.at_us, ev.user_id);
	}
	if (!codec_read_record(buf->data, buf->len, &consumed, part, &why))
		elog(ERROR, "tidal could not re-encode the owned part of a signal record: %s", why);
	return true;
}
