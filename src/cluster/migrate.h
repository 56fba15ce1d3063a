/*
 * cluster/migrate.h
 *    Moving a tenant to another region while it keeps writing and reading
 *    (see migrate.c).
 *
 *    May call: core/, pg/, log/, state/, replication/, cluster/.
 */
#ifndef TIDAL_MIGRATE_H
#define TIDAL_MIGRATE_H

#include "postgres.h"

#include "core/codec.h"

/* the steps, in the only order a migration moves through them */
typedef enum MigrationStep
{
	MIGRATION_BEGUN = 1,
	MIGRATION_PREPARING = 2,	/* the target loads the tenant's data */
	MIGRATION_PREPARED = 3,		/* the target has it, and applies new writes */
	MIGRATION_DUAL_WRITE = 4,	/* clients may write to the source or the target */
	MIGRATION_FINALIZING = 5,	/* the target catches up to the cut-over */
	MIGRATION_FINALIZED = 6,	/* reads and writes go to the target */
	MIGRATION_DONE = 7			/* the sources have deleted their copies */
} MigrationStep;

/* a migration record (kind 7), local or replicated: merge it, then act on it */
extern void migration_apply_record(const LogRecord *rec);

/*
 * Run by the sealer: the target's side (report a reached cut-over), and
 * residency's tick (cluster/residency.c)
 */
extern void migration_tick(void);

#endif							/* TIDAL_MIGRATE_H */
