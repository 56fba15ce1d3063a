/*
 * pg/worker.h
 *    The one definition of a tidal background worker: what every worker of
 *    tidal shares (shared memory and a database connection, started once
 *    recovery has finished, its code in tidal's library), filled in for the
 *    registrations of the election, maintenance and receiver workers.
 *
 *    May call: PostgreSQL only.
 */
#ifndef TIDAL_WORKER_H
#define TIDAL_WORKER_H

#include "postgres.h"

#include "postmaster/bgworker.h"

/*
 * Fill *worker: its entry point (a function of tidal's library), the name
 * shown in pg_stat_activity and the server log, its type, and the seconds
 * after which the postmaster restarts it (BGW_NEVER_RESTART: never).
 */
static inline void
tidal_worker_init(BackgroundWorker *worker, const char *function, const char *name,
				  const char *type, int restart_time)
{
	memset(worker, 0, sizeof(*worker));
	worker->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker->bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker->bgw_restart_time = restart_time;
	strlcpy(worker->bgw_library_name, "tidal", BGW_MAXLEN);
	strlcpy(worker->bgw_function_name, function, BGW_MAXLEN);
	strlcpy(worker->bgw_name, name, BGW_MAXLEN);
	strlcpy(worker->bgw_type, type, BGW_MAXLEN);
}

#endif							/* TIDAL_WORKER_H */
