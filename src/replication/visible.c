/*
 * replication/visible.c
 *    Whether a write is visible on this node, by the HLC its call returned
 *    (tidal.signal, the hide calls, upsert_item, ...): the wait of a read's
 *    `after =>` and of tidal.await_write.  May call: core/, pg/, log/,
 *    state/, replication/.
 *
 * An HLC names its writer (tidal.node_id is unique among all instances), and
 * every node's writes go to its own origin (region, shard, node).  The write
 * is visible here once this node has applied the batch of that origin that
 * holds a record of exactly that HLC -- the record itself, or, in a copy
 * that leaves it out (another shard's events, a tenant this region does not
 * store), the elided record that stands for it: then this node has all of
 * the write it will ever store.  HLCs are not in log order across
 * concurrent transactions, so nothing short of finding the record says that
 * an earlier batch did not miss it.
 *
 * Which batches to look in: the record's batch was sealed by its writer
 * after the write (whose HLC runs at most tidal.max_clock_offset ahead of
 * the writer's clock), and received here no earlier, by a clock at most
 * tidal.max_clock_offset off: so its sealed_at here is no earlier than the
 * HLC's wall time less twice the offset.  The search walks the origin's
 * stored batches from the newest down to that bound, and on later polls
 * only the batches applied since.  A write older than tidal.log_retention
 * (plus that bound) may be in a batch compaction removed, which it removes
 * only once applied: it is visible once its origin has been applied at all.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "core/codec.h"
#include "pg/query.h"
#include "pg/settings.h"
#include "replication/peer.h"
#include "replication/visible.h"

PG_FUNCTION_INFO_V1(tidal_await_write);

/* how often the wait looks again, and wakes this node's receivers to pull */
#define VISIBLE_POLL_MS		5
#define VISIBLE_WAKE_MS		100

/* one origin of the writer's node, as far as the search has looked */
typedef struct OriginSearch
{
	int32		region;
	int32		shard;
	int64		last_batch;		/* applied here, at the last poll */
	int64		checked_upto;	/* batches up to this one looked at (and older ones not needed) */
} OriginSearch;

#define VISIBLE_MAX_ORIGINS 16

typedef struct WriteSearch
{
	TidalHlc	write;
	TimestampTz cutoff;			/* no batch received before this can hold it */
	bool		may_be_compacted;	/* older than tidal.log_retention (and the bound) */
	int			norigins;
	OriginSearch origins[VISIBLE_MAX_ORIGINS];
	bool		found;
} WriteSearch;

const TidalHlc *
visible_after_argument(FunctionCallInfo fcinfo, int argno)
{
	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return NULL;
	return PG_GETARG_HLC_P(argno);
}

/* a record (or an elided one) of exactly this HLC */
static bool
is_the_write(const LogRecord *rec, void *arg)
{
	return hlc_compare(&rec->hlc, (const TidalHlc *) arg) == 0;
}

/* one stored batch, newest first: stop at the one that holds the write, or below the cutoff */
static bool
search_row(HeapTuple tup, TupleDesc desc, void *arg)
{
	WriteSearch *s = (WriteSearch *) arg;
	bool		isnull;
	TimestampTz sealed_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 1, &isnull));
	bytea	   *batch;

	if (sealed_at < s->cutoff)
		return false;			/* older batches were received before the write was made */
	batch = DatumGetByteaPP(SPI_getbinval(tup, desc, 2, &isnull));
	if (codec_batch_has_record(VARDATA_ANY(batch), VARSIZE_ANY_EXHDR(batch), is_the_write, &s->write))
	{
		s->found = true;
		return false;
	}
	return true;
}

/*
 * One look: the writer's origins as applied here now (a fresh snapshot),
 * then each one's batches not looked at yet.
 */
static bool
search_once(WriteSearch *s)
{
	static OwnedQuery origins_q = {
		"SELECT region, shard, last_batch FROM tidal.origins WHERE node = $1 ORDER BY region, shard",
		1, {INT4OID}, NULL
	};
	static OwnedQuery batches_q = {
		"SELECT sealed_at, batch FROM tidal.batches "
		" WHERE origin_region = $1 AND origin_shard = $2 AND origin_node = $3 "
		"   AND batch_no > $4 AND batch_no <= $5 "
		" ORDER BY batch_no DESC",
		5, {INT4OID, INT4OID, INT4OID, INT8OID, INT8OID}, NULL
	};
	Datum		args[5];
	TidalSavedUser saved;
	uint64		i;
	int			k;

	query_begin(&saved);
	/* not read-only: a fresh snapshot, which sees what the receivers committed since the last look */
	args[0] = Int32GetDatum(s->write.node);
	query_exec(&origins_q, args, NULL, false, SPI_OK_SELECT);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		int32		region = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		int32		shard = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		OriginSearch *o = NULL;

		for (k = 0; k < s->norigins; k++)
			if (s->origins[k].region == region && s->origins[k].shard == shard)
				o = &s->origins[k];
		if (o == NULL && s->norigins < VISIBLE_MAX_ORIGINS)
		{
			o = &s->origins[s->norigins++];
			o->region = region;
			o->shard = shard;
			o->checked_upto = 0;
		}
		if (o != NULL)
			o->last_batch = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
	}
	for (k = 0; k < s->norigins && !s->found; k++)
	{
		OriginSearch *o = &s->origins[k];

		if (s->may_be_compacted && o->last_batch > 0)
		{
			s->found = true;
			break;
		}
		if (o->last_batch <= o->checked_upto)
			continue;
		args[0] = Int32GetDatum(o->region);
		args[1] = Int32GetDatum(o->shard);
		args[2] = Int32GetDatum(s->write.node);
		args[3] = Int64GetDatum(o->checked_upto);
		args[4] = Int64GetDatum(o->last_batch);
		query_each_row(&batches_q, args, NULL, false, search_row, s);
		/* every batch up to last_batch was looked at, or is older than the cutoff */
		o->checked_upto = o->last_batch;
	}
	query_end(&saved);
	return s->found;
}

