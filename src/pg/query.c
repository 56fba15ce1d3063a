/*
 * pg/query.c
 *    The one SPI path: running tidal's own statements as the extension's
 *    owner with plans kept per backend, and background workers' own
 *    transactions (see query.h).  May call: core/, pg/.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "pgstat.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "pg/query.h"

static MemoryContext worker_caller_cxt = NULL;
static bool worker_snapshot = false;	/* query_worker_begin pushed one */

void
query_begin(TidalSavedUser *saved)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	tidal_become_owner(saved);
}

void
query_end(const TidalSavedUser *saved)
{
	tidal_restore_user(saved);
	SPI_finish();
}

/* prepare q's plan on first use, and keep it */
static void
query_prepare(OwnedQuery *q)
{
	if (q->plan == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(q->sql, q->nargs, q->argtypes);

		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "could not prepare \"%s\": %s", q->sql, SPI_result_code_string(SPI_result));
		q->plan = plan;
	}
}

void
query_exec(OwnedQuery *q, Datum *values, const char *nulls, bool read_only, int expect)
{
	int			ret;

	query_prepare(q);
	ret = SPI_execute_plan(q->plan, values, nulls, read_only, 0);
	if (ret != expect)
		elog(ERROR, "\"%s\" failed: %s", q->sql, SPI_result_code_string(ret));
}

bool
query_merge_by_hlc(OwnedQuery *q, Datum *values, const char *nulls, const TidalHlc *hlc)
{
	TidalSavedUser saved;
	bool		wrote;

	Assert(q->nargs >= 3);
	values[q->nargs - 3] = Int64GetDatum(hlc->wall_ns);
	values[q->nargs - 2] = Int32GetDatum(hlc->logical);
	values[q->nargs - 1] = Int32GetDatum(hlc->node);
	query_begin(&saved);
	query_exec(q, values, nulls, false, SPI_OK_INSERT);
	wrote = SPI_processed > 0;
	query_end(&saved);
	return wrote;
}

Portal
query_cursor_open(OwnedQuery *q, Datum *values, const char *nulls, bool read_only)
{
	Portal		portal;

	query_prepare(q);
	portal = SPI_cursor_open(NULL, q->plan, values, nulls, read_only);
	if (portal == NULL)
		elog(ERROR, "could not open a cursor for \"%s\": %s", q->sql, SPI_result_code_string(SPI_result));
	return portal;
}

void
query_each_row(OwnedQuery *q, Datum *values, const char *nulls, bool read_only,
			   query_row_fn fn, void *arg)
{
	Portal		portal = query_cursor_open(q, values, nulls, read_only);
	MemoryContext rowcxt = AllocSetContextCreate(CurrentMemoryContext, "tidal query row",
												 ALLOCSET_DEFAULT_SIZES);
	bool		go_on = true;

	while (go_on)
	{
		SPITupleTable *rows;
		uint64		n;
		uint64		i;

		SPI_cursor_fetch(portal, true, 64);
		rows = SPI_tuptable;
		n = SPI_processed;
		if (n == 0)
			break;
		for (i = 0; i < n && go_on; i++)
		{
			MemoryContext old;

			CHECK_FOR_INTERRUPTS();
			old = MemoryContextSwitchTo(rowcxt);
			go_on = fn(rows->vals[i], rows->tupdesc, arg);
			MemoryContextSwitchTo(old);
			MemoryContextReset(rowcxt);
		}
		SPI_freetuptable(rows);
	}
	SPI_cursor_close(portal);
	MemoryContextDelete(rowcxt);
}

static void
worker_begin(const char *activity, bool snapshot)
{
	worker_caller_cxt = CurrentMemoryContext;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	worker_snapshot = snapshot;
	if (snapshot)
		PushActiveSnapshot(GetTransactionSnapshot());
	if (activity)
		pgstat_report_activity(STATE_RUNNING, activity);
}

void
query_worker_begin(const char *activity)
{
	worker_begin(activity, true);
}

void
query_worker_begin_utility(const char *activity)
{
	worker_begin(activity, false);
}

void
query_worker_commit(void)
{
	if (worker_snapshot)
		PopActiveSnapshot();
	worker_snapshot = false;
	CommitTransactionCommand();
	MemoryContextSwitchTo(worker_caller_cxt);
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
}

bool
query_has_column(const char *table, const char *column)
{
	Oid			nsp = get_namespace_oid("tidal", true);
	Oid			rel = OidIsValid(nsp) ? get_relname_relid(table, nsp) : InvalidOid;

	if (!OidIsValid(rel))
		return false;
	return column == NULL || get_attnum(rel, column) != InvalidAttrNumber;
}
