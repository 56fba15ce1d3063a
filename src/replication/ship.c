/*
 * replication/ship.c
 *    The serving side of replication: tidal._ship, which a peer's receiver
 *    calls over libpq to pull the batches it lacks.
 *
 * The caller says which batch of every origin it has applied; the answer is
 * the next batches of every origin this node holds (its own and those it
 * received: so a region that reaches only one peer still gets everything),
 * except the caller's own, followed by one row per origin with this node's
 * marks, so the caller knows how far behind it is.  What the caller has
 * applied of this node's origin is its acknowledgement (peer.c records it).
 *
 * Each copy served leaves out what the caller does not store (placement.c):
 * the records of tenants its region and shard do not hold, and the default
 * tenant's events of entities other shards own.  A shard sibling (the same
 * region, another shard) is served this node's own origin only: every
 * other batch this node holds is its shard's copy, which lacks the
 * sibling's events; the sibling gets those from its own region peers.
 *
 * May call: core/, pg/, log/, state/, replication/.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "access/htup_details.h"
#include "utils/array.h"

#include "core/hlc.h"
#include "log/log.h"
#include "replication/peer.h"
#include "replication/placement.h"
#include "pg/query.h"
#include "pg/settings.h"
#include "pg/owner.h"

PG_FUNCTION_INFO_V1(tidal_ship);
PG_FUNCTION_INFO_V1(tidal_ship_tenant);

#define SHIP_MAX_BATCHES 1000	/* per origin and answer */
#define SHIP_MAX_BYTES 4194304	/* per answer, unless its first batch is larger */

typedef struct ShipOrigin
{
	int32		region;
	int32		shard;
	int32		node;
	int64		last_batch;		/* ours */
	int64		last_seq;
	int64		known;			/* the caller's */
	int64		compacted;		/* ours: the last batch compaction removed (0.6 on) */
} ShipOrigin;

/* the element of an int8 array at i, or 0 */
static int64
int8_at(ArrayType *a, int i)
{
	return i < ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a)) ? ((int64 *) ARR_DATA_PTR(a))[i] : 0;
}

/*
 * The requester's copy of a stored batch (*batch, with its length in
 * *len): the records of tenants it does not store are elided (codec.c), so
 * that they never reach it.  False if this node must not serve the batch to
 * it: our copy elides a record of a tenant the requester stores (we do not
 * store it, and hold the batch only to relay it).  The requester then gets
 * the batch from its origin, or from another peer that stores the tenant.
 * A stored batch that does not verify is served as it is: the requester
 * refuses it, holds it and says why (tidal.replication_status).
 */
static bool
residency_copy(Placement *placement, Datum *batch, Datum *len)
{
	bytea	   *raw = DatumGetByteaPP(*batch);
	StringInfoData copy;
	const char *why;
	int			elided;
	bytea	   *out;

	if (placement_lacks_stored(placement, VARDATA_ANY(raw), VARSIZE_ANY_EXHDR(raw)))
		return false;
	initStringInfo(&copy);
	elided = codec_elide_batch(VARDATA_ANY(raw), VARSIZE_ANY_EXHDR(raw),
							   placement_keep_record, placement, &copy, &why);
	if (elided <= 0)
	{
		pfree(copy.data);
		return true;			/* nothing to leave out, or not a valid batch */
	}
	out = (bytea *) palloc(VARHDRSZ + copy.len);
	SET_VARSIZE(out, VARHDRSZ + copy.len);
	memcpy(VARDATA(out), copy.data, copy.len);
	pfree(copy.data);
	*batch = PointerGetDatum(out);
	*len = Int32GetDatum(copy.len);
	return true;
}

/*
 * A 0.8 library called through SQL objects of 0.7 (before ALTER EXTENSION
 * UPDATE) has fewer arguments than it reads: refuse, so that replication
 * pauses until the update, instead of reading arguments that are not there.
 */
static void
require_updated(FunctionCallInfo fcinfo, int nargs, const char *what)
{
	if (PG_NARGS() != nargs)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s is not served until ALTER EXTENSION tidal UPDATE has run on this node", what),
				 errdetail("This node's library is 0.8 or later, and its SQL objects are older."),
				 errhint("Run ALTER EXTENSION tidal UPDATE here; replication resumes by itself.")));
}

/* the element of an int4 array at i, or 0 */
static int32
int4_at(ArrayType *a, int i)
{
	return i < ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a)) ? ((int32 *) ARR_DATA_PTR(a))[i] : 0;
}

/*
 * tidal._ship(requester int, requester_shard int, requester_node int,
 *             regions int[], shards int[], nodes int[],
 *             batches bigint[], seqs bigint[], max_batches int)
 *    RETURNS TABLE(origin_region int, origin_shard int, origin_node int,
 *                  batch_no bigint, last_seq bigint, batch bytea)
 */
