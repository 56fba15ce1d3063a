/*
 * state/quota.h
 *    Per (database, tenant): the hot-state entries it holds in this region,
 *    and the limits on them (state/quota.c).  May call: core/, pg/, log/,
 *    state/.
 *
 * The hot state (state.c) counts every entry it creates or frees here;
 * whoever owns the tenants' registry (cluster/tenant.c) says which tenants
 * exist and what their limits are.  Staging a local write checks them.
 */
#ifndef TIDAL_QUOTA_H
#define TIDAL_QUOTA_H

#include "postgres.h"

/* a tenant's limits on hot-state entries, as its registration says */
typedef struct QuotaLimits
{
	int64		tenant;
	bool		registered;		/* false: forget the tenant (tenant 0 always exists) */
	int64		max_entities;	/* 0: none of its own (see quota_entries_limit) */
	int64		max_storage_bytes;	/* 0: none */
} QuotaLimits;

/* shared memory (tidal.c hooks), with its own LWLock tranche */
extern void quota_shmem_request(void);
extern void quota_shmem_init(void);

/*
 * The database's tenants, as a rebuild reads them from the registry: what
 * was known of the database's tenants is replaced, their counts start at 0.
 */
extern void quota_load(Oid dboid, const QuotaLimits *tenants, int n);

/*
 * A tenant's limits changed in this transaction: its own writes see them
 * now, other backends once it commits; forgotten if it aborts.
 */
extern void quota_set(const QuotaLimits *limits);

/*
 * The hot-state entries a tenant may hold in this region: its max_entities
 * quota, else tidal.default_tenant_max_entities (-1: half of
 * tidal.max_entities); 0 for no limit but the capacity.
 */
extern int64 quota_entries_limit(int64 max_entities);

/*
 * A local write created an entry of the tenant: error 53400 if the tenant
 * is now over its max_entities or max_storage_bytes quota (entry_bytes: the
 * shared memory one entry takes, see state_entry_bytes).
 */
extern void quota_check_entries(int64 tenant, Size entry_bytes);

/* the hot state reports every entry it creates or frees (of registered tenants) */
extern void quota_entries_add(Oid dboid, int64 tenant, int delta);
extern void quota_entries_reset(Oid dboid, int64 tenant);	/* tenant -1: all */

/* the entries a tenant holds in this region */
extern int64 quota_entries(Oid dboid, int64 tenant);

#endif							/* TIDAL_QUOTA_H */
