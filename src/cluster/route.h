/*
 * cluster/route.h
 *    Calls answered by another shard of this region -- the one that owns an
 *    entity, or every one (a retrieve's parts, a session's marks) -- (route.c):
 *    a connection per shard sibling, kept for the session, and
 *    read-your-writes for the writes this session sent to a sibling's log.
 *    May call: core/, pg/, log/, state/, replication/, cluster/.
 */
#ifndef TIDAL_ROUTE_H
#define TIDAL_ROUTE_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "libpq-fe.h"

#include "core/hlc.h"

/* this session wrote events that shard (of this region) owns: its next read there waits for them */
extern void route_note_forwarded(int32 shard);

/*
 * Run sql on shard `shard` of this region, within tidal.peer_timeout, after
 * this session's writes for it are sealed here; params $1.. are text, and
 * the call gets three more at the end (this node's region, shard, and the
 * sequence number of its log the owner must have applied first, 0 if none).
 * Returns the checked one-row, one-column answer as text (palloc'd), or
 * errors saying which shard did not answer.  `what` names the call.
 */
extern char *route_call(int32 shard, const char *what, const char *sql, int nparams,
						const char *const *params);

/* the same, for a call that may itself wait: answered within timeout_ms */
extern char *route_call_within(int32 shard, const char *what, const char *sql, int nparams,
							   const char *const *params, int timeout_ms);

/*
 * A call to several shards at once (scatter-gather): send to each, then
 * collect each answer by the same deadline.  A shard that cannot be reached
 * or does not answer in time does not error: its call says why, and the
 * caller answers without it (degraded).  A shard that is not a peer of
 * this node, or this session's writes that cannot be sealed in time, are
 * errors, as for route_call.
 */
typedef struct RouteScatter
{
	int32		shard;
	const char *what;			/* names the call in messages */
	TimestampTz deadline;
	/* out */
	bool		sent;
	int64		after;
	char	   *why;			/* why it failed, or NULL */
	PGresult   *res;			/* the answer, once collected (the caller PQclears it) */
} RouteScatter;

extern bool route_scatter_send(RouteScatter *call, const char *sql, int nparams, const char *const *params);
extern PGresult *route_scatter_collect(RouteScatter *call, int max_rows, Size max_bytes);

/*
 * The owner's side of read-your-writes: wait until this node has applied
 * the log of (region, shard) up to seq, waking its receivers; errors after
 * timeout_ms.
 */
extern void route_await_applied(int32 region, int32 shard, int64 seq, int timeout_ms);

/*
 * A read's `after =>` on the shard sibling that answers it: wait until the
 * write is visible there (tidal._await_write), after this session's writes
 * for it; errors as route_call does, or with the sibling's error.
 */
extern void route_await_write(int32 shard, const TidalHlc *write);

#endif							/* TIDAL_ROUTE_H */
