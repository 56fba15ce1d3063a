/*
 * cluster/session.c
 *    Sessions that roam between regions (session.h): the marks and held
 *    writes of tidal.session_marks and tidal.session_held, the admission of
 *    a session's write, the release of held writes once their gap fills,
 *    the sealer's gap reports and expiry, and tidal.session_status and
 *    tidal.await_session.
 *
 * May call: core/, pg/, log/, state/, replication/, cluster/.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "cluster/access.h"
#include "cluster/route.h"
#include "cluster/session.h"
#include "log/log.h"
#include "pg/query.h"
#include "pg/settings.h"
#include "pg/subxact.h"
#include "pg/validate.h"
#include "replication/peer.h"
#include "state/ownership.h"

PG_FUNCTION_INFO_V1(tidal_session_status);
PG_FUNCTION_INFO_V1(tidal_await_session);
PG_FUNCTION_INFO_V1(tidal_session_mark);

/* how often tidal.await_session looks at the mark again (here; at a shard sibling, every 5th time) */
#define AWAIT_POLL_MS	2
#define AWAIT_SIBLING_EVERY 5
/* sessions the sealer expires in one tick */
#define EXPIRE_PER_TICK	100

static session_release_fn release_fn = NULL;

void
session_set_release(session_release_fn fn)
{
	release_fn = fn;
}

void
session_arguments(FunctionCallInfo fcinfo, int n, LogSessionMark *mark)
{
	bool		has_session = PG_NARGS() > n && !PG_ARGISNULL(n);
	bool		has_seqno = PG_NARGS() > n + 1 && !PG_ARGISNULL(n + 1);

	mark->session = NULL;
	mark->seqno = 0;
	if (!has_session && !has_seqno)
		return;
	if (!has_session || !has_seqno)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a session's write takes both session and session_seqno"),
				 errhint("Number each write of a session 1, 2, 3, ...; leave both NULL for a write outside any session.")));
	mark->session = text_to_cstring(PG_GETARG_TEXT_PP(n));
	validate_session(mark->session, (int) strlen(mark->session));
	mark->seqno = PG_GETARG_INT64(n + 1);
	validate_session_seqno(mark->seqno);
}

static Datum
session_datum(const LogRecord *rec)
{
	return PointerGetDatum(cstring_to_text_with_len(rec->session, rec->session_len));
}

SessionAdmit
session_admit(const LogRecord *rec, int64 *held)
{
	/*
	 * The session's row, created or locked (its writes are admitted one at a
	 * time), with the mark moved on if rec is its next: prev_seqno keeps the
	 * mark before, so that one statement decides.
	 */
	static OwnedQuery admit_q = {
		"INSERT INTO tidal.session_marks AS m (tenant, session, applied_seqno, prev_seqno) "
		"VALUES ($1, $2, CASE WHEN $3 = 1 THEN 1 ELSE 0 END, 0) "
		"ON CONFLICT (tenant, session) DO UPDATE SET updated_at = pg_catalog.now(), "
		"       prev_seqno = m.applied_seqno, "
		"       applied_seqno = CASE WHEN m.applied_seqno + 1 = $3 THEN $3 ELSE m.applied_seqno END "
		"RETURNING m.prev_seqno, m.held",
		3, {INT8OID, TEXTOID, INT8OID}, NULL
	};
	static OwnedQuery hold_q = {
		"WITH h AS (INSERT INTO tidal.session_held (tenant, session, seqno, hlc_wall_ns, hlc_logical, hlc_node, record) "
		"           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING 1) "
		"UPDATE tidal.session_marks SET held = held + (SELECT pg_catalog.count(*) FROM h) "
		" WHERE tenant = $1 AND session = $2",
		7, {INT8OID, TEXTOID, INT8OID, INT8OID, INT4OID, INT4OID, BYTEAOID}, NULL
	};
	Datum		args[7];
	TidalSavedUser saved;
	bool		isnull;
	int64		before;
	SessionAdmit admit;

	Assert(rec->session != NULL);
	args[0] = Int64GetDatum(rec->tenant);
	args[1] = session_datum(rec);
	args[2] = Int64GetDatum(rec->session_seqno);
	query_begin(&saved);
	query_exec(&admit_q, args, NULL, false, SPI_OK_INSERT_RETURNING);
	before = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	*held = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	if (rec->session_seqno <= before)
		admit = SESSION_SEEN;
	else if (rec->session_seqno == before + 1)
		admit = SESSION_NEXT;
	else
	{
		bytea	   *raw = palloc(VARHDRSZ + rec->raw_len);

		SET_VARSIZE(raw, VARHDRSZ + rec->raw_len);
		memcpy(VARDATA(raw), rec->raw, rec->raw_len);
		args[3] = Int64GetDatum(rec->hlc.wall_ns);
		args[4] = Int32GetDatum(rec->hlc.logical);
		args[5] = Int32GetDatum(rec->hlc.node);
		args[6] = PointerGetDatum(raw);
		query_exec(&hold_q, args, NULL, false, SPI_OK_UPDATE);
		admit = SESSION_HELD;
	}
	query_end(&saved);
	return admit;
}

