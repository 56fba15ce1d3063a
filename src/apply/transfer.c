/*
 * apply/transfer.c
 *    Owns state transfer between regions, over the same libpq connection a
 *    receiver pulls batches with.
 *
 * The serving side, tidal._transfer(requester), brings its newest snapshot
 * up to date (snapshot.c) and answers with it: one row per origin mark,
 * one with its newest HLC, and its chunks -- only those of tenants stored
 * in the requester's region, and tenant 0's, which also holds the registry
 * and the definitions.  The batches after the marks it still holds
 * (compaction never goes beyond the oldest snapshot kept).
 *
 * The receiving side, tidal.transfer_state(peer), checks every chunk
 * before it writes anything, then, in one transaction that holds off every
 * writer of this database: applies the records of other kinds the snapshot
 * carries (registry, definitions, profiles, items, hides: merges by HLC,
 * so what arrives again later is a no-op), replaces its snapshots by the
 * received one, and moves every other origin to the snapshot's mark --
 * batches up to the mark are dropped, and the receivers continue after it.
 * Its own origin's log stays: the rebuild replays it after the mark.  The
 * hot state is rebuilt on next use, from the received snapshot and the log
 * after it: every event counts once, because the marks travelled with it.
 *
 * May call: core/, pg/, log/, state/, replication/, cluster/, signals/,
 * ranking/, apply/.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/pg_bswap.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "apply/apply.h"
#include "apply/snapshot.h"
#include "apply/transfer.h"
#include "cluster/session.h"
#include "core/hlc.h"
#include "core/snapfmt.h"
#include "log/log.h"
#include "pg/query.h"
#include "pg/remote.h"
#include "pg/settings.h"
#include "pg/validate.h"
#include "replication/peer.h"
#include "state/catalog.h"
#include "state/clock.h"
#include "state/recovery.h"
#include "state/state.h"

PG_FUNCTION_INFO_V1(tidal_transfer_serve);
PG_FUNCTION_INFO_V1(tidal_transfer_state);

#define PART_MARK		1
#define PART_HLC		2
#define PART_CHUNK		3
#define PART_SESSION_MARK	4	/* batch_no: tenant, last_seq: the mark, data: the session */
#define PART_SESSION_HELD	5	/* batch_no: tenant, last_seq: its seqno, data: the held record */
#define PART_SESSIONS	6		/* the sender exports sessions (0.8): the receiver's are replaced */

#define TRANSFER_MIN_TIMEOUT_MS	300000	/* a whole state takes longer than a pull */
#define TRANSFER_MAX_BYTES		((Size) 1 << 30)
#define TRANSFER_MAX_ROWS		10000000

/* a session's mark or held write, as one row of tidal._transfer's answer */
static void
put_session_row(SessionExportKind kind, int64 tenant, int64 seqno, const char *data, Size len, void *arg)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) arg;
	Datum		values[7];
	bool		nulls[7] = {false, false, false, false, false, false, false};
	bytea	   *b = palloc(VARHDRSZ + len);

	SET_VARSIZE(b, VARHDRSZ + len);
	memcpy(VARDATA(b), data, len);
	values[0] = Int32GetDatum(kind == SESSION_EXPORT_MARK ? PART_SESSION_MARK : PART_SESSION_HELD);
	values[1] = Int32GetDatum(0);
	values[2] = Int32GetDatum(0);
	values[3] = Int64GetDatum(tenant);
	values[4] = Int64GetDatum(seqno);
	values[5] = PointerGetDatum(b);
	values[6] = Int32GetDatum(0);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	pfree(b);
}

/*
 * tidal._transfer(requester int) RETURNS TABLE(part int, origin_region int,
 *     origin_shard int, batch_no bigint, last_seq bigint, data bytea,
 *     origin_node int)
 * origin_node (0.8): a mark's node; 0 in the other parts.
 */
