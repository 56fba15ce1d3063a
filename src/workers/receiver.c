/*
 * workers/receiver.c
 *    The receiver of one peer (a region peer, or a shard sibling of this
 *    region: see replication/peer.h): a background worker that pulls, over
 *    libpq, the batches this node lacks from that peer (tidal._ship, see
 *    ship.c), and applies them (apply_remote_batch).
 *
 * It waits for news with LISTEN on the peer's TIDAL_NOTIFY_CHANNEL, and
 * also pulls every tidal.peer_timeout / 2 at the latest.  Every wait on the
 * network is bounded by tidal.peer_timeout, so a peer that stops answering
 * (a black-holed link) is dropped and reconnected with backoff.  The
 * batches of one pull are applied in one transaction, each in a
 * subtransaction; a batch that fails (corrupt, or naming a signal not
 * defined here yet) is logged, rolled back alone and pulled again later.
 * A peer relays only the origins this node cannot pull straight from their
 * own region (read_marks).  The
 * worker exits when its peer is dropped (it looks at most every second
 * while connected); the launcher (launcher.c) starts it again if it stops
 * for any other reason.
 *
 * May call: every folder of src/ but tidal.c.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "fmgr.h"
#include "libpq-fe.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/pg_bswap.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "apply/apply.h"
#include "apply/transfer.h"
#include "replication/peer.h"
#include "pg/query.h"
#include "pg/remote.h"
#include "log/log.h"
#include "pg/settings.h"
#include "pg/subxact.h"
#include "pg/owner.h"

PGDLLEXPORT void tidal_receiver_main(Datum main_arg);

#define PULL_MAX_BATCHES	64
#define BACKOFF_MIN_MS		100
#define BACKOFF_MAX_MS		5000
#define PEER_RECHECK_MS		1000	/* how often a connected receiver reads its peer's row */

/*
 * Bounds on one answer of tidal._ship: the batches asked for plus one
 * marks row per origin, and the bytes of its values (a batch closes at
 * 16 MiB, one record of signal_batch's million events may make it ~48 MiB).
 */
#define SHIP_MAX_ROWS		(PULL_MAX_BATCHES + 4096)
#define SHIP_MAX_BYTES		((Size) 1024 * 1024 * 1024)
#define SHIP_MAX_BATCH_BYTES ((Size) 256 * 1024 * 1024)

/* an integer column of a checked answer (binary, network order; values may be unaligned) */
static int32
get_int32(const PGresult *res, int row, int col)
{
	uint32		v;

	memcpy(&v, PQgetvalue(res, row, col), sizeof(v));
	return (int32) pg_ntoh32(v);
}

static int64
get_int64(const PGresult *res, int row, int col)
{
	uint64		v;

	memcpy(&v, PQgetvalue(res, row, col), sizeof(v));
	return (int64) pg_ntoh64(v);
}

/*
 * the columns of tidal._ship's answer (binary): origin_region, origin_shard,
 * origin_node, batch_no, last_seq, batch
 */
#define SHIP_COL_NODE	2
#define SHIP_COL_SEQ	4
#define SHIP_COL_BATCH	5
static const Oid ship_types[6] = {INT4OID, INT4OID, INT4OID, INT8OID, INT8OID, BYTEAOID};
static const int ship_lengths[6] = {4, 4, 4, 8, 8, REMOTE_NULLABLE};

static PeerId peer;
static int32 server_node = -1;	/* the tidal.node_id of the node our connection reaches, or -1 */
static char peer_name[64];		/* "region 1", "region 0 shard 1" for a shard sibling, "node 3 of this shard" */

/* this node's marks, as the text arrays tidal._ship takes */
typedef struct Marks
{
	StringInfoData regions;
	StringInfoData shards;
	StringInfoData nodes;
	StringInfoData batches;
	StringInfoData seqs;
} Marks;

/*
 * This node's marks, as the caller of tidal._ship states them.  An origin
 * that another receiver of ours pulls straight from its own region is
 * marked as known in full, so that the peer does not relay it: each batch
 * then reaches this node once, not once per path.  The peer's own origin is
 * always stated as it is: that is our acknowledgement.
 */
