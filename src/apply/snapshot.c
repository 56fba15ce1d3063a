/*
 * apply/snapshot.c
 *    Owns snapshots of the hot state: tidal.snapshot_heads (one row per
 *    snapshot: what it covers of every origin, its newest HLC) and
 *    tidal.snapshot_chunks (its content, chunks of one tenant each, in the
 *    format of core/snapfmt.c).
 *
 * A snapshot is not copied from the live hot state, which writers change
 * while it would be read, but folded from the log: the newest valid
 * snapshot, loaded into private memory, plus every batch sealed or received
 * after its marks, read in one MVCC snapshot.  So it covers exactly the
 * batches up to its marks, and nothing of a transaction that has not
 * committed; writers never wait for it.  The records not yet sealed are
 * not in it: a rebuild replays them after it, as it replays the batches
 * after its marks.
 *
 * What a snapshot holds, besides every entity's DecayState: the writes made
 * with an idempotency key in the last tidal.idempotency_window before its
 * newest HLC, undecided, with the last counted write of each such key, so
 * that a duplicate arriving later is recognised as it is by a rebuild from
 * the whole log; and the signal records of signals not defined yet, kept
 * verbatim, applied by a later fold or rebuild once their definition
 * arrives.  Records of tenants stored in other regions are not in it.
 *
 * Every chunk is checksummed, and a snapshot is used only if all its chunks
 * are there and pass: otherwise the one before it is tried (and the log, if
 * it was never compacted), and the server log says so.
 *
 * May call: core/, pg/, log/, state/, replication/, cluster/, signals/,
 * ranking/, apply/.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "apply/snapshot.h"
#include "cluster/residency.h"
#include "cluster/tenant.h"
#include "core/snapfmt.h"
#include "pg/query.h"
#include "pg/settings.h"
#include "pg/subxact.h"
#include "state/clock.h"
#include "state/interest.h"
#include "state/recovery.h"
#include "state/ownership.h"
#include "state/state.h"

#define SNAP_CHUNK_ENTRIES	4096
#define SNAP_CHUNK_BYTES	(1024 * 1024)

typedef struct SnapHead
{
	int64		id;
	LogMarks	marks;
	TidalHlc	max_hlc;
	int32		chunks;
} SnapHead;

/* states of n entities of one (tenant, signal), as a chunk holds them */
typedef void (*snap_state_fn) (int64 tenant, const SignalDef *def, const int64 *entities,
							   const DecayState *states, int n, void *arg);

#define LOAD_GROUP 256

/* ---- reading ---- */

static int64 *
int8_array(ArrayType *a, int *n)
{
	*n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	return (int64 *) ARR_DATA_PTR(a);
}

static int32 *
int4_array(ArrayType *a, int *n)
{
	*n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	return (int32 *) ARR_DATA_PTR(a);
}

/*
 * Do this database's tidal objects have snapshots?  Not before 0.6: during
 * a rolling upgrade this library serves older versions' objects, which
 * rebuild from the log alone and are never compacted.
 */
static bool
snapshots_exist(void)
{
	return OidIsValid(RangeVarGetRelid(makeRangeVar("tidal", "snapshot_heads", -1), NoLock, true));
}

/* every snapshot's head, newest first, in the caller's memory */
static List *
read_heads(void)
{
	static OwnedQuery q = {
		"SELECT snapshot_id, origin_region, origin_shard, origin_batch, origin_seq, "
		"       tidal.hlc_wall_ns(max_hlc), tidal.hlc_logical(max_hlc), tidal.hlc_node(max_hlc), chunks, "
		/* origin_node (0.8; NULL before, and in a head taken before: every origin is node 0) */
		"       CASE WHEN pg_catalog.jsonb_typeof(pg_catalog.to_jsonb(h) OPERATOR(pg_catalog.->) 'origin_node') = 'array' "
		"            THEN ARRAY(SELECT n::pg_catalog.int4 FROM pg_catalog.jsonb_array_elements_text("
		"                 pg_catalog.to_jsonb(h) OPERATOR(pg_catalog.->) 'origin_node') n) END "
		"  FROM tidal.snapshot_heads h ORDER BY snapshot_id DESC",
		0, {InvalidOid}, NULL
	};
	MemoryContext caller = CurrentMemoryContext;
	List	   *heads = NIL;
	TidalSavedUser saved;
	uint64		r;

	if (!snapshots_exist())
		return NIL;
	query_begin(&saved);
	query_exec(&q, NULL, NULL, true, SPI_OK_SELECT);
	for (r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		MemoryContext old = MemoryContextSwitchTo(caller);
		SnapHead   *h = palloc0(sizeof(SnapHead));
		int			n[5];
		Datum		node_d = SPI_getbinval(tup, desc, 10, &isnull);
		int32	   *nodes = isnull ? NULL : int4_array(DatumGetArrayTypeP(node_d), &n[4]);
		int32	   *regions = int4_array(DatumGetArrayTypeP(SPI_getbinval(tup, desc, 2, &isnull)), &n[0]);
		int32	   *shards = int4_array(DatumGetArrayTypeP(SPI_getbinval(tup, desc, 3, &isnull)), &n[1]);
		int64	   *batches = int8_array(DatumGetArrayTypeP(SPI_getbinval(tup, desc, 4, &isnull)), &n[2]);
		int64	   *seqs = int8_array(DatumGetArrayTypeP(SPI_getbinval(tup, desc, 5, &isnull)), &n[3]);
		int			i;

		h->id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		h->max_hlc.wall_ns = DatumGetInt64(SPI_getbinval(tup, desc, 6, &isnull));
		h->max_hlc.logical = DatumGetInt32(SPI_getbinval(tup, desc, 7, &isnull));
		h->max_hlc.node = DatumGetInt32(SPI_getbinval(tup, desc, 8, &isnull));
		h->chunks = DatumGetInt32(SPI_getbinval(tup, desc, 9, &isnull));
		if (n[0] != n[1] || n[0] != n[2] || n[0] != n[3] || (nodes != NULL && n[0] != n[4]))
			h->chunks = -1;		/* malformed marks: never usable */
		else
			for (i = 0; i < n[0]; i++)
			{
				LogMark    *m = log_marks_add(&h->marks, regions[i], shards[i], nodes ? nodes[i] : 0);

				m->batch_no = batches[i];
				m->last_seq = seqs[i];
			}
		heads = lappend(heads, h);
		MemoryContextSwitchTo(old);
	}
	query_end(&saved);
	return heads;
}

