/*
 * pg/validate.h
 *    The validation of everything tidal accepts, whether it comes from a
 *    local SQL call or from a replicated record of a peer: the ranges its
 *    arithmetic is exact in (times, weights, half-lives, scores) and one
 *    validator per kind of input.  Both paths call these same functions, so
 *    a record a peer sends is held to exactly the rules a local caller is,
 *    a finite input never produces an infinite or NaN score, and no sum or
 *    difference of timestamps can wrap (see validate.c).
 *
 *    May call: core/, pg/.
 */
#ifndef TIDAL_VALIDATE_H
#define TIDAL_VALIDATE_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/array.h"
#include "utils/jsonb.h"

#include "core/codec.h"

/*
 * Times tidal stores: [1678-01-01 00:00:00 UTC, 2262-01-01 00:00:00 UTC],
 * as µs since the Unix epoch.  Inside this range a time is also a valid HLC
 * wall clock (an int64 of ns since 1970 holds 1677-09-21 .. 2262-04-11),
 * and the difference of two times (at most 584 years, 1.9e16 µs) is far from
 * int64's limits, so decay and window arithmetic never overflows.
 */
#define TIDAL_MIN_TIME_US	(INT64CONST(-9214560000) * INT64CONST(1000000))
#define TIDAL_MAX_TIME_US	(INT64CONST(9214646400) * INT64CONST(1000000))
#define TIDAL_MIN_TIME_TEXT	"1678-01-01 00:00:00+00"
#define TIDAL_MAX_TIME_TEXT	"2262-01-01 00:00:00+00"

/*
 * Weights: finite, |w| <= 1e15.  Integers up to 2^53 (9e15) are exact in a
 * double, and it takes more than 1e290 events of the largest weight for a
 * decayed sum to overflow.
 */
#define TIDAL_MAX_ABS_WEIGHT	1e15

/* half-lives: (0, 100 years]; windows: decay_window_supported() */
#define TIDAL_MAX_HALF_LIFE_US	(INT64CONST(100) * 365 * USECS_PER_DAY)

/* µs between the Unix epoch and PostgreSQL's (2000-01-01) */
#define TIDAL_UNIX_EPOCH_OFFSET_US \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY)

static inline bool
tidal_time_in_range(int64 unix_us)
{
	return unix_us >= TIDAL_MIN_TIME_US && unix_us <= TIDAL_MAX_TIME_US;
}

static inline bool
tidal_weight_in_range(double w)
{
	/* false for NaN too: every comparison with NaN is false */
	return w >= -TIDAL_MAX_ABS_WEIGHT && w <= TIDAL_MAX_ABS_WEIGHT;
}

/* a timestamptz as µs since the Unix epoch, in the supported range (22008) */
extern int64 tidal_time_usecs(TimestampTz ts, const char *what);

/* errors 22008 unless a time in µs since the Unix epoch is in range */
extern void tidal_check_time_us(int64 unix_us, const char *what);

/*
 * A bound of a time filter (export's since and until): ±infinity and times
 * outside the supported range saturate to PG_INT64_MIN / PG_INT64_MAX,
 * which no stored time reaches; never errors, never wraps.
 */
extern int64 tidal_time_filter_usecs(TimestampTz ts);

/* errors 22023 if w is NaN or infinite, 22003 if |w| > TIDAL_MAX_ABS_WEIGHT */
extern void tidal_check_weight(double w);

/*
 * A score computed at at_us: errors 22003 if it is not finite (a read far
 * before an entity's newest event, where 2^((latest - at) / half_life)
 * exceeds a double).  Returns x.
 */
extern double tidal_check_score(double x, int64 at_us, const char *what);

/* the longest signal or profile name (and entity kind), in bytes */
#define SIGNAL_NAME_MAXLEN 63

/* a signal or profile name (what: "signal" or "profile"); not NUL-terminated */
extern void validate_name(const char *name, int len, const char *what);
/* a session id (1 to LOG_SESSION_MAXLEN bytes of text, no control characters) and a seqno (from 1) */
extern void validate_session(const char *session, int len);
extern void validate_session_seqno(int64 seqno);
/* the same, of a NUL-terminated name */
extern void validate_name_cstring(const char *name, const char *what);

/*
 * An array argument: one-dimensional (2202E) and without NULLs (22004),
 * what naming it in the messages ("entities").  Returns its length.  Its
 * elements then need no null bitmap: validate_array_values.
 */
extern int	validate_array_1d(ArrayType *arr, const char *what);

/* the elements of an array that validate_array_1d accepted */
static inline const void *
validate_array_values(ArrayType *arr)
{
	return (const char *) arr + ARR_OVERHEAD_NONULLS(ARR_NDIM(arr));
}

/*
 * A signal definition: name, half-life, windows (sorted in place; they must
 * be supported and distinct) and entity kind.
 */
extern void validate_signal_definition(const char *name, int name_len, int64 half_life_us,
									   int nwindows, int64 *window_us,
									   const char *entity_kind, int entity_kind_len);

/* a tenant id as a record or a caller states it: 0 (default) or above */
extern void validate_tenant_id(int64 tenant);

/* item metadata: a JSON object of bounded size */
extern void validate_item_metadata(Jsonb *metadata, Size text_len);

/*
 * An item's embedding: tidal.embedding_dimensions finite elements, not all
 * zero.  Returns it as a float4 vector (palloc'd).  embedding_array: a
 * caller's real[] (1-D, no NULLs); validate_record_embedding: a record's.
 */
extern float4 *validate_embedding_array(ArrayType *embedding, int *dims);
extern float4 *validate_record_embedding(const LogRecord *rec);

/* a profile spec is at most this long (its terms: profile_validate_spec) */
#define MAX_PROFILE_SPEC_BYTES	(64 * 1024)

/*
 * A decoded record of another origin, before anything of it is applied:
 * every field that a local write would have had checked is checked here.
 * Errors (with the reason) on the first invalid field.
 */
extern void validate_record(const LogRecord *rec);

/* a record's JSON text, parsed (an error if it is not JSON); bounded by max_len first */
extern Jsonb *validate_record_json(const LogRecord *rec, Size max_len, const char *what);

/*
 * The same checks on what is already stored (a log or a table written by an
 * older version): false, with *message saying why, instead of an error.
 */
extern bool validate_record_ok(const LogRecord *rec, char **message);
extern bool validate_signal_definition_ok(const char *name, int64 half_life_us, int nwindows,
										  int64 *window_us, char **message);

/* a timestamptz as µs since the Unix epoch, in the supported range (22008) */
static inline int64
signal_time_usecs(TimestampTz ts, const char *what)
{
	return tidal_time_usecs(ts, what);
}

/* errors (22003) unless w is a finite number within ±TIDAL_MAX_ABS_WEIGHT */
static inline void
signal_check_weight(double w)
{
	if (unlikely(!tidal_weight_in_range(w)))
		tidal_check_weight(w);
}

#endif							/* TIDAL_VALIDATE_H */
