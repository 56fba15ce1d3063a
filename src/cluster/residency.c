/*
 * cluster/residency.c
 *    Residency of raw events: a region keeps no record of a tenant it does
 *    not store, in tidal.batches or anywhere else.
 *
 * Shipping (replication/ship.c) already leaves a tenant's records out of
 * the copies of batches it serves to a region that does not store the
 * tenant: each is replaced by an elided record (kind 8, core/codec.c) that
 * keeps its HLC, tenant and event count, so every copy of a batch has the
 * same number, sequence range and counts.  This module does the rest, in
 * this region's own copies:
 *
 *   - a write that lands here for a tenant stored elsewhere is logged here
 *     in full (this origin's batch is the only copy until a peer has it).
 *     Once every peer has acknowledged the batch, the sealer leaves its
 *     records out (residency_tick);
 *   - when a tenant moves out of this region (migration_gc_source's `done`,
 *     or a registration that drops this region), its records are left out
 *     of every stored batch at once -- this origin's own once every peer
 *     has acknowledged them, the rest by the tick -- after tidal.pending is
 *     sealed (residency_move_out).  Not from the copies of this region's
 *     other shards' batches: this node relays them to its shard in the
 *     other regions, one of which may be the tenant's new home and not have
 *     them yet; residency_tick_siblings leaves the records out once every
 *     region peer has applied the batch;
 *   - when a tenant moves into this region (a migration's `preparing`, or a
 *     registration that adds it), the records our copies left out are
 *     fetched from the peers (tidal._ship_tenant) and put back, before the
 *     tenant is loaded from the log (residency_move_in).
 *
 * May call: core/, pg/, log/, state/, replication/, cluster/.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "libpq-fe.h"
#include "miscadmin.h"
#include "port/pg_bswap.h"
#include "utils/memutils.h"

#include "cluster/residency.h"
#include "core/codec.h"
#include "log/log.h"
#include "pg/query.h"
#include "pg/remote.h"
#include "pg/settings.h"
#include "pg/validate.h"
#include "replication/peer.h"
#include "replication/placement.h"

#define RESIDENCY_FETCH_BATCHES		64	/* per call of tidal._ship_tenant (its limit) */
#define RESIDENCY_TICK_BATCHES		256 /* own batches looked at per tick */
#define RESIDENCY_MAX_ANSWER_BYTES	((Size) 1024 * 1024 * 1024)

typedef struct BatchKey
{
	int32		region;
	int32		shard;
	int32		node;
	int64		batch_no;
	bool		filled;
} BatchKey;

typedef struct Rewrite
{
	Datum		args[5];		/* origin_region, origin_shard, batch_no, batch, origin_node */
} Rewrite;

static OwnedQuery update_q = {
	"UPDATE tidal.batches SET batch = $4 "
	" WHERE origin_region = $1 AND origin_shard = $2 AND batch_no = $3 AND origin_node = $5",
	5, {INT4OID, INT4OID, INT8OID, BYTEAOID, INT4OID}, NULL
};

/* the highest batch of our origin that every peer (shard siblings too) has acknowledged; 0 without peers */
static int64
acked_by_every_peer(void)
{
	PeerId		peers[TIDAL_MAX_PEERS];
	int			n = peer_list(peers, TIDAL_MAX_PEERS, PEERS_ALL);
	int64		acked = PG_INT64_MAX;
	int			i;

	if (n <= 0)
		return 0;				/* nobody else has them: keep them */
	for (i = 0; i < n; i++)
		acked = Min(acked, peer_acked_batch(peers[i]));
	return acked;
}

static bytea *
to_bytea(const StringInfo s)
{
	bytea	   *b = (bytea *) palloc(VARHDRSZ + s->len);

	SET_VARSIZE(b, VARHDRSZ + s->len);
	memcpy(VARDATA(b), s->data, s->len);
	return b;
}

/*
 * Leave the records of tenants this region does not store out of the
 * stored batches q yields (origin_region, origin_shard, batch_no, batch,
 * origin_node).
 * Returns how many batches were rewritten; *last_batch: the batch_no of the
 * last row seen.
 */
