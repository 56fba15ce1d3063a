/*
 * core/codec.h
 *    The binary format of tidal's log: records (one per accepted write) and
 *    sealed batches (a versioned header followed by records).  Pure encoding
 *    and decoding, no I/O; docs/log-format.md is the specification.
 *
 *    May call: core/.
 */
#ifndef TIDAL_CODEC_H
#define TIDAL_CODEC_H

#include "postgres.h"

#include "lib/stringinfo.h"

#include "core/decay.h"
#include "core/hlc.h"

#define LOG_RECORD_HEADER_LEN	32
#define LOG_BATCH_MAGIC			"TDLB"
/*
 * Version 2 (0.8): the header's node is part of the batch's origin,
 * (region, shard, node).  Version 1: the origin is (region, shard, 0),
 * whatever node the header names; a reader sets origin_node to 0.
 */
#define LOG_BATCH_VERSION		2
#define LOG_BATCH_VERSION_NODE0	1
#define LOG_BATCH_HEADER_LEN	72

typedef enum LogRecordKind
{
	LOG_RECORD_SIGNAL = 1,		/* events of one signal */
	LOG_RECORD_DEFINE_SIGNAL = 2,	/* a signal definition */
	LOG_RECORD_ITEM = 3,		/* an item's creator, metadata and creation time */
	LOG_RECORD_HIDE = 4,		/* a user hides or unhides an item or a creator */
	LOG_RECORD_DEFINE_PROFILE = 5,	/* a ranking profile definition */
	LOG_RECORD_TENANT = 6,		/* a tenant's registration: label, quotas, regions */
	LOG_RECORD_MIGRATION = 7,	/* a step of a tenant's migration to another region */
	LOG_RECORD_ELIDED = 8,		/* a record this copy of the batch leaves out: another tenant's or shard's */
	LOG_RECORD_SHARD_MAP = 9,	/* the cluster's shard map, set by the leader */
	LOG_RECORD_HANDOFF = 10		/* hot-state entries of a moved range, for its new shard in one region */
} LogRecordKind;

/* may a record be elided from a copy of a batch? A tenant's data, and tenant 0's signal events (sharded) */
#define LOG_RECORD_ELIDABLE(k, tenant) \
	(LOG_KIND_HOLDS_TENANT_DATA(k) && ((tenant) > 0 || ((tenant) == 0 && (k) == LOG_RECORD_SIGNAL)))

/* the kinds that hold a tenant's data, which a region not storing it never keeps */
#define LOG_KIND_HOLDS_TENANT_DATA(k) \
	((k) == LOG_RECORD_SIGNAL || (k) == LOG_RECORD_ITEM || (k) == LOG_RECORD_HIDE)

#define LOG_SIGNAL_HAS_USER		0x01	/* flag: each event carries a user id */
#define LOG_SIGNAL_HAS_KEY		0x02	/* flag: an idempotency key follows the name */
#define LOG_SIGNAL_HAS_SHARD	0x04	/* flag: the shard the writer routed the events to follows (0.7) */
#define LOG_SIGNAL_REGION_LOCAL	0x08	/* flag: counted only in the region that follows the shard (0.7) */
#define LOG_HAS_SESSION			0x10	/* flag (signal, hide and elided records): a session and its seqno
										 * end the record's fixed part (0.8) */
#define LOG_SIGNAL_HAS_INTEREST	0x20	/* flag: one event of a user, and what it adds to the user's
										 * interests (arm, quantized embedding) ends the record (0.8) */
#define LOG_SESSION_MAXLEN		128		/* bytes of a session id */
#define LOG_SESSION_MAX_SEQNO	(PG_INT64_MAX / 2)	/* a seqno's range: 1 to this (its next never overflows) */
#define LOG_MAX_SHARD			1023	/* the largest shard a record may name (tidal.shard_id's range) */
#define LOG_DEFINE_HAS_POLARITY	0x01	/* flag: a signal definition's polarity (int8: -1, 0, 1) ends it (0.8) */
#define LOG_ITEM_HAS_CREATOR	0x01	/* flag: the item record names a creator */
#define LOG_ITEM_HAS_EMBEDDING	0x02	/* flag: an embedding (u16 dimensions, float4 each) ends the item record (0.8) */
#define LOG_MAX_EMBEDDING_DIMS	2000	/* the most dimensions an embedding may have */

/* LOG_RECORD_HIDE: what happened, and to what */
#define LOG_HIDE_ACTION_HIDE	1
#define LOG_HIDE_ACTION_UNHIDE	2
#define LOG_HIDE_TARGET_ITEM	1
#define LOG_HIDE_TARGET_CREATOR 2

