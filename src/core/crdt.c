/*
 * core/crdt.c
 *    State-based CRDT value types: tidal.pncounter (a positive-negative
 *    counter) and tidal.lww (a last-writer-wins register).
 *
 * Both are plain values: every function returns a new value and nothing
 * touches shared memory.  Each merge function is commutative, associative
 * and idempotent, so replicas that exchange states in any order converge.
 *
 *    May call: core/.
 */
#include "postgres.h"

#include "common/int.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"

#include "core/crdt.h"
#include "core/hlc.h"

/* ---------------------------------------------------------------------
 * tidal.pncounter
 *
 * One (incr, decr) pair of non-negative totals per node, sorted by node.
 * The counter's value is sum(incr) - sum(decr).  A node whose totals are
 * both zero carries no information (it is the identity of merge), so the
 * canonical form leaves it out; two counters are equal exactly when their
 * canonical forms are.
 * ---------------------------------------------------------------------
 */

typedef struct PnEntry
{
	int32		node;
	int32		reserved;		/* always zero */
	int64		incr;
	int64		decr;
} PnEntry;

typedef struct PnCounter
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int32		nentries;
	PnEntry		entries[FLEXIBLE_ARRAY_MEMBER];
} PnCounter;

#define PN_SIZE(n)			(offsetof(PnCounter, entries) + sizeof(PnEntry) * (n))
#define DatumGetPnCounterP(X)	((PnCounter *) PG_DETOAST_DATUM(X))
#define PG_GETARG_PNCOUNTER_P(n) DatumGetPnCounterP(PG_GETARG_DATUM(n))

/* size of one entry in the binary form: int32 node, int64 incr, int64 decr */
#define PN_WIRE_ENTRY_SIZE	20

PG_FUNCTION_INFO_V1(tidal_pncounter_in);
PG_FUNCTION_INFO_V1(tidal_pncounter_out);
PG_FUNCTION_INFO_V1(tidal_pncounter_recv);
PG_FUNCTION_INFO_V1(tidal_pncounter_send);
PG_FUNCTION_INFO_V1(tidal_pncounter_add);
PG_FUNCTION_INFO_V1(tidal_pncounter_value);
PG_FUNCTION_INFO_V1(tidal_pncounter_merge);
PG_FUNCTION_INFO_V1(tidal_pncounter_eq);
PG_FUNCTION_INFO_V1(tidal_pncounter_ne);

static PnCounter *
pn_alloc(int nentries)
{
	PnCounter  *result = (PnCounter *) palloc0(PN_SIZE(nentries));

	SET_VARSIZE(result, PN_SIZE(nentries));
	result->nentries = nentries;
	return result;
}

static int
pn_entry_cmp(const void *a, const void *b)
{
	int32		na = ((const PnEntry *) a)->node;
	int32		nb = ((const PnEntry *) b)->node;

	return (na > nb) - (na < nb);
}

/*
 * Build a canonical counter from n entries in any order, reporting invalid
 * ones as errors in text input (input != NULL, quoted in the message) or in
 * binary input.  The entries array is sorted in place.
 */
