/*
 * cluster/access.h
 *    Tenants as an access boundary (see access.c): who may use a tenant, and
 *    the tenant argument of SQL calls.
 *
 *    May call: core/, pg/, log/, state/, replication/, cluster/ (tenant.c).
 */
#ifndef TIDAL_ACCESS_H
#define TIDAL_ACCESS_H

#include "postgres.h"

#include "fmgr.h"

#include "cluster/tenant.h"

/*
 * Error 42501 unless the current user may read and write the tenant: tenant
 * 0 is open to every role; other tenants to roles with the privileges of the
 * extension's owner or of a role granted the tenant (tidal.grant_tenant).
 */
extern void tenant_check_access(int64 tenant);

/*
 * The tenant argument n of a SQL call (22004 if NULL), tenant 0 when the
 * call has fewer arguments (its form from before it took a tenant); through
 * tenant_check_access (42501 if the current user may not use the tenant),
 * then tenant_require.  Call after tidal_ensure_loaded(), before becoming
 * the owner.
 */
extern int64 tenant_argument(FunctionCallInfo fcinfo, int n, TenantInfo *info);

#endif							/* TIDAL_ACCESS_H */
