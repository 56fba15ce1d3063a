/*
 * cluster/migrate.c
 *    Tenant migration: moving a tenant's data to another region (and shard)
 *    while the tenant keeps writing and reading everywhere.
 *
 * The leader drives a migration through its steps (tidal.migrations); each
 * step is a record of tidal's log (kind 7), so every region learns it, and
 * each region keeps the furthest step it has learned: a migration only
 * moves forward, whatever order the records arrive in.  Two steps are
 * reported by the target itself, with records of its own origin:
 *
 *   begun       tidal.begin_tenant_migration (leader)
 *   preparing   tidal.migration_prepare_target (leader).  The target now
 *               stores the tenant: applying this record, it replays the
 *               tenant's records from its own copy of the log (tenant.c).
 *   prepared    the target, in the same transaction.
 *   dual_write  tidal.migration_enter_dual_write (leader, once prepared).
 *               Every write reaches the source and the target: writes are
 *               logged wherever they land and both regions apply them.
 *   finalizing  tidal.migration_finalize (leader): the record carries the
 *               cut-over, the leader's log position of every origin.
 *   finalized   the target, once it has applied every origin up to the
 *               cut-over (checked on apply and by the sealer).  Reads and
 *               writes go to the target from now on (tidal.tenants says so
 *               in home_region).
 *   done        tidal.migration_gc_source (leader, once finalized): the
 *               tenant's regions become the target alone, and every source
 *               deletes its copy as it applies this record: its derived
 *               rows and state, and its raw events, which are left out of
 *               the source's copies of batches (residency.c).
 *
 * Each step call is idempotent (a step already reached returns the state)
 * and can be retried after a crash of any node: what a region has applied
 * it keeps, and what it has not it pulls again.
 *
 * This file owns the migration records (kind 7): written and applied here
 * when local, applied here (migration_apply_record) when replicated.
 *
 * May call: core/, pg/, log/, state/, replication/, cluster/.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/builtins.h"

#include "cluster/election.h"
#include "cluster/migrate.h"
#include "cluster/residency.h"
#include "cluster/tenant.h"
#include "core/hlc.h"
#include "log/append.h"
#include "log/log.h"
#include "pg/owner.h"
#include "pg/query.h"
#include "pg/settings.h"
#include "state/clock.h"
#include "state/recovery.h"

PG_FUNCTION_INFO_V1(tidal_begin_tenant_migration);
PG_FUNCTION_INFO_V1(tidal_migration_prepare_target);
PG_FUNCTION_INFO_V1(tidal_migration_enter_dual_write);
PG_FUNCTION_INFO_V1(tidal_migration_finalize);
PG_FUNCTION_INFO_V1(tidal_migration_gc_source);

static const char *const step_names[] = {
	NULL, "begun", "preparing", "prepared", "dual_write", "finalizing", "finalized", "done"
};

/* a migration as this region knows it */
typedef struct Migration
{
	int64		id;
	int64		tenant;
	int32		to_region;
	int32		to_shard;
	int			step;
	char	   *description;	/* JSON: from_regions, to_region, to_shard */
	char	   *cutover;		/* JSON, or NULL */
} Migration;

static bool
read_migration(int64 id, Migration *m)
{
	static OwnedQuery q = {
		"SELECT tenant, to_region, to_shard, step, "
		"       pg_catalog.jsonb_build_object('from_regions', from_regions, 'to_region', to_region, "
		"                          'to_shard', to_shard)::pg_catalog.text, cutover::pg_catalog.text "
		"  FROM tidal.migration_defs WHERE id = $1",
		1, {INT8OID}, NULL
	};
	Datum		args[1] = {Int64GetDatum(id)};
	MemoryContext caller = CurrentMemoryContext;
	TidalSavedUser saved;
	bool		found = false;

	query_begin(&saved);
	query_exec(&q, args, NULL, false, SPI_OK_SELECT);
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *cutover = SPI_getvalue(tup, desc, 6);

		m->id = id;
		m->tenant = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		m->to_region = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		m->to_shard = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
		m->step = DatumGetInt32(SPI_getbinval(tup, desc, 4, &isnull));
		m->description = MemoryContextStrdup(caller, SPI_getvalue(tup, desc, 5));
		m->cutover = cutover ? MemoryContextStrdup(caller, cutover) : NULL;
		found = true;
	}
	query_end(&saved);
	return found;
}