static PnCounter *
pn_build(PnEntry *entries, int n, const char *input)
{
	PnCounter  *result;
	const char *problem = NULL;
	int			nkept = 0;
	int			i;

	for (i = 0; i < n && problem == NULL; i++)
	{
		if (entries[i].node < 0 || entries[i].node > TIDAL_MAX_NODE_ID)
			problem = psprintf("Node id %d is out of range 0..%d.",
							   entries[i].node, TIDAL_MAX_NODE_ID);
		else if (entries[i].incr < 0 || entries[i].decr < 0)
			problem = psprintf("Node %d has a negative total; increments and decrements must not be negative.",
							   entries[i].node);
	}

	if (problem == NULL && n > 1)
	{
		qsort(entries, n, sizeof(PnEntry), pn_entry_cmp);
		for (i = 1; i < n; i++)
		{
			if (entries[i].node == entries[i - 1].node)
			{
				problem = psprintf("Node %d appears more than once.",
								   entries[i].node);
				break;
			}
		}
	}

	if (problem != NULL)
	{
		if (input != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type %s: \"%s\"",
							"tidal.pncounter", input),
					 errdetail("%s", problem)));
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid tidal.pncounter in external binary data"),
					 errdetail("%s", problem)));
	}

	for (i = 0; i < n; i++)
		if (entries[i].incr != 0 || entries[i].decr != 0)
			nkept++;

	result = pn_alloc(nkept);
	nkept = 0;
	for (i = 0; i < n; i++)
	{
		if (entries[i].incr == 0 && entries[i].decr == 0)
			continue;
		result->entries[nkept].node = entries[i].node;
		result->entries[nkept].incr = entries[i].incr;
		result->entries[nkept].decr = entries[i].decr;
		nkept++;
	}
	return result;
}

static void
pn_syntax_error(const char *input, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type %s: \"%s\"",
					"tidal.pncounter", input),
			 errdetail("%s", detail)));
}

static int64
pn_parse_number(const char **p, const char *input)
{
	int64		v;
	bool		overflow;

	if (!tidal_parse_int64(p, &v, &overflow))
		pn_syntax_error(input, "Expected \"node:incr:decr\".");
	if (overflow)
		pn_syntax_error(input, "Value out of range for bigint.");
	return v;
}

static void
pn_expect(const char **p, char c, const char *input, const char *detail)
{
	const char *s = tidal_skip_space(*p);

	if (*s != c)
		pn_syntax_error(input, detail);
	*p = s + 1;
}

/* text form: {node:incr:decr,...}, entries in any order, "{}" when empty */
Datum
tidal_pncounter_in(PG_FUNCTION_ARGS)
{
	const char *input = PG_GETARG_CSTRING(0);
	const char *p = input;
	PnEntry    *entries;
	int			n = 0;
	int			cap = 8;

	entries = (PnEntry *) palloc(sizeof(PnEntry) * cap);

	pn_expect(&p, '{', input, "Missing left brace.");
	p = tidal_skip_space(p);
	if (*p == '}')
		p++;
	else
	{
		for (;;)
		{
			int64		node;

			if (n == cap)
			{
				cap *= 2;
				entries = (PnEntry *) repalloc(entries, sizeof(PnEntry) * cap);
			}

			node = pn_parse_number(&p, input);
			if (node < 0 || node > TIDAL_MAX_NODE_ID)
				pn_syntax_error(input,
								psprintf("Node id " INT64_FORMAT " is out of range 0..%d.",
										 node, TIDAL_MAX_NODE_ID));
			entries[n].node = (int32) node;
			entries[n].reserved = 0;
			pn_expect(&p, ':', input, "Expected \"node:incr:decr\".");
			entries[n].incr = pn_parse_number(&p, input);
			pn_expect(&p, ':', input, "Expected \"node:incr:decr\".");
			entries[n].decr = pn_parse_number(&p, input);
			n++;

			p = tidal_skip_space(p);
			if (*p == ',')
				p++;
			else if (*p == '}')
			{
				p++;
				break;
			}
			else
				pn_syntax_error(input, "Expected \",\" or \"}\" after an entry.");
		}
	}

	p = tidal_skip_space(p);
	if (*p != '\0')
		pn_syntax_error(input, "Junk after right brace.");

	PG_RETURN_POINTER(pn_build(entries, n, input));
}

Datum
tidal_pncounter_out(PG_FUNCTION_ARGS)
{
	PnCounter  *c = PG_GETARG_PNCOUNTER_P(0);
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (i = 0; i < c->nentries; i++)
	{
		if (i > 0)
			appendStringInfoChar(&buf, ',');
		appendStringInfo(&buf, "%d:" INT64_FORMAT ":" INT64_FORMAT,
						 c->entries[i].node, c->entries[i].incr,
						 c->entries[i].decr);
	}
	appendStringInfoChar(&buf, '}');
	PG_RETURN_CSTRING(buf.data);
}

