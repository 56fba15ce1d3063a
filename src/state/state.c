/*
 * state/state.c
 *    The hot state in shared memory: (database, signal, tenant, entity) ->
 *    DecayState, and the per-database "loaded" flags that say whether it
 *    reflects the durable log.
 *
 * Storage, sized once at server start by tidal.max_entities:
 *  - a pool of StateEntry, handed out and taken back through a free list
 *    (under a spinlock: entries are created and freed rarely);
 *  - an index of STATE_PARTITIONS open-addressing tables of slots
 *    {hash, entry number}, linear probing, at most half full at capacity.
 * A key's partition is its hash's low bits; everything about the keys of a
 * partition, their slots and their entries, is under that partition's
 * LWLock.  Lookups touch one or two cache lines of the index and then the
 * entry, and a batch of lookups (state_visit_many) prefetches both ahead of
 * use, which is what makes ranking thousands of candidates cheap: one at a
 * time, each lookup waits for memory twice.
 *
 * The bookkeeping (databases, definitions' generation) holds the control
 * lock.  The locks are this module's own tranche, "tidal hot state".
 *
 * Every entry created or freed is counted off its tenant (quota.c).
 *
 * May call: core/, pg/, log/, state/.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/rangetypes.h"
#include "utils/typcache.h"

#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/syscache.h"

#include "pg/settings.h"
#include "core/util.h"
#include "state/interest.h"
#include "state/quota.h"
#include "state/state.h"

#define STATE_PARTITIONS	32	/* a power of two */
#define STATE_PART_BITS		5
#define STATE_MAX_DBS		64
#define SLOT_EMPTY			(-1)
#define MIN_PART_SLOTS		128
#define STATE_LWLOCK_TRANCHE "tidal hot state"
#define STATE_LWLOCKS		(1 + STATE_PARTITIONS)	/* control, then partitions */

typedef struct StateDb
{
	Oid			dboid;
	bool		loaded;
} StateDb;

/* one slot of the index: the entry's number in the pool, or SLOT_EMPTY */
typedef struct StateSlot
{
	uint32		hash;
	int32		entry;
} StateSlot;

typedef struct StateShared
{
	pg_atomic_uint64 defs_generation;
	int			ndbs;
	StateDb		dbs[STATE_MAX_DBS];

	/* the pool: entries [0, pool_used) have been handed out at least once */
	slock_t		pool_lock;
	int32		pool_used;
	int32		free_head;		/* a free entry (linked by StateEntry.next_free), or -1 */
	int32		part_used[STATE_PARTITIONS];	/* slots in use per partition */
} StateShared;

static StateShared *shared = NULL;
static StateEntry *entries = NULL;	/* [tidal_max_entities] */
static StateSlot *slots = NULL;	/* [STATE_PARTITIONS * part_slots] */
static uint32 part_slots = 0;	/* a power of two */
static LWLockPadded *locks = NULL;	/* [0] control, [1..] partitions */

#define CONTROL_LOCK		(&locks[0].lock)
#define PARTITION_OF(h)		((h) & (STATE_PARTITIONS - 1))
#define PARTITION_LOCK(h)	(&locks[1 + PARTITION_OF(h)].lock)

#if defined(__GNUC__) || defined(__clang__)
#define state_prefetch(addr)	__builtin_prefetch(addr)
#else
#define state_prefetch(addr)	((void) (addr))
#endif

/* slots per partition: twice the entries it holds on average at capacity */
static uint32
compute_part_slots(void)
{
	uint64		want = Max((uint64) 2 * ((uint64) tidal_max_entities / STATE_PARTITIONS + 1),
						   MIN_PART_SLOTS);
	uint32		n = MIN_PART_SLOTS;

	while (n < want)
		n <<= 1;
	return n;
}

static Size
pool_size(void)
{
	return mul_size(tidal_max_entities, sizeof(StateEntry));
}

static Size
index_size(void)
{
	return mul_size(mul_size(STATE_PARTITIONS, compute_part_slots()), sizeof(StateSlot));
}

static Size
state_shmem_size(void)
{
	return add_size(add_size(MAXALIGN(sizeof(StateShared)), MAXALIGN(pool_size())),
					MAXALIGN(index_size()));
}

void
state_shmem_request(void)
{
	RequestAddinShmemSpace(state_shmem_size());
	RequestNamedLWLockTranche(STATE_LWLOCK_TRANCHE, STATE_LWLOCKS);
}

