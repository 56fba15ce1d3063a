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
#include "cluster/election.h"
#include "cluster/reshard.h"
#include "cluster/route.h"
#include "cluster/tenant.h"
#include "pg/owner.h"
#include "pg/query.h"
#include "pg/settings.h"
#include "pg/validate.h"
#include "ranking/hide.h"
#include "ranking/interest.h"
#include "ranking/profile.h"
#include "replication/peer.h"
#include "replication/visible.h"
#include "state/facts.h"
#include "state/interest.h"
#include "state/ownership.h"
#include "pg/remote.h"
#include "state/recovery.h"

PG_FUNCTION_INFO_V1(tidal_retrieve);
PG_FUNCTION_INFO_V1(tidal_last_query_stats);
PG_FUNCTION_INFO_V1(tidal_retrieve_part);

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
	bool		sharded;		/* every shard of the region was asked for its part */
	int			nunreachable_shards;	/* shards that did not answer: left out */
	int32		unreachable_shards[TIDAL_MAX_PEERS];
	bool		waited_after;	/* after => was given: the wait for it */
	int64		after_wait_ms;
	int64		staleness_ms;	/* of this node's answer: 0 on a shard's leader, -1 unknown */
	bool		follower;
	int32		leader_node;
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
candidates_all_facts(int64 tenant, Jsonb *filter, int32 only_shard, int *n)
{
	ItemFactsRead *reads;
	Candidate  *c;
	int			count = facts_scan_tenant(tenant, filter, only_shard, MAX_CANDIDATES, &reads);
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

/* restore the heap order below h[i]: the best-ranked candidate at the top */
static void
sift_down(Candidate **h, int n, int i)
{
	for (;;)
	{
		int			l = 2 * i + 1;
		int			r = l + 1;
		int			best = i;
		Candidate  *tmp;

		if (l < n && rank_cmp(h[l], h[best]) < 0)
			best = l;
		if (r < n && rank_cmp(h[r], h[best]) < 0)
			best = r;
		if (best == i)
			return;
		tmp = h[i];
		h[i] = h[best];
		h[best] = tmp;
		i = best;
	}
}

/*
 * Walk c in rank order, taking at most max_per_creator items of any
 * creator, until k are taken.  *skipped counts items passed over meanwhile.
 * The walk pops a heap built in O(n): it looks at the k taken and the few
 * skipped, not at every candidate in order.
 */
static int
select_diverse(Candidate *c, int n, int k, int max_per_creator, Candidate **out, int64 *skipped)
{
	HASHCTL		ctl;
	HTAB	   *counts;
	Candidate **heap;
	int			size = n;
	int			taken = 0;
	int			i;

	heap = palloc(sizeof(Candidate *) * Max(n, 1));
	for (i = 0; i < n; i++)
		heap[i] = &c[i];
	for (i = n / 2 - 1; i >= 0; i--)
		sift_down(heap, n, i);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(CreatorCount);
	ctl.hcxt = CurrentMemoryContext;
	counts = hash_create("tidal retrieve creators", Max(k, 16), &ctl,
						 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	*skipped = 0;
	while (size > 0 && taken < k)
	{
		Candidate  *top = heap[0];

		heap[0] = heap[--size];
		sift_down(heap, size, 0);
		if (top->has_creator)
		{
			bool		found;
			CreatorCount *cc = hash_search(counts, &top->creator, HASH_ENTER, &found);

			if (!found)
				cc->count = 0;
			if (cc->count >= max_per_creator)
			{
				(*skipped)++;
				continue;
			}
			cc->count++;
		}
		out[taken++] = top;
	}
	hash_destroy(counts);
	pfree(heap);
	return taken;
}

/* the arguments of a retrieve, checked */
typedef struct RetrieveArgs
{
	bool		has_user;
	int64		for_user;
	ArrayType  *candidates;		/* NULL: every item */
	char	   *profile_name;
	Jsonb	   *filter;			/* NULL: none */
	int			max_per_creator;	/* 0: no limit */
	int			lim;
	int64		at_us;
	int64		tenant;
	int			explore;		/* slots chosen by Thompson sampling over the arms */
	bool		has_seed;
	int64		seed;
} RetrieveArgs;

/* the arguments both SQL functions take first: for_user, candidates, profile, filter */
static void
call_args(FunctionCallInfo fcinfo, RetrieveArgs *a)
{
	memset(a, 0, sizeof(*a));
	a->has_user = !PG_ARGISNULL(0);
	a->for_user = a->has_user ? PG_GETARG_INT64(0) : 0;
	a->candidates = PG_ARGISNULL(1) ? NULL : PG_GETARG_ARRAYTYPE_P(1);
	a->profile_name = text_to_cstring(PG_GETARG_TEXT_PP(2));
	a->filter = PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3);
}

static void
check_args(RetrieveArgs *a)
{
	if (a->lim < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_ROW_COUNT_IN_LIMIT_CLAUSE),
				 errmsg("lim must not be negative"),
				 errdetail("The limit given was %d.", a->lim)));
	if (a->filter != NULL && !JB_ROOT_IS_OBJECT(a->filter))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("filter must be a JSON object"),
				 errhint("Items are kept when their metadata @> filter, e.g. '{\"lang\": \"en\"}'.")));
	if (a->max_per_creator < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_per_creator must be at least 1"),
				 errhint("Pass NULL for no limit per creator.")));
}

