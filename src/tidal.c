/*
 * tidal.c
 *    Module wiring: _PG_init defines the GUCs, requests shared memory and
 *    registers the background workers.  No logic of its own lives here; it
 *    may call every layer and is included by nobody (docs/architecture.md).
 *    It also registers the hooks through which lower layers call upper ones
 *    (apply_init, recovery_init).
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
#include "pg/settings.h"
#include "core/hlc.h"
#include "state/clock.h"
#include "state/state.h"
#include "cluster/election.h"
#include "replication/peer.h"
#include "workers/sealer.h"
#include "cluster/tenant.h"

PG_MODULE_MAGIC;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

void		_PG_init(void);

static void
tidal_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();

	RequestAddinShmemSpace(hlc_shmem_size());
	RequestAddinShmemSpace(state_shmem_size());
	RequestAddinShmemSpace(peer_shmem_size());
	RequestAddinShmemSpace(sealer_shmem_size());
	RequestAddinShmemSpace(election_shmem_size());
	RequestAddinShmemSpace(tenant_shmem_size());
	/* the hot state's locks, then one for the peers and one for the tenants */
	RequestNamedLWLockTranche(TIDAL_LWLOCK_TRANCHE, state_lwlock_count() + 2);
}

static void
tidal_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	hlc_shmem_init();
	state_shmem_init();
	peer_shmem_init();
	sealer_shmem_init();
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

	sealer_register();
	election_register();
}
