/*
 * ranking/interest.c
 *    A user's model for ranking (interest.h): read from the interest sums
 *    of state/interest.c over every arm and signal, the user's interests,
 *    items' similarity to them and their labels, Thompson draws over the
 *    arms; and its SQL face, tidal.interests and tidal.arms.
 *
 *    May call: core/, pg/, log/, state/, replication/, cluster/, signals/, ranking/.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "cluster/access.h"
#include "core/vector.h"
#include "pg/settings.h"
#include "pg/validate.h"
#include "ranking/interest.h"
#include "state/catalog.h"
#include "state/interest.h"
#include "state/ownership.h"
#include "state/recovery.h"

PG_FUNCTION_INFO_V1(tidal_interests);
PG_FUNCTION_INFO_V1(tidal_arms);
PG_FUNCTION_INFO_V1(tidal_interest_stats);

void
user_model_require_one_shard(const TenantInfo *tenant, const char *what)
{
	bool		split = tenant->tenant == 0 ? ownership_map()->count > 1
		: (tenant->registered && !tenant->stored_here);

	if (split)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s needs the user's whole model, which this shard does not hold alone", what),
				 errdetail("Each shard counts the interests of the events of the items it owns; they are not gathered yet."),
				 errhint("Use interests and exploration in a region of one shard, or for a tenant this shard stores.")));
}

void
user_model_read(int64 tenant, int64 user, int64 at_us, UserModel *m)
{
	int			dims = tidal_embedding_dimensions;
	int			ndefs;
	const SignalDef **defs = catalog_all_signals(&ndefs);
	uint64	   *arms;
	DecayVector *sum = palloc(interest_sum_size());
	int			i;
	int			d;

	m->narms = interest_known_arms(&arms);
	m->arms = palloc0(sizeof(UserArm) * Max(m->narms, 1));
	for (i = 0; i < m->narms; i++)
	{
		UserArm    *a = &m->arms[i];

		a->arm = arms[i];
		a->direction = dims > 0 ? palloc0(sizeof(float4) * dims) : NULL;
		for (d = 0; d < ndefs; d++)
		{
			InterestKey key;
			double		f;

			interest_key_init(&key, MyDatabaseId, defs[d]->id, tenant, user, arms[i]);
			if (!interest_read(&key, sum))
				continue;
			f = decay_vector_factor(sum, defs[d]->spec.half_life_us, at_us);
			if (defs[d]->polarity > 0)
				a->positive += sum->mass * f;
			else if (defs[d]->polarity < 0)
				a->negative += sum->mass * f;
			else
				a->neutral += sum->mass * f;
			if (defs[d]->polarity != 0)
			{
				int			j;

				for (j = 0; j < dims; j++)
				{
					a->direction[j] += (float4) (defs[d]->polarity * sum->vec[j] * f);
					if (a->direction[j] != 0)
						a->has_direction = true;
				}
			}
		}
	}

	/* the interests: arms of net positive mass with a direction, most first */
	m->interests = palloc(sizeof(int) * Max(m->narms, 1));
	m->ninterests = 0;
	for (i = 0; i < m->narms; i++)
	{
		double		net = m->arms[i].positive - m->arms[i].negative;
		int			j;

		if (net <= 0 || !m->arms[i].has_direction)
			continue;
		for (j = m->ninterests; j > 0; j--)
		{
			const UserArm *b = &m->arms[m->interests[j - 1]];
			double		bnet = b->positive - b->negative;

			/* most net mass first; equal ones by arm, so the order does not depend on the table's */
			if (bnet > net || (bnet == net && b->arm < m->arms[i].arm))
				break;
			m->interests[j] = m->interests[j - 1];
		}
		m->interests[j] = i;
		m->ninterests++;
	}
	m->ninterests = Min(m->ninterests, tidal_interest_k);
	for (i = 0; i < m->ninterests; i++)
	{
		UserArm    *a = &m->arms[m->interests[i]];

		a->norm = vector_norm(a->direction, tidal_embedding_dimensions);
	}
	m->top_net = m->ninterests > 0
		? m->arms[m->interests[0]].positive - m->arms[m->interests[0]].negative : 0;
	pfree(sum);
}

