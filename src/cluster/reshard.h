/*
 * cluster/reshard.h
 *    Online resharding (reshard.c): tidal.move_shard_range, the cut by which
 *    a range's old shard hands its hot-state entries to the new one in each
 *    region (a handoff, log record kind 10), the hand-on of late events, and
 *    the wait of the new shard's reads for its region's handoff.
 *
 *    May call: core/, pg/, log/, state/, replication/, cluster/.
 */
#ifndef TIDAL_RESHARD_H
#define TIDAL_RESHARD_H

#include "postgres.h"

#include "core/codec.h"
#include "core/snapfmt.h"
#include "state/catalog.h"

/*
 * The moves a replicated map lists (JSON array of {version, entities, from,
 * to}): each one this node did not know is recorded in tidal.range_moves,
 * and one this node's shard must hand over is cut now, in this transaction.
 */
extern void reshard_learn_moves(const char *moves_json);

/* every move this node knows of, then new_move (JSON object text, or NULL), as a JSON array */
extern char *reshard_moves_json(const char *new_move);

/* is a handoff record for this node (its region, its shard)? */
extern bool reshard_handoff_is_mine(const LogRecord *rec);

/*
 * The entries of a handoff record, of one signal: hot-state entries
 * (states: fn(def, entities, states, n, arg)), or the idempotency keys of
 * writes they count (keyed: one call each); errors if malformed.
 */
typedef void (*reshard_states_fn) (const SignalDef *def, const int64 *entities, const DecayState *states,
								   int n, void *arg);
typedef void (*reshard_keyed_fn) (const SignalDef *def, const SnapKeyed *k, void *arg);
extern void reshard_handoff_entries(const LogRecord *rec, reshard_states_fn states, reshard_keyed_fn keyed,
									void *arg);

/* apply a handoff record that arrived from this region's old shard (live: staged to commit) */
extern void reshard_apply_handoff(const LogRecord *rec);

/*
 * A replicated signal record routed to this shard: log again, routed to the
 * new shard and counted in this region only, the events of ranges this
 * shard has handed over (they arrived after its cut).
 */
extern void reshard_hand_on(const LogRecord *whole);

/*
 * Wait (up to tidal.peer_timeout) until this node's shard has its region's
 * handoff of the entity's range (any: of every range moving to it); then
 * an error.
 */
extern void reshard_await_handoff(bool any, int64 entity);

/* wait (up to timeout_ms) until this node's shard map is at least version; false if it is not */
extern bool reshard_await_map_version(int64 version, int timeout_ms);

#endif							/* TIDAL_RESHARD_H */
