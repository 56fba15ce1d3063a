/*
 * core/hlc.c
 *    The tidal.hlc value type: I/O, comparison, hashing, accessors, and the
 *    text parsing helpers the CRDT types share.  Pure code: this instance's
 *    clock, which issues hlcs, is state/clock.c.  May call: PostgreSQL only.
 *
 * An hlc is (wall_ns, logical, node): wall time in nanoseconds since the Unix
 * epoch, a logical counter that orders events within one wall-time value, and
 * the id of the node that issued it.  Valid ranges are documented in hlc.h.
 * The clock follows Kulkarni et al., "Logical Physical Clocks" (2014).
 */
#include "postgres.h"

#include <time.h>

#include "common/hashfn.h"
#include "common/int.h"
#include "datatype/timestamp.h"
#include "libpq/pqformat.h"
#include "port/pg_bswap.h"
#include "utils/builtins.h"
#include "utils/sortsupport.h"
#include "utils/timestamp.h"

#include "core/hlc.h"

StaticAssertDecl(sizeof(TidalHlc) == 16, "tidal.hlc must be 16 bytes without padding");

PG_FUNCTION_INFO_V1(tidal_hlc_in);
PG_FUNCTION_INFO_V1(tidal_hlc_out);
PG_FUNCTION_INFO_V1(tidal_hlc_recv);
PG_FUNCTION_INFO_V1(tidal_hlc_send);
PG_FUNCTION_INFO_V1(tidal_hlc_make);
PG_FUNCTION_INFO_V1(tidal_hlc_wall_ns);
PG_FUNCTION_INFO_V1(tidal_hlc_logical);
PG_FUNCTION_INFO_V1(tidal_hlc_node);
PG_FUNCTION_INFO_V1(tidal_hlc_to_timestamptz);
PG_FUNCTION_INFO_V1(tidal_hlc_lt);
PG_FUNCTION_INFO_V1(tidal_hlc_le);
PG_FUNCTION_INFO_V1(tidal_hlc_eq);
PG_FUNCTION_INFO_V1(tidal_hlc_ne);
PG_FUNCTION_INFO_V1(tidal_hlc_ge);
PG_FUNCTION_INFO_V1(tidal_hlc_gt);
PG_FUNCTION_INFO_V1(tidal_hlc_cmp);
PG_FUNCTION_INFO_V1(tidal_hlc_larger);
PG_FUNCTION_INFO_V1(tidal_hlc_smaller);
PG_FUNCTION_INFO_V1(tidal_hlc_sortsupport);
PG_FUNCTION_INFO_V1(tidal_hlc_hash);
PG_FUNCTION_INFO_V1(tidal_hlc_hash_extended);


/* ---------------------------------------------------------------------
 * Validation and text parsing helpers (also used by crdt.c)
 * ---------------------------------------------------------------------
 */

const char *
hlc_fields_problem(int64 wall_ns, int64 logical, int64 node)
{
	if (wall_ns < 0)
		return "The wall time must not be negative.";
	if (logical < 0 || logical > PG_INT32_MAX)
		return "The logical counter must be between 0 and 2147483647.";
	if (node < 0 || node > TIDAL_MAX_NODE_ID)
		return "The node id must be between 0 and 65535.";
	return NULL;
}

const char *
tidal_skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' ||
		   *p == '\f' || *p == '\v')
		p++;
	return p;
}

bool
tidal_parse_int64(const char **p, int64 *result, bool *overflow)
{
	const char *s = tidal_skip_space(*p);
	bool		neg = false;
	int64		acc = 0;

	*overflow = false;
	if (*s == '-')
	{
		neg = true;
		s++;
	}
	if (*s < '0' || *s > '9')
		return false;

	/* accumulate as a negative number so that PG_INT64_MIN fits */
	while (*s >= '0' && *s <= '9')
	{
		if (!*overflow &&
			(pg_mul_s64_overflow(acc, 10, &acc) ||
			 pg_sub_s64_overflow(acc, *s - '0', &acc)))
			*overflow = true;
		s++;
	}
	if (!neg && !*overflow)
	{
		if (acc == PG_INT64_MIN)
			*overflow = true;
		else
			acc = -acc;
	}
	*result = acc;
	*p = s;
	return true;
}

/* Report a syntax error in the text form of a tidal type. */
static void
hlc_syntax_error(const char *typname, const char *input, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type %s: \"%s\"", typname, input),
			 errdetail("%s", detail)));
}

