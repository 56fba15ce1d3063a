/*
 * core/snapfmt.c
 *    Encoding and decoding of snapshot chunks (see snapfmt.h and
 *    docs/log-format.md).  All integers little-endian, floats IEEE 754
 *    binary64, as in the log.
 *
 *    May call: core/ only (and PostgreSQL).
 */
#include "postgres.h"

#include <math.h>

#include "core/snapfmt.h"
#include "core/wire.h"

#define SNAP_MAGIC		0x534C4454	/* "TDLS" read as a little-endian uint32 */
#define SNAP_VERSION	1
#define SNAP_MAX_NAME	1024

/* ---- writing ---- */

/*
 * Header (40 bytes): magic, version (u16), kind (u8), reserved (u8),
 * tenant (i64), count (u32), reserved (u32), payload length (u64),
 * payload CRC (u32), header CRC over bytes 0-35 (u32).
 */
void
snapfmt_begin(StringInfo buf, uint8 kind, int64 tenant, const char *name,
			  int64 half_life_us, int nwindows, const int64 *window_us)
{
	int			i;

	Assert(buf->len == 0);
	put_u32(buf, SNAP_MAGIC);
	put_u16(buf, SNAP_VERSION);
	put_u8(buf, kind);
	put_u8(buf, 0);
	put_u64(buf, (uint64) tenant);
	put_u32(buf, 0);			/* count: snapfmt_finish */
	put_u32(buf, 0);
	put_u64(buf, 0);			/* payload length */
	put_u32(buf, 0);			/* payload CRC */
	put_u32(buf, 0);			/* header CRC */
	Assert(buf->len == SNAP_HEADER_LEN);
	if (kind == SNAP_CHUNK_RECORDS)
		return;
	put_u16(buf, (uint16) strlen(name));
	appendBinaryStringInfo(buf, name, strlen(name));
	put_u64(buf, (uint64) half_life_us);
	put_u8(buf, (uint8) nwindows);
	for (i = 0; i < nwindows; i++)
		put_u64(buf, (uint64) window_us[i]);
}

void
snapfmt_add_state(StringInfo buf, int nwindows, int64 entity, const DecayState *s)
{
	int			w;
	int			b;

	put_u64(buf, (uint64) entity);
	put_u64(buf, (uint64) s->latest_us);
	put_f64(buf, s->sum);
	for (w = 0; w < nwindows; w++)
		for (b = 0; b < DECAY_WINDOW_BUCKETS; b++)
			put_f64(buf, s->buckets[w][b]);
}

/* an interest sum: user, arm, latest, mass, dimensions (u16), then float4 each */
void
snapfmt_add_interest(StringInfo buf, int64 user, uint64 arm, int dims, const DecayVector *v)
{
	int			i;

	put_u64(buf, (uint64) user);
	put_u64(buf, arm);
	put_u64(buf, (uint64) v->latest_us);
	put_f64(buf, v->mass);
	put_u16(buf, (uint16) dims);
	for (i = 0; i < dims; i++)
	{
		uint32		bits;

		memcpy(&bits, &v->vec[i], sizeof(bits));
		put_u32(buf, bits);
	}
}

void
snapfmt_add_keyed(StringInfo buf, const SnapKeyed *k)
{
	put_u64(buf, (uint64) k->hlc.wall_ns);
	put_u32(buf, (uint32) k->hlc.logical);
	put_u32(buf, (uint32) k->hlc.node);
	put_u8(buf, k->flags);
	put_u16(buf, (uint16) k->key_len);
	appendBinaryStringInfo(buf, k->key, k->key_len);
	put_u64(buf, (uint64) k->entity);
	put_f64(buf, k->weight);
	put_u64(buf, (uint64) k->at_us);
}

void
snapfmt_add_record(StringInfo buf, const char *raw, Size len)
{
	appendBinaryStringInfo(buf, raw, len);
}

void
snapfmt_finish(StringInfo buf, uint32 count)
{
	put_u32_at(buf, 16, count);
	put_u64_at(buf, 24, (uint64) (buf->len - SNAP_HEADER_LEN));
	put_u32_at(buf, 32, crc32c(buf->data + SNAP_HEADER_LEN, buf->len - SNAP_HEADER_LEN));
	put_u32_at(buf, 36, crc32c(buf->data, 36));
}

/* ---- reading ---- */

