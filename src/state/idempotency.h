/*
 * state/idempotency.h
 *    Idempotency keys of tidal.signal: a write retried with the same key
 *    counts once, cluster-wide, within tidal.idempotency_window.
 *
 * Two keyed writes are the same write when their keys are equal and their
 * HLC wall times are less than the window apart; of those, the one with the
 * smallest HLC counts.  Every region applies this rule to local writes,
 * replicated records and replay alike, so all converge on the same winner.
 *
 * May call: core/, pg/, log/, state/.
 */
#ifndef TIDAL_IDEMPOTENCY_H
#define TIDAL_IDEMPOTENCY_H

#include "postgres.h"

#include "core/codec.h"
#include "core/decay.h"
#include "core/hlc.h"

#define IDEMPOTENCY_KEY_MAXLEN 200

typedef enum IdemOutcome
{
	IDEM_NEW,					/* first write of the key: apply it */
	IDEM_DUPLICATE,				/* a write of the key counts already: skip it */
	IDEM_REPLACES				/* it wins over the write that counted so far */
} IdemOutcome;

/* the write a key stands for */
typedef struct IdemEvent
{
	TidalHlc	hlc;
	const char *signal;
	int64		entity;
	double		weight;
	int64		at_us;
	int64		tenant;
} IdemEvent;

/* errors unless key is a valid idempotency key */
extern void idem_check_key(const char *key);

/*
 * A local write with a key, in the writer's transaction.  IDEM_NEW, or
 * IDEM_DUPLICATE with *first set to the write that counts.
 */
extern IdemOutcome idem_claim_local(const char *key, const IdemEvent *ev, IdemEvent *first);

/* the write that counts for a key of tenant, if the key is remembered */
extern bool idem_find(int64 tenant, const char *key, IdemEvent *counted);
/* a replicated keyed record; for IDEM_REPLACES, *old is the write to take back */
extern IdemOutcome idem_claim_remote(const LogRecord *rec, IdemEvent *old);

/* tidal.idempotency_window in ns */
extern int64 idem_window_ns(void);

/* forget keys older than the window (the sealer, now and then) */
extern void idem_purge(void);

/*
 * Replay: keyed records are held back, then only the writes that count are
 * applied (idem_replay_finish), or decided up to a point and the rest kept
 * for a snapshot (idem_replay_decide, see idempotency.c).
 */
typedef struct IdemHeld
{
	char	   *key;
	int64		tenant;
	TidalHlc	hlc;
	int32		signal_id;
	DecaySpec	spec;
	int64		entity;
	double		weight;
	int64		at_us;
	bool		anchor;			/* counted before: only recognises duplicates */
} IdemHeld;

typedef struct IdemReplay IdemReplay;
typedef void (*idem_held_fn) (const IdemHeld *h, void *arg);
extern IdemReplay *idem_replay_begin(void);
extern void idem_replay_add(IdemReplay *r, const LogRecord *rec, int32 signal_id,
							const DecaySpec *spec);
extern void idem_replay_add_held(IdemReplay *r, const IdemHeld *h);
extern void idem_replay_finish(IdemReplay *r, Oid dboid);
extern void idem_replay_decide(IdemReplay *r, int64 keep_from_ns,
							   idem_held_fn count, idem_held_fn keep, void *arg);

#endif							/* TIDAL_IDEMPOTENCY_H */
