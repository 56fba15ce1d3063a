/*
 * state/recovery.h
 *    Making the hot state reflect the durable log: on first use after a
 *    server start (or after the extension was re-created), it is rebuilt.
 *
 *    May call: core/, pg/, log/, state/.
 */
#ifndef TIDAL_RECOVERY_H
#define TIDAL_RECOVERY_H

/*
 * Every SQL function that reads or writes the hot state calls this first:
 * if this database's hot state is not loaded, it is rebuilt (by the rebuild
 * registered with tidal_set_rebuild).
 */
extern void tidal_ensure_loaded(void);

/*
 * The rebuild (apply/recovery.c registers it at _PG_init): called when the
 * hot state is not loaded; it waits out writers, checks again, and marks it
 * loaded once rebuilt.
 */
typedef void (*tidal_rebuild_fn) (void);
extern void tidal_set_rebuild(tidal_rebuild_fn rebuild);

/* forget this database's hot state; the next use rebuilds it */
extern void tidal_reset_state(void);

#endif							/* TIDAL_RECOVERY_H */
