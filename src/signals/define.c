/*
 * signals/define.c
 *    Owns signal definitions as written: tidal.define_signal validates a
 *    definition, stores it in tidal.signal_defs and appends it to tidal's
 *    log; define_apply_record stores a definition of another origin.  (The
 *    definitions as read, cached per backend, are state/catalog.c's.)
 *
 *    May call: core/, pg/, log/, state/, replication/, cluster/, signals/.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "cluster/election.h"
#include "core/codec.h"
#include "core/hlc.h"
#include "log/log.h"
#include "pg/query.h"
#include "pg/settings.h"
#include "pg/validate.h"
#include "signals/define.h"
#include "state/catalog.h"
#include "state/clock.h"
#include "state/stage.h"

PG_FUNCTION_INFO_V1(tidal_define_signal);

/* window lengths in µs (validate_signal_definition checks them); returns how many */
static int
read_windows(ArrayType *arr, int64 *window_us)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n = validate_array_1d(arr, "windows");
	int			i;

	if (n > DECAY_MAX_WINDOWS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a signal can have at most %d windows", DECAY_MAX_WINDOWS)));
	deconstruct_array(arr, INTERVALOID, sizeof(Interval), false, TYPALIGN_DOUBLE,
					  &elems, &nulls, &n);
	for (i = 0; i < n; i++)
		window_us[i] = catalog_interval_usecs(DatumGetIntervalP(elems[i]), "a window");
	return n;
}

/*
 * SQL objects before 0.8 (a rolling update) have no polarity column: a
 * neutral definition is stored as before (polarity_q's other query), a
 * polar one waits for ALTER EXTENSION tidal UPDATE (a replicated one's
 * batch is pulled again then).
 */
static OwnedQuery *
polarity_q(int polarity, OwnedQuery *with, OwnedQuery *without)
{
	if (query_has_column("signal_defs", "polarity"))
		return with;
	if (polarity != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("a signal with a polarity is not stored until ALTER EXTENSION tidal UPDATE has run on this node"),
				 errhint("Run ALTER EXTENSION tidal UPDATE here; a replicated definition is pulled again then.")));
	return without;				/* query_merge_by_hlc binds the HLC over args[4] */
}

/*
 * A signal definition of another origin: stored unless a signal of that
 * name exists (the first definition a node learns wins; definitions become
 * leader-only with leader election).
 */
void
define_apply_record(const LogRecord *rec)
{
	static OwnedQuery q = {
		"INSERT INTO tidal.signal_defs (name, half_life, windows, entity_kind, polarity, defined_at) "
		"VALUES ($1, pg_catalog.justify_hours(pg_catalog.make_interval(secs => $2 / 1e6)), "
		"        ARRAY(SELECT pg_catalog.justify_hours(pg_catalog.make_interval(secs => w / 1e6)) FROM pg_catalog.unnest($3::pg_catalog.int8[]) w), "
		"        $4, $5, tidal.hlc($6, $7, $8)) "
		"ON CONFLICT (name) DO NOTHING",
		8, {TEXTOID, INT8OID, INT8ARRAYOID, TEXTOID, INT2OID, INT8OID, INT4OID, INT4OID}, NULL
	};
	static OwnedQuery q_before_polarity = {
		"INSERT INTO tidal.signal_defs (name, half_life, windows, entity_kind, defined_at) "
		"VALUES ($1, pg_catalog.justify_hours(pg_catalog.make_interval(secs => $2 / 1e6)), "
		"        ARRAY(SELECT pg_catalog.justify_hours(pg_catalog.make_interval(secs => w / 1e6)) FROM pg_catalog.unnest($3::pg_catalog.int8[]) w), "
		"        $4, tidal.hlc($5, $6, $7)) "
		"ON CONFLICT (name) DO NOTHING",
		7, {TEXTOID, INT8OID, INT8ARRAYOID, TEXTOID, INT8OID, INT4OID, INT4OID}, NULL
	};
	Datum		args[8];
	Datum		windows[DECAY_MAX_WINDOWS];
	int			w;

	Assert(rec->kind == LOG_RECORD_DEFINE_SIGNAL);
	for (w = 0; w < rec->nwindows; w++)
		windows[w] = Int64GetDatum(rec->window_us[w]);
	args[0] = PointerGetDatum(cstring_to_text_with_len(rec->name, rec->name_len));
	args[1] = Int64GetDatum(rec->half_life_us);
	args[2] = PointerGetDatum(construct_array(windows, rec->nwindows, INT8OID, sizeof(int64),
											  true, TYPALIGN_DOUBLE));
	args[3] = PointerGetDatum(cstring_to_text_with_len(rec->entity_kind, rec->entity_kind_len));
	args[4] = Int16GetDatum((int16) rec->polarity);
	if (query_merge_by_hlc(polarity_q(rec->polarity, &q, &q_before_polarity), args, NULL, &rec->hlc))
		stage_definitions_changed();
}

