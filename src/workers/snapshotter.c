/*
 * workers/snapshotter.c
 *    The snapshot worker, shown as "tidal snapshotter".  May call: every
 *    folder of src/ but tidal.c.
 *
 * It runs in tidal.database, apart from the sealer: folding the log into a
 * snapshot takes as long as reading what was written since the last one,
 * and sealing must not wait for that.  Every tidal.snapshot_interval (0:
 * never) it takes a snapshot if a batch was sealed or received since the
 * newest, asks the peers what they have applied, and compacts the log.  An
 * error ends the worker with exit code 1; the postmaster restarts it.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "commands/extension.h"
#include "nodes/makefuncs.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/timestamp.h"

#include "apply/compact.h"
#include "apply/snapshot.h"
#include "pg/query.h"
#include "pg/settings.h"
#include "pg/worker.h"
#include "workers/snapshotter.h"

PGDLLEXPORT void tidal_snapshotter_main(Datum main_arg);

#define IDLE_CHECK_MS	10000	/* how often a disabled worker looks at its setting again */

void
snapshotter_register(void)
{
	BackgroundWorker worker;

	tidal_worker_init(&worker, "tidal_snapshotter_main", "tidal snapshotter", "tidal snapshotter", 10);
	RegisterBackgroundWorker(&worker);
}

static void
snapshot_round(void)
{
	int64		id = 0;
	int64		removed = 0;

	query_worker_begin("taking a snapshot of tidal's hot state");
	if (OidIsValid(get_extension_oid("tidal", true)) &&
		OidIsValid(RangeVarGetRelid(makeRangeVar("tidal", "snapshot_heads", -1), NoLock, true)))
	{
		id = snapshot_take(true);
		compact_poll_peers();
		removed = compact_log();
	}
	query_worker_commit();
	if (id > 0 || removed > 0)
		ereport(DEBUG1,
				(errmsg("tidal snapshotter: snapshot " INT64_FORMAT ", " INT64_FORMAT " batches compacted",
						id, removed)));
}

void
tidal_snapshotter_main(Datum main_arg)
{
	TimestampTz last = GetCurrentTimestamp();

	(void) main_arg;
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	BackgroundWorkerInitializeConnection(tidal_database, NULL, 0);
	pgstat_report_appname("tidal snapshotter");

	for (;;)
	{
		long		wait_ms = IDLE_CHECK_MS;

		if (tidal_snapshot_interval_s > 0)
		{
			TimestampTz due = TimestampTzPlusMilliseconds(last, (int64) tidal_snapshot_interval_s * 1000);

			if (GetCurrentTimestamp() >= due)
			{
				snapshot_round();
				last = GetCurrentTimestamp();
				due = TimestampTzPlusMilliseconds(last, (int64) tidal_snapshot_interval_s * 1000);
			}
			wait_ms = Min(wait_ms, TimestampDifferenceMilliseconds(GetCurrentTimestamp(), due));
		}

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Max(wait_ms, 1), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
	}
}
