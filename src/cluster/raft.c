/*
 * cluster/raft.c
 *    Leader election by Raft's rules in a group of nodes (see raft.h): the
 *    shared state of each group, its durable term and vote, the answers to
 *    a member's calls, and the rounds a group's worker runs.
 *
 * Terms only grow.  A node votes at most once per term, and the vote is
 * committed before it is answered, so a restart cannot make it vote twice.
 * A vote is granted only to a candidate whose log is at least as complete
 * as the voter's (the sum of its per-origin applied sequence numbers), so
 * a new leader has what a majority had.  A follower that hears no
 * heartbeat for a randomized election timeout first asks for pre-votes
 * (would a majority vote for it, with no state changed anywhere), and
 * stands only if a majority would; a candidate with a majority of votes
 * leads and sends heartbeats every tidal.heartbeat_interval; a leader that
 * cannot reach a majority for an election timeout steps down.  At most one
 * leader per term follows from one vote per node per term and majorities
 * intersecting.
 *
 * May call: core/, pg/, log/, state/, replication/, cluster/.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/pg_prng.h"
#include "miscadmin.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "cluster/raft.h"
#include "pg/query.h"
#include "pg/remote.h"
#include "pg/settings.h"
#include "pg/owner.h"
#include "pg/worker.h"

typedef struct RaftShared
{
	slock_t		mutex;
	RaftStatus	s;
} RaftShared;

static RaftShared *groups = NULL;	/* RAFT_NGROUPS of them */

Size
raft_shmem_size(void)
{
	return MAXALIGN(sizeof(RaftShared) * RAFT_NGROUPS);
}

void
raft_shmem_init(void)
{
	bool		found;
	int			g;

	groups = ShmemInitStruct("tidal raft groups", raft_shmem_size(), &found);
	if (!found)
	{
		memset(groups, 0, raft_shmem_size());
		for (g = 0; g < RAFT_NGROUPS; g++)
		{
			SpinLockInit(&groups[g].mutex);
			groups[g].s.leader = -1;
		}
	}
}

RaftStatus
raft_status(RaftGroup g)
{
	RaftStatus	copy;

	SpinLockAcquire(&groups[g].mutex);
	copy = groups[g].s;
	SpinLockRelease(&groups[g].mutex);
	return copy;
}

void
raft_set_state(RaftGroup g, ElectionRole role, int64 term, int32 leader)
{
	RaftStatus *s = &groups[g].s;
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&groups[g].mutex);
	if (role == ROLE_LEADER && s->role != ROLE_LEADER)
	{
		s->leader_since = now;
		s->last_majority = now;
	}
	s->role = role;
	s->term = term;
	s->leader = leader;
	if (role == ROLE_FOLLOWER && leader >= 0)
		s->last_heartbeat = now;
	SpinLockRelease(&groups[g].mutex);
}

void
raft_note_heartbeat(RaftGroup g)
{
	SpinLockAcquire(&groups[g].mutex);
	groups[g].s.last_heartbeat = GetCurrentTimestamp();
	SpinLockRelease(&groups[g].mutex);
}

/* ---- durable state: tidal.raft_state (the cluster), tidal.shard_raft_state (per shard) ---- */

void
raft_read_state(RaftGroup g, int32 key, int64 *term, int32 *voted_for)
{
	static OwnedQuery cluster_q = {
		"SELECT current_term, coalesce(voted_for, -1) FROM tidal.raft_state FOR UPDATE",
		0, {InvalidOid}, NULL
	};
	static OwnedQuery shard_create_q = {
		"INSERT INTO tidal.shard_raft_state (shard) VALUES ($1) ON CONFLICT DO NOTHING",
		1, {INT4OID}, NULL
	};
	static OwnedQuery shard_q = {
		"SELECT current_term, coalesce(voted_for, -1) FROM tidal.shard_raft_state WHERE shard = $1 FOR UPDATE",
		1, {INT4OID}, NULL
	};
	Datum		args[1] = {Int32GetDatum(key)};
	bool		isnull;

	if (g == RAFT_SHARD)
		query_exec(&shard_create_q, args, NULL, false, SPI_OK_INSERT);
	query_exec(g == RAFT_SHARD ? &shard_q : &cluster_q, args, NULL, false, SPI_OK_SELECT);
	if (SPI_processed != 1)
		elog(ERROR, "tidal's raft state must have one row per group");
	*term = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	*voted_for = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
}

