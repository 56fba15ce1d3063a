/*
 * state/catalog.c
 *    Signal definitions as this backend sees them.  May call: core/, pg/,
 *    log/, state/.
 *
 * tidal.signal_defs is the durable truth.  Each backend caches it in a hash
 * table keyed by name and reloads the whole (small) table whenever the
 * shared definitions generation moves, which happens when a transaction that
 * changed definitions commits, or when this backend changed them itself.
 *
 * May call: core/, pg/, log/, state/.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "state/catalog.h"
#include "state/state.h"
#include "pg/query.h"
#include "pg/settings.h"
#include "pg/validate.h"

static HTAB *signal_cache = NULL;
static uint64 cache_generation = 0;	/* 0: invalid */

void
catalog_invalidate(void)
{
	cache_generation = 0;
}

int64
catalog_interval_usecs(const Interval *iv, const char *what)
{
	int64		days_us;
	int64		total;

	if (iv->month != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be given in months or years", what),
				 errhint("Use days instead, e.g. '30 days'.")));
	if (pg_mul_s64_overflow((int64) iv->day, USECS_PER_DAY, &days_us) ||
		pg_add_s64_overflow(days_us, iv->time, &total))
		ereport(ERROR,
				(errcode(ERRCODE_INTERVAL_FIELD_OVERFLOW),
				 errmsg("%s is out of range", what)));
	return total;
}

static void
load_cache(void)
{
	static OwnedQuery q = {
		"SELECT id, name, half_life, windows, polarity FROM tidal.signal_defs", 0, {InvalidOid}, NULL
	};
	/* SQL objects before 0.8 (a rolling update): every signal is neutral */
	static OwnedQuery q_before_polarity = {
		"SELECT id, name, half_life, windows, 0::pg_catalog.int2 FROM tidal.signal_defs", 0, {InvalidOid}, NULL
	};
	HASHCTL		ctl;
	uint64		generation;
	uint64		i;
	TidalSavedUser saved;

	/* read the generation first: a change committed after it forces a reload */
	generation = state_defs_generation();
	cache_generation = 0;

	if (signal_cache != NULL)
	{
		hash_destroy(signal_cache);
		signal_cache = NULL;
	}
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = SIGNAL_NAME_MAXLEN + 1;
	ctl.entrysize = sizeof(SignalDef);
	ctl.hcxt = CacheMemoryContext;
	signal_cache = hash_create("tidal signal definitions", 64, &ctl,
							   HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);

	query_begin(&saved);
	query_exec(query_has_column("signal_defs", "polarity") ? &q : &q_before_polarity, NULL, NULL, true,
			   SPI_OK_SELECT);

	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *name = TextDatumGetCString(SPI_getbinval(tup, desc, 2, &isnull));
		Interval   *half_life = DatumGetIntervalP(SPI_getbinval(tup, desc, 3, &isnull));
		ArrayType  *windows = DatumGetArrayTypeP(SPI_getbinval(tup, desc, 4, &isnull));
		Datum	   *elems;
		int			nelems;
		int64		window_us[DECAY_MAX_WINDOWS];
		int64		sorted_us[DECAY_MAX_WINDOWS];
		int64		half_life_us;
		char	   *why;
		SignalDef  *def;
		bool		found;
		int			w;

		deconstruct_array(windows, INTERVALOID, sizeof(Interval), false, TYPALIGN_DOUBLE,
						  &elems, NULL, &nelems);
		if (nelems > DECAY_MAX_WINDOWS)
			elog(ERROR, "signal \"%s\" has %d windows", name, nelems);
		for (w = 0; w < nelems; w++)
			window_us[w] = catalog_interval_usecs(DatumGetIntervalP(elems[w]), "a window");
		half_life_us = catalog_interval_usecs(half_life, "the half-life");

		/*
		 * A definition stored before replicated records were validated may
		 * break the rules (a window of microseconds divides by zero in the
		 * hot state): such a signal is left out, loudly, and its events
		 * are skipped like those of an undefined signal.
		 */
		memcpy(sorted_us, window_us, sizeof(int64) * nelems);
		if (!validate_signal_definition_ok(name, half_life_us, nelems, sorted_us, &why))
		{
			ereport(WARNING,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("tidal skipped signal \"%s\": its stored definition is invalid", name),
					 errdetail("%s", why),
					 errhint("Drop the signal or correct its row in tidal.signal_defs; until then its events are not counted.")));
			continue;
		}

		def = hash_search(signal_cache, name, HASH_ENTER, &found);
		def->id = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		def->polarity = DatumGetInt16(SPI_getbinval(tup, desc, 5, &isnull));
		decay_spec_init(&def->spec, half_life_us, nelems, window_us);
	}
	query_end(&saved);

	cache_generation = generation;
}

const SignalDef *
catalog_signal(const char *name, bool missing_ok)
{
	SignalDef  *def;
	char		key[SIGNAL_NAME_MAXLEN + 1];

	if (signal_cache == NULL || cache_generation != state_defs_generation())
		load_cache();

	/* hash keys are fixed-width; longer names cannot exist */
	if (strlen(name) <= SIGNAL_NAME_MAXLEN)
	{
		strlcpy(key, name, sizeof(key));
		def = hash_search(signal_cache, key, HASH_FIND, NULL);
		if (def != NULL)
			return def;
	}
	if (!missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("signal \"%s\" does not exist", name),
				 errhint("Define it with tidal.define_signal(); tidal.signals lists the defined signals.")));
	return NULL;
}

const SignalDef *
catalog_signal_n(const char *name, int len, bool missing_ok)
{
	char		buf[SIGNAL_NAME_MAXLEN + 2];

	if (len > SIGNAL_NAME_MAXLEN)
		len = SIGNAL_NAME_MAXLEN + 1;	/* cannot exist; keeps the message bounded */
	memcpy(buf, name, len);
	buf[len] = '\0';
	return catalog_signal(buf, missing_ok);
}

static int
signal_def_id_cmp(const void *a, const void *b)
{
	int32		x = (*(const SignalDef *const *) a)->id;
	int32		y = (*(const SignalDef *const *) b)->id;

	return (x > y) - (x < y);
}

const SignalDef **
catalog_all_signals(int *n)
{
	HASH_SEQ_STATUS scan;
	SignalDef  *def;
	const SignalDef **all;
	int			count = 0;

	(void) catalog_signal("", true);	/* fresh cache */
	all = palloc(sizeof(SignalDef *) * Max(hash_get_num_entries(signal_cache), 1));
	hash_seq_init(&scan, signal_cache);
	while ((def = hash_seq_search(&scan)) != NULL)
		all[count++] = def;
	qsort(all, count, sizeof(SignalDef *), signal_def_id_cmp);
	*n = count;
	return all;
}

int
catalog_window_index(const SignalDef *def, int64 window_us)
{
	int			w;
	StringInfoData list;

	for (w = 0; w < def->spec.nwindows; w++)
		if (def->spec.window_us[w] == window_us)
			return w;

	initStringInfo(&list);
	for (w = 0; w < def->spec.nwindows; w++)
		appendStringInfo(&list, "%s%s", w ? ", " : "",
						 DatumGetCString(DirectFunctionCall1(interval_out,
															 IntervalPGetDatum(&(Interval) {.time = def->spec.window_us[w]}))));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("signal \"%s\" has no window of that length", def->name),
			 def->spec.nwindows > 0
			 ? errhint("Its windows are: %s.", list.data)
			 : errhint("It was defined without windows; windows are given to tidal.define_signal().")));
	return -1;					/* keep compiler quiet */
}
