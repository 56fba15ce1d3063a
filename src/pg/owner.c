/*
 * pg/owner.c
 *    The one place where tidal becomes the extension's owner, and the
 *    owner's identity.  May call: PostgreSQL only.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/inval.h"
#include "utils/syscache.h"

#include "pg/owner.h"

/*
 * The owner of schema tidal, cached per backend; a change to any schema
 * (e.g. ALTER SCHEMA ... OWNER TO) forgets it.
 */
static Oid	owner_cache = InvalidOid;
static bool owner_callback_registered = false;

static void
owner_cache_invalidate(Datum arg, int cacheid, uint32 hashvalue)
{
	(void) arg;
	(void) cacheid;
	(void) hashvalue;
	owner_cache = InvalidOid;
}

Oid
tidal_owner(void)
{
	Oid			nsp;
	HeapTuple	tup;

	if (OidIsValid(owner_cache))
		return owner_cache;
	if (!owner_callback_registered)
	{
		CacheRegisterSyscacheCallback(NAMESPACEOID, owner_cache_invalidate, (Datum) 0);
		owner_callback_registered = true;
	}
	nsp = get_namespace_oid("tidal", false);
	tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nsp));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for namespace %u", nsp);
	owner_cache = ((Form_pg_namespace) GETSTRUCT(tup))->nspowner;
	ReleaseSysCache(tup);
	return owner_cache;
}

bool
tidal_has_owner_privileges(Oid roleid)
{
	return has_privs_of_role(roleid, tidal_owner());
}

/*
 * The one place where tidal becomes the extension's owner, as PostgreSQL
 * does for maintenance commands that run other roles' code (index builds,
 * REFRESH MATERIALIZED VIEW, VACUUM): the user id switches to the owner, the
 * operation is security-restricted (no temporary tables, no LISTEN, no
 * cursors WITH HOLD, no SET ROLE), and the search path is pinned to
 * pg_catalog alone, so that no name in tidal's own statements can resolve to
 * an object of the caller's.  The temporary schema is not searched at all:
 * not first (where PostgreSQL puts it unless told otherwise, and where a
 * domain named jsonb would shadow the type), not last.
 *
 * The pin is an override search path (namespace.c) rather than a GUC nest
 * level setting search_path: it has the same effect on every name lookup and
 * on plan revalidation, costs a list push instead of parsing and assigning
 * a GUC (and recomputing the path afterwards) on every call, which
 * tidal.signal makes once per event.
 *
 * tidal_restore_user undoes all three.  On an error, the abort of the
 * (sub)transaction restores the user id and security context (xact.c) and
 * pops the override (AtEOSubXact_Namespace, AtEOXact_Namespace), as for any
 * SECURITY DEFINER function; tests: sql/owner_switch.sql.
 */
void
tidal_become_owner(TidalSavedUser *saved)
{
	Oid			owner = tidal_owner();
	OverrideSearchPath path;

	GetUserIdAndSecContext(&saved->userid, &saved->sec_context);
	SetUserIdAndSecContext(owner, saved->sec_context |
						   SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
	path.schemas = NIL;
	path.addCatalog = true;
	path.addTemp = false;
	path.generation = 0;
	PushOverrideSearchPath(&path);
}

void
tidal_restore_user(const TidalSavedUser *saved)
{
	PopOverrideSearchPath();
	SetUserIdAndSecContext(saved->userid, saved->sec_context);
}

