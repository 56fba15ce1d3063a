/*
 * signals/signal.c
 *    Owns signal events: the SQL functions that write them and read decayed
 *    scores (tidal.signal, tidal.signal_batch, tidal.decay_score,
 *    tidal.window_count and tidal.velocity), and the apply of signal records
 *    (kind 1) of other origins.
 *
 * A write validates, stamps the node's HLC, appends one record to tidal's
 * log and stages it; the hot state changes when the transaction commits.
 * A read is one hash lookup plus this transaction's own staged events.  A
 * replicated record is staged the same way, once its definition is known
 * here and its idempotency key (if any) is claimed.
 *
 * May call: core/, pg/, log/, state/, replication/, cluster/, signals/.
 */
#include "postgres.h"

#include <math.h>

#include "cluster/election.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "cluster/access.h"
#include "cluster/reshard.h"
#include "cluster/route.h"
#include "cluster/session.h"
#include "cluster/tenant.h"
#include "core/codec.h"
#include "core/hlc.h"
#include "log/log.h"
#include "pg/settings.h"
#include "pg/validate.h"
#include "replication/visible.h"
#include "signals/signal.h"
#include "state/catalog.h"
#include "state/clock.h"
#include "state/facts.h"
#include "state/idempotency.h"
#include "state/ownership.h"
#include "state/recovery.h"
#include "state/stage.h"

PG_FUNCTION_INFO_V1(tidal_signal);
PG_FUNCTION_INFO_V1(tidal_signal_batch);
PG_FUNCTION_INFO_V1(tidal_decay_score);
PG_FUNCTION_INFO_V1(tidal_window_count);
PG_FUNCTION_INFO_V1(tidal_velocity);
PG_FUNCTION_INFO_V1(tidal_read_owned);
PG_FUNCTION_INFO_V1(tidal_await_write_owned);

/* events in one tidal.signal_batch call */
#define MAX_BATCH_EVENTS	1000000

static void
require_arg(FunctionCallInfo fcinfo, int n, const char *what)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", what)));
}

/* a keyed write's key, the event it stands for, and whether its key was claimed before it was logged */
typedef struct KeyedWrite
{
	const char *key;
	IdemEvent	ev;
	bool		claimed;
	IdemEvent	first;			/* set when write_record finds the key another write's */
} KeyedWrite;

/*
 * Write one encoded record to the log and stage it for commit.  A tenant
 * this region does not store is only logged: replication takes the record
 * to the regions that store it.  So is a record of entities another shard
 * of this region owns (owned false): that shard pulls it from this node's
 * log, exactly once, like a region peer's batches.
 *
 * Where the tenant is stored is looked up again once the record is in the
 * log: a move of the tenant into or out of this region (tenant_refresh)
 * waits for the transactions writing to the log, and they for it, so either
 * the move has committed and this lookup sees it, or the move comes after
 * this transaction and carries its record along.  The caller's earlier
 * lookup may predate a move and must not decide -- also not whether a keyed
 * write claims its key: one whose tenant moved in meanwhile claims it now,
 * and is not counted if the move brought the write that counts (false; the
 * record stays in the log, where every replay finds the same winner).
 */
static bool
write_record(StringInfo rec, const SignalDef *def, int64 tenant, bool owned, int32 owner_shard,
			 KeyedWrite *kw)
{
	int32		signal_id = def->id;
	DecaySpec	spec = def->spec;
	TenantInfo	placement;

	log_append(rec->data, rec->len);
	tenant_require(tenant, &placement);
	if (placement.stored_here && owned)
	{
		if (kw != NULL && !kw->claimed && idem_claim_local(kw->key, &kw->ev, &kw->first) == IDEM_DUPLICATE)
			return false;
		stage_signal_record(rec->data, rec->len, signal_id, &spec, true);
	}
	else if (owner_shard >= 0)
		route_note_forwarded(owner_shard);	/* the session's next read there waits for it */
	return true;
}

/*
 * A user's event on an item whose arm is known here also adds to the
 * user's interest in that arm (state/interest.h): the record carries what
 * it adds, as this node's committed facts of the item say now -- the arm,
 * and for a signal with a polarity the item's embedding -- so that every
 * node adds the same, whatever it knows of the item when it applies it.
 * Only unkeyed writes carry it: a keyed write (a key, a session) is
 * decided after a rebuild's scan (state/idempotency.c), which counts its
 * event alone.
 */
