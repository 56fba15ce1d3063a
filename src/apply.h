/*
 * apply.h
 *    The one function through which every event reaches the hot state:
 *    local commits, replay after a restart, and (later) replicated batches.
 */
#ifndef TIDAL_APPLY_H
#define TIDAL_APPLY_H

#include "postgres.h"

#include "codec.h"

/*
 * Apply every event of a decoded signal record.  Never errors.  staged:
 * the record was staged by this backend (its entries are pinned, see
 * state_reserve), as opposed to replayed from the log.
 */
extern void apply_signal_record(const LogRecord *rec, Oid dboid, int32 signal_id,
								const DecaySpec *spec, bool staged);

#endif							/* TIDAL_APPLY_H */