static void
read_marks(Marks *m, bool own_writes)
{
	static OwnedQuery q = {
		"SELECT region, shard, last_batch, last_seq, node FROM tidal.origins ORDER BY region, shard, node",
		0, {InvalidOid}, NULL
	};
	TidalSavedUser saved;
	uint64		r;

	initStringInfo(&m->regions);
	initStringInfo(&m->shards);
	initStringInfo(&m->nodes);
	initStringInfo(&m->batches);
	initStringInfo(&m->seqs);
	query_begin(&saved);
	/* own_writes: not read-only, so a fresh snapshot that sees what this transaction applied */
	query_exec(&q, NULL, NULL, !own_writes, SPI_OK_SELECT);
	for (r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		bool		isnull;
		int32		region = DatumGetInt32(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
		int32		shard = DatumGetInt32(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull));
		int64		batch = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 3, &isnull));
		int64		seq = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 4, &isnull));
		int32		node = DatumGetInt32(SPI_getbinval(tup, SPI_tuptable->tupdesc, 5, &isnull));
		const char *sep = r == 0 ? "" : ",";

		if (region == peer.region && shard == peer.shard)
			;					/* the peer's shard's own origins: our acknowledgement */
		else if (!peer_shares_shard(peer))
			batch = PG_INT64_MAX;	/* a shard sibling sends only its own origin */
		else if (!(region == tidal_region_id && shard == tidal_shard_id))
		{
			PeerId		origin = {region, shard, PEER_ANY_NODE};

			if (peer_pulls_directly(origin))
				batch = PG_INT64_MAX;
		}
		appendStringInfo(&m->regions, "%s%d", sep, region);
		appendStringInfo(&m->shards, "%s%d", sep, shard);
		appendStringInfo(&m->nodes, "%s%d", sep, node);
		appendStringInfo(&m->batches, "%s" INT64_FORMAT, sep, batch);
		appendStringInfo(&m->seqs, "%s" INT64_FORMAT, sep, seq);
	}
	query_end(&saved);
	{
		StringInfo	out[5] = {&m->regions, &m->shards, &m->nodes, &m->batches, &m->seqs};
		int			i;

		for (i = 0; i < 5; i++)
		{
			char	   *body = pstrdup(out[i]->data);

			resetStringInfo(out[i]);
			appendStringInfo(out[i], "{%s}", body);
			pfree(body);
		}
	}
}

/*
 * The marks the next pull states, read at the end of the transaction that
 * applied the last answer (so that a pull costs one transaction, not two),
 * in a context of their own that outlives the receiver's loop context.
 * Forgotten when a pull fails.  They may be a little stale for an origin
 * another receiver of ours relays meanwhile: the peer then sends a batch we
 * hold already, which log_store_remote_batch skips.
 */
static MemoryContext next_marks_cxt = NULL;
static bool sql_knows_nodes = false;	/* once true, stays: updates only go forward */
static Marks next_marks;
static bool have_next_marks = false;

static void
keep_marks_for_next_pull(void)
{
	MemoryContext old;

	if (next_marks_cxt == NULL)
		next_marks_cxt = AllocSetContextCreate(TopMemoryContext, "tidal receiver marks",
											   ALLOCSET_SMALL_SIZES);
	MemoryContextReset(next_marks_cxt);
	old = MemoryContextSwitchTo(next_marks_cxt);
	read_marks(&next_marks, true);
	MemoryContextSwitchTo(old);
	have_next_marks = true;
}