Datum
tidal_transfer_serve(PG_FUNCTION_ARGS)
{
	static OwnedQuery chunks_q = {
		"SELECT c.tenant, c.chunk FROM tidal.snapshot_chunks c "
		" WHERE c.snapshot_id = $1 "
		"   AND (c.tenant = 0 OR EXISTS (SELECT FROM tidal.tenant_defs t WHERE t.tenant_id = c.tenant "
		"        AND (t.required_regions IS NULL OR $2 = ANY (t.required_regions)))) "
		" ORDER BY c.chunk_no",
		2, {INT8OID, INT4OID}, NULL
	};
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int32		requester;
	int64		id;
	LogMarks	marks;
	TidalHlc	max_hlc;
	Datum		values[7];
	bool		nulls[7];
	Datum		args[2];
	TidalSavedUser saved;
	uint64		r;
	int			i;

	tidal_require_preload();
	if (!log_knows_nodes())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tidal._transfer is not served until ALTER EXTENSION tidal UPDATE has run on this node"),
				 errhint("Run ALTER EXTENSION tidal UPDATE here.")));
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("tidal._transfer needs the requester's region")));
	requester = PG_GETARG_INT32(0);

	/*
	 * As _ship does, the caller names its region; it must at least be a
	 * region peer: the state of this shard is of no use to another shard.
	 */
	if (peer_conninfo((PeerId) {requester, tidal_shard_id, PEER_ANY_NODE}) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("region %d is not a peer of region %d", requester, tidal_region_id),
				 errhint("Add it with tidal.add_peer first.")));

	/* the newest snapshot, brought up to what this node holds now */
	(void) snapshot_take(true);
	if (!snapshot_newest(&id, &marks, &max_hlc))
		(void) snapshot_take(false);
	if (!snapshot_newest(&id, &marks, &max_hlc))
		elog(ERROR, "tidal: no snapshot to transfer");

	InitMaterializedSRF(fcinfo, 0);
	memset(nulls, 0, sizeof(nulls));
	for (i = 0; i < marks.n; i++)
	{
		values[0] = Int32GetDatum(PART_MARK);
		values[1] = Int32GetDatum(marks.m[i].region);
		values[2] = Int32GetDatum(marks.m[i].shard);
		values[3] = Int64GetDatum(marks.m[i].batch_no);
		values[4] = Int64GetDatum(marks.m[i].last_seq);
		values[6] = Int32GetDatum(marks.m[i].node);
		nulls[5] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	/* the newest HLC: logical and node in the int columns, wall time in batch_no */
	values[0] = Int32GetDatum(PART_HLC);
	values[1] = Int32GetDatum(max_hlc.logical);
	values[2] = Int32GetDatum(max_hlc.node);
	values[3] = Int64GetDatum(max_hlc.wall_ns);
	values[4] = Int64GetDatum(id);
	values[6] = Int32GetDatum(0);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);

	args[0] = Int64GetDatum(id);
	args[1] = Int32GetDatum(requester);
	query_begin(&saved);
	query_exec(&chunks_q, args, NULL, true, SPI_OK_SELECT);
	for (r = 0; r < SPI_processed; r++)
	{
		bool		isnull;

		CHECK_FOR_INTERRUPTS();
		values[0] = Int32GetDatum(PART_CHUNK);
		values[1] = Int32GetDatum(0);
		values[2] = Int32GetDatum(0);
		values[3] = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull);
		values[4] = Int64GetDatum(0);
		values[5] = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull);
		nulls[5] = false;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	query_end(&saved);

	/* the sessions' marks and held writes, as they are now (cluster/session.h) */
	if (query_has_column("session_held", NULL))
	{
		memset(values, 0, sizeof(values));
		memset(nulls, 0, sizeof(nulls));
		values[0] = Int32GetDatum(PART_SESSIONS);
		nulls[5] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		session_export(requester, put_session_row, rsinfo);
	}
	return (Datum) 0;
}

/* ---- receiving ---- */

static int32
get_i32(const PGresult *res, int row, int col)
{
	uint32		v;

	memcpy(&v, PQgetvalue(res, row, col), 4);
	return (int32) pg_ntoh32(v);
}

static int64
get_i64(const PGresult *res, int row, int col)
{
	uint64		v;

	memcpy(&v, PQgetvalue(res, row, col), 8);
	return (int64) pg_ntoh64(v);
}

