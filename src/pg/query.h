/*
 * pg/query.h
 *    The one SPI path: tidal's own SQL against its private tables, run as
 *    the extension's owner, with plans prepared once per backend; and
 *    background workers' own transactions.  May call: core/, pg/.
 */
#ifndef TIDAL_QUERY_H
#define TIDAL_QUERY_H

#include "postgres.h"

#include "executor/spi.h"

#include "core/hlc.h"
#include "pg/settings.h"
#include "pg/owner.h"

#define QUERY_MAX_ARGS 12

/* one statement; its plan is prepared on first use and kept */
typedef struct OwnedQuery
{
	const char *sql;
	int			nargs;
	Oid			argtypes[QUERY_MAX_ARGS];
	SPIPlanPtr	plan;
} OwnedQuery;

/* SPI_connect and switch to the extension's owner; undo with query_end */
/*
 * Does tidal.<table> exist, with <column> (NULL: any)?  During a rolling
 * upgrade this library may serve SQL objects of an older version.
 */
extern bool query_has_column(const char *table, const char *column);

extern void query_begin(TidalSavedUser *saved);
extern void query_end(const TidalSavedUser *saved);

/*
 * Execute q (between query_begin and query_end); nulls as for
 * SPI_execute_plan.  Errors unless SPI returns expect.  Results are in
 * SPI_tuptable / SPI_processed.
 */
extern void query_exec(OwnedQuery *q, Datum *values, const char *nulls,
					   bool read_only, int expect);

/*
 * A write merged into its table by its HLC: the last-writer-wins upserts of
 * items, profiles and tenants (ON CONFLICT ... WHERE the stored HLC is
 * older), the hides' greatest-HLC merge and the first-wins insert of a
 * signal definition.  q's last three parameters are the write's HLC as
 * tidal.hlc($n-2, $n-1, $n) takes it (int8, int4, int4), bound here; the
 * caller binds the others in values (and nulls, NULL for none).  Runs q as
 * the owner in the caller's transaction; true if it wrote a row.
 *
 * Their SQL compares HLCs with tidal.hlc_cmp(a, b), never with < or <=:
 * during a rolling upgrade this library serves a database still at an
 * older version, whose hlc operators live in schema tidal, not pg_catalog.
 */
extern bool query_merge_by_hlc(OwnedQuery *q, Datum *values, const char *nulls,
							   const TidalHlc *hlc);

/*
 * Open a cursor on q (between query_begin and query_end), in the active
 * snapshot when read_only; fetch with SPI_cursor_fetch, close with
 * SPI_cursor_close.
 */
extern Portal query_cursor_open(OwnedQuery *q, Datum *values, const char *nulls,
								bool read_only);

/*
 * Every row of q (between query_begin and query_end), fetched a few at a
 * time through a cursor: fn(tup, desc, arg) for each, in a memory context
 * reset after each row (switch to your own to keep anything), with
 * CHECK_FOR_INTERRUPTS between rows.  fn returns false to stop early.  fn
 * may run SPI itself (nested), but must not use SPI_tuptable after that.
 */
typedef bool (*query_row_fn) (HeapTuple tup, TupleDesc desc, void *arg);
extern void query_each_row(OwnedQuery *q, Datum *values, const char *nulls, bool read_only,
						   query_row_fn fn, void *arg);

/*
 * A background worker's own transaction, with a snapshot and the activity
 * shown in pg_stat_activity (NULL: none).  The caller's memory context is
 * current again after query_worker_commit (a commit leaves TopMemoryContext).
 */
extern void query_worker_begin(const char *activity);
extern void query_worker_commit(void);

/*
 * The same without a snapshot, for a utility command that manages its own
 * transactions and snapshots (VACUUM); also ended by query_worker_commit.
 */
extern void query_worker_begin_utility(const char *activity);

#endif							/* TIDAL_QUERY_H */
