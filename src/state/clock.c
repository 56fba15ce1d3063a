/*
 * state/clock.c
 *    This instance's hybrid logical clock, kept in shared memory so that
 *    every backend draws from one strictly increasing sequence (Kulkarni et
 *    al., "Logical Physical Clocks", 2014), and the SQL functions that read
 *    it.  May call: core/ (the hlc type), pg/ (settings).
 */
#include "postgres.h"

#include <time.h>

#include "common/int.h"
#include "datatype/timestamp.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/timestamp.h"

#include "core/hlc.h"
#include "pg/settings.h"
#include "state/clock.h"

PG_FUNCTION_INFO_V1(tidal_hlc_now);
PG_FUNCTION_INFO_V1(tidal_hlc_receive);

/* The clock's state in shared memory: the last hlc it issued. */
typedef struct HlcClockState
{
	slock_t		mutex;			/* protects the fields below */
	int64		last_wall_ns;
	int32		last_logical;
} HlcClockState;

static HlcClockState *hlc_clock = NULL;

/* ---------------------------------------------------------------------
 * The clock
 * ---------------------------------------------------------------------
 */

Size
hlc_shmem_size(void)
{
	return MAXALIGN(sizeof(HlcClockState));
}

/* Called from tidal.c's shmem_startup_hook with AddinShmemInitLock held. */
void
hlc_shmem_init(void)
{
	bool		found;

	hlc_clock = (HlcClockState *) ShmemInitStruct("tidal hlc clock",
												  hlc_shmem_size(), &found);
	if (!found)
	{
		SpinLockInit(&hlc_clock->mutex);
		hlc_clock->last_wall_ns = 0;
		hlc_clock->last_logical = 0;
	}
}

static void
hlc_check_clock(void)
{
	if (unlikely(hlc_clock == NULL))
		elog(ERROR, "tidal hlc clock shared memory is not initialized");
}

/* Physical time in ns since the Unix epoch (never negative). */
static int64
hlc_physical_ns(void)
{
	struct timespec ts;
	int64		ns;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		elog(ERROR, "clock_gettime(CLOCK_REALTIME) failed: %m");
	ns = (int64) ts.tv_sec * INT64CONST(1000000000) + ts.tv_nsec;
	return Max(ns, 0);
}

/* This node's id as configured by tidal.node_id. */
static int32
hlc_local_node(void)
{
	if (tidal_node_id < 0 || tidal_node_id > TIDAL_MAX_NODE_ID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("tidal.node_id %d is not a valid hlc node id",
						tidal_node_id),
				 errdetail("Node ids must be between 0 and %d.",
						   TIDAL_MAX_NODE_ID)));
	return (int32) tidal_node_id;
}

static void
hlc_exhausted_error(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("hybrid logical clock is exhausted"),
			 errdetail("The clock has reached the largest representable hlc.")));
}

/*
 * Merge a seen timestamp into the clock (Kulkarni's receive rule) and store
 * the result.  The caller holds the spinlock.  Returns false, storing the
 * largest possible value, if no hlc greater than both inputs exists.
 */
static bool
hlc_merge_locked(int64 pt, const TidalHlc *seen, int64 *wall, int32 *logical)
{
	int64		last_wall = hlc_clock->last_wall_ns;
	int32		last_logical = hlc_clock->last_logical;
	int64		l = Max(Max(last_wall, seen->wall_ns), pt);
	int64		c;
	bool		ok = true;

	if (l == last_wall && l == seen->wall_ns)
		c = (int64) Max(last_logical, seen->logical) + 1;
	else if (l == last_wall)
		c = (int64) last_logical + 1;
	else if (l == seen->wall_ns)
		c = (int64) seen->logical + 1;
	else
		c = 0;

	if (c > PG_INT32_MAX)
	{
		/* the logical counter is full: move to the next nanosecond */
		if (l < PG_INT64_MAX)
		{
			l++;
			c = 0;
		}
		else
		{
			c = PG_INT32_MAX;
			ok = false;
		}
	}

	hlc_clock->last_wall_ns = l;
	hlc_clock->last_logical = (int32) c;
	*wall = l;
	*logical = (int32) c;
	return ok;
}

