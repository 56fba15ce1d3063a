/*
 * cluster/tenant.c
 *    Tenants: the registry (tidal.tenant_defs, written by
 *    tidal.register_tenant on the leader and replicated as log records of
 *    kind 6), where each tenant's data is stored, and its quotas.
 *
 * A tenant's data is stored in its required regions (all regions when
 * NULL) and, while it migrates, in the migration's target (see migrate.c).
 * Every write is logged wherever it lands, so a write accepted in a region
 * that does not store the tenant reaches one that does; a tenant's records
 * are shipped only to the regions that store it (the others get elided
 * records in their place, see residency.c), and only they apply them.
 *
 * Shared memory holds, per (database, tenant), what each write needs:
 * whether this region stores the tenant, its quotas and its rate-limit
 * bucket, under this module's own LWLock tranche ("tidal tenants").  The
 * tenant's hot-state entries here, and the max_entities and
 * max_storage_bytes quotas on them, are state/quota.c's: this module tells
 * it each tenant's limits as it loads or changes them.  The tables are the
 * truth.  A
 * transaction that changes a tenant's registration or migration calls
 * tenant_refresh, which moves the tenant's data into this region (replaying
 * its records from the log) or out of it, and publishes the new placement
 * at commit.  Both happen under the lock a rebuild takes on tidal.pending
 * (see recovery.c), which waits out every writer in flight, so no write is
 * applied twice or lost across the change.  Tenant 0, the default tenant,
 * is stored everywhere and needs no registration; a registration of tenant 0
 * (a row of tidal.tenant_defs like any other) only sets its quotas.
 *
 * Every tenant, tenant 0 included, holds at most its max_entities quota of
 * hot-state entries in this region, or tidal.default_tenant_max_entities
 * without one (by default half of tidal.max_entities): one tenant's flood of
 * new entities is refused (53400) long before the hot state is full for
 * everyone (53200).
 *
 * A move into this region replays the tenant's records from the log through
 * the apply of replicated records, which sits above this folder: it
 * registers itself here (tenant_set_move_in, from apply/ at _PG_init).
 *
 * May call: core/, pg/, log/, state/, replication/, cluster/.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "cluster/election.h"
#include "cluster/residency.h"
#include "cluster/tenant.h"
#include "core/hlc.h"
#include "log/append.h"
#include "log/log.h"
#include "pg/owner.h"
#include "pg/query.h"
#include "pg/settings.h"
#include "pg/shared_table.h"
#include "state/clock.h"
#include "state/facts.h"
#include "state/recovery.h"
#include "pg/xact_list.h"
#include "state/quota.h"
#include "state/stage.h"
#include "state/state.h"

PG_FUNCTION_INFO_V1(tidal_register_tenant);
PG_FUNCTION_INFO_V1(tidal_tenant_usage);

#define TENANT_LABEL_MAXLEN 200
#define TENANT_LWLOCK_TRANCHE "tidal tenants"

typedef struct TenantSlot
{
	DbTenantKey	key;
	TenantInfo	info;
	double		tokens;			/* rate-limit bucket, refilled per second */
	TimestampTz refilled_at;
} TenantSlot;

static SharedTable tenants;

/* this transaction's changes, published at commit (in TopTransactionContext) */
typedef struct PendingTenant
{
	XactListItem link;
	TenantInfo	info;
	bool		drop_state;		/* moved out: drop its hot state at commit */
} PendingTenant;

static void tenant_at_xact(XactEvent event, List *items);

/* applies a replicated record of a tenant that moves in (apply/, at _PG_init) */
static tenant_record_fn move_in_apply = NULL;

static XactList pending = XACT_LIST_INIT(tenant_at_xact, NULL, NULL);

void
tenant_shmem_request(void)
{
	shared_table_request(TENANT_LWLOCK_TRANCHE, tidal_max_tenants, sizeof(TenantSlot));
}

