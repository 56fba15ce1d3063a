/*
 * stage.c
 *    A transaction's pending changes to the hot state.
 *
 * Writers append their records to tidal's log (log.c) and stage them here.
 * Readers in the same transaction see them through stage_overlay(); other
 * backends see them only once the transaction commits, when the commit
 * callback applies them.  Records staged in a subtransaction that rolls back
 * are dropped, and a transaction holding staged records cannot be prepared.
 *
 * Nothing in the commit callback may fail: the transaction is committed by
 * then, and an ERROR there becomes a PANIC.  So everything fallible happens
 * before: a record is decoded, its events and its signal's decay spec
 * validated (validate.c; for a replicated record in apply_remote_batch,
 * before it is staged), and its hot-state entries reserved, all at staging
 * time; commit_ack = quorum seals at PRE_COMMIT.  What remains at commit is
 * infallible by construction: decoding bytes that decoded at staging,
 * state_apply on pinned entries (a partition lock and floating-point
 * arithmetic; bucket widths are at least 1 µs, see decay_spec_init),
 * state_db_set_loaded(false) (no allocation), an atomic generation bump,
 * SetLatch, and PostgreSQL's own AtCommit_Notify.
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/async.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"

#include "apply/apply.h"
#include "state/catalog.h"
#include "log/log.h"
#include "replication/peer.h"
#include "workers/sealer.h"
#include "pg/settings.h"
#include "state/stage.h"
#include "cluster/tenant.h"

typedef struct StagedRecord
{
	int			nest_level;
	Oid			dboid;
	int32		signal_id;
	DecaySpec	spec;
	Size		len;
	char	   *data;
	int64		tenant;
	bool		enforce_quotas;
	uint32		reserved;		/* events whose entries are pinned so far */
} StagedRecord;

static List *staged = NIL;		/* in TopTransactionContext */
static bool definitions_changed = false;
static bool log_written = false;	/* this transaction appended to tidal's log */
static int64 quorum_seq = 0;	/* commit_ack = quorum: the sequence number to await */
static int64 awaited_seq = 0;	/* ... from commit until the locks are released */
static bool callbacks_registered = false;

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
				tenant_check_entries(rec.tenant);
			if ((i & 1023) == 1023)
				CHECK_FOR_INTERRUPTS();
		}
	}
}

static void
reset_stage(void)
{
	staged = NIL;				/* memory goes with TopTransactionContext */
	definitions_changed = false;
	log_written = false;
	quorum_seq = 0;
}

/* after commit: wait for a majority, or say that we did not get one */
static void
await_quorum(int64 seq)
{
	int			acked;
	int			members;

	if (!peer_await_quorum(seq, tidal_commit_ack_timeout_ms, &acked, &members))
		ereport(WARNING,
				(errcode(ERRCODE_WARNING),
				 errmsg("tidal.commit_ack = quorum: committed locally, but only %d of %d regions have applied it",
						acked, members),
				 errdetail("tidal.commit_ack_timeout (%d ms) passed, or the wait was canceled; the write stays "
						   "committed here and reaches the other regions when they can pull it.",
						   tidal_commit_ack_timeout_ms)));
}

static void
stage_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	ListCell   *lc;

	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			/*
			 * commit_ack = quorum: seal this transaction's records in it, so
			 * that we know the sequence number a majority must apply.
			 */
			if (log_written && tidal_commit_ack == TIDAL_COMMIT_ACK_QUORUM)
			{
				PushActiveSnapshot(GetTransactionSnapshot());
				(void) log_seal_through(&quorum_seq);
				PopActiveSnapshot();
				Async_Notify(TIDAL_NOTIFY_CHANNEL, NULL);
			}
			break;

		case XACT_EVENT_PRE_PREPARE:
			if (staged != NIL || definitions_changed)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot PREPARE a transaction that has written tidal events")));
			break;

		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			foreach(lc, staged)
			{
				StagedRecord *sr = (StagedRecord *) lfirst(lc);
				LogRecord	rec;

				decode_staged(sr, &rec);
				apply_signal_record(&rec, sr->dboid, sr->signal_id, &sr->spec, true);
			}
			if (definitions_changed)
				state_defs_bump();
			if (log_written)
				sealer_wake();	/* seal (and ship) it now, not at the next interval */
			if (quorum_seq > 0)
			{
				/*
				 * Peers pull when our NOTIFY reaches them, and xact.c sends
				 * it only after the transaction's locks are released: send it
				 * now.  The wait itself comes once the locks are released
				 * (stage_resource_release), so that other quorum commits,
				 * which take the origin's row to seal, need not queue behind
				 * this one's acknowledgements.
				 */
				AtCommit_Notify();
				awaited_seq = quorum_seq;
			}
			reset_stage();
			break;

		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			foreach(lc, staged)
				pin_staged((StagedRecord *) lfirst(lc), false);
			if (definitions_changed)
				catalog_invalidate();
			reset_stage();
			break;

		default:
			break;
	}
}

