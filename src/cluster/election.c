/*
 * cluster/election.c
 *    Leader election with Raft's rules, among this node and its peers
 *    (tidal.peer_defs): the "tidal election" background worker, the two
 *    calls peers make to each other (tidal._request_vote, tidal._heartbeat),
 *    the leader-only check, and tidal._election_status for tidal.cluster.
 *
 * Terms only grow.  A node votes at most once per term, and the vote is
 * committed to tidal.raft_state before it is answered, so a restart cannot
 * make it vote twice.  A vote is granted only to a candidate whose log is
 * at least as complete as the voter's (the sum of its per-origin applied
 * sequence numbers), so a new leader has what a majority had.  A follower
 * that hears no heartbeat for a randomized election timeout first asks for
 * pre-votes (tidal._request_prevote: would a majority vote for it, with no
 * state changed anywhere), and stands only if a majority would; a
 * candidate with a majority of votes leads and sends heartbeats every
 * tidal.heartbeat_interval; a leader that cannot reach a majority for an
 * election timeout steps down.  At most one leader per term follows from
 * one vote per node per term and majorities intersecting.
 *
 * The first election after a start is biased towards the lowest region id
 * (its first timeout is shortest), so a fresh cluster is led by region 0.
 *
 * May call: core/, pg/, log/, state/, replication/, cluster/.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "common/pg_prng.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq-fe.h"
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
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "cluster/election.h"
#include "replication/peer.h"
#include "pg/query.h"
#include "pg/remote.h"
#include "pg/settings.h"
#include "pg/owner.h"
#include "pg/worker.h"

/*
 * Terms a peer may state: up to 2^62.  One election a millisecond takes
 * 146 million years to get there, and term + 1 never overflows; a larger
 * term (a hostile or corrupt peer) is refused, not adopted.
 */
#define MAX_TERM	(INT64CONST(1) << 62)

static void
check_peer_term(int64 term, int32 region, const char *what)
{
	if (term < 0 || term > MAX_TERM)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("election term " INT64_FORMAT " is out of range", term),
				 errdetail("Terms are 0 to " INT64_FORMAT ".", MAX_TERM)));
	if (region < 0 || region > TIDAL_MAX_REGION_ID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s region %d", what, region)));
}

PGDLLEXPORT void tidal_election_main(Datum main_arg);

PG_FUNCTION_INFO_V1(tidal_request_vote);
PG_FUNCTION_INFO_V1(tidal_request_prevote);
PG_FUNCTION_INFO_V1(tidal_heartbeat);
PG_FUNCTION_INFO_V1(tidal_election_status);

typedef struct ElectionShared
{
	slock_t		mutex;
	ElectionRole role;
	int64		term;
	int32		leader;			/* region, or -1 */
	TimestampTz last_heartbeat;	/* follower: from the leader of its term */
	TimestampTz leader_since;
	TimestampTz last_majority;	/* leader: when a majority last answered */
	int			members;		/* this node and its peers, at the last round */
} ElectionShared;

static ElectionShared *election = NULL;

Size
election_shmem_size(void)
{
	return MAXALIGN(sizeof(ElectionShared));
}

