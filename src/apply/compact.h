/*
 * apply/compact.h
 *    Compaction of tidal's log (docs/operations.md, "Snapshots and
 *    compaction"): removing sealed batches that every snapshot kept, every
 *    peer and the retention window no longer need.
 *
 *    May call: core/, pg/, log/, state/, replication/, cluster/, signals/,
 *    ranking/, apply/.
 */
#ifndef TIDAL_COMPACT_H
#define TIDAL_COMPACT_H

#include "postgres.h"

/*
 * In the caller's transaction: ask every peer what it has applied (libpq,
 * each bounded by tidal.peer_timeout), then remove what may go.
 * compact_log returns the number of batches removed.
 */
extern void compact_poll_peers(void);
extern int64 compact_log(void);

#endif							/* TIDAL_COMPACT_H */
