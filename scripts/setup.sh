#!/usr/bin/env bash
# Prepare this machine for tidal and build + install the extension. Idempotent.
#
#   bash scripts/setup.sh
#
# As root (Debian 12): installs the missing Debian packages (apt-get runs only if
# something is missing; nodejs, npm and chromium for apps/forage only when node,
# npm or chromium is missing), creates the unprivileged user "tidal" that runs
# PostgreSQL in the tests and the demo, then runs `make` and `make install`.
# As another user: the packages must already be there; builds, and installs if
# that user can write to PostgreSQL's install directories (otherwise it checks
# that the installed copy is up to date, and fails if not).
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

missing_packages() {
	local p
	for p in "${REQUIRED_PACKAGES[@]}"; do
		if [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null)" != "ii " ]; then
			printf '%s\n' "$p"
		fi
	done
}

install_packages() {
	command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script supports Debian 12 only"
	local -a missing
	mapfile -t missing < <(missing_packages)
	if [ "${#missing[@]}" -eq 0 ]; then
		log "Debian packages: all present (${REQUIRED_PACKAGES[*]})"
		return 0
	fi
	if ! is_root; then
		die "missing Debian packages: ${missing[*]}. Run as root: bash scripts/setup.sh"
	fi
	local -a was_missing=("${missing[@]}")
	log "installing Debian packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get -q -o Dpkg::Use-Pty=0 update
	apt-get -q -y -o Dpkg::Use-Pty=0 install --no-install-recommends "${missing[@]}"
	mapfile -t missing < <(missing_packages)
	if [ "${#missing[@]}" -ne 0 ]; then
		die "apt-get did not install: ${missing[*]}"
	fi
	quiet_exporter_service "${was_missing[@]}"
}

# prometheus-postgres-exporter is here for the tests, which start their own
# exporter as the test user: if this run installed it, stop and disable the
# system service the package may have started (on :9187, with no database
# configured). An exporter that was already installed is left alone.
quiet_exporter_service() {
	local p svc=prometheus-postgres-exporter
	for p in "$@"; do
		[ "$p" = "$svc" ] || continue
		if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
			systemctl disable --now "$svc" >/dev/null 2>&1 || true
		else
			if command -v update-rc.d >/dev/null 2>&1; then
				update-rc.d "$svc" disable >/dev/null 2>&1 || true
			fi
			if [ -x "/etc/init.d/$svc" ]; then
				"/etc/init.d/$svc" stop >/dev/null 2>&1 || true
			fi
		fi
		log "stopped and disabled the $svc service the package installs (the tests run their own)"
	done
}

# Forage (apps/forage) needs node + npm and, for its browser test, chromium.
# Installed only when the command is missing: a node from elsewhere (say,
# NodeSource's nodejs, which ships its own npm and conflicts with Debian's npm
# package) is left alone.
install_forage_packages() {
	local -a want=()
	command -v node >/dev/null 2>&1 || want+=(nodejs)
	command -v npm >/dev/null 2>&1 || want+=(npm)
	command -v chromium >/dev/null 2>&1 || want+=(chromium)
	if [ "${#want[@]}" -eq 0 ]; then
		log "Forage: node, npm and chromium present"
		return 0
	fi
	if ! is_root; then
		warn "Forage's tests need ${want[*]} (Debian packages); run as root: bash scripts/setup.sh"
		return 0
	fi
	log "installing Debian packages for Forage: ${want[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get -q -o Dpkg::Use-Pty=0 update
	apt-get -q -y -o Dpkg::Use-Pty=0 install --no-install-recommends "${want[@]}" ||
		die "apt-get could not install ${want[*]} for Forage"
}

ensure_user() {
	if ! is_root; then
		log "not root: skipping creation of user $TIDAL_USER"
		return 0
	fi
	if user_exists "$TIDAL_USER"; then
		log "user $TIDAL_USER: exists"
	else
		log "creating user $TIDAL_USER"
		useradd --create-home --user-group --shell /bin/bash \
			--comment "tidal tests and demo (runs PostgreSQL)" "$TIDAL_USER"
	fi
	local home
	home=$(user_home "$TIDAL_USER")
	if [ -n "$home" ] && [ ! -d "$home" ]; then
		mkdir -p "$home"
		chown "$TIDAL_USER:$TIDAL_USER" "$home"
	fi
}

build() {
	log "building tidal (make, warnings are errors)"
	if ! make -C "$REPO" -j"$(nproc 2>/dev/null || echo 2)" PG_CONFIG="$PG_CONFIG"; then
		die "build failed: see the compiler output above"
	fi
}

# True if the installed copy matches this build (the files `make install` copies).
installed_copy_is_current() {
	local pkglibdir extdir control ext version f
	pkglibdir=$("$PG_CONFIG" --pkglibdir)
	extdir=$("$PG_CONFIG" --sharedir)/extension
	for control in "$REPO"/*.control; do
		ext=$(basename "$control" .control)
		version=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$control")
		cmp -s "$REPO/$ext.so" "$pkglibdir/$ext.so" || return 1
		cmp -s "$control" "$extdir/$ext.control" || return 1
		for f in "$REPO/sql/$ext"--*.sql; do
			[ -e "$f" ] || continue
			cmp -s "$f" "$extdir/$(basename "$f")" || return 1
		done
		# and no script this build does not ship (an older build's full script
		# of an old version would take the place of the update chain)
		for f in "$extdir/$ext"--*.sql; do
			[ -e "$f" ] || continue
			[ -e "$REPO/sql/$(basename "$f")" ] || return 1
		done
		[ -n "$version" ] && [ -e "$extdir/$ext--$version.sql" ] || return 1
	done
}

install_ext() {
	local pkglibdir extdir
	pkglibdir=$("$PG_CONFIG" --pkglibdir)
	extdir=$("$PG_CONFIG" --sharedir)/extension
	if is_root || { [ -w "$pkglibdir" ] && [ -w "$extdir" ] &&
		{ [ ! -e "$pkglibdir/bitcode" ] || [ -w "$pkglibdir/bitcode" ]; }; }; then
		log "installing tidal (make install) into $pkglibdir and $extdir"
		if ! make -C "$REPO" PG_CONFIG="$PG_CONFIG" install; then
			die "make install failed"
		fi
	elif installed_copy_is_current; then
		log "$(id -un) cannot write to $pkglibdir; the installed tidal matches this build, skipping make install"
	else
		die "the installed tidal differs from this build and $(id -un) cannot write to $pkglibdir or $extdir. Run as root: bash scripts/setup.sh"
	fi
}

main() {
	install_packages
	install_forage_packages
	[ -x "$PG_CONFIG" ] || die "$PG_CONFIG not found: is postgresql-server-dev-$PG_MAJOR installed?"
	ensure_user
	build
	install_ext
	log "setup done"
}

main "$@"
