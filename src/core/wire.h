/*
 * core/wire.h
 *    The byte-level encoding every tidal format shares (the log's records
 *    and batches, snapshot chunks): little-endian integers, IEEE 754
 *    binary64 floats, a bounds-checked reader, CRC-32C.  Static inline, for
 *    the encoders of core/ (codec.c, snapfmt.c).
 *
 *    May call: PostgreSQL only.
 */
#ifndef TIDAL_WIRE_H
#define TIDAL_WIRE_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "port/pg_bswap.h"
#include "port/pg_crc32c.h"

#ifdef WORDS_BIGENDIAN
#define LE16(x) pg_bswap16(x)
#define LE32(x) pg_bswap32(x)
#define LE64(x) pg_bswap64(x)
#else
#define LE16(x) (x)
#define LE32(x) (x)
#define LE64(x) (x)
#endif

/* ---- writing ---- */

static inline void
put_u8(StringInfo buf, uint8 v)
{
	appendBinaryStringInfo(buf, (char *) &v, 1);
}

static inline void
put_u16(StringInfo buf, uint16 v)
{
	v = LE16(v);
	appendBinaryStringInfo(buf, (char *) &v, 2);
}

static inline void
put_u32(StringInfo buf, uint32 v)
{
	v = LE32(v);
	appendBinaryStringInfo(buf, (char *) &v, 4);
}

static inline void
put_u64(StringInfo buf, uint64 v)
{
	v = LE64(v);
	appendBinaryStringInfo(buf, (char *) &v, 8);
}

static inline void
put_f64(StringInfo buf, double d)
{
	uint64		v;

	memcpy(&v, &d, 8);
	put_u64(buf, v);
}

/* overwrite 4 or 8 bytes at an offset already written */
static inline void
put_u32_at(StringInfo buf, int offset, uint32 v)
{
	v = LE32(v);
	memcpy(buf->data + offset, &v, 4);
}

static inline void
put_u64_at(StringInfo buf, int offset, uint64 v)
{
	v = LE64(v);
	memcpy(buf->data + offset, &v, 8);
}

/* ---- reading: a failed read leaves ok false and returns zeros ---- */

typedef struct Reader
{
	const char *p;
	const char *end;
	bool		ok;
} Reader;

static inline bool
need(Reader *r, Size n)
{
	if (!r->ok || (Size) (r->end - r->p) < n)
		r->ok = false;
	return r->ok;
}

static inline uint8
get_u8(Reader *r)
{
	uint8		v = 0;

	if (need(r, 1))
		v = (uint8) *r->p++;
	return v;
}

static inline uint16
get_u16(Reader *r)
{
	uint16		v = 0;

	if (need(r, 2))
	{
		memcpy(&v, r->p, 2);
		r->p += 2;
	}
	return LE16(v);
}

static inline uint32
get_u32(Reader *r)
{
	uint32		v = 0;

	if (need(r, 4))
	{
		memcpy(&v, r->p, 4);
		r->p += 4;
	}
	return LE32(v);
}

static inline uint64
get_u64(Reader *r)
{
	uint64		v = 0;

	if (need(r, 8))
	{
		memcpy(&v, r->p, 8);
		r->p += 8;
	}
	return LE64(v);
}

static inline double
get_f64(Reader *r)
{
	uint64		v = get_u64(r);
	double		d;

	memcpy(&d, &v, 8);
	return d;
}

/* the next len bytes, or NULL (and the reader failed) if there are fewer */
static inline const char *
get_bytes(Reader *r, Size len)
{
	const char *s;

	if (!need(r, len))
		return NULL;
	s = r->p;
	r->p += len;
	return s;
}

static inline uint32
crc32c(const char *data, Size len)
{
	pg_crc32c	crc;

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, data, len);
	FIN_CRC32C(crc);
	return crc;
}

#endif							/* TIDAL_WIRE_H */