/* what the peer has that we lack, from its marks rows, once applied */
static int64
behind_seq(PGresult *res)
{
	static OwnedQuery q = {
		"SELECT last_seq FROM tidal.origins WHERE region = $1 AND shard = $2 AND node = $3",
		3, {INT4OID, INT4OID, INT4OID}, NULL
	};
	int64		behind = 0;
	int			i;
	TidalSavedUser saved;

	query_begin(&saved);
	for (i = 0; i < PQntuples(res); i++)
	{
		int32		region;
		int32		shard;
		int64		peer_seq;
		int64		ours = 0;
		Datum		args[3];

		if (!PQgetisnull(res, i, SHIP_COL_BATCH))
			continue;			/* a batch, not a marks row */
		/* the shape was checked (check_ship_answer): 4 and 8 bytes, not NULL */
		region = get_int32(res, i, 0);
		shard = get_int32(res, i, 1);
		peer_seq = get_int64(res, i, SHIP_COL_SEQ);
		if (region == tidal_region_id && shard == tidal_shard_id)
			continue;
		args[0] = Int32GetDatum(region);
		args[1] = Int32GetDatum(shard);
		args[2] = Int32GetDatum(get_int32(res, i, SHIP_COL_NODE));
		query_exec(&q, args, NULL, true, SPI_OK_SELECT);
		if (SPI_processed == 1)
		{
			bool		isnull;

			ours = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		}
		if (peer_seq > ours)
			behind += peer_seq - ours;
	}
	query_end(&saved);
	return behind;
}

/*
 * The answer's marks row of this node's own origin is how far the node we
 * pulled from has it: its acknowledgement (peer_report_marks), learnt
 * without its pulling from us.  No row: it has none of it.
 */
static void
report_marks_of_ours(PGresult *res)
{
	int64		batch = 0;
	int64		seq = 0;
	int			i;

	for (i = 0; i < PQntuples(res); i++)
		if (PQgetisnull(res, i, SHIP_COL_BATCH) &&
			get_int32(res, i, 0) == tidal_region_id && get_int32(res, i, 1) == tidal_shard_id &&
			get_int32(res, i, SHIP_COL_NODE) == tidal_node_id)
		{
			batch = get_int64(res, i, 3);
			seq = get_int64(res, i, SHIP_COL_SEQ);
		}
	peer_report_marks(peer, server_node, batch, seq);
}

/*
 * The tidal.node_id of the node a connection reaches into *node (-1 if it
 * has none, or says nonsense); false if the question got no answer (timed
 * out, or the connection broke: then it is unusable).
 */
static bool
node_of_server(PGconn *conn, int32 *node)
{
	PGresult   *res = remote_query(conn, "SELECT pg_catalog.current_setting('tidal.node_id', true)", 0, NULL, 0,
								   tidal_peer_timeout_ms, 1, 64, NULL);

	*node = -1;
	if (res == NULL)
		return false;
	if (PQntuples(res) == 1 && PQnfields(res) == 1 && !PQgetisnull(res, 0, 0))
	{
		char	   *end;
		long		v = strtol(PQgetvalue(res, 0, 0), &end, 10);

		if (*end == '\0' && end != PQgetvalue(res, 0, 0) && v >= 0 && v <= TIDAL_MAX_NODE_ID)
			*node = (int32) v;
	}
	PQclear(res);
	return true;
}

typedef struct ApplyCall
{
	const char *data;
	Size		len;
	bool		applied;
} ApplyCall;

static void
apply_call(void *arg)
{
	ApplyCall  *c = (ApplyCall *) arg;
	LogBatchHeader hdr;

	c->applied = apply_remote_batch(c->data, c->len, &hdr);
}

/*
 * Apply one pulled batch in a subtransaction of the pull's transaction.  On
 * error, log it, roll the subtransaction back and return false: the batch is
 * pulled again next time.
 */
static bool
apply_one(const char *data, Size len, bool *applied, char **why)
{
	ApplyCall	call = {data, len, false};
	ErrorData  *edata = subxact_try(apply_call, &call);

	*applied = call.applied;
	if (edata == NULL)
		return true;
	ereport(WARNING,
			(errcode(edata->sqlerrcode),
			 errmsg("tidal receiver: a batch from %s was not applied: %s",
					peer_name, edata->message),
			 edata->detail ? errdetail("%s", edata->detail) : 0,
			 edata->context ? errcontext("%s", edata->context) : 0,
			 errhint("It is held and pulled again later; tidal.replication_status shows it.")));
	*why = psprintf("%s%s%s%s%s", edata->message,
					edata->detail ? " (" : "", edata->detail ? edata->detail : "",
					edata->detail ? ")" : "",
					edata->context ? psprintf("; %s", edata->context) : "");
	FreeErrorData(edata);
	*applied = false;
	return false;
}

