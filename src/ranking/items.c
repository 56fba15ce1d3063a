/*
 * items.c
 *    tidal.upsert_item: an item's creator, metadata and creation time, kept
 *    as one last-writer-wins register (by HLC) in tidal.item_data.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "apply/apply.h"
#include "core/codec.h"
#include "core/hlc.h"
#include "state/clock.h"
#include "state/recovery.h"
#include "pg/validate.h"
#include "cluster/tenant.h"
#include "pg/settings.h"

PG_FUNCTION_INFO_V1(tidal_upsert_item);

/*
 * tidal.upsert_item(item bigint, creator bigint DEFAULT NULL,
 *                   metadata jsonb DEFAULT '{}', created_at timestamptz DEFAULT now())
 *    RETURNS tidal.hlc
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
	int64		tenant;
	TenantInfo	info;

	tidal_require_preload();
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

	tidal_ensure_loaded();		/* the clock is then past everything logged */
	tenant = tenant_argument(fcinfo, 4, &info);
	hlc = palloc(sizeof(TidalHlc));
	*hlc = hlc_clock_now();

	initStringInfo(&rec);
	codec_item_record(&rec, hlc, tenant, item, !PG_ARGISNULL(1),
					  PG_ARGISNULL(1) ? 0 : PG_GETARG_INT64(1), created_at_us, metadata_text);
	apply_local_write(rec.data, rec.len);

	PG_RETURN_HLC_P(hlc);
}