static int64
elide_stored(OwnedQuery *q, Datum *args, const Placement *placement, int64 *last_batch)
{
	MemoryContext chunk = AllocSetContextCreate(CurrentMemoryContext, "tidal residency",
												ALLOCSET_DEFAULT_SIZES);
	TidalSavedUser saved;
	Portal		portal;
	int64		rewritten = 0;

	query_begin(&saved);
	/* not read-only: a fresh snapshot, which sees what this transaction stored */
	portal = query_cursor_open(q, args, NULL, false);
	for (;;)
	{
		List	   *rewrites = NIL;
		ListCell   *lc;
		uint64		i;
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();
		SPI_cursor_fetch(portal, true, 64);
		if (SPI_processed == 0)
			break;
		old = MemoryContextSwitchTo(chunk);
		for (i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			bytea	   *b = DatumGetByteaPP(SPI_getbinval(tup, desc, 4, &isnull));
			StringInfoData copy;
			const char *why;
			int			elided;

			if (last_batch)
				*last_batch = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
			initStringInfo(&copy);
			elided = codec_elide_batch(VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b),
									   placement_keep_record, (void *) placement, &copy, &why);
			/*
			 * A corrupt batch is left as it is (a rebuild reports it): failing
			 * here would stop the sealer, or a tenant's move, for good.
			 */
			if (elided < 0)
				ereport(WARNING,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("tidal: batch " INT64_FORMAT " of origin %d:%d:%d is corrupt and keeps its records: %s",
								DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull)),
								DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull)),
								DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull)),
								DatumGetInt32(SPI_getbinval(tup, desc, 5, &isnull)), why)));
			if (elided > 0)
			{
				Rewrite    *rw = palloc(sizeof(Rewrite));

				rw->args[0] = SPI_getbinval(tup, desc, 1, &isnull);
				rw->args[1] = SPI_getbinval(tup, desc, 2, &isnull);
				rw->args[2] = Int64GetDatum(DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull)));
				rw->args[3] = PointerGetDatum(to_bytea(&copy));
				rw->args[4] = SPI_getbinval(tup, desc, 5, &isnull);
				rewrites = lappend(rewrites, rw);
			}
		}
		MemoryContextSwitchTo(old);
		SPI_freetuptable(SPI_tuptable);
		foreach(lc, rewrites)
		{
			query_exec(&update_q, ((Rewrite *) lfirst(lc))->args, NULL, false, SPI_OK_UPDATE);
			rewritten++;
		}
		MemoryContextReset(chunk);
	}
	SPI_cursor_close(portal);
	query_end(&saved);
	MemoryContextDelete(chunk);
	return rewritten;
}

/* ---- a batch of another origin, as it is stored ---- */

static bool
is_tenant_data(const LogRecord *rec, void *arg pg_attribute_unused())
{
	return LOG_KIND_HOLDS_TENANT_DATA(rec->kind) && rec->tenant > 0;
}

/* does the (verified) batch hold any record of a tenant's data, tenant 0's aside? */
static bool
holds_tenant_data(const char *data, Size len)
{
	return codec_batch_has_record(data, len, is_tenant_data, NULL);
}

void
residency_store_copy(const LogBatchHeader *hdr, const char *data, Size len)
{
	Placement  *placement;
	StringInfoData copy;
	const char *why;
	int			elided;
	Datum		args[5];
	TidalSavedUser saved;

	if (!holds_tenant_data(data, len))
		return;
	/* the registry as this batch left it (a registration may be in it) */
	CommandCounterIncrement();

	/*
	 * A shard sibling's batch: this node relays its shard's records of it to
	 * its region peers, whichever region stores their tenant; the sealer's
	 * tick leaves them out once those peers have the batch.
	 */
	if (hdr->origin_region == tidal_region_id && hdr->origin_shard != tidal_shard_id)
		placement = placement_read(PLACEMENT_ANY_REGION, tidal_shard_id);
	else
		placement = placement_read(tidal_region_id, tidal_shard_id);
	if (placement->naway == 0)
		return;
	initStringInfo(&copy);
	elided = codec_elide_batch(data, len, placement_keep_record, placement, &copy, &why);
	if (elided < 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("rejected a tidal batch: %s", why)));
	if (elided == 0)
		return;
	args[0] = Int32GetDatum(hdr->origin_region);
	args[1] = Int32GetDatum(hdr->origin_shard);
	args[2] = Int64GetDatum(hdr->batch_no);
	args[3] = PointerGetDatum(to_bytea(&copy));
	args[4] = Int32GetDatum(hdr->origin_node);
	query_begin(&saved);
	query_exec(&update_q, args, NULL, false, SPI_OK_UPDATE);
	query_end(&saved);
}

/* ---- moving out ---- */

/*
 * The snapshots of the hot state (apply/snapshot.c) hold the tenant's
 * states and records too: the snapshot module registers how to drop them
 * (residency_set_snapshot_drop, at _PG_init).
 */
