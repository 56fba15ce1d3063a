/*
 * core/codec.c
 *    Encoding and decoding of tidal's log records and batches.
 *
 * All integers are little-endian and floats are IEEE 754 binary64, so that
 * batches can move between machines.  Readers validate every length before
 * they touch the bytes: a batch arriving from the network is untrusted.
 *
 *    May call: core/.
 */
#include "postgres.h"

#include "core/codec.h"
#include "core/wire.h"

/* ---- writing ---- */

static void
put_str(StringInfo buf, const char *s)
{
	size_t		len = strlen(s);

	Assert(len <= PG_UINT16_MAX);
	put_u16(buf, (uint16) len);
	appendBinaryStringInfo(buf, s, (int) len);
}

/* long text (JSON): a 32-bit length, then the bytes */
static void
put_text32(StringInfo buf, const char *s)
{
	size_t		len = strlen(s);

	Assert(len <= PG_UINT32_MAX);
	put_u32(buf, (uint32) len);
	appendBinaryStringInfo(buf, s, (int) len);
}

/* a session write's place (LOG_HAS_SESSION): the session, then its seqno */
static void
put_session(StringInfo buf, const LogSessionMark *mark)
{
	put_str(buf, mark->session);
	put_u64(buf, (uint64) mark->seqno);
}

/* patch the body length of the record that begins at start */
static void
end_record(StringInfo buf, int start)
{
	put_u32_at(buf, start + 4, (uint32) (buf->len - start - LOG_RECORD_HEADER_LEN));
}

static int
begin_record(StringInfo buf, uint8 kind, uint8 flags, const TidalHlc *hlc, int64 tenant)
{
	int			start = buf->len;

	put_u8(buf, kind);
	put_u8(buf, flags);
	put_u16(buf, 0);
	put_u32(buf, 0);			/* body length, patched by the caller */
	put_u64(buf, (uint64) hlc->wall_ns);
	put_u32(buf, (uint32) hlc->logical);
	put_u32(buf, (uint32) hlc->node);
	put_u64(buf, (uint64) tenant);
	return start;
}

/*
 * A signal record's body length is known up front (fixed-size events), so the
 * caller declares nevents here and then adds exactly that many events.  key:
 * an idempotency key, or NULL.
 */
static void
begin_signal(StringInfo buf, const TidalHlc *hlc, int64 tenant, const char *name, const char *key,
			 int32 shard, int32 region, bool with_users, uint32 nevents, const LogSessionMark *mark)
{
	bool		session = mark != NULL && mark->session != NULL;
	int			start = begin_record(buf, LOG_RECORD_SIGNAL,
									 (with_users ? LOG_SIGNAL_HAS_USER : 0) |
									 (key ? LOG_SIGNAL_HAS_KEY : 0) |
									 (shard >= 0 ? LOG_SIGNAL_HAS_SHARD : 0) |
									 (region >= 0 ? LOG_SIGNAL_REGION_LOCAL : 0) |
									 (session ? LOG_HAS_SESSION : 0), hlc, tenant);
	Size		event_len = with_users ? 32 : 24;
	Size		body_len = 2 + strlen(name) + (key ? 2 + strlen(key) : 0) + (shard >= 0 ? 2 : 0) +
		(region >= 0 ? 4 : 0) + (session ? 2 + strlen(mark->session) + 8 : 0) +
		4 + (Size) nevents * event_len;

	Assert(region < 0 || shard >= 0);
	put_u32_at(buf, start + 4, (uint32) body_len);
	put_str(buf, name);
	if (key)
		put_str(buf, key);
	if (shard >= 0)
		put_u16(buf, (uint16) shard);
	if (region >= 0)
		put_u32(buf, (uint32) region);
	if (session)
		put_session(buf, mark);
	put_u32(buf, nevents);
	enlargeStringInfo(buf, (int) (nevents * event_len));
}

/*
 * A signal record's body length is known up front (fixed-size events), so the
 * caller declares nevents here and then adds exactly that many events.  key:
 * an idempotency key, or NULL.
 */
