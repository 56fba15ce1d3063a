/*
 * sealer.h
 *    The sealer background worker: seals committed log records into
 *    batches every tidal.seal_interval, and warms the hot state at start.
 */
#ifndef TIDAL_SEALER_H
#define TIDAL_SEALER_H

extern void sealer_register(void);

#endif							/* TIDAL_SEALER_H */
