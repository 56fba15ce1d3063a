/*
 * pg/remote.c
 *    Talking to peers over libpq without ever blocking longer than a
 *    deadline: a peer that stops answering (a black-holed link) costs at
 *    most the timeout, and our latch (SIGTERM, postmaster death) is served
 *    while we wait.
 *
 *    May call: pg/.
 */
#include "postgres.h"

#include "libpq-fe.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/timestamp.h"

#include "lib/stringinfo.h"

#include "pg/remote.h"

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

/* finish a connection started by libpq, bounded by deadline; NULL (and freed) on failure */
static PGconn *
connect_poll(PGconn *conn, TimestampTz deadline)
{
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

/* the n-th comma-separated item of list (the last one if it has fewer), palloc'd */
static char *
list_item(const char *list, int n)
{
	const char *start = list;
	const char *comma;

	while (n-- > 0 && (comma = strchr(start, ',')) != NULL)
		start = comma + 1;
	comma = strchr(start, ',');
	return comma ? pnstrdup(start, comma - start) : pstrdup(start);
}

/*
 * Connect within timeout_ms.  A connection string may list several hosts
 * (the nodes of a shard, 0.8): each is tried in turn, with a share of the
 * time (connect_timeout if it sets one), so that a host that accepts and
 * then hangs or drops the connection (a black-holed link, a dead server
 * behind a live proxy) does not keep the next one from being tried.
 * libpq tries the next host only when a connection fails outright, and
 * enforces connect_timeout only in its blocking calls.
 */
PGconn *
remote_connect(const char *conninfo, int timeout_ms)
{
	int			first = 0;

	return remote_connect_from(conninfo, timeout_ms, &first);
}

PGconn *
remote_connect_from(const char *conninfo, int timeout_ms, int *first_host)
{
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	PQconninfoOption *o;
	int			nopts = 0;
	int			nhosts = 1;
	int			host_opt = -1;
	int			hostaddr_opt = -1;
	int			port_opt = -1;
	int			per_host_ms = timeout_ms;
	const char **keywords;
	const char **values;
	PGconn	   *conn = NULL;
	int			i;

	if (opts == NULL)
		return connect_poll(PQconnectStart(conninfo), deadline);	/* reports the error */
	for (o = opts; o->keyword != NULL; o++)
		nopts++;
	keywords = palloc0(sizeof(char *) * (nopts + 1));
	values = palloc0(sizeof(char *) * (nopts + 1));
	for (i = 0, o = opts; o->keyword != NULL; o++, i++)
	{
		keywords[i] = o->keyword;
		values[i] = o->val;
		if (o->val == NULL)
			continue;
		if (strcmp(o->keyword, "host") == 0)
			host_opt = i;
		else if (strcmp(o->keyword, "hostaddr") == 0)
			hostaddr_opt = i;
		else if (strcmp(o->keyword, "port") == 0)
			port_opt = i;
		else if (strcmp(o->keyword, "connect_timeout") == 0 && atoi(o->val) > 0)
			per_host_ms = Min(per_host_ms, atoi(o->val) * 1000);
	}
	{
		const char *list = host_opt >= 0 ? values[host_opt] : hostaddr_opt >= 0 ? values[hostaddr_opt] : "";
		const char *c;

		for (c = list; *c; c++)
			nhosts += (*c == ',');
	}
	if (nhosts == 1)
		conn = connect_poll(PQconnectStartParams(keywords, values, 0), deadline);
	else
	{
		if (per_host_ms == timeout_ms)
			per_host_ms = Max(timeout_ms / nhosts, 1);
		for (i = 0; i < nhosts && conn == NULL; i++)
		{
			TimestampTz now = GetCurrentTimestamp();
			TimestampTz host_deadline = TimestampTzPlusMilliseconds(now, per_host_ms);
			int			h = ((*first_host % nhosts) + nhosts + i) % nhosts;

			if (now >= deadline)
				break;
			if (host_opt >= 0)
				values[host_opt] = list_item(opts[host_opt].val, h);
			if (hostaddr_opt >= 0)
				values[hostaddr_opt] = list_item(opts[hostaddr_opt].val, h);
			if (port_opt >= 0)
				values[port_opt] = list_item(opts[port_opt].val, h);
			conn = connect_poll(PQconnectStartParams(keywords, values, 0), Min(host_deadline, deadline));
			if (conn != NULL)
				*first_host = h;
		}
	}
	pfree(keywords);
	pfree(values);
	PQconninfoFree(opts);
	return conn;
}

/* note why a query failed, for the caller (if it asked) */
static PGresult *
query_failed(char **why, PGresult *partial, const char *fmt,...) pg_attribute_printf(3, 4);

static PGresult *
query_failed(char **why, PGresult *partial, const char *fmt,...)
{
	if (partial)
		PQclear(partial);
	if (why)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		for (;;)
		{
			va_list		args;
			int			needed;

			va_start(args, fmt);
			needed = appendStringInfoVA(&buf, fmt, args);
			va_end(args);
			if (needed == 0)
				break;
			enlargeStringInfo(&buf, needed);
		}
		*why = buf.data;
	}
	return NULL;
}