static void
stage_subxact_callback(SubXactEvent event,
					   SubTransactionId mySubid pg_attribute_unused(),
					   SubTransactionId parentSubid pg_attribute_unused(),
					   void *arg pg_attribute_unused())
{
	int			level = GetCurrentTransactionNestLevel();
	List	   *kept = NIL;
	ListCell   *lc;
	MemoryContext old;

	if (event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB)
		return;

	old = MemoryContextSwitchTo(TopTransactionContext);
	foreach(lc, staged)
	{
		StagedRecord *sr = (StagedRecord *) lfirst(lc);

		if (sr->nest_level >= level)
		{
			if (event == SUBXACT_EVENT_ABORT_SUB)
			{
				pin_staged(sr, false);	/* rolled back: never counts */
				continue;
			}
			sr->nest_level = level - 1;
		}
		kept = lappend(kept, sr);
	}
	MemoryContextSwitchTo(old);
	staged = kept;

	/* a rolled-back definition must not stay in this backend's cache */
	if (event == SUBXACT_EVENT_ABORT_SUB && definitions_changed)
		catalog_invalidate();
}

/* commit_ack = quorum: after COMMIT has released the locks, wait for a majority */
static void
stage_resource_release(ResourceReleasePhase phase, bool isCommit, bool isTopLevel,
					   void *arg pg_attribute_unused())
{
	int64		seq = awaited_seq;

	if (phase != RESOURCE_RELEASE_AFTER_LOCKS || !isTopLevel || seq == 0)
		return;
	awaited_seq = 0;
	if (isCommit)
		await_quorum(seq);
}

static void
ensure_callbacks(void)
{
	if (callbacks_registered)
		return;
	RegisterXactCallback(stage_xact_callback, NULL);
	RegisterSubXactCallback(stage_subxact_callback, NULL);
	RegisterResourceReleaseCallback(stage_resource_release, NULL);
	callbacks_registered = true;
}

void
stage_signal_record(const char *record, Size len, int32 signal_id, const DecaySpec *spec,
					bool enforce_quotas)
{
	MemoryContext old;
	StagedRecord *sr;

	ensure_callbacks();

	old = MemoryContextSwitchTo(TopTransactionContext);
	sr = palloc(sizeof(StagedRecord));
	sr->nest_level = GetCurrentTransactionNestLevel();
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
	/* listed before reserving, so that an error part-way releases what it pinned */
	staged = lappend(staged, sr);
	MemoryContextSwitchTo(old);

	/* reserve every entry now, while an error can still abort the transaction */
	pin_staged(sr, true);
}

void
stage_forget_tenant(int64 tenant)
{
	List	   *kept = NIL;
	ListCell   *lc;
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);

	foreach(lc, staged)
	{
		StagedRecord *sr = (StagedRecord *) lfirst(lc);

		if (sr->tenant == tenant && sr->dboid == MyDatabaseId)
			pin_staged(sr, false);
		else
			kept = lappend(kept, sr);
	}
	MemoryContextSwitchTo(old);
	staged = kept;
}

void
stage_log_written(void)
{
	ensure_callbacks();
	log_written = true;
}

void
stage_definitions_changed(void)
{
	ensure_callbacks();
	definitions_changed = true;
	catalog_invalidate();
}

bool
stage_has_signal(int32 signal_id)
{
	ListCell   *lc;

	foreach(lc, staged)
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

	foreach(lc, staged)
	{
		StagedRecord *sr = (StagedRecord *) lfirst(lc);
		LogRecord	rec;
		uint32		i;

		if (sr->dboid != key->dboid || sr->signal_id != key->signal_id)
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
