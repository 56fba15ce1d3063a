/*
 * state/stage.c
 *    A transaction's pending changes to the hot state.  May call: core/,
 *    pg/, log/, state/.
 *
 * Writers append their records to tidal's log (log.c) and stage them here.
 * Readers in the same transaction see them through stage_overlay(); other
 * backends see them once the transaction commits.  Records staged in a
 * subtransaction that rolls back are dropped, and a transaction holding
 * staged records cannot be prepared.
 *
 * The hot state takes the records at PRE_COMMIT, the last moment before the
 * transaction's rows (its log records, and a receiver's tidal.origins mark)
 * become visible to other sessions.  Applied any later -- at COMMIT, which
 * PostgreSQL calls after the commit is visible -- another session could see
 * a batch counted as applied (tidal.applied_seqno, the acknowledgement a
 * peer reads, tidal.await_convergence) and yet read scores without it.  If
 * the transaction still aborts after PRE_COMMIT (a serialization failure,
 * an error writing the commit record), the records are already counted: the
 * database's hot state is then marked for a rebuild from the log, which
 * counts exactly the committed events.
 *
 * Nothing in the PRE_COMMIT apply may fail: the commit is decided by
 * then, and an error would leave part of a record counted.  So everything
 * fallible happens
 * before: a record is decoded, its events and its signal's decay spec
 * validated (validate.c; for a replicated record in apply_remote_batch,
 * before it is staged), and its hot-state entries reserved, all at staging
 * time (a local write's tenant quotas too, quota.c).  What remains at
 * PRE_COMMIT is infallible by construction: decoding bytes that decoded at
 * staging, state_apply on pinned entries (a partition lock and
 * floating-point arithmetic; bucket widths are at least 1 µs, see
 * decay_spec_init), state_db_set_loaded(false) (no allocation) and an
 * atomic generation bump.  (Waking the sealer at commit is the log's own,
 * log.c; commit_ack = quorum is replication's, replication/ack.c.)
 *
 * The staged records are one XactList (pg/xact_list.c), which drops those
 * of a subtransaction that rolls back.
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "utils/memutils.h"

#include "pg/xact_list.h"
#include "state/catalog.h"
#include "state/quota.h"
#include "state/stage.h"

typedef struct StagedRecord
{
	XactListItem link;			/* in the list of staged records */
	Oid			dboid;
	int32		signal_id;
	DecaySpec	spec;
	Size		len;
	char	   *data;
	int64		tenant;
	bool		enforce_quotas;
	uint32		reserved;		/* events whose entries are pinned so far */
	/* a merge of whole states (stage_merge_states): data is NULL */
	int			nmerge;
	int64	   *merge_entities;
	DecayState *merge_states;
} StagedRecord;

/* ranges whose entries go at commit (stage_drop_range), in TopTransactionContext */
static List *drop_ranges = NIL;

static void stage_at_xact(XactEvent event, List *items);
static void stage_drop(XactListItem *item);
static void stage_at_subxact(SubXactEvent event);

static XactList staged = XACT_LIST_INIT(stage_at_xact, stage_drop, stage_at_subxact);
static bool definitions_changed = false;
static bool applied_early = false;	/* applied at PRE_COMMIT, not yet committed */

static void
decode_staged(const StagedRecord *sr, LogRecord *rec)
{
	Size		consumed;
	const char *why;

	/* decoded once at staging (stage_signal_record): the same bytes decode again */
	if (!codec_read_record(sr->data, sr->len, &consumed, rec, &why))
		elog(PANIC, "tidal staged record is corrupt: %s", why);
}

/*
 * Pin the hot-state entries of a staged record's events (reserve: so that
 * applying at commit cannot fail), or release the pins taken so far (the
 * record will never be applied).  sr->reserved counts the pins, so that an
 * error part-way through reserving releases exactly what it took.
 */
