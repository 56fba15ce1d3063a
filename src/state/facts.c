/*
 * state/facts.c
 *    Item facts in shared memory: (database, tenant, item) -> creator,
 *    creation time, the HLC of the write they come from and, when its jsonb
 *    fits in tidal.item_metadata_bytes, the metadata.  A copy of
 *    tidal.item_data kept for tidal.retrieve, which reads the facts of
 *    10,000 candidates, or of every item, without SPI.
 *
 * The table stays the truth.  The copy follows every way it changes:
 *  - an item write that the table took (ranking/items.c: tidal.upsert_item,
 *    a replicated item, a tenant moving in) is staged here and applied at
 *    PRE_COMMIT, like the hot state's events (stage.c), by the same
 *    last-writer-wins rule (the newest HLC); a subtransaction or transaction
 *    that aborts drops it; the caller's own staged writes are overlaid on
 *    what it reads (read-your-writes);
 *  - a tenant moving out (cluster/tenant.c) stages the removal of its facts;
 *  - every rebuild of the hot state (apply/recovery.c: the first use after a
 *    start, a restore, a state transfer, tidal._reset_state, an abort after
 *    PRE_COMMIT, a write to tidal.item_data by other ways than tidal's own)
 *    clears the database's facts and loads them from the table.
 * A database's facts are usable once loaded and as long as every write
 * found room (facts_complete); when tidal.max_items is reached, a local
 * write fails with a hint, and a replicated one or a rebuild marks the
 * facts incomplete: tidal.retrieve then reads the table, as before 0.7,
 * until a rebuild fits.
 *
 * Storage, sized at server start by tidal.max_items: a pool of 64-byte
 * entries with a free list (under a spinlock), a parallel array of metadata
 * slots, and a chained hash index (bucket heads, chains through the
 * entries) whose buckets fall into FACTS_PARTITIONS partitions, each under
 * its own LWLock of the tranche "tidal item facts" (lock 0 guards the
 * per-database flags).  Lookups in bulk are grouped by partition and
 * prefetched, as the hot state's are (state.c).
 *
 * May call: core/, pg/, log/, state/.
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "core/util.h"
#include "core/vector.h"
#include "pg/jsonb_filter.h"
#include "pg/query.h"
#include "pg/settings.h"
#include "pg/xact_list.h"
#include "state/facts.h"
#include "state/interest.h"
#include "state/ownership.h"
#include "state/state.h"

#define FACTS_PARTITIONS	32	/* a power of two */
#define FACTS_MAX_DBS		64
#define FACTS_MIN_BUCKETS	1024
#define FACTS_LWLOCK_TRANCHE "tidal item facts"
#define FACTS_LWLOCKS		(1 + FACTS_PARTITIONS)	/* control, then partitions */

#define FACT_PRESENT		0x01	/* the item has a row (else only reserved) */
#define FACT_HAS_CREATOR	0x02
#define FACT_META_HELD		0x04	/* its metadata is in its slot */
#define FACT_HAS_EMBEDDING	0x08	/* its embedding is in its slot */

typedef struct FactsEntry
{
	Oid			dboid;			/* InvalidOid: free */
	int32		next;			/* the bucket's chain, or the free list; -1 ends */
	int64		tenant;
	int64		item;
	int32		pins;			/* staged writes of open transactions */
	uint8		flags;
	TidalHlc	hlc;
	int64		creator;
	TimestampTz created_at;
	uint64		arm;			/* facts_arm_of its metadata */
} FactsEntry;

typedef struct FactsDb
{
	Oid			dboid;
	bool		complete;		/* loaded, and every write since found room */
} FactsDb;

typedef struct FactsShared
{
	int			ndbs;
	FactsDb		dbs[FACTS_MAX_DBS];
	slock_t		pool_lock;
	int32		pool_used;		/* entries [0, pool_used) were handed out once */
	int32		free_head;
	pg_atomic_uint64 removals;	/* present entries removed, ever (facts_scan_tenant) */
} FactsShared;

static FactsShared *shared = NULL;
static FactsEntry *entries = NULL;	/* [tidal_max_items] */
static char *metas = NULL;		/* [tidal_max_items * meta_stride] */
static int8 *embeddings = NULL; /* [tidal_max_items * tidal_embedding_dimensions], quantized unit vectors */
static int32 *buckets = NULL;	/* [nbuckets] */
static uint32 nbuckets = 0;		/* a power of two, a multiple of FACTS_PARTITIONS */
static Size meta_stride = 0;
static LWLockPadded *locks = NULL;

#define CONTROL_LOCK		(&locks[0].lock)
#define PARTITION_OF(h)		((h) & (FACTS_PARTITIONS - 1))
#define PARTITION_LOCK(h)	(&locks[1 + PARTITION_OF(h)].lock)
#define BUCKET_OF(h)		((h) & (nbuckets - 1))
#define META_OF(e)			((Jsonb *) (metas + (Size) (e) * meta_stride))
#define EMBEDDING_OF(e)		(embeddings + (Size) (e) * tidal_embedding_dimensions)