void
codec_begin_signal_record(StringInfo buf, const TidalHlc *hlc, int64 tenant,
						  const char *name, const char *key, int32 shard, bool with_users, uint32 nevents)
{
	begin_signal(buf, hlc, tenant, name, key, shard, -1, with_users, nevents, NULL);
}

char *
codec_session_key(const char *session, int session_len, int64 seqno)
{
	return psprintf("\x1e%.*s\x1f" INT64_FORMAT, session_len, session, seqno);
}

/*
 * The one event of a session's write.  It carries the session, its seqno,
 * and the idempotency key they make, so that every copy of the write (an
 * agent's retry, in any region) counts once, as keyed writes do.
 */
void
codec_begin_session_signal_record(StringInfo buf, const TidalHlc *hlc, int64 tenant, const char *name,
								  int32 shard, bool with_users, const LogSessionMark *mark)
{
	char	   *key = codec_session_key(mark->session, (int) strlen(mark->session), mark->seqno);

	begin_signal(buf, hlc, tenant, name, key, shard, -1, with_users, 1, mark);
	pfree(key);
}

/*
 * Events that a shard hands on to the shard a range moved to, after its cut
 * (cluster/reshard.c): tenant 0, routed to shard, counted in region only.
 */
void
codec_begin_region_signal_record(StringInfo buf, const TidalHlc *hlc, const char *name, const char *key,
								 int32 shard, int32 region, bool with_users, uint32 nevents)
{
	Assert(shard >= 0 && region >= 0);
	begin_signal(buf, hlc, 0, name, key, shard, region, with_users, nevents, NULL);
}

void
codec_add_signal_event(StringInfo buf, bool with_users, int64 entity,
					   double weight, int64 at_us, int64 user_id)
{
	put_u64(buf, (uint64) entity);
	put_f64(buf, weight);
	put_u64(buf, (uint64) at_us);
	if (with_users)
		put_u64(buf, (uint64) user_id);
}

/*
 * The interest part ends a one-event record of a user (after its event):
 * set the flag, append arm, dimensions and the int8 vector, and patch the
 * body length.
 */
void
codec_add_signal_interest(StringInfo buf, int record_start, const LogInterest *interest)
{
	Assert(interest->arm != 0 && interest->dims >= 0 && interest->dims <= LOG_MAX_EMBEDDING_DIMS);
	buf->data[record_start + 1] |= LOG_SIGNAL_HAS_INTEREST;
	put_u64(buf, interest->arm);
	put_u16(buf, (uint16) interest->dims);
	if (interest->dims > 0)
		appendBinaryStringInfo(buf, (const char *) interest->vector, interest->dims);
	end_record(buf, record_start);
}

void
codec_define_signal_record(StringInfo buf, const TidalHlc *hlc, const char *name,
						   int64 half_life_us, const char *entity_kind,
						   int nwindows, const int64 *window_us, int polarity)
{
	/* a neutral signal's record is as before 0.8, which an older node reads */
	int			start = begin_record(buf, LOG_RECORD_DEFINE_SIGNAL,
									 polarity != 0 ? LOG_DEFINE_HAS_POLARITY : 0, hlc, 0);
	int			w;

	put_str(buf, name);
	put_u64(buf, (uint64) half_life_us);
	put_str(buf, entity_kind);
	put_u8(buf, (uint8) nwindows);
	for (w = 0; w < nwindows; w++)
		put_u64(buf, (uint64) window_us[w]);
	if (polarity != 0)
		put_u8(buf, (uint8) (int8) polarity);
	end_record(buf, start);
}

