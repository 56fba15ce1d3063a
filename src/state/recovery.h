/*
 * state/recovery.h
 *    Making the hot state reflect the durable log: on first use after a
 *    server start (or after the extension was re-created), it is rebuilt.
 *
 * May call: core/, pg/, log/, state/.
 */
#ifndef TIDAL_RECOVERY_H
#define TIDAL_RECOVERY_H

#include "postgres.h"

/* every SQL function that reads or writes the hot state calls this first */
extern void tidal_ensure_loaded(void);

/* forget this database's hot state; the next use rebuilds it */
extern void tidal_reset_state(void);

/*
 * What a rebuild needs of the tenants' registry, which lives above this
 * layer (cluster/tenant.c; registered from _PG_init): load, before the
 * scan, the database's tenants (where each is stored, and their quotas);
 * and whether this region stores a tenant (false: its records were only
 * relayed here, and are not counted).  Without hooks, nothing is loaded
 * and every tenant counts.
 */
typedef void (*recovery_load_tenants_fn) (void);
typedef bool (*recovery_tenant_stored_fn) (int64 tenant);
extern void recovery_set_tenant_hooks(recovery_load_tenants_fn load,
									  recovery_tenant_stored_fn stored_here);

#endif							/* TIDAL_RECOVERY_H */
