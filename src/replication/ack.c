/*
 * replication/ack.c
 *    Commit acknowledgement: with tidal.commit_ack = quorum, a transaction
 *    that wrote to tidal's log (log_xact_written) waits after its commit
 *    until a majority of this node and its peers have applied it (see
 *    ack.h).  May call: core/, pg/, log/, state/, replication/.
 *
 * Where the sealer runs (tidal.database), the transaction takes a ticket
 * for an urgent seal at COMMIT (log_request_urgent_seal, which cannot
 * fail): the sealer seals at once, past tidal.seal_group_delay, in one
 * batch for every quorum commit waiting, and NOTIFYs; the transaction then
 * waits for that seal, which tells the sequence number a majority must
 * apply.  So quorum commits flush their commits side by side, not one by
 * one behind the origin's row.  Elsewhere (no sealer) the transaction seals
 * its own records at PRE_COMMIT (log_seal_through) and queues a NOTIFY,
 * which COMMIT sends right away (xact.c would send it only after the locks
 * are released).  The waits come after the locks are released (a
 * resource-release callback); they never error, they warn.
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/async.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "log/log.h"
#include "pg/settings.h"
#include "replication/ack.h"
#include "replication/peer.h"

static int64 quorum_seq = 0;	/* the sequence number to await, from PRE_COMMIT */
static int64 awaited_seq = 0;	/* ... from commit until the locks are released */
static bool sealer_seals = false;	/* at PRE_COMMIT: the sealer will seal it */
static uint64 awaited_ticket = 0;	/* from commit: the urgent seal to await */

/* after commit: wait for a majority, or say that we did not get one */
static void
await_quorum(int64 seq, int timeout_ms)
{
	int			acked = 1;
	int			members = 1;

	if (timeout_ms <= 0 || !peer_await_quorum(seq, timeout_ms, &acked, &members))
		ereport(WARNING,
				(errcode(ERRCODE_WARNING),
				 errmsg("tidal.commit_ack = quorum: committed locally, but only %d of %d regions have applied it",
						acked, members),
				 errdetail("tidal.commit_ack_timeout (%d ms) passed, or the wait was canceled; the write stays "
						   "committed here and reaches the other regions when they can pull it.",
						   tidal_commit_ack_timeout_ms)));
}

/* after commit: wait for the sealer to seal it, then for a majority */
static void
await_sealed_quorum(uint64 ticket)
{
	TimestampTz start = GetCurrentTimestamp();
	int64		seq;

	if (!log_await_sealed(ticket, tidal_commit_ack_timeout_ms, &seq))
	{
		ereport(WARNING,
				(errcode(ERRCODE_WARNING),
				 errmsg("tidal.commit_ack = quorum: committed locally, but not sealed for shipping in time"),
				 errdetail("tidal.commit_ack_timeout (%d ms) passed, the wait was canceled or the sealer stopped; "
						   "the write stays committed here and reaches the other regions once it is sealed.",
						   tidal_commit_ack_timeout_ms)));
		return;
	}
	await_quorum(seq, tidal_commit_ack_timeout_ms -
				 (int) TimestampDifferenceMilliseconds(start, GetCurrentTimestamp()));
}

static void
ack_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			if (log_xact_written() && tidal_commit_ack == TIDAL_COMMIT_ACK_QUORUM)
			{
				/*
				 * Where the sealer runs, it seals this transaction's records
				 * right after the commit (an urgent seal, shared with other
				 * quorum commits), so that this transaction does not hold the
				 * origin's row while its commit is flushed.  Elsewhere (no
				 * sealer, no peer pulls) seal them in it, so that we know
				 * the sequence number a majority must apply.
				 */
				if (log_sealer_serves_here())
					sealer_seals = true;
				else
				{
					PushActiveSnapshot(GetTransactionSnapshot());
					(void) log_seal_through(&quorum_seq);
					PopActiveSnapshot();
					Async_Notify(TIDAL_NOTIFY_CHANNEL, NULL);
				}
			}
			break;

		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (sealer_seals)
				awaited_ticket = log_request_urgent_seal();
			else if (quorum_seq > 0)
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
			sealer_seals = false;
			break;

		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			quorum_seq = 0;
			sealer_seals = false;
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
	uint64		ticket = awaited_ticket;

	if (phase != RESOURCE_RELEASE_AFTER_LOCKS || !isTopLevel || (seq == 0 && ticket == 0))
		return;
	awaited_seq = 0;
	awaited_ticket = 0;
	if (!isCommit)
		return;
	if (ticket != 0)
		await_sealed_quorum(ticket);
	else
		await_quorum(seq, tidal_commit_ack_timeout_ms);
}

void
ack_register(void)
{
	RegisterXactCallback(ack_xact_callback, NULL);
	RegisterResourceReleaseCallback(ack_resource_release, NULL);
}