void
codec_item_record(StringInfo buf, const TidalHlc *hlc, int64 tenant, int64 item,
				  bool has_creator, int64 creator, int64 created_at_us, const char *metadata,
				  const float4 *embedding, int embedding_dims)
{
	int			start = begin_record(buf, LOG_RECORD_ITEM,
									 (has_creator ? LOG_ITEM_HAS_CREATOR : 0) |
									 (embedding_dims > 0 ? LOG_ITEM_HAS_EMBEDDING : 0), hlc, tenant);
	int			i;

	put_u64(buf, (uint64) item);
	put_u64(buf, (uint64) (has_creator ? creator : 0));
	put_u64(buf, (uint64) created_at_us);
	put_text32(buf, metadata);
	if (embedding_dims > 0)
	{
		put_u16(buf, (uint16) embedding_dims);
		for (i = 0; i < embedding_dims; i++)
		{
			uint32		bits;

			memcpy(&bits, &embedding[i], sizeof(bits));
			put_u32(buf, bits);
		}
	}
	end_record(buf, start);
}

void
codec_item_embedding(const LogRecord *rec, float4 *out)
{
	Reader		r = {rec->embedding, rec->embedding + (Size) rec->embedding_dims * 4, true};
	int			i;

	for (i = 0; i < rec->embedding_dims; i++)
	{
		uint32		bits = get_u32(&r);

		memcpy(&out[i], &bits, sizeof(bits));
	}
}

void
codec_hide_record(StringInfo buf, const TidalHlc *hlc, int64 tenant, uint8 action,
				  uint8 target_kind, int64 user_id, int64 target, const LogSessionMark *mark)
{
	bool		session = mark != NULL && mark->session != NULL;
	int			start = begin_record(buf, LOG_RECORD_HIDE, session ? LOG_HAS_SESSION : 0, hlc, tenant);

	put_u8(buf, action);
	put_u8(buf, target_kind);
	put_u64(buf, (uint64) user_id);
	put_u64(buf, (uint64) target);
	if (session)
		put_session(buf, mark);
	end_record(buf, start);
}

void
codec_define_profile_record(StringInfo buf, const TidalHlc *hlc, const char *name,
							const char *spec)
{
	int			start = begin_record(buf, LOG_RECORD_DEFINE_PROFILE, 0, hlc, 0);

	put_str(buf, name);
	put_text32(buf, spec);
	end_record(buf, start);
}

void
codec_tenant_record(StringInfo buf, const TidalHlc *hlc, int64 tenant, const char *registration)
{
	int			start = begin_record(buf, LOG_RECORD_TENANT, 0, hlc, tenant);

	put_text32(buf, registration);
	end_record(buf, start);
}

void
codec_migration_record(StringInfo buf, const TidalHlc *hlc, int64 tenant, int64 migration_id,
					   uint8 step, const char *description)
{
	int			start = begin_record(buf, LOG_RECORD_MIGRATION, 0, hlc, tenant);

	put_u64(buf, (uint64) migration_id);
	put_u8(buf, step);
	put_text32(buf, description);
	end_record(buf, start);
}

void
codec_shard_map_record(StringInfo buf, const TidalHlc *hlc, const char *map)
{
	int			start = begin_record(buf, LOG_RECORD_SHARD_MAP, 0, hlc, 0);

	put_text32(buf, map);
	end_record(buf, start);
}

/*
 * A handoff (cluster/reshard.c): the hot-state entries of a moved range that
 * the range's old shard held in one region, for the new shard of that
 * region; chunk is one snapshot chunk of states (core/snapfmt.h).
 */
void
codec_handoff_record(StringInfo buf, const TidalHlc *hlc, int64 move_version, int32 region,
					 int32 from_shard, int32 to_shard, bool last, const char *chunk, Size chunk_len)
{
	int			start = begin_record(buf, LOG_RECORD_HANDOFF, 0, hlc, 0);

	put_u64(buf, (uint64) move_version);
	put_u32(buf, (uint32) region);
	put_u16(buf, (uint16) from_shard);
	put_u16(buf, (uint16) to_shard);
	put_u8(buf, last ? 1 : 0);
	put_u32(buf, (uint32) chunk_len);
	appendBinaryStringInfo(buf, chunk, (int) chunk_len);
	end_record(buf, start);
}

