/*
 * sealer.h
 *    The sealer background worker: seals committed log records into
 *    batches every tidal.seal_interval, and warms the hot state at start.
 */
#ifndef TIDAL_SEALER_H
#define TIDAL_SEALER_H

extern void sealer_register(void);

/* shared memory: where to find the sealer, to wake it */
extern Size sealer_shmem_size(void);
extern void sealer_shmem_init(void);

/* a transaction that wrote to tidal's log committed: seal it soon */
extern void sealer_wake(void);

/* channel on which a node announces new batches (sealed or received) */
#define TIDAL_NOTIFY_CHANNEL "tidal_batches"

#endif							/* TIDAL_SEALER_H */
