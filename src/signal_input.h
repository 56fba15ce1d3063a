/*
 * signal_input.h
 *    Validation and conversion of signal event input (times, weights).
 */
#ifndef TIDAL_SIGNAL_INPUT_H
#define TIDAL_SIGNAL_INPUT_H

#include "postgres.h"

#include "datatype/timestamp.h"

/* µs between the Unix epoch and PostgreSQL's (2000-01-01) */
#define TIDAL_UNIX_EPOCH_OFFSET_US \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY)

/* a finite timestamptz as µs since the Unix epoch; errors on ±infinity */
extern int64 signal_time_usecs(TimestampTz ts, const char *what);

/* errors unless w is a finite number */
extern void signal_check_weight(double w);

#endif							/* TIDAL_SIGNAL_INPUT_H */
