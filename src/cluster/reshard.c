/*
 * cluster/reshard.c
 *    Online resharding: a range of the default tenant's entities moves from
 *    one shard (A) to another (B) while writes go on (reshard.h;
 *    docs/design/resharding.md has the argument, docs/operations.md the
 *    steps).
 *
 *  - tidal.move_shard_range (move_range.c), on the leader, publishes the
 *    next map version: the range's segments now belong to B, and the record
 *    lists the move (with every move before it, so a node that skips a
 *    version misses none).  From then on writers route the range to B.
 *  - In each region, A's node cuts when it applies that map, in the same
 *    transaction: holding ExclusiveLock on tidal.shard_map (taken only when
 *    free: every writer and applier of events holds RowShareLock from
 *    before it routes, ownership_lock_for_events), it writes the range's
 *    hot-state entries and idempotency keys to its own log as handoff
 *    records (kind 10) for B of its region, and drops the entries at
 *    commit.  tidal.range_moves.cut_at says it is done.
 *  - A's events of the range that reach A after its cut (written before the
 *    writer learned the map, or relayed late) are logged again, routed to B
 *    and counted in A's region only (reshard_hand_on).  A counts none of
 *    the range any more, live or in a rebuild (ownership_owned_part).
 *  - B counts the handoff of its own region (its entries add to what B
 *    already holds: decay states of disjoint sets of events add up
 *    exactly), and answers reads of the range only once it has it
 *    (reshard_await_handoff).
 *
 *    May call: core/, pg/, log/, state/, replication/, cluster/.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "nodes/makefuncs.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rangetypes.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "cluster/election.h"
#include "cluster/reshard.h"
#include "core/shardmap.h"
#include "core/snapfmt.h"
#include "log/append.h"
#include "pg/query.h"
#include "pg/settings.h"
#include "pg/validate.h"
#include "state/clock.h"
#include "state/idempotency.h"
#include "state/ownership.h"
#include "state/recovery.h"
#include "state/stage.h"
#include "state/state.h"

#define HANDOFF_CHUNK_ENTRIES 4096	/* entries per handoff record */

/* ---- the moves a map lists ---- */

char *
reshard_moves_json(const char *new_move)
{
	static OwnedQuery q = {
		"SELECT (coalesce((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object("
		"                    'version', version, 'entities', entities::pg_catalog.text, "
		"                    'from', from_shard, 'to', to_shard) ORDER BY version) "
		"                    FROM tidal.range_moves), '[]'::pg_catalog.jsonb) "
		"        OPERATOR(pg_catalog.||) coalesce($1::pg_catalog.jsonb, '[]'::pg_catalog.jsonb))::pg_catalog.text",
		1, {TEXTOID}, NULL
	};
	Datum		args[1];
	char		nulls[1] = {' '};
	char	   *json = NULL;
	TidalSavedUser saved;
	MemoryContext caller = CurrentMemoryContext;

	if (!query_has_column("range_moves", NULL))
		return NULL;			/* SQL objects older than 0.7 */
	args[0] = new_move ? CStringGetTextDatum(new_move) : (Datum) 0;
	nulls[0] = new_move ? ' ' : 'n';
	query_begin(&saved);
	query_exec(&q, args, nulls, true, SPI_OK_SELECT);
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		MemoryContext spi = MemoryContextSwitchTo(caller);

		json = TextDatumGetCString(d);
		MemoryContextSwitchTo(spi);
	}
	query_end(&saved);
	return json;
}

/* ---- the cut ---- */

typedef struct CutEntry
{
	int32		signal_id;
	int64		entity;
	DecayState	state;
} CutEntry;

typedef struct CutCollect
{
	CutEntry   *entries;
	int			n;
	int			cap;
} CutCollect;

