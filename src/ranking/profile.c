/*
 * ranking/profile.c
 *    Owns ranking profiles: tidal.define_profile, the validation and apply
 *    of profile records (kind 5), local or replicated, compiling a profile's
 *    JSON spec, and scoring an item with it.
 *
 * A spec is an object with "terms" (an array) and/or "freshness":
 *
 *    {"terms": [{"signal": "view", "measure": "decay_score", "weight": 1,
 *                "transform": "log1p"},
 *               {"signal": "like", "measure": "window_count", "window": "1 hour"}],
 *     "freshness": {"half_life": "1 day", "weight": 2}}
 *
 * "signal": "*" stands for every defined signal.  An item's score is
 * Σ weight · f(measure) over the terms, plus weight · f(2^(−age/half_life))
 * for freshness, where f is the identity or the signed log1p.  See
 * docs/reference.md.
 *
 * May call: core/, pg/, log/, state/, cluster/, ranking/.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "cluster/election.h"
#include "core/codec.h"
#include "core/hlc.h"
#include "log/append.h"
#include "pg/owner.h"
#include "pg/query.h"
#include "pg/settings.h"
#include "pg/validate.h"
#include "ranking/profile.h"
#include "state/catalog.h"
#include "state/clock.h"
#include "state/recovery.h"
#include "state/stage.h"
#include "state/state.h"

PG_FUNCTION_INFO_V1(tidal_define_profile);

#define MAX_PROFILE_TERMS		32

#define PROFILE_HINT "See \"Ranking profiles\" in docs/reference.md; tidal.profiles shows examples."

static void
spec_error(const char *fmt, const char *arg) pg_attribute_noreturn();

static void
spec_error(const char *fmt, const char *arg)
{
	char		detail[256];

	snprintf(detail, sizeof(detail), fmt, arg);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid ranking profile: %s", detail),
			 errhint(PROFILE_HINT)));
}

/* ---- reading the spec ---- */

static char *
string_value(const JsonbValue *v, const char *what)
{
	if (v->type != jbvString)
		spec_error("%s must be a string", what);
	return pnstrdup(v->val.string.val, v->val.string.len);
}

static double
number_value(const JsonbValue *v, const char *what)
{
	double		d;

	if (v->type != jbvNumeric)
		spec_error("%s must be a number", what);
	/* through text, so that a number beyond float8's range is an infinity, not an error */
	d = strtod(DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric))), NULL);
	if (isnan(d) || isinf(d))
		spec_error("%s must be a finite number", what);
	return d;
}

static bool
transform_value(const JsonbValue *v)
{
	char	   *t = string_value(v, "\"transform\"");

	if (strcmp(t, "log1p") == 0)
		return true;
	if (strcmp(t, "none") == 0)
		return false;
	spec_error("unknown transform \"%s\" (use \"log1p\" or \"none\")", t);
}

static int64
interval_value(const JsonbValue *v, const char *what)
{
	char	   *s = string_value(v, what);
	Interval   *iv = DatumGetIntervalP(DirectFunctionCall3(interval_in, CStringGetDatum(s),
														   ObjectIdGetDatum(InvalidOid),
														   Int32GetDatum(-1)));

	return catalog_interval_usecs(iv, what);
}

/* the container of an object value, or an error */
static JsonbContainer *
object_value(const JsonbValue *v, const char *what)
{
	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		spec_error("%s must be a JSON object", what);
	return v->val.binary.data;
}

/*
 * Call fn for each key of an object (one level).  Keys are NUL-terminated
 * copies; values of nested containers come as jbvBinary.
 */
typedef void (*pair_fn) (const char *key, JsonbValue *value, void *arg);

static void
for_each_pair(JsonbContainer *obj, pair_fn fn, void *arg)
{
	JsonbIterator *it = JsonbIteratorInit(obj);
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			key = pnstrdup(v.val.string.val, v.val.string.len);
		else if (tok == WJB_VALUE)
			fn(key, &v, arg);
	}
}

