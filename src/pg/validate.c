/*
 * pg/validate.c
 *    Owns the validation of everything tidal accepts: range checks of times,
 *    weights, half-lives and scores, one-dimensional array arguments, and
 *    one validator per kind of input (names, definitions, events, tenants,
 *    item metadata, the bounds of a profile record).  The SQL entry points
 *    (define.c, signal.c, items.c, profile.c, tenant.c) call them on their
 *    arguments; the apply of a replicated batch (apply/apply.c) calls
 *    validate_record on each of its records before applying any of them.  A
 *    peer is therefore held to the rules a local caller is, with the same
 *    messages, and nothing unchecked reaches the hot state (where, e.g., a
 *    window too short for its buckets would divide by zero at commit).  What
 *    needs the catalog (a profile's terms against the signals defined here)
 *    is checked by its owner (ranking/profile.c).
 *
 * The range checks are plain functions without SPI or catalog access: they
 * sit on the hot path of tidal.signal and tidal.signal_batch.  The fast
 * tests are inline in validate.h; the functions here raise the errors.
 *
 *    May call: core/, pg/.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/int.h"
#include "datatype/timestamp.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "mb/pg_wchar.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "core/crdt.h"
#include "core/decay.h"
#include "core/hlc.h"
#include "core/util.h"
#include "core/vector.h"
#include "pg/settings.h"
#include "pg/validate.h"

#define RANGE_HINT \
	"tidal stores times from " TIDAL_MIN_TIME_TEXT " to " TIDAL_MAX_TIME_TEXT "."

static void
time_out_of_range(const char *what, const char *given)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
			 errmsg("%s is out of the range tidal supports", what),
			 errdetail("The time given was %s.", given),
			 errhint(RANGE_HINT)));
}

int64
tidal_time_usecs(TimestampTz ts, const char *what)
{
	int64		unix_us;

	if (unlikely(TIMESTAMP_NOT_FINITE(ts)))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("%s must be a finite timestamp", what)));
	if (unlikely(pg_add_s64_overflow(ts, TIDAL_UNIX_EPOCH_OFFSET_US, &unix_us) ||
				 !tidal_time_in_range(unix_us)))
		time_out_of_range(what, timestamptz_to_str(ts));
	return unix_us;
}

void
tidal_check_time_us(int64 unix_us, const char *what)
{
	if (unlikely(!tidal_time_in_range(unix_us)))
	{
		char		given[64];

		snprintf(given, sizeof(given), INT64_FORMAT " µs after 1970-01-01 00:00:00+00", unix_us);
		time_out_of_range(what, given);
	}
}

int64
tidal_time_filter_usecs(TimestampTz ts)
{
	int64		unix_us;

	if (TIMESTAMP_IS_NOBEGIN(ts))
		return PG_INT64_MIN;
	if (TIMESTAMP_IS_NOEND(ts))
		return PG_INT64_MAX;
	if (pg_add_s64_overflow(ts, TIDAL_UNIX_EPOCH_OFFSET_US, &unix_us))
		return ts < 0 ? PG_INT64_MIN : PG_INT64_MAX;
	if (unix_us < TIDAL_MIN_TIME_US)
		return PG_INT64_MIN;
	if (unix_us > TIDAL_MAX_TIME_US)
		return PG_INT64_MAX;
	return unix_us;
}

void
tidal_check_weight(double w)
{
	/* not a number at all: an invalid argument, as tidal has always said */
	if (isnan(w) || isinf(w))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("signal weight must be a finite number"),
				 errdetail("The weight given was %g.", w)));
	if (!tidal_weight_in_range(w))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("signal weight is out of the range tidal supports"),
				 errdetail("The weight given was %g.", w),
				 errhint("A weight is at most %g in absolute value.", TIDAL_MAX_ABS_WEIGHT)));
}

double
tidal_check_score(double x, int64 at_us, const char *what)
{
	if (unlikely(isnan(x) || isinf(x)))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s at this time is out of the range of double precision", what),
				 errdetail("Read at " INT64_FORMAT " µs after 1970-01-01 00:00:00+00, far enough before "
						   "an event that doubling once per half-life back to it overflows.", at_us),
				 errhint("Read at a time closer to the events, or after them.")));
	return x;
}

