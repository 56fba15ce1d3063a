/*
 * ranking/hide.c
 *    Owns hard negatives: tidal.hide_item, unhide_item, block_creator,
 *    unblock_creator and is_hidden (each of one tenant), the apply of hide
 *    records (kind 4), local or replicated, and loading a user's hidden
 *    set, sorted, for tidal.retrieve.
 *
 * Per (user, item) and per (user, creator), tidal.hides keeps the greatest
 * hide HLC and the greatest unhide HLC it has seen.  The target is hidden
 * while no unhide is strictly later than the latest hide, so an old unhide
 * arriving late never brings an item back, whatever the arrival order.
 *
 * May call: core/, pg/, log/, state/, cluster/, ranking/.
 */
#include "postgres.h"

#include "cluster/election.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/builtins.h"

#include "cluster/access.h"
#include "cluster/session.h"
#include "cluster/tenant.h"
#include "core/codec.h"
#include "core/hlc.h"
#include "log/append.h"
#include "pg/owner.h"
#include "pg/query.h"
#include "pg/settings.h"
#include "ranking/hide.h"
#include "state/clock.h"
#include "state/recovery.h"

PG_FUNCTION_INFO_V1(tidal_hide_item);
PG_FUNCTION_INFO_V1(tidal_unhide_item);
PG_FUNCTION_INFO_V1(tidal_block_creator);
PG_FUNCTION_INFO_V1(tidal_unblock_creator);
PG_FUNCTION_INFO_V1(tidal_is_hidden);

/* the condition, over tidal.hides, that a row hides its target */
#define HIDDEN_SQL \
	"hidden_at IS NOT NULL AND (unhidden_at IS NULL OR tidal.hlc_cmp(unhidden_at, hidden_at) OPERATOR(pg_catalog.<=) 0)"

void
hide_apply_record(const LogRecord *rec)
{
	static OwnedQuery q = {
		"INSERT INTO tidal.hides AS h (tenant, user_id, target_kind, target, hidden_at, unhidden_at) "
		"SELECT $1, $2, $3, $4, CASE WHEN $5 THEN t END, CASE WHEN NOT $5 THEN t END "
		"  FROM tidal.hlc($6, $7, $8) AS t "
		"ON CONFLICT (tenant, user_id, target_kind, target) DO UPDATE SET "
		"hidden_at = GREATEST(h.hidden_at, excluded.hidden_at), "
		"unhidden_at = GREATEST(h.unhidden_at, excluded.unhidden_at)",
		8, {INT8OID, INT8OID, CHAROID, INT8OID, BOOLOID, INT8OID, INT4OID, INT4OID}, NULL
	};
	Datum		args[8];

	Assert(rec->kind == LOG_RECORD_HIDE);
	args[0] = Int64GetDatum(rec->tenant);
	args[1] = Int64GetDatum(rec->user_id);
	args[2] = CharGetDatum(rec->target_kind == LOG_HIDE_TARGET_ITEM ? 'i' : 'c');
	args[3] = Int64GetDatum(rec->target);
	args[4] = BoolGetDatum(rec->action == LOG_HIDE_ACTION_HIDE);
	(void) query_merge_by_hlc(&q, args, NULL, &rec->hlc);
}

/*
 * tidal.hide_item(user_id, item_id, at tidal.hlc DEFAULT NULL, tenant bigint
 * DEFAULT 0, session text DEFAULT NULL, session_seqno bigint DEFAULT NULL)
 * and friends: at is the action's HLC, NULL for now.  Returns the HLC used;
 * NULL for a session's write this node applied already (not written again).
 * One after a gap in its session is logged and held (cluster/session.h).
 */
