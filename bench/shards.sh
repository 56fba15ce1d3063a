#!/usr/bin/env bash
# Shards in a region (issue 14), side by side in one run:
#
#   ingest     batched ingest into one region of 1, 2 and 4 shards: the same
#              total work (BENCH_INGEST_CALLS calls of tidal.signal_batch with
#              1,000 random entities of 1..BENCH_ENTITIES each, by
#              BENCH_INGEST_CLIENTS pgbench clients in all, spread equally over
#              the region's instances), timed until every owner holds every
#              event (tidal.await_convergence on every instance, then checked:
#              the sum of window_count over each shard's own entities equals
#              the events written); events/s and the CPU of all the region's
#              postgres processes (/proc/<pid>/stat), of pgbench
#              (/usr/bin/time) and of the whole machine (/proc/stat).
#              BENCH_INGEST_ROUNDS rounds, the order of the regions reversed
#              every other round.
#   latency    on the 2-shard region, through shard 0, pgbench -M prepared -c 1:
#              one tidal.signal for an entity shard 0 owns (local) vs one shard 1
#              owns (forwarded); decay_score alone, local vs forwarded; a write
#              then a decay_score of the same entity in the next transaction of
#              the same session (read-your-writes), local vs forwarded.  Then
#              probes: shard 0 writes entities of shard 1, one a transaction,
#              and a poller on shard 1 notes when its decay_score shows each
#              (the owner's view, without read-your-writes' nudge).
#   retrieve   top 20 of the whole catalogue (candidates NULL) of BENCH_ITEMS
#              items (two events an item on average, one in five a like, over 7
#              days, profile 'two' = view + 3 x like, as bench/retrieve_options.sh)
#              on a region of 4 shards, through shard 0, vs the same on one tidal
#              instance, vs plain SQL on one stock instance (the decayed sums
#              over an events table, GROUP BY entity, ORDER BY score LIMIT 20);
#              and top 20 of 10,000 candidates, 4 shards vs 1 (and plain SQL
#              with an index on entity).  Before timing, every pair is checked
#              at one instant: the same 20 ids in the same order, scores within
#              1e-9 relative.  pgbench -M prepared -c 1, BENCH_RETR_ROUNDS rounds
#              of BENCH_RETR_DURATION s per query, the order reversed every other
#              round; medians of the per-transaction latencies.
#
#   TIDAL_PG_BINDIR=/opt/pgc/usr/lib/postgresql/15/bin bash bench/shards.sh
#
# Instances (unix sockets under BENCH_DIR, ports from BENCH_PORT_BASE):
#   +0      a0           region of 1 shard (ingest)
#   +1..2   b0 b1        region of 2 shards (ingest, latency)
#   +3..6   c0..c3       region of 4 shards (ingest)
#   +10..13 q0..q3       region of 4 shards (retrieve)
#   +14     solo         one tidal instance (retrieve)
#   +15     plain        stock PostgreSQL (retrieve)
# Each region is its own cluster (region 0; shard s is node s + 1; hash map
# over its shards, set on shard 0 before the signals).  The ingest and latency
# instances are stopped before the retrieve ones start.
#
# Knobs: BENCH_PARTS ("ingest latency retrieve"), BENCH_PORT_BASE (58000),
#        BENCH_DIR (/tmp/tidal-bench-shards), BENCH_SHARED_BUFFERS (256MB),
#        BENCH_ENTITIES (1000000), BENCH_INGEST_CALLS (4000: 4M events a round),
#        BENCH_INGEST_CLIENTS (4), BENCH_INGEST_ROUNDS (2),
#        BENCH_LAT_DURATION (5 s), BENCH_LAT_ROUNDS (2), BENCH_PROBES (200),
#        BENCH_ITEMS (1000000), BENCH_RETR_DURATION (3), BENCH_RETR_ROUNDS (4).
# Goals (issue 14): ingest scales with the shards up to this machine's 2
# cores; whole-catalogue top 20 over 1M items on 4 shards under 50 ms and at
# least 10x the plain SQL on one instance.
: "${BENCH_DIR:=/tmp/tidal-bench-shards}"
: "${BENCH_SHARED_BUFFERS:=256MB}"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PARTS=${BENCH_PARTS:-ingest latency retrieve}
PORT_BASE=${BENCH_PORT_BASE:-58000}
ENTITIES=${BENCH_ENTITIES:-1000000}
CALLS=${BENCH_INGEST_CALLS:-4000}
CLIENTS=${BENCH_INGEST_CLIENTS:-4}
IROUNDS=${BENCH_INGEST_ROUNDS:-2}
LAT_DURATION=${BENCH_LAT_DURATION:-5}
LAT_ROUNDS=${BENCH_LAT_ROUNDS:-2}
PROBES=${BENCH_PROBES:-200}
ITEMS=${BENCH_ITEMS:-1000000}
RDURATION=${BENCH_RETR_DURATION:-3}
RROUNDS=${BENCH_RETR_ROUNDS:-4}
VIEW_HL=604800   # 7 days, in seconds
LIKE_HL=86400    # 1 day
[ $((CLIENTS % 4)) -eq 0 ] || bdie "BENCH_INGEST_CLIENTS must be a multiple of 4 (spread over 1, 2 and 4 instances)"
[ $((CALLS % CLIENTS)) -eq 0 ] || bdie "BENCH_INGEST_CALLS must be a multiple of BENCH_INGEST_CLIENTS"

