/*
 * core/vector.c
 *    Pure arithmetic of embeddings: finiteness, cosine similarity, and
 *    decaying vector sums (vector.h).
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

double
vector_norm(const float4 *a, int n)
{
	double		aa = 0;
	int			i;

	for (i = 0; i < n; i++)
		aa += (double) a[i] * (double) a[i];
	return sqrt(aa);
}

void
decay_vector_init(DecayVector *v, int dims)
{
	v->latest_us = PG_INT64_MIN;
	v->mass = 0;
	memset(v->vec, 0, sizeof(float4) * dims);
}

/* scale the whole sum by f */
static void
scale(DecayVector *v, int dims, double f)
{
	int			i;

	v->mass *= f;
	for (i = 0; i < dims; i++)
		v->vec[i] = (float4) (v->vec[i] * f);
}

void
decay_vector_add(DecayVector *v, int dims, double half_life_us, double weight, int64 t_us, const int8 *q)
{
	double		w = weight;
	int			i;

	if (v->latest_us == PG_INT64_MIN)
		v->latest_us = t_us;
	else if (t_us > v->latest_us)
	{
		/* re-anchor at the newer event: what was there fades by the time between */
		scale(v, dims, exp2((double) (v->latest_us - t_us) / half_life_us));
		v->latest_us = t_us;
	}
	else
		w = weight * exp2((double) (t_us - v->latest_us) / half_life_us);
	v->mass += w;
	if (q != NULL)
		for (i = 0; i < dims; i++)
			v->vec[i] = (float4) (v->vec[i] + w * q[i] / 127.0);
}

void
decay_vector_merge(DecayVector *v, int dims, double half_life_us, const DecayVector *add)
{
	double		f;
	int			i;

	if (add->latest_us == PG_INT64_MIN)
		return;
	if (v->latest_us == PG_INT64_MIN)
	{
		memcpy(v, add, offsetof(DecayVector, vec) + sizeof(float4) * dims);
		return;
	}
	if (add->latest_us > v->latest_us)
	{
		scale(v, dims, exp2((double) (v->latest_us - add->latest_us) / half_life_us));
		v->latest_us = add->latest_us;
	}
	f = exp2((double) (add->latest_us - v->latest_us) / half_life_us);
	v->mass += add->mass * f;
	for (i = 0; i < dims; i++)
		v->vec[i] = (float4) (v->vec[i] + add->vec[i] * f);
}

double
decay_vector_factor(const DecayVector *v, double half_life_us, int64 at_us)
{
	if (v->latest_us == PG_INT64_MIN)
		return 0;
	return exp2((double) (v->latest_us - at_us) / half_life_us);
}
