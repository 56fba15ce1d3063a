/*
 * state/quota.c
 *    The hot-state entries each tenant holds in this region, and the
 *    max_entities and max_storage_bytes quotas on them (see quota.h).
 *    May call: core/, pg/, log/, state/ (but not state.c, which calls
 *    this module; the registry above, cluster/tenant.c, tells it the limits).
 *
 * Shared memory holds one slot per (database, registered tenant), tenant 0
 * included, under this module's own LWLock: the tenant's limits and its
 * count of entries.  Counts are atomics, updated under the lock held
 * shared (the hot state reports entries with a partition lock held: this
 * lock comes after those).  A transaction's own changes of limits are kept
 * in an XactList until it commits.
 *
 * Every tenant, tenant 0 included, holds at most its max_entities quota of
 * hot-state entries in this region, or tidal.default_tenant_max_entities
 * without one (by default half of tidal.max_entities): one tenant's flood of
 * new entities is refused (53400) long before the hot state is full for
 * everyone (53200).
 */
#include "postgres.h"

#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/hsearch.h"

#include "pg/settings.h"
#include "pg/shared_table.h"
#include "pg/xact_list.h"
#include "state/quota.h"

#define QUOTA_LWLOCK_TRANCHE "tidal quotas"

typedef struct QuotaSlot
{
	DbTenantKey	key;
	int64		max_entities;
	int64		max_storage_bytes;
	pg_atomic_uint64 entries;	/* hot-state entries in this region */
} QuotaSlot;

static SharedTable quotas;

/* this transaction's changes of limits, published at commit */
typedef struct PendingQuota
{
	XactListItem link;
	QuotaLimits limits;
} PendingQuota;

static void quota_at_xact(XactEvent event, List *items);

static XactList pending = XACT_LIST_INIT(quota_at_xact, NULL, NULL);

void
quota_shmem_request(void)
{
	shared_table_request(QUOTA_LWLOCK_TRANCHE, tidal_max_tenants, sizeof(QuotaSlot));
}

void
quota_shmem_init(void)
{
	shared_table_init(&quotas, "tidal quotas", QUOTA_LWLOCK_TRANCHE, tidal_max_tenants, sizeof(QuotaSlot));
}

/*
 * Put a tenant's limits in its slot, keeping its count, or remove the slot
 * of a tenant no longer registered; caller holds the lock exclusively.  A
 * table too small to hold the tenant is reported by the registry's own
 * table, of the same size (cluster/tenant.c).
 */
static void
publish_locked(Oid dboid, const QuotaLimits *limits)
{
	DbTenantKey	key;
	QuotaSlot  *slot;
	bool		found;

	db_tenant_key_init(&key, dboid, limits->tenant);
	if (!limits->registered)
	{
		hash_search(quotas.hash, &key, HASH_REMOVE, NULL);
		return;
	}
	slot = hash_search(quotas.hash, &key, HASH_ENTER_NULL, &found);
	if (slot == NULL)
		return;
	if (!found)
		pg_atomic_init_u64(&slot->entries, 0);
	slot->max_entities = limits->max_entities;
	slot->max_storage_bytes = limits->max_storage_bytes;
}

void
quota_load(Oid dboid, const QuotaLimits *tenants, int n)
{
	HASH_SEQ_STATUS scan;
	QuotaSlot  *slot;
	int			i;

	LWLockAcquire(quotas.lock, LW_EXCLUSIVE);
	hash_seq_init(&scan, quotas.hash);
	while ((slot = hash_seq_search(&scan)) != NULL)
		if (slot->key.dboid == dboid)
			hash_search(quotas.hash, &slot->key, HASH_REMOVE, NULL);
	for (i = 0; i < n; i++)
		publish_locked(dboid, &tenants[i]);
	LWLockRelease(quotas.lock);
}

/* at commit, publish this transaction's changes (nothing here fails) */
static void
quota_at_xact(XactEvent event, List *items)
{
	ListCell   *lc;

	if ((event != XACT_EVENT_COMMIT && event != XACT_EVENT_PARALLEL_COMMIT) || items == NIL)
		return;
	LWLockAcquire(quotas.lock, LW_EXCLUSIVE);
	foreach(lc, items)
		publish_locked(MyDatabaseId, &((PendingQuota *) lfirst(lc))->limits);
	LWLockRelease(quotas.lock);
}

void
quota_set(const QuotaLimits *limits)
{
	PendingQuota *p = (PendingQuota *) xact_list_add(&pending, sizeof(PendingQuota));

	p->limits = *limits;
}

