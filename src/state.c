/*
 * state.c
 *    The hot state in shared memory: a partitioned hash table of
 *    (database, signal, tenant, entity) -> DecayState, and the per-database
 *    "loaded" flags that say whether it reflects the durable log.
 *
 * The table is sized once, at server start, by tidal.max_entities.  Every
 * access to an entry holds its partition's LWLock; the bookkeeping holds the
 * control lock.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/hsearch.h"
#include "utils/syscache.h"

#include "tidal.h"
#include "state.h"
#include "tenant.h"

#define STATE_PARTITIONS	32	/* power of two, as dynahash requires */
#define STATE_MAX_DBS		64

typedef struct StateDb
{
	Oid			dboid;
	bool		loaded;
} StateDb;

typedef struct StateShared
{
	pg_atomic_uint64 defs_generation;
	int			ndbs;
	StateDb		dbs[STATE_MAX_DBS];
} StateShared;

static StateShared *shared = NULL;
static HTAB *state_hash = NULL;
static LWLockPadded *locks = NULL;	/* [0] control, [1..] partitions */

#define CONTROL_LOCK		(&locks[0].lock)
#define PARTITION_LOCK(h)	(&locks[1 + ((h) % STATE_PARTITIONS)].lock)

Size
state_shmem_size(void)
{
	return add_size(MAXALIGN(sizeof(StateShared)),
					hash_estimate_size(tidal_max_entities, sizeof(StateEntry)));
}

int
state_lwlock_count(void)
{
	return 1 + STATE_PARTITIONS;
}

void
state_shmem_init(void)
{
	HASHCTL		info;
	bool		found;

	shared = ShmemInitStruct("tidal state control", sizeof(StateShared), &found);
	if (!found)
	{
		memset(shared, 0, sizeof(StateShared));
		pg_atomic_init_u64(&shared->defs_generation, 1);
	}

	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(StateKey);
	info.entrysize = sizeof(StateEntry);
	info.num_partitions = STATE_PARTITIONS;
	state_hash = ShmemInitHash("tidal hot state",
							   tidal_max_entities, tidal_max_entities,
							   &info,
							   HASH_ELEM | HASH_BLOBS | HASH_PARTITION | HASH_FIXED_SIZE);

	locks = GetNamedLWLockTranche(TIDAL_LWLOCK_TRANCHE);
}

/* find or create; caller holds the partition lock exclusively */
static StateEntry *
enter_locked(const StateKey *key, uint32 hash, bool *created)
{
	StateEntry *e;
	bool		found;

	e = hash_search_with_hash_value(state_hash, key, hash, HASH_ENTER_NULL, &found);
	if (e != NULL && !found)
	{
		pg_atomic_init_u32(&e->pins, 0);
		decay_init(&e->decay);
		if (key->tenant != 0)
			tenant_entries_add(key->dboid, key->tenant, 1);
		if (created)
			*created = true;
	}
	return e;
}

bool
state_reserve(const StateKey *key)
{
	bool		created = false;
	uint32		hash = get_hash_value(state_hash, key);
	LWLock	   *lock = PARTITION_LOCK(hash);
	StateEntry *e;

	/*
	 * The common case: it exists already, and a shared lock suffices to pin
	 * it (entries are removed only under the exclusive lock).
	 */
	LWLockAcquire(lock, LW_SHARED);
	e = hash_search_with_hash_value(state_hash, key, hash, HASH_FIND, NULL);
	if (e != NULL)
		pg_atomic_fetch_add_u32(&e->pins, 1);
	LWLockRelease(lock);
	if (e != NULL)
		return false;

	LWLockAcquire(lock, LW_EXCLUSIVE);
	e = enter_locked(key, hash, &created);
	if (e != NULL)
		pg_atomic_fetch_add_u32(&e->pins, 1);
	LWLockRelease(lock);

	if (e == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("tidal hot state is full"),
				 errdetail("It holds %d (entity, signal) pairs.", tidal_max_entities),
				 errhint("Increase tidal.max_entities and restart the server.")));
	return created;
}