static Datum
write_hide(FunctionCallInfo fcinfo, uint8 action, uint8 target_kind)
{
	TidalHlc   *hlc = palloc(sizeof(TidalHlc));
	StringInfoData rec;
	LogRecord	decoded;
	TenantInfo	tenant;
	LogSessionMark mark;
	int64		held = 0;

	tidal_require_preload();
	election_require_shard_leader(action == LOG_HIDE_ACTION_HIDE
								  ? (target_kind == LOG_HIDE_TARGET_ITEM ? "tidal.hide_item" : "tidal.block_creator")
								  : (target_kind == LOG_HIDE_TARGET_ITEM ? "tidal.unhide_item" : "tidal.unblock_creator"));
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("user_id must not be NULL")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL",
						target_kind == LOG_HIDE_TARGET_ITEM ? "item_id" : "creator_id")));

	session_arguments(fcinfo, 4, &mark);
	tidal_ensure_loaded();		/* the clock is then past everything logged */
	(void) tenant_argument(fcinfo, 3, &tenant);
	if (PG_ARGISNULL(2))
		*hlc = hlc_clock_now();
	else
	{
		/* an explicit time: the clock moves past it, and rejects one too far ahead */
		*hlc = *PG_GETARG_HLC_P(2);
		(void) hlc_clock_receive(hlc);
	}

	initStringInfo(&rec);
	codec_hide_record(&rec, hlc, tenant.tenant, action, target_kind, PG_GETARG_INT64(0), PG_GETARG_INT64(1),
					  &mark);
	if (mark.session != NULL)
	{
		Size		consumed;
		const char *why;

		if (!codec_read_record(rec.data, rec.len, &consumed, &decoded, &why))
			elog(ERROR, "tidal: a session write's own record does not decode: %s", why);
		switch (session_admit(&decoded, &held))
		{
			case SESSION_SEEN:
				PG_RETURN_NULL();
			case SESSION_HELD:
				log_append_record(rec.data, rec.len, &decoded);
				PG_RETURN_HLC_P(hlc);
			case SESSION_NEXT:
				break;
		}
	}
	log_append_record(rec.data, rec.len, &decoded);
	/* a tenant this region does not store is only logged: replication takes it on */
	if (tenant_stored_here(decoded.tenant))
		hide_apply_record(&decoded);
	if (mark.session != NULL)
		session_applied(&decoded, held);

	PG_RETURN_HLC_P(hlc);
}

Datum
tidal_hide_item(PG_FUNCTION_ARGS)
{
	return write_hide(fcinfo, LOG_HIDE_ACTION_HIDE, LOG_HIDE_TARGET_ITEM);
}

Datum
tidal_unhide_item(PG_FUNCTION_ARGS)
{
	return write_hide(fcinfo, LOG_HIDE_ACTION_UNHIDE, LOG_HIDE_TARGET_ITEM);
}

Datum
tidal_block_creator(PG_FUNCTION_ARGS)
{
	return write_hide(fcinfo, LOG_HIDE_ACTION_HIDE, LOG_HIDE_TARGET_CREATOR);
}

Datum
tidal_unblock_creator(PG_FUNCTION_ARGS)
{
	return write_hide(fcinfo, LOG_HIDE_ACTION_UNHIDE, LOG_HIDE_TARGET_CREATOR);
}

/*
 * tidal.is_hidden(user_id bigint, item_id bigint, tenant bigint DEFAULT 0)
 * RETURNS boolean: whether tidal.retrieve would drop the tenant's item for
 * the user (hidden, or its creator blocked).  STRICT.
 */
Datum
tidal_is_hidden(PG_FUNCTION_ARGS)
{
	static OwnedQuery q = {
		"SELECT EXISTS (SELECT 1 FROM tidal.hides "
		" WHERE tenant = $1 AND user_id = $2 AND " HIDDEN_SQL
		"   AND ((target_kind = 'i' AND target = $3) OR "
		"        (target_kind = 'c' AND target = (SELECT creator FROM tidal.item_data "
		"                                         WHERE tenant = $1 AND item = $3))))",
		3, {INT8OID, INT8OID, INT8OID}, NULL
	};
	Datum		args[3];
	bool		isnull;
	bool		hidden;
	TenantInfo	tenant;
	TidalSavedUser saved;

	tidal_ensure_loaded();
	args[0] = Int64GetDatum(tenant_argument(fcinfo, 2, &tenant));
	args[1] = PG_GETARG_DATUM(0);
	args[2] = PG_GETARG_DATUM(1);
	query_begin(&saved);
	query_exec(&q, args, NULL, true, SPI_OK_SELECT);
	hidden = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	query_end(&saved);
	PG_RETURN_BOOL(hidden);
}