/* a held write, copied out of SPI's memory */
typedef struct HeldWrite
{
	int64		seqno;
	TidalHlc	hlc;
	bytea	   *record;
} HeldWrite;

/* by seqno, then HLC: the copy of a seqno that counts comes first (the key makes the others no-ops) */
static int
held_cmp(const void *a, const void *b)
{
	const HeldWrite *x = (const HeldWrite *) a;
	const HeldWrite *y = (const HeldWrite *) b;

	if (x->seqno != y->seqno)
		return x->seqno < y->seqno ? -1 : 1;
	return hlc_compare(&x->hlc, &y->hlc);
}

/*
 * Take held writes of a session out of tidal.session_held, in the order
 * they are applied: those of one seqno, or (seqno 0) every one; *n of them.
 */
static HeldWrite *
take_held(int64 tenant, Datum session, int64 seqno, int *n)
{
	static OwnedQuery take_one = {
		"DELETE FROM tidal.session_held WHERE tenant = $1 AND session = $2 AND seqno = $3 "
		"RETURNING seqno, hlc_wall_ns, hlc_logical, hlc_node, record",
		3, {INT8OID, TEXTOID, INT8OID}, NULL
	};
	static OwnedQuery take_all = {
		"DELETE FROM tidal.session_held WHERE tenant = $1 AND session = $2 "
		"RETURNING seqno, hlc_wall_ns, hlc_logical, hlc_node, record",
		2, {INT8OID, TEXTOID}, NULL
	};
	Datum		args[3] = {Int64GetDatum(tenant), session, Int64GetDatum(seqno)};
	MemoryContext caller = CurrentMemoryContext;
	TidalSavedUser saved;
	HeldWrite  *out = NULL;
	uint64		i;

	query_begin(&saved);
	query_exec(seqno > 0 ? &take_one : &take_all, args, NULL, false, SPI_OK_DELETE_RETURNING);
	*n = (int) SPI_processed;
	if (*n > 0)
		out = MemoryContextAlloc(caller, sizeof(HeldWrite) * *n);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		bytea	   *rec = DatumGetByteaPP(SPI_getbinval(tup, desc, 5, &isnull));

		out[i].seqno = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		out[i].hlc.wall_ns = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		out[i].hlc.logical = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
		out[i].hlc.node = DatumGetInt32(SPI_getbinval(tup, desc, 4, &isnull));
		out[i].record = MemoryContextAlloc(caller, VARHDRSZ + VARSIZE_ANY_EXHDR(rec));
		SET_VARSIZE(out[i].record, VARHDRSZ + VARSIZE_ANY_EXHDR(rec));
		memcpy(VARDATA(out[i].record), VARDATA_ANY(rec), VARSIZE_ANY_EXHDR(rec));
	}
	query_end(&saved);
	if (*n > 1)
		qsort(out, *n, sizeof(HeldWrite), held_cmp);
	return out;
}

