/*
 * validate.c
 *    One validator per kind of input (names, definitions, events, tenants,
 *    item metadata, profile specs).  The SQL entry points (define.c,
 *    signal.c, items.c, profile.c, tenant.c) call them on their arguments;
 *    the apply of a replicated batch (apply.c) calls validate_record on each
 *    of its records before applying any of them.  A peer is therefore held
 *    to the rules a local caller is, with the same messages, and nothing
 *    unchecked reaches the hot state (where, e.g., a window too short for
 *    its buckets would divide by zero at commit).
 */
#include "postgres.h"

#include <math.h>

#include "datatype/timestamp.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "crdt.h"
#include "decay.h"
#include "hlc.h"
#include "profile.h"
#include "signal_input.h"
#include "tidal.h"
#include "validate.h"

/* a half-life longer than this makes no sense for a decaying signal */
#define MAX_HALF_LIFE_US	(INT64CONST(100) * 365 * USECS_PER_DAY)

/* metadata larger than this is refused: it is copied to every region */
#define MAX_METADATA_BYTES	(64 * 1024)
#define MAX_PROFILE_SPEC_BYTES	(64 * 1024)

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
validate_name(const char *name, int len, const char *what)
{
	catalog_check_name(bounded_cstring(name, len), what);
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
	if (half_life_us <= 0 || half_life_us > MAX_HALF_LIFE_US)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("half-life must be positive and at most 100 years")));
	validate_windows(nwindows, window_us);
	validate_entity_kind(entity_kind, entity_kind_len);
}

void
validate_signal_weight(double weight)
{
	if (isnan(weight) || isinf(weight))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("signal weight must be a finite number"),
				 errdetail("The weight given was %g.", weight)));
}

void
validate_event_time(int64 at_us, const char *what)
{
	/* the first test keeps the subtraction from overflowing */
	if (at_us < MIN_TIMESTAMP + TIDAL_UNIX_EPOCH_OFFSET_US ||
		!IS_VALID_TIMESTAMP(at_us - TIDAL_UNIX_EPOCH_OFFSET_US))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("%s is out of range", what)));
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

void
validate_profile_spec(Jsonb *spec, Size text_len)
{
	if (text_len > MAX_PROFILE_SPEC_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("invalid ranking profile: the spec is longer than %d bytes", MAX_PROFILE_SPEC_BYTES)));
	(void) profile_compile(spec);	/* errors on a bad spec */
}

/* JSON text of a record, parsed (an error if it is not JSON); bounded first */
static Jsonb *
record_json(const LogRecord *rec, Size max_len, const char *what)
{
	if (rec->text_len > max_len)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s is %u bytes, more than the %zu allowed", what, rec->text_len, max_len)));
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
											  CStringGetDatum(pnstrdup(rec->text, rec->text_len))));
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
		validate_signal_weight(ev.weight);
		validate_event_time(ev.at_us, "event time");
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

	switch (rec->kind)
	{
		case LOG_RECORD_SIGNAL:
			validate_signal_record(rec);
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
			validate_event_time(rec->created_at_us, "created_at");
			validate_item_metadata(record_json(rec, MAX_METADATA_BYTES, "item metadata"),
								   rec->text_len);
			break;
		case LOG_RECORD_HIDE:
			break;				/* action and target kind are checked by the codec */
		case LOG_RECORD_DEFINE_PROFILE:
			/* its terms are compiled when it is applied (validate_profile_record) */
			validate_name(rec->name, rec->name_len, "profile");
			(void) record_json(rec, MAX_PROFILE_SPEC_BYTES, "a profile spec");
			break;
		case LOG_RECORD_TENANT:
		case LOG_RECORD_MIGRATION:
			/* the codec requires tenant > 0; their JSON is read by SQL casts that check it */
			(void) record_json(rec, 1024 * 1024, "a tenant record");
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("unknown tidal record kind %d", rec->kind)));
	}
}

void
validate_profile_record(const LogRecord *rec)
{
	Assert(rec->kind == LOG_RECORD_DEFINE_PROFILE);
	validate_profile_spec(record_json(rec, MAX_PROFILE_SPEC_BYTES, "a profile spec"), rec->text_len);
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