void
tenant_shmem_init(void)
{
	shared_table_init(&tenants, "tidal tenants", TENANT_LWLOCK_TRANCHE, tidal_max_tenants, sizeof(TenantSlot));
}

/* ---- lookups ---- */

bool
tenant_lookup(int64 tenant, TenantInfo *info)
{
	ListCell   *lc;
	DbTenantKey	key;
	TenantSlot *slot;
	bool		found_pending = false;

	memset(info, 0, sizeof(*info));
	info->tenant = tenant;

	/* this transaction's own changes win: the latest is last */
	foreach(lc, xact_list_items(&pending))
	{
		PendingTenant *p = (PendingTenant *) lfirst(lc);

		if (p->info.tenant == tenant)
		{
			*info = p->info;
			found_pending = true;
		}
	}
	if (!found_pending)
	{
		db_tenant_key_init(&key, MyDatabaseId, tenant);
		LWLockAcquire(tenants.lock, LW_SHARED);
		slot = hash_search(tenants.hash, &key, HASH_FIND, NULL);
		if (slot != NULL)
			*info = slot->info;
		LWLockRelease(tenants.lock);
	}
	if (tenant == 0)
	{
		/* registered or not, the default tenant exists and is stored everywhere */
		info->tenant = 0;
		info->registered = info->stored_here = true;
		info->region_shard = tidal_shard_id;	/* its entities are routed one by one (state/ownership.c) */
	}
	return info->registered;
}

void
tenant_require(int64 tenant, TenantInfo *info)
{
	if (!tenant_lookup(tenant, info))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("tenant " INT64_FORMAT " is not registered", tenant),
				 errhint("Register it with tidal.register_tenant on the leader; the registration "
						 "reaches the other regions through replication.")));
}

bool
tenant_stored_here(int64 tenant)
{
	TenantInfo	info;

	tenant_require(tenant, &info);
	return info.stored_here;
}

/* ---- quotas ---- */

void
tenant_admit_events(const TenantInfo *info, int64 nevents)
{
	DbTenantKey	key;
	TenantSlot *slot;
	double		available = 0;
	bool		admitted = true;

	if (info->max_signals_per_sec <= 0)
		return;
	db_tenant_key_init(&key, MyDatabaseId, info->tenant);
	LWLockAcquire(tenants.lock, LW_EXCLUSIVE);
	slot = hash_search(tenants.hash, &key, HASH_FIND, NULL);
	if (slot != NULL)
	{
		TimestampTz now = GetCurrentTimestamp();
		double		rate = slot->info.max_signals_per_sec;

		/* a bucket of one second's worth, refilled continuously */
		slot->tokens = Min(rate, slot->tokens + rate * (double) (now - slot->refilled_at) / USECS_PER_SEC);
		slot->refilled_at = now;
		available = slot->tokens;
		if (slot->tokens >= (double) nevents)
			slot->tokens -= (double) nevents;
		else
			admitted = false;
	}
	LWLockRelease(tenants.lock);

	if (!admitted)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("tenant " INT64_FORMAT " is over its max_signals_per_sec quota", info->tenant),
				 errdetail("The quota is %d events a second in this region; this call writes " INT64_FORMAT
						   " and %.0f are available now.",
						   info->max_signals_per_sec, nevents, available),
				 errhint("Retry later, write fewer events a call, or raise the quota with tidal.register_tenant.")));
}

/* ---- the registry ---- */