INSTANCES=(a0 b0 b1 c0 c1 c2 c3 q0 q1 q2 q3 solo plain)
declare -A PORT
PORT[a0]=$PORT_BASE
PORT[b0]=$((PORT_BASE + 1)); PORT[b1]=$((PORT_BASE + 2))
for s in 0 1 2 3; do PORT[c$s]=$((PORT_BASE + 3 + s)); PORT[q$s]=$((PORT_BASE + 10 + s)); done
PORT[solo]=$((PORT_BASE + 14)); PORT[plain]=$((PORT_BASE + 15))
for n in "${INSTANCES[@]}"; do
	[ "${PORT[$n]}" -ge 58000 ] && [ "${PORT[$n]}" -le 58999 ] || bdie "port ${PORT[$n]} of $n is outside 58000-58999"
done
OUT=$BENCH_RESULTS/shards
REPORT=$BENCH_RESULTS/shards.txt

qi() { pgi "$1" PGDATABASE=bench psql -X -qAt -v ON_ERROR_STOP=1 -c "$2"; }
qiscript() { local n=$1; shift; pgi "$n" PGDATABASE=bench psql -X -q -v ON_ERROR_STOP=1 "$@"; }

BG_PIDS=()
shards_cleanup() {
	local rc=$? n p
	set +e
	for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for n in "${INSTANCES[@]}"; do inst_stop "$n"; done
	if [ "$rc" -ne 0 ]; then
		for n in "${INSTANCES[@]}"; do
			[ -s "$BENCH_DIR/$n.log" ] || continue
			blog "last lines of $n's server log:"
			tail -6 "$BENCH_DIR/$n.log" >&2
		done
	fi
	[ -n "${BENCH_KEEP:-}" ] || rm -rf "$BENCH_WORK"
	return "$rc"
}

# CPU seconds used so far by an instance: the postmaster, its live children,
# and (cutime/cstime) the children it has reaped (as bench/replication_lag.sh)
inst_cpu() {
	local pm pid ticks=0
	pm=$(head -1 "$BENCH_DIR/$1/postmaster.pid")
	ticks=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$pm/stat")
	for pid in $(ps -o pid= --ppid "$pm"); do
		ticks=$((ticks + $(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)))
	done
	awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}
