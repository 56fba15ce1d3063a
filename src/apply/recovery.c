/*
 * apply/recovery.c
 *    Owns the rebuild of a database's hot state from tidal's log: load the
 *    signal definitions and the tenants, the newest valid snapshot
 *    (snapshot.c), then replay every later signal record of a tenant stored
 *    here into the hot state (replay.c, state_apply_record), and the keyed
 *    writes once their winners are known (idempotency); then the items'
 *    facts in shared memory, from tidal.item_data (state/facts.c).
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
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "apply/recovery.h"
#include "apply/replay.h"
#include "apply/snapshot.h"
#include "cluster/tenant.h"
#include "log/log.h"
#include "state/catalog.h"
#include "state/clock.h"
#include "state/facts.h"
#include "state/idempotency.h"
#include "state/recovery.h"
#include "state/state.h"

static void
live_apply(const LogRecord *rec, const SignalDef *def, void *arg)
{
	(void) arg;
	state_apply_record(rec, MyDatabaseId, def->id, &def->spec, false);
}

/* a moved range's entries handed over to this shard (cluster/reshard.c) */
static void
live_merge(const SignalDef *def, const int64 *entities, const DecayState *states, int n, void *arg)
{
	StateKey	key;
	int			i;

	(void) arg;
	state_key_init(&key, MyDatabaseId, def->id, 0, 0);
	for (i = 0; i < n; i++)
	{
		key.entity = entities[i];
		if (!state_merge(&key, &def->spec, &states[i], false))
			ereport(WARNING,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("tidal hot state is full; a moved range's entries are not all counted"),
					 errhint("Increase tidal.max_entities and restart the server.")));
	}
}

/*
 * Rebuild this database's hot state (tidal_ensure_loaded, in state/, calls
 * it when the state is not loaded): the newest valid snapshot, then the log
 * after its marks and the records not sealed yet.  Without a usable
 * snapshot, the whole log -- unless it was compacted: then what the
 * snapshots covered is gone, and the rebuild refuses rather than serve
 * wrong scores.
 */
static void
recovery_rebuild(void)
{
	Replay		replay;
	ReplaySink	sink = {live_apply, NULL, NULL, live_merge, NULL};
	LogMarks	marks;
	TidalHlc	snap_hlc;
	int64		snap_id = 0;
	TimestampTz started;
	TimestampTz loaded = 0;
	bool		from_snapshot;

	LockRelationOid(log_pending_relid(false), ShareRowExclusiveLock);
	if (state_db_loaded(MyDatabaseId))
		return;					/* another backend rebuilt it while we waited */
	started = GetCurrentTimestamp();

	state_db_clear(MyDatabaseId);
	facts_db_clear(MyDatabaseId);
	(void) catalog_signal("", true);	/* load definitions before the scan */
	tenant_load();				/* and where each tenant is stored */

	/*
	 * Read the snapshots, as the log, in a snapshot taken now: the lock
	 * above may have waited for a writer (a restore, say) whose rows the
	 * transaction's snapshot does not see.
	 */
	PushActiveSnapshot(GetLatestSnapshot());
	PG_TRY();
	{
		from_snapshot = snapshot_load_live(&replay, &sink, &marks, &snap_hlc, &snap_id);
		loaded = GetCurrentTimestamp();
		if (!from_snapshot && snapshot_log_compacted())
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("tidal cannot rebuild its hot state: no valid snapshot covers its compacted log"),
					 errhint("Bring this region back by state transfer from a peer (see docs/operations.md).")));
		log_replay_after(from_snapshot ? &marks : NULL, true, replay_record, &replay, NULL);
		idem_replay_finish(replay.keyed, MyDatabaseId);
		facts_load();			/* the items' facts, from tidal.item_data */
		PopActiveSnapshot();
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
		facts_db_clear(MyDatabaseId);
		PG_RE_THROW();
	}
	PG_END_TRY();

	/* the clock never goes below anything already logged, or snapshotted */
	hlc_clock_observe(&replay.max_hlc);
	if (from_snapshot)
		hlc_clock_observe(&snap_hlc);
	state_db_set_loaded(MyDatabaseId, true);

	replay_report(&replay, "rebuilding its state");
	if (from_snapshot)
		ereport(LOG,
				(errmsg("tidal rebuilt its hot state from snapshot " INT64_FORMAT " and %lld events of the log after it",
						snap_id, (long long) replay.events),
				 errdetail("%ld ms: %ld loading the snapshot, %ld replaying the log.",
						   (long) TimestampDifferenceMilliseconds(started, GetCurrentTimestamp()),
						   (long) TimestampDifferenceMilliseconds(started, loaded),
						   (long) TimestampDifferenceMilliseconds(loaded, GetCurrentTimestamp()))));
	else
		ereport(LOG,
				(errmsg("tidal rebuilt its hot state from %lld events of the log, without a snapshot",
						(long long) replay.events),
				 errdetail("%ld ms.", (long) TimestampDifferenceMilliseconds(started, GetCurrentTimestamp()))));
}

void
recovery_init(void)
{
	tidal_set_rebuild(recovery_rebuild);
}
