/*
 * apply/apply.c
 *    Owns the apply of batches of other origins, pulled from a peer
 *    (workers/receiver.c): check every record, store the batch in the log,
 *    and dispatch each record by kind to the handler of its owner --
 *    signals/signal.c, signals/define.c, ranking/items.c, ranking/hide.c,
 *    ranking/profile.c, cluster/tenant.c, cluster/migrate.c,
 *    cluster/shard.c -- as
 *    PostgreSQL's logical replication worker does (apply_dispatch ->
 *    apply_handle_*).  Local writes do not come here: each owner appends
 *    and applies its own records.  Calls go down only; nothing calls back
 *    into apply/, except through what it registers at _PG_init (apply_init):
 *    the replay of a tenant's records when it moves into this region.
 *
 *    May call: core/, pg/, log/, state/, replication/, cluster/, signals/,
 *    ranking/, apply/.
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/snapmgr.h"

#include "apply/apply.h"
#include "cluster/migrate.h"
#include "cluster/residency.h"
#include "cluster/reshard.h"
#include "cluster/session.h"
#include "cluster/shard.h"
#include "cluster/tenant.h"
#include "core/hlc.h"
#include "log/log.h"
#include "pg/settings.h"
#include "pg/validate.h"
#include "ranking/hide.h"
#include "ranking/items.h"
#include "ranking/profile.h"
#include "signals/define.h"
#include "signals/signal.h"
#include "state/clock.h"
#include "state/recovery.h"
#include "state/state.h"

/* ---- batches of other origins ---- */

/*
 * A record of a tenant's data (signal events, an item or a hide) that
 * another region wrote: applied by its owner if this region stores the
 * tenant, skipped if not, and an error if the tenant's registration has not
 * arrived yet.  Also the replay of a tenant that moves into this region
 * (tenant_refresh), record by record, as if they arrived now.
 */
static void
require_tenant(const LogRecord *rec, TenantInfo *tenant)
{
	if (!tenant_lookup(rec->tenant, tenant))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("tenant " INT64_FORMAT " is not registered here yet", rec->tenant),
				 errdetail("The batch is applied once the tenant's registration has arrived.")));
}

static void
apply_replicated_record(const LogRecord *rec)
{
	TenantInfo	tenant;

	require_tenant(rec, &tenant);
	if (rec->kind == LOG_RECORD_ELIDED)
	{
		/*
		 * A copy of the batch without this tenant's record: right for a
		 * region that does not store the tenant.  One that does needs the
		 * record: residency_complete_batch asked the peers for it, and none
		 * sent it, so the batch is refused and pulled again.  Tenant 0's
		 * elided events belong to other shards of this region (a peer
		 * serves a copy without them only to a node of the shard it has
		 * them for: replication/ship.c).
		 */
		if (rec->tenant > 0 && tenant.stored_here)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("the batch leaves out a record of tenant " INT64_FORMAT ", which this region stores",
							rec->tenant),
					 errdetail("The peer that sent it thinks this region does not store the tenant, and no reachable peer sent the record."),
					 errhint("The batch is pulled again, from this peer or another, until a copy with the record arrives.")));
		return;
	}
	if (!tenant.stored_here)
		return;					/* relayed, not kept: another region stores this tenant */

	switch (rec->kind)
	{
		case LOG_RECORD_SIGNAL:
			signal_apply_replicated(rec);
			break;
		case LOG_RECORD_ITEM:
			items_apply_record(rec);
			break;
		case LOG_RECORD_HIDE:
			hide_apply_record(rec);
			break;
		default:
			elog(ERROR, "tidal record kind %d has no tenant data", rec->kind);
	}
}

/*
 * A session's write from another origin: admitted in the session's seqno
 * order (cluster/session.c), then applied as any record of its kind.  What
 * would refuse the batch if the record were applied now refuses it now, so
 * that a held write never fails when its gap fills.
 */
static void
apply_session_record(const LogRecord *rec)
{
	TenantInfo	tenant;
	int64		held;

	require_tenant(rec, &tenant);
	if (rec->kind == LOG_RECORD_SIGNAL && tenant.stored_here)
		(void) signal_require_defined(rec);
	switch (session_admit(rec, &held))
	{
		case SESSION_HELD:
			break;
		case SESSION_SEEN:
			apply_replicated_record(rec);	/* a copy: its key lets one count */
			break;
		case SESSION_NEXT:
			apply_replicated_record(rec);
			session_applied(rec, held);
			break;
	}
}

void
apply_init(void)
{
	tenant_set_move_in(apply_replicated_record);
	session_set_release(apply_replicated_record);
}

static void
apply_remote_record(const LogRecord *rec)
{
	/* within tidal.max_clock_offset: checked by check_remote_records */
	hlc_clock_observe(&rec->hlc);
	switch (rec->kind)
	{
		case LOG_RECORD_SIGNAL:
		case LOG_RECORD_ITEM:
		case LOG_RECORD_HIDE:
		case LOG_RECORD_ELIDED:
			if (rec->session != NULL)
				apply_session_record(rec);
			else
				apply_replicated_record(rec);
			break;
		case LOG_RECORD_DEFINE_SIGNAL:
			define_apply_record(rec);
			break;
		case LOG_RECORD_DEFINE_PROFILE:
			profile_validate_record(rec);
			profile_apply_record(rec);
			break;
		case LOG_RECORD_TENANT:
			tenant_apply_record(rec);
			break;
		case LOG_RECORD_MIGRATION:
			migration_apply_record(rec);
			break;
		case LOG_RECORD_SHARD_MAP:
			shard_map_apply_record(rec);
			break;
		case LOG_RECORD_HANDOFF:
			reshard_apply_handoff(rec);
			break;
		default:
			elog(ERROR, "unknown tidal record kind %d", rec->kind);
	}
}

