/*
 * remote.h
 *    libpq calls to peers, each bounded by a timeout (see remote.c).
 */
#ifndef TIDAL_REMOTE_H
#define TIDAL_REMOTE_H

#include "postgres.h"

#include "libpq-fe.h"

/* a non-blocking connection, or NULL if it could not be made in time */
extern PGconn *remote_connect(const char *conninfo, int timeout_ms);

/*
 * Send one statement and collect its result within the timeout: NULL on
 * timeout, a broken connection or an error answer (logged).  The caller
 * PQclears the result.
 */
extern PGresult *remote_query(PGconn *conn, const char *sql, int nparams,
							  const char *const *params, int result_format, int timeout_ms);

#endif							/* TIDAL_REMOTE_H */
