/*
 * core/decay.h
 *    Pure arithmetic of decaying scores and windowed sums; no PostgreSQL I/O.
 *
 * A DecayState summarises every event of one (entity, signal):
 *
 *    sum    = Σ wᵢ · 2^((tᵢ − latest) / half_life)
 *    score(at) = sum · 2^(−(at − latest) / half_life)
 *
 * which equals Σ wᵢ · 2^(−(at − tᵢ)/half_life) exactly (up to rounding)
 * whatever order the events were added in.  Windows keep a ring of
 * DECAY_WINDOW_BUCKETS buckets, each window_len / DECAY_WINDOW_BUCKETS wide,
 * whose newest bucket is the one holding `latest`.
 *
 *    May call: core/ only (and PostgreSQL).
 */
#ifndef TIDAL_DECAY_H
#define TIDAL_DECAY_H

#include "c.h"

#define DECAY_MAX_WINDOWS		2
#define DECAY_WINDOW_BUCKETS	10
#define DECAY_EMPTY				PG_INT64_MIN

/* µs, as timestamptz stores time */
#define DECAY_USECS_PER_HOUR	INT64CONST(3600000000)

typedef struct DecaySpec
{
	double		half_life_us;
	int			nwindows;
	int64		window_us[DECAY_MAX_WINDOWS];	/* window length */
	int64		bucket_us[DECAY_MAX_WINDOWS];	/* window_us / DECAY_WINDOW_BUCKETS */
} DecaySpec;

typedef struct DecayState
{
	int64		latest_us;		/* time of the newest event; DECAY_EMPTY if none */
	double		sum;			/* decayed sum anchored at latest_us */
	double		buckets[DECAY_MAX_WINDOWS][DECAY_WINDOW_BUCKETS];
} DecayState;

extern void decay_init(DecayState *s);
extern void decay_add(DecayState *s, const DecaySpec *spec, double weight, int64 t_us);
/*
 * Add the events summarised by add to s: the state of the union of two
 * disjoint sets of events, as if decay_add had taken them one by one
 * (a moved range's entries joining its new shard's: cluster/reshard.c).
 */
extern void decay_merge(DecayState *s, const DecaySpec *spec, const DecayState *add);
extern double decay_score(const DecayState *s, const DecaySpec *spec, int64 at_us);
extern double decay_window_sum(const DecayState *s, const DecaySpec *spec,
							   int window, int64 at_us);

/* spec construction: false (and *why set) if the window length is unsupported */
extern bool decay_window_supported(int64 window_us, const char **why);
extern void decay_spec_init(DecaySpec *spec, int64 half_life_us,
							int nwindows, const int64 *window_us);

#endif							/* TIDAL_DECAY_H */