/* a decoded record; pointers point into the buffer it was read from */
typedef struct LogRecord
{
	const char *raw;			/* the whole encoded record */
	Size		raw_len;
	uint8		kind;
	uint8		flags;
	TidalHlc	hlc;
	int64		tenant;
	const char *name;			/* signal name, not NUL-terminated */
	int			name_len;
	const char *key;			/* idempotency key (LOG_SIGNAL_HAS_KEY), or NULL */
	int			key_len;
	int32		shard;			/* the shard its writer routed it to (LOG_SIGNAL_HAS_SHARD), or -1;
								 * LOG_RECORD_HANDOFF: the shard it is for */
	int32		region;			/* the only region that counts it (LOG_SIGNAL_REGION_LOCAL,
								 * LOG_RECORD_HANDOFF), or -1 */
	const char *session;		/* the session of a write (LOG_HAS_SESSION), not NUL-terminated, or NULL */
	int			session_len;
	int64		session_seqno;	/* its place in the session, from 1 */

	/* LOG_RECORD_SIGNAL */
	uint32		nevents;
	const char *events;
	uint64		interest_arm;	/* LOG_SIGNAL_HAS_INTEREST: the item's arm (never 0) */
	int			interest_dims;	/* ... its embedding's dimensions (0: none) */
	const int8 *interest_vector;	/* ... the unit embedding, int8 (x127) */

	/* LOG_RECORD_DEFINE_SIGNAL */
	int64		half_life_us;
	const char *entity_kind;
	int			entity_kind_len;
	int			nwindows;
	int64		window_us[DECAY_MAX_WINDOWS];
	int			polarity;		/* -1, 0 or 1 (LOG_DEFINE_HAS_POLARITY; else 0) */

	/* LOG_RECORD_ITEM */
	int64		item;
	bool		has_creator;
	int64		creator;
	int64		created_at_us;
	int			embedding_dims;	/* LOG_ITEM_HAS_EMBEDDING: its dimensions (else 0) */
	const char *embedding;		/* ... and its float4s, encoded (codec_item_embedding decodes) */

	/* LOG_RECORD_HIDE */
	uint8		action;			/* LOG_HIDE_ACTION_* */
	uint8		target_kind;	/* LOG_HIDE_TARGET_* */
	int64		user_id;
	int64		target;

	/*
	 * LOG_RECORD_ELIDED: the kind of the record it stands for; nevents holds
	 * the sequence numbers (events) it takes
	 */
	uint8		elided_kind;

	/*
	 * LOG_RECORD_HANDOFF: the map version of the move, the shard it is from,
	 * whether it is the move's last handoff record in its region, and the
	 * entries (text: one snapshot chunk of states, core/snapfmt.h)
	 */
	int64		move_version;
	int32		from_shard;
	bool		last;

	/* LOG_RECORD_MIGRATION: which migration, and the step it reached */
	int64		migration_id;
	uint8		step;

	/*
	 * JSON text: LOG_RECORD_ITEM (metadata), LOG_RECORD_DEFINE_PROFILE
	 * (spec), LOG_RECORD_TENANT (registration), LOG_RECORD_MIGRATION
	 * (description), LOG_RECORD_SHARD_MAP (the map)
	 */
	const char *text;
	uint32		text_len;
} LogRecord;

typedef struct LogSignalEvent
{
	int64		entity;
	double		weight;
	int64		at_us;
	int64		user_id;		/* 0 when the record has no user ids */
	bool		has_user;
} LogSignalEvent;

typedef struct LogBatchHeader
{
	uint16		version;
	int32		origin_region;
	int32		origin_shard;
	int32		origin_node;
	uint32		record_count;
	int64		batch_no;
	int64		first_seq;
	int64		last_seq;
	uint32		event_count;
	uint32		payload_crc;
	uint64		payload_len;
} LogBatchHeader;

/* a session write's place: a session (NULL: none) and its seqno */
typedef struct LogSessionMark
{
	const char *session;
	int64		seqno;
} LogSessionMark;

/* records */
extern void codec_begin_signal_record(StringInfo buf, const TidalHlc *hlc, int64 tenant,
									  const char *name, const char *key, int32 shard,
									  bool with_users, uint32 nevents);
/* the same, for a record that only one region counts (LOG_SIGNAL_REGION_LOCAL) */
extern void codec_begin_region_signal_record(StringInfo buf, const TidalHlc *hlc, const char *name,
											 const char *key, int32 shard, int32 region,
											 bool with_users, uint32 nevents);