machine_cpu() { awk -v hz="$(getconf CLK_TCK)" '/^cpu / { printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / hz }' /proc/stat; }
cluster_cpu() {
	local n s=0
	for n in "$@"; do s=$(awk -v a="$s" -v b="$(inst_cpu "$n")" 'BEGIN { print a + b }'); done
	echo "$s"
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
cpu_pressure() { awk '/^some/ { sub("avg60=", "", $3); print $3 "%" }' /proc/pressure/cpu 2>/dev/null || echo "?"; }
median_of() { sort -g "$1" | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# "n median p90 p99 max" of the numbers on stdin (nearest rank)
summarize() {
	sort -g | awk '
		{ v[++n] = $1 }
		function pct(p,  i) { i = int(p * n); if (i < p * n) i++; if (i < 1) i = 1; return v[i] }
		END { if (n == 0) { print "0 n/a n/a n/a n/a"; exit } printf "%d %.2f %.2f %.2f %.2f\n", n, pct(0.5), pct(0.9), pct(0.99), v[n] }'
}

# region_up PREFIX SHARDS [conf lines...]: instances PREFIX0..PREFIX(S-1) of
# region 0, shard s node s + 1, each a sibling of every other, the hash map
# over S shards set on shard 0 (S > 1), then the signals and profile 'two'
# defined there, and everything checked to have reached every shard
region_up() {
	local p=$1 S=$2 s t n
	shift 2
	for ((s = 0; s < S; s++)); do
		n=$p$s
		[ "$p" = solo ] && n=solo
		inst_init "$n" "shared_preload_libraries = 'tidal'" "tidal.node_id = $((s + 1))" "tidal.region_id = 0" \
			"tidal.shard_id = $s" "tidal.database = 'bench'" "max_worker_processes = 16" "$@"
		inst_start "$n"
		pgi "$n" createdb bench
		qi "$n" "CREATE EXTENSION tidal" >/dev/null
	done
	if [ "$S" -gt 1 ]; then
		for ((s = 0; s < S; s++)); do
			for ((t = 0; t < S; t++)); do
				[ "$s" = "$t" ] && continue
				qi "$p$s" "SELECT tidal.add_peer(0, 'host=$BENCH_DIR port=${PORT[$p$t]} dbname=bench', $t)" >/dev/null
			done
		done
		wait_until 60 "shard 0 of $p to lead" is_leader "${p}0"
		qi "${p}0" "SELECT tidal.set_shard_map('hash', $S)" >/dev/null
	fi
	local first=${p}0
	[ "$p" = solo ] && first=solo
	qi "$first" "SELECT tidal.define_signal('view', '7 days', ARRAY['1 hour']::interval[])" >/dev/null
	qi "$first" "SELECT tidal.define_signal('like', '1 day')" >/dev/null
	qi "$first" "SELECT tidal.define_profile('two', '{\"terms\": [{\"signal\": \"view\"}, {\"signal\": \"like\", \"weight\": 3}]}')" >/dev/null
	local want
	want=$(qi "$first" "SELECT mode || shard_count || '@' || version FROM tidal.shards")
	for ((s = 1; s < S; s++)); do
		wait_until 60 "the map, signals and profile to reach $p$s" region_defined "$p$s" "$want"
	done
}
is_leader() { [ "$(qi "$1" "SELECT role FROM tidal.cluster WHERE is_local")" = leader ]; }
region_defined() {
	[ "$(qi "$1" "SELECT (SELECT mode || shard_count || '@' || version FROM tidal.shards) || ' ' || (SELECT count(*) FROM tidal.signals) || ' ' || (SELECT count(*) FROM tidal.profiles WHERE name = 'two')")" = "$2 2 1" ]
}

bench_check_prereqs
SO_MD5=$(so_md5)
CHECKOUT="$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO" diff --quiet HEAD -- src sql 2>/dev/null || echo ' with uncommitted changes in src/ or sql/')"
inst_fresh_dirs
trap shards_cleanup EXIT
RUN_START=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
LOAD_START=$(loadavg)
{
	bench_header "shards: a region of 1, 2 and 4 shards (issue 14), side by side in one run"
	echo "# tidal.so $SO_MD5 (md5), checkout $CHECKOUT; PostgreSQL from $PG_BINDIR; parts: $PARTS"
	echo
} >"$REPORT"
section() { { echo; echo "## $1"; echo; } >>"$REPORT"; }

# ================================================================= ingest + latency

has_part() { [[ " $PARTS " == *" $1 "* ]]; }

if has_part ingest || has_part latency; then
	blog "shards: starting regions of 1, 2 and 4 shards (ports ${PORT[a0]}-${PORT[c3]})"
	COMMON=("tidal.max_entities = $((ENTITIES + 500000))" "tidal.max_items = 1000")
	region_up a 1 "${COMMON[@]}"
	region_up b 2 "${COMMON[@]}"
	region_up c 4 "${COMMON[@]}"
	cat >"$BENCH_WORK/ingest.sql" <<EOF
SELECT tidal.signal_batch('view', ARRAY(SELECT 1 + (random() * ($ENTITIES - 1))::int8 FROM generate_series(1, 1000)));
EOF
	chown -R "$TIDAL_USER:$TIDAL_USER" "$BENCH_WORK"
fi

declare -A REGION_OF WRITTEN
REGION_OF[1]="a0"; REGION_OF[2]="b0 b1"; REGION_OF[4]="c0 c1 c2 c3"
WRITTEN[1]=0; WRITTEN[2]=0; WRITTEN[4]=0

# every owner's events: on each shard, the 1-hour window count of the entities it owns
owned_total() {	# SHARDS -> total events held by their owners
	local S=$1 s n tot=0 v
	s=0
	for n in ${REGION_OF[$S]}; do
		v=$(qi "$n" "SELECT coalesce(sum(tidal.window_count(e, 'view', '1 hour')), 0)::int8 FROM generate_series(1, $ENTITIES) e WHERE tidal.shard_for(e) = $s")
		tot=$((tot + v))
		s=$((s + 1))
	done
	echo "$tot"
}

declare -A ING_ACC ING_CONV ING_CPU ING_PGB ING_MACH
ingest_round() {	# SHARDS ROUND
	local S=$1 round=$2 n tag pids=() t0 t1 t2 c0 c1 m0 m1 got want i
	local per=$((CLIENTS / S))
	local -a nodes
	read -r -a nodes <<<"${REGION_OF[$S]}"
	tag=$S.$round
	for n in "${nodes[@]}"; do qi "$n" "SELECT tidal.await_convergence('60s')" >/dev/null; done
	blog "shards: ingest round $round, $S shard(s): $CALLS calls of 1,000 events by $CLIENTS clients ($per per instance)"
	c0=$(cluster_cpu "${nodes[@]}"); m0=$(machine_cpu); t0=$(now_s)
	i=0
	for n in "${nodes[@]}"; do
		pgi "$n" PGDATABASE=bench /usr/bin/time -f '%e %U %S' -o "$BENCH_WORK/time.$tag.$i" \
			pgbench -n -M prepared -c "$per" -j "$per" -t $((CALLS / CLIENTS)) -f "$BENCH_WORK/ingest.sql" >"$OUT.ingest.$tag.$i.txt" 2>&1 &
		pids+=("$!")
		i=$((i + 1))
	done
	BG_PIDS=("${pids[@]}")
	for i in "${pids[@]}"; do wait "$i" || bdie "ingest $tag: a pgbench failed (see $OUT.ingest.$tag.*.txt)"; done
	BG_PIDS=()
	t1=$(now_s)
	for n in "${nodes[@]}"; do
		[ "$(qi "$n" "SELECT tidal.await_convergence('300s')")" = t ] || bdie "ingest $tag: $n did not converge within 300 s"
	done
	t2=$(now_s); c1=$(cluster_cpu "${nodes[@]}"); m1=$(machine_cpu)
	for i in "$OUT.ingest.$tag".*.txt; do
		grep -q "number of failed transactions: 0 " "$i" || { cat "$i" >&2; bdie "ingest $tag: failed transactions"; }
	done
	WRITTEN[$S]=$((WRITTEN[$S] + CALLS * 1000))
	want=${WRITTEN[$S]}
	got=$(owned_total "$S")
	if [ "$got" != "$want" ]; then
		blog "shards: ingest $tag: owners hold $got of $want events after await_convergence; waiting"
		for i in $(seq 1 30); do sleep 1; got=$(owned_total "$S"); [ "$got" = "$want" ] && break; done
		[ "$got" = "$want" ] || bdie "ingest $tag: the owners hold $got events, $want were written"
		t2=$(now_s); c1=$(cluster_cpu "${nodes[@]}"); m1=$(machine_cpu)
		echo "ingest $tag: converged only after the extra wait" >>"$OUT.notes.txt"
	fi
	ING_ACC[$tag]=$(elapsed "$t0" "$t1")
	ING_CONV[$tag]=$(elapsed "$t0" "$t2")
	ING_CPU[$tag]=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }')
	ING_MACH[$tag]=$(awk -v a="$m0" -v b="$m1" 'BEGIN { printf "%.2f", b - a }')
	ING_PGB[$tag]=$(cat "$BENCH_WORK/time.$tag".* | awk '{ s += $2 + $3 } END { printf "%.2f", s }')
	blog "shards: ingest $tag: accepted in ${ING_ACC[$tag]} s, every owner holds every event ($got) after ${ING_CONV[$tag]} s; region CPU ${ING_CPU[$tag]} s"
}

