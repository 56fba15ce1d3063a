/*
 * log/log.c
 *    Appending to, sealing and replaying tidal's log (see log.h), whether
 *    this transaction wrote to it, and waking the worker that seals it.
 *    May call: core/, pg/.
 *
 * Sealing is serialized by a row lock on the origin's row in tidal.origins,
 * which also holds the origin's last sequence and batch numbers: batches
 * and sequence numbers are therefore gapless per origin, and a record is
 * sealed exactly once because it is deleted from tidal.pending in the same
 * transaction that inserts its batch.
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "tcop/utility.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "log/log.h"
#include "pg/query.h"
#include "pg/settings.h"

/* a batch is closed once its payload reaches this size (one record may exceed it) */
#define SEAL_MAX_PAYLOAD	(16 * 1024 * 1024)
#define SEAL_MAX_RECORDS	4096

/*
 * Group sealing: a commit that wrote the log counts itself in
 * commits_waiting, and wakes the sealer only when it is the first since the
 * sealer last took the count, or when the count reaches
 * LOG_GROUP_WAKE_COMMITS; the commits in between join the batch the sealer
 * is already gathering (workers/maintenance.c, gather_commits), without a
 * SetLatch each.
 */
#define LOG_GROUP_WAKE_COMMITS	1024

/* shared memory: where to find the worker that seals, to wake it */
typedef struct LogShared
{
	pg_atomic_uint32 sealer_procno;	/* its PGPROC number, or INVALID_PGPROCNO */
	pg_atomic_uint32 commits_waiting;	/* commits that wrote the log since the
										 * sealer last took the count */
	pg_atomic_uint32 seal_now;	/* a reader waits for a seal: no group delay */
} LogShared;

static LogShared *log_shared = NULL;

/* this transaction appended to the log (reset when it commits or aborts) */
static bool xact_written = false;
static bool callback_registered = false;

Size
log_shmem_size(void)
{
	return MAXALIGN(sizeof(LogShared));
}

void
log_shmem_init(void)
{
	bool		found;

	log_shared = ShmemInitStruct("tidal log", sizeof(LogShared), &found);
	if (!found)
	{
		pg_atomic_init_u32(&log_shared->sealer_procno, INVALID_PGPROCNO);
		pg_atomic_init_u32(&log_shared->commits_waiting, 0);
		pg_atomic_init_u32(&log_shared->seal_now, 0);
	}
}

void
log_request_seal(void)
{
	uint32		procno;

	if (log_shared == NULL)
		return;
	procno = pg_atomic_read_u32(&log_shared->sealer_procno);
	if (procno != INVALID_PGPROCNO)
		SetLatch(&ProcGlobal->allProcs[procno].procLatch);
}

static void
sealer_detach(int code pg_attribute_unused(), Datum arg pg_attribute_unused())
{
	pg_atomic_write_u32(&log_shared->sealer_procno, INVALID_PGPROCNO);
}

void
log_attach_sealer(void)
{
	pg_atomic_write_u32(&log_shared->sealer_procno, MyProc->pgprocno);
	on_shmem_exit(sealer_detach, (Datum) 0);
}

/*
 * A commit that wrote the log: count it, and wake the sealer if it is the
 * first commit it has not seen (it may be idle) or if enough have gathered
 * to fill a batch now.  Otherwise the sealer is awake or gathering already
 * and will seal this commit's records with the others.
 * Nothing here can fail: an atomic add and SetLatch.
 */
static void
log_commit_written(void)
{
	uint32		n;

	if (log_shared == NULL)
		return;
	n = pg_atomic_add_fetch_u32(&log_shared->commits_waiting, 1);
	if (n == 1 || n == LOG_GROUP_WAKE_COMMITS)
		log_request_seal();
}

uint32
log_take_commits_waiting(void)
{
	if (log_shared == NULL)
		return 0;
	pg_atomic_write_u32(&log_shared->seal_now, 0);	/* this seal is the one asked for */
	return pg_atomic_exchange_u32(&log_shared->commits_waiting, 0);
}

