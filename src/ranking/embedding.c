/*
 * ranking/embedding.c
 *    Owns the SQL face of embeddings: tidal.similarity.  The embeddings
 *    themselves ride on item records (ranking/items.c), are checked by
 *    pg/validate.c and compared by core/vector.c.
 *
 *    May call: core/, pg/.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"

#include "core/vector.h"

PG_FUNCTION_INFO_V1(tidal_similarity);

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
