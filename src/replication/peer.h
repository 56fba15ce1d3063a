/*
 * replication/peer.h
 *    Peers: their settings (tidal.peer_defs), and what this node knows of
 *    each in shared memory: its receiver's connection, the batches shipped
 *    both ways, and when it was last heard from.  A peer is a node of
 *    another region with this node's shard (a *region peer*: they replicate
 *    everything of their shard, relay for each other, elect the leader and
 *    acknowledge quorum commits), or a node of this region with another
 *    shard (a *shard sibling*: each pulls the other's own writes of the
 *    entities it owns), or (0.8) another node of this node's region and
 *    shard (a *shard member*: members pull everything from each other, so
 *    each holds the shard's whole log).  May call: core/, pg/, log/,
 *    state/, replication/.
 */
#ifndef TIDAL_PEER_H
#define TIDAL_PEER_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "postmaster/bgworker.h"

#define TIDAL_MAX_PEERS 16
#define PEER_ERROR_LEN 256

/*
 * a peer: a node of another region and this shard, or of this region and
 * another shard (node PEER_ANY_NODE: whichever node its connection string
 * reaches), or a member of this node's shard (node: its tidal.node_id)
 */
#define PEER_ANY_NODE	(-1)

typedef struct PeerId
{
	int32		region;
	int32		shard;
	int32		node;
} PeerId;

/* which peers a caller means */
typedef enum PeerScope
{
	PEERS_ALL,					/* region peers and shard siblings */
	PEERS_REGIONS,				/* region peers only: this shard in other regions */
	PEERS_MEMBERS				/* members only: the other nodes of this shard */
} PeerScope;

/* is the peer a region peer (this shard, another region)? */
extern bool peer_is_region_peer(PeerId peer);

/* is the peer a member of this node's shard (this region and shard, another node)? */
extern bool peer_is_member(PeerId peer);

/*
 * does the peer replicate this node's whole shard (a region peer or a
 * member), rather than a sibling's share of it?
 */
extern bool peer_shares_shard(PeerId peer);

/* a peer as a background worker's argument, and back */
extern Datum peer_to_datum(PeerId peer);
extern PeerId peer_from_datum(Datum d);

typedef enum PeerConnState
{
	PEER_DISCONNECTED = 0,
	PEER_CONNECTING,
	PEER_CONNECTED
} PeerConnState;

/* shared memory (tidal.c hooks), with its own LWLock tranche */
extern void peer_shmem_request(void);
extern void peer_shmem_init(void);

/* the receiver of a peer reports on its connection and what it applied */
extern void peer_report_state(PeerId peer, PeerConnState state);
extern void peer_report_pull(PeerId peer, int64 batches_applied, int64 behind_seq,
							 const char *held);	/* NULL, or why a batch is held */

/* the peer's answer was refused (malformed): why, for tidal.replication_status */
extern void peer_report_error(PeerId peer, const char *error);

/*
 * Node `node` of a peer pulled from us: it has applied our origin up to
 * acked_seq.  The peer's marks are its live nodes' lowest (what every one
 * of them has); a commit acknowledgement counts the peer once any of its
 * nodes has the commit.
 */
extern void peer_report_served(PeerId peer, int32 node, int64 batches_sent, int64 acked_batch,
							   int64 acked_seq);

/*
 * The same, learnt the other way: this node pulled from node `node` of the
 * peer (-1: unknown, then nothing), whose answer said how far it has our
 * origin.  A peer's node that pulls from another node of ours (a follower
 * reached first through a multi-host connection string) still keeps its
 * marks fresh here, as long as we pull from it.
 */
extern void peer_report_marks(PeerId peer, int32 node, int64 acked_batch, int64 acked_seq);

/*
 * The last batch of our origin every live node of the peer said it has
 * applied, at their last pulls since this server started; 0 if none has
 * pulled since.
 */
extern int64 peer_acked_batch(PeerId peer);

/*
 * When this node's last pull from the peer left nothing of it behind (it
 * had everything the peer had, when the peer answered); 0 if none has
 * since this server started.
 */
extern TimestampTz peer_caught_up_at(PeerId peer);

/*
 * A receiver registers itself (to be woken by tidal.reconcile); false if
 * another receiver of that peer runs (then this one exits).
 */
extern bool peer_attach_receiver(PeerId peer);

/*
 * Whether this node's receiver of that peer is connected and has pulled
 * within tidal.peer_timeout: then no other peer needs to relay its origin.
 */
extern bool peer_pulls_directly(PeerId peer);

/* region peers not heard from within tidal.peer_timeout: their regions, how many (at most max) */
extern int	peer_unreachable_regions(int32 *regions, int max);

/*
 * Wait (without erroring: it runs after commit) until this origin is
 * applied up to seq by a majority of this node and its region peers (scope
 * PEERS_REGIONS), or by one of the other nodes of its shard (PEERS_MEMBERS;
 * at once if it has none); false on timeout or cancel.  *acked of *members
 * have it, counting this node.
 */
extern bool peer_await_acks(int64 seq, PeerScope scope, int timeout_ms, int *acked, int *members);

/* the peers of tidal.peer_defs in scope (at most max); -1 if the extension has no peers yet (0.1) */
extern int	peer_list(PeerId *peers, int max, PeerScope scope);

/*
 * The launcher (workers/launcher.c) claims the start of a peer's receiver:
 * true if none runs or is being started (then it registers one, or gives
 * the claim back if it could not).
 */
extern bool peer_claim_launch(PeerId peer);
extern void peer_unclaim_launch(PeerId peer);

/* forget the slots of peers no longer listed (whose receivers have exited) */
extern void peer_forget_dropped(const PeerId *peers, int n);

/* wake every receiver to pull now */
extern void peer_wake_receivers(void);

/* conninfo of a peer, or NULL if it is not (any more) a peer; in a transaction */
extern char *peer_conninfo(PeerId peer);

#endif							/* TIDAL_PEER_H */
