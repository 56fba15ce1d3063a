/*
 * state/idempotency.c
 *    Idempotency keys (see idempotency.h): tidal.idempotency_keys holds, per
 *    key, the write that counts, for tidal.idempotency_window.
 *
 * May call: core/, pg/, log/, state/.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "state/idempotency.h"
#include "pg/query.h"
#include "state/state.h"
#include "pg/settings.h"
#include "pg/owner.h"
#include "state/clock.h"

#define NS_PER_SEC INT64CONST(1000000000)

int64
idem_window_ns(void)
{
	return (int64) tidal_idempotency_window_s * NS_PER_SEC;
}

static int64
window_ns(void)
{
	return (int64) tidal_idempotency_window_s * NS_PER_SEC;
}

void
idem_check_key(const char *key)
{
	if (key[0] == '\0' || strlen(key) > IDEMPOTENCY_KEY_MAXLEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an idempotency key has 1 to %d bytes", IDEMPOTENCY_KEY_MAXLEN)));
}

/* the key's row, locked; false if there is none */
static bool
read_key(int64 tenant, const char *key, IdemEvent *out)
{
	static OwnedQuery q = {
		"SELECT tidal.hlc_wall_ns(hlc), tidal.hlc_logical(hlc), tidal.hlc_node(hlc), "
		"       signal, entity, weight, at_us "
		"  FROM tidal.idempotency_keys WHERE tenant = $1 AND key = $2 FOR UPDATE",
		2, {INT8OID, TEXTOID}, NULL
	};
	Datum		args[2] = {Int64GetDatum(tenant), CStringGetTextDatum(key)};
	bool		found = false;
	MemoryContext caller = CurrentMemoryContext;
	TidalSavedUser saved;

	query_begin(&saved);
	query_exec(&q, args, NULL, false, SPI_OK_SELECT);
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		out->hlc.wall_ns = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		out->hlc.logical = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		out->hlc.node = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
		/* copied out of SPI's memory, which query_end frees */
		out->signal = MemoryContextStrdup(caller, SPI_getvalue(tup, desc, 4));
		out->entity = DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
		out->weight = DatumGetFloat8(SPI_getbinval(tup, desc, 6, &isnull));
		out->at_us = DatumGetInt64(SPI_getbinval(tup, desc, 7, &isnull));
		out->tenant = tenant;
		found = true;
	}
	query_end(&saved);
	return found;
}

/* the parameters $1..$9 of the key's row: key, hlc (3), signal, entity, weight, at_us, tenant */
#define KEY_ROW_NARGS 9
#define KEY_ROW_VALUES "VALUES ($1, tidal.hlc($2, $3, $4), $5, $6, $7, $8, $9) "
#define KEY_ROW_TYPES {TEXTOID, INT8OID, INT4OID, INT4OID, TEXTOID, INT8OID, FLOAT8OID, INT8OID, INT8OID}

static void
key_row_args(const char *key, const IdemEvent *ev, Datum *args)
{
	args[0] = CStringGetTextDatum(key);
	args[1] = Int64GetDatum(ev->hlc.wall_ns);
	args[2] = Int32GetDatum(ev->hlc.logical);
	args[3] = Int32GetDatum(ev->hlc.node);
	args[4] = CStringGetTextDatum(ev->signal);
	args[5] = Int64GetDatum(ev->entity);
	args[6] = Float8GetDatum(ev->weight);
	args[7] = Int64GetDatum(ev->at_us);
	args[8] = Int64GetDatum(ev->tenant);
}

/* make ev the write that counts for key (its row, if any, is locked by us) */
static void
write_key(const char *key, const IdemEvent *ev)
{
	static OwnedQuery q = {
		"INSERT INTO tidal.idempotency_keys AS k (key, hlc, signal, entity, weight, at_us, tenant) "
		KEY_ROW_VALUES
		"ON CONFLICT (tenant, key) DO UPDATE SET hlc = excluded.hlc, signal = excluded.signal, "
		"entity = excluded.entity, weight = excluded.weight, at_us = excluded.at_us",
		KEY_ROW_NARGS, KEY_ROW_TYPES, NULL
	};
	Datum		args[KEY_ROW_NARGS];
	TidalSavedUser saved;

	key_row_args(key, ev, args);
	query_begin(&saved);
	query_exec(&q, args, NULL, false, SPI_OK_INSERT);
	query_end(&saved);
}