/* apply held writes, as they were logged, by whoever applies a record of their kind (apply/) */
static void
release(HeldWrite *held, int n)
{
	int			i;

	if (release_fn == NULL)
		elog(ERROR, "tidal: no apply of released session writes is registered");
	for (i = 0; i < n; i++)
	{
		LogRecord	rec;
		Size		consumed;
		const char *why;

		if (!codec_read_record(VARDATA(held[i].record), VARSIZE(held[i].record) - VARHDRSZ,
							   &consumed, &rec, &why))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("a held session write is not a valid record: %s", why)));
		release_fn(&rec);
		CHECK_FOR_INTERRUPTS();
	}
}

/* the mark, and the held writes left, after a release */
static void
set_mark(int64 tenant, Datum session, int64 mark, int64 released)
{
	static OwnedQuery q = {
		"UPDATE tidal.session_marks SET applied_seqno = $3, held = GREATEST(held - $4, 0), "
		"       updated_at = pg_catalog.now() "
		" WHERE tenant = $1 AND session = $2",
		4, {INT8OID, TEXTOID, INT8OID, INT4OID}, NULL
	};
	Datum		args[4] = {Int64GetDatum(tenant), session, Int64GetDatum(mark), Int32GetDatum((int32) released)};
	TidalSavedUser saved;

	query_begin(&saved);
	query_exec(&q, args, NULL, false, SPI_OK_UPDATE);
	query_end(&saved);
}

/* move the mark past rec and the held writes that follow it, applying them or (a re-admission) not */
static void
advance_mark(const LogRecord *rec, bool apply)
{
	Datum		session = session_datum(rec);
	int64		mark = rec->session_seqno;
	int64		released = 0;

	for (;;)
	{
		int			n;
		HeldWrite  *held = take_held(rec->tenant, session, mark + 1, &n);

		if (n == 0)
			break;
		if (apply)
			release(held, n);
		released += n;
		mark++;
	}
	if (released > 0)
		set_mark(rec->tenant, session, mark, released);
}

void
session_applied(const LogRecord *rec, int64 held)
{
	/* the mark is at rec already (session_admit); nothing else to do unless writes wait */
	if (held > 0)
		advance_mark(rec, true);
}

/* ---- state transfer ---- */

/* the sessions of the tenants a region stores (and tenant 0's), as the sessions' rows */
void
session_export(int32 region, session_export_fn fn, void *arg)
{
	static OwnedQuery marks_q = {
		"SELECT m.tenant, m.applied_seqno, m.session FROM tidal.session_marks m "
		" WHERE m.tenant = 0 OR EXISTS (SELECT FROM tidal.tenant_defs t WHERE t.tenant_id = m.tenant "
		"       AND (t.required_regions IS NULL OR $1 = ANY (t.required_regions)))",
		1, {INT4OID}, NULL
	};
	static OwnedQuery held_q = {
		"SELECT h.tenant, h.seqno, h.record FROM tidal.session_held h "
		" WHERE h.tenant = 0 OR EXISTS (SELECT FROM tidal.tenant_defs t WHERE t.tenant_id = h.tenant "
		"       AND (t.required_regions IS NULL OR $1 = ANY (t.required_regions)))",
		1, {INT4OID}, NULL
	};
	Datum		args[1] = {Int32GetDatum(region)};
	TidalSavedUser saved;
	int			pass;

	if (!query_has_column("session_held", NULL))
		return;
	query_begin(&saved);
	for (pass = 0; pass < 2; pass++)
	{
		uint64		i;

		query_exec(pass == 0 ? &marks_q : &held_q, args, NULL, true, SPI_OK_SELECT);
		for (i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			bytea	   *data = DatumGetByteaPP(SPI_getbinval(tup, desc, 3, &isnull));

			CHECK_FOR_INTERRUPTS();
			fn(pass == 0 ? SESSION_EXPORT_MARK : SESSION_EXPORT_HELD,
			   DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull)),
			   DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull)),
			   VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data), arg);
		}
	}
	query_end(&saved);
}

