/*
 * validate.c
 *    Range checks of times, weights, half-lives, windows and scores (see
 *    validate.h for the ranges and why they are exact).
 *
 * These are plain functions without SPI or catalog access: they sit on the
 * hot path of tidal.signal and tidal.signal_batch, and the apply path of
 * replicated records calls the same ones, so that a record from a peer is
 * held to what local input is.  The fast checks are inline in validate.h;
 * the functions here raise the errors.
 */
#include "postgres.h"

#include <math.h>

#include "common/int.h"
#include "utils/timestamp.h"

#include "decay.h"
#include "validate.h"

#define RANGE_HINT \
	"tidal stores times from " TIDAL_MIN_TIME_TEXT " to " TIDAL_MAX_TIME_TEXT "."

static void
time_out_of_range(const char *what, const char *given)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
			 errmsg("%s is out of the range tidal supports", what),
			 errdetail("The time given was %s.", given),
			 errhint(RANGE_HINT)));
}

int64
tidal_time_usecs(TimestampTz ts, const char *what)
{
	int64		unix_us;

	if (unlikely(TIMESTAMP_NOT_FINITE(ts)))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("%s must be a finite timestamp", what)));
	if (unlikely(pg_add_s64_overflow(ts, TIDAL_UNIX_EPOCH_OFFSET_US, &unix_us) ||
				 !tidal_time_in_range(unix_us)))
		time_out_of_range(what, timestamptz_to_str(ts));
	return unix_us;
}

void
tidal_check_time_us(int64 unix_us, const char *what)
{
	if (unlikely(!tidal_time_in_range(unix_us)))
	{
		char		given[64];

		snprintf(given, sizeof(given), INT64_FORMAT " µs after 1970-01-01 00:00:00+00", unix_us);
		time_out_of_range(what, given);
	}
}

int64
tidal_time_filter_usecs(TimestampTz ts)
{
	int64		unix_us;

	if (TIMESTAMP_IS_NOBEGIN(ts))
		return PG_INT64_MIN;
	if (TIMESTAMP_IS_NOEND(ts))
		return PG_INT64_MAX;
	if (pg_add_s64_overflow(ts, TIDAL_UNIX_EPOCH_OFFSET_US, &unix_us))
		return ts < 0 ? PG_INT64_MIN : PG_INT64_MAX;
	if (unix_us < TIDAL_MIN_TIME_US)
		return PG_INT64_MIN;
	if (unix_us > TIDAL_MAX_TIME_US)
		return PG_INT64_MAX;
	return unix_us;
}

void
tidal_check_weight(double w)
{
	/* not a number at all: an invalid argument, as tidal has always said */
	if (isnan(w) || isinf(w))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("signal weight must be a finite number"),
				 errdetail("The weight given was %g.", w)));
	if (!tidal_weight_in_range(w))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("signal weight is out of the range tidal supports"),
				 errdetail("The weight given was %g.", w),
				 errhint("A weight is at most %g in absolute value.", TIDAL_MAX_ABS_WEIGHT)));
}

void
tidal_check_half_life_us(int64 half_life_us)
{
	if (half_life_us <= 0 || half_life_us > TIDAL_MAX_HALF_LIFE_US)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("half-life must be positive and at most 100 years"),
				 errdetail("The half-life given was " INT64_FORMAT " µs.", half_life_us)));
}

void
tidal_check_window_us(int64 window_us)
{
	const char *why;

	if (!decay_window_supported(window_us, &why))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unsupported window of " INT64_FORMAT " µs", window_us),
				 errdetail("%c%s.", pg_toupper((unsigned char) why[0]), why + 1)));
}

double
tidal_check_score(double x, int64 at_us, const char *what)
{
	if (unlikely(isnan(x) || isinf(x)))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s at this time is out of the range of double precision", what),
				 errdetail("Read at " INT64_FORMAT " µs after 1970-01-01 00:00:00+00, far enough before "
						   "an event that doubling once per half-life back to it overflows.", at_us),
				 errhint("Read at a time closer to the events, or after them.")));
	return x;
}