/*
 * Make ev the write that counts for key if the key has no row yet: true if
 * it inserted one.  A concurrent writer's new row for the key makes this wait
 * for that writer and then insert nothing (false); the caller then reads the
 * row, locked, and decides again.  (Reading first does not serialize: FOR
 * UPDATE of a row that is not there yet locks nothing, so two writers could
 * both find no row and both count.)
 */
static bool
insert_key_if_absent(const char *key, const IdemEvent *ev)
{
	static OwnedQuery q = {
		"INSERT INTO tidal.idempotency_keys (key, hlc, signal, entity, weight, at_us, tenant) "
		KEY_ROW_VALUES
		"ON CONFLICT (tenant, key) DO NOTHING",
		KEY_ROW_NARGS, KEY_ROW_TYPES, NULL
	};
	Datum		args[KEY_ROW_NARGS];
	bool		inserted;
	TidalSavedUser saved;

	key_row_args(key, ev, args);
	query_begin(&saved);
	query_exec(&q, args, NULL, false, SPI_OK_INSERT);
	inserted = SPI_processed == 1;
	query_end(&saved);
	return inserted;
}

/*
 * The write that counts for key so far, its row locked until the end of the
 * transaction; false, with ev inserted as the first write of the key, if
 * there was none.
 */
static bool
lock_key_or_insert(const char *key, const IdemEvent *ev, IdemEvent *counted)
{
	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		if (read_key(ev->tenant, key, counted))
			return true;
		if (insert_key_if_absent(key, ev))
			return false;
		/* another writer inserted the key meanwhile and has committed: read it */
	}
}

/* are a and b the same write, given that they share a key? */
static bool
within_window(const TidalHlc *a, const TidalHlc *b)
{
	int64		d = a->wall_ns - b->wall_ns;

	return (d < 0 ? -d : d) < window_ns();
}

bool
idem_find(int64 tenant, const char *key, IdemEvent *counted)
{
	return read_key(tenant, key, counted);
}

IdemOutcome
idem_claim_local(const char *key, const IdemEvent *ev, IdemEvent *first)
{
	/* the key's row, locked or inserted, serializes the writers of one key */
	if (!lock_key_or_insert(key, ev, first))
		return IDEM_NEW;
	if (within_window(&first->hlc, &ev->hlc))
		return IDEM_DUPLICATE;
	write_key(key, ev);			/* an old write of the key, outside the window */
	return IDEM_NEW;
}

IdemOutcome
idem_claim_remote(const LogRecord *rec, IdemEvent *old)
{
	char	   *key = pnstrdup(rec->key, rec->key_len);
	LogSignalEvent e;
	IdemEvent	ev;
	int			cmp;

	Assert(rec->nevents == 1);
	codec_signal_event(rec, 0, &e);
	ev.hlc = rec->hlc;
	ev.signal = pnstrdup(rec->name, rec->name_len);
	ev.entity = e.entity;
	ev.weight = e.weight;
	ev.at_us = e.at_us;
	ev.tenant = rec->tenant;

	if (!lock_key_or_insert(key, &ev, old))
		return IDEM_NEW;
	if (!within_window(&old->hlc, &ev.hlc))
	{
		write_key(key, &ev);
		return IDEM_NEW;
	}
	cmp = hlc_compare(&ev.hlc, &old->hlc);
	if (cmp >= 0)
		return IDEM_DUPLICATE;
	write_key(key, &ev);
	return IDEM_REPLACES;
}

void
idem_purge(void)
{
	static OwnedQuery q = {
		"DELETE FROM tidal.idempotency_keys WHERE tidal.hlc_wall_ns(hlc) < $1",
		1, {INT8OID}, NULL
	};
	Datum		args[1];
	TidalSavedUser saved;

	args[0] = Int64GetDatum(hlc_clock_now().wall_ns - window_ns());
	query_begin(&saved);
	query_exec(&q, args, NULL, false, SPI_OK_DELETE);
	query_end(&saved);
}

/* ---- replay ---- */

struct IdemReplay
{
	MemoryContext cxt;			/* outlives the replay's per-row memory */
	IdemHeld   *events;
	int			n;
	int			cap;
};

IdemReplay *
idem_replay_begin(void)
{
	IdemReplay *r = palloc0(sizeof(IdemReplay));

	r->cxt = AllocSetContextCreate(CurrentMemoryContext, "tidal keyed replay",
								   ALLOCSET_DEFAULT_SIZES);
	return r;
}