/*
 * The shape of tidal._ship's answer, checked before any value is read:
 * six binary columns of the expected types, fixed-length integers, no
 * NULL but in the batch column, and a bounded batch.  NULL if it is well
 * formed, else why not.
 */
static const char *
check_ship_answer(const PGresult *res)
{
	const char *why = remote_check_shape(res, 6, ship_types, ship_lengths);
	int			i;

	if (why != NULL)
		return why;
	for (i = 0; i < PQnfields(res); i++)
		if (PQfformat(res, i) != 1)
			return psprintf("malformed answer from the peer: column %d is not in binary format", i + 1);
	if (PQntuples(res) > SHIP_MAX_ROWS)
		return psprintf("malformed answer from the peer: %d rows, more than %d",
						PQntuples(res), SHIP_MAX_ROWS);
	for (i = 0; i < PQntuples(res); i++)
		if (!PQgetisnull(res, i, SHIP_COL_BATCH) && (Size) PQgetlength(res, i, SHIP_COL_BATCH) > SHIP_MAX_BATCH_BYTES)
			return psprintf("malformed answer from the peer: row %d holds a batch of %d bytes",
							i + 1, PQgetlength(res, i, SHIP_COL_BATCH));
	return NULL;
}

static void
report_malformed(const char *why)
{
	ereport(strncmp(why, "malformed", 9) == 0 ? WARNING : LOG,
			(errcode(ERRCODE_PROTOCOL_VIOLATION),
			 errmsg("tidal receiver: no usable answer from %s", peer_name),
			 errdetail("%s.", why),
			 errhint("Nothing of it was applied; the receiver reconnects and pulls again later.")));
	peer_report_error(peer, why);
}

/*
 * The peer no longer holds a batch this region needs (its log was
 * compacted while this region was away longer than
 * tidal.max_peer_holdback): receive its state instead (apply/transfer.c),
 * then pull on from after it.  A failure is reported like a failed pull.
 */
static void
transfer_after_compaction(void)
{
	MemoryContext cxt = CurrentMemoryContext;

	PG_TRY();
	{
		int64		id;

		query_worker_begin("receiving a peer's state");
		id = transfer_state_from(peer.region);
		query_worker_commit();
		ereport(LOG,
				(errmsg("tidal receiver: %s had compacted batches this region needed; received its state (snapshot " INT64_FORMAT ")",
						peer_name, id)));
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		MemoryContextSwitchTo(cxt);
		ereport(WARNING,
				(errmsg("tidal receiver: state transfer from %s failed: %s", peer_name, edata->message)));
		peer_report_error(peer, psprintf("state transfer failed: %s", edata->message));
		FreeErrorData(edata);
	}
	PG_END_TRY();
}

/*
 * Pull once and apply what came.  Returns the number of batches applied
 * (0: nothing new, or nothing that could be applied yet), -1 if the
 * connection failed, or -2 if the answer was refused, malformed or did
 * not come (then the connection is dropped and the receiver backs off).
 */
