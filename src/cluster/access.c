/*
 * cluster/access.c
 *    Owns tenants as an access boundary.  tidal.grant_tenant and
 *    tidal.revoke_tenant keep the mapping of roles to tenants in
 *    tidal.tenant_grants (local to this node, like the roles themselves),
 *    tenant_check_access is the one check every SQL function that takes a
 *    tenant makes before it reads or writes anything of it, and
 *    tenant_argument reads a SQL call's tenant argument through that check.
 *
 *    Tenant 0, the default tenant, is open to every role that may execute
 *    the function.  Any other tenant is open to roles with the privileges of
 *    the extension's owner (the owner, its members, superusers) and to roles
 *    with the privileges of a role granted the tenant.
 *
 *    The grants are cached per backend, sorted by tenant; tidal.grant_tenant
 *    and tidal.revoke_tenant send a relcache invalidation of
 *    tidal.tenant_grants, which makes every backend read them again.
 *
 *    May call: core/, pg/, log/, state/, replication/, cluster/ (tenant.c).
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "cluster/access.h"
#include "cluster/tenant.h"
#include "pg/owner.h"
#include "pg/query.h"
#include "pg/settings.h"
#include "pg/validate.h"
#include "state/recovery.h"

PG_FUNCTION_INFO_V1(tidal_grant_tenant);
PG_FUNCTION_INFO_V1(tidal_revoke_tenant);

typedef struct TenantGrant
{
	int64		tenant;
	Oid			role;
} TenantGrant;

static TenantGrant *grants = NULL;	/* in TopMemoryContext, sorted by tenant */
static int	ngrants = 0;
static bool grants_valid = false;
static uint64 grants_invalidations = 0; /* counts the callback's calls */
static Oid	grants_relid = InvalidOid;
static bool grants_callback_registered = false;

static void
grants_invalidate(Datum arg, Oid relid)
{
	(void) arg;
	if (relid == InvalidOid || relid == grants_relid)
	{
		grants_valid = false;
		grants_relid = InvalidOid;
		grants_invalidations++;
	}
}

/* tidal.tenant_grants, or InvalidOid before the extension's 0.5 */
static Oid
grants_relation(void)
{
	if (!OidIsValid(grants_relid))
		grants_relid = get_relname_relid("tenant_grants", get_namespace_oid("tidal", false));
	return grants_relid;
}

static int
grant_cmp(const void *a, const void *b)
{
	const TenantGrant *x = a;
	const TenantGrant *y = b;

	if (x->tenant != y->tenant)
		return x->tenant < y->tenant ? -1 : 1;
	return x->role < y->role ? -1 : (x->role > y->role ? 1 : 0);
}

static void
grants_load(void)
{
	static OwnedQuery q = {
		"SELECT tenant, role::pg_catalog.oid FROM tidal.tenant_grants", 0, {InvalidOid}, NULL
	};
	TidalSavedUser saved;
	uint64		i;
	uint64		invalidations_before;

	if (!grants_callback_registered)
	{
		CacheRegisterRelcacheCallback(grants_invalidate, (Datum) 0);
		grants_callback_registered = true;
	}
	if (grants != NULL)
		pfree(grants);
	grants = NULL;
	ngrants = 0;
	invalidations_before = grants_invalidations;

	if (OidIsValid(grants_relation()))
	{
		query_begin(&saved);
		query_exec(&q, NULL, NULL, true, SPI_OK_SELECT);
		if (SPI_processed > 0)
		{
			grants = MemoryContextAlloc(TopMemoryContext, SPI_processed * sizeof(TenantGrant));
			for (i = 0; i < SPI_processed; i++)
			{
				bool		isnull;

				grants[i].tenant = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
															   SPI_tuptable->tupdesc, 1, &isnull));
				grants[i].role = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
																SPI_tuptable->tupdesc, 2, &isnull));
			}
			ngrants = (int) SPI_processed;
			qsort(grants, ngrants, sizeof(TenantGrant), grant_cmp);
		}
		query_end(&saved);
	}
	/* a grant or revoke that committed while we read: read again next time */
	grants_valid = (grants_invalidations == invalidations_before);
}

