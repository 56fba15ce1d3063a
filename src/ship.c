/*
 * ship.c
 *    The serving side of replication: tidal._ship, which a peer's receiver
 *    calls over libpq to pull the batches it lacks.
 *
 * The caller says which batch of every origin it has applied; the answer is
 * the next batches of every origin this node holds (its own and those it
 * received: so a region that reaches only one peer still gets everything),
 * except the caller's own, followed by one row per origin with this node's
 * marks, so the caller knows how far behind it is.  What the caller has
 * applied of this node's origin is its acknowledgement (peer.c records it).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "access/htup_details.h"
#include "utils/array.h"

#include "peer.h"
#include "query.h"
#include "tidal.h"

PG_FUNCTION_INFO_V1(tidal_ship);

#define SHIP_MAX_BATCHES 1000	/* per origin and answer */
#define SHIP_MAX_BYTES 4194304	/* per answer, unless its first batch is larger */

/* the element of an int8 array at i, or 0 */
static int64
int8_at(ArrayType *a, int i)
{
	return i < ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a)) ? ((int64 *) ARR_DATA_PTR(a))[i] : 0;
}

/*
 * tidal._ship(requester int, requester_shard int, regions int[], shards int[],
 *             batches bigint[], seqs bigint[], max_batches int)
 *    RETURNS TABLE(origin_region int, origin_shard int, batch_no bigint,
 *                  last_seq bigint, batch bytea)
 */
Datum
tidal_ship(PG_FUNCTION_ARGS)
{
	/*
	 * Round-robin over the origins (the first batch each origin is missing,
	 * then the second, ...), so that no origin starves the others, and at
	 * most SHIP_MAX_BYTES in all (but at least one batch), so that an answer
	 * fits in tidal.peer_timeout on a slow link.
	 */
	static OwnedQuery batches_q = {
		"WITH wanted AS ("
		"  SELECT b.origin_region, b.origin_shard, b.batch_no, b.last_seq, b.batch, "
		"         row_number() OVER (PARTITION BY b.origin_region, b.origin_shard "
		"                            ORDER BY b.batch_no) AS turn "
		"    FROM tidal.batches b "
		"    LEFT JOIN unnest($3::int[], $4::int[], $5::bigint[]) AS k(region, shard, last_batch) "
		"      ON k.region = b.origin_region AND k.shard = b.origin_shard "
		"   WHERE NOT (b.origin_region = $1 AND b.origin_shard = $2) "
		"     AND b.batch_no > coalesce(k.last_batch, 0)), "
		"sized AS ("
		"  SELECT *, sum(octet_length(batch)) OVER (ORDER BY turn, origin_region, origin_shard) "
		"              - octet_length(batch) AS before "
		"    FROM wanted WHERE turn <= $6) "
		"SELECT origin_region, origin_shard, batch_no, last_seq, batch FROM sized "
		" WHERE before < " CppAsString2(SHIP_MAX_BYTES) " OR (turn = 1 AND before = 0) "
		" ORDER BY origin_region, origin_shard, batch_no",
		6, {INT4OID, INT4OID, INT4ARRAYOID, INT4ARRAYOID, INT8ARRAYOID, INT8OID}, NULL
	};
	static OwnedQuery marks_q = {
		"SELECT region, shard, last_batch, last_seq FROM tidal.origins WHERE last_batch > 0",
		0, {InvalidOid}, NULL
	};
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int32		requester;
	ArrayType  *regions;
	ArrayType  *shards;
	ArrayType  *batches;
	ArrayType  *seqs;
	int			nknown;
	int64		max_batches;
	Datum		args[6];
	int64		sent;
	int64		acked_batch = 0;
	int64		acked_seq = 0;
	uint64		r;
	int			i;
	TidalSavedUser saved;

	tidal_require_preload();
	for (i = 0; i < 7; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("tidal._ship arguments must not be NULL")));
	requester = PG_GETARG_INT32(0);
	regions = PG_GETARG_ARRAYTYPE_P(2);
	shards = PG_GETARG_ARRAYTYPE_P(3);
	batches = PG_GETARG_ARRAYTYPE_P(4);
	seqs = PG_GETARG_ARRAYTYPE_P(5);
	nknown = ArrayGetNItems(ARR_NDIM(regions), ARR_DIMS(regions));
	if (array_contains_nulls(regions) || array_contains_nulls(shards) ||
		array_contains_nulls(batches) || array_contains_nulls(seqs) ||
		ArrayGetNItems(ARR_NDIM(shards), ARR_DIMS(shards)) != nknown ||
		ArrayGetNItems(ARR_NDIM(batches), ARR_DIMS(batches)) != nknown ||
		ArrayGetNItems(ARR_NDIM(seqs), ARR_DIMS(seqs)) != nknown)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("tidal._ship needs four arrays of the same length, without NULLs")));
	max_batches = Min(Max(PG_GETARG_INT32(6), 1), SHIP_MAX_BATCHES);

	/* what the caller has of our origin is its acknowledgement */
	for (i = 0; i < nknown; i++)
		if (((int32 *) ARR_DATA_PTR(regions))[i] == tidal_region_id &&
			((int32 *) ARR_DATA_PTR(shards))[i] == tidal_shard_id)
		{
			acked_batch = int8_at(batches, i);
			acked_seq = int8_at(seqs, i);
		}

	InitMaterializedSRF(fcinfo, 0);
	args[0] = Int32GetDatum(requester);
	args[1] = PG_GETARG_DATUM(1);
	args[2] = PointerGetDatum(regions);
	args[3] = PointerGetDatum(shards);
	args[4] = PointerGetDatum(batches);
	args[5] = Int64GetDatum(max_batches);

	query_begin(&saved);
	query_exec(&batches_q, args, NULL, true, SPI_OK_SELECT);
	sent = (int64) SPI_processed;
	for (r = 0; r < SPI_processed; r++)
	{
		Datum		values[5];
		bool		nulls[5];

		heap_deform_tuple(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, values, nulls);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	query_exec(&marks_q, NULL, NULL, true, SPI_OK_SELECT);
	for (r = 0; r < SPI_processed; r++)
	{
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, true};

		heap_deform_tuple(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, values, nulls);
		nulls[4] = true;
		values[4] = (Datum) 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	query_end(&saved);

	peer_report_served(requester, sent, acked_batch, acked_seq);
	return (Datum) 0;
}