void
state_shmem_init(void)
{
	bool		found;
	bool		found_pool;
	bool		found_index;
	uint64		nslots;
	uint64		i;

	part_slots = compute_part_slots();
	nslots = (uint64) STATE_PARTITIONS * part_slots;
	shared = ShmemInitStruct("tidal state control", sizeof(StateShared), &found);
	entries = ShmemInitStruct("tidal hot state entries", pool_size(), &found_pool);
	slots = ShmemInitStruct("tidal hot state index", index_size(), &found_index);
	if (!found)
	{
		memset(shared, 0, sizeof(StateShared));
		pg_atomic_init_u64(&shared->defs_generation, 1);
		SpinLockInit(&shared->pool_lock);
		shared->free_head = -1;
		/* the pool's pages are touched on first use, the index's now */
		for (i = 0; i < nslots; i++)
		{
			slots[i].hash = 0;
			slots[i].entry = SLOT_EMPTY;
		}
	}
	locks = GetNamedLWLockTranche(STATE_LWLOCK_TRANCHE);
}

/* ---- keys, slots and entries ---- */

static inline uint32
key_hash(const StateKey *key)
{
	uint64		group = (uint64) key->dboid << 32 | (uint32) key->signal_id;
	uint64		h = tidal_mix64((uint64) key->entity ^ tidal_mix64((uint64) key->tenant ^ group));

	return (uint32) (h ^ (h >> 32));
}

static inline bool
key_equal(const StateKey *a, const StateKey *b)
{
	return a->entity == b->entity && a->signal_id == b->signal_id &&
		a->tenant == b->tenant && a->dboid == b->dboid;
}

/* the partition's slots, and the position a hash starts probing at */
static inline StateSlot *
part_base(uint32 hash)
{
	return &slots[(uint64) PARTITION_OF(hash) * part_slots];
}

static inline uint32
home_of(uint32 hash)
{
	return (hash >> STATE_PART_BITS) & (part_slots - 1);
}

/*
 * Linear probing from the key's home slot: the slot holding key, or else the
 * empty slot that ends its probe run (where it would go).  Caller holds the
 * partition lock; a table is never full (enter_locked keeps it below 7/8).
 */
static StateSlot *
probe(const StateKey *key, uint32 hash)
{
	StateSlot  *base = part_base(hash);
	uint32		mask = part_slots - 1;
	uint32		i = home_of(hash);

	for (;;)
	{
		StateSlot  *sl = &base[i];

		if (sl->entry == SLOT_EMPTY ||
			(sl->hash == hash && key_equal(&entries[sl->entry].key, key)))
			return sl;
		i = (i + 1) & mask;
	}
}

/* the slot holding key, or NULL; caller holds the partition lock */
static StateSlot *
find_slot(const StateKey *key, uint32 hash)
{
	StateSlot  *sl = probe(key, hash);

	return sl->entry == SLOT_EMPTY ? NULL : sl;
}

static StateEntry *
find_locked(const StateKey *key, uint32 hash)
{
	StateSlot  *sl = find_slot(key, hash);

	return sl ? &entries[sl->entry] : NULL;
}

static int32
pool_take(void)
{
	int32		e = -1;

	SpinLockAcquire(&shared->pool_lock);
	if (shared->free_head >= 0)
	{
		e = shared->free_head;
		shared->free_head = entries[e].next_free;
	}
	else if (shared->pool_used < tidal_max_entities)
		e = shared->pool_used++;
	SpinLockRelease(&shared->pool_lock);
	return e;
}

static void
pool_give(int32 e)
{
	entries[e].key.dboid = InvalidOid;	/* not in use */
	SpinLockAcquire(&shared->pool_lock);
	entries[e].next_free = shared->free_head;
	shared->free_head = e;
	SpinLockRelease(&shared->pool_lock);
}

/*
 * Remove a slot (linear probing's backward-shift deletion: later slots of
 * the same probe run move up, so that lookups need no tombstones) and free
 * its entry; caller holds the partition lock exclusively, and counts the
 * entry off its tenant.
 */
