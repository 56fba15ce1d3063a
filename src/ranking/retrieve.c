/*
 * ranking/retrieve.c
 *    tidal.retrieve, which ranks candidate items for a user, and
 *    tidal.last_query_stats, which says how the last ranking was made.
 *
 * The pipeline: candidates (given, or every known item) → drop the user's
 * hidden items and blocked creators → keep items whose metadata contains the
 * filter → score each with the profile from the hot state → walk the ranking
 * with at most max_per_creator items per creator → limit.  Scores come from
 * the same hot state as tidal.decay_score; no event is ever scanned.  Hides
 * are read with one indexed query, only for a user; item facts (creator,
 * creation time, small metadata) from shared memory (state/facts.c), only
 * when needed, or from tidal.item_data when shared memory does not hold
 * them all (tidal.max_items, tidal.item_metadata_bytes).  Without
 * candidates, every item of the tenant is ranked from shared memory: a scan
 * of the facts, the hot state read in bulk, a top-k heap.
 *
 * May call: core/, pg/, log/, state/, replication/, cluster/, signals/, ranking/.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/binaryheap.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "cluster/access.h"
#include "cluster/tenant.h"
#include "pg/owner.h"
#include "pg/query.h"
#include "pg/settings.h"
#include "pg/validate.h"
#include "ranking/hide.h"
#include "ranking/profile.h"
#include "replication/peer.h"
#include "state/facts.h"
#include "state/recovery.h"

PG_FUNCTION_INFO_V1(tidal_retrieve);
PG_FUNCTION_INFO_V1(tidal_last_query_stats);

#define MAX_CANDIDATES 1000000

typedef RankItem Candidate;

/* what the last retrieve in this session did */
typedef struct QueryStats
{
	bool		valid;
	char		profile[NAMEDATALEN];
	bool		has_user;
	int64		for_user;
	int64		candidates;
	int64		removed_hidden;
	int64		removed_filter;
	int64		removed_diversity;
	int64		scored;
	int64		returned;
	int64		elapsed_us;
	int			nunreachable;	/* peer regions not heard from within tidal.peer_timeout */
	int32		unreachable[TIDAL_MAX_PEERS];
} QueryStats;

static QueryStats last_stats;

/* a ranks before b: higher score first (NaN last), then lower item id */
static int
rank_cmp(const Candidate *a, const Candidate *b)
{
	bool		an = isnan(a->score);
	bool		bn = isnan(b->score);

	if (an != bn)
		return an ? 1 : -1;
	if (!an && a->score != b->score)
		return a->score > b->score ? -1 : 1;
	return (a->item > b->item) - (a->item < b->item);
}

static int
rank_qsort_cmp(const void *a, const void *b)
{
	return rank_cmp((const Candidate *) a, (const Candidate *) b);
}

/* heap of the best k so far, the worst of them on top */
static int
worst_first_cmp(Datum a, Datum b, void *arg pg_attribute_unused())
{
	return rank_cmp((const Candidate *) DatumGetPointer(a), (const Candidate *) DatumGetPointer(b));
}

static int
candidate_item_cmp(const void *key, const void *elem)
{
	int64		x = *(const int64 *) key;
	int64		y = ((const Candidate *) elem)->item;

	return (x > y) - (x < y);
}

/* distinct candidate ids, ascending, from the array argument */
static Candidate *
candidates_from_array(ArrayType *arr, int *n)
{
	int			count;
	int64	   *ids;
	Candidate  *c;
	int			i;
	int			distinct = 0;

	count = validate_array_1d(arr, "candidates");
	if (count > MAX_CANDIDATES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("candidates has %d elements, more than the %d one call accepts",
						count, MAX_CANDIDATES),
				 errhint("Pass NULL to rank every known item.")));

	ids = palloc(sizeof(int64) * Max(count, 1));
	memcpy(ids, ARR_DATA_PTR(arr), sizeof(int64) * count);
	hide_sort_ids(ids, count);

	c = palloc0(sizeof(Candidate) * Max(count, 1));
	for (i = 0; i < count; i++)
		if (i == 0 || ids[i] != ids[i - 1])
			c[distinct++].item = ids[i];
	pfree(ids);
	*n = distinct;
	return c;
}