static residency_tenant_fn snapshot_drop = NULL;

void
residency_set_snapshot_drop(residency_tenant_fn fn)
{
	snapshot_drop = fn;
}

static void
residency_drop_from_snapshots(int64 tenant)
{
	if (snapshot_drop != NULL)
		snapshot_drop(tenant);
}

void
residency_move_out(int64 tenant)
{
	static OwnedQuery stored_q = {
		"SELECT origin_region, origin_shard, batch_no, batch, origin_node FROM tidal.batches "
		" WHERE origin_region <> $1 OR (origin_shard = $2 AND origin_node = $4 AND batch_no <= $3)",
		4, {INT4OID, INT4OID, INT8OID, INT4OID}, NULL
	};
	Placement  *placement;
	Datum		args[4];
	int64		rewritten;

	/* the tenant's records still in tidal.pending go into batches first */
	(void) log_seal();
	residency_drop_from_snapshots(tenant);

	/* a fresh snapshot: sees the registry as this transaction changed it */
	placement = placement_read(tidal_region_id, tidal_shard_id);
	if (!placement_is_away(placement, tenant))
		return;					/* still stored here after all (tenant 0, or a later registration) */
	CommandCounterIncrement();
	args[0] = Int32GetDatum(tidal_region_id);
	args[1] = Int32GetDatum(tidal_shard_id);
	args[2] = Int64GetDatum(acked_by_every_peer());
	args[3] = Int32GetDatum(tidal_node_id);
	rewritten = elide_stored(&stored_q, args, placement, NULL);
	ereport(LOG,
			(errmsg("tidal: tenant " INT64_FORMAT " left this region: its records were left out of " INT64_FORMAT " stored batches",
					tenant, rewritten)));
}

/* ---- the sealer's tick ---- */

/* our origin's batches looked at by this process's ticks (0 after a start) */
static int64 tick_done_upto = 0;

/* the tenants not stored here at the last tick (in TopMemoryContext) */
static int64 *tick_away = NULL;
static int	tick_naway = 0;

/*
 * A tenant that was not away at the last tick is now (it moved out): look
 * at all our batches again, since those already looked at may hold its
 * records.  Remembers the placement for the next tick.
 */
static bool
placement_grew(const Placement *placement)
{
	bool		grew = false;
	int			i;

	for (i = 0; i < placement->naway && !grew; i++)
	{
		int			j;

		grew = true;
		for (j = 0; j < tick_naway; j++)
			if (tick_away[j] == placement->away[i])
			{
				grew = false;
				break;
			}
	}
	if (tick_away != NULL)
		pfree(tick_away);
	tick_away = MemoryContextAlloc(TopMemoryContext, sizeof(int64) * Max(placement->naway, 1));
	memcpy(tick_away, placement->away, sizeof(int64) * placement->naway);
	tick_naway = placement->naway;
	return grew;
}

void
residency_tick(void)
{
	static OwnedQuery own_q = {
		"SELECT origin_region, origin_shard, batch_no, batch, origin_node FROM tidal.batches "
		" WHERE origin_region = $1 AND origin_shard = $2 AND origin_node = $5 "
		"   AND batch_no > $3 AND batch_no <= $4 "
		" ORDER BY batch_no LIMIT 256",
		5, {INT4OID, INT4OID, INT8OID, INT8OID, INT4OID}, NULL
	};
	int64		acked = acked_by_every_peer();
	Placement  *placement;
	Datum		args[5];
	int64		last = tick_done_upto;

	StaticAssertStmt(RESIDENCY_TICK_BATCHES == 256, "own_q's LIMIT");
	if (!log_knows_nodes())
		return;					/* SQL objects before 0.8: the log is paused */
	placement = placement_read(tidal_region_id, tidal_shard_id);
	if (placement_grew(placement))
		tick_done_upto = last = 0;
	if (acked <= tick_done_upto)
		return;
	if (placement->naway == 0)
	{
		tick_done_upto = acked; /* nothing to leave out (placement_grew resets it) */
		return;
	}
	args[0] = Int32GetDatum(tidal_region_id);
	args[1] = Int32GetDatum(tidal_shard_id);
	args[2] = Int64GetDatum(tick_done_upto);
	args[3] = Int64GetDatum(acked);
	args[4] = Int32GetDatum(tidal_node_id);
	(void) elide_stored(&own_q, args, placement, &last);
	/* up to the last batch looked at (at most 256 a tick); all of the range if it held none */
	tick_done_upto = (last == tick_done_upto) ? acked : last;
}