void
user_model_arms_only(UserModel *m)
{
	uint64	   *arms;
	int			i;

	m->narms = interest_known_arms(&arms);
	m->arms = palloc0(sizeof(UserArm) * Max(m->narms, 1));
	for (i = 0; i < m->narms; i++)
		m->arms[i].arm = arms[i];
	m->interests = NULL;
	m->ninterests = 0;
	m->top_net = 0;
}

int
user_model_arm_index(const UserModel *m, uint64 arm)
{
	int			i;

	for (i = 0; i < m->narms; i++)
		if (m->arms[i].arm == arm)
			return i;
	return -1;
}

double
user_model_interest(const UserModel *m, const int8 *q, const char **label, int *nearest)
{
	double		best = 0;
	double		best_cos = -1;
	int			near = 0;
	int			k;

	*label = LABEL_NONE;
	*nearest = -1;
	if (q == NULL || m->ninterests == 0)
		return 0;
	for (k = 0; k < m->ninterests; k++)
	{
		const UserArm *a = &m->arms[m->interests[k]];
		double		c = vector_cosine_qn(a->direction, a->norm, q, tidal_embedding_dimensions);
		double		share = (a->positive - a->negative) / m->top_net;

		if (c * share > best)
			best = c * share;
		if (c > best_cos)
		{
			best_cos = c;
			*nearest = k;
		}
		if (c >= 0.9 * tidal_match_similarity)
			near++;
	}
	if (near >= 2)
		*label = LABEL_SURPRISE;
	else if (best_cos >= tidal_match_similarity)
		*label = LABEL_MATCH;
	return best;
}

int
user_model_near(const UserModel *m, const int8 *q, int *out)
{
	double	   *cos = palloc(sizeof(double) * Max(m->ninterests, 1));
	int			n = 0;
	int			k;

	if (q == NULL)
		return 0;
	for (k = 0; k < m->ninterests; k++)
	{
		const UserArm *a = &m->arms[m->interests[k]];
		double		c = vector_cosine_qn(a->direction, a->norm, q, tidal_embedding_dimensions);
		int			j;

		if (c < 0.9 * tidal_match_similarity)
			continue;
		/* insert in order: nearest first */
		for (j = n; j > 0 && cos[j - 1] < c; j--)
		{
			cos[j] = cos[j - 1];
			out[j] = out[j - 1];
		}
		cos[j] = c;
		out[j] = k;
		n++;
	}
	pfree(cos);
	return n;
}

void
user_arm_counts(const UserArm *a, double *successes, double *failures)
{
	/* an impression nothing answered is a failure; reactions count as themselves */
	*successes = a->positive;
	*failures = a->negative + Max(0, a->neutral - a->positive - a->negative);
}