#if defined(__GNUC__) || defined(__clang__)
#define facts_prefetch(addr)	__builtin_prefetch(addr)
#else
#define facts_prefetch(addr)	((void) (addr))
#endif

/* ---- shared memory ---- */

static uint32
compute_buckets(void)
{
	uint32		n = FACTS_MIN_BUCKETS;

	while (n < (uint32) tidal_max_items)
		n <<= 1;
	return n;
}

static Size
facts_shmem_size(void)
{
	Size		sz = MAXALIGN(sizeof(FactsShared));

	sz = add_size(sz, MAXALIGN(mul_size(tidal_max_items, sizeof(FactsEntry))));
	sz = add_size(sz, MAXALIGN(mul_size(tidal_max_items, MAXALIGN(tidal_item_metadata_bytes))));
	sz = add_size(sz, MAXALIGN(mul_size(tidal_max_items, tidal_embedding_dimensions)));
	sz = add_size(sz, MAXALIGN(mul_size(compute_buckets(), sizeof(int32))));
	return sz;
}

void
facts_shmem_request(void)
{
	RequestAddinShmemSpace(facts_shmem_size());
	RequestNamedLWLockTranche(FACTS_LWLOCK_TRANCHE, FACTS_LWLOCKS);
}

void
facts_shmem_init(void)
{
	bool		found;
	bool		found_pool;
	bool		found_meta;
	bool		found_buckets;
	bool		found_embeddings;
	uint32		i;

	nbuckets = compute_buckets();
	meta_stride = MAXALIGN(tidal_item_metadata_bytes);
	shared = ShmemInitStruct("tidal item facts control", sizeof(FactsShared), &found);
	entries = ShmemInitStruct("tidal item facts entries",
							  mul_size(tidal_max_items, sizeof(FactsEntry)), &found_pool);
	metas = ShmemInitStruct("tidal item facts metadata",
							Max(mul_size(tidal_max_items, meta_stride), 1), &found_meta);
	buckets = ShmemInitStruct("tidal item facts index", mul_size(nbuckets, sizeof(int32)),
							  &found_buckets);
	if (tidal_embedding_dimensions > 0)
		embeddings = ShmemInitStruct("tidal item facts embeddings",
									 mul_size(tidal_max_items, tidal_embedding_dimensions), &found_embeddings);
	if (!found)
	{
		memset(shared, 0, sizeof(FactsShared));
		SpinLockInit(&shared->pool_lock);
		shared->free_head = -1;
		pg_atomic_init_u64(&shared->removals, 0);
		for (i = 0; i < nbuckets; i++)
			buckets[i] = -1;
	}
	locks = GetNamedLWLockTranche(FACTS_LWLOCK_TRANCHE);
}

/* ---- entries and the index ---- */

static inline uint32
facts_hash(Oid dboid, int64 tenant, int64 item)
{
	uint64		h = tidal_mix64((uint64) item ^ tidal_mix64((uint64) tenant ^ ((uint64) dboid << 32)));

	return (uint32) (h ^ (h >> 32));
}

static inline bool
entry_is(const FactsEntry *e, Oid dboid, int64 tenant, int64 item)
{
	return e->item == item && e->tenant == tenant && e->dboid == dboid;
}

/* the entry of a key, or -1; caller holds its partition lock */
static int32
find_locked(Oid dboid, int64 tenant, int64 item, uint32 hash)
{
	int32		e = buckets[BUCKET_OF(hash)];

	while (e >= 0 && !entry_is(&entries[e], dboid, tenant, item))
		e = entries[e].next;
	return e;
}

/* find or create (not present, no pins); -1 if full; caller holds the partition lock exclusively */
static int32
enter_locked(Oid dboid, int64 tenant, int64 item, uint32 hash)
{
	int32		e = find_locked(dboid, tenant, item, hash);
	FactsEntry *fe;

	if (e >= 0)
		return e;
	SpinLockAcquire(&shared->pool_lock);
	if (shared->free_head >= 0)
	{
		e = shared->free_head;
		shared->free_head = entries[e].next;
	}
	else if (shared->pool_used < tidal_max_items)
		e = shared->pool_used++;
	SpinLockRelease(&shared->pool_lock);
	if (e < 0)
		return -1;
	fe = &entries[e];
	memset(fe, 0, sizeof(FactsEntry));
	fe->dboid = dboid;
	fe->tenant = tenant;
	fe->item = item;
	fe->next = buckets[BUCKET_OF(hash)];
	buckets[BUCKET_OF(hash)] = e;
	return e;
}

