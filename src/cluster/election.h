/*
 * cluster/election.h
 *    The elections a node takes part in (cluster/raft.c's rules): the
 *    cluster's, among regions, and its shard's, among the shard's nodes.
 *
 *    May call: cluster/.
 */
#ifndef TIDAL_ELECTION_H
#define TIDAL_ELECTION_H

#include "postgres.h"

extern Size election_shmem_size(void);
extern void election_shmem_init(void);
extern void election_register(void);

/*
 * Error (25006, with a hint naming the leader) unless this node leads the
 * cluster, or has no peers (a cluster of one).  what: the call, for the
 * message.
 */
extern void election_require_leader(const char *what);

/* does this node lead its shard (or is it the shard's only node)? */
extern bool election_shard_leads(void);

/* error (25006, with a hint naming the shard's leader) unless it does */
extern void election_require_shard_leader(const char *what);

/*
 * How stale this node's answers may be: 0 on the shard's leader (or its
 * only node); on a follower, the ms since its last pull from the leader
 * left nothing behind; -1 if it knows no leader or has not caught up with
 * it since it started.  *leader: the leader's node, or -1.
 */
extern int64 election_staleness_ms(int32 *leader);

#endif							/* TIDAL_ELECTION_H */
