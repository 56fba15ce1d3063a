/*
 * state/stage.h
 *    Changes a transaction makes to the hot state, held in backend memory
 *    until the transaction commits (then applied) or aborts (then dropped).
 *    May call: core/, pg/, log/, state/.
 */
#ifndef TIDAL_STAGE_H
#define TIDAL_STAGE_H

#include "postgres.h"

#include "core/codec.h"
#include "state/state.h"

/*
 * Stage a signal record (encoded by codec.c) for the given resolved signal.
 * Reserves the hot-state entries its events need, so that applying at
 * commit cannot fail; with enforce_quotas (a local write), a tenant's
 * max_entities and max_storage_bytes quotas are checked as entries are
 * created.  The record is copied.
 */
extern void stage_signal_record(const char *record, Size len,
								int32 signal_id, const DecaySpec *spec, bool enforce_quotas);

/*
 * Stage whole states to add to n entries of one (signal, tenant): a moved
 * range's handoff (cluster/reshard.c).  Reserves the entries now, merges at
 * commit, as for a record.  The arrays are copied.
 */
extern void stage_merge_states(int32 signal_id, const DecaySpec *spec, int64 tenant,
							   const int64 *entities, const DecayState *states, int n);

/*
 * Drop the entries of a range of tenant 0 at commit, after everything this
 * transaction staged is counted (a shard's cut of a moved range).
 */
extern void stage_drop_range(const StateRange *range);

/* Drop what this transaction staged for a tenant (it moves out of this region). */
extern void stage_forget_tenant(int64 tenant);

/* Signal definitions changed in this transaction: other backends reload at commit. */
/* registers the transaction callbacks (from _PG_init, before ack_register) */
extern void stage_register(void);

extern void stage_definitions_changed(void);

/* Has this transaction staged events of the signal (in this database)? */
extern bool stage_has_signal(int32 signal_id);

/* Add this transaction's own uncommitted events for key to *state. */
extern void stage_overlay(const StateKey *key, const DecaySpec *spec, DecayState *state);

#endif							/* TIDAL_STAGE_H */