/* a standard normal draw (Box-Muller) */
static double
draw_normal(pg_prng_state *prng)
{
	double		u1 = 1.0 - pg_prng_double(prng);	/* (0, 1] */
	double		u2 = pg_prng_double(prng);

	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* a Gamma(shape, 1) draw for shape >= 1 (Marsaglia and Tsang, 2000) */
static double
draw_gamma(double shape, pg_prng_state *prng)
{
	double		d = shape - 1.0 / 3.0;
	double		c = 1.0 / sqrt(9.0 * d);

	for (;;)
	{
		double		x = draw_normal(prng);
		double		v = 1.0 + c * x;
		double		u;

		if (v <= 0)
			continue;
		v = v * v * v;
		u = 1.0 - pg_prng_double(prng);
		if (log(u) < 0.5 * x * x + d - d * v + d * log(v))
			return d * v;
	}
}

double
user_model_draw(const UserModel *m, int i, pg_prng_state *prng)
{
	double		s = 0;
	double		f = 0;
	double		x;
	double		y;

	if (i >= 0)
		user_arm_counts(&m->arms[i], &s, &f);
	x = draw_gamma(1.0 + s, prng);
	y = draw_gamma(1.0 + f, prng);
	return x / (x + y);
}

/* ---- SQL ---- */

/* the arguments both functions take: user_id, tenant, at */
static void
model_arguments(FunctionCallInfo fcinfo, const char *what, UserModel *m)
{
	TenantInfo	tenant;
	int64		tenant_id;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s: user_id and at must not be NULL", what)));
	tidal_ensure_loaded();
	tenant_id = tenant_argument(fcinfo, 1, &tenant);
	user_model_require_one_shard(&tenant, what);
	user_model_read(tenant_id, PG_GETARG_INT64(0),
					signal_time_usecs(PG_GETARG_TIMESTAMPTZ(2), "at"), m);
}

/*
 * tidal.interests(user_id bigint, tenant bigint DEFAULT 0, at timestamptz DEFAULT now())
 *    RETURNS TABLE(arm text, mass float8, share float8, centroid real[])
 */
Datum
tidal_interests(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	UserModel	m;
	double		total = 0;
	int			k;

	model_arguments(fcinfo, "tidal.interests", &m);
	for (k = 0; k < m.ninterests; k++)
		total += m.arms[m.interests[k]].positive - m.arms[m.interests[k]].negative;
	InitMaterializedSRF(fcinfo, 0);
	for (k = 0; k < m.ninterests; k++)
	{
		const UserArm *a = &m.arms[m.interests[k]];
		int			dims = tidal_embedding_dimensions;
		Datum	   *elems = palloc(sizeof(Datum) * dims);
		double		norm = 0;
		char		name[INTEREST_ARM_NAME_LEN];
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};
		int			j;

		for (j = 0; j < dims; j++)
			norm += (double) a->direction[j] * a->direction[j];
		norm = sqrt(norm);
		for (j = 0; j < dims; j++)
			elems[j] = Float4GetDatum((float4) (a->direction[j] / norm));
		(void) interest_arm_name(a->arm, name);
		values[0] = CStringGetTextDatum(name);
		values[1] = Float8GetDatum(a->positive - a->negative);
		values[2] = Float8GetDatum((a->positive - a->negative) / total);
		values[3] = PointerGetDatum(construct_array(elems, dims, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * tidal.arms(user_id bigint, tenant bigint DEFAULT 0, at timestamptz DEFAULT now())
 *    RETURNS TABLE(arm text, successes float8, failures float8, trials float8, mean float8)
 */
Datum
tidal_arms(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	UserModel	m;
	int			i;

	model_arguments(fcinfo, "tidal.arms", &m);
	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < m.narms; i++)
	{
		const UserArm *a = &m.arms[i];
		char		name[INTEREST_ARM_NAME_LEN];
		double		s;
		double		f;
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		user_arm_counts(a, &s, &f);
		(void) interest_arm_name(a->arm, name);
		values[0] = CStringGetTextDatum(name);
		values[1] = Float8GetDatum(s);
		values[2] = Float8GetDatum(f);
		values[3] = Float8GetDatum(a->neutral);
		values[4] = Float8GetDatum((1.0 + s) / (2.0 + s + f));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * tidal.interest_stats() RETURNS TABLE(entries bigint, capacity int,
 *                                      overflows bigint, arms int)
 *    this database's interest sums, the instance's table size, the events
 *    left out of interests because it was full (since the server started),
 *    and the arm names known
 */
Datum
tidal_interest_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	uint64	   *arms;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	InitMaterializedSRF(fcinfo, 0);
	values[0] = Int64GetDatum(interest_entry_count(MyDatabaseId));
	values[1] = Int32GetDatum(tidal_max_interests);
	values[2] = Int64GetDatum(interest_overflows());
	values[3] = Int32GetDatum(interest_known_arms(&arms));
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}
