/*
 * state/facts.h
 *    Item facts in shared memory: per (database, tenant, item), the creator,
 *    creation time and -- when it is small -- the metadata that
 *    tidal.item_data holds, and (0.8) the item's arm and its embedding
 *    quantized at unit length, so that tidal.retrieve reads them without SPI.
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
							 Jsonb *metadata, const float4 *embedding, bool local);

/*
 * An item's arm: what the bandit explores (issue 16), the item's "topic"
 * in its metadata, else its "source" (a JSON string), as a 64-bit hash of
 * that text (never 0); 0 if it has neither.  facts_arm_of_name: the hash of
 * an arm's name.
 */
extern uint64 facts_arm_of(const Jsonb *metadata);
extern uint64 facts_arm_of_name(const char *name, int len);

/*
 * The committed facts' arm of an item and its embedding (unit length,
 * quantized to int8: tidal.embedding_dimensions bytes into embedding);
 * false if the facts hold no such item, or it has no embedding (*arm is
 * set either way, 0 if unknown).
 */
extern bool facts_item_vector(int64 tenant, int64 item, uint64 *arm, int8 *embedding);

/* do the committed facts hold the item? */
extern bool facts_item_known(int64 tenant, int64 item);

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
