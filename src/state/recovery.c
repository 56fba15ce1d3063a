/*
 * state/recovery.c
 *    Owns whether a database's hot state reflects tidal's log: every use
 *    checks it (tidal_ensure_loaded), and a use that finds it unloaded has
 *    it rebuilt, by the rebuild registered from above (apply/recovery.c, at
 *    _PG_init: it replays the log, which needs the tenants and the apply of
 *    signal records).  Also what makes it unloaded: tidal.reset_state and
 *    writes to tidal's tables by other ways than tidal's own calls.
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

#include "log/log.h"
#include "pg/settings.h"
#include "state/catalog.h"
#include "state/recovery.h"
#include "state/state.h"

PG_FUNCTION_INFO_V1(tidal_data_changed);

/* rebuilds this database's hot state (apply/recovery.c, at _PG_init) */
static tidal_rebuild_fn rebuild_hook = NULL;

void
tidal_set_rebuild(tidal_rebuild_fn rebuild)
{
	rebuild_hook = rebuild;
}

void
tidal_ensure_loaded(void)
{
	tidal_require_preload();
	if (state_db_loaded(MyDatabaseId))
		return;
	if (rebuild_hook == NULL)
		elog(ERROR, "tidal: no rebuild of the hot state is registered");
	rebuild_hook();
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