/* every item tidal knows (tidal.upsert_item), ascending */
static Candidate *
candidates_all_items(int64 tenant, int *n)
{
	static OwnedQuery q = {
		"SELECT item FROM tidal.item_data WHERE tenant = $1 ORDER BY item", 1, {INT8OID}, NULL
	};
	Datum		args[1] = {Int64GetDatum(tenant)};
	Candidate  *c;
	uint64		i;
	TidalSavedUser saved;

	query_begin(&saved);
	query_exec(&q, args, NULL, true, SPI_OK_SELECT);
	if (SPI_processed > MAX_CANDIDATES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("there are more than %d items to rank", MAX_CANDIDATES),
				 errhint("Pass candidates to tidal.retrieve.")));
	c = SPI_palloc(sizeof(Candidate) * Max(SPI_processed, 1));
	memset(c, 0, sizeof(Candidate) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		c[i].item = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	*n = (int) SPI_processed;
	query_end(&saved);
	return c;
}

/* a candidate's facts as shared memory gave them (state/facts.c) */
static void
candidate_from_facts(Candidate *c, const ItemFactsRead *f)
{
	c->item = f->item;
	c->has_creator = f->found && f->has_creator;
	c->creator = c->has_creator ? f->creator : 0;
	c->has_created = f->found;
	/* clamped into the supported range, as load_item_facts does */
	c->created_at_us = f->found ? tidal_time_filter_usecs(f->created_at) : 0;
	c->created_at_us = Max(Min(c->created_at_us, TIDAL_MAX_TIME_US), TIDAL_MIN_TIME_US);
	c->matches = f->matches == 1;
}

static int
candidate_ptr_item_cmp(const void *a, const void *b)
{
	int64		x = (*(Candidate *const *) a)->item;
	int64		y = (*(Candidate *const *) b)->item;

	return (x > y) - (x < y);
}

/*
 * The filter for the candidates whose metadata is too large to be held in
 * shared memory (tidal.item_metadata_bytes): one indexed query over them.
 */
static void
match_in_table(int64 tenant, Candidate **u, int nu, Jsonb *filter)
{
	static OwnedQuery q = {
		"SELECT item FROM tidal.item_data WHERE tenant = $1 AND item = ANY ($2) AND metadata @> $3",
		3, {INT8OID, INT8ARRAYOID, JSONBOID}, NULL
	};
	Datum		args[3];
	Datum	   *ids = palloc(sizeof(Datum) * nu);
	uint64		i;
	int			j;
	TidalSavedUser saved;

	qsort(u, nu, sizeof(Candidate *), candidate_ptr_item_cmp);
	for (j = 0; j < nu; j++)
		ids[j] = Int64GetDatum(u[j]->item);
	args[0] = Int64GetDatum(tenant);
	args[1] = PointerGetDatum(construct_array(ids, nu, INT8OID, sizeof(int64), true, TYPALIGN_DOUBLE));
	args[2] = JsonbPGetDatum(filter);
	query_begin(&saved);
	query_exec(&q, args, NULL, true, SPI_OK_SELECT);
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int64		item = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		Candidate  *key = &(Candidate) {.item = item};
		Candidate **found = bsearch(&key, u, nu, sizeof(Candidate *), candidate_ptr_item_cmp);

		if (found != NULL)
			(*found)->matches = true;
	}
	query_end(&saved);
	pfree(ids);
}

/* the filter where shared memory could not decide it (reads[i] for c[i]) */
static void
match_unknown(int64 tenant, Candidate *c, const ItemFactsRead *reads, int n, Jsonb *filter)
{
	Candidate **u = NULL;
	int			nu = 0;
	int			i;

	for (i = 0; i < n; i++)
		if (reads[i].matches < 0)
		{
			if (u == NULL)
				u = palloc(sizeof(Candidate *) * n);
			u[nu++] = &c[i];
		}
	if (nu > 0)
		match_in_table(tenant, u, nu, filter);
	if (u != NULL)
		pfree(u);
}

/* every item of the tenant, with its facts, from shared memory; NULL if too many */
static Candidate *
candidates_all_facts(int64 tenant, Jsonb *filter, int *n)
{
	ItemFactsRead *reads;
	Candidate  *c;
	int			count = facts_scan_tenant(tenant, filter, MAX_CANDIDATES, &reads);
	int			i;

	if (count < 0)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("there are more than %d items to rank", MAX_CANDIDATES),
				 errhint("Pass candidates to tidal.retrieve.")));
	c = palloc(sizeof(Candidate) * Max(count, 1));
	for (i = 0; i < count; i++)
	{
		candidate_from_facts(&c[i], &reads[i]);
		if ((i & 65535) == 65535)
			CHECK_FOR_INTERRUPTS();
	}
	if (filter != NULL)
		match_unknown(tenant, c, reads, count, filter);
	pfree(reads);
	*n = count;
	return c;
}