/* ask the peer; the answer, checked for shape (the caller PQclears it) */
static PGresult *
fetch_state(int32 region)
{
	static const Oid types[7] = {INT4OID, INT4OID, INT4OID, INT8OID, INT8OID, BYTEAOID, INT4OID};
	static const int lengths[7] = {4, 4, 4, 8, 8, REMOTE_NULLABLE, 4};
	char	   *conninfo = peer_conninfo((PeerId) {region, tidal_shard_id, PEER_ANY_NODE});
	char		requester[16];
	const char *params[1] = {requester};
	PGconn	   *conn;
	PGresult   *res;
	char	   *why = NULL;
	const char *shape;
	int			timeout = Max(tidal_peer_timeout_ms, TRANSFER_MIN_TIMEOUT_MS);

	if (conninfo == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("region %d is not a peer of this region", region),
				 errhint("Add it first with tidal.add_peer.")));
	snprintf(requester, sizeof(requester), "%d", tidal_region_id);
	conn = remote_connect(conninfo, tidal_peer_timeout_ms);
	if (conn == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("could not connect to region %d for a state transfer", region)));
	res = remote_query(conn,
					   "SELECT part, origin_region, origin_shard, batch_no, last_seq, data, origin_node "
					   "FROM tidal._transfer($1::pg_catalog.int4)",
					   1, params, 1, timeout, TRANSFER_MAX_ROWS, TRANSFER_MAX_BYTES, &why);
	PQfinish(conn);
	if (res == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("region %d did not answer the state transfer: %s", region, why ? why : "no answer")));
	if ((shape = remote_check_shape(res, 7, types, lengths)) != NULL)
	{
		PQclear(res);
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("region %d answered the state transfer with a malformed result: %s", region, shape)));
	}
	return res;
}

/* forget what the snapshot covers of every other origin; continue after its marks */
static void
move_origins_to(const LogMarks *marks)
{
	static OwnedQuery behind_q = {
		"SELECT pg_catalog.count(*) FROM tidal.origins "
		" WHERE region = $1 AND shard = $2 AND node = $5 AND compacted_batch > $3",
		5, {INT4OID, INT4OID, INT8OID, INT8OID, INT4OID}, NULL
	};
	static OwnedQuery drop_q = {
		"DELETE FROM tidal.batches "
		" WHERE origin_region = $1 AND origin_shard = $2 AND origin_node = $5 AND batch_no <= $3",
		5, {INT4OID, INT4OID, INT8OID, INT8OID, INT4OID}, NULL
	};
	static OwnedQuery mark_q = {
		"INSERT INTO tidal.origins AS o (region, shard, node, last_seq, last_batch, compacted_batch) "
		"VALUES ($1, $2, $5, $4, $3, $3) "
		"ON CONFLICT (region, shard, node) DO UPDATE "
		"   SET last_batch = GREATEST(o.last_batch, excluded.last_batch), "
		"       last_seq = GREATEST(o.last_seq, excluded.last_seq), "
		"       compacted_batch = GREATEST(o.compacted_batch, excluded.compacted_batch)",
		5, {INT4OID, INT4OID, INT8OID, INT8OID, INT4OID}, NULL
	};
	TidalSavedUser saved;
	int			i;

	query_begin(&saved);
	for (i = 0; i < marks->n; i++)
	{
		const LogMark *m = &marks->m[i];
		Datum		args[5] = {Int32GetDatum(m->region), Int32GetDatum(m->shard),
			Int64GetDatum(m->batch_no), Int64GetDatum(m->last_seq), Int32GetDatum(m->node)};
		bool		isnull;

		if (m->region == tidal_region_id && m->shard == tidal_shard_id)
			continue;			/* our shard's own log stays; the rebuild replays it after the mark */
		query_exec(&behind_q, args, NULL, true, SPI_OK_SELECT);
		if (DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) > 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("the peer's snapshot is older than what this region has compacted of origin %d:%d:%d",
							m->region, m->shard, m->node),
					 errhint("Transfer from a peer that is further ahead, or wait for its next snapshot.")));
		query_exec(&drop_q, args, NULL, false, SPI_OK_DELETE);
		query_exec(&mark_q, args, NULL, false, SPI_OK_INSERT);
	}
	query_end(&saved);
}

