/*
 * core/snapfmt.h
 *    The format of a snapshot chunk (docs/log-format.md, "Snapshots"): pure
 *    encoding and decoding, no PostgreSQL I/O.
 *
 * A snapshot of the hot state is a set of chunks, each of one tenant and one
 * kind:
 *  - states: the DecayState of every entity of one signal;
 *  - keyed: the recent writes of one signal made with an idempotency key,
 *    kept as they were written so that a later duplicate is still recognised;
 *  - records: log records that could not be applied when the snapshot was
 *    taken (an undefined signal, an unknown tenant), kept verbatim;
 *  - interests (0.8): the decaying vector sum of every (user, arm) of one
 *    signal (state/interest.h).
 * Every chunk carries CRC-32C checksums of its header and payload.
 *
 *    May call: core/ only (and PostgreSQL).
 */
#ifndef TIDAL_SNAPFMT_H
#define TIDAL_SNAPFMT_H

#include "postgres.h"

#include "lib/stringinfo.h"

#include "core/decay.h"
#include "core/hlc.h"
#include "core/vector.h"

#define SNAP_CHUNK_STATES	1
#define SNAP_CHUNK_KEYED	2
#define SNAP_CHUNK_RECORDS	3
#define SNAP_CHUNK_INTERESTS 4		/* users' interest sums of one signal (0.8) */

#define SNAP_HEADER_LEN		40
#define SNAP_KEYED_ANCHOR	0x01	/* already counted in the states: only recognises duplicates */

/* a chunk's header and signal, as read; pointers point into the chunk */
typedef struct SnapChunk
{
	uint8		kind;
	int64		tenant;
	uint32		count;
	/* SNAP_CHUNK_STATES and SNAP_CHUNK_KEYED */
	const char *name;
	int			name_len;
	int64		half_life_us;
	int			nwindows;
	int64		window_us[DECAY_MAX_WINDOWS];
	/* the entries (or records) */
	const char *body;
	Size		body_len;
} SnapChunk;

typedef struct SnapKeyed
{
	TidalHlc	hlc;
	uint8		flags;
	const char *key;			/* not NUL-terminated */
	int			key_len;
	int64		entity;
	double		weight;
	int64		at_us;
} SnapKeyed;

/* a cursor over a chunk's entries */
typedef struct SnapCursor
{
	const char *p;
	const char *end;
	int			nwindows;
	uint32		left;
} SnapCursor;

/* writing: begin, add count entries, finish (fills in lengths and checksums) */
extern void snapfmt_begin(StringInfo buf, uint8 kind, int64 tenant, const char *name,
						  int64 half_life_us, int nwindows, const int64 *window_us);
extern void snapfmt_add_state(StringInfo buf, int nwindows, int64 entity, const DecayState *s);
extern void snapfmt_add_keyed(StringInfo buf, const SnapKeyed *k);
extern void snapfmt_add_interest(StringInfo buf, int64 user, uint64 arm, int dims, const DecayVector *v);
extern void snapfmt_add_record(StringInfo buf, const char *raw, Size len);
extern void snapfmt_finish(StringInfo buf, uint32 count);

/*
 * The next interest sum of an interests chunk into *v (DECAY_VECTOR_SIZE(dims)
 * bytes); false at the end or with *why if malformed or of other dimensions.
 */
extern bool snapfmt_next_interest(SnapCursor *cur, int dims, int64 *user, uint64 *arm,
								  DecayVector *v, const char **why);

/* reading: false, with *why, if the chunk is malformed or fails a checksum */
extern bool snapfmt_read_chunk(const char *buf, Size len, SnapChunk *out, const char **why);
extern void snapfmt_cursor(const SnapChunk *chunk, SnapCursor *cur);
/* the next entry: true if there is one; *why set (and false) if malformed */
extern bool snapfmt_next_state(SnapCursor *cur, int64 *entity, DecayState *s, const char **why);
extern bool snapfmt_next_keyed(SnapCursor *cur, SnapKeyed *k, const char **why);

#endif							/* TIDAL_SNAPFMT_H */
