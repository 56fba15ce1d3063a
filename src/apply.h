/*
 * apply.h
 *    The one function through which every event reaches the hot state:
 *    local commits, replay after a restart, and (later) replicated batches.
 */
#ifndef TIDAL_APPLY_H
#define TIDAL_APPLY_H

#include "postgres.h"

#include "codec.h"

/* Apply every event of a decoded signal record.  Never errors. */
extern void apply_signal_record(const LogRecord *rec, Oid dboid, int32 signal_id,
								const DecaySpec *spec);

#endif							/* TIDAL_APPLY_H */