/* apply the records of other kinds a chunk carries (signal records stay in the snapshot) */
static void
apply_chunk_records(const SnapChunk *c)
{
	const char *p = c->body;
	const char *end = c->body + c->body_len;

	while (p < end)
	{
		LogRecord	rec;
		Size		consumed;
		const char *why;

		CHECK_FOR_INTERRUPTS();
		if (!codec_read_record(p, end - p, &consumed, &rec, &why))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("a transferred snapshot holds a bad record: %s", why)));
		if (rec.kind != LOG_RECORD_SIGNAL)
			apply_transferred_record(&rec);
		p += consumed;
	}
}

/* a session's mark or held write received in a state transfer */
typedef struct SessionRow
{
	int			part;
	int64		tenant;
	int64		seqno;
	char	   *data;
	int			len;
} SessionRow;

/* checked before anything is written: a held write is a valid record of its session */
static void
check_session_row(const SessionRow *row, int32 region)
{
	if (row->tenant < 0)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("region %d sent a session of a negative tenant in its state transfer", region)));
	if (row->part == PART_SESSION_MARK)
		validate_session(row->data, row->len);
	else
	{
		LogRecord	rec;
		Size		consumed;
		const char *why;

		if (!codec_read_record(row->data, row->len, &consumed, &rec, &why) ||
			consumed != (Size) row->len || rec.session == NULL ||
			rec.tenant != row->tenant || rec.session_seqno != row->seqno)
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("region %d sent a held session write that is not one in its state transfer", region)));
		hlc_check_offset(&rec.hlc, "a transferred session write's hlc");
		validate_record(&rec);
	}
}

static void
readmit_record(const LogRecord *rec, void *arg pg_attribute_unused())
{
	session_readmit(rec);
}

/*
 * The sender's sessions replace ours; then the session writes of our log
 * after the snapshot's marks (which the sender may not have yet) move the
 * marks and hold what follows a gap, as their arrival would have.  The
 * rebuild after the transfer counts every session write not held here.
 */
static void
import_sessions(List *rows, const LogMarks *marks)
{
	ListCell   *lc;
	LogMarks	reached;

	session_import_begin();
	foreach(lc, rows)
	{
		SessionRow *row = lfirst(lc);

		if (row->part == PART_SESSION_MARK)
			session_import_mark(row->tenant, row->data, row->len, row->seqno);
	}
	foreach(lc, rows)
	{
		SessionRow *row = lfirst(lc);
		LogRecord	rec;
		Size		consumed;
		const char *why;

		if (row->part != PART_SESSION_HELD)
			continue;
		(void) codec_read_record(row->data, row->len, &consumed, &rec, &why);
		session_readmit(&rec);
	}
	memset(&reached, 0, sizeof(reached));
	log_replay_after(marks, true, readmit_record, NULL, &reached);
}

