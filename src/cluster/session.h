/*
 * cluster/session.h
 *    Sessions that roam between regions: an agent numbers its writes
 *    (session, seqno 1, 2, 3, ...), and every node applies a session's
 *    writes in seqno order, each once, whichever region took them.
 *
 * Per (tenant, session), tidal.session_marks keeps the highest seqno up to
 * which every write was applied here (the mark).  A write arriving here --
 * a local call or a replicated record -- is admitted:
 *   - seqno <= mark: seen.  A local call is a no-op; a replicated copy is
 *     applied, and its idempotency key (the session's, codec_session_key)
 *     makes it count once, the same copy everywhere;
 *   - seqno = mark + 1: applied, then every held write that now follows;
 *   - above: held in tidal.session_held (logged, not applied) until the
 *     gap before it fills, or the session expires (tidal.session_ttl).
 * The tables are written in the applying transaction, so the marks are as
 * durable as the log, and a rebuild of the hot state counts a session's
 * signal record unless it is held here (session_held_here).
 *
 * May call: core/, pg/, log/, state/, replication/, cluster/.
 */
#ifndef TIDAL_SESSION_H
#define TIDAL_SESSION_H

#include "postgres.h"

#include "fmgr.h"

#include "core/codec.h"

typedef enum SessionAdmit
{
	SESSION_SEEN,				/* at or below the mark */
	SESSION_NEXT,				/* the mark's next: apply it, then session_applied */
	SESSION_HELD				/* above the mark's next: held here */
} SessionAdmit;

/*
 * The session and session_seqno arguments of a write, at n and n + 1:
 * mark->session NULL when the write has none.  Errors on half a pair and
 * on invalid values.
 */
extern void session_arguments(FunctionCallInfo fcinfo, int n, LogSessionMark *mark);

/* applies a record released from the held writes, without admitting it again (apply/) */
typedef void (*session_release_fn) (const LogRecord *rec);
extern void session_set_release(session_release_fn fn);

/*
 * rec (a session write: rec->session set) arrives here: lock its session's
 * mark, in one statement, and move it to rec's seqno if rec is its next (the
 * caller applies rec in the same transaction); hold rec if a gap is before
 * it.  *held: how many writes of the session are held here.
 */
extern SessionAdmit session_admit(const LogRecord *rec, int64 *held);

/* after a SESSION_NEXT record was applied: release the held writes that now follow */
extern void session_applied(const LogRecord *rec, int64 held);

/*
 * State transfer (apply/transfer.c): the serving side exports the marks
 * and held writes of the tenants the requester's region stores; the
 * receiving side replaces its own with them, then re-admits the session
 * records its log holds after the snapshot's marks (session_readmit: the
 * marks move and gaps are held, nothing is applied -- the rebuild that
 * follows counts every session record not held).
 */
typedef enum SessionExportKind
{
	SESSION_EXPORT_MARK,		/* seqno: the mark; data: the session id */
	SESSION_EXPORT_HELD			/* seqno: the held write's; data: its record */
} SessionExportKind;
typedef void (*session_export_fn) (SessionExportKind kind, int64 tenant, int64 seqno,
								   const char *data, Size len, void *arg);
extern void session_export(int32 region, session_export_fn fn, void *arg);
extern void session_import_begin(void);
extern void session_import_mark(int64 tenant, const char *session, int len, int64 applied);
extern void session_readmit(const LogRecord *rec);

/* a rebuild's question: is this session record held here (not counted)? */
typedef struct SessionHeldSet SessionHeldSet;
extern bool session_held_here(SessionHeldSet **set, const LogRecord *rec);

/* the sealer's tick: report gaps older than tidal.session_gap_timeout, expire idle sessions */
extern void session_tick(void);

#endif							/* TIDAL_SESSION_H */
