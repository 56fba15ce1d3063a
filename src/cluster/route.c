/*
 * cluster/route.c
 *    Calls answered by other shards of this region: the shard that owns an
 *    entity, every shard for a retrieve's parts and a session's marks
 *    (route.h).  Each backend keeps one libpq connection per shard sibling
 *    it has called, for the rest of its session (dropped on an error and
 *    made again on the next call); every wait on it is bounded by
 *    tidal.peer_timeout.
 *
 * Read-your-writes: a write of an entity another shard owns goes to this
 * node's log (signals/signal.c), and the owner pulls it from there.  The
 * session remembers which shards it wrote for; before it next reads on one
 * of them it seals this node's log and passes the sequence number of its
 * own origin the owner must have applied before it answers
 * (route_await_applied, on the owner).
 *
 *    May call: core/, pg/, log/, state/, replication/, cluster/.
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "nodes/bitmapset.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "cluster/route.h"
#include "log/log.h"
#include "pg/query.h"
#include "pg/remote.h"
#include "pg/settings.h"
#include "replication/peer.h"

typedef struct SiblingConn
{
	int32		shard;
	PGconn	   *conn;
} SiblingConn;

static SiblingConn conns[TIDAL_MAX_PEERS];
static int	nconns = 0;
static Bitmapset *forwarded = NULL;	/* shards this session wrote for since it last read there */
static TransactionId forwarded_xid = InvalidTransactionId;	/* the last transaction that did */

static int64 applied_seq(int32 region, int32 shard);

void
route_note_forwarded(int32 shard)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

	forwarded = bms_add_member(forwarded, shard);
	MemoryContextSwitchTo(old);
	forwarded_xid = GetTopTransactionId();
}

/*
 * Wait until the sealer has sealed the records of this session's last
 * transaction that wrote for another shard (they leave tidal.pending when
 * sealed), then return this node's origin's last sequence number: the
 * owner must have applied that much.  Records of the current transaction
 * cannot be awaited (nobody else sees them before it commits): a read in
 * the transaction that wrote them does not see them on another shard.
 */
static int64
seal_forwarded(const char *what)
{
	static OwnedQuery q = {
		"SELECT EXISTS (SELECT FROM tidal.pending WHERE xmin OPERATOR(pg_catalog.=) $1::pg_catalog.xid)",
		1, {XIDOID}, NULL
	};
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), tidal_peer_timeout_ms);

	if (TransactionIdIsValid(forwarded_xid) && !TransactionIdIsCurrentTransactionId(forwarded_xid))
	{
		Datum		args[1] = {TransactionIdGetDatum(forwarded_xid)};

		for (;;)
		{
			TidalSavedUser saved;
			bool		isnull;
			bool		waiting;

			CHECK_FOR_INTERRUPTS();
			query_begin(&saved);
			query_exec(&q, args, NULL, false, SPI_OK_SELECT);
			waiting = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
			query_end(&saved);
			if (!waiting)
				break;
			if (GetCurrentTimestamp() >= deadline)
				ereport(ERROR,
						(errcode(ERRCODE_QUERY_CANCELED),
						 errmsg("%s: this session's writes for another shard were not sealed within tidal.peer_timeout (%d ms)",
								what, tidal_peer_timeout_ms),
						 errhint("The \"tidal sealer\" worker seals them; look for it in pg_stat_activity.")));
			log_request_seal_now();
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 1, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
	}
	return applied_seq(tidal_region_id, tidal_shard_id);
}

/*
 * How far this node has applied (or, for its own origin, sealed) the log of
 * (region, shard), as committed: a fresh snapshot each call.
 */
