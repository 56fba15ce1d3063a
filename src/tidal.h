/*
 * tidal.h
 *    Settings (GUCs) and small helpers shared by every tidal source file.
 *
 * tidal.c owns the definitions; everything else reads them.
 */
#ifndef TIDAL_H
#define TIDAL_H

#include "postgres.h"

/* GUCs, see tidal.c for their documentation */
extern int	tidal_node_id;
extern int	tidal_region_id;
extern int	tidal_shard_id;
extern int	tidal_max_clock_offset_ms;
extern int	tidal_max_entities;
extern int	tidal_max_tenants;
extern int	tidal_default_tenant_max_entities;
extern int	tidal_seal_interval_ms;
extern int	tidal_peer_timeout_ms;
extern int	tidal_degraded_after_ms;
extern int	tidal_offline_after_ms;
extern int	tidal_idempotency_window_s;
extern int	tidal_heartbeat_interval_ms;
extern int	tidal_commit_ack;
extern int	tidal_commit_ack_timeout_ms;

#define TIDAL_COMMIT_ACK_LOCAL	0
#define TIDAL_COMMIT_ACK_QUORUM	1
extern int	tidal_election_timeout_ms;
extern char *tidal_database;

/* Name of the LWLock tranche that holds all of tidal's fixed locks. */
#define TIDAL_LWLOCK_TRANCHE "tidal"

/*
 * Raise an error unless tidal was loaded through shared_preload_libraries;
 * every SQL function that touches shared memory calls it first.
 */
extern void tidal_require_preload(void);

/*
 * tidal's tables are reached only through its functions, which read and
 * write them as the extension's owner: callers need no table privileges.
 * tidal_become_owner also makes the operation security-restricted and pins
 * the search path to pg_catalog alone (no temporary schema); tidal_restore_user
 * undoes it all (an error does through the transaction's abort).
 */
typedef struct TidalSavedUser
{
	Oid			userid;
	int			sec_context;
} TidalSavedUser;

extern void tidal_become_owner(TidalSavedUser *saved);
extern void tidal_restore_user(const TidalSavedUser *saved);

/* the extension's owner (of schema tidal), cached per backend */
extern Oid	tidal_owner(void);

/* whether the role has the privileges of the extension's owner (superusers do) */
extern bool tidal_has_owner_privileges(Oid roleid);

/* qsort comparator for int64 */
static inline int
tidal_int64_cmp(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/*
 * splitmix64's finalizer: a well-mixed 64-bit hash of x, the same on every
 * platform and PostgreSQL version (shard routing relies on that; the hot
 * state's index hashes its keys with it too).
 */
static inline uint64
tidal_mix64(uint64 x)
{
	x ^= x >> 30;
	x *= UINT64CONST(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64CONST(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

#endif							/* TIDAL_H */