/*
 * An elided record: stands, in one copy of a batch, for a record of a tenant
 * that the holder of that copy does not store.  It keeps the record's HLC,
 * tenant and event count (its sequence numbers), not its contents -- and a
 * session write's place, which every node of the session needs to go on.
 */
void
codec_elided_record(StringInfo buf, const TidalHlc *hlc, int64 tenant, uint8 elided_kind,
					uint32 nevents, const LogSessionMark *mark)
{
	bool		session = mark != NULL && mark->session != NULL;
	int			start = begin_record(buf, LOG_RECORD_ELIDED, session ? LOG_HAS_SESSION : 0, hlc, tenant);

	put_u8(buf, elided_kind);
	put_u32(buf, nevents);
	if (session)
		put_session(buf, mark);
	end_record(buf, start);
}

/* ---- reading ---- */

static const char *
get_text32(Reader *r, uint32 *len)
{
	*len = get_u32(r);
	return get_bytes(r, *len);
}

static const char *
get_str(Reader *r, int *len)
{
	*len = get_u16(r);
	return get_bytes(r, *len);
}

/* a session write's place, if the record has one: 1 to LOG_SESSION_MAXLEN bytes, seqno from 1 */
static void
get_session(Reader *r, LogRecord *rec)
{
	if (!(rec->flags & LOG_HAS_SESSION))
		return;
	rec->session = get_str(r, &rec->session_len);
	rec->session_seqno = (int64) get_u64(r);
	if (rec->session_len == 0 || rec->session_len > LOG_SESSION_MAXLEN || rec->session_seqno < 1 ||
		rec->session_seqno > LOG_SESSION_MAX_SEQNO ||
		memchr(rec->session, '\0', rec->session_len) != NULL)
		r->ok = false;
}