/* metadata larger than this is refused: it is copied to every region */
#define MAX_METADATA_BYTES	(64 * 1024)

/* a NUL-terminated copy of a name that may contain anything (a record's: at most 64 kB) */
static char *
bounded_cstring(const char *s, int len)
{
	int			n = Max(len, 0);
	char	   *out = palloc(n + 1);
	int			i;

	/* a NUL inside would hide the rest from the check: make it visible */
	for (i = 0; i < n; i++)
		out[i] = s[i] == '\0' ? '?' : s[i];
	out[n] = '\0';
	return out;
}

void
validate_name_cstring(const char *name, const char *what)
{
	const char *p;

	if (name[0] == '\0' || strlen(name) > SIGNAL_NAME_MAXLEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("invalid %s name \"%s\"", what, name),
				 errdetail("A %s name has 1 to %d characters.", what, SIGNAL_NAME_MAXLEN)));
	for (p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
			  *p == '_' || *p == '.' || *p == '-' || *p == ':'))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_NAME),
					 errmsg("invalid %s name \"%s\"", what, name),
					 errdetail("A %s name uses lower-case letters, digits, '_', '.', '-' and ':'.", what)));
}

void
validate_name(const char *name, int len, const char *what)
{
	validate_name_cstring(bounded_cstring(name, len), what);
}

static void
validate_entity_kind(const char *kind, int len)
{
	char	   *k = bounded_cstring(kind, len);
	const char *p;

	if (k[0] == '\0' || strlen(k) > SIGNAL_NAME_MAXLEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid entity kind \"%s\"", k)));
	for (p = k; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid entity kind \"%s\"", k),
					 errdetail("An entity kind uses lower-case letters, digits and '_', e.g. 'item', 'creator' or 'user'.")));
}

static char *
usecs_text(int64 us)
{
	Interval	iv = {.day = (int32) (us / USECS_PER_DAY), .time = us % USECS_PER_DAY};

	return DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(&iv)));
}

static void
validate_windows(int n, int64 *window_us)
{
	int			i;

	if (n < 0 || n > DECAY_MAX_WINDOWS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a signal can have at most %d windows", DECAY_MAX_WINDOWS)));
	for (i = 0; i < n; i++)
	{
		const char *why;

		if (!decay_window_supported(window_us[i], &why))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unsupported window %s", usecs_text(window_us[i])),
					 errdetail("%s.", why)));
	}
	qsort(window_us, n, sizeof(int64), tidal_int64_cmp);
	for (i = 1; i < n; i++)
		if (window_us[i] == window_us[i - 1])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("windows must be distinct")));
}

void
validate_signal_definition(const char *name, int name_len, int64 half_life_us,
						   int nwindows, int64 *window_us,
						   const char *entity_kind, int entity_kind_len)
{
	validate_name(name, name_len, "signal");
	if (half_life_us <= 0 || half_life_us > TIDAL_MAX_HALF_LIFE_US)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("half-life must be positive and at most 100 years")));
	validate_windows(nwindows, window_us);
	validate_entity_kind(entity_kind, entity_kind_len);
}

int
validate_array_1d(ArrayType *arr, const char *what)
{
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", what)));
	if (array_contains_nulls(arr))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not contain NULL", what)));
	return ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
}

void
validate_tenant_id(int64 tenant)
{
	if (tenant < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid tenant id " INT64_FORMAT, tenant),
				 errdetail("Tenant ids are 0 (the default tenant) or above.")));
}

void
validate_item_metadata(Jsonb *metadata, Size text_len)
{
	if (!JB_ROOT_IS_OBJECT(metadata))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("item metadata must be a JSON object"),
				 errhint("Use an object such as '{\"lang\": \"en\"}'; tidal.retrieve filters with @>.")));
	if (text_len > MAX_METADATA_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("item metadata is %zu bytes, more than the %d allowed",
						text_len, MAX_METADATA_BYTES)));
}

