/*
 * cluster/election.c
 *    The two elections a node takes part in, both by Raft's rules
 *    (cluster/raft.c): the cluster's, among the regions (shard 0 of each
 *    region leads its region in it; the leader makes cluster-wide
 *    decisions), and its shard's, among the nodes of its region and shard
 *    (0.8: the shard's leader writes, its followers refuse writes).  Owns
 *    the "tidal election" background worker that runs both, the calls
 *    members make to each other (tidal._request_vote, _request_prevote,
 *    _heartbeat; tidal._shard_request_vote, _shard_request_prevote,
 *    _shard_heartbeat), the leader-only checks, and the status functions.
 *
 * The first cluster election after a start is biased towards the lowest
 * region id (its first timeout is shortest), so a fresh cluster is led by
 * region 0; a fresh shard, likewise, by its lowest node id.
 *
 * A shard of an even number of nodes (a leader and one follower) cannot
 * elect by a majority of its own once a node is lost, so it takes one
 * *witness*: a node of the lowest other shard of the region, which votes
 * in its elections (it holds no copy of the shard's log, and votes only
 * while it does not hear the shard's leader) and hears its heartbeats.
 *
 * May call: core/, pg/, log/, state/, replication/, cluster/.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "cluster/election.h"
#include "cluster/raft.h"
#include "replication/peer.h"
#include "pg/query.h"
#include "pg/settings.h"
#include "pg/owner.h"
#include "pg/worker.h"

PGDLLEXPORT void tidal_election_main(Datum main_arg);

PG_FUNCTION_INFO_V1(tidal_request_vote);
PG_FUNCTION_INFO_V1(tidal_request_prevote);
PG_FUNCTION_INFO_V1(tidal_heartbeat);
PG_FUNCTION_INFO_V1(tidal_election_status);
PG_FUNCTION_INFO_V1(tidal_shard_request_vote);
PG_FUNCTION_INFO_V1(tidal_shard_request_prevote);
PG_FUNCTION_INFO_V1(tidal_shard_heartbeat);
PG_FUNCTION_INFO_V1(tidal_shard_election_status);

/* a witness: when it last heard each other shard's leader */
typedef struct WitnessShared
{
	slock_t		mutex;
	TimestampTz heard[TIDAL_MAX_SHARD_ID + 1];
} WitnessShared;

static WitnessShared *witness = NULL;

Size
election_shmem_size(void)
{
	return add_size(raft_shmem_size(), MAXALIGN(sizeof(WitnessShared)));
}

void
election_shmem_init(void)
{
	bool		found;

	raft_shmem_init();
	witness = ShmemInitStruct("tidal election witness", sizeof(WitnessShared), &found);
	if (!found)
	{
		memset(witness, 0, sizeof(WitnessShared));
		SpinLockInit(&witness->mutex);
	}
}

void
election_register(void)
{
	BackgroundWorker worker;

	tidal_worker_init(&worker, "tidal_election_main", "tidal election", "tidal election", 1);
	RegisterBackgroundWorker(&worker);
}

static void
check_peer_term(int64 term, int32 id, int32 max_id, const char *what)
{
	if (term < 0 || term > RAFT_MAX_TERM)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("election term " INT64_FORMAT " is out of range", term),
				 errdetail("Terms are 0 to " INT64_FORMAT ".", RAFT_MAX_TERM)));
	if (id < 0 || id > max_id)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s %d", what, id)));
}

/* the row type a peer call returns, (term bigint, <answer> boolean) */
static TupleDesc
peer_call_begin(FunctionCallInfo fcinfo)
{
	TupleDesc	desc;

	tidal_require_preload();
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	return desc;
}

/* the answer to a peer call: our term, and whether the request was granted */
static Datum
peer_call_answer(TupleDesc desc, int64 term, bool yes)
{
	Datum		values[2];
	bool		nulls[2] = {false, false};

	values[0] = Int64GetDatum(term);
	values[1] = BoolGetDatum(yes);
	return HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls));
}

/* ---- the shard's leader ---- */

/* Does the shard group have members (peer_defs rows of this region and shard with a node)? */
static bool
shard_has_members(void)
{
	return raft_status(RAFT_SHARD).members > 1;
}

bool
election_shard_leads(void)
{
	return raft_status(RAFT_SHARD).role == ROLE_LEADER || !shard_has_members();
}