static int
candidate_ptr_rank_cmp(const void *a, const void *b)
{
	return rank_cmp(*(Candidate *const *) a, *(Candidate *const *) b);
}

static int	rank_with_interests(const RetrieveArgs *a, const Profile *profile, Candidate *c, int n,
								Candidate ***out, QueryStats *stats);

static bool
keep_owned(const Candidate *c, const void *arg pg_attribute_unused())
{
	return ownership_owns(c->item);
}

/*
 * The ranking on this node: the pipeline above, over the candidates this
 * shard owns when owned_only (its part of a sharded retrieve).  *out gets
 * the ranked items (at most lim), stats what was done.
 */
static int
rank_here(const RetrieveArgs *a, bool owned_only, Candidate ***out, QueryStats *stats)
{
	Profile    *profile = profile_lookup(a->profile_name);
	Candidate  *c;
	int			n;
	int			i;
	HiddenSet	hidden;
	bool		in_memory;
	bool		have_facts = false;

	/* a range moving to this shard: its scores are here once its old shard's handoff is */
	if (a->tenant == 0)
		reshard_await_handoff(true, 0);

	/* candidates; the items' facts from shared memory, unless incomplete there */
	in_memory = facts_complete();
	if (a->candidates == NULL && in_memory)
	{
		c = candidates_all_facts(a->tenant, a->filter, owned_only ? tidal_shard_id : -1, &n);
		have_facts = true;
	}
	else if (a->candidates == NULL)
		c = candidates_all_items(a->tenant, &n);
	else
		c = candidates_from_array(a->candidates, &n);
	if (owned_only && a->tenant == 0)
		(void) drop_unless(c, &n, keep_owned, NULL);
	stats->candidates += n;
	for (i = 0; i < n; i++)
		c[i].explored = false;

	/* hard negatives */
	memset(&hidden, 0, sizeof(hidden));
	if (a->has_user)
	{
		hide_load(a->tenant, a->for_user, &hidden);
		if (hidden.nitems > 0)
			stats->removed_hidden += drop_unless(c, &n, keep_not_hidden, &hidden);
	}

	/* item facts, only if something needs them */
	if (n > 0 && (hidden.ncreators > 0 || a->filter != NULL || profile->has_freshness ||
				  a->max_per_creator > 0))
	{
		if (!have_facts && in_memory)
			load_item_facts_shared(a->tenant, c, n, a->filter);
		else if (!have_facts)
			load_item_facts(a->tenant, c, n, a->filter);
		if (hidden.ncreators > 0)
			stats->removed_hidden += drop_unless(c, &n, keep_creator_not_blocked, &hidden);
		if (a->filter != NULL)
			stats->removed_filter += drop_unless(c, &n, keep_matching, NULL);
	}

	/* score */
	profile_score_items(profile, a->tenant, c, n, a->at_us);
	stats->scored += n;
	if (!profile->has_interest && a->explore == 0)
	{
		/* rank, diversify, limit */
		*out = palloc(sizeof(Candidate *) * Max(Min(a->lim, n), 1));
		if (a->max_per_creator > 0)
			return select_diverse(c, n, a->lim, a->max_per_creator, *out, &stats->removed_diversity);
		return select_top(c, n, a->lim, *out);
	}
	if (owned_only)
		elog(ERROR, "tidal: a shard's part of a retrieve never ranks by interests");
	return rank_with_interests(a, profile, c, n, out, stats);
}

