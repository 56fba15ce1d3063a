/*
 * sealer.c
 *    The sealer background worker and tidal.seal().
 *
 * The worker runs in tidal.database.  While the extension exists there, it
 * rebuilds the hot state right after a server start (so the first query does
 * not pay for it) and seals the log every tidal.seal_interval.  An error
 * ends the worker with exit code 1; the postmaster restarts it.
 *
 * tidal.pending is a queue: every sealed record leaves a dead row behind.
 * Left to autovacuum (at most once a minute), a busy queue grows by millions
 * of dead rows between vacuums and every seal scans them all; so the sealer
 * vacuums the queue itself, at most once a second, after sealing.
 *
 * A transaction that wrote to the log wakes the sealer as it commits, so
 * batches are sealed within milliseconds; each seal (and each batch a
 * receiver applies) is announced with NOTIFY on TIDAL_NOTIFY_CHANNEL, which
 * the peers' receivers listen to.  The sealer also starts a receiver for
 * every peer region (peer.c), forgets expired idempotency keys, and reports
 * the cut-over of tenant migrations this region is the target of
 * (migrate.c).
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/async.h"
#include "commands/extension.h"
#include "commands/vacuum.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "state/idempotency.h"
#include "log/log.h"
#include "replication/peer.h"
#include "state/recovery.h"
#include "cluster/migrate.h"
#include "workers/sealer.h"
#include "pg/settings.h"

PGDLLEXPORT void tidal_sealer_main(Datum main_arg);

PG_FUNCTION_INFO_V1(tidal_seal);

typedef struct SealerShared
{
	pg_atomic_uint32 procno;	/* the sealer's PGPROC number, or INVALID_PGPROCNO */
} SealerShared;

static SealerShared *sealer_shared = NULL;

Size
sealer_shmem_size(void)
{
	return MAXALIGN(sizeof(SealerShared));
}

void
sealer_shmem_init(void)
{
	bool		found;

	sealer_shared = ShmemInitStruct("tidal sealer", sizeof(SealerShared), &found);
	if (!found)
		pg_atomic_init_u32(&sealer_shared->procno, INVALID_PGPROCNO);
}

void
sealer_wake(void)
{
	uint32		procno;

	if (sealer_shared == NULL)
		return;
	procno = pg_atomic_read_u32(&sealer_shared->procno);
	if (procno != INVALID_PGPROCNO)
		SetLatch(&ProcGlobal->allProcs[procno].procLatch);
}

static void
sealer_detach(int code pg_attribute_unused(), Datum arg pg_attribute_unused())
{
	pg_atomic_write_u32(&sealer_shared->procno, INVALID_PGPROCNO);
}

void
sealer_register(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "tidal");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "tidal_sealer_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "tidal sealer");
	snprintf(worker.bgw_type, BGW_MAXLEN, "tidal sealer");
	RegisterBackgroundWorker(&worker);
}

#define QUEUE_VACUUM_INTERVAL_MS 1000
#define KEY_PURGE_INTERVAL_MS	60000
#define MIGRATION_TICK_MS		200

static TimestampTz last_purge = 0;
static TimestampTz last_migration_tick = 0;

/* VACUUM tidal.pending so that its space is reused, as autovacuum would */
static void
vacuum_queue(void)
{
	VacuumParams params;
	Oid			relid;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	pgstat_report_activity(STATE_RUNNING, "vacuuming tidal.pending");
	relid = log_pending_relid(true);
	if (OidIsValid(relid))
	{
		memset(&params, 0, sizeof(params));
		params.options = VACOPT_VACUUM | VACOPT_SKIP_LOCKED;
		params.freeze_min_age = -1;
		params.freeze_table_age = -1;
		params.multixact_freeze_min_age = -1;
		params.multixact_freeze_table_age = -1;
		params.log_min_duration = -1;
		params.index_cleanup = VACOPTVALUE_UNSPECIFIED;
		/*
		 * Never truncate: the queue's space is reused, and truncating needs
		 * an exclusive lock that writers' open transactions hold off, for
		 * up to VACUUM_TRUNCATE_LOCK_TIMEOUT (5 s) of not sealing.
		 */
		params.truncate = VACOPTVALUE_DISABLED;
		params.nworkers = -1;
		vacuum(list_make1(makeVacuumRelation(NULL, relid, NIL)), &params, NULL, true);
	}
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
}

/* one round in its own transaction: warm the state if needed, then seal */
static int64
seal_round(void)
{
	int64		sealed = 0;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "sealing tidal log");

	if (OidIsValid(get_extension_oid("tidal", true)))
	{
		tidal_ensure_loaded();
		sealed = log_seal();
		if (sealed > 0)
			Async_Notify(TIDAL_NOTIFY_CHANNEL, NULL);
		peer_launch_receivers();
		if (TimestampDifferenceExceeds(last_purge, GetCurrentTimestamp(), KEY_PURGE_INTERVAL_MS) &&
			OidIsValid(RangeVarGetRelid(makeRangeVar("tidal", "idempotency_keys", -1), NoLock, true)))
		{
			idem_purge();
			last_purge = GetCurrentTimestamp();
		}
		if (TimestampDifferenceExceeds(last_migration_tick, GetCurrentTimestamp(), MIGRATION_TICK_MS) &&
			OidIsValid(RangeVarGetRelid(makeRangeVar("tidal", "migration_defs", -1), NoLock, true)))
		{
			migration_tick();
			last_migration_tick = GetCurrentTimestamp();
		}
	}

	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
	return sealed;
}

void
tidal_sealer_main(Datum main_arg)
{
	bool		unvacuumed = false;
	TimestampTz last_vacuum = 0;

	(void) main_arg;
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	BackgroundWorkerInitializeConnection(tidal_database, NULL, 0);
	pgstat_report_appname("tidal sealer");
	pg_atomic_write_u32(&sealer_shared->procno, MyProc->pgprocno);
	on_shmem_exit(sealer_detach, (Datum) 0);

	for (;;)
	{
		if (seal_round() > 0)
			unvacuumed = true;
		if (unvacuumed &&
			TimestampDifferenceExceeds(last_vacuum, GetCurrentTimestamp(), QUEUE_VACUUM_INTERVAL_MS))
		{
			vacuum_queue();
			last_vacuum = GetCurrentTimestamp();
			unvacuumed = false;
		}

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 tidal_seal_interval_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
	}
}

/* tidal.seal() RETURNS bigint: seal now; the number of events sealed */
Datum
tidal_seal(PG_FUNCTION_ARGS)
{
	tidal_require_preload();
	PG_RETURN_INT64(log_seal());
}
