/*
 * apply/transfer.h
 *    State transfer (docs/operations.md, "State transfer"): a region that is
 *    new, or too far behind for the log its peers still hold, receives a
 *    peer's snapshot, and then continues with the batches after it.  The
 *    SQL functions are tidal._transfer (serving) and tidal.transfer_state
 *    (receiving); see transfer.c.
 *
 *    May call: core/, pg/, log/, state/, replication/, cluster/, signals/,
 *    ranking/, apply/.
 */
#ifndef TIDAL_TRANSFER_H
#define TIDAL_TRANSFER_H

#include "postgres.h"

/* receive a peer's state, in the caller's transaction; the installed snapshot's id */
extern int64 transfer_state_from(int32 region);

#endif							/* TIDAL_TRANSFER_H */
