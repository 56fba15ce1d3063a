/*
 * state/recovery.h
 *    Making the hot state reflect the durable log: on first use after a
 *    server start (or after the extension was re-created), it is rebuilt.
 *
 * May call: core/, pg/, log/, state/.
 */
#ifndef TIDAL_RECOVERY_H
#define TIDAL_RECOVERY_H

/* every SQL function that reads or writes the hot state calls this first */
extern void tidal_ensure_loaded(void);

/* forget this database's hot state; the next use rebuilds it */
extern void tidal_reset_state(void);

#endif							/* TIDAL_RECOVERY_H */
