/*
 * replication/visible.h
 *    Whether a write, known by the HLC its call returned, is visible on
 *    this node (visible.c): the read side of `after =>` and of
 *    tidal.await_write.  May call: core/, pg/, log/, state/, replication/.
 */
#ifndef TIDAL_VISIBLE_H
#define TIDAL_VISIBLE_H

#include "postgres.h"

#include "fmgr.h"

#include "core/hlc.h"

/*
 * The `after` argument of a read (argument argno, a tidal.hlc): NULL if
 * the call has no such argument (SQL objects of an older version) or it is
 * NULL.
 */
extern const TidalHlc *visible_after_argument(FunctionCallInfo fcinfo, int argno);

/*
 * Wait until the write stamped `write` is visible here: this node wrote it,
 * or has applied the batch of its writer's log that holds it (as the
 * record, or as the elided record of a copy without it: then everything of
 * it this node stores).  Errors (55000, naming the writer and what this
 * node has of its log) after timeout_ms; returns how long it waited, in ms.
 */
extern int64 visible_await_write(const TidalHlc *write, int timeout_ms);

#endif							/* TIDAL_VISIBLE_H */
