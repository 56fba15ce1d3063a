/*
 * codec.h
 *    The binary format of tidal's log: records (one per accepted write) and
 *    sealed batches (a versioned header followed by records).  Pure encoding
 *    and decoding, no I/O; docs/log-format.md is the specification.
 */
#ifndef TIDAL_CODEC_H
#define TIDAL_CODEC_H

#include "postgres.h"

#include "lib/stringinfo.h"

#include "decay.h"
#include "hlc.h"

#define LOG_RECORD_HEADER_LEN	32
#define LOG_BATCH_MAGIC			"TDLB"
#define LOG_BATCH_VERSION		1
#define LOG_BATCH_HEADER_LEN	72

typedef enum LogRecordKind
{
	LOG_RECORD_SIGNAL = 1,		/* events of one signal */
	LOG_RECORD_DEFINE_SIGNAL = 2	/* a signal definition */
} LogRecordKind;

#define LOG_SIGNAL_HAS_USER		0x01	/* flag: each event carries a user id */

/* a decoded record; pointers point into the buffer it was read from */
typedef struct LogRecord
{
	uint8		kind;
	uint8		flags;
	TidalHlc	hlc;
	int64		tenant;
	const char *name;			/* signal name, not NUL-terminated */
	int			name_len;

	/* LOG_RECORD_SIGNAL */
	uint32		nevents;
	const char *events;

	/* LOG_RECORD_DEFINE_SIGNAL */
	int64		half_life_us;
	const char *entity_kind;
	int			entity_kind_len;
	int			nwindows;
	int64		window_us[DECAY_MAX_WINDOWS];
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

/* records */
extern void codec_begin_signal_record(StringInfo buf, const TidalHlc *hlc, int64 tenant,
									  const char *name, bool with_users, uint32 nevents);
extern void codec_add_signal_event(StringInfo buf, bool with_users, int64 entity,
								   double weight, int64 at_us, int64 user_id);
extern void codec_define_signal_record(StringInfo buf, const TidalHlc *hlc, const char *name,
									   int64 half_life_us, const char *entity_kind,
									   int nwindows, const int64 *window_us);
extern bool codec_read_record(const char *buf, Size len, Size *consumed,
							  LogRecord *rec, const char **why);
extern void codec_signal_event(const LogRecord *rec, uint32 i, LogSignalEvent *ev);
extern uint32 codec_record_events(const LogRecord *rec);

/* batches */
extern void codec_write_batch_header(char *out, LogBatchHeader *hdr,
									 const char *payload, Size payload_len);
extern bool codec_read_batch(const char *buf, Size len, LogBatchHeader *hdr,
							 const char **payload, const char **why);

#endif							/* TIDAL_CODEC_H */
