/*
 * workers/launcher.c
 *    The launcher of receivers: every round of the maintenance worker
 *    (maintenance.c) starts a receiver for every peer of
 *    tidal.peer_defs that lacks one, and forgets dropped peers (see
 *    launcher.h).  May call: every folder of src/ but tidal.c.
 *
 * Which receiver runs for a peer, or is being started, is recorded in the
 * peer's shared-memory slot (replication/peer.c); each start is claimed
 * there under its lock, so that one receiver per peer runs however often
 * this worker restarts.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "postmaster/bgworker.h"

#include "pg/settings.h"
#include "pg/worker.h"
#include "replication/peer.h"
#include "workers/launcher.h"

/* start the receiver of a peer; false if no worker slot was free */
static bool
register_receiver(PeerId peer)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	char		name[BGW_MAXLEN];

	if (peer.shard == tidal_shard_id)
		snprintf(name, sizeof(name), "tidal receiver from region %d", peer.region);
	else
		snprintf(name, sizeof(name), "tidal receiver from region %d shard %d", peer.region, peer.shard);
	/* never restarted by the postmaster: the launcher starts it again */
	tidal_worker_init(&worker, "tidal_receiver_main", name, "tidal receiver", BGW_NEVER_RESTART);
	worker.bgw_main_arg = peer_to_datum(peer);

	if (RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		pfree(handle);			/* the slot in shared memory tracks it, not this process */
		return true;
	}
	ereport(WARNING,
			(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
			 errmsg("could not start the tidal receiver for region %d, shard %d", peer.region, peer.shard),
			 errhint("Raise max_worker_processes.")));
	return false;
}


void
launcher_start_receivers(void)
{
	PeerId		list[TIDAL_MAX_PEERS];
	int			n;
	int			i;

	n = peer_list(list, TIDAL_MAX_PEERS, PEERS_ALL);
	if (n < 0)
		return;					/* an extension still at 0.1 has no peers */
	for (i = 0; i < n; i++)
		if (peer_claim_launch(list[i]) && !register_receiver(list[i]))
			peer_unclaim_launch(list[i]);

	/* forget dropped peers (their receivers exit by themselves) */
	peer_forget_dropped(list, n);
}