static void
add_interest(StringInfo rec, const SignalDef *def, int64 tenant, int64 entity)
{
	LogInterest interest;
	int8	   *q = tidal_embedding_dimensions > 0 ? palloc(tidal_embedding_dimensions) : NULL;
	bool		has_vector = facts_item_vector(tenant, entity, &interest.arm, q);

	if (interest.arm == 0)
		return;
	interest.dims = has_vector && def->polarity != 0 ? tidal_embedding_dimensions : 0;
	interest.vector = q;
	codec_add_signal_interest(rec, 0, &interest);
}

/*
 * The shard of this region whose log copy counts the entity's events: the
 * map's owner for the default tenant, the tenant's own shard for a
 * registered one (-1: no shard of this region holds it).
 */
static int32
entity_shard(const TenantInfo *tenant, int64 entity)
{
	if (tenant->tenant == 0)
		return ownership_shard_of(entity);
	return tenant->stored_here ? tidal_shard_id : tenant->region_shard;
}

/*
 * tidal.signal(name text, entity bigint, weight float8 DEFAULT 1,
 *              at timestamptz DEFAULT now(), user_id bigint DEFAULT NULL,
 *              idempotency_key text DEFAULT NULL, tenant bigint DEFAULT 0,
 *              session text DEFAULT NULL, session_seqno bigint DEFAULT NULL)
 *    RETURNS tidal.hlc
 *
 * With a key that a write already used (here or in any region, within
 * tidal.idempotency_window), nothing is written and the HLC of the write
 * that counts is returned.  A session's write (cluster/session.h) is keyed
 * by its session and seqno; one this node applied already is not written
 * again (the HLC of the write that counts, or NULL once its key is
 * forgotten), and one after a gap is logged and held.
 */
