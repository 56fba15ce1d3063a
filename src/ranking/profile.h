/*
 * ranking/profile.h
 *    Ranking profiles: a weighted sum of signal measures (decayed score,
 *    window count, velocity) and an optional freshness term, compiled from
 *    their JSON spec against the current signal definitions; their records'
 *    validation and apply.
 *
 *    May call: core/, pg/, log/, state/, cluster/, ranking/.
 */
#ifndef TIDAL_PROFILE_H
#define TIDAL_PROFILE_H

#include "postgres.h"

#include "utils/jsonb.h"

#include "core/codec.h"
#include "core/decay.h"

typedef enum ProfileMeasure
{
	PROFILE_DECAY_SCORE,
	PROFILE_WINDOW_COUNT,
	PROFILE_VELOCITY,
	PROFILE_INTEREST			/* similarity to the user's interests (tidal.retrieve, 0.8) */
} ProfileMeasure;

/* a signal the profile reads; its state is read once per item */
typedef struct ProfileSignal
{
	int32		signal_id;
	DecaySpec	spec;
} ProfileSignal;

typedef struct ProfileTerm
{
	int			signal;			/* index into Profile.signals */
	ProfileMeasure measure;
	int			window;			/* window index, for window_count and velocity */
	double		window_hours;
	double		weight;
	bool		log1p;
} ProfileTerm;

typedef struct Profile Profile;
struct Profile
{
	int			nsignals;
	ProfileSignal *signals;
	int			nterms;
	ProfileTerm *terms;
	bool		has_freshness;
	int64		fresh_half_life_us;
	double		fresh_weight;
	bool		fresh_log1p;
	bool		has_interest;	/* an "interest" term: retrieve adds it (ranking/interest.h) */
	double		interest_weight;
	Profile    *interest_popularity;	/* its signals' decay_score terms (NULL: none): the
											 * similarity is multiplied by their score */
};

/* validate a spec and resolve its signals; errors say what is wrong */
extern Profile *profile_compile(Jsonb *spec);

/* a profile spec: bounded size, and it compiles against today's signals */
extern void profile_validate_spec(Jsonb *spec, Size text_len);

/*
 * A replicated profile definition's terms, compiled against the signals
 * defined here -- including those defined earlier in its own batch, so it
 * runs when the record is applied, not with validate_record.
 */
extern void profile_validate_record(const LogRecord *rec);

/*
 * Merge a profile record (kind 5), local or replicated, into
 * tidal.profile_defs in the current transaction: the later HLC wins.
 */
extern void profile_apply_record(const LogRecord *rec);

/* the named profile from tidal.profile_defs, compiled; 42704 if there is none */
extern Profile *profile_lookup(const char *name);

/* an item being ranked */
typedef struct RankItem
{
	int64		item;
	double		score;
	bool		has_creator;
	bool		has_created;
	bool		matches;		/* metadata contains the filter (tidal.retrieve) */
	int64		creator;
	int64		created_at_us;
	bool		explored;		/* chosen for an explore slot (tidal.retrieve) */
} RankItem;

/*
 * Set items[i].score to the tenant's item's score under the profile at
 * at_us, from the hot state as this transaction sees it.  The freshness term counts
 * only items with a known creation time (has_created).
 */
extern void profile_score_items(const Profile *p, int64 tenant, RankItem *items, int n,
								int64 at_us);

#endif							/* TIDAL_PROFILE_H */
