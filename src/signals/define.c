/*
 * define.c
 *    tidal.define_signal: validates a definition, stores it in
 *    tidal.signal_defs and appends it to tidal's log.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "state/catalog.h"
#include "core/codec.h"
#include "cluster/election.h"
#include "core/hlc.h"
#include "state/clock.h"
#include "log/log.h"
#include "state/stage.h"
#include "pg/settings.h"
#include "pg/owner.h"
#include "pg/validate.h"

PG_FUNCTION_INFO_V1(tidal_define_signal);

/* window lengths in µs (validate_signal_definition checks them); returns how many */
static int
read_windows(ArrayType *arr, int64 *window_us)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("windows must be a one-dimensional array")));
	deconstruct_array(arr, INTERVALOID, sizeof(Interval), false, TYPALIGN_DOUBLE,
					  &elems, &nulls, &n);
	if (n > DECAY_MAX_WINDOWS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a signal can have at most %d windows", DECAY_MAX_WINDOWS)));
	for (i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("windows must not contain NULL")));
		window_us[i] = catalog_interval_usecs(DatumGetIntervalP(elems[i]), "a window");
	}
	return n;
}

Datum
tidal_define_signal(PG_FUNCTION_ARGS)
{
	char	   *name;
	int64		half_life_us;
	int64		window_us[DECAY_MAX_WINDOWS];
	int			nwindows;
	char	   *entity_kind;
	TidalHlc	hlc;
	StringInfoData rec;
	Datum		args[7];
	Oid			argtypes[7] = {TEXTOID, INTERVALOID, INTERVALARRAYOID, TEXTOID, INT8OID, INT4OID, INT4OID};
	int			ret;
	TidalSavedUser saved;

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
	/* the same checks as a replicated definition gets (apply.c) */
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
	args[4] = Int64GetDatum(hlc.wall_ns);
	args[5] = Int32GetDatum(hlc.logical);
	args[6] = Int32GetDatum(hlc.node);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	tidal_become_owner(&saved);
	ret = SPI_execute_with_args("INSERT INTO tidal.signal_defs"
								"(name, half_life, windows, entity_kind, defined_at) "
								"VALUES ($1, $2, $3, $4, tidal.hlc($5, $6, $7))",
								7, argtypes, args, NULL, false, 0);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "could not insert into tidal.signal_defs: %s", SPI_result_code_string(ret));
	tidal_restore_user(&saved);
	SPI_finish();

	initStringInfo(&rec);
	codec_define_signal_record(&rec, &hlc, name, half_life_us, entity_kind, nwindows, window_us);
	log_append(rec.data, rec.len);
	stage_definitions_changed();

	PG_RETURN_VOID();
}
