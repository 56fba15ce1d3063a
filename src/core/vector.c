/*
 * core/vector.c
 *    Pure arithmetic of embeddings: finiteness and cosine similarity.
 *
 *    May call: core/ only (and PostgreSQL).
 */
#include "postgres.h"

#include <math.h>

#include "core/vector.h"

bool
vector_all_finite(const float4 *v, int n)
{
	int			i;

	for (i = 0; i < n; i++)
		if (!isfinite(v[i]))
			return false;
	return true;
}

void
vector_quantize_unit(const float4 *v, int n, int8 *out)
{
	double		norm = 0;
	int			i;

	for (i = 0; i < n; i++)
		norm += (double) v[i] * (double) v[i];
	norm = sqrt(norm);
	for (i = 0; i < n; i++)
	{
		double		q = norm > 0 ? rint((double) v[i] / norm * 127.0) : 0;

		out[i] = (int8) (q > 127 ? 127 : (q < -127 ? -127 : q));
	}
}

bool
vector_cosine(const float4 *a, const float4 *b, int n, double *result)
{
	double		dot = 0;
	double		aa = 0;
	double		bb = 0;
	double		c;
	int			i;

	for (i = 0; i < n; i++)
	{
		dot += (double) a[i] * (double) b[i];
		aa += (double) a[i] * (double) a[i];
		bb += (double) b[i] * (double) b[i];
	}
	if (aa <= 0 || bb <= 0)
		return false;
	c = dot / (sqrt(aa) * sqrt(bb));
	/* rounding may step just outside [-1, 1] */
	*result = c > 1 ? 1 : (c < -1 ? -1 : c);
	return true;
}