/* what the registry and the migrations say of one tenant (or all: tenant -1) */
static List *
read_registry(int64 tenant)
{
	static OwnedQuery q = {
		"SELECT t.tenant_id, coalesce(t.max_signals_per_sec, 0), coalesce(t.max_entities, 0), "
		"       coalesce(t.max_storage_bytes, 0), "
		"       t.tenant_id = 0 "
		"       OR ((t.required_regions IS NULL OR $1 = ANY (t.required_regions)) AND t.shard = $2) "
		"       OR coalesce(m.step BETWEEN 2 AND 6 AND m.to_region = $1 AND m.to_shard = $2, false), "
		"       CASE WHEN t.required_regions IS NULL OR $1 = ANY (t.required_regions) THEN t.shard "
		"            WHEN coalesce(m.step BETWEEN 2 AND 6 AND m.to_region = $1, false) THEN m.to_shard "
		"            ELSE -1 END "
		"  FROM tidal.tenant_defs t "
		"  LEFT JOIN LATERAL (SELECT step, to_region, to_shard FROM tidal.migration_defs d "
		"                      WHERE d.tenant = t.tenant_id ORDER BY d.id DESC LIMIT 1) m ON true "
		" WHERE $3 < 0 OR t.tenant_id = $3",
		3, {INT4OID, INT4OID, INT8OID}, NULL
	};
	Datum		args[3];
	List	   *out = NIL;
	MemoryContext caller = CurrentMemoryContext;
	TidalSavedUser saved;
	uint64		r;

	/* the library may be newer than the extension's SQL objects (before ALTER EXTENSION UPDATE) */
	if (!OidIsValid(get_relname_relid("tenant_defs", get_namespace_oid("tidal", false))))
		return NIL;

	args[0] = Int32GetDatum(tidal_region_id);
	args[1] = Int32GetDatum(tidal_shard_id);
	args[2] = Int64GetDatum(tenant);
	query_begin(&saved);
	/* not read-only: a fresh snapshot sees what this transaction just applied */
	query_exec(&q, args, NULL, false, SPI_OK_SELECT);
	for (r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		TenantInfo *info = MemoryContextAllocZero(caller, sizeof(TenantInfo));

		info->tenant = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		info->registered = true;
		info->max_signals_per_sec = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		info->max_entities = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
		info->max_storage_bytes = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
		info->stored_here = DatumGetBool(SPI_getbinval(tup, desc, 5, &isnull));
		info->region_shard = DatumGetInt32(SPI_getbinval(tup, desc, 6, &isnull));
		out = lappend(out, info);
	}
	query_end(&saved);
	return out;
}

/* put info in the tenant's slot, keeping its counters; caller holds the lock exclusively */
static void
publish_locked(Oid dboid, const TenantInfo *info)
{
	DbTenantKey	key;
	TenantSlot *slot;
	bool		found;

	db_tenant_key_init(&key, dboid, info->tenant);
	if (!info->registered)
	{
		hash_search(tenants.hash, &key, HASH_REMOVE, NULL);
		return;
	}
	slot = hash_search(tenants.hash, &key, HASH_ENTER_NULL, &found);
	if (slot == NULL)
	{
		ereport(WARNING,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("tidal.max_tenants (%d) is too small to hold tenant " INT64_FORMAT,
						tidal_max_tenants, info->tenant),
				 errhint("Increase tidal.max_tenants and restart the server.")));
		return;
	}
	if (!found)
	{
		slot->tokens = info->max_signals_per_sec;
		slot->refilled_at = GetCurrentTimestamp();
	}
	slot->info = *info;
}

/* the limits state/quota.c enforces, from what the registry says of a tenant */
static void
quota_limits(const TenantInfo *info, QuotaLimits *limits)
{
	memset(limits, 0, sizeof(*limits));
	limits->tenant = info->tenant;
	limits->registered = info->registered;
	limits->max_entities = info->max_entities;
	limits->max_storage_bytes = info->max_storage_bytes;
}

