/*
 * cluster/raft.h
 *    Leader election by Raft's rules in a group of nodes: the mechanism,
 *    whatever the group (cluster/election.c defines two: the regions of
 *    the cluster, and the nodes of this node's shard).  Terms and votes are
 *    durable; a candidate asks for pre-votes first; a leader heartbeats and
 *    steps down without a majority.  May call: core/, pg/, log/, state/,
 *    replication/, cluster/.
 */
#ifndef TIDAL_RAFT_H
#define TIDAL_RAFT_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "libpq-fe.h"

typedef enum ElectionRole
{
	ROLE_FOLLOWER = 0,
	ROLE_CANDIDATE,
	ROLE_LEADER
} ElectionRole;

typedef enum RaftGroup
{
	RAFT_CLUSTER = 0,			/* regions: a member is a region id */
	RAFT_SHARD,					/* this node's shard: a member is a node id */
	RAFT_NGROUPS
} RaftGroup;

/* what shared memory says of a group */
typedef struct RaftStatus
{
	ElectionRole role;
	int64		term;
	int32		leader;			/* a member id, or -1 */
	TimestampTz last_heartbeat;	/* follower: from the leader of its term */
	TimestampTz leader_since;
	TimestampTz last_majority;	/* leader: when a majority last answered */
	int			members;		/* this node and the others, at the last round */
} RaftStatus;

/* Terms a peer may state: up to 2^62 (a larger one is refused, not adopted) */
#define RAFT_MAX_TERM	(INT64CONST(1) << 62)

extern Size raft_shmem_size(void);
extern void raft_shmem_init(void);

extern RaftStatus raft_status(RaftGroup g);
extern void raft_set_state(RaftGroup g, ElectionRole role, int64 term, int32 leader);

/* a follower heard its leader (or a worker starts): its next timeout counts from now */
extern void raft_note_heartbeat(RaftGroup g);

/* the durable term and vote of a group (key: the shard for RAFT_SHARD), under a row lock */
extern void raft_read_state(RaftGroup g, int32 key, int64 *term, int32 *voted_for);
extern void raft_write_state(RaftGroup g, int32 key, int64 term, int32 voted_for);

/*
 * A group's election timeout T: a follower stands after a randomized T to
 * 2T without a heartbeat.  tidal.election_timeout for the cluster; half of
 * it for a shard, so that a shard's follower is promoted within
 * tidal.election_timeout of its leader's last heartbeat.  A leader steps
 * down after tidal.election_timeout without a majority, in either group.
 */
extern int	raft_timeout_ms(RaftGroup g);

/* how complete this node's log is: the sum of its per-origin sequence numbers */
extern int64 raft_log_progress(void);

/*
 * Answers to a member's calls, in the SQL functions peers call (between
 * query_begin and query_end).  Each returns whether it grants or accepts,
 * and sets *current to this node's term.  check_log: the vote needs the
 * candidate's log to be at least as complete as ours (not for a witness,
 * which holds no copy of the group's log).
 */
extern bool raft_answer_vote(RaftGroup g, int32 key, int64 term, int32 candidate, int64 progress,
							 bool check_log, int64 *current);
extern bool raft_answer_prevote(RaftGroup g, int64 term, int64 progress, int64 *current);
extern bool raft_answer_heartbeat(RaftGroup g, int32 key, int64 term, int32 leader, int64 *current);

/* ---- the worker's side ---- */

typedef struct RaftMember
{
	int32		id;
	bool		witness;		/* votes, holds no copy of the group's log */
	char	   *conninfo;
	PGconn	   *conn;
	int			host;			/* of a multi-host conninfo: the one to try first */
	TimestampTz retry_after;	/* after a failed connection */
} RaftMember;

#define RAFT_MAX_MEMBERS 32

/* a group as its worker runs it */
typedef struct RaftRunner
{
	RaftGroup	group;
	const char *name;			/* "region" or "node", for messages */
	int32		self;			/* this node's member id */
	int32		key;			/* durable state's key (the shard for RAFT_SHARD) */
	const char *vote_sql;		/* $1 term, $2 candidate, $3 progress[, $4 key] */
	const char *prevote_sql;	/* the same */
	const char *heartbeat_sql;	/* $1 term, $2 leader[, $3 key] */
	bool		key_param;		/* the calls take the key as their last parameter */
	bool		prevote;		/* ask for pre-votes first (the SQL objects have them) */
	RaftMember	members[RAFT_MAX_MEMBERS];
	int			nmembers;		/* not counting this node */
	int			timeout_ms;		/* the current election timeout */
	bool		alone;			/* leading a group of one */
} RaftRunner;

/* replace the member list by fresh (n of them), keeping open connections */
extern void raft_set_members(RaftRunner *r, const RaftMember *fresh, int n);

/*
 * One round of the group: lead (heartbeats) or, after a timeout without
 * one, stand.  participate: false makes this node a follower that never
 * stands (it still answers its members).  The first timeout after a start
 * is first_timeout_ms.
 */
extern void raft_round(RaftRunner *r, bool participate, int first_timeout_ms);

#endif							/* TIDAL_RAFT_H */