uint32
log_commits_waiting(void)
{
	return log_shared ? pg_atomic_read_u32(&log_shared->commits_waiting) : 0;
}

bool
log_group_full(void)
{
	return log_commits_waiting() >= LOG_GROUP_WAKE_COMMITS ||
		(log_shared != NULL && pg_atomic_read_u32(&log_shared->seal_now) != 0);
}

void
log_request_seal_now(void)
{
	if (log_shared == NULL)
		return;
	pg_atomic_write_u32(&log_shared->seal_now, 1);
	log_request_seal();
}

/*
 * At commit, let the worker that seals know, so that what this transaction
 * wrote is sealed (and shipped) now or with the group of commits it is
 * gathering (tidal.seal_group_delay), not at the next interval.  Nothing
 * here can fail.
 */
static void
log_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (xact_written)
				log_commit_written();
			xact_written = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			xact_written = false;
			break;
		default:
			break;
	}
}

bool
log_xact_written(void)
{
	return xact_written;
}

Oid
log_pending_relid(bool missing_ok)
{
	return RangeVarGetRelid(makeRangeVar("tidal", "pending", -1), NoLock, missing_ok);
}

void
log_append(const char *record, Size len)
{
	Relation	rel;
	bytea	   *b = palloc(VARHDRSZ + len);
	Datum		values[1];
	bool		nulls[1] = {false};
	HeapTuple	tup;

	/* what the executor would refuse of an INSERT, with its words */
	PreventCommandIfReadOnly("INSERT");
	PreventCommandIfParallelMode("INSERT");
	PreventCommandDuringRecovery("INSERT");

	SET_VARSIZE(b, VARHDRSZ + len);
	memcpy(VARDATA(b), record, len);
	values[0] = PointerGetDatum(b);

	/*
	 * Straight into the heap, not through SPI and the executor: this is the
	 * hot path of every write, and tidal.pending has nothing an INSERT would
	 * do more -- no index, no constraint but NOT NULL (the record never is),
	 * no row trigger, and its statement trigger (tidal._data_changed)
	 * ignores tidal's own writes.  The lock is held until the transaction
	 * ends, as the INSERT's would be: a rebuild waits for it.  A large record
	 * is moved to TOAST by heap_insert.
	 */
	rel = table_open(log_pending_relid(false), RowExclusiveLock);
	tup = heap_form_tuple(RelationGetDescr(rel), values, nulls);
	simple_heap_insert(rel, tup);
	heap_freetuple(tup);
	table_close(rel, NoLock);
	pfree(b);
	if (!callback_registered)
	{
		RegisterXactCallback(log_xact_callback, NULL);
		callback_registered = true;
	}
	xact_written = true;
}

typedef struct SealItem
{
	TidalHlc	hlc;
	bytea	   *record;
	uint32		events;
} SealItem;

static int
seal_item_cmp(const void *a, const void *b)
{
	return hlc_compare(&((const SealItem *) a)->hlc, &((const SealItem *) b)->hlc);
}

/*
 * Lock an origin's row and read its counters, creating the row if needed.
 * A new origin's sequence continues after the highest of its region and
 * shard (the shard's other nodes, and node 0 before 0.8), so that the
 * shard's sequence, tidal.local_seqno(), never goes back when another of
 * its nodes starts writing.
 *
 * node LOG_NODE_BEFORE_0_8: SQL objects before 0.8, whose origins are
 * (region, shard); see log_seal_through.
 */
#define LOG_NODE_BEFORE_0_8	(-1)