/* whether the role has the privileges of a role granted the tenant */
static bool
granted(Oid roleid, int64 tenant)
{
	int			lo = 0;
	int			hi;
	int			i;

	if (!grants_valid)
		grants_load();			/* may change grants and ngrants */
	hi = ngrants;

	while (lo < hi)				/* first grant of the tenant */
	{
		int			mid = lo + (hi - lo) / 2;

		if (grants[mid].tenant < tenant)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < ngrants && grants[i].tenant == tenant; i++)
	{
		if (has_privs_of_role(roleid, grants[i].role))
			return true;
	}
	return false;
}

void
tenant_check_access(int64 tenant)
{
	Oid			roleid;
	char	   *rolename;

	if (tenant == 0)
		return;					/* the default tenant: open to every role */
	roleid = GetUserId();
	if (tidal_has_owner_privileges(roleid) || granted(roleid, tenant))
		return;

	rolename = GetUserNameFromId(roleid, false);
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("role \"%s\" may not use tenant " INT64_FORMAT, rolename, tenant),
			 errdetail("Tenants other than 0 are open to the extension's owner and to the roles granted them."),
			 errhint("The extension's owner can grant it: SELECT tidal.grant_tenant(%s, " INT64_FORMAT ");",
					 quote_literal_cstr(rolename), tenant)));
}

int64
tenant_argument(FunctionCallInfo fcinfo, int n, TenantInfo *info)
{
	int64		tenant = 0;

	if (PG_NARGS() > n)
	{
		if (PG_ARGISNULL(n))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("tenant must not be NULL"),
					 errhint("Tenant 0 is the default tenant.")));
		tenant = PG_GETARG_INT64(n);
	}
	validate_tenant_id(tenant);	/* as a replicated record's tenant */
	tenant_check_access(tenant);	/* before saying whether it exists */
	tenant_require(tenant, info);
	return tenant;
}

/* ---- tidal.grant_tenant, tidal.revoke_tenant ---- */

static void
check_grantable_tenant(int64 tenant)
{
	TenantInfo	info;

	if (tenant == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("tenant 0 cannot be granted"),
				 errdetail("Tenant 0, the default tenant, is open to every role that may execute tidal's functions.")));
	tenant_require(tenant, &info);
}

/* insert or delete the grant; whether a row changed */
static bool
change_grant(Oid role, int64 tenant, bool grant)
{
	static OwnedQuery ins = {
		"INSERT INTO tidal.tenant_grants (role, tenant) VALUES ($1, $2) ON CONFLICT DO NOTHING",
		2, {REGROLEOID, INT8OID}, NULL
	};
	static OwnedQuery del = {
		"DELETE FROM tidal.tenant_grants WHERE role OPERATOR(pg_catalog.=) $1 "
		"   AND tenant OPERATOR(pg_catalog.=) $2",
		2, {REGROLEOID, INT8OID}, NULL
	};
	Datum		args[2];
	TidalSavedUser saved;
	bool		changed;
	Oid			relid = grants_relation();

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tidal.tenant_grants does not exist"),
				 errhint("Update the extension: ALTER EXTENSION tidal UPDATE.")));
	args[0] = ObjectIdGetDatum(role);
	args[1] = Int64GetDatum(tenant);
	query_begin(&saved);
	query_exec(grant ? &ins : &del, args, NULL, false, grant ? SPI_OK_INSERT : SPI_OK_DELETE);
	changed = SPI_processed > 0;
	query_end(&saved);
	if (changed)
		CacheInvalidateRelcacheByRelid(relid);
	return changed;
}

/*
 * tidal.grant_tenant(role regrole, tenant bigint) RETURNS boolean: the role
 * (and every role with its privileges) may read and write the tenant; false
 * if it was granted already.  STRICT.
 */
Datum
tidal_grant_tenant(PG_FUNCTION_ARGS)
{
	Oid			role = PG_GETARG_OID(0);
	int64		tenant = PG_GETARG_INT64(1);

	tidal_ensure_loaded();
	check_grantable_tenant(tenant);
	PG_RETURN_BOOL(change_grant(role, tenant, true));
}

/*
 * tidal.revoke_tenant(role regrole, tenant bigint) RETURNS boolean: undo a
 * grant_tenant; false if there was none.  STRICT.
 */
Datum
tidal_revoke_tenant(PG_FUNCTION_ARGS)
{
	Oid			role = PG_GETARG_OID(0);
	int64		tenant = PG_GETARG_INT64(1);

	tidal_ensure_loaded();
	PG_RETURN_BOOL(change_grant(role, tenant, false));
}