bool
codec_read_record(const char *buf, Size len, Size *consumed, LogRecord *rec, const char **why)
{
	Reader		r = {buf, buf + len, true};
	Reader		body;
	uint32		body_len;
	int			w;

	memset(rec, 0, sizeof(*rec));
	rec->region = -1;
	rec->kind = get_u8(&r);
	rec->flags = get_u8(&r);
	(void) get_u16(&r);
	body_len = get_u32(&r);
	rec->hlc.wall_ns = (int64) get_u64(&r);
	rec->hlc.logical = (int32) get_u32(&r);
	rec->hlc.node = (int32) get_u32(&r);
	rec->tenant = (int64) get_u64(&r);
	if (!r.ok || !need(&r, body_len))
	{
		*why = "record is truncated";
		return false;
	}
	body.p = r.p;
	body.end = r.p + body_len;
	body.ok = true;

	switch (rec->kind)
	{
		case LOG_RECORD_SIGNAL:
			{
				Size		event_len = (rec->flags & LOG_SIGNAL_HAS_USER) ? 32 : 24;

				rec->name = get_str(&body, &rec->name_len);
				if (rec->flags & LOG_SIGNAL_HAS_KEY)
				{
					rec->key = get_str(&body, &rec->key_len);
					if (rec->key_len == 0)
						body.ok = false;
				}
				rec->shard = -1;
				rec->region = -1;
				if (rec->flags & LOG_SIGNAL_HAS_SHARD)
				{
					/* only the default tenant's events are routed by the shard map */
					rec->shard = get_u16(&body);
					if (rec->shard > LOG_MAX_SHARD || rec->tenant != 0)
						body.ok = false;
				}
				if (rec->flags & LOG_SIGNAL_REGION_LOCAL)
				{
					/* handed on within one region: only a routed record is */
					rec->region = (int32) get_u32(&body);
					if (rec->shard < 0 || rec->region < 0)
						body.ok = false;
				}
				get_session(&body, rec);
				rec->nevents = get_u32(&body);
				if (rec->flags & LOG_SIGNAL_HAS_INTEREST)
				{
					/* one event of a user, then its interest part */
					if (rec->nevents != 1 || !(rec->flags & LOG_SIGNAL_HAS_USER))
						body.ok = false;
					rec->events = get_bytes(&body, event_len);
					rec->interest_arm = get_u64(&body);
					rec->interest_dims = get_u16(&body);
					rec->interest_vector = (const int8 *) get_bytes(&body, rec->interest_dims);
					if (rec->interest_arm == 0 || rec->interest_dims > LOG_MAX_EMBEDDING_DIMS ||
						body.p != body.end)
						body.ok = false;
				}
				else
				{
					if (body.ok && (Size) (body.end - body.p) != rec->nevents * event_len)
						body.ok = false;
					rec->events = body.p;
					body.p = body.end;
				}
				if (rec->name_len == 0)
					body.ok = false;
				break;
			}
		case LOG_RECORD_DEFINE_SIGNAL:
			rec->name = get_str(&body, &rec->name_len);
			rec->half_life_us = (int64) get_u64(&body);
			rec->entity_kind = get_str(&body, &rec->entity_kind_len);
			rec->nwindows = get_u8(&body);
			if (rec->nwindows > DECAY_MAX_WINDOWS)
				body.ok = false;
			for (w = 0; w < rec->nwindows && body.ok; w++)
				rec->window_us[w] = (int64) get_u64(&body);
			if (rec->flags & LOG_DEFINE_HAS_POLARITY)
			{
				rec->polarity = (int8) get_u8(&body);
				if (rec->polarity < -1 || rec->polarity > 1)
					body.ok = false;
			}
			if (rec->name_len == 0)
				body.ok = false;
			break;
		case LOG_RECORD_ITEM:
			rec->has_creator = (rec->flags & LOG_ITEM_HAS_CREATOR) != 0;
			rec->item = (int64) get_u64(&body);
			rec->creator = (int64) get_u64(&body);
			rec->created_at_us = (int64) get_u64(&body);
			rec->text = get_text32(&body, &rec->text_len);
			if (rec->flags & LOG_ITEM_HAS_EMBEDDING)
			{
				rec->embedding_dims = get_u16(&body);
				rec->embedding = get_bytes(&body, (Size) rec->embedding_dims * 4);
				if (rec->embedding_dims < 1 || rec->embedding_dims > LOG_MAX_EMBEDDING_DIMS)
					body.ok = false;
			}
			break;
		case LOG_RECORD_HIDE:
			rec->action = get_u8(&body);
			rec->target_kind = get_u8(&body);
			rec->user_id = (int64) get_u64(&body);
			rec->target = (int64) get_u64(&body);
			get_session(&body, rec);
			if ((rec->action != LOG_HIDE_ACTION_HIDE && rec->action != LOG_HIDE_ACTION_UNHIDE) ||
				(rec->target_kind != LOG_HIDE_TARGET_ITEM &&
				 rec->target_kind != LOG_HIDE_TARGET_CREATOR))
				body.ok = false;
			break;
		case LOG_RECORD_DEFINE_PROFILE:
			rec->name = get_str(&body, &rec->name_len);
			rec->text = get_text32(&body, &rec->text_len);
			if (rec->name_len == 0)
				body.ok = false;
			break;
		case LOG_RECORD_TENANT:
			rec->text = get_text32(&body, &rec->text_len);
			if (rec->tenant < 0)	/* tenant 0 takes quotas too */
				body.ok = false;
			break;
		case LOG_RECORD_MIGRATION:
			rec->migration_id = (int64) get_u64(&body);
			rec->step = get_u8(&body);
			rec->text = get_text32(&body, &rec->text_len);
			if (rec->tenant <= 0 || rec->migration_id <= 0 || rec->step == 0)
				body.ok = false;
			break;
		case LOG_RECORD_SHARD_MAP:
			rec->text = get_text32(&body, &rec->text_len);
			if (rec->tenant != 0)
				body.ok = false;
			break;
		case LOG_RECORD_HANDOFF:
			rec->move_version = (int64) get_u64(&body);
			rec->region = (int32) get_u32(&body);
			rec->from_shard = get_u16(&body);
			rec->shard = get_u16(&body);
			rec->last = get_u8(&body) != 0;
			rec->text = get_text32(&body, &rec->text_len);
			if (rec->tenant != 0 || rec->move_version < 1 || rec->region < 0 ||
				rec->from_shard > LOG_MAX_SHARD || rec->shard > LOG_MAX_SHARD ||
				rec->from_shard == rec->shard)
				body.ok = false;
			break;
		case LOG_RECORD_ELIDED:
			rec->elided_kind = get_u8(&body);
			rec->nevents = get_u32(&body);
			get_session(&body, rec);
			/* a tenant's data, or tenant 0's signal events, and it takes its events */
			if (!LOG_RECORD_ELIDABLE(rec->elided_kind, rec->tenant) ||
				rec->nevents == 0 ||
				(rec->elided_kind != LOG_RECORD_SIGNAL && rec->nevents != 1))
				body.ok = false;
			break;
		default:
			*why = "unknown record kind";
			return false;
	}

	if (!body.ok || body.p != body.end)
	{
		*why = "malformed record body";
		return false;
	}
	*consumed = LOG_RECORD_HEADER_LEN + body_len;
	rec->raw = buf;
	rec->raw_len = *consumed;
	return true;
}