Datum
tidal_signal(PG_FUNCTION_ARGS)
{
	char	   *name;
	int64		entity;
	double		weight;
	int64		at_us;
	bool		with_user = !PG_ARGISNULL(4);
	char	   *key = NULL;
	TenantInfo	tenant;
	const SignalDef *def;
	TidalHlc   *hlc;
	StringInfoData rec;
	int32		shard;
	int32		routed;
	bool		owned;
	LogSessionMark mark;
	KeyedWrite	kw;

	election_require_shard_leader("tidal.signal");
	require_arg(fcinfo, 0, "signal name");
	require_arg(fcinfo, 1, "entity");
	require_arg(fcinfo, 2, "weight");
	require_arg(fcinfo, 3, "event time");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	entity = PG_GETARG_INT64(1);
	weight = PG_GETARG_FLOAT8(2);
	signal_check_weight(weight);
	at_us = signal_time_usecs(PG_GETARG_TIMESTAMPTZ(3), "event time");
	if (PG_NARGS() > 5 && !PG_ARGISNULL(5))
	{
		key = text_to_cstring(PG_GETARG_TEXT_PP(5));
		idem_check_key(key);
	}
	session_arguments(fcinfo, 7, &mark);
	if (mark.session != NULL)
	{
		if (key != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a session's write takes no idempotency_key"),
					 errdetail("Its session and session_seqno are its key: a retry with them counts once.")));
		key = codec_session_key(mark.session, (int) strlen(mark.session), mark.seqno);
	}

	tidal_ensure_loaded();
	def = catalog_signal(name, false);
	(void) tenant_argument(fcinfo, 6, &tenant);

	hlc = palloc(sizeof(TidalHlc));
	*hlc = hlc_clock_now();

	ownership_lock_for_events();	/* no cut of a moved range while this write is routed and counted */
	kw.key = key;
	kw.ev = (IdemEvent) {*hlc, def->name, entity, weight, at_us, tenant.tenant};
	kw.claimed = false;
	shard = entity_shard(&tenant, entity);
	owned = tenant.tenant != 0 || shard == tidal_shard_id;
	routed = tenant.tenant == 0 && ownership_map()->count > 1 ? shard : -1;

	initStringInfo(&rec);
	if (mark.session != NULL)
	{
		LogRecord	decoded;
		Size		consumed;
		const char *why;
		int64		held;

		codec_begin_session_signal_record(&rec, hlc, tenant.tenant, def->name, routed, with_user, &mark);
		codec_add_signal_event(&rec, with_user, entity, weight, at_us, with_user ? PG_GETARG_INT64(4) : 0);
		if (!codec_read_record(rec.data, rec.len, &consumed, &decoded, &why))
			elog(ERROR, "tidal: a session write's own record does not decode: %s", why);
		switch (session_admit(&decoded, &held))
		{
			case SESSION_SEEN:
				{
					IdemEvent	first;

					if (!idem_find(tenant.tenant, key, &first))
						PG_RETURN_NULL();
					*hlc = first.hlc;
					PG_RETURN_HLC_P(hlc);
				}
			case SESSION_HELD:
				/* logged for the other nodes, applied here once the gap before it fills */
				tenant_admit_events(&tenant, 1);
				log_append(rec.data, rec.len);
				PG_RETURN_HLC_P(hlc);
			case SESSION_NEXT:
				break;
		}
		/*
		 * The key of the mark's next seqno can be taken already only by a
		 * session of the same name that expired here (tidal.session_ttl)
		 * within tidal.idempotency_window: that write counts.
		 */
		if (tenant.stored_here && owned)
		{
			kw.claimed = true;
			if (idem_claim_local(key, &kw.ev, &kw.first) == IDEM_DUPLICATE)
			{
				session_applied(&decoded, held);
				*hlc = kw.first.hlc;
				PG_RETURN_HLC_P(hlc);
			}
		}
		tenant_admit_events(&tenant, 1);
		if (!write_record(&rec, def, tenant.tenant, owned, shard == tidal_shard_id ? -1 : shard, &kw))
			*hlc = kw.first.hlc;
		session_applied(&decoded, held);
		PG_RETURN_HLC_P(hlc);
	}

	if (key != NULL && tenant.stored_here && owned)
	{
		kw.claimed = true;
		if (idem_claim_local(key, &kw.ev, &kw.first) == IDEM_DUPLICATE)
		{
			*hlc = kw.first.hlc;
			PG_RETURN_HLC_P(hlc);
		}
	}
	tenant_admit_events(&tenant, 1);

	codec_begin_signal_record(&rec, hlc, tenant.tenant, def->name, key, routed, with_user, 1);
	codec_add_signal_event(&rec, with_user, entity, weight, at_us,
						   with_user ? PG_GETARG_INT64(4) : 0);
	if (with_user && key == NULL)
		add_interest(&rec, def, tenant.tenant, entity);
	if (!write_record(&rec, def, tenant.tenant, owned, shard == tidal_shard_id ? -1 : shard,
					  key != NULL ? &kw : NULL))
		*hlc = kw.first.hlc;	/* the tenant moved in with the write that counts */

	PG_RETURN_HLC_P(hlc);
}

/* a one-dimensional array without NULLs, of at most MAX_BATCH_EVENTS elements */
static int
checked_array_length(ArrayType *arr, const char *what)
{
	int			n = validate_array_1d(arr, what);

	if (n > MAX_BATCH_EVENTS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s has %d elements, more than the %d one call accepts",
						what, n, MAX_BATCH_EVENTS),
				 errhint("Split the events into several calls.")));
	return n;
}

/*
 * tidal.signal_batch(name text, entities bigint[], weights float8[] DEFAULT NULL,
 *                    ats timestamptz[] DEFAULT NULL, tenant bigint DEFAULT 0)
 *    RETURNS bigint
 *
 * NULL weights mean 1 for every event, NULL ats mean now().
 */