/* the signal of a chunk, defined here with the same decay; NULL and *why if not */
static const SignalDef *
chunk_signal(const SnapChunk *c, const char **why)
{
	const SignalDef *def = catalog_signal_n(c->name, c->name_len, true);
	int			i;

	if (def == NULL)
	{
		*why = "it holds a signal that is not defined here";
		return NULL;
	}
	if ((int64) def->spec.half_life_us != c->half_life_us || def->spec.nwindows != c->nwindows)
	{
		*why = "a signal's definition differs from the one it was taken with";
		return NULL;
	}
	for (i = 0; i < c->nwindows; i++)
		if (def->spec.window_us[i] != c->window_us[i])
		{
			*why = "a signal's windows differ from the ones it was taken with";
			return NULL;
		}
	return def;
}

static bool
stored_here(int64 tenant)
{
	TenantInfo	info;

	return tenant == 0 || (tenant_lookup(tenant, &info) && info.stored_here);
}

static void load_interests(int64 tenant, const SignalDef *def, SnapCursor *cur, void *arg,
						   const char **why);

/*
 * one chunk's content, to state (states), replay->keyed (keyed), replay
 * (records), or the interests (the fold's when arg is one, else the live
 * ones: load_interests)
 */
static bool
load_chunk(const SnapChunk *c, Replay *replay, snap_state_fn state, void *arg, const char **why)
{
	const SignalDef *def = NULL;
	SnapCursor	cur;

	if (!stored_here(c->tenant))
		return true;			/* moved out since: not ours to load */
	if (c->kind == SNAP_CHUNK_RECORDS)
	{
		const char *p = c->body;
		const char *end = c->body + c->body_len;
		uint32		n = 0;

		while (p < end)
		{
			LogRecord	rec;
			Size		consumed;

			if (!codec_read_record(p, end - p, &consumed, &rec, why))
				return false;
			replay_record(&rec, replay);
			p += consumed;
			n++;
		}
		if (n != c->count)
		{
			*why = "a chunk's record count is wrong";
			return false;
		}
		return true;
	}

	if ((def = chunk_signal(c, why)) == NULL)
		return false;
	snapfmt_cursor(c, &cur);
	if (c->kind == SNAP_CHUNK_INTERESTS)
		load_interests(c->tenant, def, &cur, arg, why);
	else if (c->kind == SNAP_CHUNK_STATES)
	{
		int64		entities[LOAD_GROUP];
		DecayState *states = palloc(sizeof(DecayState) * LOAD_GROUP);
		int			n = 0;

		while (snapfmt_next_state(&cur, &entities[n], &states[n], why))
		{
			/* a range this shard handed over since the snapshot was taken: not ours any more */
			if (c->tenant == 0 && ownership_cut_to(entities[n]) >= 0)
				continue;
			if (++n == LOAD_GROUP)
			{
				state(c->tenant, def, entities, states, n, arg);
				n = 0;
			}
		}
		if (n > 0 && *why == NULL)
			state(c->tenant, def, entities, states, n, arg);
		pfree(states);
	}
	else
	{
		SnapKeyed	k;

		while (snapfmt_next_keyed(&cur, &k, why))
		{
			IdemHeld	h;

			h.key = pnstrdup(k.key, k.key_len);
			h.tenant = c->tenant;
			h.hlc = k.hlc;
			h.signal_id = def->id;
			h.spec = def->spec;
			h.entity = k.entity;
			h.weight = k.weight;
			h.at_us = k.at_us;
			h.anchor = (k.flags & SNAP_KEYED_ANCHOR) != 0;
			/* handed over since: the key still recognises a retry, the event counts at its new shard */
			if (c->tenant == 0 && ownership_cut_to(k.entity) >= 0)
				h.anchor = true;
			idem_replay_add_held(replay->keyed, &h);
			pfree(h.key);
		}
	}
	return *why == NULL;
}

/* what loading a snapshot carries from chunk to chunk (load_row) */
typedef struct LoadScan
{
	Replay	   *replay;
	snap_state_fn state;
	void	   *arg;
	int32		expect;			/* chunk numbers rise; they may have gaps (a moved tenant's were dropped) */
	int32		nchunks;
	const char *why;
	bool		ok;
} LoadScan;

static bool
load_row(HeapTuple tup, TupleDesc desc, void *arg)
{
	LoadScan   *scan = (LoadScan *) arg;
	bool		isnull;
	int32		chunk_no = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
	bytea	   *b = DatumGetByteaPP(SPI_getbinval(tup, desc, 2, &isnull));
	SnapChunk	c;

	if (chunk_no < scan->expect)
	{
		scan->why = "chunks out of order";
		scan->ok = false;
	}
	else if (!snapfmt_read_chunk(VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b), &c, &scan->why))
		scan->ok = false;
	else
		scan->ok = load_chunk(&c, scan->replay, scan->state, scan->arg, &scan->why);
	scan->expect = chunk_no + 1;
	scan->nchunks++;
	return scan->ok;
}