void
codec_signal_event(const LogRecord *rec, uint32 i, LogSignalEvent *ev)
{
	bool		with_users = (rec->flags & LOG_SIGNAL_HAS_USER) != 0;
	Reader		r;
	uint64		bits;

	Assert(i < rec->nevents);
	r.p = rec->events + (Size) i * (with_users ? 32 : 24);
	r.end = r.p + (with_users ? 32 : 24);
	r.ok = true;
	ev->entity = (int64) get_u64(&r);
	bits = get_u64(&r);
	memcpy(&ev->weight, &bits, 8);
	ev->at_us = (int64) get_u64(&r);
	ev->has_user = with_users;
	ev->user_id = with_users ? (int64) get_u64(&r) : 0;
}

uint32
codec_record_events(const LogRecord *rec)
{
	return (rec->kind == LOG_RECORD_SIGNAL || rec->kind == LOG_RECORD_ELIDED) ? rec->nevents : 1;
}

/* ---- batches ---- */

void
codec_write_batch_header(char *out, LogBatchHeader *hdr, const char *payload, Size payload_len)
{
	StringInfoData h;

	/*
	 * Version 2 unless asked for 1: a copy of a version-1 batch stays one
	 * (its origin is node 0), and so does a batch sealed on SQL objects
	 * before 0.8 (log.c).
	 */
	if (hdr->version != LOG_BATCH_VERSION_NODE0)
		hdr->version = LOG_BATCH_VERSION;
	hdr->payload_len = payload_len;
	hdr->payload_crc = crc32c(payload, payload_len);

	initStringInfo(&h);
	appendBinaryStringInfo(&h, LOG_BATCH_MAGIC, 4);
	put_u16(&h, hdr->version);
	put_u16(&h, LOG_BATCH_HEADER_LEN);
	put_u32(&h, (uint32) hdr->origin_region);
	put_u32(&h, (uint32) hdr->origin_shard);
	put_u32(&h, (uint32) hdr->origin_node);
	put_u32(&h, hdr->record_count);
	put_u64(&h, (uint64) hdr->batch_no);
	put_u64(&h, (uint64) hdr->first_seq);
	put_u64(&h, (uint64) hdr->last_seq);
	put_u32(&h, hdr->event_count);
	put_u32(&h, hdr->payload_crc);
	put_u64(&h, hdr->payload_len);
	put_u32(&h, crc32c(h.data, h.len));
	put_u32(&h, 0);
	Assert(h.len == LOG_BATCH_HEADER_LEN);
	memcpy(out, h.data, LOG_BATCH_HEADER_LEN);
	pfree(h.data);
}

/*
 * Verify a whole batch: header, both checksums, and that its records parse
 * and add up to the counts the header declares.
 */
