/*
 * cluster/shard.h
 *    The cluster's shard map (shard.c): the apply of its replicated record.
 *    May call: core/, pg/, log/, state/, replication/, cluster/.
 */
#ifndef TIDAL_SHARD_H
#define TIDAL_SHARD_H

#include "postgres.h"

#include "core/codec.h"
#include "utils/array.h"

/* apply a LOG_RECORD_SHARD_MAP (here, or replicated): the newest version wins */
extern void shard_map_apply_record(const LogRecord *rec);

/*
 * Publish a new map (on the leader): the next version, logged as record
 * kind 9 and applied here.  range_shards may be NULL (range i is shard i).
 * The record carries every move this node knows of (tidal.range_moves),
 * and new_move (JSON object text) if not NULL.  Returns the version.
 */
extern int64 shard_map_publish(const char *mode, int32 count, ArrayType *ranges, ArrayType *range_shards,
							   const char *new_move);

#endif							/* TIDAL_SHARD_H */