/* unlink an entry from its chain and free it; caller holds its partition lock exclusively */
static void
remove_locked(int32 e)
{
	FactsEntry *fe = &entries[e];
	int32	   *link = &buckets[BUCKET_OF(facts_hash(fe->dboid, fe->tenant, fe->item))];

	while (*link != e)
		link = &entries[*link].next;
	*link = fe->next;
	if (fe->flags & FACT_PRESENT)
		pg_atomic_fetch_add_u64(&shared->removals, 1);
	fe->dboid = InvalidOid;
	SpinLockAcquire(&shared->pool_lock);
	fe->next = shared->free_head;
	shared->free_head = e;
	SpinLockRelease(&shared->pool_lock);
}

/* the facts of a write into an entry, if they are newer; caller holds the lock exclusively */
static void
set_locked(int32 e, const TidalHlc *hlc, bool has_creator, int64 creator,
		   TimestampTz created_at, const Jsonb *metadata, uint64 arm, const int8 *embedding)
{
	FactsEntry *fe = &entries[e];

	if ((fe->flags & FACT_PRESENT) && hlc_compare(hlc, &fe->hlc) <= 0)
		return;					/* the table keeps the newer one too */
	fe->flags = FACT_PRESENT | (has_creator ? FACT_HAS_CREATOR : 0);
	fe->hlc = *hlc;
	fe->creator = has_creator ? creator : 0;
	fe->created_at = created_at;
	fe->arm = arm;
	if (metadata != NULL && VARSIZE(metadata) <= (Size) tidal_item_metadata_bytes)
	{
		memcpy(META_OF(e), metadata, VARSIZE(metadata));
		fe->flags |= FACT_META_HELD;
	}
	if (embedding != NULL && embeddings != NULL)
	{
		memcpy(EMBEDDING_OF(e), embedding, tidal_embedding_dimensions);
		fe->flags |= FACT_HAS_EMBEDDING;
	}
}

uint64
facts_arm_of_name(const char *name, int len)
{
	uint64		h = hash_bytes_extended((const unsigned char *) name, len, 0);

	return h == 0 ? 1 : h;
}

uint64
facts_arm_of(const Jsonb *metadata)
{
	static const char *const keys[] = {"topic", "source"};
	int			k;

	if (metadata == NULL || !JB_ROOT_IS_OBJECT(metadata))
		return 0;
	for (k = 0; k < (int) lengthof(keys); k++)
	{
		JsonbValue	v;

		if (getKeyJsonValueFromContainer((JsonbContainer *) &metadata->root, keys[k], strlen(keys[k]), &v) != NULL &&
			v.type == jbvString)
		{
			uint64		arm = facts_arm_of_name(v.val.string.val, v.val.string.len);

			interest_note_arm(arm, v.val.string.val, v.val.string.len);
			return arm;
		}
	}
	return 0;
}

/* an embedding (tidal.embedding_dimensions float4s, validated) as shared memory keeps it, palloc'd */
static int8 *
quantized(const float4 *embedding)
{
	int8	   *q;

	if (embedding == NULL || tidal_embedding_dimensions == 0)
		return NULL;
	q = palloc(tidal_embedding_dimensions);
	vector_quantize_unit(embedding, tidal_embedding_dimensions, q);
	return q;
}

bool
facts_item_known(int64 tenant, int64 item)
{
	uint32		hash = facts_hash(MyDatabaseId, tenant, item);
	int32		e;
	bool		known;

	LWLockAcquire(PARTITION_LOCK(hash), LW_SHARED);
	e = find_locked(MyDatabaseId, tenant, item, hash);
	known = e >= 0 && (entries[e].flags & FACT_PRESENT);
	LWLockRelease(PARTITION_LOCK(hash));
	return known;
}

bool
facts_item_vector(int64 tenant, int64 item, uint64 *arm, int8 *embedding)
{
	uint32		hash = facts_hash(MyDatabaseId, tenant, item);
	int32		e;
	bool		has = false;

	*arm = 0;
	LWLockAcquire(PARTITION_LOCK(hash), LW_SHARED);
	e = find_locked(MyDatabaseId, tenant, item, hash);
	if (e >= 0 && (entries[e].flags & FACT_PRESENT))
	{
		*arm = entries[e].arm;
		if ((entries[e].flags & FACT_HAS_EMBEDDING) && embeddings != NULL)
		{
			memcpy(embedding, EMBEDDING_OF(e), tidal_embedding_dimensions);
			has = true;
		}
	}
	LWLockRelease(PARTITION_LOCK(hash));
	return has;
}

/* every partition lock, in order, and back (a scan of the pool, a removal) */
static void
lock_partitions(LWLockMode mode)
{
	int			i;

	for (i = 0; i < FACTS_PARTITIONS; i++)
		LWLockAcquire(&locks[1 + i].lock, mode);
}