Datum
tidal_signal_batch(PG_FUNCTION_ARGS)
{
	char	   *name;
	ArrayType  *entities;
	ArrayType  *weights = NULL;
	ArrayType  *ats = NULL;
	int			n;
	const int64 *entity_v;
	const double *weight_v = NULL;
	const TimestampTz *at_v = NULL;
	int64		now_us = 0;
	const SignalDef *def;
	TenantInfo	tenant;
	TidalHlc	hlc;
	StringInfoData rec;
	const ShardMap *map;
	int32	   *shard_of;
	int32	   *count_of;
	int32		s;
	int			i;

	election_require_shard_leader("tidal.signal_batch");
	require_arg(fcinfo, 0, "signal name");
	require_arg(fcinfo, 1, "entities");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	entities = PG_GETARG_ARRAYTYPE_P(1);
	n = checked_array_length(entities, "entities");
	entity_v = (const int64 *) validate_array_values(entities);

	if (!PG_ARGISNULL(2))
	{
		weights = PG_GETARG_ARRAYTYPE_P(2);
		if (checked_array_length(weights, "weights") != n)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("weights has %d elements but entities has %d",
							ArrayGetNItems(ARR_NDIM(weights), ARR_DIMS(weights)), n)));
		weight_v = (const double *) validate_array_values(weights);
		for (i = 0; i < n; i++)
			signal_check_weight(weight_v[i]);
	}
	if (!PG_ARGISNULL(3))
	{
		ats = PG_GETARG_ARRAYTYPE_P(3);
		if (checked_array_length(ats, "ats") != n)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("ats has %d elements but entities has %d",
							ArrayGetNItems(ARR_NDIM(ats), ARR_DIMS(ats)), n)));
		at_v = (const TimestampTz *) validate_array_values(ats);
		for (i = 0; i < n; i++)
			(void) signal_time_usecs(at_v[i], "event time");
	}
	else
		now_us = signal_time_usecs(GetCurrentTransactionStartTimestamp(), "event time");

	tidal_ensure_loaded();
	def = catalog_signal(name, false);
	(void) tenant_argument(fcinfo, 4, &tenant);
	if (n == 0)
		PG_RETURN_INT64(0);
	tenant_admit_events(&tenant, n);

	hlc = hlc_clock_now();
	ownership_lock_for_events();	/* no cut of a moved range while these writes are routed and counted */
	map = ownership_map();
	if (tenant.tenant != 0 || map->count == 1)
	{
		/* one record: a registered tenant lives on one shard, and one shard owns everything */
		initStringInfo(&rec);
		codec_begin_signal_record(&rec, &hlc, tenant.tenant, def->name, NULL, -1, false, (uint32) n);
		for (i = 0; i < n; i++)
			codec_add_signal_event(&rec, false, entity_v[i],
								   weight_v ? weight_v[i] : 1.0,
								   at_v ? at_v[i] + TIDAL_UNIX_EPOCH_OFFSET_US : now_us,
								   0);
		(void) write_record(&rec, def, tenant.tenant, tenant.tenant != 0 || tidal_shard_id == 0,
					 tenant.tenant == 0 ? 0 : (tenant.stored_here ? -1 : tenant.region_shard), NULL);
		PG_RETURN_INT64(n);
	}

	/* one record per shard that owns some of the entities, so that each reaches its owner alone */
	shard_of = palloc(sizeof(int32) * n);
	count_of = palloc0(sizeof(int32) * map->count);
	for (i = 0; i < n; i++)
	{
		shard_of[i] = shardmap_owner(map, entity_v[i]);
		count_of[shard_of[i]]++;
	}
	for (s = 0; s < map->count; s++)
	{
		if (count_of[s] == 0)
			continue;
		initStringInfo(&rec);
		codec_begin_signal_record(&rec, &hlc, 0, def->name, NULL, s, false, (uint32) count_of[s]);
		for (i = 0; i < n; i++)
			if (shard_of[i] == s)
				codec_add_signal_event(&rec, false, entity_v[i],
									   weight_v ? weight_v[i] : 1.0,
									   at_v ? at_v[i] + TIDAL_UNIX_EPOCH_OFFSET_US : now_us,
									   0);
		(void) write_record(&rec, def, 0, s == tidal_shard_id, s, NULL);
		pfree(rec.data);
	}
	PG_RETURN_INT64(n);
}

/* ---- records of other origins ---- */

/*
 * Take back a keyed write that counted until an earlier write of the same key
 * arrived: stage its negation (never logged; replay picks the winner itself).
 */