static void
collect_entry(const StateKey *key, const DecayState *state, void *arg)
{
	CutCollect *c = (CutCollect *) arg;

	if (c->n == c->cap)
	{
		c->cap *= 2;
		c->entries = repalloc_huge(c->entries, sizeof(CutEntry) * c->cap);
	}
	c->entries[c->n].signal_id = key->signal_id;
	c->entries[c->n].entity = key->entity;
	c->entries[c->n].state = *state;
	c->n++;
}

static int
cut_entry_cmp(const void *a, const void *b)
{
	const CutEntry *x = (const CutEntry *) a;
	const CutEntry *y = (const CutEntry *) b;

	if (x->signal_id != y->signal_id)
		return x->signal_id < y->signal_id ? -1 : 1;
	return x->entity < y->entity ? -1 : (x->entity > y->entity ? 1 : 0);
}

static void
append_handoff(const RangeMove *m, bool last, const char *chunk, Size chunk_len)
{
	StringInfoData rec;
	TidalHlc	hlc = hlc_clock_now();
	LogRecord	decoded;

	/*
	 * Derived writes are the shard leader's: a follower applies its
	 * leader's handoff records instead (docs/design/followers.md).
	 */
	if (!election_shard_leads())
		return;
	initStringInfo(&rec);
	codec_handoff_record(&rec, &hlc, m->version, tidal_region_id, m->from_shard, m->to_shard, last,
						 chunk, chunk_len);
	log_append_record(rec.data, rec.len, &decoded);
	pfree(rec.data);
}

static const SignalDef *
def_by_id(const SignalDef **defs, int ndefs, int32 id)
{
	int			i;

	for (i = 0; i < ndefs; i++)
		if (defs[i]->id == id)
			return defs[i];
	return NULL;
}

/* a key of a write this shard counted, of an entity of a moved range */
typedef struct HandedKey
{
	char	   *signal;
	SnapKeyed	k;
} HandedKey;

/*
 * The idempotency keys of the range's writes that this shard counted: a
 * retry that reaches the new shard must still be recognised there.  As
 * handoff records of keyed chunks, each key an anchor (counted in the
 * states handed over).  Returns how many.
 */
static int
hand_over_keys(const RangeMove *m, StringInfo chunk)
{
	static OwnedQuery keys_q = {
		"SELECT signal, key, tidal.hlc_wall_ns(hlc), tidal.hlc_logical(hlc), tidal.hlc_node(hlc), "
		"       entity, weight, at_us "
		"  FROM tidal.idempotency_keys "
		" WHERE tenant = 0 AND entity OPERATOR(pg_catalog.<@) $1::pg_catalog.int8range "
		" ORDER BY signal, key",
		1, {TEXTOID}, NULL
	};
	Datum		args[1];
	HandedKey  *keys = NULL;
	int			n = 0;
	int			i;
	TidalSavedUser saved;
	MemoryContext caller = CurrentMemoryContext;

	args[0] = CStringGetTextDatum(state_range_text(&m->entities));
	query_begin(&saved);
	query_exec(&keys_q, args, NULL, false, SPI_OK_SELECT);
	if (SPI_processed > 0)
	{
		MemoryContext spi = MemoryContextSwitchTo(caller);

		keys = palloc(sizeof(HandedKey) * SPI_processed);
		for (i = 0; i < (int) SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			char	   *key = SPI_getvalue(tup, desc, 2);

			keys[i].signal = SPI_getvalue(tup, desc, 1);
			keys[i].k.key = key;
			keys[i].k.key_len = strlen(key);
			keys[i].k.flags = SNAP_KEYED_ANCHOR;
			keys[i].k.hlc.wall_ns = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
			keys[i].k.hlc.logical = DatumGetInt32(SPI_getbinval(tup, desc, 4, &isnull));
			keys[i].k.hlc.node = DatumGetInt32(SPI_getbinval(tup, desc, 5, &isnull));
			keys[i].k.entity = DatumGetInt64(SPI_getbinval(tup, desc, 6, &isnull));
			keys[i].k.weight = DatumGetFloat8(SPI_getbinval(tup, desc, 7, &isnull));
			keys[i].k.at_us = DatumGetInt64(SPI_getbinval(tup, desc, 8, &isnull));
		}
		n = (int) SPI_processed;
		MemoryContextSwitchTo(spi);
	}
	query_end(&saved);

	for (i = 0; i < n;)
	{
		const SignalDef *def = catalog_signal(keys[i].signal, true);
		int			j;
		int			k;

		for (j = i; j < n && strcmp(keys[j].signal, keys[i].signal) == 0; j++)
			;
		for (k = i; def != NULL && k < j; k += HANDOFF_CHUNK_ENTRIES)
		{
			int			end = Min(k + HANDOFF_CHUNK_ENTRIES, j);
			int			e;

			resetStringInfo(chunk);
			snapfmt_begin(chunk, SNAP_CHUNK_KEYED, 0, def->name, (int64) def->spec.half_life_us,
						  def->spec.nwindows, def->spec.window_us);
			for (e = k; e < end; e++)
				snapfmt_add_keyed(chunk, &keys[e].k);
			snapfmt_finish(chunk, (uint32) (end - k));
			append_handoff(m, false, chunk->data, chunk->len);
		}
		i = j;
	}
	return n;
}