/*
 * binary form: int32 count, then count times (int32 node, int64 incr,
 * int64 decr); validated like the text form
 */
Datum
tidal_pncounter_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int32		n = (int32) pq_getmsgint(buf, 4);
	PnEntry    *entries;
	int			i;

	if (n < 0 || n > (buf->len - buf->cursor) / PN_WIRE_ENTRY_SIZE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid tidal.pncounter in external binary data"),
				 errdetail("Entry count %d does not match the data length.", n)));

	entries = (PnEntry *) palloc0(sizeof(PnEntry) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		entries[i].node = (int32) pq_getmsgint(buf, 4);
		entries[i].incr = pq_getmsgint64(buf);
		entries[i].decr = pq_getmsgint64(buf);
	}

	PG_RETURN_POINTER(pn_build(entries, n, NULL));
}

Datum
tidal_pncounter_send(PG_FUNCTION_ARGS)
{
	PnCounter  *c = PG_GETARG_PNCOUNTER_P(0);
	StringInfoData buf;
	int			i;

	pq_begintypsend(&buf);
	pq_sendint32(&buf, (uint32) c->nentries);
	for (i = 0; i < c->nentries; i++)
	{
		pq_sendint32(&buf, (uint32) c->entries[i].node);
		pq_sendint64(&buf, c->entries[i].incr);
		pq_sendint64(&buf, c->entries[i].decr);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * pncounter_add(c, node, delta): record delta at node.  A NULL counter is
 * the empty counter; a NULL node or delta is an error.  Positive deltas add
 * to the node's increments, negative ones to its decrements.
 */
Datum
tidal_pncounter_add(PG_FUNCTION_ARGS)
{
	PnCounter  *c;
	PnCounter  *result;
	int32		node;
	int64		delta;
	int			lo;
	int			hi;
	int			pos;
	bool		found;
	PnEntry    *e;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("node must not be null")));
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("delta must not be null")));

	node = PG_GETARG_INT32(1);
	delta = PG_GETARG_INT64(2);
	if (node < 0 || node > TIDAL_MAX_NODE_ID)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("node id %d is out of range", node),
				 errdetail("Node ids must be between 0 and %d.",
						   TIDAL_MAX_NODE_ID)));

	c = PG_ARGISNULL(0) ? pn_alloc(0) : PG_GETARG_PNCOUNTER_P(0);
	if (delta == 0)
		PG_RETURN_POINTER(c);

	/* binary search for node */
	lo = 0;
	hi = c->nentries;
	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (c->entries[mid].node < node)
			lo = mid + 1;
		else
			hi = mid;
	}
	pos = lo;
	found = (pos < c->nentries && c->entries[pos].node == node);

	result = pn_alloc(c->nentries + (found ? 0 : 1));
	memcpy(result->entries, c->entries, sizeof(PnEntry) * pos);
	if (found)
		memcpy(result->entries + pos, c->entries + pos,
			   sizeof(PnEntry) * (c->nentries - pos));
	else
		memcpy(result->entries + pos + 1, c->entries + pos,
			   sizeof(PnEntry) * (c->nentries - pos));

	e = &result->entries[pos];
	if (!found)
	{
		e->node = node;
		e->incr = 0;
		e->decr = 0;
	}

	/* decr - delta, not decr + -delta, which overflows for PG_INT64_MIN */
	if (delta > 0 ? pg_add_s64_overflow(e->incr, delta, &e->incr)
		: pg_sub_s64_overflow(e->decr, delta, &e->decr))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("pncounter %s of node %d out of range",
						delta > 0 ? "increments" : "decrements", node),
				 errdetail("The total must fit in a bigint.")));

	PG_RETURN_POINTER(result);
}

