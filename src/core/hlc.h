/*
 * core/hlc.h
 *    The tidal.hlc value type, its limits and the text parsing helpers the
 *    CRDT types share (this node's clock is state/clock.h).
 *
 * A timestamp is (wall time in ns since the Unix epoch, logical counter,
 * node id), compared in that order (Kulkarni et al., 2014).
 *
 *    May call: core/.
 */
#ifndef TIDAL_HLC_H
#define TIDAL_HLC_H

#include "postgres.h"
#include "fmgr.h"
#include "lib/stringinfo.h"

typedef struct TidalHlc
{
	int64		wall_ns;
	int32		logical;
	int32		node;
} TidalHlc;

#define DatumGetHlcP(X)		((TidalHlc *) DatumGetPointer(X))
#define HlcPGetDatum(X)		PointerGetDatum(X)
#define PG_GETARG_HLC_P(n)	DatumGetHlcP(PG_GETARG_DATUM(n))
#define PG_RETURN_HLC_P(x)	return HlcPGetDatum(x)

/* total order: wall, then logical, then node */
extern int	hlc_compare(const TidalHlc *a, const TidalHlc *b);

/*
 * Valid ranges of the fields of an hlc (and of node ids in every CRDT):
 * wall_ns in [0, PG_INT64_MAX] (ns since the Unix epoch, so up to 2262),
 * logical in [0, PG_INT32_MAX], node in [0, TIDAL_MAX_NODE_ID].
 */
#define TIDAL_MAX_NODE_ID	65535

/*
 * If (wall_ns, logical, node) is not a valid hlc, return an errdetail
 * sentence explaining why; else NULL.
 */
extern const char *hlc_fields_problem(int64 wall_ns, int64 logical, int64 node);

/* Skip white space (as isspace() in the C locale); returns the new position. */
extern const char *tidal_skip_space(const char *p);

/*
 * Parse an optionally negative decimal integer at *p (leading white space
 * allowed) and advance *p past it.  Returns false, leaving *p alone, if there
 * is no integer there; sets *overflow if it does not fit in an int64.
 */
extern bool tidal_parse_int64(const char **p, int64 *result, bool *overflow);

/*
 * Parse "(wall_ns,logical,node)" at *p (white space allowed around every
 * token) into *result and advance *p past the closing parenthesis.  Errors
 * are reported with ERRCODE_INVALID_TEXT_REPRESENTATION as invalid input for
 * type "typname", quoting the whole input string "input".
 */
extern void hlc_parse_text(const char **p, TidalHlc *result,
						   const char *typname, const char *input);

/* Append the text form of an hlc to buf. */
extern void hlc_append_text(StringInfo buf, const TidalHlc *hlc);

#endif							/* TIDAL_HLC_H */