/* ---- compiling ---- */

typedef struct TermSpec
{
	char	   *signal;
	ProfileMeasure measure;
	bool		has_window;
	int64		window_us;
	double		weight;
	bool		log1p;
} TermSpec;

static void
term_pair(const char *key, JsonbValue *v, void *arg)
{
	TermSpec   *t = (TermSpec *) arg;

	if (strcmp(key, "signal") == 0)
		t->signal = string_value(v, "a term's \"signal\"");
	else if (strcmp(key, "measure") == 0)
	{
		char	   *m = string_value(v, "\"measure\"");

		if (strcmp(m, "decay_score") == 0)
			t->measure = PROFILE_DECAY_SCORE;
		else if (strcmp(m, "window_count") == 0)
			t->measure = PROFILE_WINDOW_COUNT;
		else if (strcmp(m, "velocity") == 0)
			t->measure = PROFILE_VELOCITY;
		else if (strcmp(m, "interest") == 0)
			t->measure = PROFILE_INTEREST;
		else
			spec_error("unknown measure \"%s\" (use \"decay_score\", \"window_count\", \"velocity\" or \"interest\")", m);
	}
	else if (strcmp(key, "window") == 0)
	{
		t->has_window = true;
		t->window_us = interval_value(v, "a term's \"window\"");
	}
	else if (strcmp(key, "weight") == 0)
		t->weight = number_value(v, "a term's \"weight\"");
	else if (strcmp(key, "transform") == 0)
		t->log1p = transform_value(v);
	else
		spec_error("unknown key \"%s\" in a term (use signal, measure, window, weight, transform)", key);
}

static void
freshness_pair(const char *key, JsonbValue *v, void *arg)
{
	Profile    *p = (Profile *) arg;

	if (strcmp(key, "half_life") == 0)
		p->fresh_half_life_us = interval_value(v, "freshness \"half_life\"");
	else if (strcmp(key, "weight") == 0)
		p->fresh_weight = number_value(v, "freshness \"weight\"");
	else if (strcmp(key, "transform") == 0)
		p->fresh_log1p = transform_value(v);
	else
		spec_error("unknown key \"%s\" in \"freshness\" (use half_life, weight, transform)", key);
}

/* index of the signal in p->signals, adding it if new */
static int
profile_signal_index(Profile *p, const SignalDef *def)
{
	int			i;

	for (i = 0; i < p->nsignals; i++)
		if (p->signals[i].signal_id == def->id)
			return i;
	p->signals[p->nsignals].signal_id = def->id;
	p->signals[p->nsignals].spec = def->spec;
	return p->nsignals++;
}

/*
 * Add the term for one signal.  For a named signal a missing window is an
 * error; for "*" a signal without that window is skipped (false).
 */
static bool
add_term(Profile *p, const TermSpec *t, const SignalDef *def, bool wildcard)
{
	ProfileTerm *term = &p->terms[p->nterms];
	int			w = 0;

	if (t->measure != PROFILE_DECAY_SCORE)
	{
		if (def->spec.nwindows == 0)
		{
			if (wildcard)
				return false;
			spec_error("signal \"%s\" has no windows, so it has no window_count or velocity", def->name);
		}
		if (t->has_window)
		{
			for (w = 0; w < def->spec.nwindows; w++)
				if (def->spec.window_us[w] == t->window_us)
					break;
			if (w == def->spec.nwindows)
			{
				if (wildcard)
					return false;
				(void) catalog_window_index(def, t->window_us);	/* errors, listing them */
			}
		}
		else
		{
			int			i;

			/* the shortest window, whatever order the definition listed them in */
			for (i = 1; i < def->spec.nwindows; i++)
				if (def->spec.window_us[i] < def->spec.window_us[w])
					w = i;
		}
	}
	term->signal = profile_signal_index(p, def);
	term->measure = t->measure;
	term->window = w;
	term->window_hours = t->measure == PROFILE_DECAY_SCORE ? 0 :
		(double) def->spec.window_us[w] / (double) DECAY_USECS_PER_HOUR;
	term->weight = t->weight;
	term->log1p = t->log1p;
	p->nterms++;
	return true;
}

