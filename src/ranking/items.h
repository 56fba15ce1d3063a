/*
 * ranking/items.h
 *    Items: tidal.upsert_item and the apply of item records (items.c).
 *
 *    May call: core/, pg/, log/, state/, cluster/.
 */
#ifndef TIDAL_ITEMS_H
#define TIDAL_ITEMS_H

#include "postgres.h"

#include "core/codec.h"

/*
 * Merge an item record (kind 3), local or replicated, into tidal.item_data
 * in the current transaction: the later HLC wins; a write it takes reaches
 * the item facts in shared memory at commit (state/facts.c).  The caller
 * has checked that this region stores the record's tenant.
 */
extern void items_apply_record(const LogRecord *rec);

#endif							/* TIDAL_ITEMS_H */
