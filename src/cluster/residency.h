/*
 * cluster/residency.h
 *    Residency of raw events: a region keeps no records of a tenant it does
 *    not store (see residency.c).
 *
 *    May call: core/, pg/, log/, state/, replication/, cluster/.
 */
#ifndef TIDAL_RESIDENCY_H
#define TIDAL_RESIDENCY_H

#include "postgres.h"

#include "core/codec.h"

/*
 * The tenant moves into this region (tenant_refresh, before it replays the
 * tenant's records from the log): fetch, from the peers, the records of the
 * tenant that this region's copies of batches left out.  Errors if some
 * cannot be had now (the move is then retried with the record that caused
 * it).
 */
extern void residency_move_in(int64 tenant);

/*
 * The tenant moves out of this region (tenant_refresh, after its derived
 * rows are deleted): seal tidal.pending, then leave the tenant's records
 * out of this region's copies of batches (our own only once every peer has
 * them: residency_tick does the rest), and drop it from snapshots.
 */
extern void residency_move_out(int64 tenant);

/*
 * A batch of another origin, before it is applied (apply/apply.c): a copy
 * that leaves out records of tenants this region stores (the peer that sent
 * it thought otherwise: it knew of a placement change this region has not
 * applied yet, or the reverse) gets them from a peer that has them.
 * Returns the completed batch (checked against the one received, record by
 * record; still lacking what no peer sent), or NULL if nothing was lacking.
 */
extern StringInfo residency_complete_batch(const LogBatchHeader *hdr, const char *data, Size len);

/*
 * A batch of another origin was stored and applied (apply/apply.c): if it
 * holds records of tenants this region does not store -- the peer that
 * sent it did not know yet, or does not know the tenant -- keep our copy
 * without them.
 */
extern void residency_store_copy(const LogBatchHeader *hdr, const char *data, Size len);

/*
 * Run by the sealer: leave out of this origin's own batches, once every
 * peer has acknowledged them, the records of tenants this region does not
 * store (writes that landed here and were forwarded).
 */
extern void residency_tick(void);

/*
 * Run by the sealer too: leave out of this node's copies of its shard
 * siblings' batches, once every region peer has applied them, the records
 * of tenants this region does not store (kept until then to be relayed).
 */
extern void residency_tick_siblings(void);

/* how to drop a tenant from the snapshots (registered from apply/ at _PG_init) */
typedef void (*residency_tenant_fn) (int64 tenant);
extern void residency_set_snapshot_drop(residency_tenant_fn fn);

#endif							/* TIDAL_RESIDENCY_H */