void
tenant_load(void)
{
	List	   *all = read_registry(-1);
	HASH_SEQ_STATUS scan;
	TenantSlot *slot;
	ListCell   *lc;
	TenantInfo	tenant0;
	QuotaLimits *limits;
	int			n = 0;

	/* tenant 0 always has a slot, to count its entries; a registration sets its quotas */
	memset(&tenant0, 0, sizeof(tenant0));
	tenant0.registered = tenant0.stored_here = true;
	tenant0.region_shard = tidal_shard_id;

	LWLockAcquire(tenants.lock, LW_EXCLUSIVE);
	hash_seq_init(&scan, tenants.hash);
	while ((slot = hash_seq_search(&scan)) != NULL)
		if (slot->key.dboid == MyDatabaseId)
			hash_search(tenants.hash, &slot->key, HASH_REMOVE, NULL);
	publish_locked(MyDatabaseId, &tenant0);
	foreach(lc, all)
		publish_locked(MyDatabaseId, (TenantInfo *) lfirst(lc));
	LWLockRelease(tenants.lock);

	/* and the quotas on their hot-state entries, counted from 0 by the rebuild */
	limits = palloc(sizeof(QuotaLimits) * (list_length(all) + 1));
	quota_limits(&tenant0, &limits[n++]);
	foreach(lc, all)
		quota_limits((TenantInfo *) lfirst(lc), &limits[n++]);
	quota_load(MyDatabaseId, limits, n);
	pfree(limits);
}

/* ---- changes, published at commit ---- */

/* at commit, publish this transaction's changes (nothing here fails) */
static void
tenant_at_xact(XactEvent event, List *items)
{
	ListCell   *lc;

	if ((event != XACT_EVENT_COMMIT && event != XACT_EVENT_PARALLEL_COMMIT) || items == NIL)
		return;
	foreach(lc, items)
	{
		PendingTenant *p = (PendingTenant *) lfirst(lc);

		if (p->drop_state)
			state_drop_tenant(MyDatabaseId, p->info.tenant);
	}
	LWLockAcquire(tenants.lock, LW_EXCLUSIVE);
	foreach(lc, items)
		publish_locked(MyDatabaseId, &((PendingTenant *) lfirst(lc))->info);
	LWLockRelease(tenants.lock);
}

static PendingTenant *
add_pending(const TenantInfo *info)
{
	PendingTenant *p = (PendingTenant *) xact_list_add(&pending, sizeof(PendingTenant));
	QuotaLimits limits;

	p->info = *info;
	quota_limits(info, &limits);
	quota_set(&limits);			/* published with it at commit */
	return p;
}

void
tenant_set_move_in(tenant_record_fn apply_record)
{
	move_in_apply = apply_record;
}

/* replay one of the tenant's records from the log, as if it arrived now */
static void
move_in_record(const LogRecord *rec, void *arg)
{
	int64		tenant = *(int64 *) arg;

	/* an elided record left after residency_move_in fails in move_in_apply */
	if (rec->tenant == tenant &&
		(LOG_KIND_HOLDS_TENANT_DATA(rec->kind) || rec->kind == LOG_RECORD_ELIDED))
		move_in_apply(rec);
}

/* delete the tenant's rows from tidal's tables (its hot state goes at commit) */
static void
move_out_rows(int64 tenant)
{
	static OwnedQuery items_q = {
		"DELETE FROM tidal.item_data WHERE tenant = $1", 1, {INT8OID}, NULL
	};
	static OwnedQuery hides_q = {
		"DELETE FROM tidal.hides WHERE tenant = $1", 1, {INT8OID}, NULL
	};
	static OwnedQuery keys_q = {
		"DELETE FROM tidal.idempotency_keys WHERE tenant = $1", 1, {INT8OID}, NULL
	};
	Datum		args[1] = {Int64GetDatum(tenant)};
	TidalSavedUser saved;

	query_begin(&saved);
	query_exec(&items_q, args, NULL, false, SPI_OK_DELETE);
	query_exec(&hides_q, args, NULL, false, SPI_OK_DELETE);
	query_exec(&keys_q, args, NULL, false, SPI_OK_DELETE);
	query_end(&saved);
}

