/*
 * sealer.c
 *    The sealer background worker and tidal.seal().
 *
 * The worker runs in tidal.database.  While the extension exists there, it
 * rebuilds the hot state right after a server start (so the first query does
 * not pay for it) and seals the log every tidal.seal_interval.  An error
 * ends the worker with exit code 1; the postmaster restarts it.
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/extension.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"

#include "log.h"
#include "recovery.h"
#include "sealer.h"
#include "tidal.h"

PGDLLEXPORT void tidal_sealer_main(Datum main_arg);

PG_FUNCTION_INFO_V1(tidal_seal);

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

/* one round in its own transaction: warm the state if needed, then seal */
static void
seal_round(void)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "sealing tidal log");

	if (OidIsValid(get_extension_oid("tidal", true)))
	{
		tidal_ensure_loaded();
		(void) log_seal();
	}

	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
}

void
tidal_sealer_main(Datum main_arg)
{
	(void) main_arg;
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	BackgroundWorkerInitializeConnection(tidal_database, NULL, 0);
	pgstat_report_appname("tidal sealer");

	for (;;)
	{
		seal_round();

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