/* creators, creation times and filter matches of c[0..n) from shared memory */
static void
load_item_facts_shared(int64 tenant, Candidate *c, int n, Jsonb *filter)
{
	int64	   *ids = palloc(sizeof(int64) * Max(n, 1));
	ItemFactsRead *reads = palloc(sizeof(ItemFactsRead) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
		ids[i] = c[i].item;
	facts_lookup_many(tenant, ids, n, filter, reads);
	for (i = 0; i < n; i++)
		candidate_from_facts(&c[i], &reads[i]);
	if (filter != NULL)
		match_unknown(tenant, c, reads, n, filter);
	pfree(ids);
	pfree(reads);
}

/*
 * Fill in creator, creation time and whether the metadata contains the
 * filter, for candidates c[0..n) (ascending ids), from tidal.item_data:
 * when the facts in shared memory are incomplete (tidal.max_items).  Items tidal does not know
 * have no creator and no creation time, and match only a NULL filter.
 */
static void
load_item_facts(int64 tenant, Candidate *c, int n, Jsonb *filter)
{
	static OwnedQuery q = {
		"SELECT item, creator, created_at, $3 IS NULL OR metadata @> $3 "
		"  FROM tidal.item_data WHERE tenant = $1 AND item = ANY ($2)",
		3, {INT8OID, INT8ARRAYOID, JSONBOID}, NULL
	};
	Datum		args[3];
	char		nulls[3] = "   ";
	Datum	   *ids = palloc(sizeof(Datum) * Max(n, 1));
	uint64		i;
	int			j;
	TidalSavedUser saved;

	for (j = 0; j < n; j++)
	{
		ids[j] = Int64GetDatum(c[j].item);
		c[j].matches = (filter == NULL);
	}
	args[0] = Int64GetDatum(tenant);
	args[1] = PointerGetDatum(construct_array(ids, n, INT8OID, sizeof(int64), true, TYPALIGN_DOUBLE));
	args[2] = filter ? JsonbPGetDatum(filter) : (Datum) 0;
	if (filter == NULL)
		nulls[2] = 'n';

	query_begin(&saved);
	query_exec(&q, args, nulls, true, SPI_OK_SELECT);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		int64		item = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		Candidate  *cand = bsearch(&item, c, n, sizeof(Candidate), candidate_item_cmp);
		Datum		d;

		if (cand == NULL)
			continue;
		d = SPI_getbinval(tup, desc, 2, &isnull);
		cand->has_creator = !isnull;
		cand->creator = isnull ? 0 : DatumGetInt64(d);
		cand->has_created = true;
		/* clamped into the supported range: freshness subtracts it from at */
		cand->created_at_us = tidal_time_filter_usecs(DatumGetTimestampTz(SPI_getbinval(tup, desc, 3, &isnull)));
		cand->created_at_us = Max(Min(cand->created_at_us, TIDAL_MAX_TIME_US), TIDAL_MIN_TIME_US);
		d = SPI_getbinval(tup, desc, 4, &isnull);
		cand->matches = !isnull && DatumGetBool(d);
	}
	query_end(&saved);
	pfree(ids);
}

/* keep the candidates for which keep() holds; returns how many were dropped */
typedef bool (*keep_fn) (const Candidate *c, const void *arg);

static int
drop_unless(Candidate *c, int *n, keep_fn keep, const void *arg)
{
	int			kept = 0;
	int			i;

	for (i = 0; i < *n; i++)
		if (keep(&c[i], arg))
			c[kept++] = c[i];
	i = *n - kept;
	*n = kept;
	return i;
}

static bool
keep_not_hidden(const Candidate *c, const void *arg)
{
	const HiddenSet *set = (const HiddenSet *) arg;

	return !hide_contains(set->items, set->nitems, c->item);
}

static bool
keep_creator_not_blocked(const Candidate *c, const void *arg)
{
	const HiddenSet *set = (const HiddenSet *) arg;

	return !c->has_creator || !hide_contains(set->creators, set->ncreators, c->creator);
}

static bool
keep_matching(const Candidate *c, const void *arg pg_attribute_unused())
{
	return c->matches;
}

