/*
 * cluster/election.h
 *    Leader election with Raft's rules among this node and its peers.
 *
 *    May call: cluster/.
 */
#ifndef TIDAL_ELECTION_H
#define TIDAL_ELECTION_H

#include "postgres.h"

typedef enum ElectionRole
{
	ROLE_FOLLOWER = 0,
	ROLE_CANDIDATE,
	ROLE_LEADER
} ElectionRole;

extern Size election_shmem_size(void);
extern void election_shmem_init(void);
extern void election_register(void);

/*
 * Error (25006, with a hint naming the leader) unless this node leads, or
 * has no peers (a cluster of one).  what: the call, for the message.
 */
extern void election_require_leader(const char *what);

#endif							/* TIDAL_ELECTION_H */
