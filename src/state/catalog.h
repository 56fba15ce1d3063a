/*
 * state/catalog.h
 *    Signal definitions: the tidal.signal_defs table and a per-backend cache
 *    of it, kept fresh through a shared generation counter.
 *
 *    May call: core/, pg/, log/, state/.
 */
#ifndef TIDAL_CATALOG_H
#define TIDAL_CATALOG_H

#include "postgres.h"

#include "datatype/timestamp.h"

#include "core/decay.h"
#include "pg/validate.h"			/* SIGNAL_NAME_MAXLEN */

typedef struct SignalDef
{
	char		name[SIGNAL_NAME_MAXLEN + 1];	/* hash key: first */
	int32		id;
	DecaySpec	spec;
	int			polarity;		/* 1: a positive reaction, -1: a negative one, 0: neither (0.8) */
} SignalDef;

/* NULL when missing and missing_ok; otherwise an error naming the signal */
extern const SignalDef *catalog_signal(const char *name, bool missing_ok);
/* signal name from a log record (not NUL-terminated) */
extern const SignalDef *catalog_signal_n(const char *name, int len, bool missing_ok);

/* every defined signal, in definition order (palloc'd array of *n pointers) */
extern const SignalDef **catalog_all_signals(int *n);

/* which of the signal's windows has this length; errors if none */
extern int	catalog_window_index(const SignalDef *def, int64 window_us);

/* forget this backend's cache (after this transaction changed definitions) */
extern void catalog_invalidate(void);

/* an interval argument in µs: days and time only, no months (22023) */
extern int64 catalog_interval_usecs(const Interval *iv, const char *what);

#endif							/* TIDAL_CATALOG_H */