if has_part ingest; then
	ING_LOAD0=$(loadavg); ING_T0=$(date -u '+%H:%M:%S')
	for round in $(seq 1 "$IROUNDS"); do
		if [ $((round % 2)) -eq 1 ]; then order="1 2 4"; else order="4 2 1"; fi
		for S in $order; do ingest_round "$S" "$round"; done
	done
	ING_LOAD1=$(loadavg); ING_T1=$(date -u '+%H:%M:%S')
	section "1. Batched ingest: $CALLS calls of tidal.signal_batch x 1,000 random entities of 1..$ENTITIES, $CLIENTS pgbench clients spread over the region ($ING_T0-$ING_T1 UTC, load average $ING_LOAD0 before, $ING_LOAD1 after)"
	{
		echo "shards|round|accepted s|until every owner holds every event s|events/s (until owners hold all)|region postgres CPU s|cores (postgres)|pgbench CPU s|machine busy cores|postgres core-s per 1M events"
		for S in 1 2 4; do
			for round in $(seq 1 "$IROUNDS"); do
				tag=$S.$round
				ev=$((CALLS * 1000))
				echo "$S|$round|${ING_ACC[$tag]}|${ING_CONV[$tag]}|$(fmt0 "$(fdiv "$ev" "${ING_CONV[$tag]}")")|${ING_CPU[$tag]}|$(fdiv "${ING_CPU[$tag]}" "${ING_CONV[$tag]}")|${ING_PGB[$tag]}|$(fdiv "${ING_MACH[$tag]}" "${ING_CONV[$tag]}")|$(fdiv "${ING_CPU[$tag]}" "$(awk -v e="$ev" 'BEGIN { print e / 1e6 }')")"
			done
		done
	} | print_table >>"$REPORT"
	{ echo; echo "mean over the rounds, relative to 1 shard:"; } >>"$REPORT"
	declare -A MRATE MCPU
	{
		echo "shards|events/s until owners hold all|vs 1 shard|postgres cores|postgres core-s per 1M events|vs 1 shard"
		for S in 1 2 4; do
			MRATE[$S]=$(for round in $(seq 1 "$IROUNDS"); do fdiv $((CALLS * 1000)) "${ING_CONV[$S.$round]}"; echo; done | awk '{ s += $1 } END { printf "%.0f", s / NR }')
			MCPU[$S]=$(for round in $(seq 1 "$IROUNDS"); do echo "${ING_CPU[$S.$round]}"; done | awk -v e="$CALLS" '{ s += $1 } END { printf "%.2f", s / NR / (e / 1000) }')
			MCORES=$(for round in $(seq 1 "$IROUNDS"); do fdiv "${ING_CPU[$S.$round]}" "${ING_CONV[$S.$round]}"; echo; done | awk '{ s += $1 } END { printf "%.2f", s / NR }')
			echo "$S|${MRATE[$S]}|$(fdiv "${MRATE[$S]}" "${MRATE[1]}")|$MCORES|${MCPU[$S]}|$(fdiv "${MCPU[$S]}" "${MCPU[1]}")"
		done
	} | print_table >>"$REPORT"
	echo "verified: in each region the owners' window counts add up to every event written ($(for S in 1 2 4; do printf '%s shards: %s; ' "$S" "${WRITTEN[$S]}"; done))" >>"$REPORT"
	[ -s "$OUT.notes.txt" ] && cat "$OUT.notes.txt" >>"$REPORT"
fi

# ================================================================= latency

lat_run() {	# KIND ROUND: pgbench -M prepared -c 1 on b0, per-transaction latencies
	local k=$1 round=$2 prefix=$BENCH_WORK/lat.$1.$2
	pgi b0 PGDATABASE=bench pgbench -n -M prepared -c 1 -j 1 -T "$LAT_DURATION" -l --log-prefix="$prefix" \
		-f "$BENCH_WORK/lat.$k.sql" >"$OUT.lat.$k.$round.txt" 2>&1 || { cat "$OUT.lat.$k.$round.txt" >&2; bdie "pgbench $k failed"; }
	grep -q "number of failed transactions: 0 " "$OUT.lat.$k.$round.txt" || bdie "pgbench $k: failed transactions"
	awk '{ printf "%.4f\n", $3 / 1000 }' "$prefix".* >>"$BENCH_WORK/lat.$k.lat"
	rm -f "$prefix".*
}

