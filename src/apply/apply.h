/*
 * apply.h
 *    The functions through which every log record reaches tidal's state:
 *    local writes, replay after a restart, and (later) replicated batches.
 *
 * Signal events go to the hot state in shared memory, at commit.  Items,
 * hides and profiles go to tables, inside the transaction that carries the
 * record; their merge rules (last writer wins by HLC; a hide undone only by
 * a strictly later unhide) make applying them order-independent.
 */
#ifndef TIDAL_APPLY_H
#define TIDAL_APPLY_H

#include "postgres.h"

#include "core/codec.h"

/* Merge an item, hide or profile record into its table (in the current transaction). */
extern void apply_item_record(const LogRecord *rec);
extern void apply_hide_record(const LogRecord *rec);
extern void apply_profile_record(const LogRecord *rec);

/*
 * A record of a tenant's data (signal events or an item) that another
 * region wrote: applied if this region stores the tenant, skipped if not,
 * and an error if the tenant's registration has not arrived yet.
 */
extern void apply_replicated_record(const LogRecord *rec);

/*
 * A local write of an item, hide, profile, tenant or migration record:
 * append the encoded record to tidal's log and apply it, both in the
 * caller's transaction.  An item of a tenant this region does not store is
 * only logged: replication takes it to the regions that do.
 */
extern void apply_local_write(const char *data, Size len);

/*
 * A batch of another origin, pulled from a peer: verify it (an error says
 * why it is rejected), store it and apply its records, all in the caller's
 * transaction; signal events reach the hot state when it commits.  False if
 * the batch was applied before, or is this node's own.
 */
extern bool apply_remote_batch(const char *data, Size len, LogBatchHeader *hdr);

#endif							/* TIDAL_APPLY_H */
