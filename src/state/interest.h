/*
 * state/interest.h
 *    Users' interests and the bandit's counts in shared memory (issue 16):
 *    one decaying vector sum (core/vector.h) per (database, signal, tenant,
 *    user, arm), added to by every committed signal record that carries an
 *    interest part (codec flag LOG_SIGNAL_HAS_INTEREST), and the names of
 *    the arms items were seen with.
 *
 *    Like the hot state (state.c) it holds committed events only, is
 *    rebuilt from the log and snapshots, and is counted where the event is:
 *    by the shard that owns the item.  May call: core/, pg/, state/.
 */
#ifndef TIDAL_INTEREST_H
#define TIDAL_INTEREST_H

#include "postgres.h"

#include "core/codec.h"
#include "core/decay.h"
#include "core/vector.h"

#define INTEREST_ARM_NAME_LEN	64	/* bytes of an arm's name kept (with its NUL) */

typedef struct InterestKey
{
	Oid			dboid;
	int32		signal_id;
	int64		tenant;
	int64		user;
	uint64		arm;
} InterestKey;

static inline void
interest_key_init(InterestKey *key, Oid dboid, int32 signal_id, int64 tenant, int64 user, uint64 arm)
{
	memset(key, 0, sizeof(*key));	/* keys are hashed as bytes */
	key->dboid = dboid;
	key->signal_id = signal_id;
	key->tenant = tenant;
	key->user = user;
	key->arm = arm;
}

/* shared-memory set-up (tidal.c hooks), with its own LWLock tranche */
extern void interest_shmem_request(void);
extern void interest_shmem_init(void);

/* the size of a DecayVector of tidal.embedding_dimensions */
extern Size interest_sum_size(void);

/*
 * Add a committed record's interest part (if it has one) to its user's sum.
 * Never errors: it runs in the commit callback.  A full table is counted
 * (interest_overflows) and the event left out of the interests only.
 */
extern void interest_apply_record(const LogRecord *rec, Oid dboid, int32 signal_id, const DecaySpec *spec);

/* add a whole sum (a snapshot's) to an entry; false if the table is full */
extern bool interest_install(const InterestKey *key, double half_life_us, const DecayVector *sum);

/* an entry's sum into *out (interest_sum_size bytes); false if there is none */
extern bool interest_read(const InterestKey *key, DecayVector *out);

/* arms: remember an arm's name (from an item's metadata), look one up, list them */
extern void interest_note_arm(uint64 arm, const char *name, int len);
extern bool interest_arm_name(uint64 arm, char *out);	/* out: INTEREST_ARM_NAME_LEN bytes */
extern int	interest_known_arms(uint64 **out);

/* lifecycle, with the hot state's (state.c) */
extern void interest_db_clear(Oid dboid);
extern void interest_drop_tenant(Oid dboid, int64 tenant);

/* monitoring */
extern int64 interest_entry_count(Oid dboid);
extern int64 interest_overflows(void);

#endif							/* TIDAL_INTEREST_H */
