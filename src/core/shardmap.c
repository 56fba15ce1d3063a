/*
 * core/shardmap.c
 *    The shard map as a value (shardmap.h): routing an entity to its shard.
 *    The hash is splitmix64's finalizer (core/util.h), the same on every
 *    platform and version, so that every node routes alike.
 *
 *    May call: core/.
 */
#include "postgres.h"

#include "core/shardmap.h"
#include "core/util.h"

int32
shardmap_segment(const ShardMap *map, int64 entity)
{
	int32		lo = 0;
	int32		hi = map->nsegments - 1;

	/* the number of lower bounds at or below the entity */
	while (lo < hi)
	{
		int32		mid = lo + (hi - lo) / 2;

		if (map->starts[mid] <= entity)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int32
shardmap_owner(const ShardMap *map, int64 entity)
{
	int32		seg;

	switch (map->mode)
	{
		case SHARDMAP_SINGLE:
			return 0;
		case SHARDMAP_HASH:
			return (int32) (tidal_mix64((uint64) entity) % (uint64) map->count);
		case SHARDMAP_RANGES:
			seg = shardmap_segment(map, entity);
			return map->segment_shard ? map->segment_shard[seg] : seg;
	}
	return 0;
}

const char *
shardmap_mode_name(ShardMapMode mode)
{
	switch (mode)
	{
		case SHARDMAP_SINGLE:
			return "single";
		case SHARDMAP_HASH:
			return "hash";
		case SHARDMAP_RANGES:
			return "ranges";
	}
	return "single";
}

bool
shardmap_mode_from_name(const char *name, ShardMapMode *mode)
{
	if (strcmp(name, "single") == 0)
		*mode = SHARDMAP_SINGLE;
	else if (strcmp(name, "hash") == 0)
		*mode = SHARDMAP_HASH;
	else if (strcmp(name, "ranges") == 0)
		*mode = SHARDMAP_RANGES;
	else
		return false;
	return true;
}

bool
shardmap_same_routing(const ShardMap *a, const ShardMap *b)
{
	int32		i;

	/* one shard routes everything to shard 0, whatever its mode */
	if (a->count == 1 && b->count == 1)
		return true;
	if (a->mode != b->mode || a->count != b->count)
		return false;
	if (a->mode == SHARDMAP_RANGES)
	{
		if (a->nsegments != b->nsegments)
			return false;
		for (i = 0; i < a->nsegments - 1; i++)
			if (a->starts[i] != b->starts[i])
				return false;
		for (i = 0; i < a->nsegments; i++)
			if ((a->segment_shard ? a->segment_shard[i] : i) != (b->segment_shard ? b->segment_shard[i] : i))
				return false;
	}
	return true;
}