/* per origin of a shard sibling: its batches this process's ticks have looked at (0 after a start) */
typedef struct SiblingDone
{
	int32		shard;
	int32		node;
	int64		upto;
} SiblingDone;

#define SIBLING_MAX_ORIGINS	1024
static SiblingDone sibling_done[SIBLING_MAX_ORIGINS];
static int	nsibling_done = 0;

/* the entry of a sibling's origin (a new one at 0), or NULL when the table is full */
static SiblingDone *
sibling_done_of(int32 shard, int32 node)
{
	int			i;

	for (i = 0; i < nsibling_done; i++)
		if (sibling_done[i].shard == shard && sibling_done[i].node == node)
			return &sibling_done[i];
	if (nsibling_done == SIBLING_MAX_ORIGINS)
		return NULL;
	sibling_done[nsibling_done] = (SiblingDone) {shard, node, 0};
	return &sibling_done[nsibling_done++];
}

/*
 * The copies of shard siblings' batches keep every record of this shard's
 * tenants, also of tenants this region does not store (residency_store_copy),
 * for the region peers they are relayed to.  Once every region peer has
 * applied a batch (as the compactor last heard them: tidal.peer_progress),
 * those records are left out here too.
 */
void
residency_tick_siblings(void)
{
	static OwnedQuery upto_q = {
		"SELECT o.shard, o.node, pg_catalog.min(coalesce(p.applied_batch, 0)) "
		"  FROM tidal.origins o "
		"  CROSS JOIN tidal.peer_defs d "
		"  LEFT JOIN tidal.peer_progress p ON p.peer_region = d.region_id AND p.peer_shard = d.shard_id "
		"       AND p.peer_node = coalesce(d.node_id, -1) "
		"       AND p.origin_region = o.region AND p.origin_shard = o.shard AND p.origin_node = o.node "
		" WHERE o.region = $1 AND o.shard <> $2 AND d.shard_id = $2 AND d.region_id <> $1 "
		" GROUP BY o.shard, o.node",
		2, {INT4OID, INT4OID}, NULL
	};
	static OwnedQuery sibling_q = {
		"SELECT origin_region, origin_shard, batch_no, batch, origin_node FROM tidal.batches "
		" WHERE origin_region = $1 AND origin_shard = $2 AND origin_node = $5 "
		"   AND batch_no > $3 AND batch_no <= $4 "
		" ORDER BY batch_no LIMIT 256",
		5, {INT4OID, INT4OID, INT8OID, INT8OID, INT4OID}, NULL
	};
	Datum		args[5];
	int32		shards[TIDAL_MAX_PEERS];
	int32		nodes[TIDAL_MAX_PEERS];
	int64		upto[TIDAL_MAX_PEERS];
	int			n = 0;
	Placement  *placement;
	TidalSavedUser saved;
	uint64		r;
	int			i;

	if (!query_has_column("peer_progress", "peer_node"))
		return;					/* SQL objects before 0.8 */
	args[0] = Int32GetDatum(tidal_region_id);
	args[1] = Int32GetDatum(tidal_shard_id);
	query_begin(&saved);
	query_exec(&upto_q, args, NULL, true, SPI_OK_SELECT);
	for (r = 0; r < SPI_processed && n < TIDAL_MAX_PEERS; r++)
	{
		bool		isnull;

		shards[n] = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull));
		nodes[n] = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull));
		upto[n] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 3, &isnull));
		if (shards[n] >= 0 && shards[n] <= TIDAL_MAX_SHARD_ID)
			n++;
	}
	query_end(&saved);
	if (n == 0)
		return;
	placement = placement_read(tidal_region_id, tidal_shard_id);
	for (i = 0; i < n; i++)
	{
		SiblingDone *d = sibling_done_of(shards[i], nodes[i]);
		int64		done;
		int64		last;

		if (d == NULL)
			break;				/* more origins than the table: the next start looks again */
		done = last = d->upto;
		if (upto[i] <= done)
			continue;
		if (placement->naway == 0)
		{
			d->upto = upto[i];
			continue;
		}
		args[1] = Int32GetDatum(shards[i]);
		args[2] = Int64GetDatum(done);
		args[3] = Int64GetDatum(upto[i]);
		args[4] = Int32GetDatum(nodes[i]);
		(void) elide_stored(&sibling_q, args, placement, &last);
		d->upto = (last == done) ? upto[i] : last;
	}
}

