/*
 * pg/owner.h
 *    Becoming the extension's owner, and who the owner is (pg/owner.c).
 *
 *    May call: pg/.
 */
#ifndef TIDAL_OWNER_H
#define TIDAL_OWNER_H

#include "postgres.h"

/*
 * tidal's tables are reached only through its functions, which read and
 * write them as the extension's owner: callers need no table privileges.
 * tidal_become_owner also makes the operation security-restricted and pins
 * the search path to pg_catalog alone (no temporary schema); tidal_restore_user
 * undoes it all (an error does through the transaction's abort).
 */
typedef struct TidalSavedUser
{
	Oid			userid;
	int			sec_context;
} TidalSavedUser;

extern void tidal_become_owner(TidalSavedUser *saved);
extern void tidal_restore_user(const TidalSavedUser *saved);

/* the extension's owner (of schema tidal), cached per backend */
extern Oid	tidal_owner(void);

/* whether the role has the privileges of the extension's owner (superusers do) */
extern bool tidal_has_owner_privileges(Oid roleid);

#endif							/* TIDAL_OWNER_H */