static void
lock_origin(int32 region, int32 shard, int32 node, int64 *last_seq, int64 *last_batch)
{
	static OwnedQuery lock_before_q = {
		"SELECT last_seq, last_batch FROM tidal.origins WHERE region = $1 AND shard = $2 FOR UPDATE",
		2, {INT4OID, INT4OID}, NULL
	};
	static OwnedQuery create_before_q = {
		"INSERT INTO tidal.origins(region, shard) VALUES ($1, $2) ON CONFLICT DO NOTHING",
		2, {INT4OID, INT4OID}, NULL
	};
	static OwnedQuery lock_q = {
		"SELECT last_seq, last_batch FROM tidal.origins "
		"WHERE region = $1 AND shard = $2 AND node = $3 FOR UPDATE",
		3, {INT4OID, INT4OID, INT4OID}, NULL
	};
	static OwnedQuery create_q = {
		"INSERT INTO tidal.origins(region, shard, node, last_seq) "
		"SELECT $1, $2, $3, coalesce(pg_catalog.max(o.last_seq), 0) FROM tidal.origins o "
		" WHERE o.region = $1 AND o.shard = $2 "
		"ON CONFLICT DO NOTHING",
		3, {INT4OID, INT4OID, INT4OID}, NULL
	};
	Datum		args[3] = {Int32GetDatum(region), Int32GetDatum(shard), Int32GetDatum(node)};
	int			attempt;

	for (attempt = 0; attempt < 2; attempt++)
	{
		bool		isnull;

		query_exec(node == LOG_NODE_BEFORE_0_8 ? &lock_before_q : &lock_q, args, NULL, false, SPI_OK_SELECT);
		if (SPI_processed == 1)
		{
			*last_seq = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
			*last_batch = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
			return;
		}
		query_exec(node == LOG_NODE_BEFORE_0_8 ? &create_before_q : &create_q, args, NULL, false, SPI_OK_INSERT);
	}
	elog(ERROR, "could not lock tidal origin %d:%d:%d", region, shard, node);
}

/*
 * Add a batch to tidal.batches and advance its origin; caller holds the
 * origin's row lock.  before_0_8: SQL objects before 0.8 (see lock_origin).
 */
static void
insert_batch(const LogBatchHeader *hdr, bytea *batch, bool before_0_8)
{
	static OwnedQuery advance_before_q = {
		"UPDATE tidal.origins SET last_seq = $3, last_batch = $4 WHERE region = $1 AND shard = $2",
		4, {INT4OID, INT4OID, INT8OID, INT8OID}, NULL
	};
	static OwnedQuery insert_q = {
		"INSERT INTO tidal.batches(origin_region, origin_shard, batch_no, "
		"first_seq, last_seq, event_count, origin_node, batch) "
		"VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
		8, {INT4OID, INT4OID, INT8OID, INT8OID, INT8OID, INT4OID, INT4OID, BYTEAOID}, NULL
	};
	static OwnedQuery advance_q = {
		"UPDATE tidal.origins SET last_seq = $3, last_batch = $4 "
		"WHERE region = $1 AND shard = $2 AND node = $5",
		5, {INT4OID, INT4OID, INT8OID, INT8OID, INT4OID}, NULL
	};
	Datum		ins_args[8];

	ins_args[0] = Int32GetDatum(hdr->origin_region);
	ins_args[1] = Int32GetDatum(hdr->origin_shard);
	ins_args[2] = Int64GetDatum(hdr->batch_no);
	ins_args[3] = Int64GetDatum(hdr->first_seq);
	ins_args[4] = Int64GetDatum(hdr->last_seq);
	ins_args[5] = Int32GetDatum((int32) hdr->event_count);
	ins_args[6] = Int32GetDatum(hdr->origin_node);
	ins_args[7] = PointerGetDatum(batch);
	query_exec(&insert_q, ins_args, NULL, false, SPI_OK_INSERT);
	query_exec(before_0_8 ? &advance_before_q : &advance_q,
			   (Datum[]) {ins_args[0], ins_args[1], ins_args[4], ins_args[2], ins_args[6]},
			   NULL, false, SPI_OK_UPDATE);
}

/*
 * Seal one batch; returns its event count (0: nothing pending).  *full is
 * set when the batch reached its size limit, so more may be waiting; when
 * it did not, the batch took every record this snapshot could see.
 */