/* drop one pin; caller holds the partition lock exclusively */
static void
unpin_locked(StateEntry *e)
{
	if (pg_atomic_read_u32(&e->pins) > 0)
		pg_atomic_fetch_sub_u32(&e->pins, 1);
}

void
state_unreserve(const StateKey *key)
{
	uint32		hash = get_hash_value(state_hash, key);
	LWLock	   *lock = PARTITION_LOCK(hash);
	StateEntry *e;

	LWLockAcquire(lock, LW_EXCLUSIVE);
	e = hash_search_with_hash_value(state_hash, key, hash, HASH_FIND, NULL);
	if (e != NULL)
	{
		unpin_locked(e);
		/* an entry only rolled-back writes wanted goes back to the pool */
		if (pg_atomic_read_u32(&e->pins) == 0 && e->decay.latest_us == DECAY_EMPTY)
		{
			hash_search_with_hash_value(state_hash, key, hash, HASH_REMOVE, NULL);
			if (key->tenant != 0)
				tenant_entries_add(key->dboid, key->tenant, -1);
		}
	}
	LWLockRelease(lock);
}

bool
state_apply(const StateKey *key, const DecaySpec *spec, double weight, int64 t_us, bool unpin)
{
	uint32		hash = get_hash_value(state_hash, key);
	LWLock	   *lock = PARTITION_LOCK(hash);
	StateEntry *e;

	LWLockAcquire(lock, LW_EXCLUSIVE);
	e = enter_locked(key, hash, NULL);
	if (e != NULL)
	{
		decay_add(&e->decay, spec, weight, t_us);
		if (unpin)
			unpin_locked(e);
	}
	LWLockRelease(lock);
	return e != NULL;
}

bool
state_read(const StateKey *key, DecayState *out)
{
	uint32		hash = get_hash_value(state_hash, key);
	LWLock	   *lock = PARTITION_LOCK(hash);
	StateEntry *e;

	LWLockAcquire(lock, LW_SHARED);
	e = hash_search_with_hash_value(state_hash, key, hash, HASH_FIND, NULL);
	if (e != NULL)
		*out = e->decay;
	LWLockRelease(lock);

	if (e == NULL)
		decay_init(out);
	return e != NULL;
}

void
state_visit_many(Oid dboid, int32 signal_id, int64 tenant, const int64 *entities, int n,
				 state_visit_fn fn, void *arg)
{
	StateKey	key;
	uint32	   *hashes = palloc(sizeof(uint32) * Max(n, 1));
	int		   *order = palloc(sizeof(int) * Max(n, 1));
	int			start[STATE_PARTITIONS + 1];
	int			part;
	int			i;

	/* counting sort of the entities by partition */
	memset(start, 0, sizeof(start));
	state_key_init(&key, dboid, signal_id, tenant, 0);
	for (i = 0; i < n; i++)
	{
		key.entity = entities[i];
		hashes[i] = get_hash_value(state_hash, &key);
		start[hashes[i] % STATE_PARTITIONS + 1]++;
	}
	for (part = 0; part < STATE_PARTITIONS; part++)
		start[part + 1] += start[part];
	for (i = 0; i < n; i++)
		order[start[hashes[i] % STATE_PARTITIONS]++] = i;
	/* start[p] is now the end of partition p's run, the start of p + 1's */

	i = 0;
	for (part = 0; part < STATE_PARTITIONS; part++)
	{
		int			end = start[part];

		if (i == end)
			continue;
		LWLockAcquire(&locks[1 + part].lock, LW_SHARED);
		for (; i < end; i++)
		{
			int			j = order[i];
			StateEntry *e;

			key.entity = entities[j];
			e = hash_search_with_hash_value(state_hash, &key, hashes[j], HASH_FIND, NULL);
			fn(j, e ? &e->decay : NULL, arg);
		}
		LWLockRelease(&locks[1 + part].lock);
	}
	pfree(hashes);
	pfree(order);
}