void
session_import_begin(void)
{
	static OwnedQuery held_q = {"DELETE FROM tidal.session_held", 0, {InvalidOid}, NULL};
	static OwnedQuery marks_q = {"DELETE FROM tidal.session_marks", 0, {InvalidOid}, NULL};
	TidalSavedUser saved;

	query_begin(&saved);
	query_exec(&held_q, NULL, NULL, false, SPI_OK_DELETE);
	query_exec(&marks_q, NULL, NULL, false, SPI_OK_DELETE);
	query_end(&saved);
}

void
session_import_mark(int64 tenant, const char *session, int len, int64 applied)
{
	static OwnedQuery q = {
		"INSERT INTO tidal.session_marks (tenant, session, applied_seqno) VALUES ($1, $2, $3) "
		"ON CONFLICT (tenant, session) DO UPDATE SET applied_seqno = excluded.applied_seqno",
		3, {INT8OID, TEXTOID, INT8OID}, NULL
	};
	Datum		args[3];
	TidalSavedUser saved;

	validate_session(session, len);
	if (applied < 0 || applied > LOG_SESSION_MAX_SEQNO)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("a transferred session mark is out of range")));
	args[0] = Int64GetDatum(tenant);
	args[1] = PointerGetDatum(cstring_to_text_with_len(session, len));
	args[2] = Int64GetDatum(applied);
	query_begin(&saved);
	query_exec(&q, args, NULL, false, SPI_OK_INSERT);
	query_end(&saved);
}

void
session_readmit(const LogRecord *rec)
{
	int64		held;

	if (rec->session == NULL)
		return;
	if (session_admit(rec, &held) == SESSION_NEXT && held > 0)
		advance_mark(rec, false);
}

/* ---- a rebuild's question ---- */

typedef struct HeldKey
{
	int64		tenant;
	int64		seqno;
	int64		wall_ns;
	int32		logical;
	int32		node;
	char		session[LOG_SESSION_MAXLEN + 1];
} HeldKey;

struct SessionHeldSet
{
	HTAB	   *held;			/* HeldKey; NULL: nothing is held */
};

static bool
add_held_key(HeapTuple tup, TupleDesc desc, void *arg)
{
	SessionHeldSet *set = (SessionHeldSet *) arg;
	HeldKey		key;
	bool		isnull;
	text	   *session;

	memset(&key, 0, sizeof(key));
	key.tenant = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	session = DatumGetTextPP(SPI_getbinval(tup, desc, 2, &isnull));
	memcpy(key.session, VARDATA_ANY(session), Min(VARSIZE_ANY_EXHDR(session), LOG_SESSION_MAXLEN));
	key.seqno = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
	key.wall_ns = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
	key.logical = DatumGetInt32(SPI_getbinval(tup, desc, 5, &isnull));
	key.node = DatumGetInt32(SPI_getbinval(tup, desc, 6, &isnull));
	(void) hash_search(set->held, &key, HASH_ENTER, NULL);
	return true;
}

