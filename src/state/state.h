/*
 * state/state.h
 *    tidal's hot state in shared memory: one DecayState per
 *    (database, signal, tenant, entity), and per-database bookkeeping.
 *
 * Only committed events reach this state (see stage.c); it is rebuilt from
 * tidal's durable log after a restart (see recovery.c).  May call: core/,
 * pg/, log/, state/.
 */
#ifndef TIDAL_STATE_H
#define TIDAL_STATE_H

#include "postgres.h"

#include "port/atomics.h"

#include "core/codec.h"
#include "core/decay.h"

typedef struct StateKey
{
	Oid			dboid;
	int32		signal_id;
	int64		tenant;
	int64		entity;
} StateKey;

typedef struct StateEntry
{
	StateKey	key;			/* dboid InvalidOid: a free entry */
	pg_atomic_uint32 pins;		/* events staged by open transactions */
	int32		next_free;		/* the free list (state.c) */
	DecayState	decay;
} StateEntry;

static inline void
state_key_init(StateKey *key, Oid dboid, int32 signal_id, int64 tenant, int64 entity)
{
	memset(key, 0, sizeof(*key));	/* keys are hashed as bytes */
	key->dboid = dboid;
	key->signal_id = signal_id;
	key->tenant = tenant;
	key->entity = entity;
}

/* shared-memory set-up (tidal.c hooks), with its own LWLock tranche */
extern void state_shmem_request(void);
extern void state_shmem_init(void);

/*
 * Make sure an entry exists so that applying at commit cannot fail, and pin
 * it for one staged event; errors (before commit) if the state is full.
 * Each pin is dropped by state_apply(..., unpin = true) at commit or by
 * state_unreserve() at abort, which also frees an entry left without events.
 */
extern bool state_reserve(const StateKey *key);	/* true: the entry is new */
extern void state_unreserve(const StateKey *key);

/* Add one event.  Never errors: safe inside a commit callback. */
extern bool state_apply(const StateKey *key, const DecaySpec *spec,
						double weight, int64 t_us, bool unpin);

/*
 * Apply every event of a decoded signal record.  Never errors: it runs in
 * the commit callback (stage.c), where an error would be a PANIC.  Its
 * record and decay spec were validated before they were staged (local
 * input by the SQL functions, replicated records by apply_remote_batch,
 * definitions by validate.c before they reach the catalog), its entries
 * are pinned, and it only takes a partition lock and does floating-point
 * arithmetic.  staged: the record was staged by this backend (its entries
 * are pinned, see state_reserve), as opposed to replayed from the log
 * (recovery.c), which may warn that the state is full.
 */
extern void state_apply_record(const LogRecord *rec, Oid dboid, int32 signal_id,
							   const DecaySpec *spec, bool staged);

/*
 * Set whole states (a snapshot's, into a cleared state), n entities of one
 * (database, signal, tenant); false if the state is full.
 */
extern bool state_install_many(Oid dboid, int32 signal_id, int64 tenant, const int64 *entities,
							   const DecayState *states, int n);

/* Add a whole state (a handoff's) to an entry, as state_apply adds one event. */
extern bool state_merge(const StateKey *key, const DecaySpec *spec, const DecayState *add, bool unpin);

/* an entity range of tenant 0: [lo, hi), either end unbounded */
typedef struct StateRange
{
	bool		lo_inf;
	int64		lo;
	bool		hi_inf;
	int64		hi;
} StateRange;

static inline bool
state_range_holds(const StateRange *r, int64 entity)
{
	return (r->lo_inf || entity >= r->lo) && (r->hi_inf || entity < r->hi);
}

/* an int8range as a StateRange (canonical [lo, hi)); false if it is empty */
extern bool state_range_from_datum(Datum range, StateRange *out);
/* its text, as int8range writes it: "[lo,hi)", "(,hi)", "[lo,)" or "(,)" */
extern char *state_range_text(const StateRange *r);

/*
 * Copy out every entry of one (database, tenant) whose entity lies in
 * range: fn(key, state, arg) for each, with all partitions locked shared
 * (fn takes no lock; it may allocate: an error releases the partition
 * locks with the transaction); then state_drop_range removes them.
 */
typedef void (*state_collect_fn) (const StateKey *key, const DecayState *state, void *arg);
extern void state_collect_range(Oid dboid, int64 tenant, const StateRange *range,
								state_collect_fn fn, void *arg);
extern void state_drop_range(Oid dboid, int64 tenant, const StateRange *range);

/* Copy an entry's state into *out; false (and *out empty) if absent. */
extern bool state_read(const StateKey *key, DecayState *out);

/*
 * Visit many entities of one (database, signal, tenant) at once: fn(i, state,
 * arg) for each entities[i], with state NULL if the entity has none.  Each
 * partition lock is taken once, shared, and held while fn runs: fn must be
 * quick and must not error.
 */
typedef void (*state_visit_fn) (int i, const DecayState *state, void *arg);
extern void state_visit_many(Oid dboid, int32 signal_id, int64 tenant,
							 const int64 *entities, int n,
							 state_visit_fn fn, void *arg);

/* Per-database lifecycle. */
extern bool state_db_loaded(Oid dboid);
extern void state_db_set_loaded(Oid dboid, bool loaded);
extern void state_db_clear(Oid dboid);	/* drop the database's entries, mark unloaded */
extern void state_drop_tenant(Oid dboid, int64 tenant);	/* drop one tenant's entries */

/* Generation of signal definitions, bumped when definitions change. */
extern uint64 state_defs_generation(void);
extern void state_defs_bump(void);

/* Monitoring. */
extern int64 state_entry_count(Oid dboid);
extern Size state_entry_bytes(void);

#endif							/* TIDAL_STATE_H */
