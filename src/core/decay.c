/*
 * core/decay.c
 *    Decayed sums and bucketed window sums (see decay.h for the maths).
 *
 * Everything here is pure: no locks, no memory allocation, no errors.
 *
 *    May call: core/ only (and PostgreSQL).
 */
#include "c.h"

#include <math.h>

#include "core/decay.h"

#define MIN_WINDOW_US	(INT64CONST(60) * 1000000)	/* 1 minute */
#define MAX_WINDOW_US	(INT64CONST(30) * 24 * DECAY_USECS_PER_HOUR)	/* 30 days */

/* floor(a / b) for b > 0, correct for negative a (times before 1970) */
static inline int64
floor_div(int64 a, int64 b)
{
	int64		q = a / b;

	if ((a % b) != 0 && a < 0)
		q--;
	return q;
}

static inline int
ring_slot(int64 bucket)
{
	int64		r = bucket % DECAY_WINDOW_BUCKETS;

	return (int) (r < 0 ? r + DECAY_WINDOW_BUCKETS : r);
}

void
decay_init(DecayState *s)
{
	memset(s, 0, sizeof(*s));
	s->latest_us = DECAY_EMPTY;
}

void
decay_add(DecayState *s, const DecaySpec *spec, double weight, int64 t_us)
{
	int			w;

	if (s->latest_us == DECAY_EMPTY)
	{
		decay_init(s);
		s->latest_us = t_us;
		s->sum = weight;
		for (w = 0; w < spec->nwindows; w++)
			s->buckets[w][ring_slot(floor_div(t_us, spec->bucket_us[w]))] = weight;
		return;
	}

	if (t_us > s->latest_us)
	{
		/* re-anchor at the new latest time, expiring buckets that fell out */
		s->sum = s->sum * exp2(-(double) (t_us - s->latest_us) / spec->half_life_us) + weight;
		for (w = 0; w < spec->nwindows; w++)
		{
			int64		old_head = floor_div(s->latest_us, spec->bucket_us[w]);
			int64		new_head = floor_div(t_us, spec->bucket_us[w]);
			int64		b;

			if (new_head - old_head >= DECAY_WINDOW_BUCKETS)
				memset(s->buckets[w], 0, sizeof(s->buckets[w]));
			else
				for (b = old_head + 1; b <= new_head; b++)
					s->buckets[w][ring_slot(b)] = 0;
			s->buckets[w][ring_slot(new_head)] += weight;
		}
		s->latest_us = t_us;
		return;
	}

	/* an event at or before the anchor: decay it to the anchor and add */
	s->sum += weight * exp2(-(double) (s->latest_us - t_us) / spec->half_life_us);
	for (w = 0; w < spec->nwindows; w++)
	{
		int64		head = floor_div(s->latest_us, spec->bucket_us[w]);
		int64		b = floor_div(t_us, spec->bucket_us[w]);

		if (b > head - DECAY_WINDOW_BUCKETS)
			s->buckets[w][ring_slot(b)] += weight;
		/* else: older than any window can reach; only the decayed sum keeps it */
	}
}

void
decay_merge(DecayState *s, const DecaySpec *spec, const DecayState *add)
{
	int64		latest;
	int			w;

	if (add->latest_us == DECAY_EMPTY)
		return;
	if (s->latest_us == DECAY_EMPTY)
	{
		*s = *add;
		return;
	}
	latest = Max(s->latest_us, add->latest_us);
	s->sum = s->sum * exp2(-(double) (latest - s->latest_us) / spec->half_life_us) +
		add->sum * exp2(-(double) (latest - add->latest_us) / spec->half_life_us);
	for (w = 0; w < spec->nwindows; w++)
	{
		int64		head = floor_div(latest, spec->bucket_us[w]);
		int64		s_head = floor_div(s->latest_us, spec->bucket_us[w]);
		int64		a_head = floor_div(add->latest_us, spec->bucket_us[w]);
		double		merged[DECAY_WINDOW_BUCKETS];
		int64		b;

		/* the buckets the new head's ring holds; each side holds those within its own ring */
		for (b = head - DECAY_WINDOW_BUCKETS + 1; b <= head; b++)
		{
			double		v = 0.0;

			if (b <= s_head && b > s_head - DECAY_WINDOW_BUCKETS)
				v += s->buckets[w][ring_slot(b)];
			if (b <= a_head && b > a_head - DECAY_WINDOW_BUCKETS)
				v += add->buckets[w][ring_slot(b)];
			merged[ring_slot(b)] = v;
		}
		memcpy(s->buckets[w], merged, sizeof(merged));
	}
	s->latest_us = latest;
}

double
decay_score(const DecayState *s, const DecaySpec *spec, int64 at_us)
{
	if (s->latest_us == DECAY_EMPTY)
		return 0.0;
	return s->sum * exp2(-(double) (at_us - s->latest_us) / spec->half_life_us);
}

double
decay_window_sum(const DecayState *s, const DecaySpec *spec, int window, int64 at_us)
{
	int64		head;
	int64		at_bucket;
	int64		lo;
	int64		hi;
	int64		b;
	double		total = 0.0;

	Assert(window >= 0 && window < spec->nwindows);
	if (s->latest_us == DECAY_EMPTY)
		return 0.0;

	head = floor_div(s->latest_us, spec->bucket_us[window]);
	at_bucket = floor_div(at_us, spec->bucket_us[window]);

	/* buckets (at_bucket - N, at_bucket], intersected with what the ring holds */
	hi = Min(at_bucket, head);
	lo = Max(at_bucket, head) - DECAY_WINDOW_BUCKETS + 1;
	for (b = lo; b <= hi; b++)
		total += s->buckets[window][ring_slot(b)];
	return total;
}

bool
decay_window_supported(int64 window_us, const char **why)
{
	if (window_us < MIN_WINDOW_US || window_us > MAX_WINDOW_US)
	{
		*why = "a window must be between 1 minute and 30 days long";
		return false;
	}
	if (window_us % MIN_WINDOW_US != 0)
	{
		*why = "a window must be a whole number of minutes";
		return false;
	}
	return true;
}

void
decay_spec_init(DecaySpec *spec, int64 half_life_us, int nwindows, const int64 *window_us)
{
	int			w;

	memset(spec, 0, sizeof(*spec));
	spec->half_life_us = (double) half_life_us;
	spec->nwindows = nwindows;
	for (w = 0; w < nwindows; w++)
	{
		spec->window_us[w] = window_us[w];
		/*
		 * a whole number of minutes split in 10 is a whole number of µs;
		 * windows are validated (validate.c), and the floor of 1 keeps the
		 * bucket arithmetic, which runs at commit, free of a division by 0
		 * whatever reaches it
		 */
		spec->bucket_us[w] = Max(window_us[w] / DECAY_WINDOW_BUCKETS, 1);
	}
}
