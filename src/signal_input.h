/*
 * signal_input.h
 *    Validation and conversion of signal event input (times, weights);
 *    the ranges and the checks themselves are in validate.h.
 */
#ifndef TIDAL_SIGNAL_INPUT_H
#define TIDAL_SIGNAL_INPUT_H

#include "postgres.h"

#include "datatype/timestamp.h"

#include "validate.h"

/* a timestamptz as µs since the Unix epoch, in the supported range (22008) */
static inline int64
signal_time_usecs(TimestampTz ts, const char *what)
{
	return tidal_time_usecs(ts, what);
}

/* errors (22003) unless w is a finite number within ±TIDAL_MAX_ABS_WEIGHT */
static inline void
signal_check_weight(double w)
{
	if (unlikely(!tidal_weight_in_range(w)))
		tidal_check_weight(w);
}

#endif							/* TIDAL_SIGNAL_INPUT_H */