/* load every chunk of a snapshot; false and *why at the first that fails */
static bool
load_snapshot(const SnapHead *head, Replay *replay, snap_state_fn state, void *arg,
			  const char **why)
{
	static OwnedQuery q = {
		"SELECT chunk_no, chunk FROM tidal.snapshot_chunks WHERE snapshot_id = $1 ORDER BY chunk_no",
		1, {INT8OID}, NULL
	};
	Datum		args[1] = {Int64GetDatum(head->id)};
	LoadScan	scan = {replay, state, arg, 0, 0, NULL, true};
	TidalSavedUser saved;

	*why = NULL;
	if (head->chunks < 0)
	{
		*why = "its marks are malformed";
		return false;
	}
	query_begin(&saved);
	query_each_row(&q, args, NULL, true, load_row, &scan);
	query_end(&saved);
	if (scan.ok && scan.nchunks != head->chunks)
	{
		scan.why = "a chunk is missing";
		scan.ok = false;
	}
	*why = scan.why;
	return scan.ok;
}

/* load_snapshot's arguments and result, for subxact_try */
typedef struct LoadCall
{
	const SnapHead *head;
	Replay	   *replay;
	snap_state_fn state;
	void	   *arg;
	const char *why;
	bool		ok;
} LoadCall;

static void
load_call(void *arg)
{
	LoadCall   *c = (LoadCall *) arg;

	c->ok = load_snapshot(c->head, c->replay, c->state, c->arg, &c->why);
}

/*
 * load_snapshot in a subtransaction: a snapshot whose pages cannot even be
 * read (a damaged TOAST chunk, say) is as unusable as one that fails its
 * checksums, and must not take the rebuild down with it.
 */
static bool
try_load_snapshot(const SnapHead *head, Replay *replay, snap_state_fn state, void *arg,
				  const char **why)
{
	LoadCall	call = {head, replay, state, arg, NULL, false};
	ErrorData  *edata = subxact_try(load_call, &call);

	if (edata != NULL)
	{
		*why = psprintf("reading it failed: %s", edata->message);
		FreeErrorData(edata);
		return false;
	}
	*why = call.why;
	return call.ok;
}

bool
snapshot_log_compacted(void)
{
	static OwnedQuery q = {
		"SELECT EXISTS (SELECT FROM tidal.origins WHERE compacted_batch > 0)", 0, {InvalidOid}, NULL
	};
	bool		compacted;
	bool		isnull;
	TidalSavedUser saved;

	if (!snapshots_exist())
		return false;
	query_begin(&saved);
	query_exec(&q, NULL, NULL, true, SPI_OK_SELECT);
	compacted = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	query_end(&saved);
	return compacted;
}

/* ---- into the live hot state (a rebuild) ---- */

static void
live_state(int64 tenant, const SignalDef *def, const int64 *entities, const DecayState *states,
		   int n, void *arg)
{
	(void) arg;
	if (!state_install_many(MyDatabaseId, def->id, tenant, entities, states, n))
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("tidal hot state is full"),
				 errhint("Increase tidal.max_entities and restart the server.")));
}

bool
snapshot_load_live(Replay *replay, const ReplaySink *sink, LogMarks *marks, TidalHlc *max_hlc,
				   int64 *id)
{
	List	   *heads = read_heads();
	ListCell   *lc;

	foreach(lc, heads)
	{
		SnapHead   *h = (SnapHead *) lfirst(lc);
		const char *why;

		replay_begin(replay, sink);
		if (try_load_snapshot(h, replay, live_state, NULL, &why))
		{
			*marks = h->marks;
			*max_hlc = h->max_hlc;
			*id = h->id;
			return true;
		}
		ereport(WARNING,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("tidal snapshot " INT64_FORMAT " cannot be used: %s", h->id, why),
				 errdetail(lnext(heads, lc) != NULL ? "The snapshot before it is tried instead."
						   : "The state is rebuilt from the log alone, which needs a log never compacted.")));
		state_db_clear(MyDatabaseId);
	}
	replay_begin(replay, sink);
	memset(marks, 0, sizeof(*marks));
	memset(max_hlc, 0, sizeof(*max_hlc));
	return false;
}

/* ---- the fold (taking a snapshot) ---- */

typedef struct FoldKey
{
	int32		signal_id;
	int32		pad;
	int64		tenant;
	int64		entity;
} FoldKey;

typedef struct FoldEntry
{
	FoldKey		key;
	DecayState	state;
} FoldEntry;

typedef struct Deferred
{
	int64		tenant;
	Size		len;
	char		data[FLEXIBLE_ARRAY_MEMBER];
} Deferred;

/*
 * What identifies a record of another kind than signal events: the records
 * a merge would keep one of (the latest item, profile or registration, the
 * first definition of a signal, the latest hide and unhide of a target, each
 * step of a migration).
 */
typedef struct OtherKey
{
	uint8		kind;
	uint8		action;
	uint8		target_kind;
	uint8		step;
	int32		name_len;
	int64		tenant;
	int64		a;
	int64		b;
	char		name[SIGNAL_NAME_MAXLEN + 1];
} OtherKey;

typedef struct OtherEntry
{
	OtherKey	key;
	TidalHlc	hlc;
	Deferred   *rec;
} OtherEntry;

/* a fold's interest entry: its key, then its sum */
#define FOLD_INTEREST_SUM_OFFSET	MAXALIGN(sizeof(InterestKey))
#define FOLD_INTEREST_SUM(e)		((DecayVector *) ((char *) (e) + FOLD_INTEREST_SUM_OFFSET))

typedef struct Fold
{
	MemoryContext cxt;
	HTAB	   *states;
	HTAB	   *others;			/* OtherEntry: the winning records of other kinds */
	HTAB	   *interests;		/* InterestKey (dboid 0), then a DecayVector: users' interest sums */
	List	   *deferred;		/* Deferred * */
	List	   *kept;			/* IdemHeld *, keyed writes not decided yet */
} Fold;