/*
 * ExclusiveLock on tidal.shard_map: no transaction that routes or counts
 * events is in flight, and none starts until this one ends.  Taken only
 * when free, never queued for: a queued request would hold up every new
 * writer of this node behind a transaction left open.  Tried for up to
 * tidal.peer_timeout; then an error, and the map's batch is applied again
 * later (or the leader's call fails and may be repeated).
 */
static void
lock_for_cut(const RangeMove *m)
{
	Oid			relid = RangeVarGetRelid(makeRangeVar("tidal", "shard_map", -1), NoLock, false);
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), tidal_peer_timeout_ms);

	while (!ConditionalLockRelationOid(relid, ExclusiveLock))
	{
		if (GetCurrentTimestamp() >= deadline)
			ereport(ERROR,
					(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
					 errmsg("shard %d cannot hand the range of map version " INT64_FORMAT " over yet: writes hold tidal.shard_map",
							tidal_shard_id, m->version),
					 errdetail("Its cut waits for a moment without a transaction that writes events; it tried for tidal.peer_timeout."),
					 errhint("End transactions left open after a tidal.signal (pg_stat_activity: idle in transaction); the cut is tried again with the map's batch.")));
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 1, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * Hand the range of move m over to its new shard in this region: its
 * entries (and this transaction's own staged events for them) go to the log
 * as handoff records, and leave the hot state at commit.
 */
static void
cut_range(const RangeMove *m)
{
	static OwnedQuery done_q = {
		"UPDATE tidal.range_moves SET cut_at = pg_catalog.now() WHERE version = $1 AND cut_at IS NULL",
		1, {INT8OID}, NULL
	};
	const StateRange *range = &m->entities;
	CutCollect	c;
	const SignalDef **defs;
	int			ndefs;
	int			i;
	int			handed = 0;
	int			handed_keys;
	StringInfoData chunk;
	Datum		args[1];
	TidalSavedUser saved;

	lock_for_cut(m);
	tidal_ensure_loaded();
	defs = catalog_all_signals(&ndefs);

	c.cap = 1024;
	c.n = 0;
	c.entries = palloc(sizeof(CutEntry) * c.cap);
	state_collect_range(MyDatabaseId, 0, range, collect_entry, &c);
	if (c.n > 1)
		qsort(c.entries, c.n, sizeof(CutEntry), cut_entry_cmp);

	initStringInfo(&chunk);
	for (i = 0; i < c.n;)
	{
		const SignalDef *def = def_by_id(defs, ndefs, c.entries[i].signal_id);
		int			j;
		int			k;

		for (j = i; j < c.n && c.entries[j].signal_id == c.entries[i].signal_id; j++)
			;
		if (def == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("tidal's hot state holds signal %d, which is not defined here", c.entries[i].signal_id)));
		for (k = i; k < j; k += HANDOFF_CHUNK_ENTRIES)
		{
			int			end = Min(k + HANDOFF_CHUNK_ENTRIES, j);
			int			e;

			resetStringInfo(&chunk);
			snapfmt_begin(&chunk, SNAP_CHUNK_STATES, 0, def->name, (int64) def->spec.half_life_us,
						  def->spec.nwindows, def->spec.window_us);
			for (e = k; e < end; e++)
			{
				StateKey	key;

				/* what this transaction staged for it counts too: it is applied before the drop */
				state_key_init(&key, MyDatabaseId, def->id, 0, c.entries[e].entity);
				stage_overlay(&key, &def->spec, &c.entries[e].state);
				snapfmt_add_state(&chunk, def->spec.nwindows, c.entries[e].entity, &c.entries[e].state);
			}
			snapfmt_finish(&chunk, (uint32) (end - k));
			append_handoff(m, false, chunk.data, chunk.len);
			CHECK_FOR_INTERRUPTS();
		}
		handed += j - i;
		i = j;
	}
	handed_keys = hand_over_keys(m, &chunk);
	append_handoff(m, true, NULL, 0);
	stage_drop_range(range);

	args[0] = Int64GetDatum(m->version);
	query_begin(&saved);
	query_exec(&done_q, args, NULL, false, SPI_OK_UPDATE);
	query_end(&saved);
	ownership_invalidate();
	stage_definitions_changed();
	ereport(LOG,
			(errmsg("tidal shard %d of region %d hands %d hot-state entries and %d idempotency keys over to shard %d (map version " INT64_FORMAT ")",
					m->from_shard, tidal_region_id, handed, handed_keys, m->to_shard, m->version)));
}

void
reshard_learn_moves(const char *moves_json)
{
	static OwnedQuery learn_q = {
		"INSERT INTO tidal.range_moves (version, entities, from_shard, to_shard) "
		"SELECT (m OPERATOR(pg_catalog.->>) 'version')::pg_catalog.int8, "
		"       (m OPERATOR(pg_catalog.->>) 'entities')::pg_catalog.int8range, "
		"       (m OPERATOR(pg_catalog.->>) 'from')::pg_catalog.int4, "
		"       (m OPERATOR(pg_catalog.->>) 'to')::pg_catalog.int4 "
		"  FROM pg_catalog.jsonb_array_elements($1::pg_catalog.jsonb) m "
		"ON CONFLICT (version) DO NOTHING",
		1, {TEXTOID}, NULL
	};
	Datum		args[1];
	const RangeMove *moves;
	int			n;
	int			i;
	bool		learned;
	TidalSavedUser saved;

	if (!query_has_column("range_moves", NULL))
		return;
	args[0] = CStringGetTextDatum(moves_json);
	query_begin(&saved);
	query_exec(&learn_q, args, NULL, false, SPI_OK_INSERT);
	learned = SPI_processed > 0;
	query_end(&saved);
	if (!learned)
		return;
	ownership_invalidate();
	stage_definitions_changed();

	moves = ownership_moves(&n);
	for (i = 0; i < n; i++)
		if (moves[i].from_shard == tidal_shard_id && !moves[i].cut)
		{
			RangeMove	m = moves[i];

			cut_range(&m);
			moves = ownership_moves(&n);	/* reloaded */
		}
}

/* ---- the new shard's side ---- */

bool
reshard_handoff_is_mine(const LogRecord *rec)
{
	Assert(rec->kind == LOG_RECORD_HANDOFF);
	return rec->region == tidal_region_id && rec->shard == tidal_shard_id;
}

void
reshard_handoff_entries(const LogRecord *rec, reshard_states_fn states_fn, reshard_keyed_fn keyed_fn, void *arg)
{
	SnapChunk	c;
	SnapCursor	cur;
	const char *why = NULL;
	const SignalDef *def;
	int			n = 0;

	if (rec->text_len == 0)
		return;
	if (!snapfmt_read_chunk(rec->text, rec->text_len, &c, &why) || c.tenant != 0 ||
		(c.kind != SNAP_CHUNK_STATES && c.kind != SNAP_CHUNK_KEYED))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("tidal handoff record of map version " INT64_FORMAT " is malformed: %s",
						rec->move_version, why ? why : "not a chunk of states or keys of the default tenant")));
	def = catalog_signal_n(c.name, c.name_len, true);
	if (def == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("signal \"%.*s\" is not defined here yet", c.name_len, c.name),
				 errdetail("A handoff of map version " INT64_FORMAT " holds it; it is applied once the definition has arrived.",
						   rec->move_version)));
	if ((int64) def->spec.half_life_us != c.half_life_us || def->spec.nwindows != c.nwindows ||
		(c.nwindows > 0 && memcmp(def->spec.window_us, c.window_us, sizeof(int64) * c.nwindows) != 0))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("a handoff's signal \"%s\" has another half-life or other windows than here", def->name)));
	snapfmt_cursor(&c, &cur);
	if (c.kind == SNAP_CHUNK_STATES)
	{
		int64	   *entities = palloc(sizeof(int64) * Max(c.count, 1));
		DecayState *states = palloc(sizeof(DecayState) * Max(c.count, 1));

		while ((uint32) n < c.count && snapfmt_next_state(&cur, &entities[n], &states[n], &why))
		{
			/* a peer's bytes: an event time a write could have had */
			if (states[n].latest_us != DECAY_EMPTY)
				tidal_check_time_us(states[n].latest_us, "a handed-over entry's newest event");
			n++;
		}
		if (why == NULL && (uint32) n == c.count)
			states_fn(def, entities, states, n, arg);
		pfree(entities);
		pfree(states);
	}
	else
	{
		SnapKeyed	k;

		while ((uint32) n < c.count && snapfmt_next_keyed(&cur, &k, &why))
		{
			if (k.key_len < 1 || k.key_len > IDEMPOTENCY_KEY_MAXLEN)
			{
				why = "a key of a bad length";
				break;
			}
			tidal_check_time_us(k.at_us, "a handed-over key's event");
			keyed_fn(def, &k, arg);
			n++;
		}
	}
	if (why != NULL || (uint32) n != c.count)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("tidal handoff record of map version " INT64_FORMAT " is malformed: %s",
						rec->move_version, why ? why : "too few entries")));
}