/*
 * The interest term: weight x the item's similarity to the user's interests
 * (the interests come from every signal with a polarity), times, when it
 * names signals, f(their decayed score): popularity among the signal's
 * events, as a decay_score term of them would read it.
 */
static void
compile_interest_term(Profile *p, const TermSpec *t, const SignalDef **all, int nall)
{
	Profile    *pop;
	TermSpec	sub = *t;

	if (p->has_interest)
		spec_error("%s", "at most one \"interest\" term");
	if (t->has_window)
		spec_error("%s", "an \"interest\" term takes no \"window\"");
	if (t->log1p && t->signal == NULL)
		spec_error("%s", "an \"interest\" term's \"transform\" applies to its signal's score: name a \"signal\"");
	p->has_interest = true;
	p->interest_weight = t->weight;
	if (t->signal == NULL)
		return;

	pop = palloc0(sizeof(Profile));
	pop->terms = palloc(sizeof(ProfileTerm) * Max(nall, 1));
	pop->signals = palloc(sizeof(ProfileSignal) * Max(nall, 1));
	sub.measure = PROFILE_DECAY_SCORE;
	sub.weight = 1.0;
	if (strcmp(t->signal, "*") == 0)
	{
		int			i;

		for (i = 0; i < nall; i++)
			(void) add_term(pop, &sub, all[i], true);
	}
	else
		(void) add_term(pop, &sub, catalog_signal(t->signal, false), false);
	p->interest_popularity = pop;
}

static void
compile_terms(Profile *p, JsonbContainer *arr)
{
	JsonbIterator *it = JsonbIteratorInit(arr);
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			nall;
	const SignalDef **all = catalog_all_signals(&nall);
	int			nspec = 0;

	/* at most MAX_PROFILE_TERMS terms, each expanding to at most every signal */
	p->terms = palloc(sizeof(ProfileTerm) * MAX_PROFILE_TERMS * Max(nall, 1));
	p->signals = palloc(sizeof(ProfileSignal) * Max(nall, 1));

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		TermSpec	t;

		if (tok != WJB_ELEM)
			continue;
		if (++nspec > MAX_PROFILE_TERMS)
			spec_error("more than %s terms", "32");
		memset(&t, 0, sizeof(t));
		t.weight = 1.0;
		for_each_pair(object_value(&v, "each term"), term_pair, &t);
		if (t.measure == PROFILE_INTEREST)
		{
			compile_interest_term(p, &t, all, nall);
			continue;
		}
		if (t.signal == NULL)
			spec_error("%s", "every term needs a \"signal\" (a signal name, or \"*\" for all)");
		if (t.has_window && t.measure == PROFILE_DECAY_SCORE)
			spec_error("%s", "\"window\" applies only to the window_count and velocity measures");

		if (strcmp(t.signal, "*") == 0)
		{
			int			i;

			for (i = 0; i < nall; i++)
				(void) add_term(p, &t, all[i], true);
		}
		else
			(void) add_term(p, &t, catalog_signal(t.signal, false), false);
	}
}

typedef struct TopLevel
{
	Profile    *p;
	bool		has_terms;
} TopLevel;

static void
top_pair(const char *key, JsonbValue *v, void *arg)
{
	TopLevel   *top = (TopLevel *) arg;

	if (strcmp(key, "terms") == 0)
	{
		if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
			spec_error("%s", "\"terms\" must be a JSON array");
		top->has_terms = JsonContainerSize(v->val.binary.data) > 0;
		compile_terms(top->p, v->val.binary.data);
	}
	else if (strcmp(key, "freshness") == 0)
	{
		Profile    *p = top->p;

		p->has_freshness = true;
		p->fresh_weight = 1.0;
		for_each_pair(object_value(v, "\"freshness\""), freshness_pair, p);
		if (p->fresh_half_life_us <= 0)
			spec_error("%s", "freshness needs a positive \"half_life\", e.g. \"1 day\"");
	}
	else
		spec_error("unknown key \"%s\" (a profile has \"terms\" and \"freshness\")", key);
}

