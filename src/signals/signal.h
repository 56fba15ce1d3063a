/*
 * signals/signal.h
 *    Signal events (signal.c): the apply of signal records of other origins.
 *
 *    May call: core/, pg/, log/, state/, replication/, cluster/, signals/.
 */
#ifndef TIDAL_SIGNAL_H
#define TIDAL_SIGNAL_H

#include "postgres.h"

#include "core/codec.h"
#include "state/catalog.h"

/*
 * A signal record (kind 1) of another origin, of a tenant this region
 * stores: staged for commit, in the caller's transaction.  An error if its
 * signal is not defined here yet (the batch is retried once the definition
 * has arrived); a keyed write that lost to an earlier write of its key is
 * dropped, and one that wins takes back the write it replaces.
 */
extern void signal_apply_replicated(const LogRecord *rec);
/* a replicated signal record's definition; an error (the batch waits) until it has arrived */
extern const SignalDef *signal_require_defined(const LogRecord *rec);

#endif							/* TIDAL_SIGNAL_H */
