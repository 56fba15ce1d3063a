/*
 * workers/maintenance.h
 *    The maintenance background worker (bgw_name "tidal sealer"): warms the
 *    hot state at start, then every tidal.seal_interval (or when a commit
 *    wakes it) seals committed log records into batches, starts missing
 *    receivers, forgets expired idempotency keys and ticks migrations
 *    (workers/maintenance.c).  May call: every folder of src/ but tidal.c.
 */
#ifndef TIDAL_MAINTENANCE_H
#define TIDAL_MAINTENANCE_H

#include "postgres.h"

/* register the worker (from _PG_init) */
extern void maintenance_register(void);

#endif							/* TIDAL_MAINTENANCE_H */