void
election_shmem_init(void)
{
	bool		found;

	election = ShmemInitStruct("tidal election", sizeof(ElectionShared), &found);
	if (!found)
	{
		memset(election, 0, sizeof(ElectionShared));
		SpinLockInit(&election->mutex);
		election->leader = -1;
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
set_state(ElectionRole role, int64 term, int32 leader)
{
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&election->mutex);
	if (role == ROLE_LEADER && election->role != ROLE_LEADER)
	{
		election->leader_since = now;
		election->last_majority = now;
	}
	election->role = role;
	election->term = term;
	election->leader = leader;
	if (role == ROLE_FOLLOWER && leader >= 0)
		election->last_heartbeat = now;
	SpinLockRelease(&election->mutex);
}

/* ---- durable state: tidal.raft_state ---- */

/* lock the row and read (term, voted_for); voted_for -1 if none */
static void
read_raft_state(int64 *term, int32 *voted_for)
{
	static OwnedQuery q = {
		"SELECT current_term, coalesce(voted_for, -1) FROM tidal.raft_state FOR UPDATE",
		0, {InvalidOid}, NULL
	};
	bool		isnull;

	query_exec(&q, NULL, NULL, false, SPI_OK_SELECT);
	if (SPI_processed != 1)
		elog(ERROR, "tidal.raft_state must have one row");
	*term = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	*voted_for = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
}

static void
write_raft_state(int64 term, int32 voted_for)
{
	static OwnedQuery q = {
		"UPDATE tidal.raft_state SET current_term = $1, voted_for = $2", 2, {INT8OID, INT4OID}, NULL
	};
	Datum		args[2] = {Int64GetDatum(term), Int32GetDatum(voted_for)};
	char		nulls[2] = {' ', voted_for < 0 ? 'n' : ' '};

	query_exec(&q, args, nulls, false, SPI_OK_UPDATE);
}

/* how complete this node's log is: the sum of its per-origin sequence numbers */
static int64
log_progress(void)
{
	static OwnedQuery q = {
		"SELECT coalesce(pg_catalog.sum(last_seq), 0)::pg_catalog.int8 FROM tidal.origins", 0, {InvalidOid}, NULL
	};
	bool		isnull;

	query_exec(&q, NULL, NULL, true, SPI_OK_SELECT);
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* ---- the calls peers make ---- */

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

/*
 * tidal._request_vote(term bigint, candidate int, progress bigint)
 *    RETURNS TABLE(term bigint, granted boolean)
 * The vote is in tidal.raft_state when the caller's transaction (this
 * call's, in autocommit) commits, before the answer is complete.
 */
Datum
tidal_request_vote(PG_FUNCTION_ARGS)
{
	int64		term = PG_GETARG_INT64(0);
	int32		candidate = PG_GETARG_INT32(1);
	int64		progress = PG_GETARG_INT64(2);
	int64		current;
	int32		voted_for;
	bool		granted = false;
	TupleDesc	desc = peer_call_begin(fcinfo);
	TidalSavedUser saved;

	check_peer_term(term, candidate, "candidate");
	query_begin(&saved);
	read_raft_state(&current, &voted_for);
	if (term > current)
	{
		current = term;
		voted_for = -1;
		set_state(ROLE_FOLLOWER, term, -1);
	}
	if (term == current && (voted_for < 0 || voted_for == candidate) &&
		progress >= log_progress())
	{
		voted_for = candidate;
		granted = true;
	}
	write_raft_state(current, voted_for);
	query_end(&saved);
	if (granted)
	{
		/* having voted, wait a full timeout before standing ourselves */
		SpinLockAcquire(&election->mutex);
		election->last_heartbeat = GetCurrentTimestamp();
		SpinLockRelease(&election->mutex);
	}

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
	TupleDesc	desc = peer_call_begin(fcinfo);
	ElectionShared copy;
	bool		hears_leader;
	bool		granted = false;
	TidalSavedUser saved;

	check_peer_term(term, candidate, "candidate");
	SpinLockAcquire(&election->mutex);
	copy = *election;
	SpinLockRelease(&election->mutex);

	hears_leader = copy.role == ROLE_LEADER ||
		(copy.leader >= 0 &&
		 !TimestampDifferenceExceeds(copy.last_heartbeat, GetCurrentTimestamp(), tidal_election_timeout_ms));
	if (term > copy.term && !hears_leader)
	{
		query_begin(&saved);
		granted = progress >= log_progress();
		query_end(&saved);
	}
	PG_RETURN_DATUM(peer_call_answer(desc, copy.term, granted));
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
	int32		voted_for;
	bool		ok = false;
	TupleDesc	desc = peer_call_begin(fcinfo);
	TidalSavedUser saved;

	check_peer_term(term, leader, "leader");
	SpinLockAcquire(&election->mutex);
	current = election->term;
	SpinLockRelease(&election->mutex);

	if (term >= current)
	{
		query_begin(&saved);
		read_raft_state(&current, &voted_for);
		if (term > current)
		{
			write_raft_state(term, -1);		/* a new term: no vote in it yet */
			current = term;
		}
		query_end(&saved);
		if (term == current)
		{
			set_state(ROLE_FOLLOWER, term, leader);
			ok = true;
		}
	}
	PG_RETURN_DATUM(peer_call_answer(desc, current, ok));
}

/* ---- the leader-only check ---- */

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
	ElectionRole role;
	int32		leader;

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
	if (peer_count() == 0)
		return;					/* a cluster of one region: this node decides */
	SpinLockAcquire(&election->mutex);
	role = election->role;
	leader = election->leader;
	SpinLockRelease(&election->mutex);
	if (role == ROLE_LEADER)
		return;
	if (leader >= 0)
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("%s runs only on the leader, and this node (region %d) is a follower",
						what, tidal_region_id),
				 errhint("The leader is region %d; run it there.", leader)));
	ereport(ERROR,
			(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
			 errmsg("%s runs only on the leader, and no leader is known right now", what),
			 errhint("An election is under way or a majority is unreachable; try again in a moment, "
					 "or look at tidal.cluster.")));
}