/* ---- moving in ---- */

/* does our copy leave out a record of the tenant? */
static bool
lacks_tenant(const char *batch, Size len, int64 tenant)
{
	LogBatchHeader hdr;
	const char *payload;
	const char *why;
	const char *p;
	const char *end;

	if (!codec_read_batch(batch, len, &hdr, &payload, &why))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("corrupt batch in tidal's log: %s", why)));
	end = payload + hdr.payload_len;
	for (p = payload; p < end;)
	{
		LogRecord	rec;
		Size		consumed;

		if (!codec_read_record(p, end - p, &consumed, &rec, &why))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("corrupt batch in tidal's log: %s", why)));
		if (rec.kind == LOG_RECORD_ELIDED && rec.tenant == tenant)
			return true;
		p += consumed;
	}
	return false;
}

/* what batches_lacking carries from row to row (lacking_row) */
typedef struct LackingScan
{
	int64		tenant;
	MemoryContext caller;		/* where the list grows */
	List	   *out;
} LackingScan;

static bool
lacking_row(HeapTuple tup, TupleDesc desc, void *arg)
{
	LackingScan *scan = (LackingScan *) arg;
	bool		isnull;
	bytea	   *b = DatumGetByteaPP(SPI_getbinval(tup, desc, 4, &isnull));

	if (lacks_tenant(VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b), scan->tenant))
	{
		MemoryContext row = MemoryContextSwitchTo(scan->caller);
		BatchKey   *k = palloc0(sizeof(BatchKey));

		k->region = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		k->shard = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		k->batch_no = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
		k->node = DatumGetInt32(SPI_getbinval(tup, desc, 5, &isnull));
		scan->out = lappend(scan->out, k);
		MemoryContextSwitchTo(row);
	}
	return true;
}

/* the stored batches whose copy here leaves out records of the tenant */
static List *
batches_lacking(int64 tenant)
{
	static OwnedQuery all_q = {
		"SELECT origin_region, origin_shard, batch_no, batch, origin_node FROM tidal.batches "
		" ORDER BY origin_region, origin_shard, origin_node, batch_no",
		0, {InvalidOid}, NULL
	};
	LackingScan scan = {tenant, CurrentMemoryContext, NIL};
	TidalSavedUser saved;

	query_begin(&saved);
	query_each_row(&all_q, NULL, NULL, true, lacking_row, &scan);
	query_end(&saved);
	return scan.out;
}

/* an integer of a checked binary answer (network order; may be unaligned) */
static int64
answer_int(const PGresult *res, int row, int col)
{
	if (PQgetlength(res, row, col) == 4)
	{
		uint32		v;

		memcpy(&v, PQgetvalue(res, row, col), 4);
		return (int32) pg_ntoh32(v);
	}
	else
	{
		uint64		v;

		memcpy(&v, PQgetvalue(res, row, col), 8);
		return (int64) pg_ntoh64(v);
	}
}

/*
 * Put the peer's copy of a batch we lack records of into our copy: only
 * the tenant's records, checked as a replicated record is.  Returns false
 * (and says why in *why) if the peer's copy does not fit ours.
 */
static bool
fill_one(const BatchKey *k, int64 tenant, const char *full, Size full_len, const char **why)
{
	static OwnedQuery local_q = {
		"SELECT batch FROM tidal.batches "
		" WHERE origin_region = $1 AND origin_shard = $2 AND batch_no = $3 AND origin_node = $5",
		5, {INT4OID, INT4OID, INT8OID, BYTEAOID, INT4OID}, NULL
	};
	Datum		args[5];
	MemoryContext caller = CurrentMemoryContext;
	TidalSavedUser saved;
	StringInfoData merged;
	bytea	   *local;
	bool		isnull;
	int			filled;
	LogBatchHeader hdr;
	const char *payload;
	const char *p;
	const char *end;

	args[0] = Int32GetDatum(k->region);
	args[1] = Int32GetDatum(k->shard);
	args[2] = Int64GetDatum(k->batch_no);
	args[3] = (Datum) 0;
	args[4] = Int32GetDatum(k->node);
	query_begin(&saved);
	query_exec(&local_q, args, (const char[]) {' ', ' ', ' ', 'n', ' '}, false, SPI_OK_SELECT);
	if (SPI_processed != 1)
	{
		query_end(&saved);
		*why = "the batch is no longer stored here";
		return false;
	}
	{
		MemoryContext spi = MemoryContextSwitchTo(caller);

		/* out of SPI's memory, which query_end frees */
		local = DatumGetByteaPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		MemoryContextSwitchTo(spi);
	}
	query_end(&saved);

	initStringInfo(&merged);
	filled = codec_fill_batch(VARDATA_ANY(local), VARSIZE_ANY_EXHDR(local), full, full_len,
							  tenant, &merged, why);
	if (filled <= 0)
	{
		if (filled == 0)
			*why = "the peer's copy leaves the records out too";
		return false;
	}

	/* the records put back are checked as any replicated record is */
	if (!codec_read_batch(merged.data, merged.len, &hdr, &payload, why))
		return false;
	end = payload + hdr.payload_len;
	for (p = payload; p < end;)
	{
		LogRecord	rec;
		Size		consumed;
		char	   *message;

		if (!codec_read_record(p, end - p, &consumed, &rec, why))
			return false;
		if (rec.tenant == tenant && LOG_KIND_HOLDS_TENANT_DATA(rec.kind) &&
			!validate_record_ok(&rec, &message))
		{
			*why = message;
			return false;
		}
		p += consumed;
	}

	args[3] = PointerGetDatum(to_bytea(&merged));
	query_begin(&saved);
	query_exec(&update_q, args, NULL, false, SPI_OK_UPDATE);
	query_end(&saved);
	return true;
}