/* add one row of a single-row-mode result to the rows gathered so far */
static bool
gather_row(PGresult **rows, const PGresult *row, int nrows)
{
	int			c;

	if (*rows == NULL && (*rows = PQcopyResult(row, PG_COPYRES_ATTRS)) == NULL)
		return false;
	for (c = 0; c < PQnfields(row); c++)
	{
		bool		isnull = PQgetisnull(row, 0, c);

		if (!PQsetvalue(*rows, nrows, c, isnull ? NULL : PQgetvalue(row, 0, c),
						isnull ? -1 : PQgetlength(row, 0, c)))
			return false;
	}
	return true;
}

bool
remote_send(PGconn *conn, const char *sql, int nparams, const char *const *params,
			int result_format, TimestampTz deadline, char **why)
{
	if (!PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, result_format))
	{
		query_failed(why, NULL, "could not send the query: %s", PQerrorMessage(conn));
		return false;
	}
	/* one row at a time: a peer's answer is bounded as it arrives, not once it is all in memory */
	if (!PQsetSingleRowMode(conn))
	{
		query_failed(why, NULL, "could not enter single-row mode");
		return false;
	}
	for (;;)
	{
		int			flushed = PQflush(conn);

		if (flushed < 0)
		{
			query_failed(why, NULL, "could not send the query: %s", PQerrorMessage(conn));
			return false;
		}
		if (flushed == 0)
			return true;
		if (!wait_socket(conn, WL_SOCKET_WRITEABLE, deadline))
		{
			query_failed(why, NULL, "timed out sending the query");
			return false;
		}
	}
}

PGresult *
remote_query(PGconn *conn, const char *sql, int nparams, const char *const *params,
			 int result_format, int timeout_ms, int max_rows, Size max_bytes, char **why)
{
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);

	if (!remote_send(conn, sql, nparams, params, result_format, deadline, why))
		return NULL;
	return remote_collect(conn, deadline, max_rows, max_bytes, why);
}

PGresult *
remote_collect(PGconn *conn, TimestampTz deadline, int max_rows, Size max_bytes, char **why)
{
	PGresult   *rows = NULL;	/* the rows gathered so far, in a result of their own */
	PGresult   *status = NULL;	/* the final result: command, tuples or error */
	PGresult   *r;
	int			nrows = 0;
	Size		bytes = 0;

	for (;;)
	{
		while (PQisBusy(conn))
		{
			if (!wait_socket(conn, WL_SOCKET_READABLE, deadline))
				return query_failed(why, rows, "no answer in time");
			if (!PQconsumeInput(conn))
				return query_failed(why, rows, "connection lost: %s", PQerrorMessage(conn));
		}
		r = PQgetResult(conn);
		if (r == NULL)
			break;
		if (PQresultStatus(r) == PGRES_SINGLE_TUPLE)
		{
			int			c;

			for (c = 0; c < PQnfields(r); c++)
				bytes += PQgetlength(r, 0, c);
			if (++nrows > max_rows || bytes > max_bytes)
			{
				PQclear(r);
				/* the rest is never read: the caller drops the connection */
				return query_failed(why, rows, "malformed answer from the peer: more than %d rows or %zu bytes",
									max_rows, max_bytes);
			}
			if (!gather_row(&rows, r, nrows - 1))
			{
				PQclear(r);
				return query_failed(why, rows, "out of memory reading the answer");
			}
			PQclear(r);
		}
		else if (status == NULL)
			status = r;
		else
			PQclear(r);
	}
	if (status == NULL)
		return query_failed(why, rows, "no answer");
	if (PQresultStatus(status) == PGRES_COMMAND_OK)
	{
		if (rows)
			PQclear(rows);
		return status;
	}
	if (PQresultStatus(status) != PGRES_TUPLES_OK)
	{
		ereport(LOG,
				(errmsg("tidal: a peer answered with an error: %s", PQresultErrorMessage(status))));
		query_failed(why, rows, "the peer answered with an error: %s", PQresultErrorMessage(status));
		PQclear(status);
		return NULL;
	}
	/* the end of the rows; with none, the final result describes the columns */
	if (rows == NULL)
		return status;
	PQclear(status);
	return rows;
}

const char *
remote_check_shape(const PGresult *res, int nfields, const Oid *types, const int *lengths)
{
	int			c;
	int			i;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		return psprintf("malformed answer from the peer: status %s, not rows",
						PQresStatus(PQresultStatus(res)));
	if (PQnfields(res) != nfields)
		return psprintf("malformed answer from the peer: %d columns, not %d", PQnfields(res), nfields);
	for (c = 0; c < nfields; c++)
		if (types && PQftype(res, c) != types[c])
			return psprintf("malformed answer from the peer: column %d has type %u, not %u",
							c + 1, PQftype(res, c), types[c]);
	for (i = 0; i < PQntuples(res); i++)
		for (c = 0; c < nfields; c++)
		{
			if (PQgetisnull(res, i, c))
			{
				if (lengths[c] == REMOTE_NULLABLE)
					continue;
				return psprintf("malformed answer from the peer: row %d, column %d is NULL", i + 1, c + 1);
			}
			if (lengths[c] > 0 && PQgetlength(res, i, c) != lengths[c])
				return psprintf("malformed answer from the peer: row %d, column %d is %d bytes, not %d",
								i + 1, c + 1, PQgetlength(res, i, c), lengths[c]);
			if (lengths[c] == REMOTE_ANY_LENGTH && PQgetlength(res, i, c) < 1)
				return psprintf("malformed answer from the peer: row %d, column %d is empty", i + 1, c + 1);
		}
	return NULL;
}