bool
snapfmt_read_chunk(const char *buf, Size len, SnapChunk *out, const char **why)
{
	Reader		r = {buf, buf + len, true};
	uint32		magic;
	uint16		version;
	uint64		payload_len;
	uint32		payload_crc;
	uint32		header_crc;

	memset(out, 0, sizeof(*out));
	if (len < SNAP_HEADER_LEN)
	{
		*why = "shorter than its header";
		return false;
	}
	magic = get_u32(&r);
	version = get_u16(&r);
	out->kind = get_u8(&r);
	(void) get_u8(&r);
	out->tenant = (int64) get_u64(&r);
	out->count = get_u32(&r);
	(void) get_u32(&r);
	payload_len = get_u64(&r);
	payload_crc = get_u32(&r);
	header_crc = get_u32(&r);
	if (magic != SNAP_MAGIC)
		*why = "bad magic";
	else if (header_crc != crc32c(buf, 36))
		*why = "header checksum mismatch";
	else if (version != SNAP_VERSION)
		*why = "unknown format version";
	else if (out->kind < SNAP_CHUNK_STATES || out->kind > SNAP_CHUNK_INTERESTS)
		*why = "unknown chunk kind";
	else if (payload_len != len - SNAP_HEADER_LEN)
		*why = "payload length mismatch";
	else if (payload_crc != crc32c(buf + SNAP_HEADER_LEN, payload_len))
		*why = "payload checksum mismatch";
	else
		*why = NULL;
	if (*why != NULL)
		return false;

	if (out->kind != SNAP_CHUNK_RECORDS)
	{
		int			i;

		out->name_len = get_u16(&r);
		if (out->name_len == 0 || out->name_len > SNAP_MAX_NAME || !need(&r, out->name_len))
		{
			*why = "bad signal name";
			return false;
		}
		out->name = r.p;
		r.p += out->name_len;
		out->half_life_us = (int64) get_u64(&r);
		out->nwindows = get_u8(&r);
		if (out->nwindows > DECAY_MAX_WINDOWS)
		{
			*why = "too many windows";
			return false;
		}
		for (i = 0; i < out->nwindows; i++)
			out->window_us[i] = (int64) get_u64(&r);
		if (!r.ok)
		{
			*why = "truncated signal";
			return false;
		}
	}
	out->body = r.p;
	out->body_len = r.end - r.p;
	return true;
}

void
snapfmt_cursor(const SnapChunk *chunk, SnapCursor *cur)
{
	cur->p = chunk->body;
	cur->end = chunk->body + chunk->body_len;
	cur->nwindows = chunk->nwindows;
	cur->left = chunk->count;
}

/* true if another entry is due; false at the end, with *why if bytes are left over */
static bool
cursor_more(SnapCursor *cur, const char **why)
{
	*why = NULL;
	if (cur->left > 0)
		return true;
	if (cur->p != cur->end)
		*why = "bytes after the last entry";
	return false;
}

bool
snapfmt_next_interest(SnapCursor *cur, int dims, int64 *user, uint64 *arm, DecayVector *v,
					  const char **why)
{
	Reader		r = {cur->p, cur->end, true};
	int			n;
	int			i;

	if (!cursor_more(cur, why))
		return false;
	*user = (int64) get_u64(&r);
	*arm = get_u64(&r);
	v->latest_us = (int64) get_u64(&r);
	v->mass = get_f64(&r);
	n = get_u16(&r);
	if (r.ok && n != dims)
	{
		*why = "an interest sum of other dimensions than tidal.embedding_dimensions";
		return false;
	}
	for (i = 0; i < n && r.ok; i++)
	{
		uint32		bits = get_u32(&r);

		memcpy(&v->vec[i], &bits, sizeof(bits));
		if (!isfinite(v->vec[i]))
			r.ok = false;
	}
	if (!r.ok || !isfinite(v->mass) || *arm == 0)
	{
		*why = "a truncated or invalid interest sum";
		return false;
	}
	cur->p = r.p;
	cur->left--;
	return true;
}

bool
snapfmt_next_state(SnapCursor *cur, int64 *entity, DecayState *s, const char **why)
{
	Reader		r = {cur->p, cur->end, true};
	int			w;
	int			b;

	if (!cursor_more(cur, why))
		return false;
	decay_init(s);
	*entity = (int64) get_u64(&r);
	s->latest_us = (int64) get_u64(&r);
	s->sum = get_f64(&r);
	for (w = 0; w < cur->nwindows; w++)
		for (b = 0; b < DECAY_WINDOW_BUCKETS; b++)
			s->buckets[w][b] = get_f64(&r);
	if (!r.ok)
	{
		*why = "truncated state";
		return false;
	}
	if (!isfinite(s->sum))
	{
		*why = "a state that is not finite";
		return false;
	}
	for (w = 0; w < cur->nwindows; w++)
		for (b = 0; b < DECAY_WINDOW_BUCKETS; b++)
			if (!isfinite(s->buckets[w][b]))
			{
				*why = "a window that is not finite";
				return false;
			}
	cur->p = r.p;
	cur->left--;
	return true;
}

bool
snapfmt_next_keyed(SnapCursor *cur, SnapKeyed *k, const char **why)
{
	Reader		r = {cur->p, cur->end, true};

	if (!cursor_more(cur, why))
		return false;
	k->hlc.wall_ns = (int64) get_u64(&r);
	k->hlc.logical = (int32) get_u32(&r);
	k->hlc.node = (int32) get_u32(&r);
	k->flags = get_u8(&r);
	k->key_len = get_u16(&r);
	if (k->key_len == 0 || !need(&r, k->key_len))
	{
		*why = "bad idempotency key";
		return false;
	}
	k->key = r.p;
	r.p += k->key_len;
	k->entity = (int64) get_u64(&r);
	k->weight = get_f64(&r);
	k->at_us = (int64) get_u64(&r);
	if (r.ok && !isfinite(k->weight))
	{
		*why = "a keyed write whose weight is not finite";
		return false;
	}
	if (!r.ok)
	{
		*why = "truncated keyed write";
		return false;
	}
	cur->p = r.p;
	cur->left--;
	return true;
}