/* which record of which batch failed, for the message the receiver logs */
typedef struct RecordContext
{
	const LogBatchHeader *hdr;
	int			index;
	int			kind;
} RecordContext;

static void
record_error_context(void *arg)
{
	RecordContext *c = (RecordContext *) arg;

	errcontext("record %d (kind %d) of batch " INT64_FORMAT " of origin %d:%d:%d",
			   c->index + 1, c->kind, c->hdr->batch_no, c->hdr->origin_region, c->hdr->origin_shard,
			   c->hdr->origin_node);
}

/*
 * Check every record of a verified batch before anything of it is applied:
 * the validation a local caller's input gets (validate.c), and an HLC
 * within tidal.max_clock_offset of our clock (a record further ahead is
 * held, with its batch, until our clock catches up; its HLC never reaches
 * the clock).  A batch that fails is refused whole.
 */
static void
check_remote_records(const LogBatchHeader *hdr, const char *payload)
{
	const char *end = payload + hdr->payload_len;
	const char *p;
	RecordContext ctx = {hdr, 0, 0};
	ErrorContextCallback cb;

	cb.callback = record_error_context;
	cb.arg = &ctx;
	cb.previous = error_context_stack;
	error_context_stack = &cb;
	for (p = payload; p < end; ctx.index++)
	{
		LogRecord	rec;
		Size		consumed;
		const char *why;

		if (!codec_read_record(p, end - p, &consumed, &rec, &why))
			elog(ERROR, "verified tidal batch has a bad record: %s", why);
		ctx.kind = rec.kind;
		hlc_check_offset(&rec.hlc, "a replicated record's hlc");
		validate_record(&rec);
		p += consumed;
		if ((ctx.index & 1023) == 1023)
			CHECK_FOR_INTERRUPTS();
	}
	error_context_stack = cb.previous;
}

/*
 * Let what this transaction wrote so far (earlier batches of this pull,
 * earlier records of this batch) be seen by the statements that follow:
 * tidal's own reads (SPI, read-only) use the active snapshot, which was
 * taken before any of it.  Replaces the snapshot pushed before, if any.
 */
static void
see_own_writes(bool *pushed)
{
	CommandCounterIncrement();
	if (*pushed)
		PopActiveSnapshot();
	PushCopiedSnapshot(GetActiveSnapshot());
	UpdateActiveSnapshotCommandId();
	*pushed = true;
}

bool
apply_remote_batch(const char *data, Size len, LogBatchHeader *hdr)
{
	const char *payload;
	const char *why;
	const char *p;
	const char *end;
	bool		pushed = false;
	StringInfo	completed;

	if (!codec_read_batch(data, len, hdr, &payload, &why))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("rejected a tidal batch: %s", why)));
	if (hdr->origin_region == tidal_region_id && hdr->origin_shard == tidal_shard_id &&
		hdr->origin_node == tidal_node_id)
		return false;			/* our own, come back round */
	check_remote_records(hdr, payload);

	/*
	 * Residency: a copy without records of a tenant we store (the peer knew
	 * of a placement we have not applied yet, or the reverse) gets them
	 * from a peer that has them; what is put back is checked as the rest.
	 */
	completed = residency_complete_batch(hdr, data, len);
	if (completed != NULL)
	{
		data = completed->data;
		len = completed->len;
		if (!codec_read_batch(data, len, hdr, &payload, &why))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("rejected a tidal batch: %s", why)));
		check_remote_records(hdr, payload);
	}

	/*
	 * As a local writer does: the state is loaded before we stage, and a
	 * rebuild waits for this transaction (see recovery.c).
	 */
	tidal_ensure_loaded();
	LockRelationOid(log_pending_relid(false), RowExclusiveLock);
	if (!log_store_remote_batch(hdr, data, len))
		return false;

	see_own_writes(&pushed);
	end = payload + hdr->payload_len;
	for (p = payload; p < end;)
	{
		LogRecord	rec;
		Size		consumed;

		if (!codec_read_record(p, end - p, &consumed, &rec, &why))
			elog(ERROR, "verified tidal batch has a bad record: %s", why);
		apply_remote_record(&rec);
		p += consumed;

		/*
		 * A definition, registration or migration step is seen by the
		 * records after it: a signal defined and first written in one
		 * transaction arrives in one batch, in that order (by HLC).
		 */
		if (!LOG_KIND_HOLDS_TENANT_DATA(rec.kind) && rec.kind != LOG_RECORD_ELIDED && p < end)
			see_own_writes(&pushed);
	}
	if (pushed)
		PopActiveSnapshot();

	/* our copy keeps no record of a tenant we do not store (the sender may not have known) */
	residency_store_copy(hdr, data, len);
	return true;
}

/*
 * A record of another kind than signal events, shipped by state transfer
 * (transfer.c): checked as a replicated record is, applied by its owner, and
 * seen by the records after it.  Merges by HLC make applying it again, when
 * the log after the snapshot brings it too, a no-op.
 */
void
apply_transferred_record(const LogRecord *rec)
{
	bool		pushed = false;

	hlc_check_offset(&rec->hlc, "a transferred record's hlc");
	validate_record(rec);
	see_own_writes(&pushed);
	apply_remote_record(rec);
	if (pushed)
		PopActiveSnapshot();
	CommandCounterIncrement();
}