Datum
tidal_pncounter_value(PG_FUNCTION_ARGS)
{
	PnCounter  *c = PG_GETARG_PNCOUNTER_P(0);
	int			i;
	bool		overflow = false;
#ifdef HAVE_INT128
	int128		sum = 0;

	/* at most 65536 entries: a 128-bit sum cannot overflow */
	for (i = 0; i < c->nentries; i++)
		sum += (int128) c->entries[i].incr - c->entries[i].decr;
	overflow = (sum > PG_INT64_MAX || sum < PG_INT64_MIN);
#else
	int64		sum = 0;

	/* incr - decr cannot overflow since both are >= 0 */
	for (i = 0; i < c->nentries && !overflow; i++)
		overflow = pg_add_s64_overflow(sum,
									   c->entries[i].incr - c->entries[i].decr,
									   &sum);
#endif

	if (overflow)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("pncounter value out of range for type bigint")));

	PG_RETURN_INT64((int64) sum);
}

/*
 * pncounter_merge(a, b): per node, the larger increments and the larger
 * decrements.  A NULL side yields the other side.
 */
Datum
tidal_pncounter_merge(PG_FUNCTION_ARGS)
{
	PnCounter  *a;
	PnCounter  *b;
	PnCounter  *result;
	int			i = 0;
	int			j = 0;
	int			n = 0;

	if (PG_ARGISNULL(0) && PG_ARGISNULL(1))
		PG_RETURN_NULL();
	if (PG_ARGISNULL(0))
		PG_RETURN_POINTER(PG_GETARG_PNCOUNTER_P(1));
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(PG_GETARG_PNCOUNTER_P(0));

	a = PG_GETARG_PNCOUNTER_P(0);
	b = PG_GETARG_PNCOUNTER_P(1);
	result = pn_alloc(a->nentries + b->nentries);

	while (i < a->nentries || j < b->nentries)
	{
		PnEntry    *out = &result->entries[n++];

		if (j >= b->nentries ||
			(i < a->nentries && a->entries[i].node < b->entries[j].node))
			*out = a->entries[i++];
		else if (i >= a->nentries || b->entries[j].node < a->entries[i].node)
			*out = b->entries[j++];
		else
		{
			out->node = a->entries[i].node;
			out->incr = Max(a->entries[i].incr, b->entries[j].incr);
			out->decr = Max(a->entries[i].decr, b->entries[j].decr);
			i++;
			j++;
		}
	}

	result->nentries = n;
	SET_VARSIZE(result, PN_SIZE(n));
	PG_RETURN_POINTER(result);
}

static bool
pn_equal(const PnCounter *a, const PnCounter *b)
{
	int			i;

	if (a->nentries != b->nentries)
		return false;
	for (i = 0; i < a->nentries; i++)
	{
		if (a->entries[i].node != b->entries[i].node ||
			a->entries[i].incr != b->entries[i].incr ||
			a->entries[i].decr != b->entries[i].decr)
			return false;
	}
	return true;
}

Datum
tidal_pncounter_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(pn_equal(PG_GETARG_PNCOUNTER_P(0), PG_GETARG_PNCOUNTER_P(1)));
}

Datum
tidal_pncounter_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(!pn_equal(PG_GETARG_PNCOUNTER_P(0), PG_GETARG_PNCOUNTER_P(1)));
}


/* ---------------------------------------------------------------------
 * tidal.lww
 *
 * A value and the hlc at which it was written.  Merging keeps the value
 * with the larger hlc; if the hlcs are equal (the same node wrote two
 * values at the same instant) the larger value in byte order wins, so the
 * merge is still commutative and deterministic.
 * ---------------------------------------------------------------------
 */

typedef struct LwwRegister
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int32		reserved;		/* always zero; keeps "at" 8-byte aligned */
	TidalHlc	at;
	char		value[FLEXIBLE_ARRAY_MEMBER];	/* not NUL-terminated */
} LwwRegister;

