/*
 * cluster/shard.h
 *    The cluster's shard map (shard.c): the apply of its replicated record.
 *    May call: core/, pg/, log/, state/, replication/, cluster/.
 */
#ifndef TIDAL_SHARD_H
#define TIDAL_SHARD_H

#include "postgres.h"

#include "core/codec.h"

/* apply a LOG_RECORD_SHARD_MAP (here, or replicated): the newest version wins */
extern void shard_map_apply_record(const LogRecord *rec);

#endif							/* TIDAL_SHARD_H */
