/*
 * apply.c
 *    Applies decoded log records to tidal's state: signal events to the hot
 *    state, items, hides and profiles to their tables.  The state cannot tell
 *    a local write from a replayed or replicated record: all take this path.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "apply/apply.h"
#include "state/catalog.h"
#include "core/hlc.h"
#include "state/clock.h"
#include "state/idempotency.h"
#include "log/log.h"
#include "cluster/migrate.h"
#include "pg/query.h"
#include "state/recovery.h"
#include "pg/validate.h"
#include "state/stage.h"
#include "state/state.h"
#include "cluster/tenant.h"
#include "pg/settings.h"
#include "pg/owner.h"

/* ---- records kept in tables ---- */

static Datum
text_datum(const char *s, uint32 len)
{
	return PointerGetDatum(cstring_to_text_with_len(s, (int) len));
}

/* the record's HLC as the three arguments of tidal.hlc(wall, logical, node) */
static void
hlc_args(const LogRecord *rec, Datum *args)
{
	args[0] = Int64GetDatum(rec->hlc.wall_ns);
	args[1] = Int32GetDatum(rec->hlc.logical);
	args[2] = Int32GetDatum(rec->hlc.node);
}

void
apply_item_record(const LogRecord *rec)
{
	static OwnedQuery q = {
		"INSERT INTO tidal.item_data AS i (tenant, item, creator, metadata, created_at, updated_at) "
		"VALUES ($1, $2, $3, $4::pg_catalog.jsonb, $5, tidal.hlc($6, $7, $8)) "
		"ON CONFLICT (tenant, item) DO UPDATE SET creator = excluded.creator, "
		"metadata = excluded.metadata, created_at = excluded.created_at, "
		"updated_at = excluded.updated_at "
		"WHERE i.updated_at OPERATOR(pg_catalog.<) excluded.updated_at",
		8, {INT8OID, INT8OID, INT8OID, TEXTOID, TIMESTAMPTZOID, INT8OID, INT4OID, INT4OID}, NULL
	};
	Datum		args[8];
	char		nulls[8] = "        ";
	TidalSavedUser saved;

	Assert(rec->kind == LOG_RECORD_ITEM);
	args[0] = Int64GetDatum(rec->tenant);
	args[1] = Int64GetDatum(rec->item);
	args[2] = Int64GetDatum(rec->creator);
	if (!rec->has_creator)
		nulls[2] = 'n';
	args[3] = text_datum(rec->text, rec->text_len);
	args[4] = TimestampTzGetDatum(rec->created_at_us - TIDAL_UNIX_EPOCH_OFFSET_US);
	hlc_args(rec, &args[5]);

	query_begin(&saved);
	query_exec(&q, args, nulls, false, SPI_OK_INSERT);
	query_end(&saved);
}

void
apply_hide_record(const LogRecord *rec)
{
	static OwnedQuery q = {
		"INSERT INTO tidal.hides AS h (tenant, user_id, target_kind, target, hidden_at, unhidden_at) "
		"SELECT $1, $2, $3, $4, CASE WHEN $5 THEN t END, CASE WHEN NOT $5 THEN t END "
		"  FROM tidal.hlc($6, $7, $8) AS t "
		"ON CONFLICT (tenant, user_id, target_kind, target) DO UPDATE SET "
		"hidden_at = GREATEST(h.hidden_at, excluded.hidden_at), "
		"unhidden_at = GREATEST(h.unhidden_at, excluded.unhidden_at)",
		8, {INT8OID, INT8OID, CHAROID, INT8OID, BOOLOID, INT8OID, INT4OID, INT4OID}, NULL
	};
	Datum		args[8];
	TidalSavedUser saved;

	Assert(rec->kind == LOG_RECORD_HIDE);
	args[0] = Int64GetDatum(rec->tenant);
	args[1] = Int64GetDatum(rec->user_id);
	args[2] = CharGetDatum(rec->target_kind == LOG_HIDE_TARGET_ITEM ? 'i' : 'c');
	args[3] = Int64GetDatum(rec->target);
	args[4] = BoolGetDatum(rec->action == LOG_HIDE_ACTION_HIDE);
	hlc_args(rec, &args[5]);

	query_begin(&saved);
	query_exec(&q, args, NULL, false, SPI_OK_INSERT);
	query_end(&saved);
}