static bool
is_target(const Migration *m)
{
	return m->to_region == tidal_region_id && m->to_shard == tidal_shard_id;
}

/* log a step of a migration here, and apply it (which acts on it) */
static void
write_step(int64 tenant, int64 id, int step, const char *description)
{
	StringInfoData rec;
	LogRecord	decoded;
	TidalHlc	hlc = hlc_clock_now();

	initStringInfo(&rec);
	codec_migration_record(&rec, &hlc, tenant, id, (uint8) step, description);
	log_append_record(rec.data, rec.len, &decoded);
	migration_apply_record(&decoded);
}

/* has this region applied every origin (but its own) up to the cut-over? */
static bool
cutover_reached(const char *cutover)
{
	static OwnedQuery q = {
		"SELECT coalesce(pg_catalog.bool_and(coalesce(o.last_seq, 0) >= (c->>2)::pg_catalog.int8), true) "
		"  FROM pg_catalog.jsonb_array_elements($1::pg_catalog.jsonb) c "
		"  LEFT JOIN tidal.origins o ON o.region = (c->>0)::pg_catalog.int4 AND o.shard = (c->>1)::pg_catalog.int4 "
		"                          AND o.node = coalesce((c->>3)::pg_catalog.int4, 0) "
		" WHERE NOT ((c->>0)::pg_catalog.int4 = $2 AND (c->>1)::pg_catalog.int4 = $3)",
		3, {TEXTOID, INT4OID, INT4OID}, NULL
	};
	Datum		args[3];
	TidalSavedUser saved;
	bool		reached;
	bool		isnull;

	args[0] = CStringGetTextDatum(cutover);
	args[1] = Int32GetDatum(tidal_region_id);
	args[2] = Int32GetDatum(tidal_shard_id);
	query_begin(&saved);
	query_exec(&q, args, NULL, false, SPI_OK_SELECT);
	reached = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	query_end(&saved);
	return reached;
}

/* the target's part: report that it has prepared, or reached the cut-over */
static void
act_as_target(const Migration *m)
{
	if (!is_target(m))
		return;
	if (m->step == MIGRATION_PREPARING)
		write_step(m->tenant, m->id, MIGRATION_PREPARED, m->description);
	else if (m->step == MIGRATION_FINALIZING && m->cutover != NULL && cutover_reached(m->cutover))
		write_step(m->tenant, m->id, MIGRATION_FINALIZED, m->description);
}

