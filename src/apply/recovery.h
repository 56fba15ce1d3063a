/*
 * apply/recovery.h
 *    The rebuild of the hot state from tidal's log (apply/recovery.c).
 *
 *    May call: core/, pg/, log/, state/, replication/, cluster/, signals/,
 *    ranking/, apply/.
 */
#ifndef TIDAL_APPLY_RECOVERY_H
#define TIDAL_APPLY_RECOVERY_H

/* At _PG_init: register the rebuild that tidal_ensure_loaded (state/) runs. */
extern void recovery_init(void);

#endif							/* TIDAL_APPLY_RECOVERY_H */