Profile *
profile_compile(Jsonb *spec)
{
	Profile    *p = palloc0(sizeof(Profile));
	TopLevel	top = {p, false};

	if (!JB_ROOT_IS_OBJECT(spec))
		spec_error("%s", "the spec must be a JSON object");
	for_each_pair(&spec->root, top_pair, &top);
	if (!top.has_terms && !p->has_freshness)
		spec_error("%s", "it needs at least one term or a freshness term");
	return p;
}

Profile *
profile_lookup(const char *name)
{
	static OwnedQuery q = {
		"SELECT spec FROM tidal.profile_defs WHERE name = $1", 1, {TEXTOID}, NULL
	};
	Datum		args[1];
	Datum		spec = (Datum) 0;
	TidalSavedUser saved;

	args[0] = CStringGetTextDatum(name);
	query_begin(&saved);
	query_exec(&q, args, NULL, true, SPI_OK_SELECT);
	if (SPI_processed == 1)
	{
		bool		isnull;

		spec = SPI_datumTransfer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull),
								 false, -1);
	}
	query_end(&saved);

	if (spec == (Datum) 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("ranking profile \"%s\" does not exist", name),
				 errhint("tidal.profiles lists the profiles; tidal.define_profile() defines one.")));
	/* detoasted here, not inside SPI: a copy made there would die with its context */
	return profile_compile(DatumGetJsonbP(spec));
}

/* ---- scoring ---- */

static inline double
transformed(double x, bool log1p_)
{
	return log1p_ ? copysign(log1p(fabs(x)), x) : x;
}

/* one signal's pass over the items */
typedef struct SignalPass
{
	const Profile *p;
	int			signal;			/* index into p->signals */
	RankItem   *items;
	double	   *scores;			/* the items' scores, dense: the visits come in hash order */
	int64		at_us;
	bool		overlay;		/* this transaction has staged events of the signal */
	int64		tenant;
} SignalPass;

/* add the terms of one signal for one item; runs under a partition lock */
static void
add_signal_terms(int i, const DecayState *found, void *arg)
{
	SignalPass *pass = (SignalPass *) arg;
	const Profile *p = pass->p;
	const DecaySpec *spec = &p->signals[pass->signal].spec;
	DecayState	own;
	const DecayState *st = found;
	double		score = 0.0;
	int			t;

	if (pass->overlay)
	{
		StateKey	key;

		/* stage_overlay only reads backend memory: safe under the lock */
		if (found)
			own = *found;
		else
			decay_init(&own);
		state_key_init(&key, MyDatabaseId, p->signals[pass->signal].signal_id,
					   pass->tenant, pass->items[i].item);
		stage_overlay(&key, spec, &own);
		st = &own;
	}
	if (st == NULL)
		return;					/* no events: every measure is 0 */

	for (t = 0; t < p->nterms; t++)
	{
		const ProfileTerm *term = &p->terms[t];
		double		x;

		if (term->signal != pass->signal)
			continue;
		if (term->measure == PROFILE_DECAY_SCORE)
			x = decay_score(st, spec, pass->at_us);
		else
		{
			x = decay_window_sum(st, spec, term->window, pass->at_us);
			if (term->measure == PROFILE_VELOCITY)
				x /= term->window_hours;
		}
		score += term->weight * transformed(x, term->log1p);
	}
	pass->scores[i] += score;
}