int64
election_staleness_ms(int32 *leader)
{
	RaftStatus	s;
	PeerId		peer;
	TimestampTz at;

	*leader = tidal_node_id;
	if (election_shard_leads())
		return 0;
	s = raft_status(RAFT_SHARD);
	*leader = s.leader;
	if (s.leader < 0)
		return -1;
	peer.region = tidal_region_id;
	peer.shard = tidal_shard_id;
	peer.node = s.leader;
	at = peer_caught_up_at(peer);
	if (at == 0)
		return -1;
	return Max(TimestampDifferenceMilliseconds(at, GetCurrentTimestamp()), 0);
}

void
election_require_shard_leader(const char *what)
{
	RaftStatus	s;

	tidal_require_preload();
	if (election_shard_leads())
		return;
	s = raft_status(RAFT_SHARD);
	if (s.leader >= 0)
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("%s writes only on its shard's leader, and this node (%d) is a follower of shard %d of region %d",
						what, tidal_node_id, tidal_shard_id, tidal_region_id),
				 errhint("The shard's leader is node %d; send writes there (tidal.topology names its nodes).",
						 s.leader)));
	ereport(ERROR,
			(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
			 errmsg("%s writes only on its shard's leader, and shard %d of region %d has none right now",
					what, tidal_shard_id, tidal_region_id),
			 errhint("An election among the shard's nodes is under way or a majority of them is unreachable; "
					 "try again in a moment.")));
}

/*
 * Election calls of the cluster (and a witness's calls) are for a shard's
 * leader: a follower, reached by a connection string that lists every node
 * of its shard, refuses them, and the caller tries the next node.  Were it
 * to answer, a region could vote twice in a term, and a leader would count
 * a follower's answer as its region's.
 */
static void
require_shard_leader_for_call(const char *what)
{
	if (!election_shard_leads())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("%s is answered by its shard's leader, and this node (%d) follows it", what, tidal_node_id),
				 errhint("The caller tries the next node of the shard's connection string.")));
}

/* ---- the cluster's calls: tidal._request_vote, _request_prevote, _heartbeat ---- */

/*
 * tidal._request_vote(term bigint, candidate int, progress bigint)
 *    RETURNS TABLE(term bigint, granted boolean)
 * The vote is in tidal.raft_state when the caller's transaction (this
 * call's, in autocommit) commits, before the answer is complete.  A
 * follower of its shard speaks for no region: it grants nothing.
 */
Datum
tidal_request_vote(PG_FUNCTION_ARGS)
{
	int64		term = PG_GETARG_INT64(0);
	int32		candidate = PG_GETARG_INT32(1);
	int64		progress = PG_GETARG_INT64(2);
	int64		current;
	bool		granted;
	TupleDesc	desc = peer_call_begin(fcinfo);
	TidalSavedUser saved;

	check_peer_term(term, candidate, TIDAL_MAX_REGION_ID, "candidate region");
	require_shard_leader_for_call("tidal._request_vote");
	query_begin(&saved);
	granted = raft_answer_vote(RAFT_CLUSTER, 0, term, candidate, progress, true, &current);
	query_end(&saved);
	PG_RETURN_DATUM(peer_call_answer(desc, current, granted));
}

/*
 * tidal._request_prevote(term bigint, candidate int, progress bigint)
 *    RETURNS TABLE(term bigint, granted boolean)
 * Would this node vote for the candidate in that term?  Raft's pre-vote
 * (Ongaro's thesis, 9.6): yes only if the term is newer than ours, the
 * candidate's log is at least as complete, and we neither lead nor heard
 * our leader within an election timeout.  Nothing is written and no state
 * changes, so asking cannot disrupt a working leader.
 */
Datum
tidal_request_prevote(PG_FUNCTION_ARGS)
{
	int64		term = PG_GETARG_INT64(0);
	int32		candidate = PG_GETARG_INT32(1);
	int64		progress = PG_GETARG_INT64(2);
	int64		current;
	bool		granted;
	TupleDesc	desc = peer_call_begin(fcinfo);
	TidalSavedUser saved;

	check_peer_term(term, candidate, TIDAL_MAX_REGION_ID, "candidate region");
	require_shard_leader_for_call("tidal._request_prevote");
	query_begin(&saved);
	granted = raft_answer_prevote(RAFT_CLUSTER, term, progress, &current);
	query_end(&saved);
	PG_RETURN_DATUM(peer_call_answer(desc, current, granted));
}

/*
 * tidal._heartbeat(term bigint, leader int) RETURNS TABLE(term bigint, ok boolean)
 */