/* stage the take-back of a write counted here (its key's other write counts) */
static void
take_back(const SignalDef *def, int64 entity, double weight, int64 at_us, const TidalHlc *hlc)
{
	StringInfoData buf;

	initStringInfo(&buf);
	codec_begin_signal_record(&buf, hlc, 0, def->name, NULL, -1, false, 1);
	codec_add_signal_event(&buf, false, entity, -weight, at_us, 0);
	stage_signal_record(buf.data, buf.len, def->id, &def->spec, false);
	pfree(buf.data);
}

/*
 * A key the old shard hands over: its write counts in the states handed
 * over.  If this shard counted another write of the key, one of the two is
 * taken back, by the rule every region applies (idempotency.h).
 */
static void
claim_handed_key(const SignalDef *def, const SnapKeyed *k, void *arg pg_attribute_unused())
{
	StringInfoData buf;
	LogRecord	rec;
	Size		consumed;
	const char *why;
	IdemEvent	old;
	char	   *key = pnstrdup(k->key, k->key_len);

	initStringInfo(&buf);
	codec_begin_signal_record(&buf, &k->hlc, 0, def->name, key, -1, false, 1);
	codec_add_signal_event(&buf, false, k->entity, k->weight, k->at_us, 0);
	if (!codec_read_record(buf.data, buf.len, &consumed, &rec, &why))
		elog(ERROR, "tidal could not encode a handed-over key: %s", why);
	switch (idem_claim_remote(&rec, &old))
	{
		case IDEM_NEW:
			break;				/* counted in the states handed over */
		case IDEM_DUPLICATE:
			/* the write this shard counted came first: the handed-over one goes */
			take_back(def, k->entity, k->weight, k->at_us, &k->hlc);
			break;
		case IDEM_REPLACES:
			{
				const SignalDef *old_def = catalog_signal(old.signal, true);

				if (old_def != NULL)
					take_back(old_def, old.entity, old.weight, old.at_us, &old.hlc);
				break;
			}
	}
	pfree(buf.data);
	pfree(key);
}

