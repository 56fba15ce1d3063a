/*
 * state/monitor.c
 *    Introspection of the hot state (tidal.state_stats, tidal.state_entries) and of the items'
 *    facts (tidal.item_facts_stats), and the internal reset called by the
 *    extension's install script.
 *
 * May call: core/, pg/, log/, state/.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"

#include "state/facts.h"
#include "state/recovery.h"
#include "state/state.h"
#include "pg/settings.h"

PG_FUNCTION_INFO_V1(tidal_state_stats);
PG_FUNCTION_INFO_V1(tidal_reset_state_sql);
PG_FUNCTION_INFO_V1(tidal_item_facts_stats);
PG_FUNCTION_INFO_V1(tidal_state_entries);

static void
count_entry(const StateKey *key pg_attribute_unused(), const DecayState *state pg_attribute_unused(), void *arg)
{
	(*(int64 *) arg)++;
}

/*
 * tidal.state_entries(entities int8range, tenant bigint DEFAULT 0) RETURNS bigint
 *    the hot state's (entity, signal) pairs of a range of entities, here
 */
Datum
tidal_state_entries(PG_FUNCTION_ARGS)
{
	StateRange	range;
	int64		n = 0;

	tidal_require_preload();
	if (!state_range_from_datum(PG_GETARG_DATUM(0), &range))
		PG_RETURN_INT64(0);
	tidal_ensure_loaded();
	state_collect_range(MyDatabaseId, PG_GETARG_INT64(1), &range, count_entry, &n);
	PG_RETURN_INT64(n);
}

/*
 * tidal.state_stats(OUT entries bigint, OUT capacity bigint,
 *                   OUT bytes_per_entry bigint, OUT loaded boolean)
 */
Datum
tidal_state_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	tidal_require_preload();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	values[0] = Int64GetDatum(state_entry_count(MyDatabaseId));
	values[1] = Int64GetDatum((int64) tidal_max_entities);
	values[2] = Int64GetDatum((int64) state_entry_bytes());
	values[3] = BoolGetDatum(state_db_loaded(MyDatabaseId));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

/*
 * tidal.item_facts_stats(OUT items bigint, OUT capacity bigint,
 *                        OUT metadata_bytes int, OUT complete boolean)
 */
Datum
tidal_item_facts_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	tidal_require_preload();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	tidal_ensure_loaded();		/* the facts are loaded with the hot state */
	values[0] = Int64GetDatum(facts_count(MyDatabaseId));
	values[1] = Int64GetDatum((int64) tidal_max_items);
	values[2] = Int32GetDatum(tidal_item_metadata_bytes);
	values[3] = BoolGetDatum(facts_complete());
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

/* tidal._reset_state(): called when the extension is created */
Datum
tidal_reset_state_sql(PG_FUNCTION_ARGS)
{
	tidal_reset_state();
	PG_RETURN_VOID();
}
