/*
 * hlc.h
 *    The hybrid logical clock: the tidal.hlc type and this node's clock.
 *
 * A timestamp is (wall time in ns since the Unix epoch, logical counter,
 * node id), compared in that order (Kulkarni et al., 2014).
 */
#ifndef TIDAL_HLC_H
#define TIDAL_HLC_H

#include "postgres.h"
#include "fmgr.h"

typedef struct TidalHlc
{
	int64		wall_ns;
	int32		logical;
	int32		node;
} TidalHlc;

#define DatumGetHlcP(X)		((TidalHlc *) DatumGetPointer(X))
#define HlcPGetDatum(X)		PointerGetDatum(X)
#define PG_GETARG_HLC_P(n)	DatumGetHlcP(PG_GETARG_DATUM(n))
#define PG_RETURN_HLC_P(x)	return HlcPGetDatum(x)

/* total order: wall, then logical, then node */
extern int	hlc_compare(const TidalHlc *a, const TidalHlc *b);

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

#endif							/* TIDAL_HLC_H */