void
idem_replay_add_held(IdemReplay *r, const IdemHeld *held)
{
	MemoryContext old = MemoryContextSwitchTo(r->cxt);
	IdemHeld   *h;

	if (r->n == r->cap)
	{
		r->cap = Max(64, r->cap * 2);
		r->events = r->events ? repalloc_huge(r->events, sizeof(IdemHeld) * r->cap)
			: palloc(sizeof(IdemHeld) * r->cap);
	}
	h = &r->events[r->n++];
	*h = *held;
	h->key = pstrdup(held->key);
	MemoryContextSwitchTo(old);
}

void
idem_replay_add(IdemReplay *r, const LogRecord *rec, int32 signal_id, const DecaySpec *spec)
{
	LogSignalEvent e;
	IdemHeld	h;

	codec_signal_event(rec, 0, &e);
	h.key = pnstrdup(rec->key, rec->key_len);
	h.tenant = rec->tenant;
	h.hlc = rec->hlc;
	h.signal_id = signal_id;
	h.spec = *spec;
	h.entity = e.entity;
	h.weight = e.weight;
	h.at_us = e.at_us;
	h.anchor = false;
	idem_replay_add_held(r, &h);
	pfree(h.key);
}

static int
held_cmp(const void *a, const void *b)
{
	const IdemHeld *x = (const IdemHeld *) a;
	const IdemHeld *y = (const IdemHeld *) b;
	int			c = (x->tenant > y->tenant) - (x->tenant < y->tenant);

	if (c == 0)
		c = strcmp(x->key, y->key);
	return c != 0 ? c : hlc_compare(&x->hlc, &y->hlc);
}

static bool
same_key(const IdemHeld *a, const IdemHeld *b)
{
	return a->tenant == b->tenant && strcmp(a->key, b->key) == 0;
}

/*
 * Decide which keyed writes count.  Within a key, in HLC order, the first
 * counts, and so does any outside the window of the last one counted.  An
 * anchor was counted before (it is in a snapshot's states): it is never
 * counted again, and a write within its window is its duplicate, whatever
 * their order.  Writes from keep_from_ns on are not decided but handed to
 * keep, undecided, together with the last write counted of their key if it
 * lies within the window of keep_from_ns (as an anchor): a snapshot keeps
 * them, so that a duplicate that arrives later is still recognised.
 */
void
idem_replay_decide(IdemReplay *r, int64 keep_from_ns,
				   idem_held_fn count, idem_held_fn keep, void *arg)
{
	int			start = 0;

	qsort(r->events, r->n, sizeof(IdemHeld), held_cmp);
	while (start < r->n)
	{
		int			end = start + 1;
		int			i;
		const IdemHeld *counted = NULL;
		bool		keeping = false;

		CHECK_FOR_INTERRUPTS();
		while (end < r->n && same_key(&r->events[start], &r->events[end]))
			end++;
		for (i = start; i < end; i++)
		{
			IdemHeld   *h = &r->events[i];
			bool		duplicate = false;
			int			j;

			if (h->anchor)
			{
				counted = h;
				continue;
			}
			if (counted != NULL && within_window(&counted->hlc, &h->hlc))
				continue;
			for (j = i + 1; j < end && !duplicate; j++)
				duplicate = r->events[j].anchor && within_window(&r->events[j].hlc, &h->hlc);
			if (duplicate)
				continue;
			if (keep != NULL && (keeping || h->hlc.wall_ns >= keep_from_ns))
			{
				if (!keeping && counted != NULL &&
					counted->hlc.wall_ns >= keep_from_ns - window_ns())
				{
					IdemHeld	anchor = *counted;

					anchor.anchor = true;
					keep(&anchor, arg);
				}
				keeping = true;
				keep(h, arg);
				continue;
			}
			count(h, arg);
			counted = h;
		}
		if (keep != NULL && !keeping && counted != NULL &&
			counted->hlc.wall_ns >= keep_from_ns - window_ns())
		{
			IdemHeld	anchor = *counted;

			anchor.anchor = true;
			keep(&anchor, arg);
		}
		start = end;
	}
	MemoryContextDelete(r->cxt);
}

static void
count_into_state(const IdemHeld *h, void *arg)
{
	Oid			dboid = *(Oid *) arg;
	StateKey	key;

	state_key_init(&key, dboid, h->signal_id, h->tenant, h->entity);
	if (!state_apply(&key, &h->spec, h->weight, h->at_us, false))
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("tidal hot state is full"),
				 errhint("Increase tidal.max_entities and restart the server.")));
}

void
idem_replay_finish(IdemReplay *r, Oid dboid)
{
	idem_replay_decide(r, PG_INT64_MAX, count_into_state, NULL, &dboid);
}