static void
unstage_counted(const IdemEvent *old)
{
	const SignalDef *def = catalog_signal(old->signal, false);
	StringInfoData buf;

	initStringInfo(&buf);
	codec_begin_signal_record(&buf, &old->hlc, old->tenant, def->name, NULL, -1, false, 1);
	codec_add_signal_event(&buf, false, old->entity, -old->weight, old->at_us, 0);
	stage_signal_record(buf.data, buf.len, def->id, &def->spec, false);
}

const SignalDef *
signal_require_defined(const LogRecord *rec)
{
	const SignalDef *def = catalog_signal_n(rec->name, rec->name_len, true);

	if (def == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("signal \"%.*s\" is not defined here yet", rec->name_len, rec->name),
				 errdetail("The batch is applied once its definition has arrived.")));
	return def;
}

void
signal_apply_replicated(const LogRecord *whole)
{
	const SignalDef *def;
	StringInfoData buf;
	LogRecord	part;
	const LogRecord *rec = &part;

	Assert(whole->kind == LOG_RECORD_SIGNAL);

	/* events of a range this shard handed over go on to the range's new shard */
	ownership_lock_for_events();
	reshard_hand_on(whole);

	/* only the events of entities this shard owns (a record of tenant 0 may hold others) */
	initStringInfo(&buf);
	if (!ownership_owned_part(whole, &buf, &part))
		return;
	def = signal_require_defined(rec);
	if (rec->key != NULL)
	{
		IdemEvent	old;

		switch (idem_claim_remote(rec, &old))
		{
			case IDEM_DUPLICATE:
				return;
			case IDEM_REPLACES:
				unstage_counted(&old);
				break;
			case IDEM_NEW:
				break;
		}
	}
	stage_signal_record(rec->raw, rec->raw_len, def->id, &def->spec, false);
}

/* ---- reads ---- */

/* what a read computes from an entity's state */
typedef enum SignalRead
{
	READ_SCORE,					/* the decayed score */
	READ_WINDOW					/* the sum over a window */
} SignalRead;

/* the read, on this node's state and this transaction's own staged events */
static double
read_here(SignalRead what, int64 tenant, int64 entity, const SignalDef *def, int64 window_us, int64 at_us)
{
	StateKey	key;
	DecayState	st;

	state_key_init(&key, MyDatabaseId, def->id, tenant, entity);
	state_read(&key, &st);
	stage_overlay(&key, &def->spec, &st);
	if (what == READ_SCORE)
		return tidal_check_score(decay_score(&st, &def->spec, at_us), at_us, "the decayed score");
	return tidal_check_score(decay_window_sum(&st, &def->spec, catalog_window_index(def, window_us), at_us),
							 at_us, "the window sum");
}

/*
 * The read, answered by the shard that owns the entity: here, or on a shard
 * sibling of this region (tidal._read_owned there, see cluster/route.c),
 * after it has applied this session's writes for it.
 */
static double
read_owned(SignalRead what, const TenantInfo *t, int64 entity, const SignalDef *def, int64 window_us,
		   int64 at_us, const TidalHlc *after)
{
	int64		tenant = t->tenant;
	int32		owner;
	const char *params[7];
	char	   *answer;

	/* the default tenant's entity's shard; a registered tenant's shard in this region (none: read here, 0) */
	if (tenant == 0)
		owner = ownership_shard_of(entity);
	else
		owner = (t->registered && !t->stored_here && t->region_shard >= 0) ? t->region_shard : tidal_shard_id;
	if (owner == tidal_shard_id)
	{
		if (after != NULL)
			(void) visible_await_write(after, tidal_read_after_timeout_ms);
		if (tenant == 0)
			reshard_await_handoff(false, entity);	/* a range moving here: once its entries are here */
		return read_here(what, tenant, entity, def, window_us, at_us);
	}
	if (after != NULL)
		route_await_write(owner, after);

	params[0] = what == READ_SCORE ? "score" : "window";
	params[1] = psprintf(INT64_FORMAT, entity);
	params[2] = def->name;
	params[3] = psprintf(INT64_FORMAT, window_us);
	params[4] = psprintf(INT64_FORMAT, at_us);
	params[5] = psprintf(INT64_FORMAT, tenant);
	params[6] = psprintf(INT64_FORMAT, ownership_map()->version);
	answer = route_call(owner, psprintf("reading entity " INT64_FORMAT, entity),
						"SELECT tidal._read_owned($1, $2::pg_catalog.int8, $3, $4::pg_catalog.int8, "
						"$5::pg_catalog.int8, $6::pg_catalog.int8, $8::pg_catalog.int4, $9::pg_catalog.int4, "
						"$10::pg_catalog.int8, $7::pg_catalog.int8)",
						7, params);
	return DatumGetFloat8(DirectFunctionCall1(float8in, CStringGetDatum(answer)));
}