void
tenant_refresh(int64 tenant)
{
	TenantInfo	before;
	TenantInfo	after;
	List	   *now = read_registry(tenant);
	PendingTenant *p;

	(void) tenant_lookup(tenant, &before);
	if (now != NIL)
		after = *(TenantInfo *) linitial(now);
	else
	{
		memset(&after, 0, sizeof(after));
		after.tenant = tenant;
		after.region_shard = -1;
	}
	if (tenant == 0)
	{
		after.registered = after.stored_here = true;	/* only its quotas change */
		after.region_shard = tidal_shard_id;
	}

	p = add_pending(&after);
	if (before.stored_here == after.stored_here)
		return;

	/* wait out every writer in flight, and hold off new ones until we commit */
	LockRelationOid(log_pending_relid(false), ShareRowExclusiveLock);
	if (after.stored_here)
	{
		ereport(LOG,
				(errmsg("tidal: tenant " INT64_FORMAT " is now stored in this region; loading its data from the log",
						tenant)));
		if (move_in_apply == NULL)
			elog(ERROR, "tidal: no apply of replicated records is registered");
		/* the records this region's copies left out come from the peers first */
		residency_move_in(tenant);
		log_replay(move_in_record, &tenant);
	}
	else
	{
		ereport(LOG,
				(errmsg("tidal: tenant " INT64_FORMAT " is no longer stored in this region; deleting its data",
						tenant)));
		move_out_rows(tenant);
		stage_forget_tenant(tenant);
		facts_stage_drop_tenant(tenant);	/* its items' facts go at commit */
		p->drop_state = true;
		/* and its raw events: tidal.pending sealed, its records left out of the batches */
		residency_move_out(tenant);
	}
}

void
tenant_apply_record(const LogRecord *rec)
{
	static OwnedQuery q = {
		"INSERT INTO tidal.tenant_defs AS t (tenant_id, label, max_signals_per_sec, max_entities, "
		"                                    max_storage_bytes, required_regions, shard, defined_at) "
		"SELECT $1, j->>'label', (j->>'max_signals_per_sec')::pg_catalog.int4, (j->>'max_entities')::pg_catalog.int8, "
		"       (j->>'max_storage_bytes')::pg_catalog.int8, "
		"       CASE WHEN pg_catalog.jsonb_typeof(j->'required_regions') = 'array' THEN "
		"            ARRAY(SELECT r::pg_catalog.int4 FROM pg_catalog.jsonb_array_elements_text(j->'required_regions') r) END, "
		"       coalesce((j->>'shard')::pg_catalog.int4, 0), tidal.hlc($3, $4, $5) "
		"  FROM (SELECT $2::pg_catalog.jsonb AS j) s "
		"ON CONFLICT (tenant_id) DO UPDATE SET label = excluded.label, "
		"       max_signals_per_sec = excluded.max_signals_per_sec, max_entities = excluded.max_entities, "
		"       max_storage_bytes = excluded.max_storage_bytes, required_regions = excluded.required_regions, "
		"       shard = CASE WHEN $2::pg_catalog.jsonb ? 'shard' THEN excluded.shard ELSE t.shard END, "
		"       defined_at = excluded.defined_at "
		" WHERE tidal.hlc_cmp(t.defined_at, excluded.defined_at) OPERATOR(pg_catalog.<) 0",
		5, {INT8OID, TEXTOID, INT8OID, INT4OID, INT4OID}, NULL
	};
	Datum		args[5];

	Assert(rec->kind == LOG_RECORD_TENANT);
	args[0] = Int64GetDatum(rec->tenant);
	args[1] = PointerGetDatum(cstring_to_text_with_len(rec->text, (int) rec->text_len));
	(void) query_merge_by_hlc(&q, args, NULL, &rec->hlc);
	tenant_refresh(rec->tenant);
}

/* ---- SQL ---- */

/*
 * tidal.register_tenant(tenant_id bigint, label text, max_signals_per_sec int,
 *                       max_entities bigint, max_storage_bytes bigint,
 *                       required_regions int[]) RETURNS tidal.hlc
 */