Datum
tidal_heartbeat(PG_FUNCTION_ARGS)
{
	int64		term = PG_GETARG_INT64(0);
	int32		leader = PG_GETARG_INT32(1);
	int64		current;
	bool		ok;
	TupleDesc	desc = peer_call_begin(fcinfo);
	TidalSavedUser saved;

	check_peer_term(term, leader, TIDAL_MAX_REGION_ID, "leader region");
	require_shard_leader_for_call("tidal._heartbeat");
	query_begin(&saved);
	ok = raft_answer_heartbeat(RAFT_CLUSTER, 0, term, leader, &current);
	query_end(&saved);
	PG_RETURN_DATUM(peer_call_answer(desc, current, ok));
}

/* ---- the shard's calls: tidal._shard_request_vote, _shard_request_prevote, _shard_heartbeat ---- */

/* is a call about this node's shard (a member's) or another's (to this node as its witness)? */
static bool
shard_call_is_witness(int32 shard)
{
	if (shard < 0 || shard > TIDAL_MAX_SHARD_ID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid shard %d", shard)));
	if (shard == tidal_shard_id)
		return false;
	require_shard_leader_for_call("a witness's election call");
	return true;
}

/* does this node, as a witness, hear that shard's leader? */
static bool
witness_hears(int32 shard)
{
	TimestampTz heard;

	SpinLockAcquire(&witness->mutex);
	heard = witness->heard[shard];
	SpinLockRelease(&witness->mutex);
	return heard != 0 && !TimestampDifferenceExceeds(heard, GetCurrentTimestamp(), raft_timeout_ms(RAFT_SHARD));
}

/*
 * tidal._shard_request_vote(shard int, term bigint, candidate int, progress bigint)
 *    RETURNS TABLE(term bigint, granted boolean)
 * A member's vote (its log at least as complete), or a witness's (while it
 * does not hear the shard's leader), durable in tidal.shard_raft_state.
 */
Datum
tidal_shard_request_vote(PG_FUNCTION_ARGS)
{
	int32		shard = PG_GETARG_INT32(0);
	int64		term = PG_GETARG_INT64(1);
	int32		candidate = PG_GETARG_INT32(2);
	int64		progress = PG_GETARG_INT64(3);
	bool		as_witness = shard_call_is_witness(shard);
	int64		current = 0;
	bool		granted = false;
	TupleDesc	desc = peer_call_begin(fcinfo);
	TidalSavedUser saved;

	check_peer_term(term, candidate, TIDAL_MAX_NODE_ID, "candidate node");
	query_begin(&saved);
	if (!as_witness)
		granted = raft_answer_vote(RAFT_SHARD, shard, term, candidate, progress, true, &current);
	else if (!witness_hears(shard))
		granted = raft_answer_vote(RAFT_SHARD, shard, term, candidate, progress, false, &current);
	else
	{
		int32		voted_for;

		raft_read_state(RAFT_SHARD, shard, &current, &voted_for);
	}
	query_end(&saved);
	PG_RETURN_DATUM(peer_call_answer(desc, current, granted));
}

/*
 * tidal._shard_request_prevote(shard int, term bigint, candidate int, progress bigint)
 *    RETURNS TABLE(term bigint, granted boolean)
 */
Datum
tidal_shard_request_prevote(PG_FUNCTION_ARGS)
{
	int32		shard = PG_GETARG_INT32(0);
	int64		term = PG_GETARG_INT64(1);
	int32		candidate = PG_GETARG_INT32(2);
	int64		progress = PG_GETARG_INT64(3);
	bool		as_witness = shard_call_is_witness(shard);
	int64		current;
	int32		voted_for;
	bool		granted;
	TupleDesc	desc = peer_call_begin(fcinfo);
	TidalSavedUser saved;

	check_peer_term(term, candidate, TIDAL_MAX_NODE_ID, "candidate node");
	query_begin(&saved);
	if (!as_witness)
		granted = raft_answer_prevote(RAFT_SHARD, term, progress, &current);
	else
	{
		raft_read_state(RAFT_SHARD, shard, &current, &voted_for);
		granted = term > current && !witness_hears(shard);
	}
	query_end(&saved);
	PG_RETURN_DATUM(peer_call_answer(desc, current, granted));
}

/*
 * tidal._shard_heartbeat(shard int, term bigint, leader int)
 *    RETURNS TABLE(term bigint, ok boolean)
 */
Datum
tidal_shard_heartbeat(PG_FUNCTION_ARGS)
{
	int32		shard = PG_GETARG_INT32(0);
	int64		term = PG_GETARG_INT64(1);
	int32		leader = PG_GETARG_INT32(2);
	bool		as_witness = shard_call_is_witness(shard);
	int64		current;
	int32		voted_for;
	bool		ok;
	TupleDesc	desc = peer_call_begin(fcinfo);
	TidalSavedUser saved;

	check_peer_term(term, leader, TIDAL_MAX_NODE_ID, "leader node");
	query_begin(&saved);
	if (!as_witness)
		ok = raft_answer_heartbeat(RAFT_SHARD, shard, term, leader, &current);
	else
	{
		raft_read_state(RAFT_SHARD, shard, &current, &voted_for);
		ok = term >= current;
		if (term > current)
		{
			raft_write_state(RAFT_SHARD, shard, term, -1);
			current = term;
		}
		if (ok)
		{
			SpinLockAcquire(&witness->mutex);
			witness->heard[shard] = GetCurrentTimestamp();
			SpinLockRelease(&witness->mutex);
		}
	}
	query_end(&saved);
	PG_RETURN_DATUM(peer_call_answer(desc, current, ok));
}

/* ---- the leader-only check, and the status functions ---- */

/*
 * Elections run among the region peers of a node: the same shard in the
 * other regions (a shard sibling of this region has its own group, and
 * the members of this node's shard, 0.8, are not regions).  Before
 * 0.7 peer_defs had no shard_id: every peer was a region peer.
 */
#define REGION_PEER_CONDITION \
	"coalesce((pg_catalog.to_jsonb(d) OPERATOR(pg_catalog.->>) 'shard_id')::pg_catalog.int4, " \
	"         pg_catalog.current_setting('tidal.shard_id')::pg_catalog.int4) " \
	"  = pg_catalog.current_setting('tidal.shard_id')::pg_catalog.int4 " \
	"  AND d.region_id <> pg_catalog.current_setting('tidal.region_id')::pg_catalog.int4"

static int64
peer_count(void)
{
	static OwnedQuery q = {
		"SELECT pg_catalog.count(*) FROM tidal.peer_defs d WHERE " REGION_PEER_CONDITION, 0, {InvalidOid}, NULL
	};
	bool		isnull;
	int64		n;
	TidalSavedUser saved;

	if (!OidIsValid(RangeVarGetRelid(makeRangeVar("tidal", "peer_defs", -1), NoLock, true)))
		return 0;
	query_begin(&saved);
	query_exec(&q, NULL, NULL, true, SPI_OK_SELECT);
	n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	query_end(&saved);
	return n;
}

void
election_require_leader(const char *what)
{
	RaftStatus	s;

	tidal_require_preload();

	/*
	 * The cluster leader is the leader of shard 0's nodes: a cluster-wide
	 * decision is made in one place, whatever the number of shards.
	 */
	if (tidal_shard_id != 0)
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("%s runs only on the leader, a node of shard 0, and this node is in shard %d",
						what, tidal_shard_id),
				 errhint("Run it on shard 0 of the leader's region; tidal.cluster there names the leader.")));
	election_require_shard_leader(what);
	if (peer_count() == 0)
		return;					/* a cluster of one region: this node decides */
	s = raft_status(RAFT_CLUSTER);
	if (s.role == ROLE_LEADER)
		return;
	if (s.leader >= 0)
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("%s runs only on the leader, and this node (region %d) is a follower",
						what, tidal_region_id),
				 errhint("The leader is region %d; run it there.", s.leader)));
	ereport(ERROR,
			(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
			 errmsg("%s runs only on the leader, and no leader is known right now", what),
			 errhint("An election is under way or a majority is unreachable; try again in a moment, "
					 "or look at tidal.cluster.")));
}

