/*
 * apply/replay.h
 *    What replaying tidal's log does with each record, whoever replays it:
 *    the rebuild of the hot state (recovery.c) and the fold that takes a
 *    snapshot (snapshot.c).  One filter, two sinks.
 *
 *    May call: core/, pg/, log/, state/, replication/, cluster/, signals/,
 *    ranking/, apply/.
 */
#ifndef TIDAL_REPLAY_H
#define TIDAL_REPLAY_H

#include "postgres.h"

#include "cluster/session.h"
#include "core/codec.h"
#include "state/catalog.h"
#include "state/idempotency.h"

typedef struct ReplaySink
{
	/* count the events of an unkeyed signal record */
	void		(*apply) (const LogRecord *rec, const SignalDef *def, void *arg);
	/* keep a record that cannot be applied yet (undefined signal, a held session write); NULL: skip it */
	void		(*defer) (const LogRecord *rec, void *arg);
	/* a record of another kind (definitions, items, ...); NULL: ignore it */
	void		(*other) (const LogRecord *rec, void *arg);
	/* add whole states (a moved range's handoff for this node) to n entities of tenant 0 */
	void		(*merge) (const SignalDef *def, const int64 *entities, const DecayState *states, int n,
						  void *arg);
	void	   *arg;
} ReplaySink;

typedef struct Replay
{
	ReplaySink	sink;
	TidalHlc	max_hlc;
	int64		records;
	int64		events;			/* signal events handed to the sink or held as keyed */
	int64		skipped;		/* records of undefined signals, not deferred */
	int64		deferred;
	int64		invalid;		/* records that fail validation: not counted */
	char	   *first_invalid;	/* why the first of them failed */
	int64		future;			/* records beyond tidal.max_clock_offset: HLC not adopted */
	TidalHlc	max_future;
	IdemReplay *keyed;			/* keyed writes, decided once the scan is over */
	StringInfoData part_buf;	/* the owned part of a record of tenant 0 (data NULL until used) */
	SessionHeldSet *held;		/* the session writes held here (NULL until a session record comes) */
} Replay;

extern void replay_begin(Replay *r, const ReplaySink *sink);
/* a log_record_fn: arg is the Replay */
extern void replay_record(const LogRecord *rec, void *arg);
/* the warnings a replay owes the server log */
extern void replay_report(const Replay *r, const char *what);

#endif							/* TIDAL_REPLAY_H */