static int64
seal_one_batch(bool *full, bool before_0_8)
{
	static OwnedQuery sizes_q = {
		"SELECT ctid, pg_catalog.octet_length(record) FROM tidal.pending LIMIT "
		CppAsString2(SEAL_MAX_RECORDS), 0, {InvalidOid}, NULL
	};
	static OwnedQuery take_q = {
		"DELETE FROM tidal.pending WHERE ctid = ANY ($1) RETURNING record",
		1, {TIDARRAYOID}, NULL
	};
	int64		last_seq;
	int64		last_batch;
	Datum	   *tids;
	int			ntids = 0;
	Size		bytes = 0;
	uint64		i;
	SealItem   *items;
	int			nitems;
	uint64		nevents = 0;
	LogBatchHeader hdr;
	bytea	   *batch;
	char	   *p;
	Datum		del_args[1];

	*full = false;
	lock_origin(tidal_region_id, tidal_shard_id, before_0_8 ? LOG_NODE_BEFORE_0_8 : tidal_node_id,
				&last_seq, &last_batch);

	/* choose the records of this batch by size, without reading them */
	query_exec(&sizes_q, NULL, NULL, false, SPI_OK_SELECT);
	if (SPI_processed == 0)
		return 0;
	tids = palloc(sizeof(Datum) * SPI_processed);
	for (i = 0; i < SPI_processed && bytes < SEAL_MAX_PAYLOAD; i++)
	{
		bool		isnull;

		tids[ntids++] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
		bytes += DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
	}
	*full = (SPI_processed == SEAL_MAX_RECORDS || bytes >= SEAL_MAX_PAYLOAD);
	del_args[0] = PointerGetDatum(construct_array(tids, ntids, TIDOID, sizeof(ItemPointerData),
												  false, TYPALIGN_SHORT));
	query_exec(&take_q, del_args, NULL, false, SPI_OK_DELETE_RETURNING);

	nitems = (int) SPI_processed;
	if (nitems == 0)
		return 0;
	items = palloc(sizeof(SealItem) * nitems);
	bytes = 0;
	for (i = 0; i < (uint64) nitems; i++)
	{
		bool		isnull;
		LogRecord	rec;
		Size		consumed;
		const char *why;

		items[i].record = DatumGetByteaPCopy(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		if (!codec_read_record(VARDATA(items[i].record), VARSIZE(items[i].record) - VARHDRSZ,
							   &consumed, &rec, &why) ||
			consumed != VARSIZE(items[i].record) - VARHDRSZ)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("corrupt record in tidal.pending: %s", why)));
		items[i].hlc = rec.hlc;
		items[i].events = codec_record_events(&rec);
		nevents += items[i].events;
		bytes += consumed;
	}
	qsort(items, nitems, sizeof(SealItem), seal_item_cmp);

	if (nevents > PG_UINT32_MAX)
		elog(ERROR, "tidal batch would hold too many events");

	/* header, then records in HLC order */
	batch = palloc(VARHDRSZ + LOG_BATCH_HEADER_LEN + bytes);
	SET_VARSIZE(batch, VARHDRSZ + LOG_BATCH_HEADER_LEN + bytes);
	p = VARDATA(batch) + LOG_BATCH_HEADER_LEN;
	for (i = 0; i < (uint64) nitems; i++)
	{
		Size		len = VARSIZE(items[i].record) - VARHDRSZ;

		memcpy(p, VARDATA(items[i].record), len);
		p += len;
	}
	memset(&hdr, 0, sizeof(hdr));
	/* before 0.8's SQL objects: a version-1 batch, as 0.7 sealed it (origin node 0) */
	hdr.version = before_0_8 ? LOG_BATCH_VERSION_NODE0 : LOG_BATCH_VERSION;
	hdr.origin_region = tidal_region_id;
	hdr.origin_shard = tidal_shard_id;
	hdr.origin_node = tidal_node_id;
	hdr.record_count = (uint32) nitems;
	hdr.batch_no = last_batch + 1;
	hdr.first_seq = last_seq + 1;
	hdr.last_seq = last_seq + (int64) nevents;
	hdr.event_count = (uint32) nevents;
	codec_write_batch_header(VARDATA(batch), &hdr, VARDATA(batch) + LOG_BATCH_HEADER_LEN, bytes);

	insert_batch(&hdr, batch, before_0_8);
	return (int64) nevents;
}

