/*
 * replication/placement.h
 *    Which tenants a region does not store, as this node knows it (see
 *    placement.c): what shipping leaves out for a requester, and what this
 *    region itself keeps no raw events of.
 *
 *    May call: core/, pg/, log/, state/, replication/.
 */
#ifndef TIDAL_PLACEMENT_H
#define TIDAL_PLACEMENT_H

#include "postgres.h"

#include "core/codec.h"

/* the tenants a region and shard do not store, sorted */
typedef struct Placement
{
	int32		region;
	int32		shard;
	int			naway;
	int64	   *away;
	int64		keep;			/* a tenant kept whatever the registry says (-1: none) */

	/*
	 * Leave out the default tenant's events of entities other shards own:
	 * set for a copy shipped to a node of another shard or region
	 * (replication/ship.c), never for this node's own copies, which its
	 * shard siblings pull from, nor for a member of its shard, which holds
	 * what it holds.
	 */
	bool		shard_events_only;
} Placement;

/*
 * Read the placement of region and shard from tidal.tenant_defs and
 * tidal.migration_defs, in the caller's memory context.  Not between
 * query_begin and query_end: it runs its own query.
 *
 * Region -1: the tenants stored on that shard in any region.  A node is
 * the only way its shard siblings' writes reach its shard elsewhere, so it
 * receives, keeps and relays those of every tenant of its shard, also of
 * tenants its own region does not store (until its region peers have them:
 * cluster/residency.c).
 */
#define PLACEMENT_ANY_REGION (-1)
extern Placement *placement_read(int32 region, int32 shard);

/* true if the region does not store the tenant: its records are elided for it */
extern bool placement_is_away(const Placement *p, int64 tenant);

/* a codec_keep_fn over a Placement: keep the records of tenants the region stores */
extern bool placement_keep_record(const LogRecord *rec, void *placement);

/*
 * Does the batch hold an elided record of a tenant the region stores?  Such
 * a copy must not be served to it: it needs the record.  (False for a batch
 * that is not valid: the caller decides what to do with it.)
 */
extern bool placement_lacks_stored(const Placement *p, const char *batch, Size len);

#endif							/* TIDAL_PLACEMENT_H */