static int64
applied_seq(int32 region, int32 shard)
{
	static OwnedQuery q = {
		"SELECT coalesce(pg_catalog.max(last_seq), 0) FROM tidal.origins WHERE region = $1 AND shard = $2",
		2, {INT4OID, INT4OID}, NULL
	};
	Datum		args[2] = {Int32GetDatum(region), Int32GetDatum(shard)};
	int64		seq;
	bool		isnull;
	TidalSavedUser saved;

	query_begin(&saved);
	/* not read-only: a fresh snapshot, which sees what the receiver committed since the last call */
	query_exec(&q, args, NULL, false, SPI_OK_SELECT);
	seq = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	query_end(&saved);
	return seq;
}

/*
 * The session's connection to shard `shard` of this region, made if needed.
 * A shard that is not a peer of this node is an error (configuration); one
 * that cannot be reached in time is an error too, unless why is given: then
 * NULL, and *why says so (a scatter call does without the shard).
 */
static SiblingConn *
conn_for(int32 shard, const char *what, char **why)
{
	SiblingConn *c = NULL;
	PeerId		peer = {tidal_region_id, shard, PEER_ANY_NODE};
	char	   *conninfo;
	int			i;

	for (i = 0; i < nconns; i++)
		if (conns[i].shard == shard)
			c = &conns[i];
	if (c != NULL && c->conn != NULL && PQstatus(c->conn) == CONNECTION_OK)
		return c;

	conninfo = peer_conninfo(peer);
	if (conninfo == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s: shard %d of region %d owns it, and it is not a peer of this node",
						what, shard, tidal_region_id),
				 errhint("Add it: SELECT tidal.add_peer(%d, '<connection string>', %d);",
						 tidal_region_id, shard)));
	if (c == NULL)
	{
		if (nconns == TIDAL_MAX_PEERS)
			elog(ERROR, "too many shard connections");
		c = &conns[nconns++];
		c->shard = shard;
		c->conn = NULL;
	}
	if (c->conn != NULL)
		PQfinish(c->conn);
	c->conn = remote_connect(conninfo, tidal_peer_timeout_ms);
	pfree(conninfo);
	if (c->conn == NULL && why != NULL)
	{
		*why = psprintf("could not connect within tidal.peer_timeout (%d ms)", tidal_peer_timeout_ms);
		return NULL;
	}
	if (c->conn == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("%s: shard %d of region %d owns it and could not be reached within tidal.peer_timeout (%d ms)",
						what, shard, tidal_region_id, tidal_peer_timeout_ms),
				 errhint("tidal.replication_status shows the shard's connection.")));
	return c;
}

/*
 * The parameters of a routed call: the caller's, then this node's region,
 * shard and the sequence number of its log the owner must have applied.
 */
static const char **
routed_params(int32 shard, const char *what, int nparams, const char *const *params, int64 *after)
{
	const char **all = palloc(sizeof(char *) * (nparams + 3));
	int			i;

	/* this session's writes for that shard: sealed here, and awaited there */
	*after = bms_is_member(shard, forwarded) ? seal_forwarded(what) : 0;
	for (i = 0; i < nparams; i++)
		all[i] = params[i];
	all[nparams] = psprintf("%d", tidal_region_id);
	all[nparams + 1] = psprintf("%d", tidal_shard_id);
	all[nparams + 2] = psprintf(INT64_FORMAT, *after);
	return all;
}

/* the owner has answered: this session's writes for it are there now */
static void
routed_answered(int32 shard, int64 after)
{
	if (after > 0)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		forwarded = bms_del_member(forwarded, shard);
		MemoryContextSwitchTo(old);
	}
}

char *
route_call(int32 shard, const char *what, const char *sql, int nparams, const char *const *params)
{
	return route_call_within(shard, what, sql, nparams, params, tidal_peer_timeout_ms);
}