static void
fold_init(Fold *f)
{
	HASHCTL		ctl;

	f->cxt = AllocSetContextCreate(CurrentMemoryContext, "tidal snapshot fold",
								   ALLOCSET_DEFAULT_SIZES);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(FoldKey);
	ctl.entrysize = sizeof(FoldEntry);
	ctl.hcxt = f->cxt;
	f->states = hash_create("tidal snapshot fold", 65536, &ctl,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(OtherKey);
	ctl.entrysize = sizeof(OtherEntry);
	ctl.hcxt = f->cxt;
	f->others = hash_create("tidal snapshot records", 1024, &ctl,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(InterestKey);
	ctl.entrysize = FOLD_INTEREST_SUM_OFFSET + interest_sum_size();
	ctl.hcxt = f->cxt;
	f->interests = hash_create("tidal snapshot interests", 1024, &ctl,
							   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	f->deferred = NIL;
	f->kept = NIL;
}

static FoldEntry *
fold_entry(Fold *f, int32 signal_id, int64 tenant, int64 entity)
{
	FoldKey		key;
	FoldEntry  *e;
	bool		found;

	memset(&key, 0, sizeof(key));
	key.signal_id = signal_id;
	key.tenant = tenant;
	key.entity = entity;
	e = hash_search(f->states, &key, HASH_ENTER, &found);
	if (!found)
		decay_init(&e->state);
	return e;
}

static Deferred *
copy_record(MemoryContext cxt, const LogRecord *rec)
{
	Deferred   *d = MemoryContextAlloc(cxt, offsetof(Deferred, data) + rec->raw_len);

	/* definitions and the registry belong to every region: kept as tenant 0's */
	d->tenant = (rec->kind == LOG_RECORD_TENANT || rec->kind == LOG_RECORD_MIGRATION) ? 0 : rec->tenant;
	d->len = rec->raw_len;
	memcpy(d->data, rec->raw, rec->raw_len);
	return d;
}

static void
fold_state(int64 tenant, const SignalDef *def, const int64 *entities, const DecayState *states,
		   int n, void *arg)
{
	int			i;

	for (i = 0; i < n; i++)
		fold_entry((Fold *) arg, def->id, tenant, entities[i])->state = states[i];
}

/* the fold's sum of one (signal, tenant, user, arm), created empty */
static DecayVector *
fold_interest(Fold *f, int32 signal_id, int64 tenant, int64 user, uint64 arm)
{
	InterestKey key;
	char	   *e;
	bool		found;

	interest_key_init(&key, InvalidOid, signal_id, tenant, user, arm);
	e = hash_search(f->interests, &key, HASH_ENTER, &found);
	if (!found)
		decay_vector_init(FOLD_INTEREST_SUM(e), tidal_embedding_dimensions);
	return FOLD_INTEREST_SUM(e);
}

/*
 * An interests chunk's sums: into the fold (arg), or the live interests
 * (arg NULL, a rebuild's load, as live_state ignores its arg).
 */
static void
load_interests(int64 tenant, const SignalDef *def, SnapCursor *cur, void *arg, const char **why)
{
	int			dims = tidal_embedding_dimensions;
	DecayVector *v = palloc(DECAY_VECTOR_SIZE(dims));
	int64		user;
	uint64		arm;

	while (snapfmt_next_interest(cur, dims, &user, &arm, v, why))
	{
		if (arg != NULL)
			decay_vector_merge(fold_interest((Fold *) arg, def->id, tenant, user, arm), dims,
							   def->spec.half_life_us, v);
		else
		{
			InterestKey key;

			interest_key_init(&key, MyDatabaseId, def->id, tenant, user, arm);
			if (!interest_install(&key, def->spec.half_life_us, v))
				ereport(ERROR,
						(errcode(ERRCODE_OUT_OF_MEMORY),
						 errmsg("tidal's table of interests is full"),
						 errhint("Increase tidal.max_interests and restart the server.")));
		}
	}
	pfree(v);
}

static void
fold_apply(const LogRecord *rec, const SignalDef *def, void *arg)
{
	Fold	   *f = (Fold *) arg;
	uint32		i;

	if (rec->flags & LOG_SIGNAL_HAS_INTEREST)
	{
		LogSignalEvent ev;
		int			dims = tidal_embedding_dimensions;

		codec_signal_event(rec, 0, &ev);
		decay_vector_add(fold_interest(f, def->id, rec->tenant, ev.user_id, rec->interest_arm), dims,
						 def->spec.half_life_us, ev.weight, ev.at_us,
						 rec->interest_dims == dims && dims > 0 ? rec->interest_vector : NULL);
	}

	for (i = 0; i < rec->nevents; i++)
	{
		LogSignalEvent ev;

		codec_signal_event(rec, i, &ev);
		decay_add(&fold_entry(f, def->id, rec->tenant, ev.entity)->state,
				  &def->spec, ev.weight, ev.at_us);
	}
}

/* a moved range's entries handed over to this shard (cluster/reshard.c) */
static void
fold_merge(const SignalDef *def, const int64 *entities, const DecayState *states, int n, void *arg)
{
	int			i;

	for (i = 0; i < n; i++)
		decay_merge(&fold_entry((Fold *) arg, def->id, 0, entities[i])->state, &def->spec, &states[i]);
}

static void
fold_defer(const LogRecord *rec, void *arg)
{
	Fold	   *f = (Fold *) arg;
	MemoryContext old = MemoryContextSwitchTo(f->cxt);

	f->deferred = lappend(f->deferred, copy_record(f->cxt, rec));
	MemoryContextSwitchTo(old);
}

static void
fold_other(const LogRecord *rec, void *arg)
{
	Fold	   *f = (Fold *) arg;
	OtherKey	key;
	OtherEntry *e;
	bool		found;
	bool		first_wins = false;

	memset(&key, 0, sizeof(key));
	key.kind = rec->kind;
	key.tenant = rec->tenant;
	switch (rec->kind)
	{
		case LOG_RECORD_DEFINE_SIGNAL:
			first_wins = true;
			/* FALLTHROUGH */
		case LOG_RECORD_DEFINE_PROFILE:
			key.name_len = Min(rec->name_len, SIGNAL_NAME_MAXLEN);
			memcpy(key.name, rec->name, key.name_len);
			break;
		case LOG_RECORD_ITEM:
			key.a = rec->item;
			break;
		case LOG_RECORD_HIDE:
			key.action = rec->action;
			key.target_kind = rec->target_kind;
			key.a = rec->user_id;
			key.b = rec->target;
			break;
		case LOG_RECORD_TENANT:
		case LOG_RECORD_SHARD_MAP:	/* one map: the last (also the highest version, set by the leader) */
			break;
		case LOG_RECORD_MIGRATION:
			key.a = rec->migration_id;
			key.step = rec->step;
			break;
		default:
			return;				/* nothing a merge keeps */
	}
	e = hash_search(f->others, &key, HASH_ENTER, &found);
	if (found)
	{
		int			c = hlc_compare(&rec->hlc, &e->hlc);

		if (first_wins ? c >= 0 : c <= 0)
			return;
		pfree(e->rec);
	}
	e->hlc = rec->hlc;
	e->rec = copy_record(f->cxt, rec);
}

static void
fold_count(const IdemHeld *h, void *arg)
{
	decay_add(&fold_entry((Fold *) arg, h->signal_id, h->tenant, h->entity)->state,
			  &h->spec, h->weight, h->at_us);
}

static void
fold_keep(const IdemHeld *h, void *arg)
{
	Fold	   *f = (Fold *) arg;
	MemoryContext old = MemoryContextSwitchTo(f->cxt);
	IdemHeld   *k = palloc(sizeof(IdemHeld));

	*k = *h;
	k->key = pstrdup(h->key);
	f->kept = lappend(f->kept, k);
	MemoryContextSwitchTo(old);
}

/* ---- writing ---- */

typedef struct SnapWriter
{
	int64		id;
	int32		chunks;
	int64		bytes;
	StringInfoData buf;
	uint32		count;
	int64		tenant;
} SnapWriter;

static void insert_raw_chunk(SnapWriter *w);

static void
insert_chunk(SnapWriter *w)
{
	snapfmt_finish(&w->buf, w->count);
	insert_raw_chunk(w);
}

/* insert w->buf, a finished chunk, as the next of snapshot w->id */
static void
insert_raw_chunk(SnapWriter *w)
{
	static OwnedQuery q = {
		"INSERT INTO tidal.snapshot_chunks (snapshot_id, chunk_no, tenant, chunk) VALUES ($1, $2, $3, $4)",
		4, {INT8OID, INT4OID, INT8OID, BYTEAOID}, NULL
	};
	Datum		args[4];
	bytea	   *b;
	TidalSavedUser saved;

	b = palloc(VARHDRSZ + w->buf.len);
	SET_VARSIZE(b, VARHDRSZ + w->buf.len);
	memcpy(VARDATA(b), w->buf.data, w->buf.len);
	args[0] = Int64GetDatum(w->id);
	args[1] = Int32GetDatum(w->chunks);
	args[2] = Int64GetDatum(w->tenant);
	args[3] = PointerGetDatum(b);
	query_begin(&saved);
	query_exec(&q, args, NULL, false, SPI_OK_INSERT);
	query_end(&saved);
	pfree(b);
	w->chunks++;
	w->bytes += w->buf.len;
	resetStringInfo(&w->buf);
	w->count = 0;
}

static void
begin_chunk(SnapWriter *w, uint8 kind, int64 tenant, const SignalDef *def)
{
	if (w->count > 0)
		insert_chunk(w);
	resetStringInfo(&w->buf);
	w->tenant = tenant;
	if (def != NULL)
		snapfmt_begin(&w->buf, kind, tenant, def->name, (int64) def->spec.half_life_us,
					  def->spec.nwindows, def->spec.window_us);
	else
		snapfmt_begin(&w->buf, kind, tenant, NULL, 0, 0, NULL);
}

static int
fold_entry_cmp(const void *a, const void *b)
{
	const FoldKey *x = &(*(FoldEntry *const *) a)->key;
	const FoldKey *y = &(*(FoldEntry *const *) b)->key;

	if (x->tenant != y->tenant)
		return x->tenant < y->tenant ? -1 : 1;
	if (x->signal_id != y->signal_id)
		return x->signal_id < y->signal_id ? -1 : 1;
	return (x->entity > y->entity) - (x->entity < y->entity);
}

static int
kept_cmp(const ListCell *a, const ListCell *b)
{
	const IdemHeld *x = lfirst(a);
	const IdemHeld *y = lfirst(b);

	if (x->tenant != y->tenant)
		return x->tenant < y->tenant ? -1 : 1;
	return (x->signal_id > y->signal_id) - (x->signal_id < y->signal_id);
}

/* the order in which a region that receives records must apply them */
static int
kind_rank(uint8 kind)
{
	switch (kind)
	{
		case LOG_RECORD_SHARD_MAP:
		case LOG_RECORD_TENANT:
			return 0;
		case LOG_RECORD_MIGRATION:
			return 1;
		case LOG_RECORD_DEFINE_SIGNAL:
			return 2;
		case LOG_RECORD_DEFINE_PROFILE:
			return 3;
		default:
			return 4;
	}
}

static int
deferred_cmp(const ListCell *a, const ListCell *b)
{
	const Deferred *x = lfirst(a);
	const Deferred *y = lfirst(b);
	int			c = (x->tenant > y->tenant) - (x->tenant < y->tenant);

	if (c == 0)
		c = kind_rank((uint8) x->data[0]) - kind_rank((uint8) y->data[0]);
	return c;
}

/* the definition of a signal id, from the catalog's list */
static const SignalDef *
def_of(const SignalDef **defs, int ndefs, int32 id)
{
	int			i;

	for (i = 0; i < ndefs; i++)
		if (defs[i]->id == id)
			return defs[i];
	elog(ERROR, "tidal: signal id %d is not defined", id);
	return NULL;
}

/* a new snapshot's head, without chunks yet: its id */
static int64
insert_head(const LogMarks *marks, const TidalHlc *max_hlc)
{
	static OwnedQuery id_q = {
		"SELECT coalesce(pg_catalog.max(snapshot_id), 0) + 1 FROM tidal.snapshot_heads",
		0, {InvalidOid}, NULL
	};
	static OwnedQuery head_q = {
		"INSERT INTO tidal.snapshot_heads (snapshot_id, origin_region, origin_shard, origin_batch, "
		"       origin_seq, max_hlc, chunks, entries, bytes, origin_node) "
		"VALUES ($1, $2, $3, $4, $5, tidal.hlc($6, $7, $8), 0, 0, 0, $9)",
		9, {INT8OID, INT4ARRAYOID, INT4ARRAYOID, INT8ARRAYOID, INT8ARRAYOID,
		INT8OID, INT4OID, INT4OID, INT4ARRAYOID}, NULL
	};
	/* SQL objects before 0.8: every origin a snapshot covers is node 0 */
	static OwnedQuery head_before_nodes_q = {
		"INSERT INTO tidal.snapshot_heads (snapshot_id, origin_region, origin_shard, origin_batch, "
		"       origin_seq, max_hlc, chunks, entries, bytes) "
		"VALUES ($1, $2, $3, $4, $5, tidal.hlc($6, $7, $8), 0, 0, 0)",
		8, {INT8OID, INT4ARRAYOID, INT4ARRAYOID, INT8ARRAYOID, INT8ARRAYOID,
		INT8OID, INT4OID, INT4OID}, NULL
	};
	Datum		args[9];
	bool		isnull;
	int64		id;
	TidalSavedUser saved;

	query_begin(&saved);
	query_exec(&id_q, NULL, NULL, true, SPI_OK_SELECT);
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	args[0] = Int64GetDatum(id);
	args[1] = log_marks_array(marks, LOG_MARK_REGION);
	args[2] = log_marks_array(marks, LOG_MARK_SHARD);
	args[3] = log_marks_array(marks, LOG_MARK_BATCH);
	args[4] = log_marks_array(marks, LOG_MARK_SEQ);
	args[5] = Int64GetDatum(max_hlc->wall_ns);
	args[6] = Int32GetDatum(max_hlc->logical);
	args[7] = Int32GetDatum(max_hlc->node);
	args[8] = log_marks_array(marks, LOG_MARK_NODE);
	query_exec(log_knows_nodes() ? &head_q : &head_before_nodes_q, args, NULL, false, SPI_OK_INSERT);
	query_end(&saved);
	return id;
}

/* a snapshot's chunks are all in: its counts, and the oldest beyond tidal.snapshot_keep go */
static void
finish_head(SnapWriter *w, int64 entries)
{
	static OwnedQuery done_q = {
		"UPDATE tidal.snapshot_heads SET chunks = $2, entries = $3, bytes = $4 WHERE snapshot_id = $1",
		4, {INT8OID, INT4OID, INT8OID, INT8OID}, NULL
	};
	static OwnedQuery prune_q = {
		"DELETE FROM tidal.snapshot_heads WHERE snapshot_id <= $1 AND snapshot_id NOT IN "
		"  (SELECT k.snapshot_id FROM tidal.snapshot_heads k ORDER BY k.snapshot_id DESC LIMIT $2)",
		2, {INT8OID, INT8OID}, NULL
	};
	Datum		args[4];
	TidalSavedUser saved;

	args[0] = Int64GetDatum(w->id);
	args[1] = Int32GetDatum(w->chunks);
	args[2] = Int64GetDatum(entries);
	args[3] = Int64GetDatum(w->bytes);
	query_begin(&saved);
	query_exec(&done_q, args, NULL, false, SPI_OK_UPDATE);
	args[1] = Int64GetDatum((int64) tidal_snapshot_keep);
	query_exec(&prune_q, args, NULL, false, SPI_OK_DELETE);
	query_end(&saved);
}

static int
fold_interest_cmp(const void *a, const void *b)
{
	const InterestKey *x = *(InterestKey *const *) a;
	const InterestKey *y = *(InterestKey *const *) b;

	if (x->tenant != y->tenant)
		return x->tenant < y->tenant ? -1 : 1;
	if (x->signal_id != y->signal_id)
		return x->signal_id < y->signal_id ? -1 : 1;
	if (x->user != y->user)
		return x->user < y->user ? -1 : 1;
	return (x->arm > y->arm) - (x->arm < y->arm);
}

/* the users' interest sums, by tenant and signal, as interests chunks */
static void
write_interests(SnapWriter *w, Fold *f, const SignalDef **defs, int ndefs)
{
	long		n = hash_get_num_entries(f->interests);
	InterestKey **all = palloc_extended(sizeof(InterestKey *) * Max(n, 1), MCXT_ALLOC_HUGE);
	HASH_SEQ_STATUS seq;
	InterestKey *e;
	const SignalDef *def = NULL;
	long		i = 0;

	hash_seq_init(&seq, f->interests);
	while ((e = hash_seq_search(&seq)) != NULL)
		all[i++] = e;
	qsort(all, n, sizeof(InterestKey *), fold_interest_cmp);
	for (i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (def == NULL || def->id != all[i]->signal_id || w->tenant != all[i]->tenant ||
			w->count >= SNAP_CHUNK_ENTRIES)
		{
			def = def_of(defs, ndefs, all[i]->signal_id);
			begin_chunk(w, SNAP_CHUNK_INTERESTS, all[i]->tenant, def);
		}
		snapfmt_add_interest(&w->buf, all[i]->user, all[i]->arm, tidal_embedding_dimensions,
							 FOLD_INTEREST_SUM(all[i]));
		w->count++;
	}
	if (w->count > 0)
		insert_chunk(w);
	pfree(all);
}

static int64
write_snapshot(Fold *f, const LogMarks *marks, const TidalHlc *max_hlc)
{
	SnapWriter	w;
	FoldEntry **all;
	long		n = hash_get_num_entries(f->states);
	long		i = 0;
	HASH_SEQ_STATUS seq;
	FoldEntry  *e;
	int			ndefs;
	const SignalDef **defs = catalog_all_signals(&ndefs);
	const SignalDef *def = NULL;
	ListCell   *lc;

	memset(&w, 0, sizeof(w));
	initStringInfo(&w.buf);
	w.id = insert_head(marks, max_hlc);

	/* states, by tenant and signal */
	all = palloc_extended(sizeof(FoldEntry *) * Max(n, 1), MCXT_ALLOC_HUGE);
	hash_seq_init(&seq, f->states);
	while ((e = hash_seq_search(&seq)) != NULL)
		all[i++] = e;
	qsort(all, n, sizeof(FoldEntry *), fold_entry_cmp);
	for (i = 0; i < n; i++)
	{
		const FoldKey *k = &all[i]->key;

		CHECK_FOR_INTERRUPTS();
		if (def == NULL || def->id != k->signal_id || w.tenant != k->tenant ||
			w.count >= SNAP_CHUNK_ENTRIES)
		{
			def = def_of(defs, ndefs, k->signal_id);
			begin_chunk(&w, SNAP_CHUNK_STATES, k->tenant, def);
		}
		snapfmt_add_state(&w.buf, def->spec.nwindows, k->entity, &all[i]->state);
		w.count++;
	}
	if (w.count > 0)
		insert_chunk(&w);
	write_interests(&w, f, defs, ndefs);

	/* keyed writes not decided yet, by tenant and signal */
	list_sort(f->kept, kept_cmp);
	def = NULL;
	foreach(lc, f->kept)
	{
		IdemHeld   *h = lfirst(lc);
		SnapKeyed	k;

		if (def == NULL || def->id != h->signal_id || w.tenant != h->tenant ||
			w.count >= SNAP_CHUNK_ENTRIES)
		{
			def = def_of(defs, ndefs, h->signal_id);
			begin_chunk(&w, SNAP_CHUNK_KEYED, h->tenant, def);
		}
		k.hlc = h->hlc;
		k.flags = h->anchor ? SNAP_KEYED_ANCHOR : 0;
		k.key = h->key;
		k.key_len = strlen(h->key);
		k.entity = h->entity;
		k.weight = h->weight;
		k.at_us = h->at_us;
		snapfmt_add_keyed(&w.buf, &k);
		w.count++;
	}
	if (w.count > 0)
		insert_chunk(&w);

	/*
	 * Records kept verbatim, by tenant: the winners of the other kinds (in
	 * the order a region that receives them must apply them: registry,
	 * definitions, then items and hides), and signal records of signals not
	 * defined yet.
	 */
	{
		HASH_SEQ_STATUS oseq;
		OtherEntry *o;

		hash_seq_init(&oseq, f->others);
		while ((o = hash_seq_search(&oseq)) != NULL)
			f->deferred = lappend(f->deferred, o->rec);
	}
	list_sort(f->deferred, deferred_cmp);
	foreach(lc, f->deferred)
	{
		Deferred   *d = lfirst(lc);

		if (w.count == 0 || w.tenant != d->tenant || w.buf.len >= SNAP_CHUNK_BYTES)
			begin_chunk(&w, SNAP_CHUNK_RECORDS, d->tenant, NULL);
		snapfmt_add_record(&w.buf, d->data, d->len);
		w.count++;
	}
	if (w.count > 0)
		insert_chunk(&w);

	finish_head(&w, (int64) n);
	return w.id;
}

static void
forget_snapshot(int64 id)
{
	static OwnedQuery q = {
		"DELETE FROM tidal.snapshot_heads WHERE snapshot_id = $1", 1, {INT8OID}, NULL
	};
	Datum		args[1] = {Int64GetDatum(id)};
	TidalSavedUser saved;

	query_begin(&saved);
	query_exec(&q, args, NULL, false, SPI_OK_DELETE);
	query_end(&saved);
	ereport(LOG,
			(errmsg("tidal dropped damaged snapshot " INT64_FORMAT, id)));
}

static bool
marks_equal(const LogMarks *a, const LogMarks *b)
{
	int			i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
	{
		LogMark    *m = log_marks_find((LogMarks *) b, a->m[i].region, a->m[i].shard, a->m[i].node);

		if (m == NULL || m->batch_no != a->m[i].batch_no)
			return false;
	}
	return true;
}

int64
snapshot_take(bool only_if_new)
{
	List	   *heads;
	ListCell   *lc;
	SnapHead   *base = NULL;
	Fold		fold;
	Replay		replay;
	ReplaySink	sink = {fold_apply, fold_defer, fold_other, fold_merge, NULL};
	LogMarks	reached;
	TidalHlc	max_hlc;
	int64		id;
	List	   *damaged = NIL;

	if (!snapshots_exist())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("tidal takes snapshots from version 0.6 of its SQL objects on"),
				 errhint("ALTER EXTENSION tidal UPDATE.")));
	tidal_ensure_loaded();		/* the definitions and the tenants, as a rebuild has them */
	/* one taker at a time; readers of the snapshots are not held up */
	LockRelationOid(RangeVarGetRelid(makeRangeVar("tidal", "snapshot_heads", -1), NoLock, false),
					ShareRowExclusiveLock);
	/* what the taker before us committed, which our snapshot may not see */
	PushActiveSnapshot(GetLatestSnapshot());

	heads = read_heads();
	fold_init(&fold);
	sink.arg = &fold;
	replay_begin(&replay, &sink);
	foreach(lc, heads)
	{
		SnapHead   *h = (SnapHead *) lfirst(lc);
		const char *why;

		if (try_load_snapshot(h, &replay, fold_state, &fold, &why))
		{
			base = h;
			break;
		}
		damaged = lappend(damaged, h);
		ereport(WARNING,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("tidal snapshot " INT64_FORMAT " cannot be used: %s", h->id, why),
				 errdetail("The new snapshot is taken from the one before it, or from the log.")));
		MemoryContextDelete(fold.cxt);
		fold_init(&fold);
		replay_begin(&replay, &sink);
	}
	if (base == NULL && snapshot_log_compacted())
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("tidal cannot take a snapshot: no valid snapshot covers its compacted log"),
				 errhint("Bring this region back by state transfer from a peer (see docs/operations.md).")));

	log_replay_after(base != NULL ? &base->marks : NULL, false, replay_record, &replay, &reached);
	if (only_if_new && base != NULL && marks_equal(&reached, &base->marks))
	{
		MemoryContextDelete(fold.cxt);
		PopActiveSnapshot();
		return 0;
	}

	max_hlc = replay.max_hlc;
	if (base != NULL && hlc_compare(&base->max_hlc, &max_hlc) > 0)
		max_hlc = base->max_hlc;
	idem_replay_decide(replay.keyed, max_hlc.wall_ns - idem_window_ns(),
					   fold_count, fold_keep, &fold);
	replay_report(&replay, "taking a snapshot");

	/*
	 * A damaged snapshot is no fallback: it goes, so that pruning keeps the
	 * one this snapshot was folded from, and compaction never goes beyond
	 * what a usable snapshot covers.
	 */
	foreach(lc, damaged)
		forget_snapshot(((SnapHead *) lfirst(lc))->id);
	id = write_snapshot(&fold, &reached, &max_hlc);
	MemoryContextDelete(fold.cxt);
	PopActiveSnapshot();
	return id;
}