void
raft_write_state(RaftGroup g, int32 key, int64 term, int32 voted_for)
{
	static OwnedQuery cluster_q = {
		"UPDATE tidal.raft_state SET current_term = $1, voted_for = $2",
		2, {INT8OID, INT4OID}, NULL
	};
	static OwnedQuery shard_q = {
		"UPDATE tidal.shard_raft_state SET current_term = $1, voted_for = $2 WHERE shard = $3",
		3, {INT8OID, INT4OID, INT4OID}, NULL
	};
	Datum		args[3] = {Int64GetDatum(term), Int32GetDatum(voted_for), Int32GetDatum(key)};
	char		nulls[3] = {' ', voted_for < 0 ? 'n' : ' ', ' '};

	query_exec(g == RAFT_SHARD ? &shard_q : &cluster_q, args, nulls, false, SPI_OK_UPDATE);
}

int64
raft_log_progress(void)
{
	static OwnedQuery q = {
		"SELECT coalesce(pg_catalog.sum(last_seq), 0)::pg_catalog.int8 FROM tidal.origins", 0, {InvalidOid}, NULL
	};
	bool		isnull;

	query_exec(&q, NULL, NULL, true, SPI_OK_SELECT);
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

int
raft_timeout_ms(RaftGroup g)
{
	return g == RAFT_SHARD ? Max(tidal_election_timeout_ms / 2, 1) : tidal_election_timeout_ms;
}

/* ---- answers to a member's calls ---- */

bool
raft_answer_vote(RaftGroup g, int32 key, int64 term, int32 candidate, int64 progress,
				 bool check_log, int64 *current)
{
	int32		voted_for;
	bool		granted = false;

	raft_read_state(g, key, current, &voted_for);
	if (term > *current)
	{
		*current = term;
		voted_for = -1;
		if (!check_log)
			;					/* a witness has no role in the group */
		else
			raft_set_state(g, ROLE_FOLLOWER, term, -1);
	}
	if (term == *current && (voted_for < 0 || voted_for == candidate) &&
		(!check_log || progress >= raft_log_progress()))
	{
		voted_for = candidate;
		granted = true;
	}
	raft_write_state(g, key, *current, voted_for);
	if (granted && check_log)
		raft_note_heartbeat(g);		/* having voted, wait a full timeout before standing ourselves */
	return granted;
}

bool
raft_answer_prevote(RaftGroup g, int64 term, int64 progress, int64 *current)
{
	RaftStatus	s = raft_status(g);
	bool		hears_leader;

	*current = s.term;
	hears_leader = s.role == ROLE_LEADER ||
		(s.leader >= 0 &&
		 !TimestampDifferenceExceeds(s.last_heartbeat, GetCurrentTimestamp(), raft_timeout_ms(g)));
	return term > s.term && !hears_leader && progress >= raft_log_progress();
}

bool
raft_answer_heartbeat(RaftGroup g, int32 key, int64 term, int32 leader, int64 *current)
{
	int32		voted_for;

	*current = raft_status(g).term;
	if (term < *current)
		return false;
	raft_read_state(g, key, current, &voted_for);
	if (term > *current)
	{
		raft_write_state(g, key, term, -1);	/* a new term: no vote in it yet */
		*current = term;
	}
	if (term != *current)
		return false;
	raft_set_state(g, ROLE_FOLLOWER, term, leader);
	return true;
}

/* ---- the worker's side ---- */

void
raft_set_members(RaftRunner *r, const RaftMember *fresh, int n)
{
	RaftMember	next[RAFT_MAX_MEMBERS];
	int			i;
	int			j;

	n = Min(n, RAFT_MAX_MEMBERS);
	for (i = 0; i < n; i++)
	{
		next[i] = fresh[i];
		next[i].conn = NULL;
		next[i].retry_after = 0;
		for (j = 0; j < r->nmembers; j++)
			if (r->members[j].id == fresh[i].id && r->members[j].witness == fresh[i].witness &&
				r->members[j].conninfo != NULL && strcmp(r->members[j].conninfo, fresh[i].conninfo) == 0)
			{
				next[i] = r->members[j];	/* keeps its connection */
				r->members[j].conn = NULL;
				r->members[j].conninfo = NULL;
				break;
			}
		if (next[i].conninfo == fresh[i].conninfo)
			next[i].conninfo = MemoryContextStrdup(TopMemoryContext, fresh[i].conninfo);
	}
	for (j = 0; j < r->nmembers; j++)
	{
		if (r->members[j].conn)
			PQfinish(r->members[j].conn);
		if (r->members[j].conninfo)
			pfree(r->members[j].conninfo);
	}
	memcpy(r->members, next, sizeof(RaftMember) * n);
	r->nmembers = n;
	SpinLockAcquire(&groups[r->group].mutex);
	groups[r->group].s.members = n + 1;
	SpinLockRelease(&groups[r->group].mutex);
}

/* one call to a member; its answer (term, flag), or false if it did not answer in time */
static bool
call_member(RaftMember *m, const char *sql, int nparams, const char *const *params,
			int64 *term, bool *flag)
{
	PGresult   *res;
	TimestampTz now = GetCurrentTimestamp();

	if (m->conn == NULL)
	{
		if (now < m->retry_after)
			return false;
		m->conn = remote_connect_from(m->conninfo, tidal_heartbeat_interval_ms, &m->host);
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
		/*
		 * No answer, or an error: the next attempt starts with the next host
		 * of a multi-host connection string (a node that is not its shard's
		 * leader refuses election calls; the leader may be the next one),
		 * at once after a refusal, later after a silence.
		 */
		bool		refused = PQstatus(m->conn) == CONNECTION_OK && PQtransactionStatus(m->conn) != PQTRANS_ACTIVE;

		PQfinish(m->conn);
		m->conn = NULL;
		m->host = (m->host + 1) % 1024;
		m->retry_after = refused ? 0 : TimestampTzPlusMilliseconds(now, tidal_election_timeout_ms / 2);
		return false;
	}
	/* text format: the shape check guarantees a NUL-terminated value of one byte or more */
	*term = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	*flag = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	PQclear(res);
	if (*term < 0 || *term > RAFT_MAX_TERM)
	{
		ereport(LOG,
				(errmsg("tidal: an election answer with term " INT64_FORMAT " was ignored", *term),
				 errdetail("Terms are 0 to " INT64_FORMAT ".", RAFT_MAX_TERM)));
		return false;
	}
	return true;
}

/* ask every member; how many said yes, counting this node, and the highest term any answer carried */
static int
ask_all(RaftRunner *r, const char *sql, int nparams, const char *const *params, int64 *highest)
{
	int			yes = 1;
	int			i;

	*highest = 0;
	for (i = 0; i < r->nmembers; i++)
	{
		int64		their_term;
		bool		ok;

		if (call_member(&r->members[i], sql, nparams, params, &their_term, &ok))
		{
			if (ok)
				yes++;
			*highest = Max(*highest, their_term);
		}
	}
	return yes;
}

/* a randomized election timeout in [T, 2T), T the group's (raft_timeout_ms) */
static int
election_timeout(RaftGroup g)
{
	int			t = raft_timeout_ms(g);

	return t + (int) pg_prng_uint64_range(&pg_global_prng_state, 0, Max(t, 1) - 1);
}

/* a higher term seen from a member makes us a follower in it */
static void
adopt_term(RaftRunner *r, int64 term)
{
	TidalSavedUser saved;
	int64		current;
	int32		voted_for;

	query_worker_begin(NULL);
	query_begin(&saved);
	raft_read_state(r->group, r->key, &current, &voted_for);
	if (term > current)
		raft_write_state(r->group, r->key, term, -1);
	query_end(&saved);
	query_worker_commit();
	raft_set_state(r->group, ROLE_FOLLOWER, Max(term, current), -1);
}

/*
 * Stand for election; false if it did not get as far as a vote (the
 * pre-vote found no majority, or a newer term was seen).
 */
static bool
stand(RaftRunner *r)
{
	int64		term;
	int32		voted_for;
	int64		progress;
	int			votes;
	int64		highest;
	char		term_s[32];
	char		self_s[16];
	char		progress_s[32];
	char		key_s[16];
	const char *params[4] = {term_s, self_s, progress_s, key_s};
	TidalSavedUser saved;

	snprintf(self_s, sizeof(self_s), "%d", r->self);
	snprintf(key_s, sizeof(key_s), "%d", r->key);

	/*
	 * First the pre-vote: would a majority vote for us in the next term?
	 * Nothing changes here or there unless it would, so a node that only
	 * missed some heartbeats of a leader the others still hear stays a
	 * follower instead of starting a term that deposes it.
	 */
	if (r->prevote)
	{
		TimestampTz heard_before = raft_status(r->group).last_heartbeat;

		query_worker_begin(NULL);
		query_begin(&saved);
		term = raft_status(r->group).term + 1;
		progress = raft_log_progress();
		query_end(&saved);
		query_worker_commit();
		snprintf(term_s, sizeof(term_s), INT64_FORMAT, term);
		snprintf(progress_s, sizeof(progress_s), INT64_FORMAT, progress);
		votes = ask_all(r, r->prevote_sql, r->key_param ? 4 : 3, params, &highest);
		if (highest >= term)
		{
			adopt_term(r, highest);
			return false;
		}
		if (votes <= (r->nmembers + 1) / 2)
		{
			/*
			 * We no longer hear a leader, but the majority may: wait for
			 * it, and meanwhile name none (unless it was heard again while
			 * we asked).
			 */
			RaftShared *gs = &groups[r->group];

			SpinLockAcquire(&gs->mutex);
			if (gs->s.term == term - 1 && gs->s.role == ROLE_FOLLOWER &&
				gs->s.last_heartbeat == heard_before)
				gs->s.leader = -1;
			SpinLockRelease(&gs->mutex);
			return false;
		}
	}

	/* a new term, and our vote in it, durable before we ask anyone */
	query_worker_begin(NULL);
	query_begin(&saved);
	raft_read_state(r->group, r->key, &term, &voted_for);
	term = Max(term, raft_status(r->group).term) + 1;
	raft_write_state(r->group, r->key, term, r->self);
	progress = raft_log_progress();
	query_end(&saved);
	query_worker_commit();
	raft_set_state(r->group, ROLE_CANDIDATE, term, -1);

	snprintf(term_s, sizeof(term_s), INT64_FORMAT, term);
	snprintf(progress_s, sizeof(progress_s), INT64_FORMAT, progress);
	votes = ask_all(r, r->vote_sql, r->key_param ? 4 : 3, params, &highest);
	if (highest > term)
	{
		adopt_term(r, highest);
		return true;
	}
	if (raft_status(r->group).term != term)
		return true;			/* someone else's term began meanwhile */
	if (votes > (r->nmembers + 1) / 2)
	{
		raft_set_state(r->group, ROLE_LEADER, term, r->self);
		ereport(LOG, (errmsg("tidal: %s %d leads %s in term " INT64_FORMAT " (%d of %d votes)",
							 r->name, r->self, r->group == RAFT_CLUSTER ? "the cluster" : "its shard",
							 term, votes, r->nmembers + 1)));
	}
	else
		raft_set_state(r->group, ROLE_FOLLOWER, term, -1);
	return true;
}

/* a leader's heartbeat round; steps down when no majority answered for a timeout */
static void
lead(RaftRunner *r)
{
	int64		term = raft_status(r->group).term;
	int			acks;
	int64		highest;
	char		term_s[32];
	char		self_s[16];
	char		key_s[16];
	const char *params[3] = {term_s, self_s, key_s};
	TimestampTz now;
	RaftShared *gs = &groups[r->group];

	snprintf(term_s, sizeof(term_s), INT64_FORMAT, term);
	snprintf(self_s, sizeof(self_s), "%d", r->self);
	snprintf(key_s, sizeof(key_s), "%d", r->key);
	acks = ask_all(r, r->heartbeat_sql, r->key_param ? 3 : 2, params, &highest);
	if (highest > term)
	{
		adopt_term(r, highest);
		ereport(LOG, (errmsg("tidal: %s %d steps down: term " INT64_FORMAT " has begun",
							 r->name, r->self, highest)));
		return;
	}
	now = GetCurrentTimestamp();
	SpinLockAcquire(&gs->mutex);
	if (acks > (r->nmembers + 1) / 2)
		gs->s.last_majority = now;
	else if (TimestampDifferenceExceeds(gs->s.last_majority, now, tidal_election_timeout_ms))
	{
		gs->s.role = ROLE_FOLLOWER;
		gs->s.leader = -1;
		gs->s.last_heartbeat = now;
		SpinLockRelease(&gs->mutex);
		ereport(LOG, (errmsg("tidal: %s %d steps down: no majority for an election timeout",
							 r->name, r->self)));
		return;
	}
	SpinLockRelease(&gs->mutex);
}

void
raft_round(RaftRunner *r, bool participate, int first_timeout_ms)
{
	RaftStatus	s = raft_status(r->group);

	/*
	 * The bias of a fresh group (its lowest member stands first) is for its
	 * first election only: once a term has begun, a node that starts or
	 * comes to take part waits a randomized timeout like any other.
	 */
	if (s.term > 0)
		first_timeout_ms = election_timeout(r->group);

	if (r->nmembers == 0)
	{
		/* a group of one: this node leads, in no term of a larger group */
		raft_set_state(r->group, ROLE_LEADER, s.term, r->self);
		r->alone = true;
		return;
	}
	if (r->alone)
	{
		/* members appeared: leadership is now won by an election, the usual way */
		raft_set_state(r->group, ROLE_FOLLOWER, s.term, -1);
		raft_note_heartbeat(r->group);
		r->timeout_ms = first_timeout_ms;
		r->alone = false;
		return;
	}
	if (!participate)
	{
		/*
		 * Not a candidate (a follower of its shard, for the cluster's
		 * election): step down if it led, and start the first timeout again
		 * from the moment it may take part, so that the bias of a fresh
		 * group (its lowest member stands first) still holds then.
		 */
		if (s.role == ROLE_LEADER)
		{
			raft_set_state(r->group, ROLE_FOLLOWER, s.term, -1);
			ereport(LOG, (errmsg("tidal: %s %d steps down: it no longer leads its shard",
								 r->name, r->self)));
		}
		r->timeout_ms = first_timeout_ms;
		raft_note_heartbeat(r->group);
		return;
	}
	if (r->timeout_ms == 0)
		r->timeout_ms = first_timeout_ms;
	if (s.role == ROLE_LEADER)
		lead(r);
	else if (TimestampDifferenceExceeds(s.last_heartbeat, GetCurrentTimestamp(), r->timeout_ms))
	{
		/*
		 * After a vote, wait a new randomized timeout, as Raft does.  After
		 * a pre-vote that found no majority (the others still heard a
		 * leader a moment ago, or had not yet stopped hearing it), ask
		 * again sooner: a pre-vote changes nothing anywhere, so asking
		 * often disturbs nobody, and the leader's death is noticed within
		 * a quarter to a half of an election timeout of the others'.
		 */
		if (stand(r))
			r->timeout_ms = election_timeout(r->group);
		else
			r->timeout_ms = raft_timeout_ms(r->group) / 4 +
				(int) pg_prng_uint64_range(&pg_global_prng_state, 0, Max(raft_timeout_ms(r->group) / 4, 1) - 1);
		raft_note_heartbeat(r->group);	/* wait a new timeout */
	}
}
