/*
 * ranking/hide.h
 *    Hard negatives: items a user hid and creators a user blocked.
 *
 *    May call: core/, pg/, log/, state/, cluster/, ranking/.
 */
#ifndef TIDAL_HIDE_H
#define TIDAL_HIDE_H

#include "postgres.h"

#include "core/codec.h"

/*
 * Merge a hide record (kind 4), local or replicated, into tidal.hides in
 * the current transaction: the greatest hide and unhide HLCs are kept.  The
 * caller has checked that this region stores the record's tenant.
 */
extern void hide_apply_record(const LogRecord *rec);

/* what one user currently hides: ascending, distinct ids */
typedef struct HiddenSet
{
	int64	   *items;
	int			nitems;
	int64	   *creators;
	int			ncreators;
} HiddenSet;

/* load the user's hidden items and blocked creators, as this transaction sees them */
extern void hide_load(int64 tenant, int64 user_id, HiddenSet *set);

/* is id in a sorted array? */
extern bool hide_contains(const int64 *sorted, int n, int64 id);

/* sort ids ascending (a radix sort; tidal.retrieve sorts its candidates with it too) */
extern void hide_sort_ids(int64 *ids, int n);

#endif							/* TIDAL_HIDE_H */