/* ---- interests and exploration (issue 16) ---- */

/*
 * The best k candidates shared among the user's interests in proportion to
 * their mass times the bandit's mean of their arm (how often the user takes
 * up their cards), by Sainte-Lague: each slot goes to the interest with the
 * highest such weight / (2 x slots it has + 1) that still has a candidate nearest to it,
 * and within it to the best-ranked such candidate), so that a strong
 * interest does not take every slot from a weaker one; a slot no interest
 * can fill goes to the best remaining candidate.  out in rank order.
 */
static int
select_by_interests(Candidate *c, int n, int k, const UserModel *m, const int *nearest, Candidate **out)
{
	int		   *seats = palloc0(sizeof(int) * m->ninterests);
	bool	   *taken = palloc0(sizeof(bool) * Max(n, 1));
	int			nout = 0;

	k = Min(k, n);
	while (nout < k)
	{
		bool	   *tried = palloc0(sizeof(bool) * m->ninterests);
		int			pick = -1;

		CHECK_FOR_INTERRUPTS();
		while (pick < 0)
		{
			int			best = -1;
			double		best_q = -1;
			int			j;
			int			i;

			for (j = 0; j < m->ninterests; j++)
			{
				const UserArm *a = &m->arms[m->interests[j]];
				double		successes;
				double		failures;
				double		q;

				/* its mass, times how often its cards are taken up: the bandit's mean */
				user_arm_counts(a, &successes, &failures);
				q = (a->positive - a->negative) * (1.0 + successes) / (2.0 + successes + failures) /
					(2.0 * seats[j] + 1.0);

				if (!tried[j] && q > best_q)
				{
					best_q = q;
					best = j;
				}
			}
			if (best < 0)
				break;			/* no interest has a candidate left */
			tried[best] = true;
			for (i = 0; i < n; i++)
				if (!taken[i] && nearest[i] == best && (pick < 0 || rank_cmp(&c[i], &c[pick]) < 0))
					pick = i;
			if (pick >= 0)
				seats[best]++;
		}
		if (pick < 0)
		{
			int			i;

			for (i = 0; i < n; i++)
				if (!taken[i] && (pick < 0 || rank_cmp(&c[i], &c[pick]) < 0))
					pick = i;
		}
		taken[pick] = true;
		out[nout++] = &c[pick];
		pfree(tried);
	}
	qsort(out, nout, sizeof(Candidate *), candidate_ptr_rank_cmp);
	return nout;
}

/*
 * The ranking of a profile with an interest term, or with explore slots:
 * each candidate's score gains weight × its similarity to the user's
 * interests (ranking/interest.h); the best lim - explore are ranked as
 * usual, and each explore slot goes to the best remaining candidate of the
 * arm whose Thompson draw is highest, of the arms that are not already
 * the user's interests (or, when no arm has a candidate left, to the
 * next-best candidate).
 */