TidalHlc
hlc_clock_now(void)
{
	TidalHlc	result;
	int64		pt;
	int64		wall;
	int32		logical = 0;
	bool		ok = true;

	hlc_check_clock();
	result.node = hlc_local_node();
	pt = hlc_physical_ns();

	SpinLockAcquire(&hlc_clock->mutex);
	wall = hlc_clock->last_wall_ns;
	if (pt > wall)
	{
		wall = pt;
		logical = 0;
	}
	else if (hlc_clock->last_logical < PG_INT32_MAX)
		logical = hlc_clock->last_logical + 1;
	else if (wall < PG_INT64_MAX)
	{
		wall++;
		logical = 0;
	}
	else
		ok = false;
	if (ok)
	{
		hlc_clock->last_wall_ns = wall;
		hlc_clock->last_logical = logical;
	}
	SpinLockRelease(&hlc_clock->mutex);

	if (!ok)
		hlc_exhausted_error();

	result.wall_ns = wall;
	result.logical = logical;
	return result;
}

bool
hlc_within_offset(const TidalHlc *seen, int64 *ahead_ns)
{
	int64		pt = hlc_physical_ns();
	int64		max_ahead_ns = (int64) tidal_max_clock_offset_ms * INT64CONST(1000000);

	/* pt >= 0: for a wall >= 0 the difference cannot overflow; one below is never ahead */
	*ahead_ns = seen->wall_ns >= 0 ? seen->wall_ns - pt : -pt;
	return *ahead_ns <= max_ahead_ns;
}

void
hlc_check_offset(const TidalHlc *seen, const char *what)
{
	int64		ahead_ns;

	if (!hlc_within_offset(seen, &ahead_ns))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is %.3f ms ahead of the local clock", what,
						(double) ahead_ns / 1000000.0),
				 errdetail("The largest accepted clock offset (tidal.max_clock_offset) is %d ms.",
						   tidal_max_clock_offset_ms),
				 errhint("Synchronize the clocks or raise tidal.max_clock_offset.")));
}

TidalHlc
hlc_clock_receive(const TidalHlc *remote)
{
	TidalHlc	result;
	int64		pt;
	bool		ok;

	hlc_check_clock();
	if (remote->wall_ns < 0 || remote->logical < 0)
		elog(ERROR, "invalid remote hlc");
	result.node = hlc_local_node();
	hlc_check_offset(remote, "remote hlc");
	pt = hlc_physical_ns();

	SpinLockAcquire(&hlc_clock->mutex);
	ok = hlc_merge_locked(pt, remote, &result.wall_ns, &result.logical);
	SpinLockRelease(&hlc_clock->mutex);

	if (!ok)
		hlc_exhausted_error();
	return result;
}

void
hlc_clock_observe(const TidalHlc *seen)
{
	int64		pt;
	int64		wall;
	int32		logical;

	hlc_check_clock();
	pt = hlc_physical_ns();

	/* never errors: if the clock is exhausted, the next hlc_clock_now will */
	SpinLockAcquire(&hlc_clock->mutex);
	(void) hlc_merge_locked(pt, seen, &wall, &logical);
	SpinLockRelease(&hlc_clock->mutex);
}

Datum
tidal_hlc_now(PG_FUNCTION_ARGS pg_attribute_unused())
{
	TidalHlc   *result = (TidalHlc *) palloc(sizeof(TidalHlc));

	tidal_require_preload();
	*result = hlc_clock_now();
	PG_RETURN_HLC_P(result);
}

Datum
tidal_hlc_receive(PG_FUNCTION_ARGS)
{
	TidalHlc   *remote = PG_GETARG_HLC_P(0);
	TidalHlc   *result = (TidalHlc *) palloc(sizeof(TidalHlc));

	tidal_require_preload();
	*result = hlc_clock_receive(remote);
	PG_RETURN_HLC_P(result);
}