#define LWW_HDRSZ			offsetof(LwwRegister, value)
#define LWW_VALUE_LEN(r)	((int) (VARSIZE(r) - LWW_HDRSZ))
#define DatumGetLwwP(X)		((LwwRegister *) PG_DETOAST_DATUM(X))
#define PG_GETARG_LWW_P(n)	DatumGetLwwP(PG_GETARG_DATUM(n))

PG_FUNCTION_INFO_V1(tidal_lww_in);
PG_FUNCTION_INFO_V1(tidal_lww_out);
PG_FUNCTION_INFO_V1(tidal_lww_recv);
PG_FUNCTION_INFO_V1(tidal_lww_send);
PG_FUNCTION_INFO_V1(tidal_lww_set);
PG_FUNCTION_INFO_V1(tidal_lww_value);
PG_FUNCTION_INFO_V1(tidal_lww_at);
PG_FUNCTION_INFO_V1(tidal_lww_merge);
PG_FUNCTION_INFO_V1(tidal_lww_eq);
PG_FUNCTION_INFO_V1(tidal_lww_ne);

static LwwRegister *
lww_make(const TidalHlc *at, const char *value, int len)
{
	LwwRegister *result = (LwwRegister *) palloc0(LWW_HDRSZ + len);

	SET_VARSIZE(result, LWW_HDRSZ + len);
	result->at = *at;
	memcpy(result->value, value, len);
	return result;
}

/* Total order used by merge: hlc, then value bytes (shorter prefix first). */
static int
lww_compare(const LwwRegister *a, const LwwRegister *b)
{
	int			cmp = hlc_compare(&a->at, &b->at);
	int			alen;
	int			blen;

	if (cmp != 0)
		return cmp;
	alen = LWW_VALUE_LEN(a);
	blen = LWW_VALUE_LEN(b);
	cmp = memcmp(a->value, b->value, Min(alen, blen));
	if (cmp != 0)
		return cmp;
	return (alen > blen) - (alen < blen);
}

static void
lww_syntax_error(const char *input, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type %s: \"%s\"",
					"tidal.lww", input),
			 errdetail("%s", detail)));
}

/* text form: (wall_ns,logical,node):"value", with \" and \\ escapes */
Datum
tidal_lww_in(PG_FUNCTION_ARGS)
{
	const char *input = PG_GETARG_CSTRING(0);
	const char *p = input;
	TidalHlc	at;
	StringInfoData value;

	hlc_parse_text(&p, &at, "tidal.lww", input);
	p = tidal_skip_space(p);
	if (*p != ':')
		lww_syntax_error(input, "Expected \":\" after the hlc.");
	p = tidal_skip_space(p + 1);
	if (*p != '"')
		lww_syntax_error(input, "Expected a double-quoted value after \":\".");
	p++;

	initStringInfo(&value);
	for (;;)
	{
		if (*p == '\0')
			lww_syntax_error(input, "Unterminated quoted value.");
		if (*p == '"')
			break;
		if (*p == '\\')
		{
			p++;
			if (*p != '"' && *p != '\\')
				lww_syntax_error(input,
								 "Only \\\" and \\\\ are valid escapes in a value.");
		}
		appendStringInfoChar(&value, *p);
		p++;
	}
	p = tidal_skip_space(p + 1);
	if (*p != '\0')
		lww_syntax_error(input, "Junk after the quoted value.");

	PG_RETURN_POINTER(lww_make(&at, value.data, value.len));
}

Datum
tidal_lww_out(PG_FUNCTION_ARGS)
{
	LwwRegister *r = PG_GETARG_LWW_P(0);
	int			len = LWW_VALUE_LEN(r);
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	hlc_append_text(&buf, &r->at);
	appendStringInfoString(&buf, ":\"");
	for (i = 0; i < len; i++)
	{
		if (r->value[i] == '"' || r->value[i] == '\\')
			appendStringInfoChar(&buf, '\\');
		appendStringInfoChar(&buf, r->value[i]);
	}
	appendStringInfoChar(&buf, '"');
	PG_RETURN_CSTRING(buf.data);
}

