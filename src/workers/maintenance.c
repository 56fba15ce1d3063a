/*
 * workers/maintenance.c
 *    The maintenance background worker (shown as "tidal sealer") and
 *    tidal.seal().  May call: every folder of src/ but tidal.c.
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
 * A transaction that wrote to the log wakes the worker as it commits
 * (log.c: the worker registers its latch there), so an idle log is sealed
 * within milliseconds; under load the worker gathers the commits of
 * tidal.seal_group_delay into one batch (gather_commits).  Each seal (and
 * each batch a receiver applies) is announced with NOTIFY on
 * TIDAL_NOTIFY_CHANNEL, which the peers' receivers listen to.  Each round also starts a receiver for
 * every peer region (launcher.c), forgets expired idempotency keys, and
 * reports the cut-over of tenant migrations this region is the target of
 * (migrate.c), and reports the gaps of sessions and expires idle ones
 * (cluster/session.c).
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
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "state/idempotency.h"
#include "log/log.h"
#include "pg/query.h"
#include "state/recovery.h"
#include "cluster/migrate.h"
#include "cluster/session.h"
#include "workers/launcher.h"
#include "workers/maintenance.h"
#include "pg/settings.h"
#include "pg/worker.h"

PGDLLEXPORT void tidal_maintenance_main(Datum main_arg);

PG_FUNCTION_INFO_V1(tidal_seal);

void
maintenance_register(void)
{
	BackgroundWorker worker;

	/* its name from before it was more than the sealer: tests and monitoring look for it */
	tidal_worker_init(&worker, "tidal_maintenance_main", "tidal sealer", "tidal sealer", 5);
	RegisterBackgroundWorker(&worker);
}

#define QUEUE_VACUUM_INTERVAL_MS 1000
#define KEY_PURGE_INTERVAL_MS	60000
#define MIGRATION_TICK_MS		200
#define SESSION_TICK_MS			1000	/* gap reports and expiry of sessions */

static TimestampTz last_purge = 0;
static TimestampTz last_migration_tick = 0;
static TimestampTz last_session_tick = 0;

/* VACUUM tidal.pending so that its space is reused, as autovacuum would */
static void
vacuum_queue(void)
{
	VacuumParams params;
	Oid			relid;

	/* no snapshot: VACUUM runs its own transactions */
	query_worker_begin_utility("vacuuming tidal.pending");
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
	query_worker_commit();
}

/* one round in its own transaction: warm the state if needed, then seal */
static int64
seal_round(void)
{
	int64		sealed = 0;

	query_worker_begin("sealing tidal log");

	if (OidIsValid(get_extension_oid("tidal", true)))
	{
		tidal_ensure_loaded();
		sealed = log_seal();
		if (sealed > 0)
			Async_Notify(TIDAL_NOTIFY_CHANNEL, NULL);
		launcher_start_receivers();
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
		if (TimestampDifferenceExceeds(last_session_tick, GetCurrentTimestamp(), SESSION_TICK_MS))
		{
			session_tick();
			last_session_tick = GetCurrentTimestamp();
		}
	}

	query_worker_commit();
	return sealed;
}

/*
 * Group sealing: when commits wait and the last seal began less than
 * tidal.seal_group_delay ago, wait out the rest of the delay (or until
 * enough commits wait to fill a batch), so that under load one batch -- one
 * transaction, one NOTIFY, one pull by each peer -- holds the commits of the
 * whole delay instead of a handful.  An idle log (the last seal long ago) is
 * sealed at once.
 */
static void
gather_commits(TimestampTz last_seal)
{
	for (;;)
	{
		long		remaining_ms;

		if (tidal_seal_group_delay_ms <= 0 || log_commits_waiting() == 0 || log_group_full())
			return;
		remaining_ms = tidal_seal_group_delay_ms -
			TimestampDifferenceMilliseconds(last_seal, GetCurrentTimestamp());
		if (remaining_ms <= 0)
			return;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 remaining_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

void
tidal_maintenance_main(Datum main_arg)
{
	bool		unvacuumed = false;
	TimestampTz last_vacuum = 0;
	TimestampTz last_seal = 0;

	(void) main_arg;
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	BackgroundWorkerInitializeConnection(tidal_database, NULL, 0);
	pgstat_report_appname("tidal sealer");
	log_attach_sealer();

	for (;;)
	{
		TimestampTz started;
		uint32		commits;

		gather_commits(last_seal);
		started = GetCurrentTimestamp();
		/* a commit counted from here on wakes us again: its records may miss this seal */
		commits = log_take_commits_waiting();
		if (seal_round() > 0)
			unvacuumed = true;

		/*
		 * The group delay runs from the last seal that commits asked for, not
		 * from the rounds of tidal.seal_interval: a write to an idle log is
		 * sealed at once.
		 */
		if (commits > 0)
			last_seal = started;
		if (unvacuumed &&
			TimestampDifferenceExceeds(last_vacuum, GetCurrentTimestamp(), QUEUE_VACUUM_INTERVAL_MS))
		{
			vacuum_queue();
			last_vacuum = GetCurrentTimestamp();
			unvacuumed = false;
		}

		/*
		 * Sleep unless commits came while we sealed; a commit counted after
		 * the check sets the latch (it is the first since the count was
		 * taken), so that the wait returns at once.
		 */
		ResetLatch(MyLatch);
		if (log_commits_waiting() == 0)
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 tidal_seal_interval_ms, PG_WAIT_EXTENSION);
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
