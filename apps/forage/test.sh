#!/usr/bin/env bash
# Run Forage's tests: node's test runner over test/ (the endpoints against a
# real tidal instance each test file starts, and the feed page in headless
# chromium).
#
#   bash apps/forage/test.sh
#
# Installs the npm dependencies (npm ci) when node_modules is missing or older
# than package-lock.json. As root, runs the tests as user "tidal" (PostgreSQL
# refuses root); when that user cannot reach this directory (a checkout under
# /root), the tests run in a copy in /var/tmp/forage-test. The tidal extension
# must be installed (bash scripts/setup.sh). Exits non-zero if a test fails.
set -euo pipefail

APP=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=scripts/lib.sh
. "$APP/../../scripts/lib.sh"

command -v node >/dev/null 2>&1 || die "node not found: run bash scripts/setup.sh (installs Debian's nodejs and npm)"
command -v npm >/dev/null 2>&1 || die "npm not found: run bash scripts/setup.sh"

if [ ! -d "$APP/node_modules" ] || [ "$APP/package-lock.json" -nt "$APP/node_modules/.package-lock.json" ]; then
	log "installing Forage's npm dependencies (npm ci)"
	(cd "$APP" && npm ci --no-audit --no-fund)
fi

WORK=$APP
if is_root; then
	user_exists "$TIDAL_USER" || die "user $TIDAL_USER does not exist: run bash scripts/setup.sh"
	if as_pg_user test -r "$APP/package.json" -a -x "$APP/node_modules" 2>/dev/null; then
		mkdir -p "$APP/test-artifacts"
		chown -R "$TIDAL_USER:$TIDAL_USER" "$APP/test-artifacts"
	else
		WORK=/var/tmp/forage-test
		warn "user $TIDAL_USER cannot reach $APP; testing a copy in $WORK"
		rm -rf "$WORK"
		mkdir -p "$WORK"
		tar -C "$APP" --exclude=./test-artifacts -cf - . | tar -C "$WORK" -xf -
		mkdir -p "$WORK/test-artifacts"
		chown -R "$TIDAL_USER:$TIDAL_USER" "$WORK"
	fi
fi

log "node --test test/*.test.js in $WORK (node $(node --version), as $(run_user))"
rc=0
# test/*.test.js, not test/: node would also run test/helpers/*.js as (empty) test files
as_pg_user bash -c 'cd "$1" && exec node --test test/*.test.js' forage-test "$WORK" || rc=$?
if [ "$WORK" != "$APP" ] && [ -d "$WORK/test-artifacts" ]; then
	mkdir -p "$APP/test-artifacts"
	cp -r "$WORK/test-artifacts/." "$APP/test-artifacts/" 2>/dev/null || true
	echo "(screenshots copied to $APP/test-artifacts)"
fi
exit "$rc"
