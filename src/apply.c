/*
 * apply.c
 *    Applies decoded log records to the hot state.  The state cannot tell a
 *    local commit from a replayed or replicated record: all take this path.
 */
#include "postgres.h"

#include "apply.h"
#include "state.h"

void
apply_signal_record(const LogRecord *rec, Oid dboid, int32 signal_id, const DecaySpec *spec,
					bool staged)
{
	StateKey	key;
	uint32		i;
	bool		all_applied = true;

	Assert(rec->kind == LOG_RECORD_SIGNAL);
	state_key_init(&key, dboid, signal_id, rec->tenant, 0);

	for (i = 0; i < rec->nevents; i++)
	{
		LogSignalEvent ev;

		codec_signal_event(rec, i, &ev);
		key.entity = ev.entity;
		if (!state_apply(&key, spec, ev.weight, ev.at_us, staged))
			all_applied = false;
	}

	if (!all_applied)
	{
		/*
		 * Only possible if the state filled up after the entries were
		 * reserved (e.g. it was cleared and rebuilt meanwhile).  The events
		 * are durable; have the state rebuilt from the log on next use.
		 */
		ereport(WARNING,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("tidal hot state is full; some committed events are not yet reflected"),
				 errhint("Increase tidal.max_entities and restart the server.")));
		state_db_set_loaded(dboid, false);
	}
}