bool
codec_read_batch(const char *buf, Size len, LogBatchHeader *hdr,
				 const char **payload, const char **why)
{
	Reader		r = {buf, buf + len, true};
	uint16		header_len;
	uint32		header_crc;
	const char *p;
	const char *end;
	uint32		records = 0;
	uint64		events = 0;

	if (len < LOG_BATCH_HEADER_LEN || memcmp(buf, LOG_BATCH_MAGIC, 4) != 0)
	{
		*why = "not a tidal batch (bad magic)";
		return false;
	}
	r.p += 4;
	hdr->version = get_u16(&r);
	header_len = get_u16(&r);
	if ((hdr->version != LOG_BATCH_VERSION && hdr->version != LOG_BATCH_VERSION_NODE0) ||
		header_len != LOG_BATCH_HEADER_LEN)
	{
		*why = "unsupported batch format version";
		return false;
	}
	hdr->origin_region = (int32) get_u32(&r);
	hdr->origin_shard = (int32) get_u32(&r);
	hdr->origin_node = (int32) get_u32(&r);
	/* before 0.8 (version 1) every batch of a region and shard is node 0's origin */
	if (hdr->version == LOG_BATCH_VERSION_NODE0)
		hdr->origin_node = 0;
	hdr->record_count = get_u32(&r);
	hdr->batch_no = (int64) get_u64(&r);
	hdr->first_seq = (int64) get_u64(&r);
	hdr->last_seq = (int64) get_u64(&r);
	hdr->event_count = get_u32(&r);
	hdr->payload_crc = get_u32(&r);
	hdr->payload_len = get_u64(&r);
	header_crc = get_u32(&r);
	if (header_crc != crc32c(buf, 64))
	{
		*why = "batch header checksum mismatch";
		return false;
	}
	if (hdr->payload_len != len - LOG_BATCH_HEADER_LEN)
	{
		*why = "batch length does not match its header";
		return false;
	}
	p = buf + LOG_BATCH_HEADER_LEN;
	end = p + hdr->payload_len;
	if (hdr->payload_crc != crc32c(p, hdr->payload_len))
	{
		*why = "batch payload checksum mismatch";
		return false;
	}
	if (hdr->event_count == 0 || hdr->first_seq < 1 || hdr->last_seq < hdr->first_seq ||
		hdr->last_seq - hdr->first_seq + 1 != (int64) hdr->event_count)
	{
		*why = "batch sequence numbers do not match its event count";
		return false;
	}
	while (p < end)
	{
		LogRecord	rec;
		Size		consumed;

		if (!codec_read_record(p, end - p, &consumed, &rec, why))
			return false;
		records++;
		events += codec_record_events(&rec);
		p += consumed;
	}
	if (records != hdr->record_count || events != hdr->event_count)
	{
		*why = "batch contents do not match its header counts";
		return false;
	}
	*payload = buf + LOG_BATCH_HEADER_LEN;
	return true;
}

/* ---- residency: copies of a batch without some tenants' records ---- */

/* the header of a verified batch, written again over a new payload */
static void
finish_copy(const LogBatchHeader *hdr, StringInfo payload, StringInfo out)
{
	LogBatchHeader h = *hdr;

	resetStringInfo(out);
	enlargeStringInfo(out, LOG_BATCH_HEADER_LEN + payload->len);
	codec_write_batch_header(out->data, &h, payload->data, payload->len);
	out->len = LOG_BATCH_HEADER_LEN;
	appendBinaryStringInfo(out, payload->data, payload->len);
}

bool
codec_batch_has_record(const char *batch, Size len, codec_keep_fn match, void *arg)
{
	LogBatchHeader hdr;
	const char *payload;
	const char *why;
	const char *p;
	const char *end;

	if (!codec_read_batch(batch, len, &hdr, &payload, &why))
		return false;
	end = payload + hdr.payload_len;
	for (p = payload; p < end;)
	{
		LogRecord	rec;
		Size		consumed;

		if (!codec_read_record(p, end - p, &consumed, &rec, &why))
			return false;
		if (match(&rec, arg))
			return true;
		p += consumed;
	}
	return false;
}