/* append "{a,b,...}" of the keys from start (at most n) to the four arrays */
static void
key_arrays(BatchKey **keys, int n, StringInfo regions, StringInfo shards, StringInfo nodes,
		   StringInfo batches)
{
	int			i;

	appendStringInfoChar(regions, '{');
	appendStringInfoChar(shards, '{');
	appendStringInfoChar(nodes, '{');
	appendStringInfoChar(batches, '{');
	for (i = 0; i < n; i++)
	{
		const char *sep = i ? "," : "";

		appendStringInfo(regions, "%s%d", sep, keys[i]->region);
		appendStringInfo(shards, "%s%d", sep, keys[i]->shard);
		appendStringInfo(nodes, "%s%d", sep, keys[i]->node);
		appendStringInfo(batches, "%s" INT64_FORMAT, sep, keys[i]->batch_no);
	}
	appendStringInfoChar(regions, '}');
	appendStringInfoChar(shards, '}');
	appendStringInfoChar(nodes, '}');
	appendStringInfoChar(batches, '}');
}

/*
 * Call tidal._ship_tenant on a peer for n batches: its answer, checked
 * (five binary columns of the right types and lengths, at most n rows), or
 * NULL (logged) if it did not come or is malformed.  The caller PQclears it.
 */
static PGresult *
ship_tenant_call(PGconn *conn, int32 peer, int64 tenant, BatchKey **keys, int n)
{
	static const Oid types[5] = {INT4OID, INT4OID, INT4OID, INT8OID, BYTEAOID};
	static const int lengths[5] = {4, 4, 4, 8, REMOTE_ANY_LENGTH};
	StringInfoData regions;
	StringInfoData shards;
	StringInfoData nodes;
	StringInfoData batches;
	char		requester[16];
	char		shard[16];
	char		tenant_s[32];
	const char *params[7];
	PGresult   *res;
	char	   *why = NULL;
	const char *bad;
	int			i;

	CHECK_FOR_INTERRUPTS();
	initStringInfo(&regions);
	initStringInfo(&shards);
	initStringInfo(&nodes);
	initStringInfo(&batches);
	key_arrays(keys, n, &regions, &shards, &nodes, &batches);
	snprintf(requester, sizeof(requester), "%d", tidal_region_id);
	snprintf(shard, sizeof(shard), "%d", tidal_shard_id);
	snprintf(tenant_s, sizeof(tenant_s), INT64_FORMAT, tenant);
	params[0] = requester;
	params[1] = shard;
	params[2] = tenant_s;
	params[3] = regions.data;
	params[4] = shards.data;
	params[5] = nodes.data;
	params[6] = batches.data;
	res = remote_query(conn, "SELECT origin_region, origin_shard, origin_node, batch_no, batch "
					   "FROM tidal._ship_tenant($1, $2, $3, $4, $5, $6, $7)", 7, params, 1,
					   tidal_peer_timeout_ms, n, RESIDENCY_MAX_ANSWER_BYTES, &why);
	if (res == NULL)
	{
		ereport(LOG,
				(errmsg("tidal: region %d did not send tenant " INT64_FORMAT "'s records: %s",
						peer, tenant, why ? why : "no answer")));
		return NULL;
	}
	bad = remote_check_shape(res, 5, types, lengths);
	for (i = 0; bad == NULL && i < PQnfields(res); i++)
		if (PQfformat(res, i) != 1)
			bad = "malformed answer: not in binary format";
	if (bad != NULL)
	{
		PQclear(res);
		ereport(LOG,
				(errmsg("tidal: region %d sent tenant " INT64_FORMAT "'s records in a malformed answer: %s",
						peer, tenant, bad)));
		return NULL;
	}
	return res;
}