/* an embedding's elements, wherever it came from */
static void
check_embedding(const float4 *v, int dims)
{
	double		self;

	if (tidal_embedding_dimensions == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("items carry no embeddings on this node"),
				 errdetail("tidal.embedding_dimensions is 0."),
				 errhint("Set tidal.embedding_dimensions in postgresql.conf (the same on every node) and restart.")));
	if (dims != tidal_embedding_dimensions)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an embedding has %d dimensions, and tidal.embedding_dimensions is %d",
						dims, tidal_embedding_dimensions),
				 errhint("Every item's embedding has the same length, on every node.")));
	if (!vector_all_finite(v, dims))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an embedding must not hold NaN or infinity")));
	if (!vector_cosine(v, v, dims, &self))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an embedding must not be all zeros"),
				 errdetail("A vector without length has no direction to compare.")));
}

float4 *
validate_embedding_array(ArrayType *embedding, int *dims)
{
	float4	   *v;

	if (ARR_NDIM(embedding) > 1 || ARR_ELEMTYPE(embedding) != FLOAT4OID || array_contains_nulls(embedding))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an embedding is a one-dimensional real[] without NULLs")));
	*dims = ArrayGetNItems(ARR_NDIM(embedding), ARR_DIMS(embedding));
	v = palloc(sizeof(float4) * Max(*dims, 1));
	if (*dims > 0)
		memcpy(v, ARR_DATA_PTR(embedding), sizeof(float4) * *dims);
	check_embedding(v, *dims);
	return v;
}

float4 *
validate_record_embedding(const LogRecord *rec)
{
	float4	   *v = palloc(sizeof(float4) * Max(rec->embedding_dims, 1));

	codec_item_embedding(rec, v);
	check_embedding(v, rec->embedding_dims);
	return v;
}

Jsonb *
validate_record_json(const LogRecord *rec, Size max_len, const char *what)
{
	if (rec->text_len > max_len)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s is %u bytes, more than the %zu allowed", what, rec->text_len, max_len)));
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
											  CStringGetDatum(pnstrdup(rec->text, rec->text_len))));
}

void
validate_session(const char *session, int len)
{
	int			i;

	if (len < 1 || len > LOG_SESSION_MAXLEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a session id has 1 to %d bytes", LOG_SESSION_MAXLEN)));
	for (i = 0; i < len; i++)
		if ((unsigned char) session[i] < 0x20 || session[i] == 0x7f)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a session id has no control characters")));
	(void) pg_verifymbstr(session, len, false);
}

void
validate_session_seqno(int64 seqno)
{
	if (seqno < 1 || seqno > LOG_SESSION_MAX_SEQNO)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("session_seqno " INT64_FORMAT " is out of range", seqno),
				 errdetail("A session numbers its writes 1, 2, 3, ..., up to " INT64_FORMAT ".",
						   LOG_SESSION_MAX_SEQNO)));
}

/* a session write's place, and for its signal event the key it implies */
static void
validate_session_record(const LogRecord *rec)
{
	validate_session(rec->session, rec->session_len);
	validate_session_seqno(rec->session_seqno);
	if (rec->kind == LOG_RECORD_SIGNAL)
	{
		char	   *key = codec_session_key(rec->session, rec->session_len, rec->session_seqno);

		if (rec->nevents != 1 || rec->key == NULL || rec->key_len != (int) strlen(key) ||
			memcmp(rec->key, key, rec->key_len) != 0 || rec->region >= 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("a session's signal record holds one event, keyed by its session and seqno")));
		pfree(key);
	}
}

static void
validate_signal_record(const LogRecord *rec)
{
	uint32		i;

	validate_name(rec->name, rec->name_len, "signal");
	for (i = 0; i < rec->nevents; i++)
	{
		LogSignalEvent ev;

		codec_signal_event(rec, i, &ev);
		/* the inline tests first: a rebuild runs this for every logged event */
		if (unlikely(!tidal_weight_in_range(ev.weight)))
			tidal_check_weight(ev.weight);
		if (unlikely(!tidal_time_in_range(ev.at_us)))
			tidal_check_time_us(ev.at_us, "event time");
	}
}