/*
 * tidal._election_status() RETURNS TABLE(role text, term bigint, leader_region int,
 *     last_heartbeat timestamptz, leader_since timestamptz, members int)
 */
Datum
tidal_election_status(PG_FUNCTION_ARGS)
{
	ElectionShared copy;
	TupleDesc	desc;
	Datum		values[6];
	bool		nulls[6] = {false};
	static const char *const roles[] = {"follower", "candidate", "leader"};

	tidal_require_preload();
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	SpinLockAcquire(&election->mutex);
	copy = *election;
	SpinLockRelease(&election->mutex);

	if (copy.members <= 1 && peer_count() == 0)
	{
		copy.role = ROLE_LEADER;	/* a cluster of one */
		copy.leader = tidal_region_id;
	}
	values[0] = CStringGetTextDatum(roles[copy.role]);
	values[1] = Int64GetDatum(copy.term);
	values[2] = Int32GetDatum(copy.leader);
	nulls[2] = copy.leader < 0;
	values[3] = TimestampTzGetDatum(copy.last_heartbeat);
	nulls[3] = copy.last_heartbeat == 0;
	values[4] = TimestampTzGetDatum(copy.leader_since);
	nulls[4] = copy.role != ROLE_LEADER || copy.leader_since == 0;
	values[5] = Int32GetDatum(Max(copy.members, 1));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

/* ---- the worker ---- */

typedef struct Member
{
	int32		region;
	char	   *conninfo;
	PGconn	   *conn;
	TimestampTz retry_after;	/* after a failed connection */
} Member;

static Member members[TIDAL_MAX_PEERS];
static int	nmembers = 0;		/* peers, not counting this node */

/* refresh the member list from tidal.peer_defs, keeping open connections */
static void
load_members(void)
{
	static OwnedQuery q = {
		"SELECT region_id, conninfo FROM tidal.peer_defs d "
		" WHERE " REGION_PEER_CONDITION " ORDER BY region_id", 0, {InvalidOid}, NULL
	};
	Member		fresh[TIDAL_MAX_PEERS];
	int			n = 0;
	uint64		r;
	int			i;
	TidalSavedUser saved;

	query_begin(&saved);
	query_exec(&q, NULL, NULL, true, SPI_OK_SELECT);
	for (r = 0; r < SPI_processed && n < TIDAL_MAX_PEERS; r++)
	{
		bool		isnull;
		int32		region = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull));
		char	   *conninfo = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2);

		memset(&fresh[n], 0, sizeof(Member));
		fresh[n].region = region;
		for (i = 0; i < nmembers; i++)
			if (members[i].region == region && strcmp(members[i].conninfo, conninfo) == 0)
			{
				fresh[n] = members[i];
				members[i].conn = NULL;
				break;
			}
		if (fresh[n].conninfo == NULL)
			fresh[n].conninfo = MemoryContextStrdup(TopMemoryContext, conninfo);
		n++;
	}
	query_end(&saved);

	for (i = 0; i < nmembers; i++)
		if (members[i].conn)
			PQfinish(members[i].conn);
	memcpy(members, fresh, sizeof(Member) * n);
	nmembers = n;
	SpinLockAcquire(&election->mutex);
	election->members = n + 1;
	SpinLockRelease(&election->mutex);
}

/* one call to a member; its answer (term, flag), or false if it did not answer in time */
static bool
call_member(Member *m, const char *sql, int nparams, const char *const *params,
			int64 *term, bool *flag)
{
	PGresult   *res;
	TimestampTz now = GetCurrentTimestamp();

	if (m->conn == NULL)
	{
		if (now < m->retry_after)
			return false;
		m->conn = remote_connect(m->conninfo, tidal_heartbeat_interval_ms);
		if (m->conn == NULL)
		{
			m->retry_after = TimestampTzPlusMilliseconds(now, tidal_election_timeout_ms / 2);
			return false;
		}
	}
	res = remote_query(m->conn, sql, nparams, params, 0, tidal_heartbeat_interval_ms, 1, 1024, NULL);
	if (res != NULL &&
		(remote_check_shape(res, 2, NULL, (const int[]) {REMOTE_ANY_LENGTH, REMOTE_ANY_LENGTH}) != NULL ||
		 PQntuples(res) != 1))
	{
		ereport(LOG,
				(errmsg("tidal: a malformed answer from a member's election call was ignored")));
		PQclear(res);
		res = NULL;
	}
	if (res == NULL)
	{
		if (res)
			PQclear(res);
		PQfinish(m->conn);
		m->conn = NULL;
		m->retry_after = TimestampTzPlusMilliseconds(now, tidal_election_timeout_ms / 2);
		return false;
	}
	/* text format: the shape check guarantees a NUL-terminated value of one byte or more */
	*term = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	*flag = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	PQclear(res);
	if (*term < 0 || *term > MAX_TERM)
	{
		ereport(LOG,
				(errmsg("tidal: an election answer with term " INT64_FORMAT " was ignored", *term),
				 errdetail("Terms are 0 to " INT64_FORMAT ".", MAX_TERM)));
		return false;
	}
	return true;
}

