#!/usr/bin/env bash
# Run every tidal benchmark, one after the other, each on its own fresh
# instance (see bench/lib.sh), and collect their tables in
# bench/results/summary.txt.  Takes about 26 minutes on 2 cores.
#
#   bash bench/run_all.sh            # as root, after bash scripts/setup.sh
#   bash bench/run_all.sh memory     # only some of them
set -euo pipefail
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
RESULTS=${BENCH_RESULTS:-$BENCH/results}
ALL=(signal_rate batch_rate decay_read retrieve replication_lag memory restart failover)
[ $# -gt 0 ] && ALL=("$@")

mkdir -p "$RESULTS"
summary=$RESULTS/summary.txt
{
	echo "# tidal benchmarks, $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "# host: $(nproc) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM, $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
	echo "# $(/usr/lib/postgresql/15/bin/postgres --version); tidal.so $(md5sum "$(/usr/lib/postgresql/15/bin/pg_config --pkglibdir)/tidal.so" | cut -c1-12) (md5), checkout $(git -C "$BENCH/.." rev-parse --short HEAD 2>/dev/null || echo '?')"
	echo
} >"$summary"

start=$(date +%s)
failed=()
for b in "${ALL[@]}"; do
	echo "==> bench/$b.sh" >&2
	t0=$(date +%s)
	if bash "$BENCH/$b.sh" >"$RESULTS/$b.out" 2>"$RESULTS/$b.err"; then
		{ cat "$RESULTS/$b.txt"; echo "# ($b took $(( $(date +%s) - t0 )) s)"; echo; } >>"$summary"
	else
		failed+=("$b")
		{ echo "# $b FAILED, see $RESULTS/$b.err"; echo; } >>"$summary"
		tail -20 "$RESULTS/$b.err" >&2
	fi
done
echo "# all done in $(( $(date +%s) - start )) s" >>"$summary"
cat "$summary"
[ ${#failed[@]} -eq 0 ] || { echo "FAILED: ${failed[*]}" >&2; exit 1; }
