#!/usr/bin/env bash
# The cost of issue 11's checks (validation of every input and replicated
# record, tenant access checks, the owner switch with a pinned search_path,
# per-tenant quotas): tidal's ratios to plain PostgreSQL measured with the
# build before them and with this build, side by side in one run.
#
#   bash bench/checks_cost.sh
#
# Both builds must be installed, each into its own copy of PostgreSQL 15:
#   BASE_BINDIR (/opt/pgbase/usr/lib/postgresql/15/bin): the build before the
#               checks (commit bae7fd1), e.g.
#                 mkdir -p /opt/pgbase/usr/lib/postgresql /opt/pgbase/usr/share/postgresql
#                 cp -a /usr/lib/postgresql/15 /opt/pgbase/usr/lib/postgresql/
#                 cp -a /usr/share/postgresql/15 /opt/pgbase/usr/share/postgresql/
#                 ln -s /usr/include /opt/pgbase/usr/include
#                 git worktree add /tmp/base bae7fd1 && cd /tmp/base &&
#                   make PG_CONFIG=/opt/pgbase/usr/lib/postgresql/15/bin/pg_config install
#   NEW_BINDIR  (/usr/lib/postgresql/15/bin): this build (bash scripts/setup.sh).
#
# Each of signal_rate.sh (without its sustained run), batch_rate.sh and
# apply_rate.sh runs once per build, alternating which build goes first, with
# the knobs below passed through (BENCH_DURATION, BENCH_ROUNDS, BENCH_EVENTS).
# Goal (issue 11): every ratio of this build within 5 % of the base build's.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh" # print_table
BASE_BINDIR=${BASE_BINDIR:-/opt/pgbase/usr/lib/postgresql/15/bin}
NEW_BINDIR=${NEW_BINDIR:-/usr/lib/postgresql/15/bin}
OUT=${BENCH_RESULTS:-$HERE/results}/checks_cost
export BENCH_SUSTAINED=0

[ -x "$BASE_BINDIR/postgres" ] || { echo "checks_cost: no PostgreSQL in $BASE_BINDIR (see the header of $0)" >&2; exit 1; }
[ -e "$("$BASE_BINDIR/pg_config" --pkglibdir)/tidal.so" ] || { echo "checks_cost: tidal is not installed in $BASE_BINDIR's PostgreSQL" >&2; exit 1; }
rm -rf "$OUT"
mkdir -p "$OUT/base" "$OUT/new"

run() { # build bench
	local bindir
	bindir=$([ "$1" = base ] && echo "$BASE_BINDIR" || echo "$NEW_BINDIR")
	echo "checks_cost: $2 with the $1 build" >&2
	TIDAL_PG_BINDIR=$bindir BENCH_RESULTS=$OUT/$1 bash "$HERE/$2.sh" >"$OUT/$1/$2.log" 2>&1 ||
		{ echo "checks_cost: $2 failed with the $1 build; see $OUT/$1/$2.log" >&2; exit 1; }
}

order=(base new)
for b in signal_rate batch_rate apply_rate; do
	for build in "${order[@]}"; do run "$build" "$b"; done
	order=("${order[1]}" "${order[0]}")
done

# a table cell: the file, the row's first cell (a prefix), the column (1-based)
cell() { awk -F'|' -v key="$2" -v col="$3" '
	{ c = $2; gsub(/^ +| +$/, "", c) } index(c, key) == 1 { v = $(col + 1); gsub(/^ +| +$/, "", v); print v; exit }' "$1"; }

{
	echo "# checks_cost: tidal's ratio to plain PostgreSQL, the build before issue 11's checks (bae7fd1) and this one ($(git -C "$HERE" rev-parse --short HEAD)), one run"
	echo "# $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
	{
		echo "measure|before the checks|with the checks|change|goal: within 5 %"
		row() { # label file key col
			local a b
			a=$(cell "$OUT/base/$2" "$3" "$4")
			b=$(cell "$OUT/new/$2" "$3" "$4")
			awk -v l="$1" -v a="$a" -v b="$b" 'BEGIN {
				ch = (b - a) / a * 100
				printf "%s|%.2f|%.2f|%+.1f %%|%s\n", l, a, b, ch, (ch >= -5 ? "met" : "NOT met") }'
		}
		row "tidal.signal / INSERT, synchronous_commit on" signal_rate.txt on 4
		row "tidal.signal / INSERT, synchronous_commit off" signal_rate.txt off 4
		row "tidal.signal_batch / INSERT ... SELECT (1,000 a call)" batch_rate.txt "INSERT ... SELECT" 3
		row "tidal apply / native subscriber apply (backlog)" apply_rate.txt "tidal / native" 2
	} | print_table
	echo
	echo "the runs' own tables: $OUT/{base,new}/*.txt"
} | tee "$OUT.txt"