int64
visible_await_write(const TidalHlc *write, int timeout_ms)
{
	TimestampTz started = GetCurrentTimestamp();
	TimestampTz deadline = TimestampTzPlusMilliseconds(started, timeout_ms);
	TimestampTz woke = 0;
	TimestampTz write_time;
	WriteSearch *s;
	MemoryContext cxt;
	MemoryContext old;
	int			k;

	/* this node's own writes: the caller got the HLC back, so it is here */
	if (write->node == tidal_node_id)
		return 0;

	/* ns since the Unix epoch -> a timestamptz (us since 2000) */
	write_time = (TimestampTz) (write->wall_ns / 1000) -
		((TimestampTz) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * USECS_PER_SEC);
	s = palloc0(sizeof(WriteSearch));
	s->write = *write;
	s->cutoff = write_time - (TimestampTz) 2 * tidal_max_clock_offset_ms * 1000;
	s->may_be_compacted = s->cutoff < started - (TimestampTz) tidal_log_retention_s * USECS_PER_SEC;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "tidal await write", ALLOCSET_SMALL_SIZES);
	for (;;)
	{
		TimestampTz now;
		bool		found;

		CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(cxt);
		found = search_once(s);
		MemoryContextSwitchTo(old);
		MemoryContextReset(cxt);
		if (found)
			break;
		now = GetCurrentTimestamp();
		if (now >= deadline)
		{
			StringInfoData applied;
			StringInfoData stamp;

			initStringInfo(&stamp);
			hlc_append_text(&stamp, write);
			initStringInfo(&applied);
			for (k = 0; k < s->norigins; k++)
				appendStringInfo(&applied, "%s(region %d, shard %d) up to batch " INT64_FORMAT,
								 k ? ", " : "", s->origins[k].region, s->origins[k].shard,
								 s->origins[k].last_batch);
			MemoryContextDelete(cxt);
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("the write at %s is not visible on node %d after %d ms",
							stamp.data,
							tidal_node_id, timeout_ms),
					 s->norigins == 0
					 ? errdetail("This node has applied nothing of node %d's log.", write->node)
					 : errdetail("This node has applied the log of node %d %s, and none of it holds the write.",
								 write->node, applied.data),
					 errhint("Read on the node that took the write (or its shard's leader), or allow a longer wait "
							 "with tidal.read_after_timeout; tidal.replication_status and tidal.shard_nodes show "
							 "what this node lags.")));
		}
		if (woke == 0 || TimestampDifferenceExceeds(woke, now, VISIBLE_WAKE_MS))
		{
			peer_wake_receivers();	/* pull now rather than at the next notice */
			woke = now;
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, VISIBLE_POLL_MS,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	MemoryContextDelete(cxt);
	pfree(s);
	return TimestampDifferenceMilliseconds(started, GetCurrentTimestamp());
}

/*
 * tidal.await_write(write tidal.hlc, timeout interval DEFAULT NULL) RETURNS bigint
 *
 * Wait until the write that returned `write` is visible on this node (NULL
 * timeout: tidal.read_after_timeout); how long it waited, in ms.
 */
Datum
tidal_await_write(PG_FUNCTION_ARGS)
{
	int			timeout_ms = tidal_read_after_timeout_ms;

	tidal_require_preload();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("write must not be NULL"),
				 errhint("Pass the tidal.hlc a write call returned.")));
	if (!PG_ARGISNULL(1))
	{
		Interval   *iv = PG_GETARG_INTERVAL_P(1);
		int64		us = iv->time + (int64) iv->day * USECS_PER_DAY + (int64) iv->month * DAYS_PER_MONTH * USECS_PER_DAY;

		if (us < 0 || us > (int64) 3600 * USECS_PER_SEC)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("timeout must be between 0 and 1 hour")));
		timeout_ms = (int) (us / 1000);
	}
	PG_RETURN_INT64(visible_await_write(PG_GETARG_HLC_P(0), timeout_ms));
}
