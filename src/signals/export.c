/*
 * signals/export.c
 *    tidal.export_feedback: the events and hard negatives in tidal's log as
 *    one JSON object each, the material for training a preference model.
 *
 * Objects have a "kind" ("signal", "hide", "unhide", "block_creator",
 * "unblock_creator") and a "feedback" polarity: "positive" for signals of
 * positive weight, "negative" for signals of negative weight and for hides
 * and blocks, "neutral" for zero weights and for unhides and unblocks
 * (they withdraw a negative).  It reads the log, never the hot state, so it
 * sees every event still in the log; rows come in log order.
 *
 * May call: core/, pg/, log/, state/, replication/, cluster/, signals/.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/float.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "state/catalog.h"
#include "core/codec.h"
#include "log/log.h"
#include "state/recovery.h"
#include "pg/validate.h"
#include "pg/settings.h"

PG_FUNCTION_INFO_V1(tidal_export_feedback);

typedef struct ExportScan
{
	ReturnSetInfo *rsinfo;
	int64		since_us;
	int64		until_us;		/* PG_INT64_MAX: no upper bound */
	bool		has_user;
	int64		user_id;
	int			nsignals;		/* 0: every signal */
	char	  **signals;
	StringInfoData buf;
} ExportScan;

static bool
signal_wanted(const ExportScan *x, const LogRecord *rec)
{
	int			i;

	if (x->nsignals == 0)
		return true;
	for (i = 0; i < x->nsignals; i++)
		if ((int) strlen(x->signals[i]) == rec->name_len &&
			memcmp(x->signals[i], rec->name, rec->name_len) == 0)
			return true;
	return false;
}

static void
append_time(StringInfo s, const char *key, int64 unix_us)
{
	char		buf[MAXDATELEN + 1];

	appendStringInfo(s, ", \"%s\": \"%s\"", key,
					 JsonEncodeDateTime(buf, TimestampTzGetDatum(unix_us - TIDAL_UNIX_EPOCH_OFFSET_US),
										TIMESTAMPTZOID, NULL));
}

static void
append_hlc(StringInfo s, const TidalHlc *hlc)
{
	appendStringInfo(s, ", \"hlc\": \"(" INT64_FORMAT ",%d,%d)\"",
					 hlc->wall_ns, hlc->logical, hlc->node);
}

static void
emit(ExportScan *x)
{
	Datum		value = DirectFunctionCall1(jsonb_in, CStringGetDatum(x->buf.data));
	bool		isnull = false;

	tuplestore_putvalues(x->rsinfo->setResult, x->rsinfo->setDesc, &value, &isnull);
}

static void
export_signal(ExportScan *x, const LogRecord *rec)
{
	uint32		i;

	if (!signal_wanted(x, rec) || (x->has_user && !(rec->flags & LOG_SIGNAL_HAS_USER)))
		return;
	for (i = 0; i < rec->nevents; i++)
	{
		LogSignalEvent ev;

		codec_signal_event(rec, i, &ev);
		if (ev.at_us < x->since_us || ev.at_us >= x->until_us)
			continue;
		if (x->has_user && ev.user_id != x->user_id)
			continue;
		resetStringInfo(&x->buf);
		appendStringInfoString(&x->buf, "{\"kind\": \"signal\", \"signal\": ");
		escape_json(&x->buf, pnstrdup(rec->name, rec->name_len));
		/* the shortest text that reads back as the same float8, as float8out writes it */
		appendStringInfo(&x->buf, ", \"entity\": " INT64_FORMAT ", \"weight\": %s",
						 ev.entity, float8out_internal(ev.weight));
		append_time(&x->buf, "time", ev.at_us);
		if (ev.has_user)
			appendStringInfo(&x->buf, ", \"user_id\": " INT64_FORMAT, ev.user_id);
		else
			appendStringInfoString(&x->buf, ", \"user_id\": null");
		appendStringInfo(&x->buf, ", \"feedback\": \"%s\"",
						 ev.weight > 0 ? "positive" : ev.weight < 0 ? "negative" : "neutral");
		append_hlc(&x->buf, &rec->hlc);
		appendStringInfoChar(&x->buf, '}');
		emit(x);
	}
}

static void
export_hide(ExportScan *x, const LogRecord *rec)
{
	int64		at_us = rec->hlc.wall_ns / 1000;
	bool		hide = rec->action == LOG_HIDE_ACTION_HIDE;
	bool		item = rec->target_kind == LOG_HIDE_TARGET_ITEM;

	if (at_us < x->since_us || at_us >= x->until_us)
		return;
	if (x->has_user && rec->user_id != x->user_id)
		return;
	resetStringInfo(&x->buf);
	appendStringInfo(&x->buf, "{\"kind\": \"%s\", \"user_id\": " INT64_FORMAT ", \"%s\": " INT64_FORMAT,
					 item ? (hide ? "hide" : "unhide") : (hide ? "block_creator" : "unblock_creator"),
					 rec->user_id, item ? "item_id" : "creator_id", rec->target);
	append_time(&x->buf, "time", at_us);
	appendStringInfo(&x->buf, ", \"feedback\": \"%s\"", hide ? "negative" : "neutral");
	append_hlc(&x->buf, &rec->hlc);
	appendStringInfoChar(&x->buf, '}');
	emit(x);
}

static void
export_record(const LogRecord *rec, void *arg)
{
	ExportScan *x = (ExportScan *) arg;

	if (rec->tenant != 0)
		return;
	if (rec->kind == LOG_RECORD_SIGNAL)
		export_signal(x, rec);
	else if (rec->kind == LOG_RECORD_HIDE)
		export_hide(x, rec);
}

/* the signal names to export, each checked to exist */
static void
read_signal_filter(ArrayType *arr, ExportScan *x)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;

	(void) validate_array_1d(arr, "signals");
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("signals must not be empty"),
				 errhint("Pass NULL to export every signal.")));
	x->signals = palloc(sizeof(char *) * n);
	for (i = 0; i < n; i++)
	{
		x->signals[i] = TextDatumGetCString(elems[i]);
		(void) catalog_signal(x->signals[i], false);	/* errors if unknown */
	}
	x->nsignals = n;
}

/*
 * tidal.export_feedback(since timestamptz, until timestamptz DEFAULT now(),
 *                       user_id bigint DEFAULT NULL, signals text[] DEFAULT NULL)
 *    RETURNS SETOF jsonb
 *
 * Events with since <= time < until; until NULL means no upper bound.  With
 * user_id, only that user's events (signals written without a user are left
 * out).  signals restricts signal events to those names; hides always come.
 */
Datum
tidal_export_feedback(PG_FUNCTION_ARGS)
{
	ExportScan	x;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("since must not be NULL"),
				 errhint("Pass '-infinity' to export from the beginning of the log.")));
	memset(&x, 0, sizeof(x));
	/* bounds beyond the times tidal stores only filter: they saturate, never wrap */
	x.since_us = tidal_time_filter_usecs(PG_GETARG_TIMESTAMPTZ(0));
	x.until_us = PG_ARGISNULL(1) ? PG_INT64_MAX : tidal_time_filter_usecs(PG_GETARG_TIMESTAMPTZ(1));
	x.has_user = !PG_ARGISNULL(2);
	x.user_id = x.has_user ? PG_GETARG_INT64(2) : 0;

	tidal_ensure_loaded();
	if (!PG_ARGISNULL(3))
		read_signal_filter(PG_GETARG_ARRAYTYPE_P(3), &x);

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	x.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	initStringInfo(&x.buf);
	log_replay(export_record, &x);

	return (Datum) 0;
}
