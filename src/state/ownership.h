/*
 * state/ownership.h
 *    Which shard of this region owns an entity of the default tenant (tenant
 *    0), by the cluster's shard map (tidal.shard_map), as this backend sees
 *    it (ownership.c).  A registered tenant lives whole on its own shard
 *    (cluster/tenant.c); this is the rule for tenant 0.
 *
 *    May call: core/, pg/, log/, state/.
 */
#ifndef TIDAL_OWNERSHIP_H
#define TIDAL_OWNERSHIP_H

#include "postgres.h"

#include "core/codec.h"
#include "core/shardmap.h"

/* the cluster's shard map, as committed here (cached; valid until the next call) */
extern const ShardMap *ownership_map(void);

/* the shard that owns an entity of tenant 0 */
extern int32 ownership_shard_of(int64 entity);

/* does this node's shard (tidal.shard_id) own an entity of tenant 0? */
extern bool ownership_owns(int64 entity);

/*
 * Does shard own any event of a signal record of tenant 0?  (A record of a
 * registered tenant is its tenant's: see placement.)  With all true,
 * *all_owned says whether it owns every one.
 */
extern bool ownership_record_owned(const LogRecord *rec, int32 shard, bool *all_owned);

/*
 * The part of a signal record of tenant 0 that this node's shard owns:
 * false if none; else *part is the record itself when it owns every event,
 * or a record of the owned events only, encoded into buf (same HLC, name,
 * key and flags).  A record of a registered tenant is returned whole.
 */
extern bool ownership_owned_part(const LogRecord *rec, StringInfo buf, LogRecord *part);

#endif							/* TIDAL_OWNERSHIP_H */
