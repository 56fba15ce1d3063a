/*
 * state/clock.h
 *    This node's hybrid logical clock, shared by all backends of the
 *    instance (see state/clock.c).
 *
 * May call: core/, pg/, log/, state/.
 */
#ifndef TIDAL_CLOCK_H
#define TIDAL_CLOCK_H

#include "postgres.h"

#include "core/hlc.h"

/* this node's clock (shared by all backends of the instance) */
extern TidalHlc hlc_clock_now(void);
extern TidalHlc hlc_clock_receive(const TidalHlc *remote);	/* errors if too far ahead */
extern void hlc_clock_observe(const TidalHlc *seen);	/* advance, never errors */

/*
 * Is seen at most tidal.max_clock_offset ahead of the local physical clock?
 * (*ahead_ns: by how much it is ahead.)  hlc_check_offset errors if not,
 * naming what was seen.  A replicated record must pass it before its HLC
 * may reach hlc_clock_observe (apply.c), and replay adopts no HLC that
 * fails it (recovery.c): one far-future record cannot exhaust the clock.
 */
extern bool hlc_within_offset(const TidalHlc *seen, int64 *ahead_ns);
extern void hlc_check_offset(const TidalHlc *seen, const char *what);

/* shared memory for the clock; called from tidal.c's hooks */
extern Size hlc_shmem_size(void);
extern void hlc_shmem_init(void);

#endif							/* TIDAL_CLOCK_H */
