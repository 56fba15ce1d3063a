/*
 * apply/apply.h
 *    The apply of batches of other origins: each record goes, by kind, to
 *    the handler of its owner (see apply.c).
 *
 * Signal events go to the hot state in shared memory, at commit.  Items,
 * hides and profiles go to tables, inside the transaction that carries the
 * record; their merge rules (last writer wins by HLC; a hide undone only by
 * a strictly later unhide) make applying them order-independent.
 *
 *    May call: core/, pg/, log/, state/, replication/, cluster/, signals/,
 *    ranking/, apply/.
 */
#ifndef TIDAL_APPLY_H
#define TIDAL_APPLY_H

#include "postgres.h"

#include "core/codec.h"


/*
 * At _PG_init: register what the folders below call through a hook (the
 * apply of a tenant's records when it moves into this region, tenant.c).
 */
extern void apply_init(void);

/*
 * A batch of another origin, pulled from a peer: verify it (an error says
 * why it is rejected), store it and apply its records, all in the caller's
 * transaction; signal events reach the hot state when it commits.  False if
 * the batch was applied before, or is this node's own.
 */
extern bool apply_remote_batch(const char *data, Size len, LogBatchHeader *hdr);

/*
 * A record of another kind than signal events (a definition, an item, a
 * hide, a registration, ...) shipped by state transfer: checked and applied
 * by its owner in the caller's transaction.
 */
extern void apply_transferred_record(const LogRecord *rec);

#endif							/* TIDAL_APPLY_H */
