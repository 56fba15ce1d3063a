/*
 * apply/recovery.c
 *    Owns the rebuild of a database's hot state from tidal's log: load the
 *    signal definitions and the tenants, replay every signal record of a
 *    tenant stored here into the hot state (state_apply_record), and the
 *    keyed writes once their winners are known (idempotency).
 *    tidal_ensure_loaded (state/recovery.c), which every layer calls, runs
 *    it through the hook that recovery_init registers at _PG_init.
 *
 * Every transaction that stages events holds RowExclusiveLock on
 * tidal.pending until it ends, and applies its events at commit before it
 * releases that lock.  A rebuild takes ShareRowExclusiveLock on the same
 * table, which waits out those writers and holds off new ones (and other
 * rebuilds), then reads the log in a fresh snapshot: every committed event
 * is counted exactly once, whatever was in flight when the rebuild began.
 *
 * May call: core/, pg/, log/, state/, replication/, cluster/, signals/,
 * ranking/, apply/.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lwlock.h"

#include "apply/apply.h"
#include "apply/recovery.h"
#include "cluster/tenant.h"
#include "core/hlc.h"
#include "log/log.h"
#include "pg/settings.h"
#include "pg/validate.h"
#include "state/catalog.h"
#include "state/clock.h"
#include "state/idempotency.h"
#include "state/recovery.h"
#include "state/state.h"

typedef struct ReplayStats
{
	TidalHlc	max_hlc;
	int64		records;
	int64		skipped;
	int64		invalid;		/* records that fail validation: not counted */
	char	   *first_invalid;	/* why the first of them failed */
	int64		future;			/* records beyond tidal.max_clock_offset: HLC not adopted */
	TidalHlc	max_future;
	IdemReplay *keyed;			/* keyed writes, applied once the scan decided the winners */
} ReplayStats;

static void
replay_record(const LogRecord *rec, void *arg)
{
	ReplayStats *stats = (ReplayStats *) arg;
	const SignalDef *def;

	int64		ahead_ns;
	char	   *why;

	/*
	 * The clock never goes below anything logged -- unless it lies beyond
	 * tidal.max_clock_offset: a log written before replicated HLCs were
	 * checked may hold one, and adopting it could exhaust the clock.
	 */
	if (!hlc_within_offset(&rec->hlc, &ahead_ns))
	{
		if (stats->future++ == 0 || hlc_compare(&rec->hlc, &stats->max_future) > 0)
			stats->max_future = rec->hlc;
	}
	else if (hlc_compare(&rec->hlc, &stats->max_hlc) > 0)
		stats->max_hlc = rec->hlc;
	stats->records++;

	if (rec->kind != LOG_RECORD_SIGNAL)
		return;					/* definitions, items, ... live in tables */

	/* a record an older version let in unchecked is skipped, not applied */
	if (!validate_record_ok(rec, &why))
	{
		if (stats->invalid++ == 0)
			stats->first_invalid = why;
		return;
	}
	if (rec->tenant != 0)
	{
		TenantInfo	tenant;

		if (!tenant_lookup(rec->tenant, &tenant) || !tenant.stored_here)
			return;				/* relayed, not kept: another region stores this tenant */
	}

	def = catalog_signal_n(rec->name, rec->name_len, true);
	if (def == NULL)
	{
		stats->skipped++;
		return;
	}
	if (rec->key != NULL)
		idem_replay_add(stats->keyed, rec, def->id, &def->spec);
	else
		state_apply_record(rec, MyDatabaseId, def->id, &def->spec, false);
}

/*
 * Rebuild this database's hot state from the log (tidal_ensure_loaded, in
 * state/, calls it when the state is not loaded).
 */
static void
recovery_rebuild(void)
{
	ReplayStats stats;

	LockRelationOid(log_pending_relid(false), ShareRowExclusiveLock);
	if (state_db_loaded(MyDatabaseId))
		return;					/* another backend rebuilt it while we waited */

	memset(&stats, 0, sizeof(stats));
	stats.keyed = idem_replay_begin();
	state_db_clear(MyDatabaseId);
	(void) catalog_signal("", true);	/* load definitions before the scan */
	tenant_load();				/* and where each tenant is stored */

	PG_TRY();
	{
		log_replay(replay_record, &stats);
		idem_replay_finish(stats.keyed, MyDatabaseId);
	}
	PG_CATCH();
	{
		/*
		 * The error may have been raised while a hot-state partition lock
		 * was held (inside state_apply); clearing takes those locks.  Only
		 * LWLocks taken inside the PG_TRY can be held here (we hold none
		 * when we enter it), so release them first: otherwise we would
		 * wait for ourselves, on every restart.
		 */
		LWLockReleaseAll();
		state_db_clear(MyDatabaseId);
		PG_RE_THROW();
	}
	PG_END_TRY();

	/* the clock never goes below anything already logged */
	hlc_clock_observe(&stats.max_hlc);
	state_db_set_loaded(MyDatabaseId, true);

	if (stats.future > 0)
		ereport(WARNING,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("tidal's log holds %lld records with an hlc ahead of the local clock by more than tidal.max_clock_offset; the clock does not adopt them",
						(long long) stats.future),
				 errdetail("The furthest is (" INT64_FORMAT ", %d, %d).",
						   stats.max_future.wall_ns, stats.max_future.logical, stats.max_future.node),
				 errhint("Writes made now are ordered before those records by last-writer-wins merges.")));
	if (stats.invalid > 0)
		ereport(WARNING,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("tidal skipped %lld invalid log records while rebuilding its state",
						(long long) stats.invalid),
				 errdetail("The first: %s.", stats.first_invalid)));
	if (stats.skipped > 0)
		ereport(WARNING,
				(errmsg("tidal skipped %lld log records of undefined signals while rebuilding its state",
						(long long) stats.skipped)));
	ereport(DEBUG1,
			(errmsg("tidal rebuilt its hot state from %lld log records",
					(long long) stats.records)));
}

void
recovery_init(void)
{
	tidal_set_rebuild(recovery_rebuild);
}