Datum
tidal_register_tenant(PG_FUNCTION_ARGS)
{
	int64		tenant;
	char	   *label;
	StringInfoData json;
	StringInfoData rec;
	LogRecord	decoded;
	TidalHlc   *hlc;
	static const char *const quota_names[] = {"max_signals_per_sec", "max_entities", "max_storage_bytes"};
	int			i;

	tidal_require_preload();
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("tenant_id and label must not be NULL")));
	tenant = PG_GETARG_INT64(0);
	label = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (tenant < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("tenant_id must not be negative"),
				 errdetail("Tenant 0 is the default tenant, which every region stores; registering it only sets its quotas.")));
	if (tenant == 0 && !PG_ARGISNULL(5))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("tenant 0 is stored in every region"),
				 errhint("Register tenant 0 with required_regions NULL; only its quotas can be set.")));
	if (label[0] == '\0' || strlen(label) > TENANT_LABEL_MAXLEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a tenant label has 1 to %d bytes", TENANT_LABEL_MAXLEN)));

	initStringInfo(&json);
	appendStringInfoString(&json, "{\"label\": ");
	escape_json(&json, label);
	for (i = 0; i < 3; i++)
	{
		int64		v;

		if (PG_ARGISNULL(2 + i))
			continue;
		v = i == 0 ? PG_GETARG_INT32(2) : PG_GETARG_INT64(2 + i);
		if (v <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s must be positive, or NULL for no quota", quota_names[i])));
		appendStringInfo(&json, ", \"%s\": " INT64_FORMAT, quota_names[i], v);
	}
	if (!PG_ARGISNULL(5))
	{
		ArrayType  *regions = PG_GETARG_ARRAYTYPE_P(5);
		int			n;
		int32	   *r;
		int			j;

		if (ARR_NDIM(regions) > 1 || array_contains_nulls(regions))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("required_regions must be a one-dimensional array without NULLs")));
		n = ArrayGetNItems(ARR_NDIM(regions), ARR_DIMS(regions));
		if (n == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("required_regions must name at least one region"),
					 errhint("Pass NULL to store the tenant in every region.")));
		r = (int32 *) ARR_DATA_PTR(regions);
		appendStringInfoString(&json, ", \"required_regions\": [");
		for (j = 0; j < n; j++)
		{
			if (r[j] < 0 || r[j] > 65535)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%d is not a region id", r[j]),
						 errdetail("Region ids are those of tidal.region_id, 0 to 65535.")));
			appendStringInfo(&json, "%s%d", j ? ", " : "", r[j]);
		}
		appendStringInfoChar(&json, ']');
	}
	appendStringInfoChar(&json, '}');

	election_require_leader("tidal.register_tenant");
	tidal_ensure_loaded();
	hlc = palloc(sizeof(TidalHlc));
	*hlc = hlc_clock_now();
	initStringInfo(&rec);
	codec_tenant_record(&rec, hlc, tenant, json.data);
	log_append_record(rec.data, rec.len, &decoded);
	tenant_apply_record(&decoded);
	PG_RETURN_HLC_P(hlc);
}

/*
 * tidal._tenant_usage() RETURNS TABLE (tenant_id bigint, stored_here boolean,
 *                                      entities bigint, storage_bytes bigint)
 */
Datum
tidal_tenant_usage(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HASH_SEQ_STATUS scan;
	TenantSlot *slot;

	tidal_require_preload();
	tidal_ensure_loaded();
	InitMaterializedSRF(fcinfo, 0);
	LWLockAcquire(tenants.lock, LW_SHARED);
	hash_seq_init(&scan, tenants.hash);
	while ((slot = hash_seq_search(&scan)) != NULL)
	{
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};
		int64		entries;

		if (slot->key.dboid != MyDatabaseId)
			continue;
		entries = quota_entries(MyDatabaseId, slot->key.tenant);
		values[0] = Int64GetDatum(slot->key.tenant);
		values[1] = BoolGetDatum(slot->info.stored_here);
		values[2] = Int64GetDatum(entries);
		values[3] = Int64GetDatum(entries * (int64) state_entry_bytes());
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(tenants.lock);
	return (Datum) 0;
}