bool
log_knows_nodes(void)
{
	return query_has_column("origins", "node");
}

int64
log_seal(void)
{
	return log_seal_through(NULL);
}

int64
log_seal_through(int64 *last_seq)
{
	int64		total = 0;
	bool		full;
	TidalSavedUser saved;

	/*
	 * A 0.8 library on SQL objects before 0.8 (a rolling upgrade, before
	 * ALTER EXTENSION UPDATE here): origins have no node yet, and this node
	 * seals as 0.7 did, version-1 batches of origin (region, shard), which
	 * the update then files under node 0.
	 */
	bool		before_0_8 = !log_knows_nodes();

	/*
	 * Lock order: tidal.pending before the origin's row, as a rebuild
	 * (recovery.c) takes them, so that sealing and a rebuild never deadlock.
	 */
	LockRelationOid(log_pending_relid(false), RowExclusiveLock);

	query_begin(&saved);
	/*
	 * Stop at the first batch that is not full: it took everything committed
	 * when it looked.  Records committing meanwhile wait for the next call,
	 * so that a busy log is sealed in large batches, not in a tight loop of
	 * small ones.
	 */
	do
	{
		CHECK_FOR_INTERRUPTS();
		total += seal_one_batch(&full, before_0_8);
	} while (full);
	if (last_seq != NULL)
	{
		int64		last_batch;

		lock_origin(tidal_region_id, tidal_shard_id, before_0_8 ? LOG_NODE_BEFORE_0_8 : tidal_node_id,
					last_seq, &last_batch);
	}
	query_end(&saved);
	return total;
}

bool
log_store_remote_batch(const LogBatchHeader *hdr, const char *data, Size len)
{
	int64		last_seq;
	int64		last_batch;
	bytea	   *batch;
	TidalSavedUser saved;

	if (hdr->origin_node < 0 || hdr->origin_node > TIDAL_MAX_NODE_ID)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("tidal batch %lld names origin node %d, which is out of range",
						(long long) hdr->batch_no, hdr->origin_node),
				 errdetail("Node ids are 0 to %d.", TIDAL_MAX_NODE_ID)));
	query_begin(&saved);
	lock_origin(hdr->origin_region, hdr->origin_shard, hdr->origin_node, &last_seq, &last_batch);
	if (hdr->batch_no <= last_batch)
	{
		query_end(&saved);
		return false;			/* applied before: at-least-once delivery, exactly-once apply */
	}

	/*
	 * Gapless per origin.  An origin's first batch may start anywhere: a
	 * node that begins writing continues its shard's sequence (lock_origin).
	 */
	if (hdr->batch_no != last_batch + 1 ||
		(last_batch > 0 && hdr->first_seq != last_seq + 1))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("tidal batch %lld of origin %d:%d:%d does not follow batch %lld (sequence %lld)",
						(long long) hdr->batch_no, hdr->origin_region, hdr->origin_shard, hdr->origin_node,
						(long long) last_batch, (long long) last_seq)));
	batch = palloc(VARHDRSZ + len);
	SET_VARSIZE(batch, VARHDRSZ + len);
	memcpy(VARDATA(batch), data, len);
	insert_batch(hdr, batch, false);
	query_end(&saved);
	return true;
}

static void
replay_payload(const char *p, Size len, log_record_fn fn, void *arg)
{
	const char *end = p + len;

	while (p < end)
	{
		LogRecord	rec;
		Size		consumed;
		const char *why;

		if (!codec_read_record(p, end - p, &consumed, &rec, &why))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("corrupt record in tidal's log: %s", why)));
		fn(&rec, arg);
		p += consumed;
	}
}