/* what is held here, read once per rebuild or fold, in its snapshot */
static SessionHeldSet *
load_held_set(void)
{
	static OwnedQuery q = {
		"SELECT tenant, session, seqno, hlc_wall_ns, hlc_logical, hlc_node FROM tidal.session_held",
		0, {InvalidOid}, NULL
	};
	/* the replay calls with per-row memory: the set lives as long as the transaction */
	SessionHeldSet *set = MemoryContextAllocZero(TopTransactionContext, sizeof(SessionHeldSet));
	HASHCTL		ctl;
	TidalSavedUser saved;

	/* the library may be newer than the extension's SQL objects (before ALTER EXTENSION UPDATE) */
	if (!query_has_column("session_held", NULL))
		return set;
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(HeldKey);
	ctl.entrysize = sizeof(HeldKey);
	ctl.hcxt = TopTransactionContext;
	set->held = hash_create("tidal held session writes", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	query_begin(&saved);
	query_each_row(&q, NULL, NULL, true, add_held_key, set);
	query_end(&saved);
	return set;
}

bool
session_held_here(SessionHeldSet **set, const LogRecord *rec)
{
	HeldKey		key;
	bool		found;

	if (*set == NULL)
		*set = load_held_set();
	if ((*set)->held == NULL)
		return false;
	memset(&key, 0, sizeof(key));
	key.tenant = rec->tenant;
	memcpy(key.session, rec->session, Min(rec->session_len, LOG_SESSION_MAXLEN));
	key.seqno = rec->session_seqno;
	key.wall_ns = rec->hlc.wall_ns;
	key.logical = rec->hlc.logical;
	key.node = rec->hlc.node;
	(void) hash_search((*set)->held, &key, HASH_FIND, &found);
	return found;
}

/* ---- the sealer's tick ---- */

/* gaps waiting longer than tidal.session_gap_timeout, each reported once */
static void
report_gaps(void)
{
	static OwnedQuery q = {
		"WITH late AS ("
		"  UPDATE tidal.session_held SET reported = true "
		"   WHERE NOT reported AND held_at < pg_catalog.now() - pg_catalog.make_interval(secs => $1 / 1000.0) "
		"  RETURNING tenant, session, seqno, held_at) "
		"SELECT l.tenant, l.session, m.applied_seqno, pg_catalog.count(*), pg_catalog.min(l.held_at)::pg_catalog.text "
		"  FROM late l JOIN tidal.session_marks m USING (tenant, session) "
		" GROUP BY l.tenant, l.session, m.applied_seqno",
		1, {INT4OID}, NULL
	};
	Datum		args[1] = {Int32GetDatum(tidal_session_gap_timeout_ms)};
	TidalSavedUser saved;
	uint64		i;

	query_begin(&saved);
	query_exec(&q, args, NULL, false, SPI_OK_SELECT);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		int64		mark = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));

		ereport(WARNING,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("session \"%s\" of tenant %s waits for seqno " INT64_FORMAT,
						SPI_getvalue(tup, desc, 2), SPI_getvalue(tup, desc, 1), mark + 1),
				 errdetail("%s of its later writes are held here since %s.",
						   SPI_getvalue(tup, desc, 4), SPI_getvalue(tup, desc, 5)),
				 errhint("The agent should write seqno " INT64_FORMAT " again; held writes are applied once it arrives, or when the session expires (tidal.session_ttl).",
						 mark + 1)));
	}
	query_end(&saved);
}

/*
 * Sessions idle longer than tidal.session_ttl are forgotten.  Their held
 * writes are applied first, past the gap (reported), so that a rebuild,
 * which counts every session write not held here, agrees.
 */