void
migration_apply_record(const LogRecord *rec)
{
	static OwnedQuery merge_q = {
		"INSERT INTO tidal.migration_defs AS m (id, tenant, from_regions, to_region, to_shard, "
		"                                       step, cutover, updated_at) "
		"SELECT $1, $2, CASE WHEN pg_catalog.jsonb_typeof(j->'from_regions') = 'array' THEN "
		"                    ARRAY(SELECT r::pg_catalog.int4 FROM pg_catalog.jsonb_array_elements_text(j->'from_regions') r) END, "
		"       (j->>'to_region')::pg_catalog.int4, (j->>'to_shard')::pg_catalog.int4, $3, j->'cutover', tidal.hlc($5, $6, $7) "
		"  FROM (SELECT $4::pg_catalog.jsonb AS j) s "
		"ON CONFLICT (id) DO UPDATE SET step = excluded.step, "
		"       cutover = coalesce(excluded.cutover, m.cutover), updated_at = excluded.updated_at "
		" WHERE m.step < excluded.step",
		7, {INT8OID, INT8OID, INT4OID, TEXTOID, INT8OID, INT4OID, INT4OID}, NULL
	};
	/* done: the target alone holds the tenant, unless a later registration says otherwise */
	static OwnedQuery done_q = {
		"UPDATE tidal.tenant_defs SET required_regions = ARRAY[$2], shard = $3, defined_at = tidal.hlc($4, $5, $6) "
		" WHERE tenant_id = $1 AND tidal.hlc_cmp(defined_at, tidal.hlc($4, $5, $6)) OPERATOR(pg_catalog.<) 0",
		6, {INT8OID, INT4OID, INT4OID, INT8OID, INT4OID, INT4OID}, NULL
	};
	Datum		args[7];
	TidalSavedUser saved;
	bool		advanced;
	Migration	m;

	Assert(rec->kind == LOG_RECORD_MIGRATION);
	if (rec->step < MIGRATION_BEGUN || rec->step > MIGRATION_DONE)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("tidal migration record has an unknown step %d", rec->step)));

	args[0] = Int64GetDatum(rec->migration_id);
	args[1] = Int64GetDatum(rec->tenant);
	args[2] = Int32GetDatum(rec->step);
	args[3] = PointerGetDatum(cstring_to_text_with_len(rec->text, (int) rec->text_len));
	args[4] = Int64GetDatum(rec->hlc.wall_ns);
	args[5] = Int32GetDatum(rec->hlc.logical);
	args[6] = Int32GetDatum(rec->hlc.node);
	query_begin(&saved);
	query_exec(&merge_q, args, NULL, false, SPI_OK_INSERT);
	advanced = SPI_processed > 0;
	query_end(&saved);
	if (!advanced)
		return;					/* this region knew of a later step already */

	if (!read_migration(rec->migration_id, &m))
		elog(ERROR, "tidal migration " INT64_FORMAT " vanished", rec->migration_id);
	if (m.step == MIGRATION_DONE)
	{
		Datum		done_args[6];

		done_args[0] = Int64GetDatum(m.tenant);
		done_args[1] = Int32GetDatum(m.to_region);
		done_args[2] = Int32GetDatum(m.to_shard);
		done_args[3] = args[4];
		done_args[4] = args[5];
		done_args[5] = args[6];
		query_begin(&saved);
		query_exec(&done_q, done_args, NULL, false, SPI_OK_UPDATE);
		query_end(&saved);
	}
	tenant_refresh(m.tenant);
	act_as_target(&m);
}

void
migration_tick(void)
{
	static OwnedQuery q = {
		"SELECT id FROM tidal.migration_defs "
		" WHERE step = 5 AND to_region = $1 AND to_shard = $2 ORDER BY id",
		2, {INT4OID, INT4OID}, NULL
	};
	Datum		args[2] = {Int32GetDatum(tidal_region_id), Int32GetDatum(tidal_shard_id)};
	TidalSavedUser saved;
	int64	   *ids;
	int			n;
	int			i;

	query_begin(&saved);
	query_exec(&q, args, NULL, true, SPI_OK_SELECT);
	n = (int) SPI_processed;
	ids = palloc(sizeof(int64) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		bool		isnull;

		ids[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	query_end(&saved);

	for (i = 0; i < n && election_shard_leads(); i++)
	{
		Migration	m;

		/* a target's reports are derived writes: its shard leader's */
		if (read_migration(ids[i], &m))
			act_as_target(&m);
	}

	/*
	 * Residency: this origin's batches that every peer has now, without the
	 * records of tenants this region does not store (residency.c); and
	 * the shard siblings' batches this node relayed.
	 */
	residency_tick();
	residency_tick_siblings();
}

/* ---- SQL: the leader's steps ---- */

static void
require_migration(int64 id, const char *what, Migration *m)
{
	election_require_leader(what);
	tidal_ensure_loaded();
	if (!read_migration(id, m))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("tenant migration " INT64_FORMAT " does not exist", id),
				 errhint("tidal.migrations lists the migrations this region knows of.")));
}

static void
require_step(const Migration *m, int step, const char *wait_for)
{
	if (m->step < step)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tenant migration " INT64_FORMAT " is %s, not yet %s",
						m->id, step_names[m->step], wait_for),
				 errhint("Wait until tidal.migrations shows it %s (the target reports it through replication), then retry.",
						 wait_for)));
}

/* take the migration to a step, unless it is there already; returns its state */
static Datum
advance(const Migration *m, int step, const char *description)
{
	Migration	now;

	if (m->step < step)
		write_step(m->tenant, m->id, step, description);
	if (!read_migration(m->id, &now))
		elog(ERROR, "tidal migration " INT64_FORMAT " vanished", m->id);
	return CStringGetTextDatum(step_names[now.step]);
}