/* ---- SQL ---- */

PG_FUNCTION_INFO_V1(tidal_snapshot);

/* tidal.snapshot() RETURNS bigint */
Datum
tidal_snapshot(PG_FUNCTION_ARGS)
{
	tidal_require_preload();
	PG_RETURN_INT64(snapshot_take(false));
}

/* ---- for state transfer (transfer.c) ---- */

bool
snapshot_newest(int64 *id, LogMarks *marks, TidalHlc *max_hlc)
{
	List	   *heads = read_heads();
	SnapHead   *h;

	if (heads == NIL)
		return false;
	h = (SnapHead *) linitial(heads);
	*id = h->id;
	*marks = h->marks;
	*max_hlc = h->max_hlc;
	return true;
}

int64
snapshot_install(const LogMarks *marks, const TidalHlc *max_hlc, List *chunks, int64 entries)
{
	static OwnedQuery forget_q = {
		"DELETE FROM tidal.snapshot_heads WHERE snapshot_id <> $1", 1, {INT8OID}, NULL
	};
	SnapWriter	w;
	ListCell   *lc;
	TidalSavedUser saved;

	LockRelationOid(RangeVarGetRelid(makeRangeVar("tidal", "snapshot_heads", -1), NoLock, false),
					ShareRowExclusiveLock);
	memset(&w, 0, sizeof(w));
	initStringInfo(&w.buf);
	w.id = insert_head(marks, max_hlc);	/* numbered after the ones it replaces */
	{
		Datum		args[1] = {Int64GetDatum(w.id)};

		query_begin(&saved);
		query_exec(&forget_q, args, NULL, false, SPI_OK_DELETE);
		query_end(&saved);
	}
	foreach(lc, chunks)
	{
		bytea	   *b = (bytea *) lfirst(lc);
		SnapChunk	c;
		const char *why;

		if (!snapfmt_read_chunk(VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b), &c, &why))
			elog(ERROR, "tidal: a transferred snapshot chunk was not checked: %s", why);
		resetStringInfo(&w.buf);
		appendBinaryStringInfo(&w.buf, VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
		w.tenant = c.tenant;
		w.count = c.count;
		insert_raw_chunk(&w);
	}
	finish_head(&w, entries);
	return w.id;
}