static void
expire_sessions(void)
{
	static OwnedQuery q = {
		"DELETE FROM tidal.session_marks WHERE ctid IN ("
		"  SELECT ctid FROM tidal.session_marks "
		"   WHERE updated_at < pg_catalog.now() - pg_catalog.make_interval(secs => $1) "
		"   LIMIT $2 FOR UPDATE SKIP LOCKED) "
		"RETURNING tenant, session, applied_seqno",
		2, {INT4OID, INT4OID}, NULL
	};
	Datum		args[2] = {Int32GetDatum(tidal_session_ttl_s), Int32GetDatum(EXPIRE_PER_TICK)};
	TidalSavedUser saved;
	int64	   *tenants;
	Datum	   *sessions;
	int64	   *marks;
	int			n;
	int			i;
	MemoryContext caller = CurrentMemoryContext;

	/* a release stages counts: the rebuild waits for this transaction, as for any writer */
	LockRelationOid(log_pending_relid(false), RowExclusiveLock);
	query_begin(&saved);
	query_exec(&q, args, NULL, false, SPI_OK_DELETE_RETURNING);
	n = (int) SPI_processed;
	tenants = MemoryContextAlloc(caller, sizeof(int64) * Max(n, 1));
	sessions = MemoryContextAlloc(caller, sizeof(Datum) * Max(n, 1));
	marks = MemoryContextAlloc(caller, sizeof(int64) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		MemoryContext old;

		tenants[i] = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		old = MemoryContextSwitchTo(caller);
		sessions[i] = PointerGetDatum(DatumGetTextPCopy(SPI_getbinval(tup, desc, 2, &isnull)));
		MemoryContextSwitchTo(old);
		marks[i] = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
	}
	query_end(&saved);

	for (i = 0; i < n; i++)
	{
		int			nheld;
		HeldWrite  *held = take_held(tenants[i], sessions[i], 0, &nheld);

		if (nheld == 0)
			continue;
		ereport(WARNING,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("session \"%s\" of tenant " INT64_FORMAT " expired waiting for seqno " INT64_FORMAT,
						TextDatumGetCString(sessions[i]), tenants[i], marks[i] + 1),
				 errdetail("Its %d held writes are applied without it.", nheld)));
		release(held, nheld);
	}
}

static void
expire_step(void *arg pg_attribute_unused())
{
	expire_sessions();
}

void
session_tick(void)
{
	ErrorData  *err;

	if (!query_has_column("session_held", NULL))
		return;
	report_gaps();
	/* a held write that cannot be applied yet leaves its session for the next tick */
	err = subxact_try(expire_step, NULL);
	if (err != NULL)
		ereport(WARNING,
				(errcode(err->sqlerrcode),
				 errmsg("tidal could not expire idle sessions: %s", err->message),
				 errhint("The sealer tries again in a second.")));
}

/* ---- SQL ---- */

/* this node's mark of a session, and what it holds of it */
typedef struct SessionView
{
	int64		applied;
	int64		held;
	int64		first_held;		/* 0: none */
	TimestampTz waiting_since;	/* 0: nothing held */
	TimestampTz updated_at;		/* 0: unknown session */
} SessionView;

static void
read_session(int64 tenant, Datum session, SessionView *v)
{
	static OwnedQuery q = {
		"SELECT m.applied_seqno, m.updated_at, "
		"       (SELECT pg_catalog.count(*) FROM tidal.session_held h WHERE h.tenant = m.tenant AND h.session = m.session), "
		"       (SELECT pg_catalog.min(h.seqno) FROM tidal.session_held h WHERE h.tenant = m.tenant AND h.session = m.session), "
		"       (SELECT pg_catalog.min(h.held_at) FROM tidal.session_held h WHERE h.tenant = m.tenant AND h.session = m.session) "
		"  FROM tidal.session_marks m WHERE m.tenant = $1 AND m.session = $2",
		2, {INT8OID, TEXTOID}, NULL
	};
	Datum		args[2] = {Int64GetDatum(tenant), session};
	TidalSavedUser saved;

	memset(v, 0, sizeof(*v));
	query_begin(&saved);
	/* not read-only: each look takes a fresh snapshot (tidal.await_session polls) */
	query_exec(&q, args, NULL, false, SPI_OK_SELECT);
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		d;

		v->applied = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		v->updated_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 2, &isnull));
		v->held = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
		d = SPI_getbinval(tup, desc, 4, &isnull);
		v->first_held = isnull ? 0 : DatumGetInt64(d);
		d = SPI_getbinval(tup, desc, 5, &isnull);
		v->waiting_since = isnull ? 0 : DatumGetTimestampTz(d);
	}
	query_end(&saved);
}

static Datum
session_argument(FunctionCallInfo fcinfo, int n)
{
	text	   *t;

	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("session must not be NULL")));
	t = PG_GETARG_TEXT_PP(n);
	validate_session(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
	return PointerGetDatum(t);
}