static int
rank_with_interests(const RetrieveArgs *a, const Profile *profile, Candidate *c, int n,
					Candidate ***out, QueryStats *stats)
{
	UserModel	model;
	int8	   *q = palloc(Max(tidal_embedding_dimensions, 1));
	int		   *arm_of = palloc(sizeof(int) * Max(n, 1));	/* index into model.arms, or -1 */
	int		   *nearest = palloc(sizeof(int) * Max(n, 1));	/* index into model.interests, or -1 */
	bool	   *taken = palloc0(sizeof(bool) * Max(n, 1));
	bool	   *is_interest;
	double	   *popularity = NULL;
	int			nout;
	int			slot;
	int			i;
	pg_prng_state prng;

	if (a->has_user)
		user_model_read(a->tenant, a->for_user, a->at_us, &model);
	else
		user_model_arms_only(&model);	/* no user: every arm, without counts */
	is_interest = palloc0(sizeof(bool) * Max(model.narms, 1));
	for (i = 0; i < model.ninterests; i++)
		is_interest[model.interests[i]] = true;

	/* an interest term that names signals: the similarity times their decayed score */
	if (profile->interest_popularity != NULL && a->has_user)
	{
		Candidate  *pop = palloc(sizeof(Candidate) * Max(n, 1));

		memcpy(pop, c, sizeof(Candidate) * n);
		profile_score_items(profile->interest_popularity, a->tenant, pop, n, a->at_us);
		popularity = palloc(sizeof(double) * Max(n, 1));
		for (i = 0; i < n; i++)
			popularity[i] = pop[i].score;
		pfree(pop);
	}

	for (i = 0; i < n; i++)
	{
		uint64		arm;
		bool		has = facts_item_vector(a->tenant, c[i].item, &arm, q);
		const char *label;

		CHECK_FOR_INTERRUPTS();
		arm_of[i] = arm != 0 ? user_model_arm_index(&model, arm) : -1;
		nearest[i] = -1;
		if (profile->has_interest && a->has_user)
			c[i].score += profile->interest_weight *
				user_model_interest(&model, has ? q : NULL, &label, &nearest[i]) *
				(popularity != NULL ? popularity[i] : 1.0);
		c[i].explored = false;
	}

	*out = palloc(sizeof(Candidate *) * Max(Min(a->lim, n), 1));
	if (a->max_per_creator > 0)
		nout = select_diverse(c, n, a->lim - a->explore, a->max_per_creator, *out, &stats->removed_diversity);
	else if (profile->has_interest && model.ninterests >= 2)
		nout = select_by_interests(c, n, a->lim - a->explore, &model, nearest, *out);
	else
		nout = select_top(c, n, a->lim - a->explore, *out);
	for (i = 0; i < nout; i++)
		taken[(*out)[i] - c] = true;

	if (a->has_seed)
		pg_prng_seed(&prng, (uint64) a->seed);
	else
		pg_prng_seed(&prng, pg_prng_uint64(&pg_global_prng_state));
	for (slot = 0; slot < a->explore && nout < Min(a->lim, n); slot++)
	{
		int		   *best_of = palloc(sizeof(int) * Max(model.narms, 1));	/* best free candidate per arm */
		int			best_arm = -1;
		double		best_draw = -1;
		int			pick = -1;
		int			k;

		for (k = 0; k < model.narms; k++)
			best_of[k] = -1;
		for (i = 0; i < n; i++)
			if (!taken[i] && arm_of[i] >= 0 &&
				(best_of[arm_of[i]] < 0 || rank_cmp(&c[i], &c[best_of[arm_of[i]]]) < 0))
				best_of[arm_of[i]] = i;
		/* arms in the order the model lists them, each drawn once: the same seed draws the same */
		for (k = 0; k < model.narms; k++)
		{
			double		draw;

			if (best_of[k] < 0)
				continue;
			draw = user_model_draw(&model, a->has_user ? k : -1, &prng);
			if (draw > best_draw)
			{
				best_draw = draw;
				best_arm = k;
			}
		}
		if (best_arm >= 0)
		{
			/* from an arm that is not one of the interests: exploring; else labelled as it ranks */
			pick = best_of[best_arm];
			c[pick].explored = !is_interest[best_arm];
		}
		else
		{
			/* nothing left to explore: the next-best candidate */
			for (i = 0; i < n; i++)
				if (!taken[i] && (pick < 0 || rank_cmp(&c[i], &c[pick]) < 0))
					pick = i;
		}
		if (pick < 0)
			break;
		taken[pick] = true;
		(*out)[nout++] = &c[pick];
		pfree(best_of);
	}
	return nout;
}

/* ---- sharded: every shard ranks its part, and the caller merges ---- */

/* the columns of tidal._retrieve_part's answer: item_id, score, creator (nullable), stats (last row) */
#define PART_COLUMNS 4

/* a text array literal of the candidates that shard owns; NULL if none */
static char *
candidates_of_shard(ArrayType *candidates, int32 shard)
{
	int			n = ArrayGetNItems(ARR_NDIM(candidates), ARR_DIMS(candidates));
	const int64 *v = (const int64 *) ARR_DATA_PTR(candidates);
	StringInfoData buf;
	int			taken = 0;
	int			i;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (i = 0; i < n; i++)
		if (ownership_shard_of(v[i]) == shard)
			appendStringInfo(&buf, "%s" INT64_FORMAT, taken++ ? "," : "", v[i]);
	appendStringInfoChar(&buf, '}');
	return taken > 0 ? buf.data : NULL;
}