if has_part latency; then
	LAT_LOAD0=$(loadavg); LAT_T0=$(date -u '+%H:%M:%S')
	# entities new to the region, 20,000 of each shard, by their index
	qiscript b0 >/dev/null <<SQL
CREATE TABLE own AS
SELECT row_number() OVER (PARTITION BY s ORDER BY e)::int AS i, e, s
  FROM (SELECT e, tidal.shard_for(e) AS s FROM generate_series($((ENTITIES + 1)), $((ENTITIES + 60000))) e) x;
DELETE FROM own WHERE i > 21000;
CREATE UNIQUE INDEX ON own (s, i);
ANALYZE own;
SQL
	for s in 0 1; do
		[ "$(qi b0 "SELECT count(*) FROM own WHERE s = $s")" = 21000 ] || bdie "fewer than 21,000 entities of shard $s"
	done
	LKINDS=""
	for side in local fwd; do
		s=0; [ $side = fwd ] && s=1
		printf '\\set i random(1, 20000)\nSELECT tidal.signal(%s, e) FROM own WHERE s = %d AND i = :i;\n' "'view'" "$s" >"$BENCH_WORK/lat.w_$side.sql"
		printf '\\set i random(1, 20000)\nSELECT tidal.decay_score(e, %s) FROM own WHERE s = %d AND i = :i;\n' "'view'" "$s" >"$BENCH_WORK/lat.r_$side.sql"
		printf '\\set i random(1, 20000)\nSELECT tidal.signal(%s, e) FROM own WHERE s = %d AND i = :i;\nSELECT tidal.decay_score(e, %s) FROM own WHERE s = %d AND i = :i;\n' "'view'" "$s" "'view'" "$s" >"$BENCH_WORK/lat.wr_$side.sql"
	done
	LKINDS="w_local w_fwd r_local r_fwd wr_local wr_fwd"
	for k in $LKINDS; do : >"$BENCH_WORK/lat.$k.lat"; done
	chown -R "$TIDAL_USER:$TIDAL_USER" "$BENCH_WORK"
	# read-your-writes, checked: 20 writes of one entity of shard 1 through shard 0, each read at once
	e1=$(qi b0 "SELECT e FROM own WHERE s = 1 AND i = 20001")
	T_RYW=$(date -u -d '1 hour ago' '+%Y-%m-%d %H:%M:%S+00')
	ryw=$(for _ in $(seq 1 20); do printf "SELECT 'w' FROM tidal.signal('view', %s, 1, '%s');\nSELECT tidal.decay_score(%s, 'view', '%s');\n" "$e1" "$T_RYW" "$e1" "$T_RYW"; done |
		pgi b0 PGDATABASE=bench psql -X -qAt -v ON_ERROR_STOP=1 | grep -v '^w$' | paste -sd' ')
	[ "$ryw" = "$(seq 1 20 | paste -sd' ')" ] || bdie "read-your-writes through shard 0 of shard 1's entity $e1 gave: $ryw"
	for round in $(seq 1 "$LAT_ROUNDS"); do
		if [ $((round % 2)) -eq 1 ]; then order=$LKINDS; else order=$(echo "$LKINDS" | tr ' ' '\n' | tac | tr '\n' ' '); fi
		for k in $order; do lat_run "$k" "$round"; done
		blog "shards: latency round $round of $LAT_ROUNDS done"
	done

	# probes: shard 0 writes entities of shard 1 (one a transaction, 20-80 ms
	# apart); a poller on shard 1 notes when its own decay_score shows each
	qi b0 "SELECT e FROM own WHERE s = 1 AND i > 20001 ORDER BY i LIMIT $PROBES" >"$BENCH_WORK/probe_ids"
	qiscript b1 >/dev/null <<'SQL'
CREATE PROCEDURE public.watch(ids bigint[], poll float8, timeout float8, INOUT result text DEFAULT NULL)
LANGUAGE plpgsql AS $$
DECLARE
    k int := 1;
    seen text[] := '{}';
    stop timestamptz := clock_timestamp() + make_interval(secs => timeout);
BEGIN
    WHILE k <= cardinality(ids) AND clock_timestamp() < stop LOOP
        IF tidal.decay_score(ids[k], 'view', clock_timestamp() + interval '1 day') > 0 THEN
            seen := seen || (ids[k]::text || ' ' || extract(epoch FROM clock_timestamp())::text);
            k := k + 1;
        ELSE
            COMMIT;
            PERFORM pg_sleep(poll);
        END IF;
    END LOOP;
    result := array_to_string(seen, E'\n');
