/*
 * pg/subxact.h
 *    Run a step in an internal subtransaction, so that its error is caught
 *    and rolled back without ending the caller's transaction (a batch a
 *    receiver cannot apply yet, a snapshot that cannot even be read).
 *
 *    May call: core/, pg/.
 */
#ifndef TIDAL_SUBXACT_H
#define TIDAL_SUBXACT_H

#include "postgres.h"

typedef void (*subxact_fn) (void *arg);

/*
 * fn(arg) in a subtransaction of the caller's transaction: NULL if it
 * succeeded (the subtransaction is committed), else its error, copied into
 * the caller's memory context, with the subtransaction rolled back.
 */
extern ErrorData *subxact_try(subxact_fn fn, void *arg);

#endif							/* TIDAL_SUBXACT_H */
