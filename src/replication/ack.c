/*
 * replication/ack.c
 *    Commit acknowledgement: with tidal.commit_ack = quorum, a transaction
 *    that wrote to tidal's log (log_xact_written) waits after its commit
 *    until a majority of this node and its region peers have applied it;
 *    with shard (0.8), until another node of its shard has (see ack.h).
 *    May call: core/, pg/, log/, state/, replication/.
 *
 * At PRE_COMMIT the transaction seals its own records (log_seal_through),
 * which tells the sequence number a majority must apply, and queues a
 * NOTIFY so that peers pull at once.  At COMMIT (where nothing may fail)
 * the NOTIFY is sent right away: xact.c would send it only after the
 * transaction's locks are released.  The wait itself comes after the locks
 * are released (a resource-release callback), so that other quorum commits,
 * which take the origin's row to seal, need not queue behind this one's
 * acknowledgements; it never errors, it warns.
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/async.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"

#include "log/log.h"
#include "pg/settings.h"
#include "replication/ack.h"
#include "replication/peer.h"

static int64 quorum_seq = 0;	/* the sequence number to await, from PRE_COMMIT */
static int64 awaited_seq = 0;	/* ... from commit until the locks are released */
static int	quorum_mode = TIDAL_COMMIT_ACK_LOCAL;	/* tidal.commit_ack at PRE_COMMIT */

/* after commit: wait for a majority (quorum) or a follower (shard), or say that we did not get it */
static void
await_acks(int64 seq, int mode)
{
	int			acked;
	int			members;

	if (mode == TIDAL_COMMIT_ACK_SHARD)
	{
		if (!peer_await_acks(seq, PEERS_MEMBERS, tidal_commit_ack_timeout_ms, &acked, &members))
			ereport(WARNING,
					(errcode(ERRCODE_WARNING),
					 errmsg("tidal.commit_ack = shard: committed locally, but none of the other %d nodes of this shard has applied it",
							members - 1),
					 errdetail("tidal.commit_ack_timeout (%d ms) passed, or the wait was canceled; the write stays "
							   "committed here and reaches the shard's other nodes when they can pull it.",
							   tidal_commit_ack_timeout_ms)));
		return;
	}
	if (!peer_await_acks(seq, PEERS_REGIONS, tidal_commit_ack_timeout_ms, &acked, &members))
		ereport(WARNING,
				(errcode(ERRCODE_WARNING),
				 errmsg("tidal.commit_ack = quorum: committed locally, but only %d of %d regions have applied it",
						acked, members),
				 errdetail("tidal.commit_ack_timeout (%d ms) passed, or the wait was canceled; the write stays "
						   "committed here and reaches the other regions when they can pull it.",
						   tidal_commit_ack_timeout_ms)));
}

static void
ack_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			/*
			 * Seal this transaction's records in it, so that we know the
			 * sequence number a majority must apply.
			 */
			if (log_xact_written() && tidal_commit_ack != TIDAL_COMMIT_ACK_LOCAL)
			{
				quorum_mode = tidal_commit_ack;
				PushActiveSnapshot(GetTransactionSnapshot());
				(void) log_seal_through(&quorum_seq);
				PopActiveSnapshot();
				Async_Notify(TIDAL_NOTIFY_CHANNEL, NULL);
			}
			break;

		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (quorum_seq > 0)
			{
				/*
				 * Peers pull when our NOTIFY reaches them, and xact.c sends
				 * it only after the transaction's locks are released: send it
				 * now.  The wait itself comes once the locks are released
				 * (ack_resource_release).
				 */
				AtCommit_Notify();
				awaited_seq = quorum_seq;
			}
			quorum_seq = 0;
			break;

		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			quorum_seq = 0;
			break;

		default:
			break;
	}
}

/* after COMMIT has released the locks, wait for a majority */
static void
ack_resource_release(ResourceReleasePhase phase, bool isCommit, bool isTopLevel,
					 void *arg pg_attribute_unused())
{
	int64		seq = awaited_seq;

	if (phase != RESOURCE_RELEASE_AFTER_LOCKS || !isTopLevel || seq == 0)
		return;
	awaited_seq = 0;
	if (isCommit)
		await_acks(seq, quorum_mode);
}

void
ack_register(void)
{
	RegisterXactCallback(ack_xact_callback, NULL);
	RegisterResourceReleaseCallback(ack_resource_release, NULL);
}