/*
 * Ask every member; returns how many said yes, counting this node, and
 * the highest term any answer carried.
 */
static int
ask_all(const char *sql, int nparams, const char *const *params, int64 *highest)
{
	int			yes = 1;
	int			i;

	*highest = 0;
	for (i = 0; i < nmembers; i++)
	{
		int64		their_term;
		bool		ok;

		if (call_member(&members[i], sql, nparams, params, &their_term, &ok))
		{
			if (ok)
				yes++;
			*highest = Max(*highest, their_term);
		}
	}
	return yes;
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

	query_exec(&q, NULL, NULL, true, SPI_OK_SELECT);
	return DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* a randomized election timeout in [T, 2T) */
static int
election_timeout(void)
{
	return tidal_election_timeout_ms +
		(int) pg_prng_uint64_range(&pg_global_prng_state, 0, tidal_election_timeout_ms - 1);
}

/* the term we know of; a higher term seen from a peer makes us a follower in it */
static int64
current_term(void)
{
	int64		term;

	SpinLockAcquire(&election->mutex);
	term = election->term;
	SpinLockRelease(&election->mutex);
	return term;
}

static void
adopt_term(int64 term)
{
	TidalSavedUser saved;
	int64		current;
	int32		voted_for;

	query_worker_begin(NULL);
	query_begin(&saved);
	read_raft_state(&current, &voted_for);
	if (term > current)
		write_raft_state(term, -1);
	query_end(&saved);
	query_worker_commit();
	set_state(ROLE_FOLLOWER, Max(term, current), -1);
}

static void
stand(void)
{
	int64		term;
	int32		voted_for;
	int64		progress;
	int			votes;
	int64		highest;
	bool		prevote;
	char		term_s[32];
	char		region_s[16];
	char		progress_s[32];
	const char *params[3] = {term_s, region_s, progress_s};
	TidalSavedUser saved;

	/*
	 * First the pre-vote: would a majority vote for us in the next term?
	 * Nothing changes here or there unless it would, so a node that only
	 * missed some heartbeats of a leader the others still hear stays a
	 * follower instead of starting a term that deposes it.
	 */
	query_worker_begin(NULL);
	query_begin(&saved);
	term = current_term() + 1;
	progress = log_progress();
	prevote = has_prevote();
	query_end(&saved);
	query_worker_commit();
	snprintf(term_s, sizeof(term_s), INT64_FORMAT, term);
	snprintf(region_s, sizeof(region_s), "%d", tidal_region_id);
	snprintf(progress_s, sizeof(progress_s), INT64_FORMAT, progress);
	if (prevote)
	{
		votes = ask_all("SELECT term, granted FROM tidal._request_prevote($1, $2, $3)", 3, params, &highest);
		if (highest >= term)
		{
			adopt_term(highest);
			return;
		}
		if (votes <= (nmembers + 1) / 2)
		{
			/*
			 * We no longer hear a leader, but the majority may: wait for
			 * it, and meanwhile name none (unless it was heard again while
			 * we asked).
			 */
			SpinLockAcquire(&election->mutex);
			if (election->term == term - 1 && election->role == ROLE_FOLLOWER &&
				TimestampDifferenceExceeds(election->last_heartbeat, GetCurrentTimestamp(),
										   tidal_election_timeout_ms))
				election->leader = -1;
			SpinLockRelease(&election->mutex);
			return;
		}
	}

	/* a new term, and our vote in it, durable before we ask anyone */
	query_worker_begin(NULL);
	query_begin(&saved);
	read_raft_state(&term, &voted_for);
	term = Max(term, current_term()) + 1;
	write_raft_state(term, tidal_region_id);
	progress = log_progress();
	query_end(&saved);
	query_worker_commit();
	set_state(ROLE_CANDIDATE, term, -1);

	snprintf(term_s, sizeof(term_s), INT64_FORMAT, term);
	snprintf(progress_s, sizeof(progress_s), INT64_FORMAT, progress);
	votes = ask_all("SELECT term, granted FROM tidal._request_vote($1, $2, $3)", 3, params, &highest);
	if (highest > term)
	{
		adopt_term(highest);
		return;
	}
	if (current_term() != term)
		return;					/* someone else's term began meanwhile */
	if (votes > (nmembers + 1) / 2)
	{
		set_state(ROLE_LEADER, term, tidal_region_id);
		ereport(LOG, (errmsg("tidal: region %d leads in term " INT64_FORMAT " (%d of %d votes)",
							 tidal_region_id, term, votes, nmembers + 1)));
	}
	else
		set_state(ROLE_FOLLOWER, term, -1);
}

/* a leader's heartbeat round; steps down when no majority answered for a timeout */
static void
lead(void)
{
	int64		term = current_term();
	int			acks;
	int64		highest;
	char		term_s[32];
	char		region_s[16];
	const char *params[2] = {term_s, region_s};
	TimestampTz now;

	snprintf(term_s, sizeof(term_s), INT64_FORMAT, term);
	snprintf(region_s, sizeof(region_s), "%d", tidal_region_id);
	acks = ask_all("SELECT term, ok FROM tidal._heartbeat($1, $2)", 2, params, &highest);
	if (highest > term)
	{
		adopt_term(highest);
		ereport(LOG, (errmsg("tidal: region %d steps down: term " INT64_FORMAT " has begun",
							 tidal_region_id, highest)));
		return;
	}
	now = GetCurrentTimestamp();
	SpinLockAcquire(&election->mutex);
	if (acks > (nmembers + 1) / 2)
		election->last_majority = now;
	else if (TimestampDifferenceExceeds(election->last_majority, now, tidal_election_timeout_ms))
	{
		election->role = ROLE_FOLLOWER;
		election->leader = -1;
		election->last_heartbeat = now;
		SpinLockRelease(&election->mutex);
		ereport(LOG, (errmsg("tidal: region %d steps down: no majority for an election timeout",
							 tidal_region_id)));
		return;
	}
	SpinLockRelease(&election->mutex);
}

void
tidal_election_main(Datum main_arg pg_attribute_unused())
{
	int			timeout_ms;
	bool		first = true;
	bool		alone = false;	/* leading a cluster of one */
	MemoryContext loop_cxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(tidal_database, NULL, 0);
	pgstat_report_appname("tidal election");

	/* the first timeout is shortest for the lowest region: region 0 leads a fresh cluster */
#define FIRST_TIMEOUT_MS (tidal_election_timeout_ms * (1 + tidal_region_id % 8))
	timeout_ms = FIRST_TIMEOUT_MS;

	SpinLockAcquire(&election->mutex);
	election->last_heartbeat = GetCurrentTimestamp();
	SpinLockRelease(&election->mutex);

	loop_cxt = AllocSetContextCreate(TopMemoryContext, "tidal election loop", ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		ElectionRole role;
		TimestampTz last_heartbeat;
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
			int64		term;
			int32		voted_for;
			TidalSavedUser saved;

			load_members();
			if (first)
			{
				/* take up the durable term after a restart */
				query_begin(&saved);
				read_raft_state(&term, &voted_for);
				query_end(&saved);
				SpinLockAcquire(&election->mutex);
				election->term = Max(election->term, term);
				SpinLockRelease(&election->mutex);
				first = false;
			}
		}
		query_worker_commit();

		if (ready)
		{
			SpinLockAcquire(&election->mutex);
			role = election->role;
			last_heartbeat = election->last_heartbeat;
			SpinLockRelease(&election->mutex);

			if (nmembers == 0)
			{
				/* a cluster of one: this node decides, in no term of a larger cluster */
				set_state(ROLE_LEADER, current_term(), tidal_region_id);
				alone = true;
			}
			else if (alone)
			{
				/* peers appeared: leadership is now won by an election, the usual way */
				set_state(ROLE_FOLLOWER, current_term(), -1);
				SpinLockAcquire(&election->mutex);
				election->last_heartbeat = GetCurrentTimestamp();
				SpinLockRelease(&election->mutex);
				timeout_ms = FIRST_TIMEOUT_MS;
				alone = false;
			}
			else if (role == ROLE_LEADER)
				lead();
			else if (TimestampDifferenceExceeds(last_heartbeat, GetCurrentTimestamp(), timeout_ms))
			{
				stand();
				timeout_ms = election_timeout();
				SpinLockAcquire(&election->mutex);
				election->last_heartbeat = GetCurrentTimestamp();	/* wait a new timeout */
				SpinLockRelease(&election->mutex);
			}
		}

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 ready ? tidal_heartbeat_interval_ms : 1000, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
