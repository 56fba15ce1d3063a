/*
 * ranking/embedding.c
 *    Owns the SQL face of embeddings: tidal.similarity, and
 *    tidal._item_vector (an item's arm and embedding as shared memory holds
 *    them).  The embeddings themselves ride on item records
 *    (ranking/items.c), are checked by pg/validate.c, kept by
 *    state/facts.c and compared by core/vector.c.
 *
 *    May call: core/, pg/, state/, cluster/.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"

#include "cluster/access.h"
#include "core/vector.h"
#include "pg/settings.h"
#include "state/facts.h"
#include "state/recovery.h"

PG_FUNCTION_INFO_V1(tidal_similarity);
PG_FUNCTION_INFO_V1(tidal_item_vector);

/* a real[] argument as its elements: one-dimensional, without NULLs */
static float4 *
vector_argument(ArrayType *a, const char *name, int *n)
{
	if (ARR_NDIM(a) > 1 || ARR_ELEMTYPE(a) != FLOAT4OID || array_contains_nulls(a))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a one-dimensional real[] without NULLs", name)));
	*n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	return (float4 *) ARR_DATA_PTR(a);
}

/* tidal.similarity(a real[], b real[]) RETURNS float8: their cosine, NULL if either has no length */
Datum
tidal_similarity(PG_FUNCTION_ARGS)
{
	int			na;
	int			nb;
	float4	   *a = vector_argument(PG_GETARG_ARRAYTYPE_P(0), "a", &na);
	float4	   *b = vector_argument(PG_GETARG_ARRAYTYPE_P(1), "b", &nb);
	double		c;

	if (na != nb)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("cannot compare embeddings of %d and %d dimensions", na, nb)));
	if (!vector_all_finite(a, na) || !vector_all_finite(b, nb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an embedding must not hold NaN or infinity")));
	if (!vector_cosine(a, b, na, &c))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(c);
}

/*
 * tidal._item_vector(item bigint, tenant bigint DEFAULT 0)
 *    RETURNS TABLE (arm bigint, embedding real[])
 *
 * What shared memory holds of an item for ranking: its arm (the hash of its
 * metadata's "topic", else "source"; NULL if neither) and its embedding as
 * kept there (unit length, in steps of 1/127; NULL if it has none).  No row
 * if the facts do not hold the item.
 */
Datum
tidal_item_vector(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TenantInfo	tenant;
	int64		item;
	uint64		arm;
	int8	   *q;
	int			dims = tidal_embedding_dimensions;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	bool		has;

	tidal_require_preload();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("item must not be NULL")));
	item = PG_GETARG_INT64(0);
	tidal_ensure_loaded();
	(void) tenant_argument(fcinfo, 1, &tenant);
	InitMaterializedSRF(fcinfo, 0);
	if (!facts_item_known(tenant.tenant, item))
		return (Datum) 0;
	q = palloc(Max(dims, 1));
	has = facts_item_vector(tenant.tenant, item, &arm, q);
	values[0] = Int64GetDatum((int64) arm);
	nulls[0] = arm == 0;
	if (has)
	{
		Datum	   *elems = palloc(sizeof(Datum) * dims);
		int			i;

		for (i = 0; i < dims; i++)
			elems[i] = Float4GetDatum((float4) q[i] / 127.0f);
		values[1] = PointerGetDatum(construct_array(elems, dims, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT));
	}
	else
		nulls[1] = true;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}
