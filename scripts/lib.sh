# shellcheck shell=bash
# Shared helpers for scripts/setup.sh, scripts/test.sh and scripts/demo.sh.
# Source it; do not run it.

# The unprivileged account that runs PostgreSQL (initdb and postgres refuse root).
TIDAL_USER=${TIDAL_USER:-tidal}

PG_MAJOR=15
# TIDAL_PG_BINDIR points at another copy of PostgreSQL 15 (say, a private copy of
# /usr/lib/postgresql/15 and /usr/share/postgresql/15, so that two checkouts can
# install and test side by side); by default, Debian's own.
PG_BINDIR=${TIDAL_PG_BINDIR:-/usr/lib/postgresql/$PG_MAJOR/bin}
# Always build against PostgreSQL 15, even if another server-dev version is installed
# (/usr/bin/pg_config would pick the newest one).
# shellcheck disable=SC2034 # used by the scripts that source this file
PG_CONFIG=$PG_BINDIR/pg_config

# Debian packages the build, the tests and the demo need.
# shellcheck disable=SC2034 # used by setup.sh
REQUIRED_PACKAGES=(
	"postgresql-$PG_MAJOR"            # server, initdb, pg_ctl, psql, pgbench (t/037)
	"postgresql-server-dev-$PG_MAJOR" # PGXS, headers, pg_regress and the TAP test modules
	build-essential                   # gcc, make
	perl                              # prove
	libipc-run-perl                   # IPC::Run, used by PostgreSQL::Test::Cluster
	prometheus-postgres-exporter      # t/029 scrapes contrib/prometheus/tidal_queries.yaml through it
)

# Repository root: the parent of the directory holding this file.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)

log()  { printf '==> %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die()  { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

user_exists() { getent passwd "$1" >/dev/null 2>&1; }

user_home() { getent passwd "$1" | cut -d: -f6; }

# The account PostgreSQL runs as: $TIDAL_USER when we are root, otherwise ourselves.
run_user() {
	if is_root; then
		printf '%s\n' "$TIDAL_USER"
	else
		id -un
	fi
}

# Run a command as the PostgreSQL account with a small, predictable environment:
# no PGHOST/PGPORT/PGDATA or locale surprises inherited from the caller.
# A few test knobs are passed through when set.
as_pg_user() {
	local user home
	user=$(run_user)
	home=$(user_home "$user")
	local -a envv=(
		"HOME=${home:-/tmp}"
		"USER=$user"
		"LOGNAME=$user"
		"SHELL=/bin/bash"
		"PATH=$PG_BINDIR:/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"
		"LANG=C.UTF-8"
		"LC_ALL=C.UTF-8"
	)
	local v
	for v in CI TERM PROVE_TESTS PG_TEST_EXTRA PG_TEST_NOCLEAN PG_TEST_TIMEOUT_DEFAULT TIDAL_SEEDS; do
		if [ -n "${!v:-}" ]; then
			envv+=("$v=${!v}")
		fi
	done
	if is_root; then
		runuser -u "$user" -- env -i "${envv[@]}" "$@"
	else
		env -i "${envv[@]}" "$@"
	fi
}

# Give the PostgreSQL account write access to the checkout (the tests write
# tmp_regress/, tmp_check/, results/ and regression.* at the top; the demo writes tmp/).
# Everything below the top directory is chowned, except .git. The top directory
# itself and .git stay owned by root: git refuses to work in a repository whose
# top directory is owned by another user ("dubious ownership"), so the top
# directory is only handed to the account's group, with group write permission.
grant_tree() {
	is_root || return 0
	log "giving user $TIDAL_USER write access to $REPO"
	find "$REPO" -mindepth 1 -maxdepth 1 ! -name .git -exec chown -R -h "$TIDAL_USER:$TIDAL_USER" {} +
	chgrp "$TIDAL_USER" "$REPO"
	chmod g+rwx "$REPO"
}

# True if the PostgreSQL account can read and write the tree at $1 (default: the
# checkout); every parent directory must be searchable by it.
pg_user_can_use_tree() {
	local dir=${1:-$REPO}
	as_pg_user test -x "$dir" -a -w "$dir" -a -r "$dir/Makefile" 2>/dev/null
}
