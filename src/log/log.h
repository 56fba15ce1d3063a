/*
 * log/log.h
 *    tidal's own durable log, stored in tables under PostgreSQL's WAL:
 *    tidal.pending holds records of committed (and in-flight) transactions
 *    until the sealer moves them, in one transaction, into a numbered batch
 *    of tidal.batches.  Aborted transactions never reach either table
 *    visibly.  See docs/log-format.md.  May call: core/, pg/.
 */
#ifndef TIDAL_LOG_H
#define TIDAL_LOG_H

#include "postgres.h"

#include "core/codec.h"

/*
 * What the error of a pull says when the peer no longer holds a batch the
 * puller needs (ship.c); a receiver that sees it brings its region back by
 * state transfer (receiver.c).
 */
#define LOG_COMPACTED_TOKEN "has compacted"

/* channel on which a node announces new batches (sealed or received) */
#define TIDAL_NOTIFY_CHANNEL "tidal_batches"

/* shared memory: where to find the worker that seals, to wake it */
extern Size log_shmem_size(void);
extern void log_shmem_init(void);

/*
 * Append one encoded record to the log, inside the caller's transaction.
 * When that transaction commits, the worker that seals is woken.
 */
extern void log_append(const char *record, Size len);

/* Has this transaction appended to the log?  (until it commits or aborts) */
extern bool log_xact_written(void);

/* wake the worker that seals (never errors: safe in a commit callback) */
extern void log_request_seal(void);

/* the same, and seal without waiting out the group delay: someone waits for it */
extern void log_request_seal_now(void);

/* the worker that seals registers its latch, to be woken by log_request_seal */
extern void log_attach_sealer(void);

/*
 * Group sealing (tidal.seal_group_delay): commits that wrote the log since
 * the sealer last took the count.  The sealer takes it (resetting it to 0)
 * just before it seals; a commit counted after that wakes it again.
 * log_group_full: enough commits wait to seal now without waiting out the
 * group delay (or log_request_seal_now asked for a seal).
 */
extern uint32 log_take_commits_waiting(void);
extern uint32 log_commits_waiting(void);
extern bool log_group_full(void);

/*
 * Do the SQL objects know origin nodes (0.8)?  Until ALTER EXTENSION
 * UPDATE, a newer library pauses sealing, shipping and applying.
 */
extern bool log_knows_nodes(void);

/* seal committed records of this origin into batches; returns events sealed */
extern int64 log_seal(void);

/*
 * The same, and also this transaction's own records (it is about to
 * commit); *last_seq is then this origin's last sequence number, which
 * covers them.
 */
extern int64 log_seal_through(int64 *last_seq);

/*
 * Store a verified batch of another origin, in the caller's transaction,
 * and advance that origin's marks.  False if it was stored before; an error
 * if it does not directly follow the last one stored.
 */
extern bool log_store_remote_batch(const LogBatchHeader *hdr, const char *data, Size len);

/* call fn for every record in the log (batches of every origin, then pending) */
typedef void (*log_record_fn) (const LogRecord *rec, void *arg);
extern void log_replay(log_record_fn fn, void *arg);

/* how far the log of each origin has been read: its last batch and sequence number */
typedef struct LogMark
{
	int32		region;
	int32		shard;
	int32		node;			/* 0 for every origin before 0.8 */
	int64		batch_no;
	int64		last_seq;
} LogMark;

typedef struct LogMarks
{
	int			n;
	int			cap;
	LogMark    *m;
} LogMarks;

extern LogMark *log_marks_find(LogMarks *marks, int32 region, int32 shard, int32 node);
extern LogMark *log_marks_add(LogMarks *marks, int32 region, int32 shard, int32 node);

/* one field of every mark, as an int4[] (region, shard, node) or int8[] (batch, seq) Datum */
typedef enum LogMarkField
{
	LOG_MARK_REGION,
	LOG_MARK_SHARD,
	LOG_MARK_NODE,
	LOG_MARK_BATCH,
	LOG_MARK_SEQ
} LogMarkField;
extern Datum log_marks_array(const LogMarks *marks, LogMarkField field);

/*
 * Replay only what lies after the marks (NULL: everything), and the records
 * not yet sealed if with_pending; *reached gets the marks at the end.
 */
extern void log_replay_after(const LogMarks *after, bool with_pending, log_record_fn fn,
							 void *arg, LogMarks *reached);

/* OID of tidal.pending; InvalidOid or an error if the extension is missing */
extern Oid	log_pending_relid(bool missing_ok);

#endif							/* TIDAL_LOG_H */