void
profile_score_items(const Profile *p, int64 tenant, RankItem *items, int n, int64 at_us)
{
	int64	   *entities = palloc(sizeof(int64) * Max(n, 1));
	double	   *scores = palloc(sizeof(double) * Max(n, 1));
	int			i;
	int			s;

	for (i = 0; i < n; i++)
	{
		entities[i] = items[i].item;
		scores[i] = 0.0;
		if (p->has_freshness && items[i].has_created)
		{
			double		age = (double) Max(at_us - items[i].created_at_us, 0);
			double		f = exp2(-age / (double) p->fresh_half_life_us);

			scores[i] = p->fresh_weight * transformed(f, p->fresh_log1p);
		}
	}

	for (s = 0; s < p->nsignals; s++)
	{
		SignalPass	pass = {p, s, items, scores, at_us,
		stage_has_signal(p->signals[s].signal_id), tenant};

		CHECK_FOR_INTERRUPTS();
		state_visit_many(MyDatabaseId, p->signals[s].signal_id, tenant, entities, n,
						 add_signal_terms, &pass);
	}
	/* a profile term read far before an event can overflow: an error, never Infinity or NaN */
	for (i = 0; i < n; i++)
		items[i].score = tidal_check_score(scores[i], at_us, "a ranking score");
	pfree(entities);
	pfree(scores);
}

/* ---- definitions: validation and apply ---- */

void
profile_validate_spec(Jsonb *spec, Size text_len)
{
	if (text_len > MAX_PROFILE_SPEC_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("invalid ranking profile: the spec is longer than %d bytes", MAX_PROFILE_SPEC_BYTES)));
	(void) profile_compile(spec);	/* errors on a bad spec */
}

void
profile_validate_record(const LogRecord *rec)
{
	Assert(rec->kind == LOG_RECORD_DEFINE_PROFILE);
	profile_validate_spec(validate_record_json(rec, MAX_PROFILE_SPEC_BYTES, "a profile spec"), rec->text_len);
}

void
profile_apply_record(const LogRecord *rec)
{
	static OwnedQuery q = {
		"INSERT INTO tidal.profile_defs AS p (name, spec, defined_at) "
		"VALUES ($1, $2::pg_catalog.jsonb, tidal.hlc($3, $4, $5)) "
		"ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, defined_at = excluded.defined_at "
		"WHERE tidal.hlc_cmp(p.defined_at, excluded.defined_at) OPERATOR(pg_catalog.<) 0",
		5, {TEXTOID, TEXTOID, INT8OID, INT4OID, INT4OID}, NULL
	};
	Datum		args[5];

	Assert(rec->kind == LOG_RECORD_DEFINE_PROFILE);
	args[0] = PointerGetDatum(cstring_to_text_with_len(rec->name, rec->name_len));
	args[1] = PointerGetDatum(cstring_to_text_with_len(rec->text, (int) rec->text_len));
	(void) query_merge_by_hlc(&q, args, NULL, &rec->hlc);
}

/* ---- tidal.define_profile ---- */

/* tidal.define_profile(name text, spec jsonb) RETURNS tidal.hlc; replaces an older definition */
Datum
tidal_define_profile(PG_FUNCTION_ARGS)
{
	char	   *name;
	Jsonb	   *spec;
	char	   *spec_text;
	TidalHlc   *hlc;
	StringInfoData rec;
	LogRecord	decoded;

	tidal_require_preload();
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("tidal.define_profile arguments must not be NULL")));
	election_require_leader("tidal.define_profile");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	validate_name(name, strlen(name), "profile");
	spec = PG_GETARG_JSONB_P(1);
	spec_text = JsonbToCString(NULL, &spec->root, VARSIZE(spec));
	tidal_ensure_loaded();
	profile_validate_spec(spec, strlen(spec_text));	/* as a replicated definition's */

	hlc = palloc(sizeof(TidalHlc));
	*hlc = hlc_clock_now();
	initStringInfo(&rec);
	codec_define_profile_record(&rec, hlc, name, spec_text);
	log_append_record(rec.data, rec.len, &decoded);
	profile_apply_record(&decoded);

	PG_RETURN_HLC_P(hlc);
}