static void
stage_handoff(const SignalDef *def, const int64 *entities, const DecayState *states, int n,
			  void *arg pg_attribute_unused())
{
	stage_merge_states(def->id, &def->spec, 0, entities, states, n);
}

void
reshard_apply_handoff(const LogRecord *rec)
{
	static OwnedQuery received_q = {
		"UPDATE tidal.range_moves SET received_at = coalesce(received_at, pg_catalog.now()) "
		" WHERE version = $1 AND from_shard = $2 AND to_shard = $3",
		3, {INT8OID, INT4OID, INT4OID}, NULL
	};
	Datum		args[3];
	bool		known;
	TidalSavedUser saved;

	if (!reshard_handoff_is_mine(rec))
		return;					/* another region's, or another shard's */
	reshard_handoff_entries(rec, stage_handoff, claim_handed_key, NULL);
	if (!rec->last)
		return;
	args[0] = Int64GetDatum(rec->move_version);
	args[1] = Int32GetDatum(rec->from_shard);
	args[2] = Int32GetDatum(rec->shard);
	query_begin(&saved);
	query_exec(&received_q, args, NULL, false, SPI_OK_UPDATE);
	known = SPI_processed > 0;
	query_end(&saved);
	if (!known)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the handoff of map version " INT64_FORMAT " arrived before the map", rec->move_version),
				 errdetail("The batch is applied once the shard map that moved the range has arrived.")));
	ownership_invalidate();
	stage_definitions_changed();
}