END $$;
SQL
	ids="{$(paste -sd, "$BENCH_WORK/probe_ids")}"
	qi b1 "CALL public.watch('$ids', 0.001, 120)" >"$OUT.probes.seen.txt" &
	BG_PIDS=("$!")
	sleep 0.3
	awk 'BEGIN { srand(7) } { printf "SELECT %s, tidal.signal(\x27view\x27, %s) IS NOT NULL, extract(epoch FROM clock_timestamp());\nSELECT pg_sleep(%.3f);\n", $1, $1, 0.02 + 0.06 * rand() }' \
		"$BENCH_WORK/probe_ids" >"$BENCH_WORK/probes.sql"
	chown "$TIDAL_USER:$TIDAL_USER" "$BENCH_WORK/probes.sql"
	pgi b0 PGDATABASE=bench psql -X -qAt -F' ' -v ON_ERROR_STOP=1 -f "$BENCH_WORK/probes.sql" | grep ' t ' >"$OUT.probes.written.txt"
	wait "${BG_PIDS[0]}" || bdie "the probe poller failed"
	BG_PIDS=()
	awk 'FNR == NR { ins[$1] = $3; next } ($1 in ins) { printf "%.3f\n", ($2 - ins[$1]) * 1000 }' \
		"$OUT.probes.written.txt" "$OUT.probes.seen.txt" >"$OUT.probes.lag.txt"
	LAT_LOAD1=$(loadavg); LAT_T1=$(date -u '+%H:%M:%S')

	section "2. A forwarded write: region of 2 shards, through shard 0, pgbench -M prepared -c 1, $LAT_ROUNDS x $LAT_DURATION s per kind in alternating order ($LAT_T0-$LAT_T1 UTC, load average $LAT_LOAD0 before, $LAT_LOAD1 after)"
	declare -A LBL
	LBL[w]="tidal.signal (one transaction)"
	LBL[r]="tidal.decay_score"
	LBL[wr]="tidal.signal, then decay_score of it (read-your-writes)"
	{
		echo "call|local: shard 0's entity, median ms|p90|p99|forwarded: shard 1's entity, median ms|p90|p99|forwarded / local (median)|forwarded - local (median) ms|transactions local / forwarded"
		for k in w r wr; do
			read -r nl ml pl9 pl99 _ <<<"$(summarize <"$BENCH_WORK/lat.${k}_local.lat")"
			read -r nf mf pf9 pf99 _ <<<"$(summarize <"$BENCH_WORK/lat.${k}_fwd.lat")"
			echo "${LBL[$k]}|$ml|$pl9|$pl99|$mf|$pf9|$pf99|$(fdiv "$mf" "$ml")|$(awk -v a="$mf" -v b="$ml" 'BEGIN { printf "%.2f", a - b }')|$nl / $nf"
		done
	} | print_table >>"$REPORT"
	read -r pn pm p9 p99 pmax <<<"$(summarize <"$OUT.probes.lag.txt")"
	{
		echo
		echo "until the owner (shard 1) itself shows a write taken by shard 0 (decay_score polled on shard 1 every 1 ms; from the write's statement, before its commit): $pn of $PROBES probes seen, median $pm ms, p90 $p9 ms, p99 $p99 ms, max $pmax ms (a local write is visible at its commit)"
		echo "read-your-writes checked: 20 writes through shard 0 of shard 1's entity $e1, each read back at once: 1..20"
	} >>"$REPORT"
fi

if has_part ingest || has_part latency; then
	for n in a0 b0 b1 c0 c1 c2 c3; do inst_stop "$n"; done
fi

# ================================================================= retrieve