/* the best k of c[0..n) in rank order, into out; returns how many */
static int
select_top(Candidate *c, int n, int k, Candidate **out)
{
	binaryheap *heap;
	int			i;
	int			m;

	k = Min(k, n);
	if (k == 0)
		return 0;
	heap = binaryheap_allocate(k, worst_first_cmp, NULL);
	for (i = 0; i < n; i++)
	{
		if (i < k)
		{
			binaryheap_add_unordered(heap, PointerGetDatum(&c[i]));
			if (i == k - 1)
				binaryheap_build(heap);
		}
		else if (rank_cmp(&c[i], (Candidate *) DatumGetPointer(binaryheap_first(heap))) < 0)
			binaryheap_replace_first(heap, PointerGetDatum(&c[i]));
	}
	for (m = k - 1; m >= 0; m--)
		out[m] = (Candidate *) DatumGetPointer(binaryheap_remove_first(heap));
	binaryheap_free(heap);
	return k;
}

typedef struct CreatorCount
{
	int64		creator;
	int			count;
} CreatorCount;

/*
 * Walk all of c in rank order, taking at most max_per_creator items of any
 * creator, until k are taken.  *skipped counts items passed over meanwhile.
 */
static int
select_diverse(Candidate *c, int n, int k, int max_per_creator, Candidate **out, int64 *skipped)
{
	HASHCTL		ctl;
	HTAB	   *counts;
	int			taken = 0;
	int			i;

	qsort(c, n, sizeof(Candidate), rank_qsort_cmp);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(CreatorCount);
	ctl.hcxt = CurrentMemoryContext;
	counts = hash_create("tidal retrieve creators", Max(k, 16), &ctl,
						 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	*skipped = 0;
	for (i = 0; i < n && taken < k; i++)
	{
		if (c[i].has_creator)
		{
			bool		found;
			CreatorCount *cc = hash_search(counts, &c[i].creator, HASH_ENTER, &found);

			if (!found)
				cc->count = 0;
			if (cc->count >= max_per_creator)
			{
				(*skipped)++;
				continue;
			}
			cc->count++;
		}
		out[taken++] = &c[i];
	}
	hash_destroy(counts);
	return taken;
}

/*
 * tidal.retrieve(for_user bigint DEFAULT NULL, candidates bigint[] DEFAULT NULL,
 *                profile text DEFAULT 'popular', filter jsonb DEFAULT NULL,
 *                max_per_creator int DEFAULT NULL, lim int DEFAULT 20,
 *                at timestamptz DEFAULT now())
 *    RETURNS TABLE(item_id bigint, score float8, rank int)
 */
Datum
tidal_retrieve(PG_FUNCTION_ARGS)
{
	TimestampTz started = GetCurrentTimestamp();
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	QueryStats	stats;
	char	   *profile_name;
	Jsonb	   *filter = NULL;
	int			max_per_creator = 0;
	int			lim;
	int64		at_us;
	Profile    *profile;
	Candidate  *c;
	Candidate **out;
	int			n;
	int			nout;
	HiddenSet	hidden;
	TenantInfo	tenant;
	bool		in_memory;
	bool		have_facts = false;
	int			i;

	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("profile must not be NULL"),
				 errhint("tidal.profiles lists the profiles; the default is 'popular'.")));
	if (PG_ARGISNULL(5))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("lim must not be NULL")));
	if (PG_ARGISNULL(6))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("at must not be NULL")));
	profile_name = text_to_cstring(PG_GETARG_TEXT_PP(2));
	lim = PG_GETARG_INT32(5);
	if (lim < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_ROW_COUNT_IN_LIMIT_CLAUSE),
				 errmsg("lim must not be negative"),
				 errdetail("The limit given was %d.", lim)));
	if (!PG_ARGISNULL(3))
	{
		filter = PG_GETARG_JSONB_P(3);
		if (!JB_ROOT_IS_OBJECT(filter))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("filter must be a JSON object"),
					 errhint("Items are kept when their metadata @> filter, e.g. '{\"lang\": \"en\"}'.")));
	}
	if (!PG_ARGISNULL(4))
	{
		max_per_creator = PG_GETARG_INT32(4);
		if (max_per_creator < 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("max_per_creator must be at least 1"),
					 errhint("Pass NULL for no limit per creator.")));
	}
	at_us = signal_time_usecs(PG_GETARG_TIMESTAMPTZ(6), "at");

	tidal_ensure_loaded();		/* also loads the tenants after a restart */
	(void) tenant_argument(fcinfo, 7, &tenant);
	profile = profile_lookup(profile_name);

	memset(&stats, 0, sizeof(stats));
	strlcpy(stats.profile, profile_name, sizeof(stats.profile));
	stats.has_user = !PG_ARGISNULL(0);
	stats.for_user = stats.has_user ? PG_GETARG_INT64(0) : 0;

	/* candidates; the items' facts from shared memory, unless incomplete there */
	in_memory = facts_complete();
	if (PG_ARGISNULL(1) && in_memory)
	{
		c = candidates_all_facts(tenant.tenant, filter, &n);
		have_facts = true;
	}
	else if (PG_ARGISNULL(1))
		c = candidates_all_items(tenant.tenant, &n);
	else
		c = candidates_from_array(PG_GETARG_ARRAYTYPE_P(1), &n);
	stats.candidates = n;

	/* hard negatives */
	memset(&hidden, 0, sizeof(hidden));
	if (stats.has_user)
	{
		hide_load(tenant.tenant, stats.for_user, &hidden);
		if (hidden.nitems > 0)
			stats.removed_hidden = drop_unless(c, &n, keep_not_hidden, &hidden);
	}

	/* item facts, only if something needs them */
	if (n > 0 && (hidden.ncreators > 0 || filter != NULL || profile->has_freshness ||
				  max_per_creator > 0))
	{
		if (!have_facts && in_memory)
			load_item_facts_shared(tenant.tenant, c, n, filter);
		else if (!have_facts)
			load_item_facts(tenant.tenant, c, n, filter);
		if (hidden.ncreators > 0)
			stats.removed_hidden += drop_unless(c, &n, keep_creator_not_blocked, &hidden);
		if (filter != NULL)
			stats.removed_filter = drop_unless(c, &n, keep_matching, NULL);
	}

	/* score */
	profile_score_items(profile, tenant.tenant, c, n, at_us);
	stats.scored = n;

	/* rank, diversify, limit */
	out = palloc(sizeof(Candidate *) * Max(Min(lim, n), 1));
	if (max_per_creator > 0)
		nout = select_diverse(c, n, lim, max_per_creator, out, &stats.removed_diversity);
	else
		nout = select_top(c, n, lim, out);

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < nout; i++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = Int64GetDatum(out[i]->item);
		values[1] = Float8GetDatum(out[i]->score);
		values[2] = Int32GetDatum(i + 1);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	stats.returned = nout;
	stats.nunreachable = peer_unreachable_regions(stats.unreachable, TIDAL_MAX_PEERS);
	stats.elapsed_us = GetCurrentTimestamp() - started;
	stats.valid = true;
	last_stats = stats;

	return (Datum) 0;
}