void
apply_profile_record(const LogRecord *rec)
{
	static OwnedQuery q = {
		"INSERT INTO tidal.profile_defs AS p (name, spec, defined_at) "
		"VALUES ($1, $2::pg_catalog.jsonb, tidal.hlc($3, $4, $5)) "
		"ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, defined_at = excluded.defined_at "
		"WHERE p.defined_at OPERATOR(pg_catalog.<) excluded.defined_at",
		5, {TEXTOID, TEXTOID, INT8OID, INT4OID, INT4OID}, NULL
	};
	Datum		args[5];
	TidalSavedUser saved;

	Assert(rec->kind == LOG_RECORD_DEFINE_PROFILE);
	args[0] = text_datum(rec->name, (uint32) rec->name_len);
	args[1] = text_datum(rec->text, rec->text_len);
	hlc_args(rec, &args[2]);

	query_begin(&saved);
	query_exec(&q, args, NULL, false, SPI_OK_INSERT);
	query_end(&saved);
}

/* does this region store the record's tenant? (it must be registered) */
static bool
stored_here(const LogRecord *rec)
{
	TenantInfo	tenant;

	tenant_require(rec->tenant, &tenant);
	return tenant.stored_here;
}

void
apply_local_write(const char *data, Size len)
{
	LogRecord	rec;
	Size		consumed = 0;
	const char *why = "trailing bytes";

	if (!codec_read_record(data, len, &consumed, &rec, &why) || consumed != len)
		elog(ERROR, "tidal encoded a malformed record: %s", why);

	log_append(data, len);
	switch (rec.kind)
	{
		case LOG_RECORD_ITEM:
			if (stored_here(&rec))
				apply_item_record(&rec);
			break;
		case LOG_RECORD_TENANT:
			tenant_apply_record(&rec);
			break;
		case LOG_RECORD_MIGRATION:
			migration_apply_record(&rec);
			break;
		case LOG_RECORD_HIDE:
			if (stored_here(&rec))
				apply_hide_record(&rec);
			break;
		case LOG_RECORD_DEFINE_PROFILE:
			apply_profile_record(&rec);
			break;
		default:
			elog(ERROR, "tidal record kind %d is not applied to a table", rec.kind);
	}
}

/* ---- batches of other origins ---- */

/*
 * A replicated signal definition: stored unless a signal of that name
 * exists (the first definition a node learns wins; definitions become
 * leader-only with leader election).
 */
static void
apply_define_signal_record(const LogRecord *rec)
{
	static OwnedQuery q = {
		"INSERT INTO tidal.signal_defs (name, half_life, windows, entity_kind, defined_at) "
		"VALUES ($1, pg_catalog.justify_hours(pg_catalog.make_interval(secs => $2 / 1e6)), "
		"        ARRAY(SELECT pg_catalog.justify_hours(pg_catalog.make_interval(secs => w / 1e6)) FROM pg_catalog.unnest($3::pg_catalog.int8[]) w), "
		"        $4, tidal.hlc($5, $6, $7)) "
		"ON CONFLICT (name) DO NOTHING",
		7, {TEXTOID, INT8OID, INT8ARRAYOID, TEXTOID, INT8OID, INT4OID, INT4OID}, NULL
	};
	Datum		args[7];
	Datum		windows[DECAY_MAX_WINDOWS];
	int			w;
	TidalSavedUser saved;

	for (w = 0; w < rec->nwindows; w++)
		windows[w] = Int64GetDatum(rec->window_us[w]);
	args[0] = text_datum(rec->name, (uint32) rec->name_len);
	args[1] = Int64GetDatum(rec->half_life_us);
	args[2] = PointerGetDatum(construct_array(windows, rec->nwindows, INT8OID, sizeof(int64),
											  true, TYPALIGN_DOUBLE));
	args[3] = text_datum(rec->entity_kind, (uint32) rec->entity_kind_len);
	hlc_args(rec, &args[4]);

	query_begin(&saved);
	query_exec(&q, args, NULL, false, SPI_OK_INSERT);
	if (SPI_processed > 0)
		stage_definitions_changed();
	query_end(&saved);
}