/* ask one peer for the batches still lacking; returns how many it filled */
static int
fill_from_peer(PGconn *conn, int32 peer, int64 tenant, List *missing)
{
	BatchKey  **ask = palloc(sizeof(BatchKey *) * RESIDENCY_FETCH_BATCHES);
	ListCell   *lc;
	int			filled = 0;
	int			nask = 0;

	foreach(lc, missing)
	{
		BatchKey   *k = (BatchKey *) lfirst(lc);
		bool		last = lnext(missing, lc) == NULL;

		if (!k->filled)
			ask[nask++] = k;
		if (nask > 0 && (nask == RESIDENCY_FETCH_BATCHES || last))
		{
			PGresult   *res = ship_tenant_call(conn, peer, tenant, ask, nask);
			int			i;

			nask = 0;
			if (res == NULL)
				return filled;
			for (i = 0; i < PQntuples(res); i++)
			{
				int64		region = answer_int(res, i, 0);
				int64		origin_shard = answer_int(res, i, 1);
				int64		origin_node = answer_int(res, i, 2);
				int64		batch_no = answer_int(res, i, 3);
				ListCell   *mc;

				foreach(mc, missing)
				{
					BatchKey   *m = (BatchKey *) lfirst(mc);
					const char *fwhy;

					if (m->filled || m->region != region || m->shard != origin_shard ||
						m->node != origin_node || m->batch_no != batch_no)
						continue;
					if (fill_one(m, tenant, PQgetvalue(res, i, 4), PQgetlength(res, i, 4), &fwhy))
					{
						m->filled = true;
						filled++;
					}
					else
						ereport(LOG,
								(errmsg("tidal: region %d's copy of batch " INT64_FORMAT " of origin %d:%d:%d does not fit this region's: %s",
										peer, m->batch_no, m->region, m->shard, m->node, fwhy)));
					break;
				}
			}
			PQclear(res);
		}
	}
	return filled;
}

/* connect to a peer and fill what it can; the connection is closed on error too */
static pg_noinline int
fill_from(const char *conninfo, int32 peer, int64 tenant, List *missing)
{
	PGconn	   *conn = remote_connect(conninfo, tidal_peer_timeout_ms);
	int			filled = 0;

	if (conn == NULL)
	{
		ereport(LOG,
				(errmsg("tidal: could not reach region %d for tenant " INT64_FORMAT "'s records", peer, tenant)));
		return 0;
	}
	PG_TRY();
	{
		filled = fill_from_peer(conn, peer, tenant, missing);
	}
	PG_CATCH();
	{
		PQfinish(conn);
		PG_RE_THROW();
	}
	PG_END_TRY();
	PQfinish(conn);
	return filled;
}

/* one peer's copy of one batch, filled into *cur for the tenant; false if it has none that fits */
static pg_noinline bool
complete_from(const char *conninfo, int32 peer, int64 tenant, BatchKey *key, StringInfo cur)
{
	PGconn	   *conn = remote_connect(conninfo, tidal_peer_timeout_ms);
	bool		done = false;

	if (conn == NULL)
		return false;
	PG_TRY();
	{
		PGresult   *res = ship_tenant_call(conn, peer, tenant, &key, 1);

		if (res != NULL && PQntuples(res) == 1 && answer_int(res, 0, 0) == key->region &&
			answer_int(res, 0, 1) == key->shard && answer_int(res, 0, 2) == key->node &&
			answer_int(res, 0, 3) == key->batch_no)
		{
			StringInfoData out;
			const char *why;

			initStringInfo(&out);
			if (codec_fill_batch(cur->data, cur->len, PQgetvalue(res, 0, 4), PQgetlength(res, 0, 4),
								 tenant, &out, &why) > 0)
			{
				resetStringInfo(cur);
				appendBinaryStringInfo(cur, out.data, out.len);
				done = true;
			}
			else
				ereport(LOG,
						(errmsg("tidal: region %d's copy of batch " INT64_FORMAT " of origin %d:%d:%d does not fit the one received: %s",
								peer, key->batch_no, key->region, key->shard, key->node, why)));
		}
		if (res != NULL)
			PQclear(res);
	}
	PG_CATCH();
	{
		PQfinish(conn);
		PG_RE_THROW();
	}
	PG_END_TRY();
	PQfinish(conn);
	return done;
}