static StateDb *
find_db(Oid dboid)
{
	int			i;

	for (i = 0; i < shared->ndbs; i++)
		if (shared->dbs[i].dboid == dboid)
			return &shared->dbs[i];
	return NULL;
}

bool
state_db_loaded(Oid dboid)
{
	StateDb    *db;
	bool		loaded;

	LWLockAcquire(CONTROL_LOCK, LW_SHARED);
	db = find_db(dboid);
	loaded = (db != NULL && db->loaded);
	LWLockRelease(CONTROL_LOCK);
	return loaded;
}

void
state_db_set_loaded(Oid dboid, bool loaded)
{
	StateDb    *db;
	int			i;

	LWLockAcquire(CONTROL_LOCK, LW_EXCLUSIVE);
	db = find_db(dboid);
	if (db == NULL)
	{
		/* forget databases that were dropped, to make room */
		for (i = shared->ndbs - 1; i >= 0 && shared->ndbs == STATE_MAX_DBS; i--)
			if (!SearchSysCacheExists1(DATABASEOID, ObjectIdGetDatum(shared->dbs[i].dboid)))
				shared->dbs[i] = shared->dbs[--shared->ndbs];
		if (shared->ndbs == STATE_MAX_DBS)
		{
			LWLockRelease(CONTROL_LOCK);
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("tidal is in use in too many databases"),
					 errdetail("At most %d databases of one instance can use tidal.", STATE_MAX_DBS)));
		}
		db = &shared->dbs[shared->ndbs++];
		db->dboid = dboid;
	}
	db->loaded = loaded;
	LWLockRelease(CONTROL_LOCK);
}

/* remove the entries of a database, or of one of its tenants (tenant -1: all) */
static void
remove_entries(Oid dboid, int64 tenant)
{
	HASH_SEQ_STATUS scan;
	StateEntry *e;
	int			i;

	for (i = 0; i < STATE_PARTITIONS; i++)
		LWLockAcquire(&locks[1 + i].lock, LW_EXCLUSIVE);
	hash_seq_init(&scan, state_hash);
	while ((e = hash_seq_search(&scan)) != NULL)
	{
		/* removing the entry just returned is allowed during a scan */
		if (e->key.dboid == dboid && (tenant < 0 || e->key.tenant == tenant))
			hash_search(state_hash, &e->key, HASH_REMOVE, NULL);
	}
	tenant_entries_reset(dboid, tenant);
	for (i = STATE_PARTITIONS - 1; i >= 0; i--)
		LWLockRelease(&locks[1 + i].lock);
}

void
state_db_clear(Oid dboid)
{
	state_db_set_loaded(dboid, false);
	remove_entries(dboid, -1);
}

void
state_drop_tenant(Oid dboid, int64 tenant)
{
	Assert(tenant > 0);
	remove_entries(dboid, tenant);
}

uint64
state_defs_generation(void)
{
	return pg_atomic_read_u64(&shared->defs_generation);
}

void
state_defs_bump(void)
{
	pg_atomic_fetch_add_u64(&shared->defs_generation, 1);
}

int64
state_entry_count(Oid dboid)
{
	HASH_SEQ_STATUS scan;
	StateEntry *e;
	int64		n = 0;
	int			i;

	for (i = 0; i < STATE_PARTITIONS; i++)
		LWLockAcquire(&locks[1 + i].lock, LW_SHARED);
	hash_seq_init(&scan, state_hash);
	while ((e = hash_seq_search(&scan)) != NULL)
		if (e->key.dboid == dboid && e->decay.latest_us != DECAY_EMPTY)
			n++;
	for (i = STATE_PARTITIONS - 1; i >= 0; i--)
		LWLockRelease(&locks[1 + i].lock);
	return n;
}

Size
state_entry_bytes(void)
{
	return hash_estimate_size(tidal_max_entities, sizeof(StateEntry)) / tidal_max_entities;
}
