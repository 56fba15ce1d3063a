/*
 * apply/replay.c
 *    The one filter every replay of tidal's log goes through (replay.h):
 *    validation, the clock, placement of tenants, the entities this shard
 *    owns (and the moved ranges it handed over or was handed), signal
 *    definitions, session writes held here (not counted until their gap
 *    fills), and keyed writes held back until the scan is over.
 *
 *    May call: core/, pg/, log/, state/, replication/, cluster/, signals/,
 *    ranking/, apply/.
 */
#include "postgres.h"

#include "apply/replay.h"
#include "cluster/reshard.h"
#include "cluster/tenant.h"
#include "core/hlc.h"
#include "pg/validate.h"
#include "state/clock.h"
#include "state/ownership.h"

void
replay_begin(Replay *r, const ReplaySink *sink)
{
	memset(r, 0, sizeof(*r));
	r->sink = *sink;
	r->keyed = idem_replay_begin();
}

/* a handoff's entries: to the sink */
static void
replay_handoff_states(const SignalDef *def, const int64 *entities, const DecayState *states, int n, void *arg)
{
	Replay	   *r = (Replay *) arg;

	r->sink.merge(def, entities, states, n, r->sink.arg);
}

/* a handoff's keys: anchors, counted in its states, that recognise a retry */
static void
replay_handoff_key(const SignalDef *def, const SnapKeyed *k, void *arg)
{
	Replay	   *r = (Replay *) arg;
	IdemHeld	h;

	h.key = pnstrdup(k->key, k->key_len);
	h.tenant = 0;
	h.hlc = k->hlc;
	h.signal_id = def->id;
	h.spec = def->spec;
	h.entity = k->entity;
	h.weight = k->weight;
	h.at_us = k->at_us;
	h.anchor = true;
	idem_replay_add_held(r->keyed, &h);
	pfree(h.key);
}

void
replay_record(const LogRecord *whole, void *arg)
{
	Replay	   *r = (Replay *) arg;
	const LogRecord *rec = whole;
	LogRecord	part;
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
		if (r->future++ == 0 || hlc_compare(&rec->hlc, &r->max_future) > 0)
			r->max_future = rec->hlc;
	}
	else if (hlc_compare(&rec->hlc, &r->max_hlc) > 0)
		r->max_hlc = rec->hlc;
	r->records++;

	if (rec->kind == LOG_RECORD_HANDOFF)
	{
		/* a moved range's entries, handed over to this shard of this region: they count here */
		if (reshard_handoff_is_mine(rec) && r->sink.merge != NULL)
			reshard_handoff_entries(rec, replay_handoff_states, replay_handoff_key, r);
		return;
	}
	/*
	 * A session's write held here, after a gap in its session, counts once
	 * the gap fills (cluster/session.c): a rebuild skips it, and a fold
	 * keeps it in the snapshot as it is, to be asked again when the
	 * snapshot loads (a held hide is not a winner of its target yet).
	 */
	if (rec->session != NULL && rec->kind != LOG_RECORD_ELIDED && session_held_here(&r->held, rec))
	{
		if (r->sink.defer != NULL)
		{
			r->deferred++;
			r->sink.defer(rec, r->sink.arg);
		}
		return;
	}
	if (rec->kind != LOG_RECORD_SIGNAL)
	{
		/* definitions, items, ... live in tables; a snapshot keeps their winners */
		if (r->sink.other != NULL)
			r->sink.other(rec, r->sink.arg);
		return;
	}

	/* a record an older version let in unchecked is skipped, not applied */
	if (!validate_record_ok(rec, &why))
	{
		if (r->invalid++ == 0)
			r->first_invalid = why;
		return;
	}

	if (rec->tenant != 0)
	{
		TenantInfo	tenant;

		if (!tenant_lookup(rec->tenant, &tenant) || !tenant.stored_here)
			return;				/* relayed, not kept: another region stores this tenant */
	}
	else
	{
		/* tenant 0: only the events of entities this shard owns */
		if (r->part_buf.data == NULL)
			initStringInfo(&r->part_buf);
		if (!ownership_owned_part(whole, &r->part_buf, &part))
			return;				/* logged here for another shard of this region */
		rec = &part;
	}

	def = catalog_signal_n(rec->name, rec->name_len, true);
	if (def == NULL)
	{
		if (r->sink.defer != NULL)
		{
			r->deferred++;
			r->sink.defer(rec, r->sink.arg);
		}
		else
			r->skipped++;
		return;
	}
	r->events += rec->nevents;
	if (rec->key != NULL)
		idem_replay_add(r->keyed, rec, def->id, &def->spec);
	else
		r->sink.apply(rec, def, r->sink.arg);
}

void
replay_report(const Replay *r, const char *what)
{
	if (r->future > 0)
		ereport(WARNING,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("tidal's log holds %lld records with an hlc ahead of the local clock by more than tidal.max_clock_offset; the clock does not adopt them",
						(long long) r->future),
				 errdetail("The furthest is (" INT64_FORMAT ", %d, %d).",
						   r->max_future.wall_ns, r->max_future.logical, r->max_future.node),
				 errhint("Writes made now are ordered before those records by last-writer-wins merges.")));
	if (r->invalid > 0)
		ereport(WARNING,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("tidal skipped %lld invalid log records while %s",
						(long long) r->invalid, what),
				 errdetail("The first: %s.", r->first_invalid)));
	if (r->skipped > 0)
		ereport(WARNING,
				(errmsg("tidal skipped %lld log records of undefined signals while %s",
						(long long) r->skipped, what)));
}