static void
unlock_partitions(void)
{
	int			i;

	for (i = FACTS_PARTITIONS - 1; i >= 0; i--)
		LWLockRelease(&locks[1 + i].lock);
}

/*
 * entries [0, pool_used) were handed out: exact while the caller holds every
 * partition lock, an estimate otherwise (facts_scan_tenant's first size)
 */
static int32
pool_used(void)
{
	int32		used;

	SpinLockAcquire(&shared->pool_lock);
	used = shared->pool_used;
	SpinLockRelease(&shared->pool_lock);
	return used;
}

/* ---- per-database flags ---- */

static FactsDb *
find_db(Oid dboid)
{
	int			i;

	for (i = 0; i < shared->ndbs; i++)
		if (shared->dbs[i].dboid == dboid)
			return &shared->dbs[i];
	return NULL;
}

/* mark a database's facts incomplete; never errors (a commit callback calls it) */
static void
set_incomplete(Oid dboid)
{
	FactsDb    *db;

	LWLockAcquire(CONTROL_LOCK, LW_EXCLUSIVE);
	if ((db = find_db(dboid)) != NULL)
		db->complete = false;
	LWLockRelease(CONTROL_LOCK);
}

bool
facts_complete(void)
{
	FactsDb    *db;
	bool		complete;

	LWLockAcquire(CONTROL_LOCK, LW_SHARED);
	db = find_db(MyDatabaseId);
	complete = db != NULL && db->complete;
	LWLockRelease(CONTROL_LOCK);
	return complete;
}

/* remove the entries of a database, or of one of its tenants (tenant -1: all) */
static void
remove_entries(Oid dboid, int64 tenant)
{
	int32		used;
	int32		e;

	lock_partitions(LW_EXCLUSIVE);
	used = pool_used();
	for (e = 0; e < used; e++)
		if (entries[e].dboid == dboid && (tenant < 0 || entries[e].tenant == tenant))
			remove_locked(e);
	unlock_partitions();
}

void
facts_db_clear(Oid dboid)
{
	FactsDb    *db;
	int			i;

	LWLockAcquire(CONTROL_LOCK, LW_EXCLUSIVE);
	db = find_db(dboid);
	if (db == NULL)
	{
		/* forget databases that were dropped, to make room */
		for (i = shared->ndbs - 1; i >= 0 && shared->ndbs == FACTS_MAX_DBS; i--)
			if (!SearchSysCacheExists1(DATABASEOID, ObjectIdGetDatum(shared->dbs[i].dboid)))
				shared->dbs[i] = shared->dbs[--shared->ndbs];
		if (shared->ndbs == FACTS_MAX_DBS)
		{
			LWLockRelease(CONTROL_LOCK);
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("tidal is in use in too many databases"),
					 errdetail("At most %d databases of one instance can use tidal.", FACTS_MAX_DBS)));
		}
		db = &shared->dbs[shared->ndbs++];
		db->dboid = dboid;
	}
	db->complete = false;		/* until facts_load has loaded every row */
	LWLockRelease(CONTROL_LOCK);
	remove_entries(dboid, -1);
}

/* ---- the rebuild: loading tidal.item_data ---- */

typedef struct LoadState
{
	int64		loaded;
	bool		full;
} LoadState;

static bool
load_row(HeapTuple tup, TupleDesc desc, void *arg)
{
	LoadState  *ls = (LoadState *) arg;
	bool		isnull;
	bool		creator_null;
	int64		tenant = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	int64		item = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
	Datum		creator = SPI_getbinval(tup, desc, 3, &creator_null);
	TimestampTz created_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 4, &isnull));
	TidalHlc	hlc = *DatumGetHlcP(SPI_getbinval(tup, desc, 5, &isnull));
	Datum		meta = SPI_getbinval(tup, desc, 6, &isnull);
	bool		no_embedding;
	Datum		embedding = SPI_getbinval(tup, desc, 7, &no_embedding);
	Jsonb	   *metadata = NULL;
	uint64		arm;
	int8	   *q = NULL;
	uint32		hash = facts_hash(MyDatabaseId, tenant, item);
	int32		e;

	/* only metadata that may fit is detoasted (the arm comes from the whole of it) */
	if (toast_raw_datum_size(meta) <= (Size) tidal_item_metadata_bytes)
		metadata = DatumGetJsonbP(meta);
	arm = facts_arm_of(metadata != NULL ? metadata : DatumGetJsonbP(meta));
	/* an embedding of the length this node is set for (a row of another is left out) */
	if (!no_embedding)
	{
		ArrayType  *a = DatumGetArrayTypeP(embedding);

		if (ARR_NDIM(a) == 1 && !array_contains_nulls(a) &&
			ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a)) == tidal_embedding_dimensions)
			q = quantized((const float4 *) ARR_DATA_PTR(a));
	}
	LWLockAcquire(PARTITION_LOCK(hash), LW_EXCLUSIVE);
	e = enter_locked(MyDatabaseId, tenant, item, hash);
	if (e >= 0)
		set_locked(e, &hlc, !creator_null, creator_null ? 0 : DatumGetInt64(creator),
				   created_at, metadata, arm, q);
	LWLockRelease(PARTITION_LOCK(hash));
	if (e < 0)
	{
		ls->full = true;
		return false;
	}
	ls->loaded++;
	return true;
}