/*
 * tidal.session_status(session text, tenant bigint DEFAULT 0)
 *    RETURNS TABLE(applied_seqno bigint, held bigint, first_held_seqno bigint,
 *                  waiting_since timestamptz, last_write_at timestamptz)
 *
 * One row, also for a session this node has not seen (applied_seqno 0).
 */
Datum
tidal_session_status(PG_FUNCTION_ARGS)
{
	Datum		session = session_argument(fcinfo, 0);
	TenantInfo	tenant;
	SessionView v;
	TupleDesc	desc;
	Datum		values[5];
	bool		nulls[5] = {false, false, true, true, true};

	(void) tenant_argument(fcinfo, 1, &tenant);
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "tidal.session_status must return a row");
	read_session(tenant.tenant, session, &v);
	values[0] = Int64GetDatum(v.applied);
	values[1] = Int64GetDatum(v.held);
	if (v.first_held > 0)
	{
		values[2] = Int64GetDatum(v.first_held);
		nulls[2] = false;
	}
	if (v.waiting_since != 0)
	{
		values[3] = TimestampTzGetDatum(v.waiting_since);
		nulls[3] = false;
	}
	if (v.updated_at != 0)
	{
		values[4] = TimestampTzGetDatum(v.updated_at);
		nulls[4] = false;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

/*
 * tidal._session_mark(session text, tenant bigint, caller_region int,
 *                     caller_shard int, after_seq bigint) RETURNS bigint
 *    This node's mark of a session, for a shard sibling's
 *    tidal.await_session (cluster/route.c's routed call: once this node
 *    has the caller's own writes for it; the peer role's, as
 *    tidal._read_owned).
 */
Datum
tidal_session_mark(PG_FUNCTION_ARGS)
{
	Datum		session = session_argument(fcinfo, 0);
	int64		tenant;
	SessionView v;
	int			i;

	for (i = 1; i < 5; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("tidal._session_mark arguments must not be NULL")));
	tenant = PG_GETARG_INT64(1);
	validate_tenant_id(tenant);
	route_await_applied(PG_GETARG_INT32(2), PG_GETARG_INT32(3), PG_GETARG_INT64(4),
						Max(tidal_peer_timeout_ms / 2, 1));
	read_session(tenant, session, &v);
	PG_RETURN_INT64(v.applied);
}

/* the other shards of this region, and what each said of the session */
typedef struct SiblingMark
{
	RouteScatter call;
	int64		mark;			/* -1: not answered */
	bool		reached;
} SiblingMark;

/* ask every sibling not yet at seqno for its mark, all at once; each answers or says why not */
static void
ask_siblings(SiblingMark *siblings, int n, Datum session, int64 tenant, int64 seqno)
{
	const char *params[2] = {TextDatumGetCString(session), psprintf(INT64_FORMAT, tenant)};
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), tidal_peer_timeout_ms);
	int			i;

	for (i = 0; i < n; i++)
	{
		if (siblings[i].reached)
			continue;
		siblings[i].call.deadline = deadline;
		(void) route_scatter_send(&siblings[i].call,
								  "SELECT tidal._session_mark($1, $2::pg_catalog.int8, $3::pg_catalog.int4, "
								  "$4::pg_catalog.int4, $5::pg_catalog.int8)",
								  2, params);
	}
	for (i = 0; i < n; i++)
	{
		PGresult   *res;

		if (siblings[i].reached)
			continue;
		siblings[i].mark = -1;
		res = route_scatter_collect(&siblings[i].call, 1, 1024);
		if (res == NULL)
			continue;			/* call.why says why */
		if (PQntuples(res) == 1 && PQnfields(res) == 1 && !PQgetisnull(res, 0, 0))
			siblings[i].mark = strtoi64(PQgetvalue(res, 0, 0), NULL, 10);
		else
			siblings[i].call.why = "it answered with something else than one mark";
		PQclear(res);
		siblings[i].reached = siblings[i].mark >= seqno;
	}
}