/*
 * tidal._read_owned(what text, entity bigint, name text, window_us bigint,
 *                   at_us bigint, tenant bigint, after_region int,
 *                   after_shard int, after_seq bigint) RETURNS float8
 *
 * A shard sibling's read of an entity this shard owns (read_owned there):
 * once this node has applied the caller's log up to after_seq, the read
 * here.  Refused for an entity this shard does not own: the two nodes'
 * maps differ, and answering would be wrong (or loop).
 */
Datum
tidal_read_owned(PG_FUNCTION_ARGS)
{
	char	   *what;
	int64		entity;
	const SignalDef *def;
	int64		window_us;
	int64		at_us;
	int64		tenant;
	int			i;

	for (i = 0; i < 10; i++)
		require_arg(fcinfo, i, "every argument of tidal._read_owned");
	what = text_to_cstring(PG_GETARG_TEXT_PP(0));
	entity = PG_GETARG_INT64(1);
	window_us = PG_GETARG_INT64(3);
	at_us = PG_GETARG_INT64(4);
	tenant = PG_GETARG_INT64(5);
	if (strcmp(what, "score") != 0 && strcmp(what, "window") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("tidal._read_owned reads a score or a window")));
	tidal_check_time_us(at_us, "at");
	tidal_ensure_loaded();
	def = catalog_signal(text_to_cstring(PG_GETARG_TEXT_PP(2)), false);
	/*
	 * A registered tenant is answered from what this node holds, as a
	 * region that does not store it answers (0): the caller's registry may
	 * be a moment ahead or behind ours while the tenant moves.
	 */
	if (tenant == 0)
	{
		int64		caller_version = PG_GETARG_INT64(9);

		/* a caller ahead of us routes by a map we are about to apply: wait for it */
		reshard_await_map_version(caller_version, Max(tidal_peer_timeout_ms / 2, 1));
		if (!ownership_owns(entity))
		{
			TenantInfo	zero;

			/* the caller is behind: a range moved since its map; its owner now answers, once */
			if (ownership_map()->version > caller_version)
			{
				memset(&zero, 0, sizeof(zero));
				PG_RETURN_FLOAT8(read_owned(strcmp(what, "score") == 0 ? READ_SCORE : READ_WINDOW,
											&zero, entity, def, window_us, at_us, NULL));
			}
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("entity " INT64_FORMAT " is owned by shard %d, not by this node's shard %d",
							entity, ownership_shard_of(entity), tidal_shard_id),
					 errhint("The two nodes route by different shard maps; tidal.shards shows each one's version.")));
		}
	}
	route_await_applied(PG_GETARG_INT32(6), PG_GETARG_INT32(7), PG_GETARG_INT64(8),
						Max(tidal_peer_timeout_ms / 2, 1));
	if (tenant == 0)
		reshard_await_handoff(false, entity);	/* a range moving here: once its entries are here */
	PG_RETURN_FLOAT8(read_here(strcmp(what, "score") == 0 ? READ_SCORE : READ_WINDOW,
							   tenant, entity, def, window_us, at_us));
}

/*
 * tidal._await_write(write tidal.hlc, timeout_ms int, after_region int,
 *                    after_shard int, after_seq bigint) RETURNS bigint
 *
 * A shard sibling's read with `after =>` of an entity this shard owns
 * (await_write_on there): once this node has applied the caller's log up to
 * after_seq, wait until the write is visible here; how long, in ms.
 */