static Datum
status_row(FunctionCallInfo fcinfo, RaftStatus s)
{
	TupleDesc	desc;
	Datum		values[6];
	bool		nulls[6] = {false};
	static const char *const roles[] = {"follower", "candidate", "leader"};

	tidal_require_preload();
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	values[0] = CStringGetTextDatum(roles[s.role]);
	values[1] = Int64GetDatum(s.term);
	values[2] = Int32GetDatum(s.leader);
	nulls[2] = s.leader < 0;
	values[3] = TimestampTzGetDatum(s.last_heartbeat);
	nulls[3] = s.last_heartbeat == 0;
	values[4] = TimestampTzGetDatum(s.leader_since);
	nulls[4] = s.role != ROLE_LEADER || s.leader_since == 0;
	values[5] = Int32GetDatum(Max(s.members, 1));
	return HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls));
}

/*
 * tidal._election_status() RETURNS TABLE(role text, term bigint, leader_region int,
 *     last_heartbeat timestamptz, leader_since timestamptz, members int)
 */
Datum
tidal_election_status(PG_FUNCTION_ARGS)
{
	RaftStatus	s = raft_status(RAFT_CLUSTER);

	if (s.members <= 1 && peer_count() == 0)
	{
		s.role = ROLE_LEADER;	/* a cluster of one */
		s.leader = tidal_region_id;
	}
	PG_RETURN_DATUM(status_row(fcinfo, s));
}

