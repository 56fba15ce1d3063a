/*
 * remote.c
 *    Talking to peers over libpq without ever blocking longer than a
 *    deadline: a peer that stops answering (a black-holed link) costs at
 *    most the timeout, and our latch (SIGTERM, postmaster death) is served
 *    while we wait.
 */
#include "postgres.h"

#include "libpq-fe.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/timestamp.h"

#include "remote.h"

/* wait for the socket (or our latch) until deadline; false on timeout */
static bool
wait_socket(PGconn *conn, int events, TimestampTz deadline)
{
	for (;;)
	{
		long		ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
		int			rc;

		if (ms <= 0)
			return false;
		rc = WaitLatchOrSocket(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH | events,
							   PQsocket(conn), ms, PG_WAIT_EXTENSION);
		if (rc & WL_LATCH_SET)
		{
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
		if (rc & (WL_SOCKET_READABLE | WL_SOCKET_WRITEABLE))
			return true;
	}
}

PGconn *
remote_connect(const char *conninfo, int timeout_ms)
{
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
	PGconn	   *conn = PQconnectStart(conninfo);
	PostgresPollingStatusType status = PGRES_POLLING_WRITING;

	if (conn == NULL || PQstatus(conn) == CONNECTION_BAD)
		goto fail;
	while (status != PGRES_POLLING_OK)
	{
		if (status == PGRES_POLLING_FAILED)
			goto fail;
		if (!wait_socket(conn, status == PGRES_POLLING_READING ? WL_SOCKET_READABLE : WL_SOCKET_WRITEABLE,
						 deadline))
			goto fail;
		status = PQconnectPoll(conn);
	}
	if (PQsetnonblocking(conn, 1) != 0)
		goto fail;
	return conn;

fail:
	ereport(DEBUG1,
			(errmsg("tidal could not connect to a peer: %s",
					conn ? PQerrorMessage(conn) : "out of memory")));
	if (conn)
		PQfinish(conn);
	return NULL;
}

PGresult *
remote_query(PGconn *conn, const char *sql, int nparams, const char *const *params,
			 int result_format, int timeout_ms)
{
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
	PGresult   *result = NULL;
	PGresult   *r;

	if (!PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, result_format))
		return NULL;
	for (;;)
	{
		int			flushed = PQflush(conn);

		if (flushed < 0)
			return NULL;
		if (flushed == 0)
			break;
		if (!wait_socket(conn, WL_SOCKET_WRITEABLE, deadline))
			return NULL;
	}
	for (;;)
	{
		while (PQisBusy(conn))
		{
			if (!wait_socket(conn, WL_SOCKET_READABLE, deadline) || !PQconsumeInput(conn))
			{
				if (result)
					PQclear(result);
				return NULL;
			}
		}
		r = PQgetResult(conn);
		if (r == NULL)
			break;
		if (result == NULL)
			result = r;
		else
			PQclear(r);
	}
	if (result && PQresultStatus(result) != PGRES_TUPLES_OK && PQresultStatus(result) != PGRES_COMMAND_OK)
	{
		ereport(LOG,
				(errmsg("tidal: a peer answered with an error: %s", PQresultErrorMessage(result))));
		PQclear(result);
		return NULL;
	}
	return result;
}