/* tidal.last_query_stats() RETURNS jsonb: the last retrieve of this session, or NULL */
Datum
tidal_last_query_stats(PG_FUNCTION_ARGS pg_attribute_unused())
{
	StringInfoData s;
	int			i;

	if (!last_stats.valid)
		PG_RETURN_NULL();

	initStringInfo(&s);
	appendStringInfoString(&s, "{\"profile\": ");
	escape_json(&s, last_stats.profile);
	if (last_stats.has_user)
		appendStringInfo(&s, ", \"for_user\": " INT64_FORMAT, last_stats.for_user);
	else
		appendStringInfoString(&s, ", \"for_user\": null");
	appendStringInfo(&s,
					 ", \"candidates\": " INT64_FORMAT
					 ", \"removed_hidden\": " INT64_FORMAT
					 ", \"removed_filter\": " INT64_FORMAT
					 ", \"removed_diversity\": " INT64_FORMAT
					 ", \"scored\": " INT64_FORMAT
					 ", \"returned\": " INT64_FORMAT
					 ", \"elapsed_us\": " INT64_FORMAT,
					 last_stats.candidates, last_stats.removed_hidden,
					 last_stats.removed_filter, last_stats.removed_diversity,
					 last_stats.scored, last_stats.returned, last_stats.elapsed_us);
	/* reads are always local: say which regions' latest writes may be missing */
	appendStringInfo(&s, ", \"degraded\": %s, \"unreachable_regions\": [",
					 last_stats.nunreachable > 0 ? "true" : "false");
	for (i = 0; i < last_stats.nunreachable; i++)
		appendStringInfo(&s, "%s%d", i ? ", " : "", last_stats.unreachable[i]);
	appendStringInfoString(&s, "]}");

	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(s.data)));
}