bool
hide_contains(const int64 *sorted, int n, int64 id)
{
	int			lo = 0;
	int			hi = n - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (sorted[mid] == id)
			return true;
		if (sorted[mid] < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return false;
}

/*
 * Sort ids ascending: an LSD radix sort, a byte a pass, skipping the bytes
 * in which all the ids agree (ids below 2^16 take two passes).  Linear, and
 * about ten times quicker than a comparison sort for the 10,000 candidates
 * of a typical tidal.retrieve.
 */
void
hide_sort_ids(int64 *ids, int n)
{
	uint64	   *a = (uint64 *) ids;
	uint64	   *tmp;
	uint64	   *src;
	uint64	   *dst;
	uint64		diff = 0;
	int			shift;
	int			i;

	if (n < 2)
		return;
	if (n <= 16)
	{
		/* insertion sort */
		for (i = 1; i < n; i++)
		{
			int64		v = ids[i];
			int			j = i;

			while (j > 0 && ids[j - 1] > v)
			{
				ids[j] = ids[j - 1];
				j--;
			}
			ids[j] = v;
		}
		return;
	}
	for (i = 1; i < n; i++)
		diff |= a[i] ^ a[0];
	if (diff == 0)
		return;

	tmp = palloc(sizeof(uint64) * n);
	src = a;
	dst = tmp;
	for (shift = 0; shift < 64; shift += 8)
	{
		int			count[257];
		/* the top byte holds the sign: flip it so that negative ids come first */
		uint64		flip = (shift == 56) ? UINT64CONST(0x80) : 0;
		uint64	   *t;

		if (((diff >> shift) & 0xFF) == 0)
			continue;
		memset(count, 0, sizeof(count));
		for (i = 0; i < n; i++)
			count[(((src[i] >> shift) & 0xFF) ^ flip) + 1]++;
		for (i = 0; i < 256; i++)
			count[i + 1] += count[i];
		for (i = 0; i < n; i++)
			dst[count[((src[i] >> shift) & 0xFF) ^ flip]++] = src[i];
		t = src;
		src = dst;
		dst = t;
	}
	if (src != a)
		memcpy(a, src, sizeof(uint64) * n);
	pfree(tmp);
}

/*
 * Load what the user hides into *set.  One indexed query, unordered (a sort
 * in the executor costs more than the radix sort here).  The arrays are
 * allocated in the caller's memory context.
 */
void
hide_load(int64 tenant, int64 user_id, HiddenSet *set)
{
	static OwnedQuery q = {
		"SELECT target_kind = 'i', target FROM tidal.hides "
		" WHERE tenant = $1 AND user_id = $2 AND " HIDDEN_SQL,
		2, {INT8OID, INT8OID}, NULL
	};
	Datum		args[2];
	uint64		i;
	TidalSavedUser saved;

	memset(set, 0, sizeof(*set));
	args[0] = Int64GetDatum(tenant);
	args[1] = Int64GetDatum(user_id);
	query_begin(&saved);
	query_exec(&q, args, NULL, true, SPI_OK_SELECT);
	if (SPI_processed > 0)
	{
		/* items from the front, creators from the back, of one array */
		int64	   *ids = SPI_palloc(sizeof(int64) * SPI_processed);
		int			ncreators = 0;

		for (i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			bool		isnull;
			bool		is_item = DatumGetBool(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
			int64		target = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull));

			if (is_item)
				ids[set->nitems++] = target;
			else
				ids[SPI_processed - ++ncreators] = target;
		}
		set->items = ids;
		set->creators = ids + set->nitems;
		set->ncreators = ncreators;
	}
	query_end(&saved);
	/* each (user, kind, target) is one row: the ids are distinct */
	hide_sort_ids(set->items, set->nitems);
	hide_sort_ids(set->creators, set->ncreators);
}