int64
transfer_state_from(int32 region)
{
	PGresult   *res;
	LogMarks	marks;
	TidalHlc	max_hlc;
	bool		have_hlc = false;
	List	   *chunks = NIL;
	List	   *records = NIL;
	List	   *session_rows = NIL;
	bool		sessions = false;
	int64		entries = 0;
	int64		id;
	int			r;
	ListCell   *lc;

	if (region == tidal_region_id)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a region cannot transfer state from itself")));
	tidal_ensure_loaded();
	res = fetch_state(region);

	/* check everything before anything is written */
	memset(&marks, 0, sizeof(marks));
	memset(&max_hlc, 0, sizeof(max_hlc));
	for (r = 0; r < PQntuples(res); r++)
	{
		int32		part = get_i32(res, r, 0);

		if (part == PART_MARK)
		{
			LogMark    *m;

			if (log_marks_find(&marks, get_i32(res, r, 1), get_i32(res, r, 2), get_i32(res, r, 6)) != NULL ||
				get_i64(res, r, 3) < 0 || get_i64(res, r, 4) < 0 ||
				get_i32(res, r, 6) < 0 || get_i32(res, r, 6) > TIDAL_MAX_NODE_ID)
				ereport(ERROR,
						(errcode(ERRCODE_PROTOCOL_VIOLATION),
						 errmsg("region %d sent a malformed mark in its state transfer", region)));
			m = log_marks_add(&marks, get_i32(res, r, 1), get_i32(res, r, 2), get_i32(res, r, 6));
			m->batch_no = get_i64(res, r, 3);
			m->last_seq = get_i64(res, r, 4);
		}
		else if (part == PART_HLC)
		{
			max_hlc.logical = get_i32(res, r, 1);
			max_hlc.node = get_i32(res, r, 2);
			max_hlc.wall_ns = get_i64(res, r, 3);
			hlc_check_offset(&max_hlc, "a transferred snapshot's hlc");
			have_hlc = true;
		}
		else if (part == PART_CHUNK && !PQgetisnull(res, r, 5))
		{
			int			len = PQgetlength(res, r, 5);
			bytea	   *b = palloc(VARHDRSZ + len);
			SnapChunk	c;
			const char *why;

			SET_VARSIZE(b, VARHDRSZ + len);
			memcpy(VARDATA(b), PQgetvalue(res, r, 5), len);
			if (!snapfmt_read_chunk(VARDATA(b), len, &c, &why))
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("region %d sent a damaged snapshot chunk: %s", region, why)));
			if (c.kind == SNAP_CHUNK_STATES)
				entries += c.count;
			chunks = lappend(chunks, b);
		}
		else if (part == PART_SESSIONS)
			sessions = true;
		else if ((part == PART_SESSION_MARK || part == PART_SESSION_HELD) && !PQgetisnull(res, r, 5))
		{
			SessionRow *row = palloc(sizeof(SessionRow));

			row->part = part;
			row->tenant = get_i64(res, r, 3);
			row->seqno = get_i64(res, r, 4);
			row->len = PQgetlength(res, r, 5);
			row->data = palloc(row->len + 1);
			memcpy(row->data, PQgetvalue(res, r, 5), row->len);
			row->data[row->len] = '\0';
			check_session_row(row, region);
			session_rows = lappend(session_rows, row);
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("region %d sent an unknown part %d in its state transfer", region, part)));
	}
	PQclear(res);
	if (!have_hlc)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("region %d sent a state transfer without its snapshot's hlc", region)));

	/* hold off every writer and rebuild of this database until we commit */
	LockRelationOid(log_pending_relid(false), ShareRowExclusiveLock);
	PushActiveSnapshot(GetLatestSnapshot());

	/* the registry and the definitions first (kept first in chunks of tenant 0), then the rest */
	foreach(lc, chunks)
	{
		bytea	   *b = lfirst(lc);
		SnapChunk	c;
		const char *why;

		(void) snapfmt_read_chunk(VARDATA(b), VARSIZE(b) - VARHDRSZ, &c, &why);
		if (c.kind == SNAP_CHUNK_RECORDS)
		{
			if (c.tenant == 0)
				apply_chunk_records(&c);
			else
				records = lappend(records, b);
		}
	}
	foreach(lc, records)
	{
		bytea	   *b = lfirst(lc);
		SnapChunk	c;
		const char *why;

		(void) snapfmt_read_chunk(VARDATA(b), VARSIZE(b) - VARHDRSZ, &c, &why);
		apply_chunk_records(&c);
	}

	move_origins_to(&marks);
	id = snapshot_install(&marks, &max_hlc, chunks, entries);
	if (sessions)
		import_sessions(session_rows, &marks);
	PopActiveSnapshot();
	hlc_clock_observe(&max_hlc);

	/* rebuilt on next use, from the received snapshot and the log after it */
	state_db_set_loaded(MyDatabaseId, false);
	state_defs_bump();
	catalog_invalidate();
	ereport(LOG,
			(errmsg("tidal received the state of region %d: snapshot " INT64_FORMAT " with %lld entries",
					region, id, (long long) entries)));
	return id;
}

/* tidal.transfer_state(from_region int) RETURNS bigint */
Datum
tidal_transfer_state(PG_FUNCTION_ARGS)
{
	tidal_require_preload();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("tidal.transfer_state needs the region to transfer from")));
	PG_RETURN_INT64(transfer_state_from(PG_GETARG_INT32(0)));
}
