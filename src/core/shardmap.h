/*
 * core/shardmap.h
 *    The shard map as a value: which shard of a region owns an entity of the
 *    default tenant.  Pure code, no I/O: the map is read from
 *    tidal.shard_map by state/ownership.c and set by cluster/shard.c.
 *
 *    May call: core/.
 */
#ifndef TIDAL_SHARDMAP_H
#define TIDAL_SHARDMAP_H

#include "postgres.h"

/* a shard map has 1 .. SHARDMAP_MAX_SHARDS shards, and a ranges map at most SHARDMAP_MAX_SEGMENTS ranges */
#define SHARDMAP_MAX_SHARDS 1024
#define SHARDMAP_MAX_SEGMENTS 65536

typedef enum ShardMapMode
{
	SHARDMAP_SINGLE = 0,		/* every entity in shard 0 */
	SHARDMAP_HASH,				/* tidal_mix64(entity) modulo count */
	SHARDMAP_RANGES				/* shard i holds [starts[i-1], starts[i]) */
} ShardMapMode;

typedef struct ShardMap
{
	ShardMapMode mode;
	int32		count;			/* shards: 1 for single */
	int64		version;		/* 0: never set (single) */

	/*
	 * ranges: nsegments segments tile the bigint space; starts holds the
	 * nsegments - 1 ascending lower bounds of segments 1 .. nsegments - 1,
	 * and segment_shard the shard of each segment (NULL: segment i is shard
	 * i, as tidal.set_shard_map makes them; a range moved to another shard
	 * makes them differ).
	 */
	int32		nsegments;
	int64	   *starts;
	int32	   *segment_shard;
} ShardMap;

/* the segment of a ranges map that holds an entity */
extern int32 shardmap_segment(const ShardMap *map, int64 entity);

/* the shard that owns an entity */
extern int32 shardmap_owner(const ShardMap *map, int64 entity);

/* the mode's name, as tidal.shard_map stores it */
extern const char *shardmap_mode_name(ShardMapMode mode);

/* the mode of a name; false if it is none */
extern bool shardmap_mode_from_name(const char *name, ShardMapMode *mode);

/* do two maps route every entity to the same shard? */
extern bool shardmap_same_routing(const ShardMap *a, const ShardMap *b);

#endif							/* TIDAL_SHARDMAP_H */
