/*
 * core/vector_dot.c
 *    The cosine of a float4 vector and a quantized unit embedding (int8),
 *    the innermost loop of tidal.retrieve with an interest measure: one per
 *    candidate and interest, 40,000 in a feed over 10,000 items.  Alone in
 *    its file because it is compiled for the vector unit (the Makefile adds
 *    -ftree-vectorize and lets the float sum be reassociated, as pgvector
 *    does for its distances): the sum's order then depends on the
 *    compiler, to float precision, which a ranking does not notice and an
 *    exact result elsewhere (tidal.similarity, vector_cosine) would.
 *
 *    May call: core/.
 */
#include "postgres.h"

#include <math.h>

#include "core/vector.h"

double
vector_cosine_qn(const float4 *a, double a_norm, const int8 *q, int n)
{
	float4		dot = 0;
	int32		qq = 0;
	int			i;

	for (i = 0; i < n; i++)
		dot += a[i] * (float4) q[i];
	for (i = 0; i < n; i++)
		qq += (int32) q[i] * (int32) q[i];
	if (a_norm <= 0 || qq <= 0)
		return 0;
	return (double) dot / (a_norm * sqrt((double) qq));
}