static int
pull(PGconn *conn)
{
	Marks		m;
	char		requester[16];
	char		shard[16];
	char		node[16];
	char		max_batches[16];
	const char *params[9];
	PGresult   *res;
	int64		applied = 0;
	int64		behind;
	int32		failed_region = -1;
	int32		failed_shard = -1;
	int32		failed_node = -1;
	MemoryContext pull_cxt = CurrentMemoryContext;	/* the receiver's loop context */
	char	   *held = NULL;
	char	   *why = NULL;
	const char *malformed;
	int			i;

	/* SQL objects older than the library (a rolling upgrade): pull after the update */
	if (!sql_knows_nodes)
	{
		query_worker_begin("checking tidal's SQL objects");
		sql_knows_nodes = log_knows_nodes();
		query_worker_commit();
		if (!sql_knows_nodes)
			return 0;
	}

	if (have_next_marks)
		m = next_marks;			/* in next_marks_cxt: reset only after the query is sent */
	else
	{
		query_worker_begin("reading tidal marks");
		read_marks(&m, false);
		query_worker_commit();
	}
	have_next_marks = false;

	snprintf(requester, sizeof(requester), "%d", tidal_region_id);
	snprintf(shard, sizeof(shard), "%d", tidal_shard_id);
	snprintf(node, sizeof(node), "%d", tidal_node_id);
	snprintf(max_batches, sizeof(max_batches), "%d", PULL_MAX_BATCHES);
	params[0] = requester;
	params[1] = shard;
	params[2] = node;
	params[3] = m.regions.data;
	params[4] = m.shards.data;
	params[5] = m.nodes.data;
	params[6] = m.batches.data;
	params[7] = m.seqs.data;
	params[8] = max_batches;
	res = remote_query(conn, "SELECT origin_region, origin_shard, origin_node, batch_no, last_seq, batch "
					   "FROM tidal._ship($1, $2, $3, $4, $5, $6, $7, $8, $9)", 9, params, 1,
					   tidal_peer_timeout_ms, SHIP_MAX_ROWS, SHIP_MAX_BYTES, &why);
	if (res == NULL)
	{
		/* timed out, lost, or an answer refused: said in replication_status, then back off */
		report_malformed(why ? why : "no answer");
		/*
		 * Only a region peer holds this shard's state.  What a shard sibling
		 * compacted away reaches this node relayed by a region peer, which
		 * holds this shard's copy of the sibling's batches.
		 */
		if (why != NULL && strstr(why, LOG_COMPACTED_TOKEN) != NULL && tidal_auto_state_transfer &&
			peer_is_region_peer(peer))
			transfer_after_compaction();
		return -2;
	}
	if ((malformed = check_ship_answer(res)) != NULL)
	{
		PQclear(res);
		report_malformed(malformed);
		return -2;
	}

	/*
	 * All the batches of one answer are applied in one transaction, each in
	 * a subtransaction of its own, so that one commit (and one WAL flush)
	 * makes them durable together with their origins' high-water marks.
	 */
	query_worker_begin("applying tidal batches");
	for (i = 0; i < PQntuples(res); i++)
	{
		int32		region;
		int32		origin_shard;
		int32		origin_node;
		bool		was_applied;

		CHECK_FOR_INTERRUPTS();
		if (PQgetisnull(res, i, SHIP_COL_BATCH))
			continue;			/* marks row */
		/* the shape was checked (check_ship_answer) */
		region = get_int32(res, i, 0);
		origin_shard = get_int32(res, i, 1);
		origin_node = get_int32(res, i, SHIP_COL_NODE);
		if (region == failed_region && origin_shard == failed_shard && origin_node == failed_node)
			continue;			/* later batches of an origin wait for the failed one */
		if (!apply_one(PQgetvalue(res, i, SHIP_COL_BATCH), PQgetlength(res, i, SHIP_COL_BATCH),
					   &was_applied, &why))
		{
			failed_region = region;
			failed_shard = origin_shard;
			failed_node = origin_node;
			if (held == NULL)	/* outlives the transaction: reported after it */
				held = MemoryContextStrdup(pull_cxt, psprintf("batch of origin %d:%d:%d: %s",
															  region, origin_shard, origin_node, why));
			continue;
		}
		if (was_applied)
			applied++;
	}
	if (applied > 0)
		Async_Notify(TIDAL_NOTIFY_CHANNEL, NULL);	/* relay: wake our other peers */
	behind = behind_seq(res);
	report_marks_of_ours(res);
	keep_marks_for_next_pull();
	query_worker_commit();
	PQclear(res);

	peer_report_pull(peer, applied, behind, held);
	return (int) applied;
}

