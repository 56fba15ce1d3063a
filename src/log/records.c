/*
 * log/records.c
 *    tidal._log_records: the records of one stored batch or pending record,
 *    by kind, tenant and event count, for tidal.log_records (operators, and
 *    the residency tests: which tenants' raw events a region holds).
 *
 * May call: core/, pg/, log/.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "core/codec.h"
#include "pg/settings.h"

PG_FUNCTION_INFO_V1(tidal_log_records_of);

/*
 * tidal._log_records(data bytea, sealed boolean)
 *    RETURNS TABLE (record int, kind int, tenant bigint, events bigint, elided boolean)
 *
 * data is a sealed batch (sealed) or one record of tidal.pending.  kind is
 * the record's kind, or for an elided record the kind of the record it
 * stands for (elided is then true).
 */
Datum
tidal_log_records_of(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bytea	   *data = PG_GETARG_BYTEA_PP(0);
	bool		sealed = PG_GETARG_BOOL(1);
	const char *p = VARDATA_ANY(data);
	const char *end = p + VARSIZE_ANY_EXHDR(data);
	const char *why;
	int32		n = 0;

	tidal_require_preload();
	InitMaterializedSRF(fcinfo, 0);
	if (sealed)
	{
		LogBatchHeader hdr;
		const char *payload;

		if (!codec_read_batch(p, end - p, &hdr, &payload, &why))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("not a valid tidal batch: %s", why)));
		p = payload;
		end = payload + hdr.payload_len;
	}
	while (p < end)
	{
		LogRecord	rec;
		Size		consumed;
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		CHECK_FOR_INTERRUPTS();
		if (!codec_read_record(p, end - p, &consumed, &rec, &why))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("not a valid tidal record: %s", why)));
		values[0] = Int32GetDatum(++n);
		values[1] = Int32GetDatum(rec.kind == LOG_RECORD_ELIDED ? rec.elided_kind : rec.kind);
		values[2] = Int64GetDatum(rec.tenant);
		values[3] = Int64GetDatum((int64) codec_record_events(&rec));
		values[4] = BoolGetDatum(rec.kind == LOG_RECORD_ELIDED);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		p += consumed;
	}
	return (Datum) 0;
}
