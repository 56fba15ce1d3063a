/*
 * validate.h
 *    The validation of everything tidal accepts, whether it comes from a
 *    local SQL call or from a replicated record of a peer.  Both paths call
 *    these same functions: a record a peer sends is held to exactly the
 *    rules a local caller is (see validate.c).
 */
#ifndef TIDAL_VALIDATE_H
#define TIDAL_VALIDATE_H

#include "postgres.h"

#include "utils/jsonb.h"

#include "codec.h"

/* a signal or profile name (what: "signal" or "profile"); not NUL-terminated */
extern void validate_name(const char *name, int len, const char *what);

/*
 * A signal definition: name, half-life, windows (sorted in place; they must
 * be supported and distinct) and entity kind.
 */
extern void validate_signal_definition(const char *name, int name_len, int64 half_life_us,
									   int nwindows, int64 *window_us,
									   const char *entity_kind, int entity_kind_len);

/* one signal event: a finite weight at a representable time (µs since 1970) */
extern void validate_signal_weight(double weight);
extern void validate_event_time(int64 at_us, const char *what);

/* a tenant id as a record or a caller states it: 0 (default) or above */
extern void validate_tenant_id(int64 tenant);

/* item metadata: a JSON object of bounded size */
extern void validate_item_metadata(Jsonb *metadata, Size text_len);

/* a profile spec: bounded size, and it compiles against today's signals */
extern void validate_profile_spec(Jsonb *spec, Size text_len);

/*
 * A decoded record of another origin, before anything of it is applied:
 * every field that a local write would have had checked is checked here.
 * Errors (with the reason) on the first invalid field.
 */
extern void validate_record(const LogRecord *rec);

/*
 * A replicated profile definition's terms, compiled against the signals
 * defined here -- including those defined earlier in its own batch, so it
 * runs when the record is applied, not with validate_record.
 */
extern void validate_profile_record(const LogRecord *rec);

/*
 * The same checks on what is already stored (a log or a table written by an
 * older version): false, with *message saying why, instead of an error.
 */
extern bool validate_record_ok(const LogRecord *rec, char **message);
extern bool validate_signal_definition_ok(const char *name, int64 half_life_us, int nwindows,
										  int64 *window_us, char **message);

#endif							/* TIDAL_VALIDATE_H */