/* ---- a tenant that left this region (cluster/residency.c) ---- */

/*
 * Drop a tenant's chunks from every snapshot, and recount what the heads
 * say they hold (the count of entries is in each states chunk's header,
 * bytes 16-19, little-endian), in the caller's transaction.
 */
static void
snapshot_drop_tenant(int64 tenant)
{
	static OwnedQuery drop_q = {
		"DELETE FROM tidal.snapshot_chunks WHERE tenant = $1", 1, {INT8OID}, NULL
	};
	static OwnedQuery recount_q = {
		"UPDATE tidal.snapshot_heads h SET chunks = s.n, bytes = s.b, entries = s.e "
		"  FROM (SELECT c.snapshot_id, pg_catalog.count(*) AS n, "
		"               pg_catalog.sum(pg_catalog.octet_length(c.chunk)) AS b, "
		"               pg_catalog.sum(CASE WHEN pg_catalog.get_byte(c.chunk, 6) = 1 "
		"                   THEN pg_catalog.get_byte(c.chunk, 16) + pg_catalog.get_byte(c.chunk, 17) * 256 "
		"                        + pg_catalog.get_byte(c.chunk, 18) * 65536 "
		"                        + pg_catalog.get_byte(c.chunk, 19)::pg_catalog.int8 * 16777216 "
		"                   ELSE 0 END) AS e "
		"          FROM tidal.snapshot_chunks c GROUP BY c.snapshot_id) s "
		" WHERE h.snapshot_id = s.snapshot_id",
		0, {InvalidOid}, NULL
	};
	Datum		args[1] = {Int64GetDatum(tenant)};
	TidalSavedUser saved;

	if (tenant == 0 || !snapshots_exist())
		return;
	query_begin(&saved);
	query_exec(&drop_q, args, NULL, false, SPI_OK_DELETE);
	if (SPI_processed > 0)
		query_exec(&recount_q, NULL, NULL, false, SPI_OK_UPDATE);
	query_end(&saved);
}

void
snapshot_init(void)
{
	residency_set_snapshot_drop(snapshot_drop_tenant);
}