Datum
tidal_ship(PG_FUNCTION_ARGS)
{
	/* one origin's next batches: a range scan of the primary key */
	static OwnedQuery batches_q = {
		"SELECT origin_region, origin_shard, origin_node, batch_no, last_seq, batch, "
		"       pg_catalog.octet_length(batch) "
		"  FROM tidal.batches "
		" WHERE origin_region = $1 AND origin_shard = $2 AND origin_node = $5 AND batch_no > $3 "
		" ORDER BY batch_no LIMIT $4",
		5, {INT4OID, INT4OID, INT8OID, INT8OID, INT4OID}, NULL
	};
	static OwnedQuery marks_q = {
		"SELECT region, shard, node, last_batch, last_seq, compacted_batch "
		"  FROM tidal.origins o WHERE last_batch > 0",
		0, {InvalidOid}, NULL
	};
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PeerId		requester;
	int32		requester_node;
	bool		sibling;
	ArrayType  *regions;
	ArrayType  *shards;
	ArrayType  *nodes;
	ArrayType  *batches;
	ArrayType  *seqs;
	int			nknown;
	int64		max_batches;
	Datum		args[5];
	int64		sent = 0;
	int64		bytes = 0;
	ShipOrigin *origins;
	int			norigins;
	int64		acked_batch = 0;
	int64		acked_seq = 0;
	Placement  *placement;
	uint64		r;
	int			i;
	TidalSavedUser saved;

	tidal_require_preload();
	require_updated(fcinfo, 9, "tidal._ship");
	for (i = 0; i < 9; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("tidal._ship arguments must not be NULL")));
	requester.region = PG_GETARG_INT32(0);
	requester.shard = PG_GETARG_INT32(1);
	if (PG_GETARG_INT32(2) < 0 || PG_GETARG_INT32(2) > TIDAL_MAX_NODE_ID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("tidal._ship: node %d is out of range", PG_GETARG_INT32(2)),
				 errdetail("Node ids are 0 to %d.", TIDAL_MAX_NODE_ID)));
	if (requester.region < 0 || requester.region > TIDAL_MAX_REGION_ID ||
		requester.shard < 0 || requester.shard > TIDAL_MAX_SHARD_ID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("tidal._ship: region %d, shard %d is not a node", requester.region, requester.shard)));
	if (requester.region != tidal_region_id && requester.shard != tidal_shard_id)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("tidal._ship: region %d, shard %d is not a peer of this node (region %d, shard %d)",
						requester.region, requester.shard, tidal_region_id, tidal_shard_id),
				 errhint("A shard pulls from the same shard of other regions, from the other shards of its own region, "
						 "and from the other nodes of its own shard.")));
	/* a member of this node's shard is known by its node; other peers by their region and shard */
	requester_node = PG_GETARG_INT32(2);
	if (requester_node < 0 || requester_node > TIDAL_MAX_NODE_ID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("tidal._ship: node %d is out of range", requester_node),
				 errdetail("tidal.node_id is between 0 and %d.", TIDAL_MAX_NODE_ID)));
	requester.node = PEER_ANY_NODE;
	if (requester.region == tidal_region_id && requester.shard == tidal_shard_id)
	{
		requester.node = requester_node;
		if (requester.node == tidal_node_id)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("tidal._ship: node %d is this node", requester.node)));
	}
	sibling = requester.region == tidal_region_id && requester.shard != tidal_shard_id;
	regions = PG_GETARG_ARRAYTYPE_P(3);
	shards = PG_GETARG_ARRAYTYPE_P(4);
	nodes = PG_GETARG_ARRAYTYPE_P(5);
	batches = PG_GETARG_ARRAYTYPE_P(6);
	seqs = PG_GETARG_ARRAYTYPE_P(7);
	nknown = ArrayGetNItems(ARR_NDIM(regions), ARR_DIMS(regions));
	if (array_contains_nulls(regions) || array_contains_nulls(shards) || array_contains_nulls(nodes) ||
		array_contains_nulls(batches) || array_contains_nulls(seqs) ||
		ArrayGetNItems(ARR_NDIM(shards), ARR_DIMS(shards)) != nknown ||
		ArrayGetNItems(ARR_NDIM(nodes), ARR_DIMS(nodes)) != nknown ||
		ArrayGetNItems(ARR_NDIM(batches), ARR_DIMS(batches)) != nknown ||
		ArrayGetNItems(ARR_NDIM(seqs), ARR_DIMS(seqs)) != nknown)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("tidal._ship needs five arrays of the same length, without NULLs")));
	max_batches = Min(Max(PG_GETARG_INT32(8), 1), SHIP_MAX_BATCHES);

	/* what the caller has of the origin we write is its acknowledgement */
	for (i = 0; i < nknown; i++)
		if (int4_at(regions, i) == tidal_region_id && int4_at(shards, i) == tidal_shard_id &&
			int4_at(nodes, i) == tidal_node_id)
		{
			acked_batch = int8_at(batches, i);
			acked_seq = int8_at(seqs, i);
		}

	InitMaterializedSRF(fcinfo, 0);

	/* what the requester does not store: its records are left out */
	placement = placement_read(sibling ? PLACEMENT_ANY_REGION : requester.region, requester.shard);
	/*
	 * Other shards' events are left out of copies for other nodes, but not
	 * for a member of this shard: it holds what this node holds, to relay
	 * to the shard's siblings (a write of another shard's entity this shard
	 * logged) and to lead with it when this node is gone.
	 */
	placement->shard_events_only = !peer_is_member(requester);

	query_begin(&saved);

	/* the origins this node holds, with its marks: the last rows of the answer */
	query_exec(&marks_q, NULL, NULL, true, SPI_OK_SELECT);
	norigins = (int) SPI_processed;
	origins = palloc(sizeof(ShipOrigin) * Max(norigins, 1));
	for (r = 0; r < (uint64) norigins; r++)
	{
		bool		isnull;
		HeapTuple	tup = SPI_tuptable->vals[r];

		origins[r].region = DatumGetInt32(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
		origins[r].shard = DatumGetInt32(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull));
		origins[r].node = DatumGetInt32(SPI_getbinval(tup, SPI_tuptable->tupdesc, 3, &isnull));
		origins[r].last_batch = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 4, &isnull));
		origins[r].last_seq = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 5, &isnull));
		origins[r].compacted = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 6, &isnull));
		origins[r].known = 0;
		for (i = 0; i < nknown; i++)
			if (int4_at(regions, i) == origins[r].region && int4_at(shards, i) == origins[r].shard &&
				int4_at(nodes, i) == origins[r].node)
				origins[r].known = int8_at(batches, i);
	}

	/*
	 * Each origin's next batches, by an index range scan; origins in turn,
	 * so that none starves the others, within SHIP_MAX_BYTES (but at least
	 * one batch), so that an answer fits in tidal.peer_timeout.
	 */
	for (r = 0; r < (uint64) norigins && bytes < SHIP_MAX_BYTES; r++)
	{
		ShipOrigin *o = &origins[r];
		uint64		b;

		/* every origin the requester lacks but its own, even one of its shard that it lost */
		if ((o->region == requester.region && o->shard == requester.shard && o->node == requester_node) ||
			o->last_batch <= o->known)
			continue;
		if (sibling && !(o->region == tidal_region_id && o->shard == tidal_shard_id))
			continue;			/* a shard sibling gets our own origin only */
		if (o->known < o->compacted && !sibling)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("region %d needs batch " INT64_FORMAT " of origin %d:%d:%d, which region %d " LOG_COMPACTED_TOKEN,
							requester.region, o->known + 1, o->region, o->shard, o->node, tidal_region_id),
					 errhint("Bring region %d back by state transfer: SELECT tidal.transfer_state(%d) there.",
							 requester.region, tidal_region_id)));
		if (o->known < o->compacted)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("shard %d needs batch " INT64_FORMAT " of origin %d:%d:%d, which shard %d of region %d " LOG_COMPACTED_TOKEN,
							requester.shard, o->known + 1, o->region, o->shard, o->node, tidal_shard_id, tidal_region_id),
					 errhint("A region peer of shard %d relays the batch, if one still holds it.", requester.shard)));
		args[0] = Int32GetDatum(o->region);
		args[1] = Int32GetDatum(o->shard);
		args[2] = Int64GetDatum(o->known);
		args[3] = Int64GetDatum(max_batches);
		args[4] = Int32GetDatum(o->node);
		query_exec(&batches_q, args, NULL, true, SPI_OK_SELECT);
		for (b = 0; b < SPI_processed; b++)
		{
			Datum		values[7];
			bool		nulls[7];

			heap_deform_tuple(SPI_tuptable->vals[b], SPI_tuptable->tupdesc, values, nulls);
			if (!residency_copy(placement, &values[5], &values[6]))
				break;			/* the rest of this origin comes from elsewhere */
			if (sent > 0 && bytes + DatumGetInt32(values[6]) > SHIP_MAX_BYTES)
				break;
			bytes += DatumGetInt32(values[6]);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			sent++;
		}
	}
	for (r = 0; r < (uint64) norigins; r++)
	{
		Datum		values[6];
		bool		nulls[6] = {false, false, false, false, false, true};

		/*
		 * A sibling is behind on our own origins only; it also learns how far
		 * we have its own (its acknowledgement, peer_report_marks)
		 */
		if (sibling && !(origins[r].region == tidal_region_id && origins[r].shard == tidal_shard_id) &&
			!(origins[r].region == requester.region && origins[r].shard == requester.shard))
			continue;

		values[0] = Int32GetDatum(origins[r].region);
		values[1] = Int32GetDatum(origins[r].shard);
		values[2] = Int32GetDatum(origins[r].node);
		values[3] = Int64GetDatum(origins[r].last_batch);
		values[4] = Int64GetDatum(origins[r].last_seq);
		values[5] = (Datum) 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	query_end(&saved);

	peer_report_served(requester, requester_node, sent, acked_batch, acked_seq);
	return (Datum) 0;
}

