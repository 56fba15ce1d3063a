/*
 * core/vector.h
 *    Pure arithmetic of embeddings (vector.c): finiteness and cosine
 *    similarity of float4 vectors; no PostgreSQL I/O.
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

#endif							/* TIDAL_VECTOR_H */
