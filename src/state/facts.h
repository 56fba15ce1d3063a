/*
 * state/facts.h
 *    Item facts in shared memory: per (database, tenant, item), the creator,
 *    creation time and -- when it is small -- the metadata that
 *    tidal.item_data holds, so that tidal.retrieve reads them without SPI.
 *    Changes are staged until commit, as the hot state's are (facts.c).
 *
 *    May call: core/, pg/, log/, state/.
 */
#ifndef TIDAL_FACTS_H
#define TIDAL_FACTS_H

#include "postgres.h"

#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "core/hlc.h"

/* what tidal.item_data says of one item, as this transaction sees it */
typedef struct ItemFactsRead
{
	bool		found;			/* the item has a row */
	bool		has_creator;
	int8		matches;		/* metadata @> filter: 1 yes, 0 no, -1 unknown here */
	int64		item;
	int64		creator;
	TimestampTz created_at;
	TidalHlc	hlc;			/* the write the facts come from */
} ItemFactsRead;

/* shared-memory set-up (tidal.c hooks), with its own LWLock tranche */
extern void facts_shmem_request(void);
extern void facts_shmem_init(void);

/*
 * Stage an item write that tidal.item_data took in this transaction (it had
 * the newest HLC): it reaches shared memory at commit, never if the
 * transaction or its subtransaction aborts.  The entry is reserved now, so
 * that the commit cannot fail: when the facts are full, a local write
 * (local) fails with 53200 and a hint; a replicated one is taken, and the
 * database's facts are then marked incomplete (retrieve reads the table)
 * until the next rebuild.
 */
extern void facts_stage_item(int64 tenant, int64 item, const TidalHlc *hlc,
							 bool has_creator, int64 creator, TimestampTz created_at,
							 Jsonb *metadata, bool local);

/* Stage the removal of a tenant's facts (its rows are deleted in this transaction). */
extern void facts_stage_drop_tenant(int64 tenant);

/*
 * The rebuild (apply/recovery.c): forget the database's facts, then load
 * every row of tidal.item_data as the active snapshot sees it.
 */
extern void facts_db_clear(Oid dboid);
extern void facts_load(void);

/* whether the facts hold every item of this database (else read the table) */
extern bool facts_complete(void);

/*
 * The facts of items[0..n) of a tenant into out[0..n) (out[i].item =
 * items[i]); matches says whether each item's metadata contains filter
 * (1 with a NULL filter, for every item; -1 when the metadata is too large
 * to be held in shared memory: the caller reads it from the table).
 */
extern void facts_lookup_many(int64 tenant, const int64 *items, int n, Jsonb *filter,
							  ItemFactsRead *out);

/*
 * Every item of a tenant (at most max, else 54000 with hint), as above, in
 * no particular order; returns how many, *out palloc'd.  only_shard >= 0:
 * of tenant 0, only the items that shard owns (state/ownership.c); the
 * caller's own uncommitted items come whatever their shard.
 */
extern int	facts_scan_tenant(int64 tenant, Jsonb *filter, int32 only_shard, int max, ItemFactsRead **out);

/* how many items' facts this database holds (monitoring, tests) */
extern int64 facts_count(Oid dboid);

#endif							/* TIDAL_FACTS_H */