/*
 * tidal._shard_election_status() RETURNS TABLE(role text, term bigint, leader_node int,
 *     last_heartbeat timestamptz, leader_since timestamptz, members int)
 * members: the shard's nodes, and its witness if it has one.
 */
Datum
tidal_shard_election_status(PG_FUNCTION_ARGS)
{
	RaftStatus	s = raft_status(RAFT_SHARD);

	if (s.members <= 1)
	{
		s.role = ROLE_LEADER;	/* a shard of one node */
		s.leader = tidal_node_id;
	}
	PG_RETURN_DATUM(status_row(fcinfo, s));
}

/* ---- the worker ---- */

/* the region peers, as members of the cluster group */
static void
load_cluster_members(RaftRunner *r)
{
	static OwnedQuery q = {
		"SELECT region_id, conninfo FROM tidal.peer_defs d "
		" WHERE " REGION_PEER_CONDITION " ORDER BY region_id", 0, {InvalidOid}, NULL
	};
	RaftMember	fresh[RAFT_MAX_MEMBERS];
	int			n = 0;
	uint64		i;
	TidalSavedUser saved;

	query_begin(&saved);
	query_exec(&q, NULL, NULL, true, SPI_OK_SELECT);
	for (i = 0; i < SPI_processed && n < RAFT_MAX_MEMBERS; i++, n++)
	{
		bool		isnull;

		memset(&fresh[n], 0, sizeof(RaftMember));
		fresh[n].id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		fresh[n].conninfo = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
	}
	raft_set_members(r, fresh, n);
	query_end(&saved);
}

/* this node's place among its shard's nodes by node id (0: the lowest), which stands first */
static int	shard_rank = 0;

/*
 * The other nodes of this shard (peers of this region and shard with a
 * node), and for an even number of nodes a witness: the lowest other shard
 * of the region.  SQL objects before 0.8 have no members.
 */
static void
load_shard_members(RaftRunner *r)
{
	static OwnedQuery q = {
		"(SELECT node_id, conninfo, false FROM tidal.peer_defs "
		"  WHERE region_id = $1 AND shard_id = $2 AND node_id IS NOT NULL ORDER BY node_id) "
		"UNION ALL "
		"(SELECT shard_id, conninfo, true FROM tidal.peer_defs "
		"  WHERE region_id = $1 AND shard_id <> $2 AND node_id IS NULL "
		"    AND (SELECT pg_catalog.count(*) FROM tidal.peer_defs m "
		"          WHERE m.region_id = $1 AND m.shard_id = $2 AND m.node_id IS NOT NULL) % 2 = 1 "
		"  ORDER BY shard_id LIMIT 1)",
		2, {INT4OID, INT4OID}, NULL
	};
	RaftMember	fresh[RAFT_MAX_MEMBERS];
	int			n = 0;
	uint64		i;
	Datum		args[2] = {Int32GetDatum(tidal_region_id), Int32GetDatum(tidal_shard_id)};
	TidalSavedUser saved;

	if (!query_has_column("peer_defs", "node_id") || !query_has_column("shard_raft_state", NULL))
	{
		raft_set_members(r, fresh, 0);
		return;
	}
	query_begin(&saved);
	query_exec(&q, args, NULL, true, SPI_OK_SELECT);
	for (i = 0; i < SPI_processed && n < RAFT_MAX_MEMBERS; i++, n++)
	{
		bool		isnull;

		memset(&fresh[n], 0, sizeof(RaftMember));
		fresh[n].id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		fresh[n].conninfo = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		fresh[n].witness = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3, &isnull));
	}
	raft_set_members(r, fresh, n);
	query_end(&saved);
	shard_rank = 0;
	for (i = 0; i < (uint64) n; i++)
		if (!fresh[i].witness && fresh[i].id < tidal_node_id)
			shard_rank++;
}