/* the mark of an origin in marks, or NULL */
LogMark *
log_marks_find(LogMarks *marks, int32 region, int32 shard, int32 node)
{
	int			i;

	for (i = 0; marks != NULL && i < marks->n; i++)
		if (marks->m[i].region == region && marks->m[i].shard == shard && marks->m[i].node == node)
			return &marks->m[i];
	return NULL;
}

LogMark *
log_marks_add(LogMarks *marks, int32 region, int32 shard, int32 node)
{
	LogMark    *m = log_marks_find(marks, region, shard, node);

	if (m != NULL)
		return m;
	if (marks->n == marks->cap)
	{
		marks->cap = Max(8, marks->cap * 2);
		marks->m = marks->m ? repalloc(marks->m, sizeof(LogMark) * marks->cap)
			: palloc(sizeof(LogMark) * marks->cap);
	}
	m = &marks->m[marks->n++];
	m->region = region;
	m->shard = shard;
	m->node = node;
	m->batch_no = 0;
	m->last_seq = 0;
	return m;
}

Datum
log_marks_array(const LogMarks *marks, LogMarkField field)
{
	int			n = marks != NULL ? marks->n : 0;
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
		d[i] = field == LOG_MARK_REGION ? Int32GetDatum(marks->m[i].region)
			: field == LOG_MARK_SHARD ? Int32GetDatum(marks->m[i].shard)
			: field == LOG_MARK_NODE ? Int32GetDatum(marks->m[i].node)
			: field == LOG_MARK_BATCH ? Int64GetDatum(marks->m[i].batch_no)
			: Int64GetDatum(marks->m[i].last_seq);
	if (field == LOG_MARK_REGION || field == LOG_MARK_SHARD || field == LOG_MARK_NODE)
		return PointerGetDatum(construct_array(d, n, INT4OID, 4, true, TYPALIGN_INT));
	return PointerGetDatum(construct_array(d, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* what a replay carries from row to row (replay_row) */
typedef struct ReplayScan
{
	log_record_fn fn;
	void	   *arg;
	LogMarks   *reached;
	MemoryContext caller;		/* where *reached grows */
} ReplayScan;

static bool
replay_row(HeapTuple tup, TupleDesc desc, void *arg)
{
	ReplayScan *scan = (ReplayScan *) arg;
	bool		isnull;
	bytea	   *b = DatumGetByteaPP(SPI_getbinval(tup, desc, 1, &isnull));
	bool		is_batch = DatumGetBool(SPI_getbinval(tup, desc, 2, &isnull));
	const char *data = VARDATA_ANY(b);
	Size		len = VARSIZE_ANY_EXHDR(b);

	if (is_batch)
	{
		LogBatchHeader hdr;
		const char *payload;
		const char *why;

		if (!codec_read_batch(data, len, &hdr, &payload, &why))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("corrupt batch in tidal's log: %s", why)));
		replay_payload(payload, hdr.payload_len, scan->fn, scan->arg);
		if (scan->reached != NULL)
		{
			MemoryContext row = MemoryContextSwitchTo(scan->caller);
			LogMark    *mark = log_marks_add(scan->reached,
											 DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull)),
											 DatumGetInt32(SPI_getbinval(tup, desc, 4, &isnull)),
											 DatumGetInt32(SPI_getbinval(tup, desc, 7, &isnull)));

			MemoryContextSwitchTo(row);
			mark->batch_no = DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
			mark->last_seq = DatumGetInt64(SPI_getbinval(tup, desc, 6, &isnull));
		}
	}
	else
		replay_payload(data, len, scan->fn, scan->arg);
	return true;
}

/*
 * Read the log after the given marks in one snapshot taken now (not the
 * transaction's: a rebuild holds a lock that has just waited out every
 * writer): every origin's batches after its mark (all of them for an origin
 * without one), in batch order per origin, then, with_pending, the records
 * not sealed yet.  Each origin's batches are a range scan of the primary
 * key, so what lies before the marks costs nothing.  reached, if given,
 * starts as a copy of after and ends at the last batch read of each origin.
 */