/* a tenant's limits as this transaction sees them; false if it is not registered */
static bool
lookup_limits(int64 tenant, QuotaLimits *limits)
{
	ListCell   *lc;
	bool		found_pending = false;

	memset(limits, 0, sizeof(*limits));
	limits->tenant = tenant;

	/* this transaction's own changes win: the latest is last */
	foreach(lc, xact_list_items(&pending))
	{
		PendingQuota *p = (PendingQuota *) lfirst(lc);

		if (p->limits.tenant == tenant)
		{
			*limits = p->limits;
			found_pending = true;
		}
	}
	if (!found_pending)
	{
		DbTenantKey	key;
		QuotaSlot  *slot;

		db_tenant_key_init(&key, MyDatabaseId, tenant);
		LWLockAcquire(quotas.lock, LW_SHARED);
		slot = hash_search(quotas.hash, &key, HASH_FIND, NULL);
		if (slot != NULL)
		{
			limits->registered = true;
			limits->max_entities = slot->max_entities;
			limits->max_storage_bytes = slot->max_storage_bytes;
		}
		LWLockRelease(quotas.lock);
	}
	if (tenant == 0)
		limits->registered = true;	/* the default tenant exists, registered or not */
	return limits->registered;
}

int64
quota_entries_limit(int64 max_entities)
{
	if (max_entities > 0)
		return max_entities;
	if (tidal_default_tenant_max_entities < 0)
		return Max(tidal_max_entities / 2, 1);
	return tidal_default_tenant_max_entities;
}

int64
quota_entries(Oid dboid, int64 tenant)
{
	DbTenantKey	key;
	QuotaSlot  *slot;
	int64		entries = 0;

	db_tenant_key_init(&key, dboid, tenant);
	LWLockAcquire(quotas.lock, LW_SHARED);
	slot = hash_search(quotas.hash, &key, HASH_FIND, NULL);
	if (slot != NULL)
		entries = (int64) pg_atomic_read_u64(&slot->entries);
	LWLockRelease(quotas.lock);
	return entries;
}

void
quota_check_entries(int64 tenant, Size entry_bytes)
{
	QuotaLimits limits;
	int64		entries;
	int64		limit;

	if (!lookup_limits(tenant, &limits))
		return;
	limit = quota_entries_limit(limits.max_entities);
	if (limit <= 0 && limits.max_storage_bytes <= 0)
		return;
	entries = quota_entries(MyDatabaseId, tenant);

	if (limit > 0 && entries > limit)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("tenant " INT64_FORMAT " is over its max_entities quota", tenant),
				 limits.max_entities > 0 ?
				 errdetail("This write needs state for " INT64_FORMAT " (entity, signal) pairs in this region; "
						   "the quota is " INT64_FORMAT ".", entries, limit) :
				 errdetail("This write needs state for " INT64_FORMAT " (entity, signal) pairs in this region; "
						   "a tenant without a max_entities quota may hold " INT64_FORMAT
						   " (tidal.default_tenant_max_entities).", entries, limit),
				 errhint("Raise the quota with tidal.register_tenant.")));
	if (limits.max_storage_bytes > 0 && entries * (int64) entry_bytes > limits.max_storage_bytes)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("tenant " INT64_FORMAT " is over its max_storage_bytes quota", tenant),
				 errdetail("This write needs " INT64_FORMAT " bytes of hot state in this region; "
						   "the quota is " INT64_FORMAT ".",
						   entries * (int64) entry_bytes, limits.max_storage_bytes),
				 errhint("Raise the quota with tidal.register_tenant.")));
}

void
quota_entries_add(Oid dboid, int64 tenant, int delta)
{
	DbTenantKey	key;
	QuotaSlot  *slot;

	db_tenant_key_init(&key, dboid, tenant);
	LWLockAcquire(quotas.lock, LW_SHARED);
	slot = hash_search(quotas.hash, &key, HASH_FIND, NULL);
	if (slot != NULL)
	{
		if (delta > 0)
			pg_atomic_fetch_add_u64(&slot->entries, (uint64) delta);
		else if (pg_atomic_read_u64(&slot->entries) >= (uint64) -delta)
			pg_atomic_fetch_sub_u64(&slot->entries, (uint64) -delta);
	}
	LWLockRelease(quotas.lock);
}

void
quota_entries_reset(Oid dboid, int64 tenant)
{
	HASH_SEQ_STATUS scan;
	QuotaSlot  *slot;

	LWLockAcquire(quotas.lock, LW_SHARED);
	hash_seq_init(&scan, quotas.hash);
	while ((slot = hash_seq_search(&scan)) != NULL)
		if (slot->key.dboid == dboid && (tenant < 0 || slot->key.tenant == tenant))
			pg_atomic_write_u64(&slot->entries, 0);
	LWLockRelease(quotas.lock);
}
