/*
 * state/recovery.c
 *    Rebuilds a database's hot state from tidal's log.
 *
 * Every transaction that stages events holds RowExclusiveLock on
 * tidal.pending until it ends, and applies its events at commit before it
 * releases that lock.  A rebuild takes ShareRowExclusiveLock on the same
 * table, which waits out those writers and holds off new ones (and other
 * rebuilds), then reads the log in a fresh snapshot: every committed event
 * is counted exactly once, whatever was in flight when the rebuild began.
 *
 * Rows that reach tidal's tables by any other way than tidal's own calls
 * (pg_restore's COPY, psql running a plain dump, an operator's INSERT) make
 * the database's hot state and every backend's cached definitions stale:
 * a trigger (tidal._data_changed) marks them so, and the next use rebuilds
 * them from the tables.
 *
 * May call: core/, pg/, log/, state/.
 */
#include "postgres.h"

#include "commands/trigger.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lwlock.h"

#include "state/catalog.h"
#include "core/hlc.h"
#include "state/clock.h"
#include "state/idempotency.h"
#include "log/log.h"
#include "state/recovery.h"
#include "state/state.h"
#include "pg/settings.h"
#include "pg/validate.h"

PG_FUNCTION_INFO_V1(tidal_data_changed);

static recovery_load_tenants_fn load_tenants = NULL;
static recovery_tenant_stored_fn tenant_stored_here = NULL;

void
recovery_set_tenant_hooks(recovery_load_tenants_fn load, recovery_tenant_stored_fn stored_here)
{
	load_tenants = load;
	tenant_stored_here = stored_here;
}

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
	if (rec->tenant != 0 && tenant_stored_here != NULL && !tenant_stored_here(rec->tenant))
		return;					/* relayed, not kept: another region stores this tenant */

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

void
tidal_ensure_loaded(void)
{
	ReplayStats stats;

	tidal_require_preload();
	if (state_db_loaded(MyDatabaseId))
		return;

	LockRelationOid(log_pending_relid(false), ShareRowExclusiveLock);
	if (state_db_loaded(MyDatabaseId))
		return;					/* another backend rebuilt it while we waited */

	memset(&stats, 0, sizeof(stats));
	stats.keyed = idem_replay_begin();
	state_db_clear(MyDatabaseId);
	(void) catalog_signal("", true);	/* load definitions before the scan */
	if (load_tenants != NULL)
		load_tenants();			/* and where each tenant is stored */

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
tidal_reset_state(void)
{
	tidal_require_preload();
	state_db_clear(MyDatabaseId);
	/* every backend's cache of definitions may name signals of the old copy */
	state_defs_bump();
	catalog_invalidate();
}

/*
 * tidal._data_changed(): a BEFORE ... FOR EACH STATEMENT trigger on the
 * tables the hot state and the caches are built from (95_backup.sql).
 *
 * tidal's own writes run as the extension owner with the user id switched
 * locally (tidal_become_owner) and are ignored; any other write, such as
 * pg_restore's COPY, marks the database's hot state unloaded and the
 * definitions' caches stale.  The lock a writer takes on tidal.pending is
 * held until this transaction ends, and a rebuild waits for it (see
 * tidal_ensure_loaded): the first use after the restored rows commit
 * rebuilds from them, never from what was there before.
 */
Datum
tidal_data_changed(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("tidal._data_changed() must be called as a trigger")));
	if (InLocalUserIdChange())
		return PointerGetDatum(NULL);	/* tidal's own write, or a SECURITY DEFINER function's */

	tidal_require_preload();
	LockRelationOid(log_pending_relid(false), RowExclusiveLock);
	state_db_set_loaded(MyDatabaseId, false);
	state_defs_bump();
	catalog_invalidate();
	return PointerGetDatum(NULL);
}