void
log_replay_after(const LogMarks *after, bool with_pending, log_record_fn fn, void *arg,
				 LogMarks *reached)
{
	static OwnedQuery q = {
		"SELECT b.batch, true, b.origin_region, b.origin_shard, b.batch_no, b.last_seq, b.origin_node "
		"  FROM tidal.origins o "
		"  LEFT JOIN ROWS FROM (pg_catalog.unnest($1::pg_catalog.int4[]), pg_catalog.unnest($2::pg_catalog.int4[]), "
		"                      pg_catalog.unnest($3::pg_catalog.int8[]), pg_catalog.unnest($5::pg_catalog.int4[])) "
		"         AS m(region, shard, batch_no, node) "
		"         ON m.region = o.region AND m.shard = o.shard AND m.node = o.node "
		" CROSS JOIN LATERAL (SELECT * FROM tidal.batches b "
		"                      WHERE b.origin_region = o.region AND b.origin_shard = o.shard "
		"                        AND b.origin_node = o.node "
		"                        AND b.batch_no > coalesce(m.batch_no, 0) "
		"                      ORDER BY b.batch_no) b "
		"UNION ALL "
		"SELECT record, false, NULL, NULL, NULL, NULL, NULL FROM tidal.pending WHERE $4",
		5, {INT4ARRAYOID, INT4ARRAYOID, INT8ARRAYOID, BOOLOID, INT4ARRAYOID}, NULL
	};
	/*
	 * The same on SQL objects before 0.8 (a newer library before ALTER
	 * EXTENSION UPDATE): an origin is (region, shard), its node is 0.  The
	 * hot state is rebuilt from the log whatever the version of its tables.
	 */
	static OwnedQuery before_nodes_q = {
		"SELECT b.batch, true, b.origin_region, b.origin_shard, b.batch_no, b.last_seq, 0 "
		"  FROM tidal.origins o "
		"  LEFT JOIN ROWS FROM (pg_catalog.unnest($1::pg_catalog.int4[]), pg_catalog.unnest($2::pg_catalog.int4[]), "
		"                      pg_catalog.unnest($3::pg_catalog.int8[])) "
		"         AS m(region, shard, batch_no) ON m.region = o.region AND m.shard = o.shard "
		" CROSS JOIN LATERAL (SELECT * FROM tidal.batches b "
		"                      WHERE b.origin_region = o.region AND b.origin_shard = o.shard "
		"                        AND b.batch_no > coalesce(m.batch_no, 0) "
		"                      ORDER BY b.batch_no) b "
		"UNION ALL "
		"SELECT record, false, NULL, NULL, NULL, NULL, NULL FROM tidal.pending WHERE $4",
		5, {INT4ARRAYOID, INT4ARRAYOID, INT8ARRAYOID, BOOLOID, INT4ARRAYOID}, NULL
	};

	Datum		args[5];
	ReplayScan	scan = {fn, arg, reached, CurrentMemoryContext};
	TidalSavedUser saved;
	int			i;

	if (reached != NULL)
	{
		memset(reached, 0, sizeof(*reached));
		for (i = 0; after != NULL && i < after->n; i++)
			*log_marks_add(reached, after->m[i].region, after->m[i].shard, after->m[i].node) = after->m[i];
	}
	args[0] = log_marks_array(after, LOG_MARK_REGION);
	args[1] = log_marks_array(after, LOG_MARK_SHARD);
	args[2] = log_marks_array(after, LOG_MARK_BATCH);
	args[3] = BoolGetDatum(with_pending);
	args[4] = log_marks_array(after, LOG_MARK_NODE);

	query_begin(&saved);
	PushActiveSnapshot(GetLatestSnapshot());
	query_each_row(log_knows_nodes() ? &q : &before_nodes_q, args, NULL, true, replay_row, &scan);
	PopActiveSnapshot();
	query_end(&saved);
}

void
log_replay(log_record_fn fn, void *arg)
{
	log_replay_after(NULL, true, fn, arg, NULL);
}
