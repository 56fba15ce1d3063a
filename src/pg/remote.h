/*
 * pg/remote.h
 *    libpq calls to peers, each bounded by a timeout (see remote.c).
 *
 *    May call: pg/.
 */
#ifndef TIDAL_REMOTE_H
#define TIDAL_REMOTE_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "libpq-fe.h"

/* a non-blocking connection, or NULL if it could not be made in time */
extern PGconn *remote_connect(const char *conninfo, int timeout_ms);

/*
 * The same, trying the hosts of a multi-host connection string from
 * *first_host on (wrapping around); *first_host is then the one that
 * answered.  A caller that finds it the wrong node (a follower, for an
 * election call) asks again from the next one.
 */
extern PGconn *remote_connect_from(const char *conninfo, int timeout_ms, int *first_host);

/*
 * Send one statement and collect its result within the timeout, reading it
 * row by row: NULL on timeout, a broken connection, an error answer
 * (logged), or an answer of more than max_rows rows or max_bytes bytes of
 * values (then the rest is left unread: drop the connection).  *why, if
 * why is not NULL, then says which.  The caller PQclears the result.
 */
extern PGresult *remote_query(PGconn *conn, const char *sql, int nparams,
							  const char *const *params, int result_format, int timeout_ms,
							  int max_rows, Size max_bytes, char **why);

/*
 * The same in two halves, for calls to several nodes at once: send to each
 * (false with *why if it could not be sent by deadline), then collect each
 * answer by the same deadline (as remote_query).
 */
extern bool remote_send(PGconn *conn, const char *sql, int nparams, const char *const *params,
						int result_format, TimestampTz deadline, char **why);
extern PGresult *remote_collect(PGconn *conn, TimestampTz deadline, int max_rows, Size max_bytes,
								char **why);

/*
 * Check the shape of an answer before any PQgetvalue: rows, nfields
 * columns of the given types (types may be NULL: any), and per column a
 * value length in bytes (> 0: exactly that), or one of the codes below.
 * NULL if it has that shape, else a palloc'd message saying what is wrong.
 */
#define REMOTE_ANY_LENGTH	0			/* not NULL, at least 1 byte */
#define REMOTE_NULLABLE		(-1)		/* any length, or NULL */
extern const char *remote_check_shape(const PGresult *res, int nfields, const Oid *types,
									  const int *lengths);

#endif							/* TIDAL_REMOTE_H */
