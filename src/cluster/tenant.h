/*
 * cluster/tenant.h
 *    Tenants: the registry, where each tenant's data is stored, and its
 *    quotas (see tenant.c).
 *
 *    May call: core/, pg/, log/, state/, replication/, cluster/.
 */
#ifndef TIDAL_TENANT_H
#define TIDAL_TENANT_H

#include "postgres.h"

#include "fmgr.h"

#include "core/codec.h"

/* what this region knows of a tenant, as this transaction sees it */
typedef struct TenantInfo
{
	int64		tenant;
	bool		registered;
	bool		stored_here;	/* this region (and shard) holds its data */
	int32		region_shard;	/* the shard of this region that holds it; -1: none does */
	int32		max_signals_per_sec;	/* 0: no quota */
	int64		max_entities;	/* 0: no quota of its own (see quota_entries_limit) */
	int64		max_storage_bytes;	/* 0: no quota */
} TenantInfo;

/* shared memory (tidal.c hooks), with its own LWLock tranche */
extern void tenant_shmem_request(void);
extern void tenant_shmem_init(void);

/* false if the tenant is not registered here (tenant 0 always is) */
extern bool tenant_lookup(int64 tenant, TenantInfo *info);

/* tenant_lookup, or error 42704 if the tenant is not registered */
extern void tenant_require(int64 tenant, TenantInfo *info);

/*
 * Does this region store the tenant's data?  (tenant_require first: an
 * error if the tenant is not registered.)  A local write of a tenant stored
 * elsewhere is only logged: replication takes it to the regions that are.
 */
extern bool tenant_stored_here(int64 tenant);

/*
 * The max_signals_per_sec quota of writers in this region (error 53400);
 * the quotas on hot-state entries are state/quota.c's.
 */
extern void tenant_admit_events(const TenantInfo *info, int64 nevents);

/* load the database's tenants from the registry (a rebuild, see recovery.c) */
extern void tenant_load(void);

/*
 * A replicated or local tenant record (kind 6), and the migration records'
 * hook: after a tenant's registration or migration changed in this
 * transaction, move its data into or out of this region as needed and
 * publish the new placement and quotas at commit.
 */
extern void tenant_apply_record(const LogRecord *rec);
extern void tenant_refresh(int64 tenant);

/*
 * Who applies the records of a tenant that moves into this region
 * (tenant_refresh replays them from the log, as if they arrived now): the
 * apply of replicated records (apply/apply.c), registered at _PG_init.
 * Called with each of the tenant's signal, item and hide records.
 */
typedef void (*tenant_record_fn) (const LogRecord *rec);
extern void tenant_set_move_in(tenant_record_fn apply_record);

#endif							/* TIDAL_TENANT_H */