static void
remove_slot(StateSlot *sl)
{
	StateSlot  *base = part_base(sl->hash);
	uint32		mask = part_slots - 1;
	uint32		hole = (uint32) (sl - base);
	uint32		j = hole;
	int			part = PARTITION_OF(sl->hash);
	int32		e = sl->entry;

	for (;;)
	{
		uint32		home;

		j = (j + 1) & mask;
		if (base[j].entry == SLOT_EMPTY)
			break;
		home = home_of(base[j].hash);
		/* base[j] may fill the hole unless its home lies cyclically in (hole, j] */
		if (hole <= j ? (home <= hole || home > j) : (home <= hole && home > j))
		{
			base[hole] = base[j];
			hole = j;
		}
	}
	base[hole].entry = SLOT_EMPTY;
	base[hole].hash = 0;
	shared->part_used[part]--;
	pool_give(e);
}

/*
 * Find or create; caller holds the partition lock exclusively; NULL if full.
 * A new entry is counted off its tenant (quota.c) now, or by the caller if
 * not count_quota (apply_group counts a group's at once).
 */
static StateEntry *
enter_locked(const StateKey *key, uint32 hash, bool *created, bool count_quota)
{
	StateSlot  *sl = probe(key, hash);
	int			part = PARTITION_OF(hash);
	StateEntry *e;
	int32		n;

	if (sl->entry != SLOT_EMPTY)
		return &entries[sl->entry];

	/* a partition's table stays at most 7/8 full, so that probes stay short */
	if (shared->part_used[part] >= (int32) (part_slots - part_slots / 8))
		return NULL;
	if ((n = pool_take()) < 0)
		return NULL;
	e = &entries[n];
	e->key = *key;
	pg_atomic_init_u32(&e->pins, 0);
	decay_init(&e->decay);
	sl->hash = hash;
	sl->entry = n;
	shared->part_used[part]++;
	if (count_quota)
		quota_entries_add(key->dboid, key->tenant, 1);
	if (created)
		*created = true;
	return e;
}

bool
state_reserve(const StateKey *key)
{
	bool		created = false;
	uint32		hash = key_hash(key);
	LWLock	   *lock = PARTITION_LOCK(hash);
	StateEntry *e;

	/*
	 * The common case: it exists already, and a shared lock suffices to pin
	 * it (entries are removed only under the exclusive lock).
	 */
	LWLockAcquire(lock, LW_SHARED);
	e = find_locked(key, hash);
	if (e != NULL)
		pg_atomic_fetch_add_u32(&e->pins, 1);
	LWLockRelease(lock);
	if (e != NULL)
		return false;

	LWLockAcquire(lock, LW_EXCLUSIVE);
	e = enter_locked(key, hash, &created, true);
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
	uint32		hash = key_hash(key);
	LWLock	   *lock = PARTITION_LOCK(hash);
	StateSlot  *sl;

	LWLockAcquire(lock, LW_EXCLUSIVE);
	sl = find_slot(key, hash);
	if (sl != NULL)
	{
		StateEntry *e = &entries[sl->entry];

		unpin_locked(e);
		/* an entry only rolled-back writes wanted goes back to the pool */
		if (pg_atomic_read_u32(&e->pins) == 0 && e->decay.latest_us == DECAY_EMPTY)
		{
			quota_entries_add(key->dboid, key->tenant, -1);
			remove_slot(sl);
		}
	}
	LWLockRelease(lock);
}

/*
 * Add to an entry (created if need be) one event, or a whole state (add not
 * NULL); unpin drops the pin of a staged event.  False if the state is full.
 */
static bool
add_to_entry(const StateKey *key, const DecaySpec *spec, double weight, int64 t_us,
			 const DecayState *add, bool unpin)
{
	uint32		hash = key_hash(key);
	LWLock	   *lock = PARTITION_LOCK(hash);
	StateEntry *e;

	LWLockAcquire(lock, LW_EXCLUSIVE);
	e = enter_locked(key, hash, NULL, true);
	if (e != NULL)
	{
		if (add != NULL)
			decay_merge(&e->decay, spec, add);
		else
			decay_add(&e->decay, spec, weight, t_us);
		if (unpin)
			unpin_locked(e);
	}
	LWLockRelease(lock);
	return e != NULL;
}

bool
state_apply(const StateKey *key, const DecaySpec *spec, double weight, int64 t_us, bool unpin)
{
	return add_to_entry(key, spec, weight, t_us, NULL, unpin);
}

bool
state_merge(const StateKey *key, const DecaySpec *spec, const DecayState *add, bool unpin)
{
	return add_to_entry(key, spec, 0, 0, add, unpin);
}