/*
 * A region a tenant moves into rebuilds the tenant's data from the log (its
 * own copy, and the records it fetches from peers): once the log has been
 * compacted, the tenant's history before that lives only in snapshots, which
 * a move does not carry yet.  Refuse rather than move a tenant without its
 * past events.  (Pre-0.6 objects have no compaction: to_jsonb finds no
 * column there.)
 */
static void
refuse_if_compacted(int64 tenant)
{
	static OwnedQuery q = {
		"SELECT coalesce(pg_catalog.max((pg_catalog.to_jsonb(o) OPERATOR(pg_catalog.->>) 'compacted_batch')"
		"::pg_catalog.int8), 0) FROM tidal.origins o",
		0, {InvalidOid}, NULL
	};
	bool		isnull;
	int64		compacted;
	TidalSavedUser saved;

	query_begin(&saved);
	query_exec(&q, NULL, NULL, true, SPI_OK_SELECT);
	compacted = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	query_end(&saved);
	if (compacted > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tenant " INT64_FORMAT " cannot migrate: this region's log has been compacted", tenant),
				 errdetail("A migration rebuilds the tenant in its new region from the log; events before the compaction are only in snapshots, which a migration does not carry yet."),
				 errhint("Where tenants must move, keep the log whole: tidal.log_retention = -1 in every region.")));
}

/* tidal.begin_tenant_migration(tenant bigint, to_region int, to_shard int) RETURNS bigint */
Datum
tidal_begin_tenant_migration(PG_FUNCTION_ARGS)
{
	static OwnedQuery plan_q = {
		"SELECT t.required_regions::pg_catalog.text, t.shard, "
		"       $2 = pg_catalog.current_setting('tidal.region_id')::pg_catalog.int4 "
		"         OR EXISTS (SELECT 1 FROM tidal.peer_defs p WHERE p.region_id = $2), "
		"       (SELECT d.id FROM tidal.migration_defs d WHERE d.tenant = $1 AND d.step < 7 "
		"         ORDER BY d.id DESC LIMIT 1), "
		"       (SELECT d.to_region = $2 AND d.to_shard = $3 FROM tidal.migration_defs d "
		"         WHERE d.tenant = $1 AND d.step < 7 ORDER BY d.id DESC LIMIT 1), "
		"       (SELECT coalesce(pg_catalog.max(d.id), 0) + 1 FROM tidal.migration_defs d), "
		"       pg_catalog.jsonb_build_object('from_regions', t.required_regions, 'to_region', $2, 'to_shard', $3)::pg_catalog.text, "
		"       $2 = ANY (t.required_regions) AND t.shard = $3 "
		"  FROM tidal.tenant_defs t WHERE t.tenant_id = $1",
		3, {INT8OID, INT4OID, INT4OID}, NULL
	};
	int64		tenant = PG_GETARG_INT64(0);
	int32		to_region = PG_GETARG_INT32(1);
	int32		to_shard = PG_GETARG_INT32(2);
	Datum		args[3];
	TidalSavedUser saved;
	TenantInfo	info;
	HeapTuple	tup;
	TupleDesc	desc;
	bool		regions_null;
	bool		known_region;
	bool		running_null;
	int64		running;
	bool		same_target;
	int64		id;
	char	   *description;
	bool		already_there;
	bool		isnull;

	election_require_leader("tidal.begin_tenant_migration");
	tidal_ensure_loaded();
	tenant_require(tenant, &info);
	if (tenant == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("tenant 0 cannot migrate"),
				 errdetail("The default tenant is stored in every region; a registration of tenant 0 only sets its quotas.")));
	if (to_shard < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("to_shard must not be negative")));
	refuse_if_compacted(tenant);

	args[0] = Int64GetDatum(tenant);
	args[1] = Int32GetDatum(to_region);
	args[2] = Int32GetDatum(to_shard);
	query_begin(&saved);
	query_exec(&plan_q, args, NULL, false, SPI_OK_SELECT);
	if (SPI_processed != 1)
		elog(ERROR, "tenant " INT64_FORMAT " vanished from tidal.tenant_defs", tenant);
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	(void) SPI_getbinval(tup, desc, 1, &regions_null);
	known_region = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
	running = DatumGetInt64(SPI_getbinval(tup, desc, 4, &running_null));
	same_target = !running_null && DatumGetBool(SPI_getbinval(tup, desc, 5, &isnull));
	id = DatumGetInt64(SPI_getbinval(tup, desc, 6, &isnull));
	description = pstrdup(SPI_getvalue(tup, desc, 7));
	already_there = !regions_null && DatumGetBool(SPI_getbinval(tup, desc, 8, &isnull));
	query_end(&saved);

	if (!running_null && same_target)
		PG_RETURN_INT64(running);	/* a retry: the migration exists already */
	if (!running_null)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("tenant " INT64_FORMAT " is already migrating (migration " INT64_FORMAT ")",
						tenant, running),
				 errhint("Finish that migration first; tidal.migrations shows where it is.")));
	if (!known_region)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("region %d is not a region of this cluster", to_region),
				 errhint("tidal.peers lists this node's peer regions.")));
	if (regions_null)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("tenant " INT64_FORMAT " is stored in every region; there is nothing to migrate", tenant),
				 errhint("Give the tenant required_regions with tidal.register_tenant first.")));
	if (already_there)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("tenant " INT64_FORMAT " is stored in region %d, shard %d already",
						tenant, to_region, to_shard)));

	write_step(tenant, id, MIGRATION_BEGUN, description);
	PG_RETURN_INT64(id);
}

