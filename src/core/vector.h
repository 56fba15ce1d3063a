/*
 * core/vector.h
 *    Pure arithmetic of embeddings (vector.c): finiteness and cosine
 *    similarity of float4 vectors, and decaying vector sums (a user's
 *    interest in an arm); no PostgreSQL I/O.
 *
 *    May call: core/ only (and PostgreSQL).
 */
#ifndef TIDAL_VECTOR_H
#define TIDAL_VECTOR_H

#include "c.h"

/* is every element finite (no NaN, no infinity)? */
extern bool vector_all_finite(const float4 *v, int n);

/*
 * Cosine similarity of a and b (n elements each), in double precision,
 * into *result (in [-1, 1]); false if either has length 0 (all zeros):
 * then there is no angle to speak of.
 */
extern bool vector_cosine(const float4 *a, const float4 *b, int n, double *result);

/*
 * v scaled to unit length and quantized to int8 (each element times 127,
 * rounded): the form in which an embedding is kept in shared memory and
 * carried by signal records.  v must have a length (vector_cosine).
 */
extern void vector_quantize_unit(const float4 *v, int n, int8 *out);

/*
 * cosine similarity of a float4 vector a, of length a_norm (vector_norm),
 * and an int8 one (a quantized unit embedding); 0 if either is zero
 */
extern double vector_cosine_qn(const float4 *a, double a_norm, const int8 *q, int n);
extern double vector_norm(const float4 *a, int n);

/*
 * A decaying vector sum, as core/decay.h keeps a score, anchored at the
 * newest event:
 *
 *    mass = Σ wᵢ · 2^((tᵢ − latest) / h)
 *    vec  = Σ wᵢ · 2^((tᵢ − latest) / h) · qᵢ / 127
 *
 * (qᵢ an event's int8 unit embedding, or none: then it adds to mass only).
 * Read at any time by one factor, 2^(−(at − latest) / h), whatever order the
 * events were added in; two sums of disjoint events merge by addition.
 */
typedef struct DecayVector
{
	int64		latest_us;		/* the newest event's time; PG_INT64_MIN: none */
	double		mass;
	float4		vec[FLEXIBLE_ARRAY_MEMBER];
} DecayVector;

#define DECAY_VECTOR_SIZE(dims) MAXALIGN(offsetof(DecayVector, vec) + sizeof(float4) * (dims))

extern void decay_vector_init(DecayVector *v, int dims);
extern void decay_vector_add(DecayVector *v, int dims, double half_life_us, double weight,
							 int64 t_us, const int8 *q);
extern void decay_vector_merge(DecayVector *v, int dims, double half_life_us, const DecayVector *add);
/* what mass and vec are worth at at_us: multiply them by this */
extern double decay_vector_factor(const DecayVector *v, double half_life_us, int64 at_us);

#endif							/* TIDAL_VECTOR_H */