/* wait for a notification from the peer, our latch, or the poll interval */
static bool
wait_for_news(PGconn *conn)
{
	long		poll_ms = Max(tidal_peer_timeout_ms / 2, 10);
	int			rc;
	PGnotify   *n;

	rc = WaitLatchOrSocket(MyLatch,
						   WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH | WL_SOCKET_READABLE,
						   PQsocket(conn), poll_ms, PG_WAIT_EXTENSION);
	if (rc & WL_LATCH_SET)
	{
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	if (rc & WL_SOCKET_READABLE)
	{
		if (!PQconsumeInput(conn))
			return false;
		while ((n = PQnotifies(conn)) != NULL)
			PQfreemem(n);
	}
	return true;
}

void
tidal_receiver_main(Datum main_arg)
{
	PGconn	   *conn = NULL;
	int			backoff_ms = BACKOFF_MIN_MS;
	MemoryContext loop_cxt;
	TimestampTz peer_checked = 0;

	peer = peer_from_datum(main_arg);
	if (peer_is_region_peer(peer))
		snprintf(peer_name, sizeof(peer_name), "region %d", peer.region);
	else if (peer_is_member(peer))
		snprintf(peer_name, sizeof(peer_name), "node %d of this shard", peer.node);
	else
		snprintf(peer_name, sizeof(peer_name), "region %d shard %d", peer.region, peer.shard);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(tidal_database, NULL, 0);
	pgstat_report_appname("tidal receiver");
	if (!peer_attach_receiver(peer))
	{
		ereport(DEBUG1,
				(errmsg("tidal receiver for %s exits: another one runs", peer_name)));
		proc_exit(0);
	}

	loop_cxt = AllocSetContextCreate(TopMemoryContext, "tidal receiver loop", ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		char	   *conninfo;
		PGresult   *listened;
		int			got;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		MemoryContextReset(loop_cxt);
		MemoryContextSwitchTo(loop_cxt);

		/*
		 * Whether the region is still a peer, and its connection string:
		 * read before connecting, and while connected at most every
		 * PEER_RECHECK_MS, not before every pull (under load a receiver
		 * pulls hundreds of times a second, and each read is a transaction).
		 */
		conninfo = NULL;
		if (conn == NULL ||
			TimestampDifferenceExceeds(peer_checked, GetCurrentTimestamp(), PEER_RECHECK_MS))
		{
			query_worker_begin("reading tidal peers");
			conninfo = peer_conninfo(peer);
			query_worker_commit();
			if (conninfo == NULL)
			{
				peer_report_state(peer, PEER_DISCONNECTED);
				proc_exit(0);	/* no longer a peer */
			}
			peer_checked = GetCurrentTimestamp();
		}

		if (conn == NULL)
		{
			peer_report_state(peer, PEER_CONNECTING);
			conn = remote_connect(conninfo, tidal_peer_timeout_ms);
			listened = conn ? remote_query(conn, "LISTEN " TIDAL_NOTIFY_CHANNEL, 0, NULL, 0,
										   tidal_peer_timeout_ms, 0, 0, NULL) : NULL;
			if (listened != NULL && !node_of_server(conn, &server_node))
			{
				PQclear(listened);
				listened = NULL;
			}
			if (listened == NULL)
			{
				if (conn)
					PQfinish(conn);
				conn = NULL;
				peer_report_state(peer, PEER_DISCONNECTED);
				(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
								 backoff_ms, PG_WAIT_EXTENSION);
				ResetLatch(MyLatch);
				backoff_ms = Min(backoff_ms * 2, BACKOFF_MAX_MS);
				continue;
			}
			PQclear(listened);
			backoff_ms = BACKOFF_MIN_MS;
		}
		if (conninfo != NULL)
			pfree(conninfo);

		/*
		 * After applying something, pull again at once: more may be waiting
		 * (a batch that failed may now apply), and the next pull
		 * acknowledges these.  Otherwise wait for news: a batch that cannot
		 * be applied yet is not pulled in a tight loop.
		 */
		got = pull(conn);
		if (got > 0)
			continue;
		if (got == -2)
		{
			/* no usable answer: drop the connection, and do not ask again at once */
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 Max(tidal_peer_timeout_ms / 2, BACKOFF_MIN_MS), PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
		if (got < 0 || !wait_for_news(conn))
		{
			PQfinish(conn);
			conn = NULL;
			peer_report_state(peer, PEER_DISCONNECTED);
		}
	}
}