/* Expect character c (after optional white space) at *p. */
static void
hlc_expect(const char **p, char c, const char *typname, const char *input,
		   const char *detail)
{
	const char *s = tidal_skip_space(*p);

	if (*s != c)
		hlc_syntax_error(typname, input, detail);
	*p = s + 1;
}

/* Parse one integer field of an hlc. */
static int64
hlc_parse_field(const char **p, const char *typname, const char *input)
{
	int64		v;
	bool		overflow;

	if (!tidal_parse_int64(p, &v, &overflow))
		hlc_syntax_error(typname, input,
						 "Expected an integer in \"(wall_ns,logical,node)\".");
	if (overflow)
		hlc_syntax_error(typname, input, "Value out of range for bigint.");
	return v;
}

void
hlc_parse_text(const char **p, TidalHlc *result, const char *typname,
			   const char *input)
{
	int64		wall_ns;
	int64		logical;
	int64		node;
	const char *problem;

	hlc_expect(p, '(', typname, input, "Missing left parenthesis.");
	wall_ns = hlc_parse_field(p, typname, input);
	hlc_expect(p, ',', typname, input, "Expected \",\" after the wall time.");
	logical = hlc_parse_field(p, typname, input);
	hlc_expect(p, ',', typname, input, "Expected \",\" after the logical counter.");
	node = hlc_parse_field(p, typname, input);
	hlc_expect(p, ')', typname, input, "Missing right parenthesis.");

	problem = hlc_fields_problem(wall_ns, logical, node);
	if (problem != NULL)
		hlc_syntax_error(typname, input, problem);

	result->wall_ns = wall_ns;
	result->logical = (int32) logical;
	result->node = (int32) node;
}

void
hlc_append_text(StringInfo buf, const TidalHlc *hlc)
{
	appendStringInfo(buf, "(" INT64_FORMAT ",%d,%d)",
					 hlc->wall_ns, hlc->logical, hlc->node);
}

static TidalHlc *
hlc_palloc(int64 wall_ns, int32 logical, int32 node)
{
	TidalHlc   *result = (TidalHlc *) palloc(sizeof(TidalHlc));

	result->wall_ns = wall_ns;
	result->logical = logical;
	result->node = node;
	return result;
}


/* ---------------------------------------------------------------------
 * I/O
 * ---------------------------------------------------------------------
 */

Datum
tidal_hlc_in(PG_FUNCTION_ARGS)
{
	const char *input = PG_GETARG_CSTRING(0);
	const char *p = input;
	TidalHlc   *result = (TidalHlc *) palloc(sizeof(TidalHlc));

	hlc_parse_text(&p, result, "tidal.hlc", input);
	p = tidal_skip_space(p);
	if (*p != '\0')
		hlc_syntax_error("tidal.hlc", input, "Junk after right parenthesis.");

	PG_RETURN_HLC_P(result);
}

Datum
tidal_hlc_out(PG_FUNCTION_ARGS)
{
	TidalHlc   *hlc = PG_GETARG_HLC_P(0);
	StringInfoData buf;

	initStringInfo(&buf);
	hlc_append_text(&buf, hlc);
	PG_RETURN_CSTRING(buf.data);
}

/* binary form: int64 wall_ns, int32 logical, int32 node (network order) */
Datum
tidal_hlc_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int64		wall_ns = pq_getmsgint64(buf);
	int32		logical = (int32) pq_getmsgint(buf, 4);
	int32		node = (int32) pq_getmsgint(buf, 4);
	const char *problem = hlc_fields_problem(wall_ns, logical, node);

	if (problem != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid tidal.hlc in external binary data"),
				 errdetail("%s", problem)));

	PG_RETURN_HLC_P(hlc_palloc(wall_ns, logical, node));
}

Datum
tidal_hlc_send(PG_FUNCTION_ARGS)
{
	TidalHlc   *hlc = PG_GETARG_HLC_P(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint64(&buf, hlc->wall_ns);
	pq_sendint32(&buf, (uint32) hlc->logical);
	pq_sendint32(&buf, (uint32) hlc->node);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}


/* ---------------------------------------------------------------------
 * Constructor and accessors
 * ---------------------------------------------------------------------
 */

Datum
tidal_hlc_make(PG_FUNCTION_ARGS)
{
	int64		wall_ns = PG_GETARG_INT64(0);
	int32		logical = PG_GETARG_INT32(1);
	int32		node = PG_GETARG_INT32(2);
	const char *problem = hlc_fields_problem(wall_ns, logical, node);

	if (problem != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("tidal.hlc field out of range"),
				 errdetail("%s", problem)));

	PG_RETURN_HLC_P(hlc_palloc(wall_ns, logical, node));
}