/*
 * Take back a keyed write that counted until an earlier write of the same key
 * arrived: stage its negation (never logged; replay picks the winner itself).
 */
static void
unstage_counted(const IdemEvent *old)
{
	const SignalDef *def = catalog_signal(old->signal, false);
	StringInfoData buf;

	initStringInfo(&buf);
	codec_begin_signal_record(&buf, &old->hlc, old->tenant, def->name, NULL, false, 1);
	codec_add_signal_event(&buf, false, old->entity, -old->weight, old->at_us, 0);
	stage_signal_record(buf.data, buf.len, def->id, &def->spec, false);
}

void
apply_replicated_record(const LogRecord *rec)
{
	TenantInfo	tenant;

	if (!tenant_lookup(rec->tenant, &tenant))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("tenant " INT64_FORMAT " is not registered here yet", rec->tenant),
				 errdetail("The batch is applied once the tenant's registration has arrived.")));
	if (!tenant.stored_here)
		return;					/* relayed, not kept: another region stores this tenant */

	switch (rec->kind)
	{
		case LOG_RECORD_SIGNAL:
			{
				const SignalDef *def = catalog_signal_n(rec->name, rec->name_len, true);

				if (def == NULL)
					ereport(ERROR,
							(errcode(ERRCODE_UNDEFINED_OBJECT),
							 errmsg("signal \"%.*s\" is not defined here yet", rec->name_len, rec->name),
							 errdetail("The batch is applied once its definition has arrived.")));
				if (rec->key != NULL)
				{
					IdemEvent	old;

					switch (idem_claim_remote(rec, &old))
					{
						case IDEM_DUPLICATE:
							return;
						case IDEM_REPLACES:
							unstage_counted(&old);
							break;
						case IDEM_NEW:
							break;
					}
				}
				stage_signal_record(rec->raw, rec->raw_len, def->id, &def->spec, false);
				break;
			}
		case LOG_RECORD_ITEM:
			apply_item_record(rec);
			break;
		case LOG_RECORD_HIDE:
			apply_hide_record(rec);
			break;
		default:
			elog(ERROR, "tidal record kind %d has no tenant data", rec->kind);
	}
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
			apply_replicated_record(rec);
			break;
		case LOG_RECORD_DEFINE_SIGNAL:
			apply_define_signal_record(rec);
			break;
		case LOG_RECORD_DEFINE_PROFILE:
			validate_profile_record(rec);
			apply_profile_record(rec);
			break;
		case LOG_RECORD_TENANT:
			tenant_apply_record(rec);
			break;
		case LOG_RECORD_MIGRATION:
			migration_apply_record(rec);
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

	errcontext("record %d (kind %d) of batch " INT64_FORMAT " of origin %d:%d",
			   c->index + 1, c->kind, c->hdr->batch_no, c->hdr->origin_region, c->hdr->origin_shard);
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

	if (!codec_read_batch(data, len, hdr, &payload, &why))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("rejected a tidal batch: %s", why)));
	if (hdr->origin_region == tidal_region_id && hdr->origin_shard == tidal_shard_id)
		return false;			/* our own, come back round */
	check_remote_records(hdr, payload);

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
		if (rec.kind != LOG_RECORD_SIGNAL && rec.kind != LOG_RECORD_ITEM &&
			rec.kind != LOG_RECORD_HIDE && p < end)
			see_own_writes(&pushed);
	}
	if (pushed)
		PopActiveSnapshot();
	return true;
}