/* a key's home slot in the index */
static inline const StateSlot *
home_slot(uint32 hash)
{
	return &part_base(hash)[home_of(hash)];
}

/*
 * Apply ops[0..n) (n <= STATE_GROUP) to entries of one (database, signal,
 * tenant): sorted by partition (a stable counting sort, so an entity's ops
 * keep their order), the home slots prefetched ahead, each partition's lock
 * taken once -- a batch of events or snapshot entries costs one wait for
 * memory each, not two (see state_visit_many).  An op with set replaces the
 * entry's state, else adds its event.  Never errors; false if some entry
 * could not be created (the state is full).
 */
typedef struct StateOp
{
	int64		entity;
	double		weight;
	int64		at_us;
	const DecayState *set;
} StateOp;

#define STATE_GROUP 256

static bool
apply_group(Oid dboid, int32 signal_id, int64 tenant, const DecaySpec *spec,
			const StateOp *ops, int n, bool unpin)
{
	uint32		hashes[STATE_GROUP];
	int16		order[STATE_GROUP];
	int			start[STATE_PARTITIONS + 1];
	StateKey	key;
	bool		all = true;
	bool		created;
	int			ncreated = 0;
	int			part;
	int			i;

	Assert(n <= STATE_GROUP);
	memset(start, 0, sizeof(start));
	state_key_init(&key, dboid, signal_id, tenant, 0);
	for (i = 0; i < n; i++)
	{
		key.entity = ops[i].entity;
		hashes[i] = key_hash(&key);
		start[PARTITION_OF(hashes[i]) + 1]++;
	}
	for (part = 0; part < STATE_PARTITIONS; part++)
		start[part + 1] += start[part];
	for (i = 0; i < n; i++)
	{
		order[start[PARTITION_OF(hashes[i])]++] = (int16) i;
		state_prefetch(home_slot(hashes[i]));
	}
	/* start[p] is now the end of partition p's run */
	i = 0;
	for (part = 0; part < STATE_PARTITIONS; part++)
	{
		int			end = start[part];

		if (i == end)
			continue;
		LWLockAcquire(&locks[1 + part].lock, LW_EXCLUSIVE);
		for (; i < end; i++)
		{
			const StateOp *op = &ops[order[i]];
			StateEntry *e;

			key.entity = op->entity;
			created = false;
			e = enter_locked(&key, hashes[order[i]], &created, false);
			ncreated += created;
			if (e == NULL)
			{
				all = false;
				continue;
			}
			if (op->set != NULL)
				e->decay = *op->set;
			else
				decay_add(&e->decay, spec, op->weight, op->at_us);
			if (unpin)
				unpin_locked(e);
		}
		LWLockRelease(&locks[1 + part].lock);
	}
	if (ncreated > 0)
		quota_entries_add(dboid, tenant, ncreated);	/* once for the group */
	return all;
}

bool
state_install_many(Oid dboid, int32 signal_id, int64 tenant, const int64 *entities,
				   const DecayState *states, int n)
{
	StateOp		ops[STATE_GROUP];
	bool		all = true;
	int			done = 0;

	while (done < n)
	{
		int			k = Min(n - done, STATE_GROUP);
		int			i;

		for (i = 0; i < k; i++)
		{
			ops[i].entity = entities[done + i];
			ops[i].set = &states[done + i];
		}
		if (!apply_group(dboid, signal_id, tenant, NULL, ops, k, false))
			all = false;
		done += k;
	}
	return all;
}

void
state_apply_record(const LogRecord *rec, Oid dboid, int32 signal_id, const DecaySpec *spec,
				   bool staged)
{
	StateOp		ops[STATE_GROUP];
	uint32		done = 0;
	bool		all_applied = true;

	Assert(rec->kind == LOG_RECORD_SIGNAL);
	interest_apply_record(rec, dboid, signal_id, spec);
	while (done < rec->nevents)
	{
		int			k = (int) Min(rec->nevents - done, STATE_GROUP);
		int			i;

		for (i = 0; i < k; i++)
		{
			LogSignalEvent ev;

			codec_signal_event(rec, done + i, &ev);
			ops[i].entity = ev.entity;
			ops[i].weight = ev.weight;
			ops[i].at_us = ev.at_us;
			ops[i].set = NULL;
		}
		if (!apply_group(dboid, signal_id, rec->tenant, spec, ops, k, staged))
			all_applied = false;
		done += k;
	}

	if (!all_applied)
	{
		/*
		 * Only possible if the state filled up after the entries were
		 * reserved (e.g. it was cleared and rebuilt meanwhile).  The events
		 * are durable; have the state rebuilt from the log on next use.
		 * At commit (staged) nothing may fail, not even a message: the
		 * rebuild that follows counts the events, and says so if the state
		 * is still full.
		 */
		state_db_set_loaded(dboid, false);
		if (!staged)
			ereport(WARNING,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("tidal hot state is full; some committed events are not yet reflected"),
					 errhint("Increase tidal.max_entities and restart the server.")));
	}
}

