/*
 * pg/shared_table.c
 *    A fixed-size shared hash table keyed by (database, tenant) with one
 *    LWLock of its own named tranche (see shared_table.h).
 *
 *    May call: core/, pg/.
 */
#include "postgres.h"

#include "storage/shmem.h"

#include "pg/shared_table.h"

/* the lock lives in shared memory so that every backend finds the same one */
typedef struct SharedTableControl
{
	LWLock	   *lock;
} SharedTableControl;

void
shared_table_request(const char *tranche, long max_entries, Size entry_size)
{
	RequestAddinShmemSpace(add_size(MAXALIGN(sizeof(SharedTableControl)),
									hash_estimate_size(max_entries, entry_size)));
	RequestNamedLWLockTranche(tranche, 1);
}

void
shared_table_init(SharedTable *table, const char *name, const char *tranche,
				  long max_entries, Size entry_size)
{
	shared_table_init_keyed(table, name, tranche, max_entries, sizeof(DbTenantKey), entry_size);
}

void
shared_table_init_keyed(SharedTable *table, const char *name, const char *tranche,
						long max_entries, Size key_size, Size entry_size)
{
	HASHCTL		info;
	bool		found;
	char		control_name[SHMEM_INDEX_KEYSIZE];
	SharedTableControl *control;

	snprintf(control_name, sizeof(control_name), "%s control", name);
	control = ShmemInitStruct(control_name, sizeof(SharedTableControl), &found);
	memset(&info, 0, sizeof(info));
	info.keysize = key_size;
	info.entrysize = entry_size;
	table->hash = ShmemInitHash(name, max_entries, max_entries, &info,
								HASH_ELEM | HASH_BLOBS | HASH_FIXED_SIZE);
	if (!found)
		control->lock = &GetNamedLWLockTranche(tranche)[0].lock;
	table->lock = control->lock;
}