void
facts_load(void)
{
	static OwnedQuery q = {
		"SELECT tenant, item, creator, created_at, updated_at, metadata, embedding FROM tidal.item_data",
		0, {InvalidOid}, NULL
	};
	/* SQL objects before 0.8 (a rolling update): no embeddings */
	static OwnedQuery q_before_embeddings = {
		"SELECT tenant, item, creator, created_at, updated_at, metadata, NULL::pg_catalog.float4[] FROM tidal.item_data",
		0, {InvalidOid}, NULL
	};
	LoadState	ls = {0, false};
	TidalSavedUser saved;
	FactsDb    *db;
	Oid			nsp = get_namespace_oid("tidal", true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid("item_data", nsp) : InvalidOid;

	/*
	 * A database still at an older version (this library serves it during a
	 * rolling upgrade) may have no tidal.item_data, or one without tenants:
	 * its facts stay incomplete, and tidal.retrieve reads what it has.
	 */
	if (!OidIsValid(relid) || get_attnum(relid, "tenant") == InvalidAttrNumber)
		return;
	query_begin(&saved);
	query_each_row(get_attnum(relid, "embedding") != InvalidAttrNumber ? &q : &q_before_embeddings,
				   NULL, NULL, true, load_row, &ls);
	query_end(&saved);

	if (ls.full)
	{
		ereport(WARNING,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("tidal's item facts are full: tidal.retrieve reads items from tidal.item_data"),
				 errdetail("Shared memory holds the facts of %d items, over all databases; this database has more than the " INT64_FORMAT " that fitted.",
						   tidal_max_items, ls.loaded),
				 errhint("Increase tidal.max_items and restart the server.")));
		return;					/* the database stays incomplete */
	}
	LWLockAcquire(CONTROL_LOCK, LW_EXCLUSIVE);
	if ((db = find_db(MyDatabaseId)) != NULL)
		db->complete = true;
	LWLockRelease(CONTROL_LOCK);
}

/* ---- staging until commit ---- */

typedef struct StagedFacts
{
	XactListItem link;
	Oid			dboid;
	bool		drop_tenant;	/* remove the tenant's facts (else: one item's write) */
	bool		reserved;		/* its entry is pinned */
	int64		tenant;
	int64		item;
	TidalHlc	hlc;
	bool		has_creator;
	int64		creator;
	TimestampTz created_at;
	Jsonb	   *metadata;		/* in TopTransactionContext */
	uint64		arm;
	int8	   *embedding;		/* quantized, in TopTransactionContext; or NULL */
} StagedFacts;

static void facts_at_xact(XactEvent event, List *items);
static void facts_drop(XactListItem *item);

static XactList staged = XACT_LIST_INIT(facts_at_xact, facts_drop, NULL);
static bool applied_early = false;	/* applied at PRE_COMMIT, not yet committed */

/* drop a staged write's pin; an entry only it reserved goes back to the pool */
static void
unpin(StagedFacts *sf)
{
	uint32		hash;
	int32		e;

	if (sf->drop_tenant || !sf->reserved)
		return;
	hash = facts_hash(sf->dboid, sf->tenant, sf->item);
	LWLockAcquire(PARTITION_LOCK(hash), LW_EXCLUSIVE);
	e = find_locked(sf->dboid, sf->tenant, sf->item, hash);
	if (e >= 0)
	{
		if (entries[e].pins > 0)
			entries[e].pins--;
		if (entries[e].pins == 0 && !(entries[e].flags & FACT_PRESENT))
			remove_locked(e);
	}
	LWLockRelease(PARTITION_LOCK(hash));
	sf->reserved = false;
}

/* at PRE_COMMIT: nothing here may fail (see stage.c) */
static void
apply_staged(StagedFacts *sf)
{
	uint32		hash;
	int32		e;

	if (sf->drop_tenant)
	{
		remove_entries(sf->dboid, sf->tenant);
		return;
	}
	hash = facts_hash(sf->dboid, sf->tenant, sf->item);
	LWLockAcquire(PARTITION_LOCK(hash), LW_EXCLUSIVE);
	/* reserved unless the facts were full (or a rebuild in this transaction cleared them) */
	e = enter_locked(sf->dboid, sf->tenant, sf->item, hash);
	if (e >= 0)
	{
		if (sf->reserved && entries[e].pins > 0)
			entries[e].pins--;
		set_locked(e, &sf->hlc, sf->has_creator, sf->creator, sf->created_at, sf->metadata,
				   sf->arm, sf->embedding);
	}
	LWLockRelease(PARTITION_LOCK(hash));
	sf->reserved = false;
	if (e < 0)
		set_incomplete(sf->dboid);
}