char *
route_call_within(int32 shard, const char *what, const char *sql, int nparams, const char *const *params,
				  int timeout_ms)
{
	static const int lengths[1] = {REMOTE_NULLABLE};
	SiblingConn *c;
	int64		after;
	const char **all = routed_params(shard, what, nparams, params, &after);
	PGresult   *res;
	char	   *why = NULL;
	const char *bad;
	char	   *answer;

	c = conn_for(shard, what, NULL);
	res = remote_query(c->conn, sql, nparams + 3, all, 0, timeout_ms, 1, 64 * 1024, &why);
	if (res == NULL)
	{
		PQfinish(c->conn);
		c->conn = NULL;
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("%s: shard %d of region %d, which owns it, did not answer: %s",
						what, shard, tidal_region_id, why ? why : "no answer"),
				 errhint("Only the shard that owns an entity answers for it; tidal.replication_status shows the shard's connection.")));
	}
	if ((bad = remote_check_shape(res, 1, NULL, lengths)) != NULL || PQntuples(res) != 1 ||
		PQgetisnull(res, 0, 0))
	{
		PQclear(res);
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("%s: shard %d of region %d answered with something else than one value%s%s",
						what, shard, tidal_region_id, bad ? ": " : "", bad ? bad : "")));
	}
	answer = pstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	routed_answered(shard, after);
	return answer;
}

bool
route_scatter_send(RouteScatter *call, const char *sql, int nparams, const char *const *params)
{
	int64		after;
	const char **all = routed_params(call->shard, call->what, nparams, params, &after);
	SiblingConn *c;

	call->res = NULL;
	call->why = NULL;
	call->sent = false;
	call->after = after;
	c = conn_for(call->shard, call->what, &call->why);
	if (c == NULL)
		return false;
	if (!remote_send(c->conn, sql, nparams + 3, all, 0, call->deadline, &call->why))
	{
		PQfinish(c->conn);
		c->conn = NULL;
		return false;
	}
	call->sent = true;
	return true;
}

PGresult *
route_scatter_collect(RouteScatter *call, int max_rows, Size max_bytes)
{
	SiblingConn *c = NULL;
	int			i;

	if (!call->sent)
		return NULL;
	for (i = 0; i < nconns; i++)
		if (conns[i].shard == call->shard)
			c = &conns[i];
	if (c == NULL || c->conn == NULL)
		return NULL;
	call->res = remote_collect(c->conn, call->deadline, max_rows, max_bytes, &call->why);
	if (call->res == NULL)
	{
		PQfinish(c->conn);
		c->conn = NULL;
		return NULL;
	}
	routed_answered(call->shard, call->after);
	return call->res;
}

void
route_await_applied(int32 region, int32 shard, int64 seq, int timeout_ms)
{
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
	int64		applied = 0;

	if (seq <= 0)
		return;
	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		applied = applied_seq(region, shard);
		if (applied >= seq)
			return;
		if (GetCurrentTimestamp() >= deadline)
			break;
		peer_wake_receivers();
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 2, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	ereport(ERROR,
			(errcode(ERRCODE_QUERY_CANCELED),
			 errmsg("shard %d of region %d has not received the caller's writes within %d ms",
					tidal_shard_id, tidal_region_id, timeout_ms),
			 errdetail("It has applied the log of region %d, shard %d up to " INT64_FORMAT ", and the caller wrote up to " INT64_FORMAT ".",
					   region, shard, applied, seq),
			 errhint("The shard pulls that log from region %d, shard %d; tidal.replication_status there shows why it lags.",
					 region, shard)));
}

void
route_await_write(int32 shard, const TidalHlc *write)
{
	const char *params[2];
	StringInfoData stamp;

	initStringInfo(&stamp);
	hlc_append_text(&stamp, write);
	params[0] = stamp.data;
	params[1] = psprintf("%d", tidal_read_after_timeout_ms);
	(void) route_call_within(shard, psprintf("waiting for the write at %s", stamp.data),
							 "SELECT tidal._await_write($1::tidal.hlc, $2::pg_catalog.int4, $3::pg_catalog.int4, "
							 "$4::pg_catalog.int4, $5::pg_catalog.int8)::pg_catalog.text",
							 2, params, tidal_peer_timeout_ms + tidal_read_after_timeout_ms);
}