/*
 * Whether this node's SQL objects have tidal._request_prevote (0.8).  Until
 * ALTER EXTENSION UPDATE has run here, a node stands without asking first,
 * as before, so a cluster halfway through a rolling upgrade still elects:
 * its updated majority by pre-votes, or its older majority without them.
 */
static bool
has_prevote(void)
{
	static OwnedQuery q = {
		"SELECT pg_catalog.to_regprocedure('tidal._request_prevote(bigint, integer, bigint)') IS NOT NULL",
		0, {InvalidOid}, NULL
	};
	bool		isnull;
	bool		yes;
	TidalSavedUser saved;

	query_begin(&saved);
	query_exec(&q, NULL, NULL, true, SPI_OK_SELECT);
	yes = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	query_end(&saved);
	return yes;
}

/* the durable term of a group, taken up after a restart */
static void
take_up_term(RaftGroup g, int32 key)
{
	int64		term;
	int32		voted_for;
	TidalSavedUser saved;
	RaftStatus	s = raft_status(g);

	query_begin(&saved);
	raft_read_state(g, key, &term, &voted_for);
	query_end(&saved);
	raft_set_state(g, s.role, Max(s.term, term), s.leader);
}

void
tidal_election_main(Datum main_arg pg_attribute_unused())
{
	RaftRunner *cluster;
	RaftRunner *shard;
	bool		first = true;
	MemoryContext loop_cxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(tidal_database, NULL, 0);
	pgstat_report_appname("tidal election");

	cluster = MemoryContextAllocZero(TopMemoryContext, sizeof(RaftRunner));
	cluster->group = RAFT_CLUSTER;
	cluster->name = "region";
	cluster->self = tidal_region_id;
	cluster->key = 0;
	cluster->vote_sql = "SELECT term, granted FROM tidal._request_vote($1, $2, $3)";
	cluster->prevote_sql = "SELECT term, granted FROM tidal._request_prevote($1, $2, $3)";
	cluster->heartbeat_sql = "SELECT term, ok FROM tidal._heartbeat($1, $2)";

	shard = MemoryContextAllocZero(TopMemoryContext, sizeof(RaftRunner));
	shard->group = RAFT_SHARD;
	shard->name = "node";
	shard->self = tidal_node_id;
	shard->key = tidal_shard_id;
	shard->vote_sql = "SELECT term, granted FROM tidal._shard_request_vote($4, $1, $2, $3)";
	shard->prevote_sql = "SELECT term, granted FROM tidal._shard_request_prevote($4, $1, $2, $3)";
	shard->heartbeat_sql = "SELECT term, ok FROM tidal._shard_heartbeat($3, $1, $2)";
	shard->prevote = true;
	shard->key_param = true;

	raft_note_heartbeat(RAFT_CLUSTER);
	raft_note_heartbeat(RAFT_SHARD);

	loop_cxt = AllocSetContextCreate(TopMemoryContext, "tidal election loop", ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		bool		ready;

		MemoryContextReset(loop_cxt);
		MemoryContextSwitchTo(loop_cxt);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		query_worker_begin(NULL);
		ready = OidIsValid(get_extension_oid("tidal", true)) &&
			OidIsValid(RangeVarGetRelid(makeRangeVar("tidal", "raft_state", -1), NoLock, true));
		if (ready)
		{
			load_cluster_members(cluster);
			load_shard_members(shard);
			cluster->prevote = has_prevote();
			if (first)
			{
				take_up_term(RAFT_CLUSTER, 0);
				if (query_has_column("shard_raft_state", NULL))
					take_up_term(RAFT_SHARD, tidal_shard_id);
				first = false;
			}
		}
		query_worker_commit();

		if (ready)
		{
			/*
			 * The shard first: only its leader takes part in the cluster's
			 * election.  The lowest node of a fresh shard and the lowest
			 * region of a fresh cluster stand first.
			 */
			raft_round(shard, true, raft_timeout_ms(RAFT_SHARD) * (1 + Min(shard_rank, 7)));
			raft_round(cluster, election_shard_leads(),
					   tidal_election_timeout_ms * (1 + tidal_region_id % 8));
		}

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 ready ? tidal_heartbeat_interval_ms : 1000, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