static void
facts_at_xact(XactEvent event, List *items)
{
	ListCell   *lc;

	switch (event)
	{
		case XACT_EVENT_PRE_PREPARE:
			if (items != NIL)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot PREPARE a transaction that has written tidal items")));
			break;
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PARALLEL_PRE_COMMIT:
			foreach(lc, items)
				apply_staged((StagedFacts *) lfirst(lc));
			applied_early = items != NIL;
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			applied_early = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			if (applied_early)
			{
				/* taken at PRE_COMMIT, then aborted: reload from the table */
				set_incomplete(MyDatabaseId);
				state_db_set_loaded(MyDatabaseId, false);
				applied_early = false;
			}
			else
				foreach(lc, items)
					unpin((StagedFacts *) lfirst(lc));
			break;
		default:
			break;
	}
}

/* a write of a subtransaction that rolled back never counts */
static void
facts_drop(XactListItem *item)
{
	unpin((StagedFacts *) item);
}

void
facts_stage_item(int64 tenant, int64 item, const TidalHlc *hlc, bool has_creator, int64 creator,
				 TimestampTz created_at, Jsonb *metadata, const float4 *embedding, bool local)
{
	StagedFacts *sf;
	uint32		hash = facts_hash(MyDatabaseId, tenant, item);
	int32		e;
	MemoryContext old;

	sf = (StagedFacts *) xact_list_alloc(sizeof(StagedFacts));
	sf->dboid = MyDatabaseId;
	sf->tenant = tenant;
	sf->item = item;
	sf->hlc = *hlc;
	sf->has_creator = has_creator;
	sf->creator = creator;
	sf->created_at = created_at;
	sf->metadata = (Jsonb *) MemoryContextAlloc(TopTransactionContext, VARSIZE(metadata));
	memcpy(sf->metadata, metadata, VARSIZE(metadata));
	sf->arm = facts_arm_of(metadata);
	old = MemoryContextSwitchTo(TopTransactionContext);
	sf->embedding = quantized(embedding);
	MemoryContextSwitchTo(old);
	/* listed before reserving, so that an error after it releases the pin */
	xact_list_append(&staged, &sf->link);

	LWLockAcquire(PARTITION_LOCK(hash), LW_EXCLUSIVE);
	e = enter_locked(MyDatabaseId, tenant, item, hash);
	if (e >= 0)
	{
		entries[e].pins++;
		sf->reserved = true;
	}
	LWLockRelease(PARTITION_LOCK(hash));
	if (e >= 0)
		return;
	if (local)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("tidal's item facts are full"),
				 errdetail("Shared memory holds the facts of %d items, over all databases.", tidal_max_items),
				 errhint("Increase tidal.max_items and restart the server.")));
	ereport(WARNING,
			(errcode(ERRCODE_OUT_OF_MEMORY),
			 errmsg("tidal's item facts are full: tidal.retrieve reads items from tidal.item_data"),
			 errdetail("Shared memory holds the facts of %d items, over all databases.", tidal_max_items),
			 errhint("Increase tidal.max_items and restart the server.")));
}

void
facts_stage_drop_tenant(int64 tenant)
{
	StagedFacts *sf = (StagedFacts *) xact_list_add(&staged, sizeof(StagedFacts));

	sf->dboid = MyDatabaseId;
	sf->drop_tenant = true;
	sf->tenant = tenant;
}

/* ---- reads ---- */

/* an entry into out; caller holds its partition lock */
static void
read_locked(int32 e, JsonbFilter *filter, ItemFactsRead *out)
{
	const FactsEntry *fe = &entries[e];

	out->found = (fe->flags & FACT_PRESENT) != 0;
	if (!out->found)
	{
		out->matches = filter == NULL;
		return;
	}
	out->has_creator = (fe->flags & FACT_HAS_CREATOR) != 0;
	out->creator = fe->creator;
	out->created_at = fe->created_at;
	out->hlc = fe->hlc;
	if (filter == NULL)
		out->matches = 1;
	else if (!(fe->flags & FACT_META_HELD))
		out->matches = -1;
	else
		out->matches = jsonb_filter_matches(filter, META_OF(e));
}

/* this transaction's staged writes of a tenant: item -> the newest */
typedef struct OverlayEntry
{
	int64		item;
	StagedFacts *sf;
} OverlayEntry;

/*
 * The overlay of this transaction's staged writes for a tenant, or NULL if
 * it has none; *dropped: the tenant's facts were removed in this
 * transaction (the overlay then holds only the writes after that).
 */
