#!/usr/bin/env bash
# run.sh — owns running the Forage simulation end to end: checks the tools
# (Node.js >= 18, PostgreSQL 15 with tidal, the pg package, rsvg-convert for
# the PNG charts, installing librsvg2-bin with apt-get when run as root),
# then runs simulate.js, which starts and stops its own PostgreSQL instance.
#   bash apps/forage/sim/run.sh [--users N] [--feeds F] [--seed S]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

command -v node >/dev/null || { echo "run.sh: node (>= 18) is required" >&2; exit 1; }
major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$major" -ge 18 ] || { echo "run.sh: node >= 18 is required, found $(node --version)" >&2; exit 1; }

bindir="${TIDAL_PG_BINDIR:-/usr/lib/postgresql/15/bin}"
[ -x "$bindir/initdb" ] || { echo "run.sh: PostgreSQL 15 binaries not found in $bindir (set TIDAL_PG_BINDIR)" >&2; exit 1; }
if [ "$(id -u)" -eq 0 ] && ! id "${TIDAL_USER:-tidal}" >/dev/null 2>&1; then
  echo "run.sh: running as root needs an OS user '${TIDAL_USER:-tidal}' to run PostgreSQL (set TIDAL_USER)" >&2; exit 1
fi

# the pg client: the app's node_modules, else a private install next to the sim
if ! (cd "$here" && node -e 'require.resolve("pg")' >/dev/null 2>&1); then
  echo "run.sh: installing pg@8 into $here/node_modules"
  (cd "$here" && npm install --no-save --no-package-lock pg@8 >/dev/null)
fi

if ! command -v rsvg-convert >/dev/null; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "run.sh: installing librsvg2-bin (rsvg-convert) for the PNG charts"
    apt-get install -y librsvg2-bin >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y librsvg2-bin >/dev/null 2>&1; } || true
  fi
  if ! command -v rsvg-convert >/dev/null; then
    echo "run.sh: rsvg-convert (Debian package librsvg2-bin) is missing and could not be installed" \
         "(needs root and apt-get): the charts will be written as SVG, not PNG" >&2
  fi
fi

exec node "$here/simulate.js" "$@"