Datum
tidal_define_signal(PG_FUNCTION_ARGS)
{
	static OwnedQuery q = {
		"INSERT INTO tidal.signal_defs (name, half_life, windows, entity_kind, polarity, defined_at) "
		"VALUES ($1, $2, $3, $4, $5, tidal.hlc($6, $7, $8))",
		8, {TEXTOID, INTERVALOID, INTERVALARRAYOID, TEXTOID, INT2OID, INT8OID, INT4OID, INT4OID}, NULL
	};
	static OwnedQuery q_before_polarity = {
		"INSERT INTO tidal.signal_defs (name, half_life, windows, entity_kind, defined_at) "
		"VALUES ($1, $2, $3, $4, tidal.hlc($5, $6, $7))",
		7, {TEXTOID, INTERVALOID, INTERVALARRAYOID, TEXTOID, INT8OID, INT4OID, INT4OID}, NULL
	};
	char	   *name;
	int64		half_life_us;
	int64		window_us[DECAY_MAX_WINDOWS];
	int			nwindows;
	char	   *entity_kind;
	TidalHlc	hlc;
	StringInfoData rec;
	Datum		args[8];
	int			polarity = 0;

	tidal_require_preload();
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("tidal.define_signal arguments must not be NULL")));

	election_require_leader("tidal.define_signal");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	half_life_us = catalog_interval_usecs(PG_GETARG_INTERVAL_P(1), "the half-life");
	nwindows = read_windows(PG_GETARG_ARRAYTYPE_P(2), window_us);
	entity_kind = text_to_cstring(PG_GETARG_TEXT_PP(3));
	if (PG_NARGS() > 4)
	{
		if (PG_ARGISNULL(4))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("polarity must not be NULL"),
					 errhint("0 (the default) is a signal that is neither a positive nor a negative reaction.")));
		polarity = PG_GETARG_INT32(4);
		if (polarity < -1 || polarity > 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("polarity must be -1, 0 or 1, not %d", polarity),
					 errhint("1: a positive reaction (save, share), -1: a negative one (skip), 0: neither (view).")));
	}
	/* the same checks as a replicated definition gets (validate_record) */
	validate_signal_definition(name, strlen(name), half_life_us, nwindows, window_us,
							   entity_kind, strlen(entity_kind));

	if (catalog_signal(name, true) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("signal \"%s\" already exists", name)));

	hlc = hlc_clock_now();

	/* stored as given, e.g. '7 days'; lengths were validated above */
	args[0] = CStringGetTextDatum(name);
	args[1] = PG_GETARG_DATUM(1);
	args[2] = PG_GETARG_DATUM(2);
	args[3] = CStringGetTextDatum(entity_kind);
	args[4] = Int16GetDatum((int16) polarity);
	(void) query_merge_by_hlc(polarity_q(polarity, &q, &q_before_polarity), args, NULL, &hlc);

	initStringInfo(&rec);
	codec_define_signal_record(&rec, &hlc, name, half_life_us, entity_kind, nwindows, window_us, polarity);
	log_append(rec.data, rec.len);
	stage_definitions_changed();

	PG_RETURN_VOID();
}
