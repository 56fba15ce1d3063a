/*
 * tidal.c
 *    Module wiring: _PG_init defines the GUCs, requests shared memory (each
 *    module its own, with its own LWLock tranche), registers the callbacks
 *    that upper layers give lower ones and the transaction callbacks of
 *    commit_ack, and registers the background workers.  No logic of its own
 *    lives here; it is included by nobody (docs/architecture.md).
 *
 *    May call: every folder.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "apply/apply.h"
#include "apply/recovery.h"
#include "apply/snapshot.h"
#include "pg/settings.h"
#include "core/hlc.h"
#include "log/log.h"
#include "state/clock.h"
#include "state/facts.h"
#include "state/interest.h"
#include "state/quota.h"
#include "state/recovery.h"
#include "state/stage.h"
#include "state/state.h"
#include "replication/ack.h"
#include "replication/peer.h"
#include "cluster/election.h"
#include "cluster/tenant.h"
#include "workers/maintenance.h"
#include "workers/snapshotter.h"

PG_MODULE_MAGIC;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

void		_PG_init(void);

static void
tidal_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();

	/* each module asks for its shared memory and its own LWLock tranche */
	RequestAddinShmemSpace(hlc_shmem_size());
	RequestAddinShmemSpace(log_shmem_size());
	state_shmem_request();
	facts_shmem_request();
	interest_shmem_request();
	quota_shmem_request();
	peer_shmem_request();
	RequestAddinShmemSpace(election_shmem_size());
	tenant_shmem_request();
}

static void
tidal_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	hlc_shmem_init();
	log_shmem_init();
	state_shmem_init();
	facts_shmem_init();
	interest_shmem_init();
	quota_shmem_init();
	peer_shmem_init();
	election_shmem_init();
	tenant_shmem_init();
	LWLockRelease(AddinShmemInitLock);

	settings_shmem_ready();
}

void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tidal must be loaded via shared_preload_libraries"),
				 errhint("Add tidal to shared_preload_libraries in postgresql.conf and restart the server.")));

	settings_define();

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = tidal_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = tidal_shmem_startup;

	/* what the layers below call through hooks */
	apply_init();
	recovery_init();
	snapshot_init();
	/* staged events are applied after commit_ack's seal: stage first, see stage_register */
	stage_register();
	/* commit_ack = quorum waits in every backend's transaction callbacks */
	ack_register();
	maintenance_register();
	snapshotter_register();
	election_register();
}