void
validate_record(const LogRecord *rec)
{
	if (rec->hlc.wall_ns < 0 || rec->hlc.logical < 0 ||
		rec->hlc.node < 0 || rec->hlc.node > TIDAL_MAX_NODE_ID)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("invalid record hlc (" INT64_FORMAT ", %d, %d)",
						rec->hlc.wall_ns, rec->hlc.logical, rec->hlc.node)));
	validate_tenant_id(rec->tenant);
	if (rec->session != NULL)
		validate_session_record(rec);

	switch (rec->kind)
	{
		case LOG_RECORD_SIGNAL:
			validate_signal_record(rec);
			if (rec->interest_dims > 0 && rec->interest_dims != tidal_embedding_dimensions)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("a signal's interest part has %d dimensions, and tidal.embedding_dimensions is %d",
								rec->interest_dims, tidal_embedding_dimensions),
						 errhint("Every node of a cluster has the same tidal.embedding_dimensions.")));
			break;
		case LOG_RECORD_DEFINE_SIGNAL:
			{
				int64		windows[DECAY_MAX_WINDOWS];

				memcpy(windows, rec->window_us, sizeof(int64) * Min(rec->nwindows, DECAY_MAX_WINDOWS));
				validate_signal_definition(rec->name, rec->name_len, rec->half_life_us,
										   rec->nwindows, windows,
										   rec->entity_kind, rec->entity_kind_len);
				break;
			}
		case LOG_RECORD_ITEM:
			tidal_check_time_us(rec->created_at_us, "created_at");
			validate_item_metadata(validate_record_json(rec, MAX_METADATA_BYTES, "item metadata"),
								   rec->text_len);
			if (rec->embedding_dims > 0)
				(void) validate_record_embedding(rec);
			break;
		case LOG_RECORD_HIDE:
			break;				/* action and target kind are checked by the codec */
		case LOG_RECORD_DEFINE_PROFILE:
			/* its terms are compiled when it is applied (profile_validate_record) */
			validate_name(rec->name, rec->name_len, "profile");
			(void) validate_record_json(rec, MAX_PROFILE_SPEC_BYTES, "a profile spec");
			break;
		case LOG_RECORD_ELIDED:
			/* the codec requires an elidable kind (a tenant's data, or tenant 0's events) and its event count */
			break;
		case LOG_RECORD_HANDOFF:
			/* the codec checks its fields; cluster/reshard.c its chunk (checksums) before it applies it */
			break;
		case LOG_RECORD_SHARD_MAP:
			/* the codec requires tenant 0; cluster/shard.c checks the map itself before it applies it */
			(void) validate_record_json(rec, 64 * 1024, "a shard map");
			break;
		case LOG_RECORD_TENANT:
		case LOG_RECORD_MIGRATION:
			/* the codec requires tenant > 0; their JSON is read by SQL casts that check it */
			(void) validate_record_json(rec, 1024 * 1024, "a tenant record");
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("unknown tidal record kind %d", rec->kind)));
	}
}

/*
 * The validators above only compute, allocate and ereport: they take no
 * lock, pin no buffer and open nothing.  Their errors can therefore be
 * caught without a subtransaction, which lets a reader of what is already
 * stored (the rebuild, the definitions cache) skip what fails them.
 */
static bool
caught(MemoryContext cxt, char **message)
{
	ErrorData  *edata;

	MemoryContextSwitchTo(cxt);
	edata = CopyErrorData();
	FlushErrorState();
	*message = edata->detail
		? psprintf("%s (%s)", edata->message, edata->detail)
		: pstrdup(edata->message);
	FreeErrorData(edata);
	return false;
}

bool
validate_record_ok(const LogRecord *rec, char **message)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile bool ok = true;

	PG_TRY();
	{
		validate_record(rec);
	}
	PG_CATCH();
	{
		ok = caught(cxt, message);
	}
	PG_END_TRY();
	return ok;
}

bool
validate_signal_definition_ok(const char *name, int64 half_life_us, int nwindows,
							  int64 *window_us, char **message)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile bool ok = true;

	PG_TRY();
	{
		validate_signal_definition(name, strlen(name), half_life_us, nwindows, window_us,
								   "item", 4);
	}
	PG_CATCH();
	{
		ok = caught(cxt, message);
	}
	PG_END_TRY();
	return ok;
}