Datum
tidal_hlc_wall_ns(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(PG_GETARG_HLC_P(0)->wall_ns);
}

Datum
tidal_hlc_logical(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(PG_GETARG_HLC_P(0)->logical);
}

Datum
tidal_hlc_node(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(PG_GETARG_HLC_P(0)->node);
}

/* The wall time as a timestamptz, truncated to microseconds. */
Datum
tidal_hlc_to_timestamptz(PG_FUNCTION_ARGS)
{
	TidalHlc   *hlc = PG_GETARG_HLC_P(0);
	TimestampTz result;

	/* wall_ns >= 0, so division truncates toward the past */
	result = hlc->wall_ns / INT64CONST(1000) -
		((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY);

	if (!IS_VALID_TIMESTAMP(result))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));

	PG_RETURN_TIMESTAMPTZ(result);
}


/* ---------------------------------------------------------------------
 * Comparison and hashing
 * ---------------------------------------------------------------------
 */

int
hlc_compare(const TidalHlc *a, const TidalHlc *b)
{
	if (a->wall_ns != b->wall_ns)
		return a->wall_ns < b->wall_ns ? -1 : 1;
	if (a->logical != b->logical)
		return a->logical < b->logical ? -1 : 1;
	if (a->node != b->node)
		return a->node < b->node ? -1 : 1;
	return 0;
}

#define HLC_CMP_FN(name, op) \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	PG_RETURN_BOOL(hlc_compare(PG_GETARG_HLC_P(0), PG_GETARG_HLC_P(1)) op 0); \
}

HLC_CMP_FN(tidal_hlc_lt, <)
HLC_CMP_FN(tidal_hlc_le, <=)
HLC_CMP_FN(tidal_hlc_eq, ==)
HLC_CMP_FN(tidal_hlc_ne, !=)
HLC_CMP_FN(tidal_hlc_ge, >=)
HLC_CMP_FN(tidal_hlc_gt, >)

Datum
tidal_hlc_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(hlc_compare(PG_GETARG_HLC_P(0), PG_GETARG_HLC_P(1)));
}

/* transition functions of tidal.max(tidal.hlc) and tidal.min(tidal.hlc) */
Datum
tidal_hlc_larger(PG_FUNCTION_ARGS)
{
	TidalHlc   *a = PG_GETARG_HLC_P(0);
	TidalHlc   *b = PG_GETARG_HLC_P(1);

	PG_RETURN_HLC_P(hlc_compare(a, b) >= 0 ? a : b);
}

Datum
tidal_hlc_smaller(PG_FUNCTION_ARGS)
{
	TidalHlc   *a = PG_GETARG_HLC_P(0);
	TidalHlc   *b = PG_GETARG_HLC_P(1);

	PG_RETURN_HLC_P(hlc_compare(a, b) <= 0 ? a : b);
}

static int
hlc_fastcmp(Datum x, Datum y, SortSupport ssup pg_attribute_unused())
{
	return hlc_compare(DatumGetHlcP(x), DatumGetHlcP(y));
}

Datum
tidal_hlc_sortsupport(PG_FUNCTION_ARGS)
{
	SortSupport ssup = (SortSupport) PG_GETARG_POINTER(0);

	ssup->comparator = hlc_fastcmp;
	PG_RETURN_VOID();
}

/*
 * Hash the fields in network byte order, so hash values (and thus hash
 * partitioning) do not depend on the platform's endianness.
 */
static void
hlc_hash_key(const TidalHlc *hlc, unsigned char *key)
{
	uint64		wall = pg_hton64((uint64) hlc->wall_ns);
	uint32		logical = pg_hton32((uint32) hlc->logical);
	uint32		node = pg_hton32((uint32) hlc->node);

	memcpy(key, &wall, 8);
	memcpy(key + 8, &logical, 4);
	memcpy(key + 12, &node, 4);
}

Datum
tidal_hlc_hash(PG_FUNCTION_ARGS)
{
	unsigned char key[16];

	hlc_hash_key(PG_GETARG_HLC_P(0), key);
	PG_RETURN_UINT32(hash_bytes(key, sizeof(key)));
}

Datum
tidal_hlc_hash_extended(PG_FUNCTION_ARGS)
{
	unsigned char key[16];

	hlc_hash_key(PG_GETARG_HLC_P(0), key);
	PG_RETURN_UINT64(hash_bytes_extended(key, sizeof(key),
										 (uint64) PG_GETARG_INT64(1)));
}


