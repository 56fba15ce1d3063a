/*
 * validate.h
 *    The ranges tidal's arithmetic is exact in, and the checks that keep
 *    every input inside them (see validate.c).
 *
 * Every entry point that takes a time, a weight, a half-life or a window,
 * whether from SQL or from a replicated record, goes through these, so that
 * a finite input never produces an infinite or NaN score, and no sum of
 * timestamps or differences of two of them can wrap.
 */
#ifndef TIDAL_VALIDATE_H
#define TIDAL_VALIDATE_H

#include "postgres.h"

#include "datatype/timestamp.h"

/*
 * Times tidal stores: [1678-01-01 00:00:00 UTC, 2262-01-01 00:00:00 UTC],
 * as µs since the Unix epoch.  Inside this range a time is also a valid HLC
 * wall clock (an int64 of ns since 1970 holds 1677-09-21 .. 2262-04-11),
 * and the difference of two times (at most 584 years, 1.9e16 µs) is far from
 * int64's limits, so decay and window arithmetic never overflows.
 */
#define TIDAL_MIN_TIME_US	(INT64CONST(-9214560000) * INT64CONST(1000000))
#define TIDAL_MAX_TIME_US	(INT64CONST(9214646400) * INT64CONST(1000000))
#define TIDAL_MIN_TIME_TEXT	"1678-01-01 00:00:00+00"
#define TIDAL_MAX_TIME_TEXT	"2262-01-01 00:00:00+00"

/*
 * Weights: finite, |w| <= 1e15.  Integers up to 2^53 (9e15) are exact in a
 * double, and it takes more than 1e290 events of the largest weight for a
 * decayed sum to overflow.
 */
#define TIDAL_MAX_ABS_WEIGHT	1e15

/* half-lives: (0, 100 years]; windows: decay_window_supported() */
#define TIDAL_MAX_HALF_LIFE_US	(INT64CONST(100) * 365 * USECS_PER_DAY)

/* µs between the Unix epoch and PostgreSQL's (2000-01-01) */
#define TIDAL_UNIX_EPOCH_OFFSET_US \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY)

static inline bool
tidal_time_in_range(int64 unix_us)
{
	return unix_us >= TIDAL_MIN_TIME_US && unix_us <= TIDAL_MAX_TIME_US;
}

static inline bool
tidal_weight_in_range(double w)
{
	/* false for NaN too: every comparison with NaN is false */
	return w >= -TIDAL_MAX_ABS_WEIGHT && w <= TIDAL_MAX_ABS_WEIGHT;
}

/* a timestamptz as µs since the Unix epoch, in the supported range (22008) */
extern int64 tidal_time_usecs(TimestampTz ts, const char *what);

/* errors 22008 unless a time in µs since the Unix epoch is in range */
extern void tidal_check_time_us(int64 unix_us, const char *what);

/*
 * A bound of a time filter (export's since and until): ±infinity and times
 * outside the supported range saturate to PG_INT64_MIN / PG_INT64_MAX,
 * which no stored time reaches; never errors, never wraps.
 */
extern int64 tidal_time_filter_usecs(TimestampTz ts);

/* errors 22023 if w is NaN or infinite, 22003 if |w| > TIDAL_MAX_ABS_WEIGHT */
extern void tidal_check_weight(double w);

/* errors 22008 unless 0 < half_life_us <= TIDAL_MAX_HALF_LIFE_US */
extern void tidal_check_half_life_us(int64 half_life_us);

/* errors 22008 unless decay_window_supported(window_us) */
extern void tidal_check_window_us(int64 window_us);

/*
 * A score computed at at_us: errors 22003 if it is not finite (a read far
 * before an entity's newest event, where 2^((latest - at) / half_life)
 * exceeds a double).  Returns x.
 */
extern double tidal_check_score(double x, int64 at_us, const char *what);

#endif							/* TIDAL_VALIDATE_H */