/* the rows of one shard's answer, checked, appended to merged; false if malformed */
static bool
take_part(PGresult *res, Candidate *merged, int *nmerged, int lim, QueryStats *stats)
{
	static const int lengths[PART_COLUMNS] = {REMOTE_NULLABLE, REMOTE_NULLABLE, REMOTE_NULLABLE, REMOTE_NULLABLE};
	int			rows = PQntuples(res);
	int			r;

	if (remote_check_shape(res, PART_COLUMNS, NULL, lengths) != NULL || rows > lim + 1)
		return false;
	for (r = 0; r < rows; r++)
	{
		if (!PQgetisnull(res, r, 3))
		{
			long long	v[5];

			if (sscanf(PQgetvalue(res, r, 3), "%lld %lld %lld %lld %lld", &v[0], &v[1], &v[2], &v[3], &v[4]) != 5)
				return false;
			stats->candidates += v[0];
			stats->removed_hidden += v[1];
			stats->removed_filter += v[2];
			stats->removed_diversity += v[3];
			stats->scored += v[4];
			continue;
		}
		if (PQgetisnull(res, r, 0) || PQgetisnull(res, r, 1))
			return false;
		memset(&merged[*nmerged], 0, sizeof(Candidate));
		merged[*nmerged].item = pg_strtoint64(PQgetvalue(res, r, 0));
		merged[*nmerged].score = DatumGetFloat8(DirectFunctionCall1(float8in, CStringGetDatum(PQgetvalue(res, r, 1))));
		if (!PQgetisnull(res, r, 2))
		{
			merged[*nmerged].has_creator = true;
			merged[*nmerged].creator = pg_strtoint64(PQgetvalue(res, r, 2));
		}
		(*nmerged)++;
	}
	return true;
}

/*
 * A retrieve over every shard of this region: each sibling ranks the
 * candidates it owns (every item it owns, without candidates) in parallel,
 * this node its own, each to the same lim with the same per-creator limit;
 * the union, ranked again with that limit, is the answer a single node
 * holding everything would give (an item kept globally is kept by its
 * shard: fewer of its creator, and no more items, rank above it there).  A
 * shard that does not answer within tidal.peer_timeout is left out and
 * named in the stats.
 */
static int
rank_sharded(const RetrieveArgs *a, int32 only_shard, Candidate ***out, QueryStats *stats)
{
	const ShardMap *map = ownership_map();
	int32		nshards = Max(map->count, Max(only_shard, tidal_shard_id) + 1);
	RouteScatter *calls = palloc0(sizeof(RouteScatter) * nshards);
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), tidal_peer_timeout_ms);
	Candidate **local;
	int			nlocal;
	Candidate  *merged;
	int			nmerged = 0;
	int32		s;
	int			i;

	/* send every other shard its part first: they rank while this node ranks its own */
	for (s = 0; s < nshards; s++)
	{
		const char *params[9];
		char	   *cands = a->candidates == NULL ? NULL
			: a->tenant != 0 ? DatumGetCString(DirectFunctionCall1(array_out, PointerGetDatum(a->candidates)))
			: candidates_of_shard(a->candidates, s);

		calls[s].shard = s;
		if (s == tidal_shard_id || (a->candidates != NULL && cands == NULL) ||
			(only_shard >= 0 && s != only_shard))
			continue;			/* this node, a shard that owns none of the candidates, or not asked */
		calls[s].what = psprintf("retrieve on shard %d", s);
		calls[s].deadline = deadline;
		params[0] = a->has_user ? psprintf(INT64_FORMAT, a->for_user) : NULL;
		params[1] = cands;
		params[2] = a->profile_name;
		params[3] = a->filter ? JsonbToCString(NULL, &a->filter->root, VARSIZE(a->filter)) : NULL;
		params[4] = psprintf("%d", a->max_per_creator);
		params[5] = psprintf("%d", a->lim);
		params[6] = psprintf(INT64_FORMAT, a->at_us);
		params[7] = psprintf(INT64_FORMAT, a->tenant);
		params[8] = psprintf(INT64_FORMAT, map->version);
		(void) route_scatter_send(&calls[s],
								  "SELECT item_id, score, creator, stats FROM tidal._retrieve_part("
								  "$1::pg_catalog.int8, $2::pg_catalog.int8[], $3, $4::pg_catalog.jsonb, "
								  "$5::pg_catalog.int4, $6::pg_catalog.int4, $7::pg_catalog.int8, $8::pg_catalog.int8, "
								  "$10::pg_catalog.int4, $11::pg_catalog.int4, $12::pg_catalog.int8, $9::pg_catalog.int8)",
								  9, params);
	}

	nlocal = only_shard < 0 ? rank_here(a, true, &local, stats) : 0;
	merged = palloc(sizeof(Candidate) * ((Size) (nshards) * (a->lim + 1) + 1));
	for (i = 0; i < nlocal; i++)
		merged[nmerged++] = *local[i];

	for (s = 0; s < nshards; s++)
	{
		PGresult   *res;

		if (s == tidal_shard_id || calls[s].what == NULL)
			continue;
		res = route_scatter_collect(&calls[s], a->lim + 1, (Size) 64 * 1024 * 1024);
		if (res == NULL || !take_part(res, merged, &nmerged, a->lim, stats))
		{
			if (stats->nunreachable_shards < TIDAL_MAX_PEERS)
				stats->unreachable_shards[stats->nunreachable_shards++] = s;
			ereport(DEBUG1,
					(errmsg("tidal.retrieve: shard %d left out: %s", s,
							calls[s].why ? calls[s].why : "malformed answer")));
		}
		if (res != NULL)
			PQclear(res);
	}

	/* the union ranked again with the same limits */
	*out = palloc(sizeof(Candidate *) * Max(Min(a->lim, nmerged), 1));
	if (a->max_per_creator > 0)
	{
		int64		skipped;
		int			n = select_diverse(merged, nmerged, a->lim, a->max_per_creator, *out, &skipped);

		stats->removed_diversity += skipped;
		return n;
	}
	return select_top(merged, nmerged, a->lim, *out);
}

