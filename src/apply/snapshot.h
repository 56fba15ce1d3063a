/*
 * apply/snapshot.h
 *    Snapshots of the hot state (docs/operations.md, "Snapshots and
 *    compaction"): taking one by folding the log into the newest one, and
 *    loading the newest valid one into the hot state on a rebuild.
 *
 *    May call: core/, pg/, log/, state/, replication/, cluster/, signals/,
 *    ranking/, apply/.
 */
#ifndef TIDAL_SNAPSHOT_H
#define TIDAL_SNAPSHOT_H

#include "postgres.h"

#include "nodes/pg_list.h"

#include "apply/replay.h"
#include "log/log.h"

/*
 * Take a snapshot now, in the caller's transaction: the newest valid one
 * plus the sealed batches after its marks.  Returns its id; with
 * only_if_new, 0 when no batch was sealed or received since the newest.
 */
extern int64 snapshot_take(bool only_if_new);

/*
 * Load the newest valid snapshot into the cleared hot state of this
 * database: its states into the state, its keyed writes and deferred
 * records into *replay.  A snapshot that fails a check is reported in the
 * server log (WARNING) and the one before it is tried.  Returns false if
 * none could be loaded (the state is then clear and *replay fresh); *marks,
 * *max_hlc and *id say which it was and what it covers.
 */
extern bool snapshot_load_live(Replay *replay, const ReplaySink *sink,
							   LogMarks *marks, TidalHlc *max_hlc, int64 *id);

/* true if some origin's log has been compacted (a snapshot is then needed) */
extern bool snapshot_log_compacted(void);

/* at _PG_init: register what cluster/ calls through a hook (a tenant moving out) */
extern void snapshot_init(void);

/* the newest snapshot's id and what it covers; false if there is none */
extern bool snapshot_newest(int64 *id, LogMarks *marks, TidalHlc *max_hlc);

/*
 * State transfer: replace every snapshot by one received from a peer
 * (chunks: bytea, each already checked), in the caller's transaction.
 * Returns its id.
 */
extern int64 snapshot_install(const LogMarks *marks, const TidalHlc *max_hlc,
							  List *chunks, int64 entries);

#endif							/* TIDAL_SNAPSHOT_H */