static void
pin_staged(StagedRecord *sr, bool reserve)
{
	LogRecord	rec;
	StateKey	key;
	uint32		n;
	uint32		i;

	if (sr->data == NULL)
	{
		int			m;

		state_key_init(&key, sr->dboid, sr->signal_id, sr->tenant, 0);
		n = reserve ? (uint32) sr->nmerge : sr->reserved;
		for (m = 0; m < (int) n; m++)
		{
			key.entity = sr->merge_entities[m];
			if (!reserve)
				state_unreserve(&key);
			else
			{
				(void) state_reserve(&key);
				sr->reserved++;
			}
		}
		return;
	}
	decode_staged(sr, &rec);
	state_key_init(&key, sr->dboid, sr->signal_id, rec.tenant, 0);
	n = reserve ? rec.nevents : sr->reserved;
	for (i = 0; i < n; i++)
	{
		LogSignalEvent ev;

		codec_signal_event(&rec, i, &ev);
		key.entity = ev.entity;
		if (!reserve)
			state_unreserve(&key);
		else
		{
			bool		created = state_reserve(&key);

			sr->reserved++;
			if (created && sr->enforce_quotas)
				quota_check_entries(rec.tenant, state_entry_bytes());
			if ((i & 1023) == 1023)
				CHECK_FOR_INTERRUPTS();
		}
	}
}

/* every top-level event of a transaction, with the records it staged */
static void
stage_at_xact(XactEvent event, List *items)
{
	ListCell   *lc;

	switch (event)
	{
		case XACT_EVENT_PRE_PREPARE:
			if (items != NIL || definitions_changed)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot PREPARE a transaction that has written tidal events")));
			break;

		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PARALLEL_PRE_COMMIT:
			foreach(lc, items)
			{
				StagedRecord *sr = (StagedRecord *) lfirst(lc);
				LogRecord	rec;

				if (sr->data == NULL)
				{
					StateKey	key;
					int			m;

					state_key_init(&key, sr->dboid, sr->signal_id, sr->tenant, 0);
					for (m = 0; m < sr->nmerge; m++)
					{
						key.entity = sr->merge_entities[m];
						(void) state_merge(&key, &sr->spec, &sr->merge_states[m], true);
					}
					continue;
				}
				decode_staged(sr, &rec);
				state_apply_record(&rec, sr->dboid, sr->signal_id, &sr->spec, true);
			}
			foreach(lc, drop_ranges)
				state_drop_range(MyDatabaseId, 0, (StateRange *) lfirst(lc));
			applied_early = items != NIL || drop_ranges != NIL;
			drop_ranges = NIL;	/* TopTransactionContext goes with the transaction */
			break;

		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (definitions_changed)
				state_defs_bump();
			definitions_changed = false;
			applied_early = false;
			break;

		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			drop_ranges = NIL;
			if (applied_early)
			{
				/* counted at PRE_COMMIT, then aborted: recount from the log */
				state_db_set_loaded(MyDatabaseId, false);
				applied_early = false;
			}
			else
				foreach(lc, items)
					pin_staged((StagedRecord *) lfirst(lc), false);
			if (definitions_changed)
				catalog_invalidate();
			definitions_changed = false;
			break;

		default:
			break;
	}
}

/* a record of a subtransaction that rolled back never counts */
static void
stage_drop(XactListItem *item)
{
	pin_staged((StagedRecord *) item, false);
}

static void
stage_at_subxact(SubXactEvent event)
{
	/* a rolled-back definition must not stay in this backend's cache */
	if (event == SUBXACT_EVENT_ABORT_SUB && definitions_changed)
		catalog_invalidate();
}