/*
 * tidal.retrieve(for_user bigint DEFAULT NULL, candidates bigint[] DEFAULT NULL,
 *                profile text DEFAULT 'popular', filter jsonb DEFAULT NULL,
 *                max_per_creator int DEFAULT NULL, lim int DEFAULT 20,
 *                at timestamptz DEFAULT now(), tenant bigint DEFAULT 0)
 *    RETURNS TABLE(item_id bigint, score float8, rank int)
 */
Datum
tidal_retrieve(PG_FUNCTION_ARGS)
{
	TimestampTz started = GetCurrentTimestamp();
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	QueryStats	stats;
	RetrieveArgs a;
	TenantInfo	tenant;
	Candidate **out;
	int			nout;
	int			i;
	const TidalHlc *after;
	bool		with_model;
	UserModel	model;
	int8	   *q = palloc(Max(tidal_embedding_dimensions, 1));

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
	call_args(fcinfo, &a);
	if (!PG_ARGISNULL(4))
	{
		a.max_per_creator = PG_GETARG_INT32(4);
		if (a.max_per_creator < 1)
			a.max_per_creator = -1;		/* refused by check_args */
	}
	a.lim = PG_GETARG_INT32(5);
	check_args(&a);
	a.at_us = signal_time_usecs(PG_GETARG_TIMESTAMPTZ(6), "at");
	if (PG_NARGS() > 10)
	{
		if (PG_ARGISNULL(9))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("explore must not be NULL"),
					 errhint("Pass 0 for no explore slots.")));
		a.explore = PG_GETARG_INT32(9);
		if (a.explore < 0 || a.explore > a.lim)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("explore must be between 0 and lim (%d)", a.lim),
					 errdetail("explore was %d.", a.explore),
					 errhint("explore is how many of the lim rows are chosen by exploring the arms.")));
		a.has_seed = !PG_ARGISNULL(10);
		a.seed = a.has_seed ? PG_GETARG_INT64(10) : 0;
	}

	tidal_ensure_loaded();		/* also loads the tenants after a restart */
	a.tenant = tenant_argument(fcinfo, 7, &tenant);
	{
		/* an unknown profile is refused before any shard is asked */
		Profile    *profile = profile_lookup(a.profile_name);

		if (profile->has_interest || a.explore > 0)
			user_model_require_one_shard(&tenant, profile->has_interest ? "a profile with an interest term" : "explore");
		with_model = a.has_user && PG_NARGS() > 10 &&
			!(a.tenant == 0 ? ownership_map()->count > 1 : (tenant.registered && !tenant.stored_here));
	}

	memset(&stats, 0, sizeof(stats));
	strlcpy(stats.profile, a.profile_name, sizeof(stats.profile));
	stats.has_user = a.has_user;
	stats.for_user = a.for_user;

	/* after => a write: visible on every node that ranks (this one, and the shards asked) */
	after = visible_after_argument(fcinfo, 8);
	if (after != NULL)
	{
		TimestampTz wait_started = GetCurrentTimestamp();

		stats.waited_after = true;
		(void) visible_await_write(after, tidal_read_after_timeout_ms);
		if (a.tenant == 0 && ownership_map()->count > 1)
		{
			for (i = 0; i < ownership_map()->count; i++)
				if (i != tidal_shard_id)
					route_await_write(i, after);
		}
		else if (a.tenant != 0 && tenant.registered && !tenant.stored_here && tenant.region_shard >= 0 &&
				 tenant.region_shard != tidal_shard_id)
			route_await_write(tenant.region_shard, after);
		stats.after_wait_ms = TimestampDifferenceMilliseconds(wait_started, GetCurrentTimestamp());
	}
	stats.staleness_ms = election_staleness_ms(&stats.leader_node);
	stats.follower = !election_shard_leads();

	/* the default tenant's items are ranked by every shard of the region; a registered tenant lives on one */
	if (a.tenant == 0 && ownership_map()->count > 1)
	{
		stats.sharded = true;
		nout = rank_sharded(&a, -1, &out, &stats);
	}
	else if (a.tenant != 0 && tenant.registered && !tenant.stored_here && tenant.region_shard >= 0 &&
			 tenant.region_shard != tidal_shard_id)
	{
		/* a registered tenant another shard of this region holds: ranked there */
		stats.sharded = true;
		nout = rank_sharded(&a, tenant.region_shard, &out, &stats);
	}
	else
		nout = rank_here(&a, false, &out, &stats);

	/* rows: each with its label, arm and the interests it is near (0.8: the older function has three columns) */
	if (with_model)
		user_model_read(a.tenant, a.for_user, a.at_us, &model);
	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < nout; i++)
	{
		Datum		values[6];
		bool		nulls[6] = {false, false, false, true, true, true};

		values[0] = Int64GetDatum(out[i]->item);
		values[1] = Float8GetDatum(out[i]->score);
		values[2] = Int32GetDatum(i + 1);
		if (PG_NARGS() > 10)
		{
			uint64		arm;
			bool		has = facts_item_vector(a.tenant, out[i]->item, &arm, q);
			const char *label = LABEL_NONE;
			char		name[INTEREST_ARM_NAME_LEN];

			if (a.explore > 0 && out[i]->explored)
				label = LABEL_EXPLORING;
			else if (with_model)
			{
				int			nearest;

				(void) user_model_interest(&model, has ? q : NULL, &label, &nearest);
			}
			if (label != NULL)
			{
				values[3] = CStringGetTextDatum(label);
				nulls[3] = false;
			}
			if (arm != 0)
			{
				(void) interest_arm_name(arm, name);
				values[4] = CStringGetTextDatum(name);
				nulls[4] = false;
			}
			/* why a match or a surprise: the interests it is near */
			if (label != NULL && (strcmp(label, LABEL_MATCH) == 0 || strcmp(label, LABEL_SURPRISE) == 0))
			{
				int		   *near = palloc(sizeof(int) * Max(model.ninterests, 1));
				int			nnear = user_model_near(&model, has ? q : NULL, near);
				Datum	   *names = palloc(sizeof(Datum) * Max(nnear, 1));
				int			k;

				for (k = 0; k < nnear; k++)
				{
					(void) interest_arm_name(model.arms[model.interests[near[k]]].arm, name);
					names[k] = CStringGetTextDatum(name);
				}
				if (nnear > 0)
				{
					values[5] = PointerGetDatum(construct_array(names, nnear, TEXTOID, -1, false, TYPALIGN_INT));
					nulls[5] = false;
				}
			}
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	stats.returned = nout;
	stats.nunreachable = peer_unreachable_regions(stats.unreachable, TIDAL_MAX_PEERS);
	stats.elapsed_us = GetCurrentTimestamp() - started;
	stats.valid = true;
	last_stats = stats;

	return (Datum) 0;
}

/*
 * tidal._retrieve_part(for_user bigint, candidates bigint[], profile text,
 *                      filter jsonb, max_per_creator int, lim int,
 *                      at_us bigint, tenant bigint, after_region int,
 *                      after_shard int, after_seq bigint)
 *    RETURNS TABLE(item_id bigint, score float8, creator bigint, stats text)
 *
 * A shard sibling's retrieve asks this shard for its part (rank_sharded
 * there): once this node has applied the caller's log up to after_seq, the
 * candidates this shard owns (every item it owns for NULL), ranked to lim
 * with the per-creator limit, with each item's creator when that limit is
 * set; then one row with only stats: "candidates removed_hidden
 * removed_filter removed_diversity scored".
 */
Datum
tidal_retrieve_part(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	QueryStats	stats;
	RetrieveArgs a;
	Candidate **out;
	int			nout;
	int			i;
	int			k;

	for (k = 2; k < 12; k++)
		if (k != 3 && PG_ARGISNULL(k))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("tidal._retrieve_part: argument %d must not be NULL", k + 1)));
	call_args(fcinfo, &a);
	a.max_per_creator = PG_GETARG_INT32(4);
	a.lim = PG_GETARG_INT32(5);
	a.at_us = PG_GETARG_INT64(6);
	a.tenant = PG_GETARG_INT64(7);
	check_args(&a);
	tidal_check_time_us(a.at_us, "at");
	tidal_ensure_loaded();
	/* a registered tenant: what this node holds (nothing, if it no longer stores it: as a region that does not) */
	route_await_applied(PG_GETARG_INT32(8), PG_GETARG_INT32(9), PG_GETARG_INT64(10),
						Max(tidal_peer_timeout_ms / 2, 1));
	if (a.tenant == 0)
	{
		int64		caller_version = PG_GETARG_INT64(11);

		/* the caller split the candidates by its map: this node ranks by the same one, or a newer one refuses */
		reshard_await_map_version(caller_version, Max(tidal_peer_timeout_ms / 2, 1));
		if (ownership_map()->version > caller_version)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("shard %d routes by a newer shard map (version " INT64_FORMAT ") than the caller (" INT64_FORMAT ")",
							tidal_shard_id, ownership_map()->version, caller_version),
					 errdetail("A range of entities has moved: the caller would rank some of them on the wrong shard."),
					 errhint("The caller's answer leaves this shard out (degraded) until it has the new map.")));
	}

	memset(&stats, 0, sizeof(stats));
	nout = rank_here(&a, true, &out, &stats);

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < nout; i++)
	{
		Datum		values[4];
		bool		nulls[4] = {false, false, true, true};

		values[0] = Int64GetDatum(out[i]->item);
		values[1] = Float8GetDatum(out[i]->score);
		values[2] = Int64GetDatum(out[i]->creator);
		nulls[2] = !(a.max_per_creator > 0 && out[i]->has_creator);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	{
		Datum		values[4];
		bool		nulls[4] = {true, true, true, false};

		values[3] = CStringGetTextDatum(psprintf(INT64_FORMAT " " INT64_FORMAT " " INT64_FORMAT " " INT64_FORMAT " " INT64_FORMAT,
												 stats.candidates, stats.removed_hidden, stats.removed_filter,
												 stats.removed_diversity, stats.scored));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
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
	/* say which regions' latest writes may be missing, and which shards' items */
	appendStringInfo(&s, ", \"degraded\": %s, \"unreachable_regions\": [",
					 last_stats.nunreachable + last_stats.nunreachable_shards > 0 ? "true" : "false");
	for (i = 0; i < last_stats.nunreachable; i++)
		appendStringInfo(&s, "%s%d", i ? ", " : "", last_stats.unreachable[i]);
	appendStringInfoString(&s, "]");
	if (last_stats.sharded)
	{
		appendStringInfoString(&s, ", \"unreachable_shards\": [");
		for (i = 0; i < last_stats.nunreachable_shards; i++)
			appendStringInfo(&s, "%s%d", i ? ", " : "", last_stats.unreachable_shards[i]);
		appendStringInfoString(&s, "]");
	}
	/* how fresh the answer is: this node's role in its shard, and how far it may lag the leader */
	appendStringInfo(&s, ", \"node\": %d, \"role\": \"%s\"", tidal_node_id,
					 last_stats.follower ? "follower" : "leader");
	if (last_stats.leader_node >= 0)
		appendStringInfo(&s, ", \"leader_node\": %d", last_stats.leader_node);
	else
		appendStringInfoString(&s, ", \"leader_node\": null");
	if (last_stats.staleness_ms >= 0)
		appendStringInfo(&s, ", \"staleness_ms\": " INT64_FORMAT, last_stats.staleness_ms);
	else
		appendStringInfoString(&s, ", \"staleness_ms\": null");
	if (last_stats.waited_after)
		appendStringInfo(&s, ", \"after_wait_ms\": " INT64_FORMAT, last_stats.after_wait_ms);
	appendStringInfoString(&s, "}");

	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(s.data)));
}