/*
 * tidal.await_session(session text, seqno bigint, timeout interval DEFAULT
 * '5s', tenant bigint DEFAULT 0) RETURNS bigint
 *
 * Waits until every write of the session up to seqno is applied here and,
 * in a region of several shards, on every other shard of this region (its
 * writes may be counted there), and returns this node's mark; after
 * timeout, an error says what is missing where.
 */
Datum
tidal_await_session(PG_FUNCTION_ARGS)
{
	Datum		session = session_argument(fcinfo, 0);
	int64		seqno;
	Interval   *timeout;
	int64		timeout_ms;
	TenantInfo	tenant;
	TimestampTz start = GetCurrentTimestamp();
	SessionView v;
	SiblingMark siblings[TIDAL_MAX_PEERS];
	int			nsiblings = 0;
	SiblingMark *behind = NULL;
	int			look;
	int32		s;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("seqno and timeout must not be NULL")));
	seqno = PG_GETARG_INT64(1);
	validate_session_seqno(seqno);
	timeout = PG_GETARG_INTERVAL_P(2);
	if (timeout->month != 0 || timeout->day != 0 || timeout->time < 0 ||
		timeout->time > INT64CONST(3600) * USECS_PER_SEC)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the timeout of tidal.await_session is from 0 to 1 hour")));
	timeout_ms = timeout->time / 1000;
	(void) tenant_argument(fcinfo, 3, &tenant);
	for (s = 0; s < ownership_map()->count && nsiblings < TIDAL_MAX_PEERS; s++)
		if (s != tidal_shard_id)
		{
			memset(&siblings[nsiblings], 0, sizeof(SiblingMark));
			siblings[nsiblings].call.shard = s;
			siblings[nsiblings].call.what = "tidal.await_session";
			siblings[nsiblings].mark = -1;
			nsiblings++;
		}

	for (look = 0;; look++)
	{
		read_session(tenant.tenant, session, &v);
		if (v.applied >= seqno)
		{
			int			i;

			/* the other shards: asked now and then, all at once */
			if (look % AWAIT_SIBLING_EVERY == 0)
				ask_siblings(siblings, nsiblings, session, tenant.tenant, seqno);
			behind = NULL;
			for (i = 0; i < nsiblings && behind == NULL; i++)
				if (!siblings[i].reached)
					behind = &siblings[i];
			if (behind == NULL)
				PG_RETURN_INT64(v.applied);
		}
		if (TimestampDifferenceExceeds(start, GetCurrentTimestamp(), (int) timeout_ms))
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 AWAIT_POLL_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	if (behind != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("session \"%s\" reached seqno " INT64_FORMAT " here, and shard %d of this region has not yet, within the timeout",
						TextDatumGetCString(session), v.applied, behind->call.shard),
				 behind->mark >= 0 ?
				 errdetail("Shard %d has applied the session up to seqno " INT64_FORMAT ".", behind->call.shard, behind->mark) :
				 errdetail("Shard %d did not answer: %s.", behind->call.shard,
						   behind->call.why ? behind->call.why : "no answer"),
				 errhint("A shard gets this region's other shards' writes from their logs (tidal.replication_status).")));
	ereport(ERROR,
			(errcode(ERRCODE_QUERY_CANCELED),
			 errmsg("session \"%s\" reached seqno " INT64_FORMAT " here, not " INT64_FORMAT ", within the timeout",
					TextDatumGetCString(session), v.applied, seqno),
			 v.held > 0 ?
			 errdetail_plural("%d later write is held here, from seqno " INT64_FORMAT ", waiting for seqno " INT64_FORMAT ".",
							  "%d later writes are held here, from seqno " INT64_FORMAT ", waiting for seqno " INT64_FORMAT ".",
							  (unsigned long) v.held, (int) v.held, v.first_held, v.applied + 1) :
			 errdetail("No later write of the session has arrived here."),
			 errhint("Writes from other regions arrive with replication (tidal.replication_status); a seqno that no region took must be written again.")));
	PG_RETURN_NULL();
}