void
stage_merge_states(int32 signal_id, const DecaySpec *spec, int64 tenant, const int64 *entities,
				   const DecayState *states, int n)
{
	MemoryContext old;
	StagedRecord *sr;

	if (n <= 0)
		return;
	sr = (StagedRecord *) xact_list_alloc(sizeof(StagedRecord));
	old = MemoryContextSwitchTo(TopTransactionContext);
	sr->dboid = MyDatabaseId;
	sr->signal_id = signal_id;
	sr->spec = *spec;
	sr->len = 0;
	sr->data = NULL;
	sr->tenant = tenant;
	sr->reserved = 0;
	sr->enforce_quotas = false;
	sr->nmerge = n;
	sr->merge_entities = palloc(sizeof(int64) * n);
	memcpy(sr->merge_entities, entities, sizeof(int64) * n);
	sr->merge_states = palloc(sizeof(DecayState) * n);
	memcpy(sr->merge_states, states, sizeof(DecayState) * n);
	MemoryContextSwitchTo(old);
	xact_list_append(&staged, &sr->link);
	pin_staged(sr, true);
}

void
stage_drop_range(const StateRange *range)
{
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
	StateRange *r = palloc(sizeof(StateRange));

	*r = *range;
	drop_ranges = lappend(drop_ranges, r);
	MemoryContextSwitchTo(old);
	xact_list_register(&staged);	/* the callbacks must run even with nothing staged */
}

void
stage_signal_record(const char *record, Size len, int32 signal_id, const DecaySpec *spec,
					bool enforce_quotas)
{
	MemoryContext old;
	StagedRecord *sr;

	sr = (StagedRecord *) xact_list_alloc(sizeof(StagedRecord));
	old = MemoryContextSwitchTo(TopTransactionContext);
	sr->dboid = MyDatabaseId;
	sr->signal_id = signal_id;
	sr->spec = *spec;
	sr->len = len;
	sr->data = palloc(len);
	memcpy(sr->data, record, len);
	sr->reserved = 0;
	sr->enforce_quotas = enforce_quotas;
	{
		LogRecord	rec;

		decode_staged(sr, &rec);
		sr->tenant = rec.tenant;
	}
	MemoryContextSwitchTo(old);
	/* listed before reserving, so that an error part-way releases what it pinned */
	xact_list_append(&staged, &sr->link);

	/* reserve every entry now, while an error can still abort the transaction */
	pin_staged(sr, true);
}

static bool
staged_for_tenant(const XactListItem *item, void *arg)
{
	const StagedRecord *sr = (const StagedRecord *) item;

	return sr->tenant == *(const int64 *) arg && sr->dboid == MyDatabaseId;
}

void
stage_forget_tenant(int64 tenant)
{
	xact_list_remove_if(&staged, staged_for_tenant, &tenant);
}

void
stage_register(void)
{
	/*
	 * From _PG_init, before replication/ack.c registers its callback:
	 * PostgreSQL calls transaction callbacks newest first, so the apply of
	 * staged events at PRE_COMMIT then comes after every other PRE_COMMIT
	 * step that can still fail (commit_ack = quorum's seal), and a failure
	 * there aborts before anything was counted instead of forcing a rebuild.
	 */
	xact_list_register(&staged);
}

void
stage_definitions_changed(void)
{
	xact_list_register(&staged);
	definitions_changed = true;
	catalog_invalidate();
}

bool
stage_has_signal(int32 signal_id)
{
	ListCell   *lc;

	foreach(lc, xact_list_items(&staged))
	{
		StagedRecord *sr = (StagedRecord *) lfirst(lc);

		if (sr->dboid == MyDatabaseId && sr->signal_id == signal_id)
			return true;
	}
	return false;
}

void
stage_overlay(const StateKey *key, const DecaySpec *spec, DecayState *state)
{
	ListCell   *lc;

	foreach(lc, xact_list_items(&staged))
	{
		StagedRecord *sr = (StagedRecord *) lfirst(lc);
		LogRecord	rec;
		uint32		i;

		if (sr->dboid != key->dboid || sr->signal_id != key->signal_id || sr->data == NULL)
			continue;
		decode_staged(sr, &rec);
		if (rec.tenant != key->tenant)
			continue;
		for (i = 0; i < rec.nevents; i++)
		{
			LogSignalEvent ev;

			codec_signal_event(&rec, i, &ev);
			if (ev.entity == key->entity)
				decay_add(state, spec, ev.weight, ev.at_us);
		}
	}
}
