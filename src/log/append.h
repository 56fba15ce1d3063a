/*
 * log/append.h
 *    Appending a record its writer encoded, checked first (log/append.c).
 *
 *    May call: core/, pg/, log/.
 */
#ifndef TIDAL_LOG_APPEND_H
#define TIDAL_LOG_APPEND_H

#include "postgres.h"

#include "core/codec.h"

/*
 * Decode one encoded record (an error if it is not exactly one well-formed
 * record: tidal encoded it wrongly), append it to tidal's log in the
 * caller's transaction, and return it decoded in *rec (pointing into data),
 * for its writer to apply.
 */
extern void log_append_record(const char *data, Size len, LogRecord *rec);

#endif							/* TIDAL_LOG_APPEND_H */