void
reshard_hand_on(const LogRecord *whole)
{
	const RangeMove *moves;
	int			n;
	int			i;
	StringInfoData buf;

	if (whole->tenant != 0 || whole->shard != tidal_shard_id || !election_shard_leads())
		return;					/* a follower applies its leader's hand-on instead */
	moves = ownership_moves(&n);
	buf.data = NULL;
	for (i = 0; i < n; i++)
	{
		LogRecord	part;
		LogRecord	decoded;

		if (!moves[i].cut || moves[i].from_shard != tidal_shard_id)
			continue;			/* not handed over by this shard: nothing to hand on */
		if (buf.data == NULL)
			initStringInfo(&buf);
		if (ownership_handed_on_part(whole, &moves[i], &buf, &part))
			log_append_record(part.raw, part.raw_len, &decoded);
	}
	if (buf.data != NULL)
		pfree(buf.data);
}

void
reshard_await_handoff(bool any, int64 entity)
{
	TimestampTz deadline;

	if (!ownership_awaits_handoff(any, entity))
		return;
	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), tidal_peer_timeout_ms);
	while (ownership_awaits_handoff(any, entity))
	{
		if (GetCurrentTimestamp() >= deadline)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("shard %d of region %d has not yet received the entries of a range moving to it",
							tidal_shard_id, tidal_region_id),
					 errdetail("The shard that held the range hands them over when it applies the new shard map."),
					 errhint("Check that the range's old shard in this region is up (tidal.topology, tidal.range_moves); the read succeeds once the handoff arrives.")));
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 10, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

bool
reshard_await_map_version(int64 version, int timeout_ms)
{
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);

	while (ownership_map()->version < version)
	{
		if (GetCurrentTimestamp() >= deadline)
			return false;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 10, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	return true;
}