Datum
tidal_await_write_owned(PG_FUNCTION_ARGS)
{
	int			timeout_ms;
	int			i;

	for (i = 0; i < 5; i++)
		require_arg(fcinfo, i, "every argument of tidal._await_write");
	timeout_ms = PG_GETARG_INT32(1);
	if (timeout_ms < 0 || timeout_ms > 3600 * 1000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("tidal._await_write: timeout %d ms is out of range", timeout_ms)));
	route_await_applied(PG_GETARG_INT32(2), PG_GETARG_INT32(3), PG_GETARG_INT64(4),
						Max(tidal_peer_timeout_ms / 2, 1));
	PG_RETURN_INT64(visible_await_write(PG_GETARG_HLC_P(0), timeout_ms));
}

/*
 * The arguments a read needs (entity, name, ..., at, and tenant when the
 * call has one): NULL in any of them answers NULL, as the STRICT reads did
 * before they took `after` (which may be NULL).
 */
static bool
read_args_null(FunctionCallInfo fcinfo, int nargs)
{
	int			i;

	for (i = 0; i < nargs && i < PG_NARGS(); i++)
		if (PG_ARGISNULL(i))
			return true;
	return false;
}

/*
 * tidal.decay_score(entity bigint, name text, at timestamptz DEFAULT now(),
 *                   tenant bigint DEFAULT 0, after tidal.hlc DEFAULT NULL)
 *
 * In a region that does not store the tenant, the score is 0: tidal.tenants
 * says where to read it (home_region).  An entity of the default tenant that
 * another shard of this region owns is read there.  after: a write's HLC,
 * which the answer includes (visible_await_write).
 */
Datum
tidal_decay_score(PG_FUNCTION_ARGS)
{
	int64		entity;
	char	   *name;
	int64		at_us;
	const SignalDef *def;
	TenantInfo	tenant;

	if (read_args_null(fcinfo, 4))
		PG_RETURN_NULL();
	entity = PG_GETARG_INT64(0);
	name = text_to_cstring(PG_GETARG_TEXT_PP(1));
	at_us = signal_time_usecs(PG_GETARG_TIMESTAMPTZ(2), "at");
	tidal_ensure_loaded();
	def = catalog_signal(name, false);
	(void) tenant_argument(fcinfo, 3, &tenant);
	PG_RETURN_FLOAT8(read_owned(READ_SCORE, &tenant, entity, def, 0, at_us,
								visible_after_argument(fcinfo, 4)));
}

/* window_count and velocity: the tenant and after arguments are where the call has them */
static double
window_sum(FunctionCallInfo fcinfo, int tenant_argno, int after_argno, double *hours)
{
	int64		entity = PG_GETARG_INT64(0);
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(1));
	int64		window_us = catalog_interval_usecs(PG_GETARG_INTERVAL_P(2), "the window");
	int64		at_us = signal_time_usecs(PG_GETARG_TIMESTAMPTZ(3), "at");
	const SignalDef *def;
	TenantInfo	tenant;

	tidal_ensure_loaded();
	def = catalog_signal(name, false);
	(void) catalog_window_index(def, window_us);	/* a window the signal does not keep: refused here */
	*hours = (double) window_us / (double) DECAY_USECS_PER_HOUR;
	(void) tenant_argument(fcinfo, tenant_argno, &tenant);
	return read_owned(READ_WINDOW, &tenant, entity, def, window_us, at_us,
					  visible_after_argument(fcinfo, after_argno));
}

/*
 * tidal.window_count(entity bigint, name text, win interval,
 *                    at timestamptz DEFAULT now(), tenant bigint DEFAULT 0,
 *                    after tidal.hlc DEFAULT NULL)
 */
Datum
tidal_window_count(PG_FUNCTION_ARGS)
{
	double		hours;

	if (read_args_null(fcinfo, 5))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(window_sum(fcinfo, 4, 5, &hours));
}

/*
 * tidal.velocity(entity bigint, name text, win interval, at timestamptz DEFAULT now(),
 *                after tidal.hlc DEFAULT NULL): the default tenant's
 */
Datum
tidal_velocity(PG_FUNCTION_ARGS)
{
	double		hours;
	double		sum;

	if (read_args_null(fcinfo, 4))
		PG_RETURN_NULL();
	sum = window_sum(fcinfo, PG_NARGS(), 4, &hours);

	PG_RETURN_FLOAT8(sum / hours);
}