StringInfo
residency_complete_batch(const LogBatchHeader *hdr, const char *data, Size len)
{
	LogBatchHeader h;
	const char *payload;
	const char *why;
	const char *p;
	const char *end;
	List	   *elided = NIL;
	List	   *missing = NIL;
	Placement  *placement;
	ListCell   *lc;
	StringInfo	cur;
	BatchKey	key;
	PeerId		peers[TIDAL_MAX_PEERS];
	int			npeers;

	/* the tenants this copy leaves out */
	if (!codec_read_batch(data, len, &h, &payload, &why))
		return NULL;
	end = payload + h.payload_len;
	for (p = payload; p < end;)
	{
		LogRecord	rec;
		Size		consumed;

		if (!codec_read_record(p, end - p, &consumed, &rec, &why))
			return NULL;
		/* tenant 0's elided events are other shards' (a copy for this shard leaves them out) */
		if (rec.kind == LOG_RECORD_ELIDED && rec.tenant > 0)
			elided = list_append_unique_ptr(elided, (void *) (intptr_t) rec.tenant);
		p += consumed;
	}
	if (elided == NIL)
		return NULL;

	/* those stored here (as far as this region knows) are needed */
	placement = placement_read(tidal_region_id, tidal_shard_id);
	foreach(lc, elided)
		if (!placement_is_away(placement, (int64) (intptr_t) lfirst(lc)))
			missing = lappend(missing, lfirst(lc));
	if (missing == NIL)
		return NULL;

	cur = makeStringInfo();
	appendBinaryStringInfo(cur, data, len);
	key.region = hdr->origin_region;
	key.shard = hdr->origin_shard;
	key.node = hdr->origin_node;
	key.batch_no = hdr->batch_no;
	key.filled = false;
	npeers = peer_list(peers, TIDAL_MAX_PEERS, PEERS_REGIONS);
	foreach(lc, missing)
	{
		int64		tenant = (int64) (intptr_t) lfirst(lc);
		int			i;

		for (i = 0; i < npeers; i++)
		{
			char	   *conninfo = peer_conninfo(peers[i]);

			if (conninfo != NULL && complete_from(conninfo, peers[i].region, tenant, &key, cur))
			{
				ereport(LOG,
						(errmsg("tidal: batch " INT64_FORMAT " of origin %d:%d:%d came without tenant " INT64_FORMAT "'s records, which this region stores; region %d sent them",
								key.batch_no, key.region, key.shard, key.node, tenant, peers[i].region)));
				break;
			}
		}
	}
	return cur;
}

void
residency_move_in(int64 tenant)
{
	List	   *missing = batches_lacking(tenant);
	PeerId		peers[TIDAL_MAX_PEERS];
	int			npeers;
	int			left = list_length(missing);
	int			i;
	ListCell   *lc;

	if (left == 0)
		return;
	npeers = peer_list(peers, TIDAL_MAX_PEERS, PEERS_REGIONS);
	for (i = 0; i < npeers && left > 0; i++)
	{
		char	   *conninfo = peer_conninfo(peers[i]);

		if (conninfo != NULL)
			left -= fill_from(conninfo, peers[i].region, tenant, missing);
	}
	if (left > 0)
	{
		BatchKey   *first = NULL;

		foreach(lc, missing)
			if (!((BatchKey *) lfirst(lc))->filled)
			{
				first = (BatchKey *) lfirst(lc);
				break;
			}
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tenant " INT64_FORMAT " cannot move into this region yet: %d batches held here lack its records, "
						"and no reachable peer sent them",
						tenant, left),
				 errdetail("The first is batch " INT64_FORMAT " of origin %d:%d:%d.",
						   first->batch_no, first->region, first->shard, first->node),
				 errhint("This region does not keep records of tenants it does not store; it fetches them from a region "
						 "that stores the tenant. The move is retried when the record that caused it is applied again.")));
	}
	/* the replay that follows reads the log in a fresh snapshot: let it see our rewrites */
	CommandCounterIncrement();
	ereport(LOG,
			(errmsg("tidal: tenant " INT64_FORMAT " moves into this region: its records in %d stored batches were fetched from peers",
					tenant, list_length(missing))));
}
