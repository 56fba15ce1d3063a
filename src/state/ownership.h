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
#include "state/state.h"

/* the cluster's shard map, as committed here (cached; valid until the next call) */
extern const ShardMap *ownership_map(void);

/*
 * Whoever routes or counts events by the map (a local write, the apply of
 * a replicated record) calls this first: RowShareLock on tidal.shard_map
 * until the end of the transaction, then the map as of then.  A shard's cut
 * of a moved range (cluster/reshard.c) takes ExclusiveLock, so it comes
 * between transactions that count events, never during one.  Readers do
 * not lock: a read routed by an older map is forwarded by its owner.
 */
extern void ownership_lock_for_events(void);

/* forget the cached map: this transaction changed it (read again, uncommitted) */
extern void ownership_invalidate(void);

/* a range of entities moved from one shard to another (tidal.range_moves) */
typedef struct RangeMove
{
	int64		version;		/* the map version that made the move */
	StateRange	entities;
	int32		from_shard;
	int32		to_shard;
	bool		cut;			/* this node (of from_shard) handed the range's entries over */
	bool		received;		/* this node (of to_shard) has its region's handoff */
} RangeMove;

/* every move this node knows of, oldest first */
extern const RangeMove *ownership_moves(int *n);
extern bool ownership_move_contains(const RangeMove *m, int64 entity);

/*
 * The shard this node's shard handed an entity of tenant 0 over to (its cut
 * of a moved range is done), or -1.  Events of it routed here are not counted
 * here any more: they are handed on.
 */
extern int32 ownership_cut_to(int64 entity);

/* does this node's shard still wait for its region's handoff of an entity (any, for -1)? */
extern bool ownership_awaits_handoff(bool any, int64 entity);

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

/*
 * The events of a signal record routed to this node's shard that it hands
 * on to the shard of move m (whose range it has cut): false if none; else
 * a record of them, routed to that shard and counted in this region only,
 * encoded into buf (same HLC, name, key).
 */
extern bool ownership_handed_on_part(const LogRecord *rec, const RangeMove *m, StringInfo buf,
									 LogRecord *part);

#endif							/* TIDAL_OWNERSHIP_H */
