/*
 * core/util.h
 *    Small pure helpers shared by every layer.
 *
 *    May call: core/ only (and PostgreSQL).
 */
#ifndef TIDAL_UTIL_H
#define TIDAL_UTIL_H

#include "postgres.h"

/* qsort comparator for int64 */
static inline int
tidal_int64_cmp(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/*
 * splitmix64's finalizer: a well-mixed 64-bit hash of x, the same on every
 * platform and PostgreSQL version (shard routing relies on that; the hot
 * state's index hashes its keys with it too).
 */
static inline uint64
tidal_mix64(uint64 x)
{
	x ^= x >> 30;
	x *= UINT64CONST(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64CONST(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

#endif							/* TIDAL_UTIL_H */
