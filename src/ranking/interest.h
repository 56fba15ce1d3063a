/*
 * ranking/interest.h
 *    A user's model as ranking reads it (issue 16): per arm the decayed
 *    masses of the user's positive, negative and neutral reactions and the
 *    direction of their embeddings (state/interest.h, summed over the
 *    signals with their polarity), the user's interests (the k arms of
 *    most net positive mass), the similarity of an item to them, its label,
 *    and Thompson sampling over the arms.  The SQL functions
 *    tidal.interests and tidal.arms.
 *
 *    May call: core/, pg/, log/, state/, replication/, cluster/, signals/, ranking/.
 */
#ifndef TIDAL_RANKING_INTEREST_H
#define TIDAL_RANKING_INTEREST_H

#include "postgres.h"

#include "common/pg_prng.h"

#include "cluster/tenant.h"

typedef struct UserArm
{
	uint64		arm;
	double		positive;		/* decayed mass of reactions of polarity 1 */
	double		negative;		/* ... of polarity -1 */
	double		neutral;		/* ... of polarity 0: impressions, the bandit's trials */
	float4	   *direction;		/* Σ polarity · decayed embeddings (tidal.embedding_dimensions) */
	bool		has_direction;
	double		norm;			/* |direction| */
} UserArm;

typedef struct UserModel
{
	int			narms;
	UserArm    *arms;			/* every arm known here */
	int			ninterests;
	int		   *interests;		/* indexes into arms, most net mass first, at most tidal.interest_k */
	double		top_net;		/* the first interest's net mass */
} UserModel;

/* labels of tidal.retrieve's rows */
#define LABEL_NONE		NULL
#define LABEL_MATCH		"match"
#define LABEL_SURPRISE	"surprise"
#define LABEL_EXPLORING	"exploring"

/*
 * Refuse (0A000) what needs a user's whole model where it is split over
 * several shards of this region (not yet gathered: docs/reference.md).
 */
extern void user_model_require_one_shard(const TenantInfo *tenant, const char *what);

/* the user's model at at_us, from the committed interests */
extern void user_model_read(int64 tenant, int64 user, int64 at_us, UserModel *m);

/* no user: every arm known here, with no counts and no interests */
extern void user_model_arms_only(UserModel *m);

/* the arm's index in m, or -1 */
extern int	user_model_arm_index(const UserModel *m, uint64 arm);

/*
 * An item's interest score (the best cosine similarity to an interest,
 * weighted by that interest's share of the top one's mass), its label
 * (match, surprise, or none) and the interest it is nearest to (an index
 * into m->interests; -1 if none).  q: its quantized embedding (NULL: none).
 */
extern double user_model_interest(const UserModel *m, const int8 *q, const char **label, int *nearest);

/*
 * The interests an item is near (cosine at least 0.9 x tidal.match_similarity),
 * nearest first, as indexes into m->interests into out (m->ninterests long);
 * returns how many.
 */
extern int	user_model_near(const UserModel *m, const int8 *q, int *out);

/* a Thompson draw for arm i: Beta(1 + successes, 1 + failures) */
extern double user_model_draw(const UserModel *m, int i, pg_prng_state *prng);

/* the bandit's counts of an arm */
extern void user_arm_counts(const UserArm *a, double *successes, double *failures);

#endif							/* TIDAL_RANKING_INTEREST_H */
