/*
 * log/append.c
 *    Owns the local writes' way into the log: the owner of a record kind
 *    (ranking/items.c, ranking/hide.c, ranking/profile.c, cluster/tenant.c,
 *    cluster/migrate.c) encodes its record, appends it here and applies the
 *    decoded record with its own handler, all in the caller's transaction.
 *
 *    May call: core/, pg/, log/.
 */
#include "postgres.h"

#include "core/codec.h"
#include "log/append.h"
#include "log/log.h"

void
log_append_record(const char *data, Size len, LogRecord *rec)
{
	Size		consumed = 0;
	const char *why = "trailing bytes";

	if (!codec_read_record(data, len, &consumed, rec, &why) || consumed != len)
		elog(ERROR, "tidal encoded a malformed record: %s", why);
	log_append(data, len);
}