bool
state_read(const StateKey *key, DecayState *out)
{
	uint32		hash = key_hash(key);
	LWLock	   *lock = PARTITION_LOCK(hash);
	StateEntry *e;

	LWLockAcquire(lock, LW_SHARED);
	e = find_locked(key, hash);
	if (e != NULL)
		*out = e->decay;
	LWLockRelease(lock);

	if (e == NULL)
		decay_init(out);
	return e != NULL;
}

/*
 * state_visit_many: the lookups grouped by partition (a counting sort), each
 * partition's under its lock, taken once.  Lookups one after another would
 * each wait for memory twice (the slot, then the entry), so the waits are
 * overlapped in stages: every home slot is prefetched as the lookups are
 * sorted (the index never moves, so this needs no lock, and the slots of
 * 10,000 lookups fit in a core's L2 cache); in a partition's turn, under its
 * lock, each home slot is read and the entry it names prefetched, and only
 * then are the lookups made.
 *
 * The prefetches sit in loops that also store something: GCC deletes a loop
 * whose only effect is __builtin_prefetch.
 */
typedef struct VisitLookup
{
	uint32		hash;
	int32		index;			/* into entities */
	int32		home_entry;		/* the entry its home slot names (read under the lock) */
} VisitLookup;

void
state_visit_many(Oid dboid, int32 signal_id, int64 tenant, const int64 *entities, int n,
				 state_visit_fn fn, void *arg)
{
	StateKey	key;
	uint32	   *hashes = palloc(sizeof(uint32) * Max(n, 1));
	VisitLookup *look = palloc(sizeof(VisitLookup) * Max(n, 1));
	int			start[STATE_PARTITIONS + 1];
	int			part;
	int			i;

	/* counting sort of the entities by partition */
	memset(start, 0, sizeof(start));
	state_key_init(&key, dboid, signal_id, tenant, 0);
	for (i = 0; i < n; i++)
	{
		key.entity = entities[i];
		hashes[i] = key_hash(&key);
		start[PARTITION_OF(hashes[i]) + 1]++;
	}
	for (part = 0; part < STATE_PARTITIONS; part++)
		start[part + 1] += start[part];
	for (i = 0; i < n; i++)
	{
		VisitLookup *l = &look[start[PARTITION_OF(hashes[i])]++];

		state_prefetch(home_slot(hashes[i]));
		l->hash = hashes[i];
		l->index = i;
	}
	/* start[p] is now the end of partition p's run, the start of p + 1's */
	pfree(hashes);

	i = 0;
	for (part = 0; part < STATE_PARTITIONS; part++)
	{
		int			end = start[part];
		int			k;

		if (i == end)
			continue;
		LWLockAcquire(&locks[1 + part].lock, LW_SHARED);
		for (k = i; k < end; k++)
		{
			int32		e = home_slot(look[k].hash)->entry;

			look[k].home_entry = e;
			if (e != SLOT_EMPTY)
			{
				state_prefetch(&entries[e]);	/* the key and the decayed sum */
				state_prefetch((const char *) &entries[e] + 64);	/* window buckets */
			}
		}
		for (; i < end; i++)
		{
			const VisitLookup *l = &look[i];
			StateEntry *e;

			key.entity = entities[l->index];
			/* most keys sit in their home slot, read above under this lock */
			if (l->home_entry != SLOT_EMPTY && key_equal(&entries[l->home_entry].key, &key))
				e = &entries[l->home_entry];
			else
				e = find_locked(&key, l->hash);
			fn(l->index, e ? &e->decay : NULL, arg);
		}
		LWLockRelease(&locks[1 + part].lock);
	}
	pfree(look);
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
	if (db == NULL && !loaded)
	{
		/* not known, so not loaded: nothing to do (and nothing that can fail at commit) */
		LWLockRelease(CONTROL_LOCK);
		return;
	}
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

bool
state_range_from_datum(Datum range, StateRange *out)
{
	TypeCacheEntry *typcache = lookup_type_cache(INT8RANGEOID, TYPECACHE_RANGE_INFO);
	RangeBound	lower;
	RangeBound	upper;
	bool		empty;

	range_deserialize(typcache, DatumGetRangeTypeP(range), &lower, &upper, &empty);
	out->lo_inf = lower.infinite;
	out->lo = lower.infinite ? 0 : DatumGetInt64(lower.val);
	out->hi_inf = upper.infinite;
	out->hi = upper.infinite ? 0 : DatumGetInt64(upper.val);
	return !empty;
}

char *
state_range_text(const StateRange *r)
{
	return psprintf("%s%s,%s)", r->lo_inf ? "(" : "[",
					r->lo_inf ? "" : psprintf(INT64_FORMAT, r->lo),
					r->hi_inf ? "" : psprintf(INT64_FORMAT, r->hi));
}

/*
 * Every entry of a database, of one of its tenants (tenant -1: all), and of
 * a range of entities (range NULL: all), with every partition locked in
 * mode: handed to fn (if not NULL), removed if remove.  Returns how many.
 */
static int64
each_entry(Oid dboid, int64 tenant, const StateRange *range, LWLockMode mode,
		   state_collect_fn fn, void *arg, bool remove)
{
	int32		used;
	int32		e;
	int			i;
	int64		n = 0;

	for (i = 0; i < STATE_PARTITIONS; i++)
		LWLockAcquire(&locks[1 + i].lock, mode);
	SpinLockAcquire(&shared->pool_lock);
	used = shared->pool_used;
	SpinLockRelease(&shared->pool_lock);
	for (e = 0; e < used; e++)
	{
		StateKey	key = entries[e].key;
		StateSlot  *sl;

		if (key.dboid != dboid || (tenant >= 0 && key.tenant != tenant) ||
			(range != NULL && !state_range_holds(range, key.entity)))
			continue;			/* another's, or free (InvalidOid) */
		if ((sl = find_slot(&key, key_hash(&key))) == NULL)
			continue;
		if (fn != NULL)
			fn(&key, &entries[e].decay, arg);
		if (remove)
			remove_slot(sl);
		n++;
	}
	/* the tenants' counts of entries (quota.c), under the same locks */
	if (remove && range == NULL)
		quota_entries_reset(dboid, tenant);
	else if (remove)
		quota_entries_add(dboid, tenant, (int) -n);
	for (i = STATE_PARTITIONS - 1; i >= 0; i--)
		LWLockRelease(&locks[1 + i].lock);
	return n;
}

void
state_collect_range(Oid dboid, int64 tenant, const StateRange *range, state_collect_fn fn, void *arg)
{
	(void) each_entry(dboid, tenant, range, LW_SHARED, fn, arg, false);
}

void
state_drop_range(Oid dboid, int64 tenant, const StateRange *range)
{
	(void) each_entry(dboid, tenant, range, LW_EXCLUSIVE, NULL, NULL, true);
}

void
state_db_clear(Oid dboid)
{
	state_db_set_loaded(dboid, false);
	(void) each_entry(dboid, -1, NULL, LW_EXCLUSIVE, NULL, NULL, true);
	interest_db_clear(dboid);
}

void
state_drop_tenant(Oid dboid, int64 tenant)
{
	Assert(tenant > 0);
	(void) each_entry(dboid, tenant, NULL, LW_EXCLUSIVE, NULL, NULL, true);
	interest_drop_tenant(dboid, tenant);
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
	int64		n = 0;
	int32		used;
	int32		e;
	int			i;

	for (i = 0; i < STATE_PARTITIONS; i++)
		LWLockAcquire(&locks[1 + i].lock, LW_SHARED);
	SpinLockAcquire(&shared->pool_lock);
	used = shared->pool_used;
	SpinLockRelease(&shared->pool_lock);
	for (e = 0; e < used; e++)
		if (entries[e].key.dboid == dboid && entries[e].decay.latest_us != DECAY_EMPTY)
			n++;
	for (i = STATE_PARTITIONS - 1; i >= 0; i--)
		LWLockRelease(&locks[1 + i].lock);
	return n;
}

/* shared memory per (entity, signal) at capacity: its entry and its share of the index */
Size
state_entry_bytes(void)
{
	return (pool_size() + index_size()) / tidal_max_entities;
}