static HTAB *
overlay_build(int64 tenant, bool *dropped)
{
	HTAB	   *ov = NULL;
	ListCell   *lc;

	*dropped = false;
	foreach(lc, xact_list_items(&staged))
	{
		StagedFacts *sf = (StagedFacts *) lfirst(lc);
		OverlayEntry *oe;
		bool		found;

		if (sf->dboid != MyDatabaseId || sf->tenant != tenant)
			continue;
		if (sf->drop_tenant)
		{
			*dropped = true;
			if (ov != NULL)
				hash_destroy(ov);
			ov = NULL;
			continue;
		}
		if (ov == NULL)
		{
			HASHCTL		ctl;

			memset(&ctl, 0, sizeof(ctl));
			ctl.keysize = sizeof(int64);
			ctl.entrysize = sizeof(OverlayEntry);
			ctl.hcxt = CurrentMemoryContext;
			ov = hash_create("tidal staged item facts", 64, &ctl,
							 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		}
		oe = hash_search(ov, &sf->item, HASH_ENTER, &found);
		if (!found || hlc_compare(&sf->hlc, &oe->sf->hlc) > 0)
			oe->sf = sf;
	}
	return ov;
}

/* a staged write over what shared memory said, if it is newer */
static void
overlay_one(const StagedFacts *sf, JsonbFilter *filter, ItemFactsRead *out)
{
	if (out->found && hlc_compare(&sf->hlc, &out->hlc) <= 0)
		return;
	out->found = true;
	out->has_creator = sf->has_creator;
	out->creator = sf->creator;
	out->created_at = sf->created_at;
	out->hlc = sf->hlc;
	out->matches = filter == NULL ? 1 : jsonb_filter_matches(filter, sf->metadata);
}

static void
not_found(int64 item, JsonbFilter *filter, ItemFactsRead *out)
{
	memset(out, 0, sizeof(*out));
	out->item = item;
	out->matches = filter == NULL;
}

/*
 * facts_lookup_many: grouped by partition (a counting sort), every bucket
 * head prefetched as the lookups are sorted, then in a partition's turn,
 * under its lock, every chain's first entry prefetched before the lookups
 * are made -- two waits for memory overlapped across the lookups instead
 * of paid one after another (see state_visit_many).
 */
void
facts_lookup_many(int64 tenant, const int64 *items, int n, Jsonb *filter_arg, ItemFactsRead *out)
{
	JsonbFilter *filter = jsonb_filter_prepare(filter_arg);
	uint32	   *hashes = palloc(sizeof(uint32) * Max(n, 1));
	int32	   *order = palloc(sizeof(int32) * Max(n, 1));
	int32	   *first = palloc(sizeof(int32) * Max(n, 1));
	int			start[FACTS_PARTITIONS + 1];
	bool		dropped;
	HTAB	   *ov;
	int			part;
	int			i;

	memset(start, 0, sizeof(start));
	for (i = 0; i < n; i++)
	{
		hashes[i] = facts_hash(MyDatabaseId, tenant, items[i]);
		start[PARTITION_OF(hashes[i]) + 1]++;
		not_found(items[i], filter, &out[i]);
	}
	for (part = 0; part < FACTS_PARTITIONS; part++)
		start[part + 1] += start[part];
	for (i = 0; i < n; i++)
	{
		order[start[PARTITION_OF(hashes[i])]++] = i;
		facts_prefetch(&buckets[BUCKET_OF(hashes[i])]);
	}
	i = 0;
	for (part = 0; part < FACTS_PARTITIONS; part++)
	{
		int			end = start[part];
		int			k;

		if (i == end)
			continue;
		LWLockAcquire(&locks[1 + part].lock, LW_SHARED);
		for (k = i; k < end; k++)
		{
			first[k] = buckets[BUCKET_OF(hashes[order[k]])];
			if (first[k] >= 0)
				facts_prefetch(&entries[first[k]]);
		}
		for (; i < end; i++)
		{
			int			j = order[i];
			int32		e = first[i];

			while (e >= 0 && !entry_is(&entries[e], MyDatabaseId, tenant, items[j]))
				e = entries[e].next;
			if (e >= 0)
				read_locked(e, filter, &out[j]);
		}
		LWLockRelease(&locks[1 + part].lock);
	}
	pfree(hashes);
	pfree(order);
	pfree(first);

	/* the caller's own staged writes */
	ov = overlay_build(tenant, &dropped);
	if (ov != NULL || dropped)
		for (i = 0; i < n; i++)
		{
			OverlayEntry *oe = ov ? hash_search(ov, &items[i], HASH_FIND, NULL) : NULL;

			if (dropped)
				not_found(items[i], filter, &out[i]);
			if (oe != NULL)
				overlay_one(oe->sf, filter, &out[i]);
		}
	if (ov != NULL)
		hash_destroy(ov);
	jsonb_filter_free(filter);
}

/*
 * facts_scan_tenant: the pool read in order, a chunk at a time under every
 * partition lock (shared: writers wait, readers do not), with
 * CHECK_FOR_INTERRUPTS between chunks.  An entry keeps its place in the
 * pool from its creation to its removal, so that a scan in chunks sees
 * every item once -- unless an item's entry was removed meanwhile (a tenant
 * moved out, a rebuild) and came back in another place: shared->removals
 * says so, and the scan starts again.
 */
#define SCAN_CHUNK 65536

int
facts_scan_tenant(int64 tenant, Jsonb *filter_arg, int32 only_shard, int max, ItemFactsRead **result)
{
	const ShardMap *map = (only_shard >= 0 && tenant == 0) ? ownership_map() : NULL;
	JsonbFilter *filter = jsonb_filter_prepare(filter_arg);
	int			cap;
	int			n;
	ItemFactsRead *out;
	bool		dropped;
	HTAB	   *ov = overlay_build(tenant, &dropped);
	uint64		removals = 0;
	int32		used;
	int32		e;

	/*
	 * Room for the whole pool up to SCAN_CHUNK entries: growing the array
	 * while scanning copied it into fresh pages, a fifth of a 10,000-item
	 * retrieve's time.  (An estimate: pool_used reads under its spinlock.)
	 */
	cap = Max(Min(pool_used(), SCAN_CHUNK), 1024);
	out = palloc(sizeof(ItemFactsRead) * cap);
restart:
	n = 0;
	e = 0;
	used = 1;
	while (e < used && !dropped && n <= max)
	{
		int32		chunk_end;

		lock_partitions(LW_SHARED);
		if (e == 0)
			removals = pg_atomic_read_u64(&shared->removals);
		else if (pg_atomic_read_u64(&shared->removals) != removals)
		{
			unlock_partitions();
			CHECK_FOR_INTERRUPTS();
			goto restart;
		}
		used = pool_used();
		chunk_end = (int32) Min((int64) e + SCAN_CHUNK, (int64) used);
		for (; e < chunk_end; e++)
		{
			const FactsEntry *fe = &entries[e];

			if (fe->tenant != tenant || fe->dboid != MyDatabaseId || !(fe->flags & FACT_PRESENT))
				continue;
			if (map != NULL && shardmap_owner(map, fe->item) != only_shard)
				continue;		/* another shard ranks it */
			if (ov != NULL && hash_search(ov, &fe->item, HASH_FIND, NULL) != NULL)
				continue;		/* written in this transaction: below */
			if (n == max)
			{
				n = max + 1;
				break;
			}
			if (n == cap)
			{
				cap = (int) Min((Size) cap * 2, MaxAllocSize / sizeof(ItemFactsRead));
				out = repalloc(out, sizeof(ItemFactsRead) * cap);
			}
			out[n].item = fe->item;
			read_locked(e, filter, &out[n]);
			n++;
		}
		unlock_partitions();
		CHECK_FOR_INTERRUPTS();
	}
	if (n > max)
	{
		jsonb_filter_free(filter);
		return -1;
	}

	/* the caller's own staged writes: over shared memory's facts, or new */
	if (ov != NULL)
	{
		HASH_SEQ_STATUS scan;
		OverlayEntry *oe;

		hash_seq_init(&scan, ov);
		while ((oe = hash_seq_search(&scan)) != NULL)
		{
			ItemFactsRead base;
			uint32		hash = facts_hash(MyDatabaseId, tenant, oe->item);

			not_found(oe->item, filter, &base);
			if (!dropped)
			{
				LWLockAcquire(PARTITION_LOCK(hash), LW_SHARED);
				e = find_locked(MyDatabaseId, tenant, oe->item, hash);
				if (e >= 0)
					read_locked(e, filter, &base);
				LWLockRelease(PARTITION_LOCK(hash));
			}
			overlay_one(oe->sf, filter, &base);
			if (n == max)
			{
				hash_seq_term(&scan);
				jsonb_filter_free(filter);
				return -1;
			}
			if (n == cap)
			{
				cap = cap * 2;
				out = repalloc(out, sizeof(ItemFactsRead) * cap);
			}
			out[n++] = base;
		}
		hash_destroy(ov);
	}
	jsonb_filter_free(filter);
	*result = out;
	return n;
}

int64
facts_count(Oid dboid)
{
	int64		n = 0;
	int32		used;
	int32		e;

	lock_partitions(LW_SHARED);
	used = pool_used();
	for (e = 0; e < used; e++)
		if (entries[e].dboid == dboid && (entries[e].flags & FACT_PRESENT))
			n++;
	unlock_partitions();
	return n;
}
