/*
 * replication/peer.h
 *    Peer regions: their settings (tidal.peer_defs), and what this node knows
 *    of each in shared memory: its receiver's connection, the batches shipped
 *    both ways, and when it was last heard from.  May call: core/, pg/,
 *    log/, state/, replication/.
 */
#ifndef TIDAL_PEER_H
#define TIDAL_PEER_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "postmaster/bgworker.h"

#define TIDAL_MAX_PEERS 16
#define PEER_ERROR_LEN 256

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
extern void peer_report_state(int32 region, PeerConnState state);
extern void peer_report_pull(int32 region, int64 batches_applied, int64 behind_seq,
							 const char *held);	/* NULL, or why a batch is held */

/* the peer's answer was refused (malformed): why, for tidal.replication_status */
extern void peer_report_error(int32 region, const char *error);

/* a peer pulled from us: it has applied our origin up to acked_seq */
extern void peer_report_served(int32 region, int64 batches_sent, int64 acked_batch, int64 acked_seq);

/*
 * The last batch of our origin the peer said it has applied, at its last
 * pull since this server started; 0 if it has not pulled since.
 */
extern int64 peer_acked_batch(int32 region);

/*
 * A receiver registers itself (to be woken by tidal.reconcile); false if
 * another receiver of that peer runs (then this one exits).
 */
extern bool peer_attach_receiver(int32 region);

/*
 * Whether this node's receiver of that region is connected and has pulled
 * within tidal.peer_timeout: then no other peer needs to relay its origin.
 */
extern bool peer_pulls_directly(int32 region);

/* peers not heard from within tidal.peer_timeout; returns how many (at most max) */
extern int	peer_unreachable_regions(int32 *regions, int max);

/*
 * Wait (without erroring: it runs after commit) until a majority of this
 * node and its peers have applied this origin up to seq; false on timeout
 * or cancel.
 */
extern bool peer_await_quorum(int64 seq, int timeout_ms, int *acked, int *members);

/* the regions of tidal.peer_defs (at most max); -1 if the extension has no peers yet (0.1) */
extern int	peer_list_regions(int32 *regions, int max);

/*
 * The launcher (workers/launcher.c) claims the start of a region's receiver:
 * true if none runs or is being started (then it registers one, or gives
 * the claim back if it could not).
 */
extern bool peer_claim_launch(int32 region);
extern void peer_unclaim_launch(int32 region);

/* forget the slots of peers no longer listed (whose receivers have exited) */
extern void peer_forget_dropped(const int32 *regions, int n);

/* conninfo of a peer, or NULL if it is not (any more) a peer; in a transaction */
extern char *peer_conninfo(int32 region);

#endif							/* TIDAL_PEER_H */
