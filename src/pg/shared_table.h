/*
 * pg/shared_table.h
 *    A fixed-size hash table in shared memory keyed by (database, tenant),
 *    guarded by one LWLock of its own named tranche: the tenants' registry
 *    (cluster/tenant.c) and their quotas on the hot state (state/quota.c)
 *    each keep one.
 *
 *    May call: core/, pg/.
 */
#ifndef TIDAL_SHARED_TABLE_H
#define TIDAL_SHARED_TABLE_H

#include "postgres.h"

#include "storage/lwlock.h"
#include "utils/hsearch.h"

/* an entry's key: its first member (hashed as bytes, so no padding unset) */
typedef struct DbTenantKey
{
	Oid			dboid;
	int32		pad;
	int64		tenant;
} DbTenantKey;

static inline void
db_tenant_key_init(DbTenantKey *key, Oid dboid, int64 tenant)
{
	memset(key, 0, sizeof(*key));
	key->dboid = dboid;
	key->tenant = tenant;
}

typedef struct SharedTable
{
	HTAB	   *hash;
	LWLock	   *lock;
} SharedTable;

/* from the shmem_request hook: room for max_entries of entry_size, and the tranche */
extern void shared_table_request(const char *tranche, long max_entries, Size entry_size);

/* from the shmem_startup hook (AddinShmemInitLock held): attach, creating it once */
extern void shared_table_init(SharedTable *table, const char *name, const char *tranche,
							  long max_entries, Size entry_size);

/* the same for a table of another key (its first member, key_size bytes, hashed as bytes) */
extern void shared_table_init_keyed(SharedTable *table, const char *name, const char *tranche,
									long max_entries, Size key_size, Size entry_size);

#endif							/* TIDAL_SHARED_TABLE_H */
