/*
 * pg/jsonb_filter.h
 *    A jsonb filter prepared once and tested against many values, deciding
 *    value @> filter exactly as jsonb_contains does: tidal.retrieve's filter
 *    over the metadata of every candidate (state/facts.c).
 *
 *    May call: core/, pg/.
 */
#ifndef TIDAL_JSONB_FILTER_H
#define TIDAL_JSONB_FILTER_H

#include "postgres.h"

#include "utils/jsonb.h"

typedef struct JsonbFilter JsonbFilter;

/* NULL for a NULL filter (everything matches); allocated in the current context */
extern JsonbFilter *jsonb_filter_prepare(Jsonb *filter);
/* value @> filter; value may live in shared memory (it is only read) */
extern bool jsonb_filter_matches(JsonbFilter *f, const Jsonb *value);
extern void jsonb_filter_free(JsonbFilter *f);

#endif							/* TIDAL_JSONB_FILTER_H */