/*
 * tidal._ship_tenant(requester int, requester_shard int, tenant bigint,
 *                    regions int[], shards int[], nodes int[], batch_nos bigint[])
 *    RETURNS TABLE(origin_region int, origin_shard int, origin_node int,
 *                  batch_no bigint, batch bytea)
 *
 * For a region that starts storing a tenant (cluster/residency.c): the
 * batches it names (at most SHIP_TENANT_MAX), as tidal._ship would serve
 * them to it, but with the tenant's records whatever this node's registry
 * says of where the tenant is stored.  A batch this node does not hold, or
 * holds without the tenant's records, is left out of the answer.
 */
#define SHIP_TENANT_MAX 64

Datum
tidal_ship_tenant(PG_FUNCTION_ARGS)
{
	static OwnedQuery batch_q = {
		"SELECT origin_region, origin_shard, origin_node, batch_no, batch, pg_catalog.octet_length(batch) "
		"  FROM tidal.batches "
		" WHERE origin_region = $1 AND origin_shard = $2 AND origin_node = $4 AND batch_no = $3",
		4, {INT4OID, INT4OID, INT8OID, INT4OID}, NULL
	};
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ArrayType  *regions;
	ArrayType  *shards;
	ArrayType  *nodes;
	ArrayType  *batch_nos;
	int			n;
	int			i;
	Placement  *placement;
	TidalSavedUser saved;

	tidal_require_preload();
	require_updated(fcinfo, 7, "tidal._ship_tenant");
	for (i = 0; i < 7; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("tidal._ship_tenant arguments must not be NULL")));
	regions = PG_GETARG_ARRAYTYPE_P(3);
	shards = PG_GETARG_ARRAYTYPE_P(4);
	nodes = PG_GETARG_ARRAYTYPE_P(5);
	batch_nos = PG_GETARG_ARRAYTYPE_P(6);
	n = ArrayGetNItems(ARR_NDIM(regions), ARR_DIMS(regions));
	if (array_contains_nulls(regions) || array_contains_nulls(shards) || array_contains_nulls(nodes) ||
		array_contains_nulls(batch_nos) ||
		ArrayGetNItems(ARR_NDIM(shards), ARR_DIMS(shards)) != n ||
		ArrayGetNItems(ARR_NDIM(nodes), ARR_DIMS(nodes)) != n ||
		ArrayGetNItems(ARR_NDIM(batch_nos), ARR_DIMS(batch_nos)) != n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("tidal._ship_tenant needs four arrays of the same length, without NULLs")));
	if (n > SHIP_TENANT_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("tidal._ship_tenant serves at most %d batches a call", SHIP_TENANT_MAX)));

	InitMaterializedSRF(fcinfo, 0);
	placement = placement_read(PG_GETARG_INT32(0), PG_GETARG_INT32(1));
	placement->keep = PG_GETARG_INT64(2);
	placement->shard_events_only = true;

	query_begin(&saved);
	for (i = 0; i < n; i++)
	{
		Datum		args[4];
		Datum		values[6];
		bool		nulls[6];

		CHECK_FOR_INTERRUPTS();
		args[0] = Int32GetDatum(((int32 *) ARR_DATA_PTR(regions))[i]);
		args[1] = Int32GetDatum(((int32 *) ARR_DATA_PTR(shards))[i]);
		args[2] = Int64GetDatum(((int64 *) ARR_DATA_PTR(batch_nos))[i]);
		args[3] = Int32GetDatum(((int32 *) ARR_DATA_PTR(nodes))[i]);
		query_exec(&batch_q, args, NULL, true, SPI_OK_SELECT);
		if (SPI_processed != 1)
			continue;
		heap_deform_tuple(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, values, nulls);
		if (!residency_copy(placement, &values[4], &values[5]))
			continue;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	query_end(&saved);
	return (Datum) 0;
}