if has_part retrieve; then
	blog "shards: starting a region of 4 shards, one tidal instance and one stock instance (ports ${PORT[q0]}-${PORT[plain]})"
	RCONF=("tidal.max_entities = $((2 * ITEMS + 200000))" "tidal.max_items = $((ITEMS + 20000))" "work_mem = '256MB'")
	region_up q 4 "${RCONF[@]}"
	region_up solo 1 "${RCONF[@]}"
	inst_init plain "work_mem = '256MB'"
	inst_start plain
	pgi plain createdb bench
	AT=$(date -u '+%Y-%m-%d %H:%M:%S+00')
	# the events: the same rows generated on every instance (hashint8 of g), at fixed times before AT
	src_sql() {
		cat <<SQL
CREATE TABLE src AS
SELECT g, 1 + (hashint8(g * 3 + 1) & 2147483647) % $ITEMS AS entity,
       CASE WHEN g % 5 = 0 THEN 2 ELSE 1 END AS signal, 1::float8 AS weight,
       '$AT'::timestamptz - interval '7 days' + g * (interval '7 days' / (2 * $ITEMS)) AS at
  FROM generate_series(1, 2 * $ITEMS) g;
CREATE TABLE cands AS
SELECT array_agg(i ORDER BY hashint8(i * 31 + 7)) AS c
  FROM (SELECT i::int8 FROM generate_series(1, $ITEMS) i ORDER BY hashint8(i::int8 * 17 + 5) LIMIT 10000) x;
SQL
	}
	# tidal: each instance records the events of the entities it owns (all, on solo)
	tidal_load_sql() {	# SHARD-FILTER
		cat <<SQL
$(src_sql)
CREATE INDEX ON src (g);
SELECT format('SELECT tidal.signal_batch(%L, array_agg(entity ORDER BY g), array_agg(weight ORDER BY g), array_agg(at ORDER BY g)) FROM src WHERE signal = %s AND g > %s AND g <= %s $1',
              CASE s WHEN 1 THEN 'view' ELSE 'like' END, s, k * 50000, (k + 1) * 50000)
  FROM generate_series(0, (2 * $ITEMS - 1) / 50000) k, generate_series(1, 2) s
 ORDER BY k, s
\gexec
SQL
	}
	items_sql() {
		cat <<SQL
SELECT format('SELECT count(tidal.upsert_item(i, i %% 1000, ''{}'', ''$AT''::timestamptz - interval ''1 day'')) FROM generate_series(%s, %s) i',
              k * 50000 + 1, least((k + 1) * 50000, $ITEMS))
  FROM generate_series(0, ($ITEMS - 1) / 50000) k
\gexec
SQL
	}
	t_load=$(now_s)
	blog "shards: retrieve: loading $((2 * ITEMS)) events and $ITEMS items into 4 shards, one tidal instance and plain SQL"
	for s in 0 1 2 3; do
		{ tidal_load_sql "AND tidal.shard_for(entity) = $s"; echo "DROP TABLE src; SELECT tidal.seal();"; } | qiscript "q$s" >/dev/null
	done
	{ tidal_load_sql ""; echo "DROP TABLE src;"; items_sql; echo "SELECT tidal.seal(); VACUUM ANALYZE; CHECKPOINT;"; } | qiscript solo >/dev/null
	t_items=$(now_s)
	{ items_sql; echo "SELECT tidal.seal();"; } | qiscript q0 >/dev/null
	items_on() { [ "$(qi "$1" "SELECT items FROM tidal.item_facts_stats()")" -ge "$ITEMS" ]; }
	for s in 1 2 3; do wait_until 900 "the items to reach q$s" items_on "q$s"; done
	ITEMS_REPL=$(elapsed "$t_items" "$(now_s)")
	for s in 0 1 2 3; do qi "q$s" "VACUUM ANALYZE" >/dev/null; qi "q$s" "CHECKPOINT" >/dev/null; done
	{
		src_sql
		echo "CREATE TABLE events (entity bigint NOT NULL, signal int NOT NULL, weight float8 NOT NULL, at timestamptz NOT NULL);"
		echo "INSERT INTO events SELECT entity, signal, weight, at FROM src ORDER BY g;"
		echo "CREATE INDEX ON events (entity); DROP TABLE src; VACUUM ANALYZE; CHECKPOINT;"
	} | qiscript plain >/dev/null
	LOAD_S=$(elapsed "$t_load" "$(now_s)")
	blog "shards: retrieve: loaded in $LOAD_S s (items reached shards 1-3 in $ITEMS_REPL s after their upserts began)"
	for s in 0 1 2 3; do
		[ "$(qi "q$s" "SELECT complete FROM tidal.item_facts_stats()")" = t ] || bdie "q$s: item facts not complete"
	done

	decay_sum() { echo "weight * CASE signal WHEN 1 THEN power(2, -date_part('epoch', '$AT'::timestamptz - at) / $VIEW_HL) ELSE 3 * power(2, -date_part('epoch', '$AT'::timestamptz - at) / $LIKE_HL) END"; }
	declare -A RSQL
	RSQL[whole]="SELECT item_id, score FROM tidal.retrieve(NULL, NULL, 'two', lim => 20, at => '$AT')"
	RSQL[whole_plain]="SELECT entity, sum($(decay_sum)) AS score FROM events GROUP BY entity ORDER BY score DESC, entity LIMIT 20"
	RSQL[cands]="SELECT item_id, score FROM tidal.retrieve(NULL, (SELECT c FROM cands), 'two', lim => 20, at => '$AT')"
	RSQL[cands_plain]="SELECT entity, sum($(decay_sum)) AS score FROM events WHERE entity = ANY ((SELECT c FROM cands)::bigint[]) GROUP BY entity ORDER BY score DESC, entity LIMIT 20"
	# one shard's part of the whole catalogue alone, as shard 0 asks shard 1 for it
	RSQL[part]="SELECT item_id, score FROM tidal._retrieve_part(NULL, NULL, 'two', NULL, 0, 20, (extract(epoch FROM '$AT'::timestamptz) * 1000000)::int8, 0, 0, 0, 0, (SELECT version FROM tidal.shards)) WHERE item_id IS NOT NULL"
	# KIND.INSTANCE: the query and where it runs
	RKINDS="whole.q0 whole.solo whole_plain.plain part.q1 cands.q0 cands.solo cands_plain.plain"
	for kn in $RKINDS; do printf '%s;\n' "${RSQL[${kn%.*}]}" >"$BENCH_WORK/r.$kn.sql"; : >"$BENCH_WORK/r.$kn.lat"; done
	chown -R "$TIDAL_USER:$TIDAL_USER" "$BENCH_WORK"
	answer() { qi "${1#*.}" "SELECT string_agg(x.a || ':' || x.b, ' ') FROM (${RSQL[${1%.*}]}) AS x(a, b)"; }
	ids() { tr ' ' '\n' <<<"$1" | cut -d: -f1 | paste -sd' '; }
	maxrel() {
		paste -d' ' <(tr ' ' '\n' <<<"$1" | cut -d: -f2) <(tr ' ' '\n' <<<"$2" | cut -d: -f2) |
			awk '{ d = $1 - $2; if (d < 0) d = -d; r = d / ($2 < 0 ? -$2 : $2); if (r > m) m = r } END { printf "%.1e", m }'
	}
	declare -A AGREE
	for pair in "whole.q0 whole.solo" "whole.q0 whole_plain.plain" "cands.q0 cands.solo" "cands.q0 cands_plain.plain"; do
		read -r x y <<<"$pair"
		ax=$(answer "$x"); ay=$(answer "$y")
		[ "$(ids "$ax" | wc -w)" = 20 ] || bdie "$x returned $(ids "$ax" | wc -w) items"
		[ "$(ids "$ax")" = "$(ids "$ay")" ] || bdie "$x and $y differ: $(ids "$ax") / $(ids "$ay")"
		AGREE[$pair]=$(maxrel "$ax" "$ay")
		awk -v r="${AGREE[$pair]}" 'BEGIN { exit !(r + 0 < 1e-9) }' || bdie "$x's scores differ from $y's by ${AGREE[$pair]}"
	done
	blog "shards: retrieve: 4 shards, one instance and plain SQL agree (same 20 ids in order, scores within 1e-9)"
	RET_LOAD0=$(loadavg); RET_T0=$(date -u '+%H:%M:%S'); PSI0=$(cpu_pressure)
	for round in $(seq 1 "$RROUNDS"); do
		if [ $((round % 2)) -eq 1 ]; then order=$RKINDS; else order=$(echo "$RKINDS" | tr ' ' '\n' | tac | tr '\n' ' '); fi
		for kn in $order; do
			prefix=$BENCH_WORK/rlog.$kn.$round
			pgi "${kn#*.}" PGDATABASE=bench pgbench -n -M prepared -c 1 -j 1 -T "$RDURATION" -l --log-prefix="$prefix" \
				-f "$BENCH_WORK/r.$kn.sql" >"$OUT.r.$kn.$round.txt" 2>&1 || { cat "$OUT.r.$kn.$round.txt" >&2; bdie "pgbench $kn failed"; }
			grep -q "number of failed transactions: 0 " "$OUT.r.$kn.$round.txt" || bdie "pgbench $kn: failed transactions"
			awk '{ printf "%.4f\n", $3 / 1000 }' "$prefix".* >>"$BENCH_WORK/r.$kn.lat"
			rm -f "$prefix".*
		done
		blog "shards: retrieve round $round of $RROUNDS done"
	done
	# tidal's own time (last_query_stats elapsed_us), median of 20 calls in one session
	elapsed_of() {
		qi "${1#*.}" "CREATE TEMP TABLE el (us bigint);
DO \$d\$ BEGIN
    PERFORM count(*) FROM (${RSQL[${1%.*}]}) x;
    FOR i IN 1..20 LOOP
        PERFORM count(*) FROM (${RSQL[${1%.*}]}) x;
        INSERT INTO el SELECT (tidal.last_query_stats()->>'elapsed_us')::bigint;
    END LOOP;
END \$d\$;
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY us) / 1000.0 FROM el;" | tail -1
	}
	declare -A EL RMED
	for kn in whole.q0 whole.solo cands.q0 cands.solo; do EL[$kn]=$(elapsed_of "$kn"); done
	STATS_Q0=$(qi q0 "SELECT count(*) FROM (${RSQL[whole]}) x; SELECT tidal.last_query_stats() - 'elapsed_us' - 'unreachable_regions'" | tail -1)
	for kn in $RKINDS; do RMED[$kn]=$(median_of "$BENCH_WORK/r.$kn.lat"); done
	RET_LOAD1=$(loadavg); RET_T1=$(date -u '+%H:%M:%S'); PSI1=$(cpu_pressure)

	section "3. retrieve top 20: whole catalogue of $ITEMS items ($((2 * ITEMS)) events), and 10,000 candidates; pgbench -M prepared -c 1, $RROUNDS x $RDURATION s per query in alternating order ($RET_T0-$RET_T1 UTC, load average $RET_LOAD0 before, $RET_LOAD1 after; CPU pressure avg60 $PSI0 before, $PSI1 after)"
	{
		echo "query|4 shards (through shard 0) median ms|elapsed_us median ms|1 tidal instance median ms|elapsed_us median ms|plain SQL, 1 stock instance, median ms|1 instance / 4 shards|plain / 4 shards|goal"
		for k in whole cands; do
			T4=${RMED[$k.q0]}; T1=${RMED[$k.solo]}; P=${RMED[${k}_plain.plain]}
			if [ $k = whole ]; then
				label="whole catalogue (candidates NULL)"
				goal="< 50 ms: $(met "$T4" "<=" 50); >= 10x plain: $(met "$(fdiv "$P" "$T4")" ">=" 10)"
			else
				label="10,000 candidates"
				goal="(measure)"
			fi
			echo "$label|$(fmt3 "$T4")|$(fmt3 "${EL[$k.q0]}")|$(fmt3 "$T1")|$(fmt3 "${EL[$k.solo]}")|$(fmt3 "$P")|$(fdiv "$T1" "$T4")|$(fdiv "$P" "$T4")|$goal"
		done
		echo "whole catalogue: shard 1's part alone (tidal._retrieve_part on shard 1, what shard 0 waits for)|$(fmt3 "${RMED[part.q1]}")|||||||"
	} | print_table >>"$REPORT"
	{
		echo
		echo "transactions per query: $(for kn in $RKINDS; do printf '%s %s; ' "$kn" "$(wc -l <"$BENCH_WORK/r.$kn.lat")"; done)"
		echo "agreement at one instant (same 20 ids in order; largest relative score difference): $(for p in "${!AGREE[@]}"; do printf '%s: %s; ' "$p" "${AGREE[$p]}"; done)"
		echo "stats of the whole-catalogue retrieve through shard 0: $STATS_Q0"
		echo "loading: $LOAD_S s in all; $ITEMS items upserted on shard 0 reached shards 1-3 in $ITEMS_REPL s"
	} >>"$REPORT"
fi

{ echo; echo "# run $RUN_START to $(date -u '+%H:%M:%S UTC'), load average $LOAD_START at the start, $(loadavg) at the end"; } >>"$REPORT"
cat "$REPORT"
