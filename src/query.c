/*
 * query.c
 *    Running tidal's own statements as the extension's owner (see query.h).
 */
#include "postgres.h"

#include "query.h"

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

void
query_exec(OwnedQuery *q, Datum *values, const char *nulls, bool read_only, int expect)
{
	int			ret;

	if (q->plan == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(q->sql, q->nargs, q->argtypes);

		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "could not prepare \"%s\": %s", q->sql, SPI_result_code_string(SPI_result));
		q->plan = plan;
	}
	ret = SPI_execute_plan(q->plan, values, nulls, read_only, 0);
	if (ret != expect)
		elog(ERROR, "\"%s\" failed: %s", q->sql, SPI_result_code_string(ret));
}
