/*
 * workers/snapshotter.h
 *    The snapshot worker (bgw_name "tidal snapshotter"): every
 *    tidal.snapshot_interval, takes a snapshot of the hot state if the log
 *    moved on, then asks the peers what they have applied and compacts the
 *    log (workers/snapshotter.c).  May call: every folder of src/ but
 *    tidal.c.
 */
#ifndef TIDAL_SNAPSHOTTER_H
#define TIDAL_SNAPSHOTTER_H

#include "postgres.h"

/* register the worker (from _PG_init) */
extern void snapshotter_register(void);

#endif							/* TIDAL_SNAPSHOTTER_H */