/*
 * binary form: int64 wall_ns, int32 logical, int32 node, then the value's
 * text in the client encoding up to the end of the message
 */
Datum
tidal_lww_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	TidalHlc	at;
	const char *problem;
	char	   *value;
	int			len;

	at.wall_ns = pq_getmsgint64(buf);
	at.logical = (int32) pq_getmsgint(buf, 4);
	at.node = (int32) pq_getmsgint(buf, 4);
	problem = hlc_fields_problem(at.wall_ns, at.logical, at.node);
	if (problem != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid tidal.lww in external binary data"),
				 errdetail("%s", problem)));

	value = pq_getmsgtext(buf, buf->len - buf->cursor, &len);
	PG_RETURN_POINTER(lww_make(&at, value, len));
}

Datum
tidal_lww_send(PG_FUNCTION_ARGS)
{
	LwwRegister *r = PG_GETARG_LWW_P(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint64(&buf, r->at.wall_ns);
	pq_sendint32(&buf, (uint32) r->at.logical);
	pq_sendint32(&buf, (uint32) r->at.node);
	pq_sendtext(&buf, r->value, LWW_VALUE_LEN(r));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * lww_merge(a, b): the winner of a and b under lww_compare.  A NULL side
 * yields the other side.
 */
Datum
tidal_lww_merge(PG_FUNCTION_ARGS)
{
	LwwRegister *a;
	LwwRegister *b;

	if (PG_ARGISNULL(0) && PG_ARGISNULL(1))
		PG_RETURN_NULL();
	if (PG_ARGISNULL(0))
		PG_RETURN_POINTER(PG_GETARG_LWW_P(1));
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(PG_GETARG_LWW_P(0));

	a = PG_GETARG_LWW_P(0);
	b = PG_GETARG_LWW_P(1);
	PG_RETURN_POINTER(lww_compare(a, b) >= 0 ? a : b);
}

/*
 * lww_set(r, value, at): write value at hlc "at".  A NULL register is the
 * empty register; otherwise the result is the merge of r with (at, value),
 * so a write older than the register's is ignored.
 */
Datum
tidal_lww_set(PG_FUNCTION_ARGS)
{
	text	   *value;
	TidalHlc   *at;
	LwwRegister *written;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("lww value must not be null")));
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("lww write hlc must not be null")));

	value = PG_GETARG_TEXT_PP(1);
	at = PG_GETARG_HLC_P(2);
	written = lww_make(at, VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value));

	if (!PG_ARGISNULL(0))
	{
		LwwRegister *r = PG_GETARG_LWW_P(0);

		if (lww_compare(r, written) >= 0)
			PG_RETURN_POINTER(r);
	}
	PG_RETURN_POINTER(written);
}

Datum
tidal_lww_value(PG_FUNCTION_ARGS)
{
	LwwRegister *r = PG_GETARG_LWW_P(0);

	PG_RETURN_TEXT_P(cstring_to_text_with_len(r->value, LWW_VALUE_LEN(r)));
}

Datum
tidal_lww_at(PG_FUNCTION_ARGS)
{
	LwwRegister *r = PG_GETARG_LWW_P(0);
	TidalHlc   *result = (TidalHlc *) palloc(sizeof(TidalHlc));

	*result = r->at;
	PG_RETURN_HLC_P(result);
}

Datum
tidal_lww_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(lww_compare(PG_GETARG_LWW_P(0), PG_GETARG_LWW_P(1)) == 0);
}

Datum
tidal_lww_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(lww_compare(PG_GETARG_LWW_P(0), PG_GETARG_LWW_P(1)) != 0);
}