/* tidal.migration_prepare_target(id bigint) RETURNS text */
Datum
tidal_migration_prepare_target(PG_FUNCTION_ARGS)
{
	Migration	m;

	require_migration(PG_GETARG_INT64(0), "tidal.migration_prepare_target", &m);
	return advance(&m, MIGRATION_PREPARING, m.description);
}

/* tidal.migration_enter_dual_write(id bigint) RETURNS text */
Datum
tidal_migration_enter_dual_write(PG_FUNCTION_ARGS)
{
	Migration	m;

	require_migration(PG_GETARG_INT64(0), "tidal.migration_enter_dual_write", &m);
	if (m.step < MIGRATION_DUAL_WRITE)
		require_step(&m, MIGRATION_PREPARED, "prepared");
	return advance(&m, MIGRATION_DUAL_WRITE, m.description);
}

/* tidal.migration_finalize(id bigint) RETURNS text */
Datum
tidal_migration_finalize(PG_FUNCTION_ARGS)
{
	static OwnedQuery marks_q = {
		"SELECT pg_catalog.jsonb_build_object('from_regions', d.from_regions, 'to_region', d.to_region, "
		"                          'to_shard', d.to_shard, 'cutover', "
		"         (SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(o.region, o.shard, o.last_seq, o.node) "
		"                                    ORDER BY o.region, o.shard, o.node), '[]') FROM tidal.origins o))::pg_catalog.text "
		"  FROM tidal.migration_defs d WHERE d.id = $1",
		1, {INT8OID}, NULL
	};
	Migration	m;
	Datum		args[1];
	TidalSavedUser saved;
	char	   *description;

	require_migration(PG_GETARG_INT64(0), "tidal.migration_finalize", &m);
	if (m.step >= MIGRATION_FINALIZING)
		return advance(&m, MIGRATION_FINALIZING, m.description);
	require_step(&m, MIGRATION_DUAL_WRITE, "dual_write");

	/* the cut-over: everything this node's log holds now, its own writes sealed first */
	(void) log_seal();
	args[0] = Int64GetDatum(m.id);
	query_begin(&saved);
	query_exec(&marks_q, args, NULL, false, SPI_OK_SELECT);
	description = pstrdup(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	query_end(&saved);
	return advance(&m, MIGRATION_FINALIZING, description);
}

/* tidal.migration_gc_source(id bigint) RETURNS text */
Datum
tidal_migration_gc_source(PG_FUNCTION_ARGS)
{
	Migration	m;

	require_migration(PG_GETARG_INT64(0), "tidal.migration_gc_source", &m);
	if (m.step < MIGRATION_DONE)
		require_step(&m, MIGRATION_FINALIZED, "finalized");
	return advance(&m, MIGRATION_DONE, m.description);
}
