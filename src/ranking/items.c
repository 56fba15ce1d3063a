/*
 * ranking/items.c
 *    Owns items: tidal.upsert_item, and the apply of item records (kind 3),
 *    local or replicated.  An item's creator, metadata and creation time are
 *    kept with its embedding (0.8) as one last-writer-wins register (by
 *    HLC) in tidal.item_data,
 *    and copied into shared memory at commit for tidal.retrieve
 *    (state/facts.c).
 *
 *    May call: core/, pg/, log/, state/, cluster/.
 */
#include "postgres.h"

#include "cluster/election.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "cluster/access.h"
#include "cluster/tenant.h"
#include "core/codec.h"
#include "core/hlc.h"
#include "log/append.h"
#include "pg/query.h"
#include "pg/settings.h"
#include "pg/validate.h"
#include "ranking/items.h"
#include "state/clock.h"
#include "state/facts.h"
#include "state/recovery.h"

PG_FUNCTION_INFO_V1(tidal_upsert_item);

/*
 * Merge into the table and, if it took the write (the newest HLC), stage it
 * for the facts in shared memory (state/facts.c); local: tidal.upsert_item,
 * which fails when those are full, where a replicated item is taken.
 */
static void
apply_item(const LogRecord *rec, bool local)
{
	static OwnedQuery q = {
		"INSERT INTO tidal.item_data AS i (tenant, item, creator, metadata, created_at, embedding, updated_at) "
		"VALUES ($1, $2, $3, $4::pg_catalog.jsonb, $5, $6, tidal.hlc($7, $8, $9)) "
		"ON CONFLICT (tenant, item) DO UPDATE SET creator = excluded.creator, "
		"metadata = excluded.metadata, created_at = excluded.created_at, "
		"embedding = excluded.embedding, updated_at = excluded.updated_at "
		"WHERE tidal.hlc_cmp(i.updated_at, excluded.updated_at) OPERATOR(pg_catalog.<) 0",
		9, {INT8OID, INT8OID, INT8OID, TEXTOID, TIMESTAMPTZOID, FLOAT4ARRAYOID, INT8OID, INT4OID, INT4OID}, NULL
	};
	/* the same, on SQL objects before 0.8 (a rolling update): items carry no embedding there */
	static OwnedQuery q_before_embeddings = {
		"INSERT INTO tidal.item_data AS i (tenant, item, creator, metadata, created_at, updated_at) "
		"VALUES ($1, $2, $3, $4::pg_catalog.jsonb, $5, tidal.hlc($6, $7, $8)) "
		"ON CONFLICT (tenant, item) DO UPDATE SET creator = excluded.creator, "
		"metadata = excluded.metadata, created_at = excluded.created_at, "
		"updated_at = excluded.updated_at "
		"WHERE tidal.hlc_cmp(i.updated_at, excluded.updated_at) OPERATOR(pg_catalog.<) 0",
		8, {INT8OID, INT8OID, INT8OID, TEXTOID, TIMESTAMPTZOID, INT8OID, INT4OID, INT4OID}, NULL
	};
	Datum		args[9];
	char		nulls[9] = "         ";
	bool		with_embeddings = query_has_column("item_data", "embedding");
	float4	   *v = NULL;

	Assert(rec->kind == LOG_RECORD_ITEM);
	args[0] = Int64GetDatum(rec->tenant);
	args[1] = Int64GetDatum(rec->item);
	args[2] = Int64GetDatum(rec->creator);
	if (!rec->has_creator)
		nulls[2] = 'n';
	args[3] = PointerGetDatum(cstring_to_text_with_len(rec->text, (int) rec->text_len));
	args[4] = TimestampTzGetDatum(rec->created_at_us - TIDAL_UNIX_EPOCH_OFFSET_US);
	if (rec->embedding_dims > 0)
	{
		Datum	   *elems = palloc(sizeof(Datum) * rec->embedding_dims);
		int			i;

		v = palloc(sizeof(float4) * rec->embedding_dims);
		codec_item_embedding(rec, v);
		for (i = 0; i < rec->embedding_dims; i++)
			elems[i] = Float4GetDatum(v[i]);
		args[5] = PointerGetDatum(construct_array(elems, rec->embedding_dims, FLOAT4OID, sizeof(float4),
												  true, TYPALIGN_INT));
	}
	else
		nulls[5] = 'n';
	if (!with_embeddings)
	{
		if (rec->embedding_dims > 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("an item with an embedding is not applied until ALTER EXTENSION tidal UPDATE has run on this node"),
					 errhint("Run ALTER EXTENSION tidal UPDATE here; the batch is pulled again then.")));
		nulls[5] = ' ';			/* the HLC's first argument there: query_merge_by_hlc binds it */
		nulls[8] = '\0';
	}
	if (query_merge_by_hlc(with_embeddings ? &q : &q_before_embeddings, args, nulls, &rec->hlc))
		facts_stage_item(rec->tenant, rec->item, &rec->hlc, rec->has_creator, rec->creator,
						 DatumGetTimestampTz(args[4]),
						 DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(pnstrdup(rec->text, rec->text_len)))),
						 v, local);
}

void
items_apply_record(const LogRecord *rec)
{
	apply_item(rec, false);
}

/*
 * tidal.upsert_item(item bigint, creator bigint DEFAULT NULL,
 *                   metadata jsonb DEFAULT '{}', created_at timestamptz DEFAULT now(),
 *                   tenant bigint DEFAULT 0, embedding real[] DEFAULT NULL)
 *    RETURNS tidal.hlc
 *
 * The embedding is part of the item: an upsert without one leaves the item
 * without one.
 */
Datum
tidal_upsert_item(PG_FUNCTION_ARGS)
{
	int64		item;
	Jsonb	   *metadata;
	char	   *metadata_text;
	int64		created_at_us;
	TidalHlc   *hlc;
	StringInfoData rec;
	LogRecord	decoded;
	int64		tenant;
	TenantInfo	info;
	float4	   *embedding = NULL;
	int			dims = 0;

	tidal_require_preload();
	election_require_shard_leader("tidal.upsert_item");
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("item must not be NULL")));
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("metadata must not be NULL"),
				 errhint("Pass '{}' for an item without metadata.")));
	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("created_at must not be NULL")));
	item = PG_GETARG_INT64(0);
	metadata = PG_GETARG_JSONB_P(2);
	metadata_text = JsonbToCString(NULL, &metadata->root, VARSIZE(metadata));
	validate_item_metadata(metadata, strlen(metadata_text));	/* as a replicated item's */
	created_at_us = signal_time_usecs(PG_GETARG_TIMESTAMPTZ(3), "created_at");
	if (PG_NARGS() > 5 && !PG_ARGISNULL(5))
		embedding = validate_embedding_array(PG_GETARG_ARRAYTYPE_P(5), &dims);

	tidal_ensure_loaded();		/* the clock is then past everything logged */
	tenant = tenant_argument(fcinfo, 4, &info);
	hlc = palloc(sizeof(TidalHlc));
	*hlc = hlc_clock_now();

	initStringInfo(&rec);
	codec_item_record(&rec, hlc, tenant, item, !PG_ARGISNULL(1),
					  PG_ARGISNULL(1) ? 0 : PG_GETARG_INT64(1), created_at_us, metadata_text,
					  embedding, dims);
	log_append_record(rec.data, rec.len, &decoded);
	/* a tenant this region does not store is only logged: replication takes it on */
	if (tenant_stored_here(decoded.tenant))
		apply_item(&decoded, true);

	PG_RETURN_HLC_P(hlc);
}
