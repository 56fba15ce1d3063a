/*
 * access.h
 *    Tenants as an access boundary (see access.c).
 */
#ifndef TIDAL_ACCESS_H
#define TIDAL_ACCESS_H

#include "postgres.h"

/*
 * Error 42501 unless the current user may read and write the tenant: tenant
 * 0 is open to every role; other tenants to roles with the privileges of the
 * extension's owner or of a role granted the tenant (tidal.grant_tenant).
 */
extern void tenant_check_access(int64 tenant);

#endif							/* TIDAL_ACCESS_H */