int
codec_elide_batch(const char *batch, Size len, codec_keep_fn keep, void *arg,
				  StringInfo out, const char **why)
{
	LogBatchHeader hdr;
	const char *payload;
	const char *p;
	const char *end;
	StringInfoData copy;
	int			elided = 0;

	if (!codec_read_batch(batch, len, &hdr, &payload, why))
		return -1;
	end = payload + hdr.payload_len;

	/* most batches lose nothing: find out before copying */
	for (p = payload; p < end;)
	{
		LogRecord	rec;
		Size		consumed;

		if (!codec_read_record(p, end - p, &consumed, &rec, why))
			return -1;
		if (LOG_RECORD_ELIDABLE(rec.kind, rec.tenant) && !keep(&rec, arg))
			break;
		p += consumed;
	}
	if (p == end)
		return 0;

	initStringInfo(&copy);
	for (p = payload; p < end;)
	{
		LogRecord	rec;
		Size		consumed;

		if (!codec_read_record(p, end - p, &consumed, &rec, why))
			return -1;
		if (LOG_RECORD_ELIDABLE(rec.kind, rec.tenant) && !keep(&rec, arg))
		{
			LogSessionMark mark = {NULL, 0};

			if (rec.session != NULL)
			{
				mark.session = pnstrdup(rec.session, rec.session_len);
				mark.seqno = rec.session_seqno;
			}
			codec_elided_record(&copy, &rec.hlc, rec.tenant, rec.kind, codec_record_events(&rec), &mark);
			elided++;
		}
		else
			appendBinaryStringInfo(&copy, p, consumed);
		p += consumed;
	}
	if (elided > 0)
		finish_copy(&hdr, &copy, out);
	pfree(copy.data);
	return elided;
}

int
codec_fill_batch(const char *local, Size local_len, const char *full, Size full_len,
				 int64 tenant, StringInfo out, const char **why)
{
	LogBatchHeader lh;
	LogBatchHeader fh;
	const char *lp;
	const char *fp;
	const char *lend;
	const char *fend;
	StringInfoData copy;
	int			filled = 0;

	if (!codec_read_batch(local, local_len, &lh, &lp, why) ||
		!codec_read_batch(full, full_len, &fh, &fp, why))
		return -1;
	if (lh.origin_region != fh.origin_region || lh.origin_shard != fh.origin_shard ||
		lh.batch_no != fh.batch_no || lh.first_seq != fh.first_seq ||
		lh.last_seq != fh.last_seq || lh.record_count != fh.record_count ||
		lh.event_count != fh.event_count)
	{
		*why = "the two copies do not have the same header";
		return -1;
	}
	initStringInfo(&copy);
	lend = lp + lh.payload_len;
	fend = fp + fh.payload_len;
	while (lp < lend && fp < fend)
	{
		LogRecord	lrec;
		LogRecord	frec;
		Size		lc;
		Size		fc;

		if (!codec_read_record(lp, lend - lp, &lc, &lrec, why) ||
			!codec_read_record(fp, fend - fp, &fc, &frec, why))
			return -1;
		if (hlc_compare(&lrec.hlc, &frec.hlc) != 0 || lrec.tenant != frec.tenant)
		{
			*why = "the two copies do not hold the same records";
			return -1;
		}
		if (lrec.kind == LOG_RECORD_ELIDED && lrec.tenant == tenant)
		{
			if (frec.kind != lrec.elided_kind || codec_record_events(&frec) != lrec.nevents)
			{
				*why = "the other copy does not hold the elided record";
				return -1;
			}
			appendBinaryStringInfo(&copy, fp, fc);
			filled++;
		}
		else
			appendBinaryStringInfo(&copy, lp, lc);
		lp += lc;
		fp += fc;
	}
	if (lp != lend || fp != fend)
	{
		*why = "the two copies do not hold the same records";
		return -1;
	}
	if (filled > 0)
		finish_copy(&lh, &copy, out);
	pfree(copy.data);
	return filled;
}