/* one event of a session write: its key is the session's (codec_session_key) */
extern void codec_begin_session_signal_record(StringInfo buf, const TidalHlc *hlc, int64 tenant,
											  const char *name, int32 shard, bool with_users,
											  const LogSessionMark *mark);
/* the idempotency key of a session's write: a session's seqno counts once */
extern char *codec_session_key(const char *session, int session_len, int64 seqno);
extern void codec_add_signal_event(StringInfo buf, bool with_users, int64 entity,
								   double weight, int64 at_us, int64 user_id);
/*
 * What one event of a user adds to the user's interests (issue 16): the
 * item's arm, and its unit embedding quantized to int8 (dims 0: none),
 * appended to the one-event record that begins at record_start in buf.
 */
typedef struct LogInterest
{
	uint64		arm;
	int			dims;
	const int8 *vector;
} LogInterest;
extern void codec_add_signal_interest(StringInfo buf, int record_start, const LogInterest *interest);
extern void codec_define_signal_record(StringInfo buf, const TidalHlc *hlc, const char *name,
									   int64 half_life_us, const char *entity_kind,
									   int nwindows, const int64 *window_us, int polarity);
extern void codec_item_record(StringInfo buf, const TidalHlc *hlc, int64 tenant, int64 item,
							  bool has_creator, int64 creator, int64 created_at_us,
							  const char *metadata, const float4 *embedding, int embedding_dims);
/* an item record's embedding (rec->embedding_dims float4s) into out */
extern void codec_item_embedding(const LogRecord *rec, float4 *out);
extern void codec_hide_record(StringInfo buf, const TidalHlc *hlc, int64 tenant, uint8 action,
							  uint8 target_kind, int64 user_id, int64 target,
							  const LogSessionMark *mark);
extern void codec_define_profile_record(StringInfo buf, const TidalHlc *hlc, const char *name,
										const char *spec);
extern void codec_tenant_record(StringInfo buf, const TidalHlc *hlc, int64 tenant,
								const char *registration);
extern void codec_migration_record(StringInfo buf, const TidalHlc *hlc, int64 tenant,
								   int64 migration_id, uint8 step, const char *description);
extern void codec_shard_map_record(StringInfo buf, const TidalHlc *hlc, const char *map);
extern void codec_handoff_record(StringInfo buf, const TidalHlc *hlc, int64 move_version,
								 int32 region, int32 from_shard, int32 to_shard, bool last,
								 const char *chunk, Size chunk_len);
extern void codec_elided_record(StringInfo buf, const TidalHlc *hlc, int64 tenant,
								uint8 elided_kind, uint32 nevents, const LogSessionMark *mark);
extern bool codec_read_record(const char *buf, Size len, Size *consumed,
							  LogRecord *rec, const char **why);
extern void codec_signal_event(const LogRecord *rec, uint32 i, LogSignalEvent *ev);
extern uint32 codec_record_events(const LogRecord *rec);

/* batches */
extern void codec_write_batch_header(char *out, LogBatchHeader *hdr,
									 const char *payload, Size payload_len);
extern bool codec_read_batch(const char *buf, Size len, LogBatchHeader *hdr,
							 const char **payload, const char **why);

/*
 * Residency: a copy of a batch without the records of some tenants or of
 * other shards.  keep is asked about each record that may be elided
 * (LOG_RECORD_ELIDABLE: a tenant's data, or tenant 0's signal events);
 * each one it refuses is replaced by an elided record of the
 * same HLC, tenant and event count, so the batch keeps its number, sequence
 * range, record and event counts.  Returns how many records were elided (0:
 * out is left as it was, use the batch as it is), or -1 with *why if the
 * batch is not a valid batch.
 */
typedef bool (*codec_keep_fn) (const LogRecord *rec, void *arg);
extern int	codec_elide_batch(const char *batch, Size len, codec_keep_fn keep, void *arg,
							  StringInfo out, const char **why);

/*
 * Does a record of the batch satisfy match (asked of each record, in order,
 * until one does)?  False for a batch that does not verify.
 */
extern bool codec_batch_has_record(const char *batch, Size len, codec_keep_fn match, void *arg);

/*
 * The reverse, for a region that starts storing a tenant: local is this
 * region's copy of a batch, full another region's copy of the same batch.
 * Every elided record of tenant in local is replaced by full's record at
 * the same place, which must be a record of that tenant of the elided kind,
 * HLC and event count; everything else of local is kept as it is.  Returns
 * how many records were filled in (and out holds the batch), or -1 with
 * *why if the two are not copies of one batch.
 */
extern int	codec_fill_batch(const char *local, Size local_len, const char *full, Size full_len,
							 int64 tenant, StringInfo out, const char **why);

#endif							/* TIDAL_CODEC_H */
