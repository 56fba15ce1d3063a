/*
 * replication/placement.c
 *    Residency of raw events: which tenants a region (and shard) does not
 *    store, as this node's registry says, and which events of the default
 *    tenant a shard does not own (state/ownership.c), so that their records
 *    are left out (elided, see core/codec.c) of the copies of batches
 *    shipped to it and of this region's own copies.
 *
 * A tenant is stored in its required_regions (every region when NULL) on
 * its shard, and from `preparing` to `finalized` of its latest migration in
 * the migration's target too.  Region -1 asks for a shard in any region:
 * what a node relays for its shard (see placement.h): the condition of cluster/tenant.c's registry,
 * evaluated for another region.  Tenant 0, and a tenant this node does not
 * know (its registration has not arrived here), are stored everywhere as
 * far as this node can tell: their records are never elided.
 *
 *    May call: core/, pg/, log/, state/, replication/.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "utils/lsyscache.h"

#include "pg/query.h"
#include "pg/settings.h"
#include "replication/placement.h"
#include "state/ownership.h"

Placement *
placement_read(int32 region, int32 shard)
{
	static OwnedQuery q = {
		"SELECT t.tenant_id "
		"  FROM tidal.tenant_defs t "
		"  LEFT JOIN LATERAL (SELECT step, to_region, to_shard FROM tidal.migration_defs d "
		"                      WHERE d.tenant = t.tenant_id ORDER BY d.id DESC LIMIT 1) m ON true "
		" WHERE t.tenant_id > 0 "
		"   AND NOT (($1 < 0 OR t.required_regions IS NULL OR $1 = ANY (t.required_regions)) AND t.shard = $2) "
		"   AND NOT coalesce(m.step BETWEEN 2 AND 6 AND ($1 < 0 OR m.to_region = $1) AND m.to_shard = $2, false) "
		" ORDER BY t.tenant_id",
		2, {INT4OID, INT4OID}, NULL
	};
	Placement  *p = palloc0(sizeof(Placement));
	MemoryContext caller = CurrentMemoryContext;
	Datum		args[2];
	TidalSavedUser saved;
	uint64		r;

	p->region = region;
	p->shard = shard;
	p->keep = -1;
	/* the library may be newer than the extension's SQL objects (before ALTER EXTENSION UPDATE) */
	if (!OidIsValid(get_relname_relid("migration_defs", get_namespace_oid("tidal", false))))
		return p;

	args[0] = Int32GetDatum(region);
	args[1] = Int32GetDatum(shard);
	query_begin(&saved);
	/* not read-only: a fresh snapshot sees what this transaction just applied */
	query_exec(&q, args, NULL, false, SPI_OK_SELECT);
	p->away = MemoryContextAlloc(caller, sizeof(int64) * Max(SPI_processed, 1));
	for (r = 0; r < SPI_processed; r++)
	{
		bool		isnull;

		p->away[p->naway++] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r],
														  SPI_tuptable->tupdesc, 1, &isnull));
	}
	query_end(&saved);
	return p;
}

bool
placement_is_away(const Placement *p, int64 tenant)
{
	int			lo = 0;
	int			hi = p->naway - 1;

	if (tenant <= 0 || tenant == p->keep)
		return false;
	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (p->away[mid] == tenant)
			return true;
		if (p->away[mid] < tenant)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return false;
}

bool
placement_keep_record(const LogRecord *rec, void *placement)
{
	const Placement *p = (const Placement *) placement;
	bool		all;

	if (rec->tenant == 0)
	{
		/* tenant 0's events: kept for the shard that owns some of them */
		Assert(rec->kind == LOG_RECORD_SIGNAL);
		return !p->shard_events_only || ownership_record_owned(rec, p->shard, &all);
	}
	return !placement_is_away(p, rec->tenant);
}

/*
 * An elided record of tenant 0: our copy keeps only our shard's events (or
 * the events of the shard we relay for), which a node of another shard
 * does not need but lacks for its own; of another tenant: one the region
 * stores.
 */
static bool
elided_but_stored(const LogRecord *rec, void *arg)
{
	const Placement *p = (const Placement *) arg;

	return rec->kind == LOG_RECORD_ELIDED &&
		(rec->tenant == 0 ? p->shard != tidal_shard_id : !placement_is_away(p, rec->tenant));
}

bool
placement_lacks_stored(const Placement *p, const char *batch, Size len)
{
	return codec_batch_has_record(batch, len, elided_but_stored, (void *) p);
}
