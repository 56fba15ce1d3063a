#!/usr/bin/env bash
# Replication lag at a steady write rate: tidal with three regions versus
# PostgreSQL's native logical replication of an events table (one publisher,
# two subscribers), side by side in one run.
#
#   bash bench/replication_lag.sh
#
# Six private instances under $BENCH_DIR (/tmp/tidal-bench-lag), unix sockets
# only, ports 56500-56505:
#   t0 t1 t2  tidal regions 0, 1, 2 (node_id 1-3), every region a peer of every
#             other (as the docs recommend); region 0 takes the writes
#   n0        stock PostgreSQL, wal_level = logical, PUBLICATION of events
#   n1 n2     stock PostgreSQL, each a SUBSCRIPTION to n0 (default options)
# All six have the same settings otherwise (shared_buffers, fsync on,
# synchronous_commit on, ...), and all run for the whole script; while one
# system is measured the other sits idle (its CPU use is reported).
#
# Load: pgbench -R $BENCH_RATE (5,000/s) -c 8 -j 2, with synchronous_commit
# $BENCH_LOAD_SYNC (off: with it on, neither system reaches 5,000 commits/s on
# 2 cores), writes
#   SELECT tidal.signal('view', :e, 1, now())                                (to t0)
#   INSERT INTO events (entity, signal, weight, at) VALUES (:e, 1, 1, now())  (to n0)
# with :e uniform in 1..$BENCH_ENTITIES.
#
# Probes: while the load runs, one psql session on the writer instance writes
# a probe every ~75 ms (uniformly 0.5-1.5x apart): the same write as the load
# for an entity id that nothing else uses, noting clock_timestamp() right after
# the write, in the same statement, before the commit (t_ins).  Even probes
# commit with synchronous_commit on (the headline figures), odd ones with it
# off, like the load.  On each receiving instance one poller session (a PL/pgSQL
# procedure, so no client round trip per poll) checks whether the next probe is
# visible there:
#   tidal:  tidal.decay_score(probe, 'view', clock_timestamp() + 1 day) > 0
#   native: EXISTS (SELECT 1 FROM events WHERE entity = probe)   (index on entity)
# and otherwise commits (so it holds no snapshot) and sleeps $BENCH_POLL_MS
# (1 ms).  When it sees a probe it notes clock_timestamp() (t_seen) and checks
# the next one at once.  All instances share the machine's clock.  Lag =
# t_seen - t_ins: it includes the writer's commit, and overstates by up to one
# poll (sleep plus check), alike for both systems.  Both systems apply one
# origin's commits in order, so a probe is never visible before the previous
# one.
#
# Rounds: $BENCH_ROUNDS (2), the order alternating (tidal first in odd
# rounds); in each, per system: $BENCH_WARMUP s (10) of load, then
# $BENCH_PROBES (400) probes under the same load, then a marker written right
# after the load stops (how far behind the receivers were).  Before each round
# both systems are fully caught up.  At the end, the script checks that the
# three regions hold the same scores and that the subscribers hold every row.
#
# Knobs: BENCH_RATE (5000 writes/s), BENCH_BATCH (1: writes a transaction;
#        above 1, tidal.signal_batch and INSERT ... SELECT of that many events,
#        at BENCH_RATE / BENCH_BATCH transactions/s), BENCH_CLIENTS (8), BENCH_THREADS (2),
#        BENCH_LOAD_SYNC (off), BENCH_PROBES (400 per round and system),
#        BENCH_PROBE_INTERVAL_MS (75, mean), BENCH_POLL_MS (1),
#        BENCH_ROUNDS (2), BENCH_WARMUP (10), BENCH_ENTITIES (100000),
#        BENCH_PORT_BASE (56500), BENCH_SHARED_BUFFERS (256MB),
#        BENCH_DIR (/tmp/tidal-bench-lag),
#        BENCH_TIDAL_APPLY_SYNC (on; off is a what-if: regions 1 and 2 apply
#        received batches with synchronous_commit off, as native subscribers do),
#        BENCH_SEAL_GROUP_DELAY (unset: tidal.seal_group_delay's default,
#        5ms; 0 seals at every commit, as before 0.6),
#        BENCH_TIDAL_TOPOLOGY (mesh; star is a what-if: regions 1 and 2 are
#        peers of region 0 only, so no batch reaches them by two routes;
#        follower (0.8) measures a follower's staleness instead: t0 and t1
#        are the leader and the follower of shard 0 of one region (nodes 1
#        and 2, members of each other), t2 is shard 1 (the shard's witness),
#        the probes are read on the follower t1; and native is a streaming
#        replica, what a user would read from instead: n1 and n2 hot
#        standbys of n0 (pg_basebackup -R), the probes read on n1).
# Goals: tidal's p99 no worse than native logical replication's in the same
# run, and never above 250 ms.
: "${BENCH_DIR:=/tmp/tidal-bench-lag}"
: "${BENCH_SHARED_BUFFERS:=256MB}"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RATE=${BENCH_RATE:-5000}
BATCH=${BENCH_BATCH:-1}
[ $((RATE / BATCH * BATCH)) -eq "$RATE" ] || bdie "BENCH_RATE must be a multiple of BENCH_BATCH"
TX_RATE=$((RATE / BATCH))
CLIENTS=${BENCH_CLIENTS:-8}
THREADS=${BENCH_THREADS:-2}
PROBES=${BENCH_PROBES:-400}
INTERVAL_MS=${BENCH_PROBE_INTERVAL_MS:-75}
LOAD_SYNC=${BENCH_LOAD_SYNC:-off}
APPLY_SYNC=${BENCH_TIDAL_APPLY_SYNC:-on}
TOPOLOGY=${BENCH_TIDAL_TOPOLOGY:-mesh}
POLL_MS=${BENCH_POLL_MS:-1}
ROUNDS=${BENCH_ROUNDS:-2}
WARMUP=${BENCH_WARMUP:-10}
ENTITIES=${BENCH_ENTITIES:-100000}
PORT_BASE=${BENCH_PORT_BASE:-56500}
LIMIT_MS=250
PROBE_BASE=1000000000   # probe entity ids: PROBE_BASE + round * 1,000,000 + k

INSTANCES=(t0 t1 t2 n0 n1 n2)
declare -A PORT
for i in "${!INSTANCES[@]}"; do PORT[${INSTANCES[$i]}]=$((PORT_BASE + i)); done
TIDAL_REGIONS=(t1 t2)
NATIVE_SUBS=(n1 n2)
if [ "$TOPOLOGY" = follower ]; then
	TIDAL_REGIONS=(t1)
	NATIVE_SUBS=(n1)
fi
NRECV=${#TIDAL_REGIONS[@]}
OUT=$BENCH_RESULTS/replication_lag

# ---------------------------------------------------------------- instances

qi() { pgi "$1" psql -X -qAt -v ON_ERROR_STOP=1 -c "$2"; }
qiscript() { local n=$1; shift; pgi "$n" psql -X -q -v ON_ERROR_STOP=1 "$@"; }

BG_PIDS=()

# CPU seconds used so far by an instance: the postmaster, its live children,
# and (cutime/cstime) the children it has reaped
inst_cpu() {
	local pm pid ticks=0
	pm=$(head -1 "$BENCH_DIR/$1/postmaster.pid")
	ticks=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$pm/stat")
	for pid in $(ps -o pid= --ppid "$pm"); do
		ticks=$((ticks + $(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)))
	done
	awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}
# CPU seconds the whole machine has been busy (user, nice, system, irq, softirq, steal)
machine_cpu() { awk -v hz="$(getconf CLK_TCK)" '/^cpu / { printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / hz }' /proc/stat; }
cluster_cpu() {	# NAME... -> total CPU seconds
	local n s=0
	for n in "$@"; do s=$(awk -v a="$s" -v b="$(inst_cpu "$n")" 'BEGIN { print a + b }'); done
	echo "$s"
}


# ---------------------------------------------------------------- set up

bench_check_prereqs
SO_MD5=$(so_md5)   # the build the instances load
inst_fresh_dirs
trap instances_cleanup EXIT

blog "replication_lag: starting 3 tidal regions and 3 stock instances on ports ${PORT[t0]}-${PORT[n2]}"
for i in 0 1 2; do
	if [ "$TOPOLOGY" = follower ]; then
		# one region: shard 0 on t0 and t1 (nodes 1 and 2), shard 1 on t2
		inst_init "t$i" "shared_preload_libraries = 'tidal'" "tidal.node_id = $((i + 1))" "tidal.region_id = 0" \
			"tidal.shard_id = $([ "$i" = 2 ] && echo 1 || echo 0)" "tidal.database = 'bench'" \
			"tidal.max_entities = $((ENTITIES + 100000))" \
			${BENCH_SEAL_GROUP_DELAY:+"tidal.seal_group_delay = '$BENCH_SEAL_GROUP_DELAY'"}
	else
		inst_init_region "t$i" "$i" "$((ENTITIES + 100000))" \
			${BENCH_SEAL_GROUP_DELAY:+"tidal.seal_group_delay = '$BENCH_SEAL_GROUP_DELAY'"}
	fi
done
if [ "$TOPOLOGY" = follower ]; then
	inst_init n0
	for n in t0 t1 t2 n0; do inst_start "$n"; pgi "$n" createdb bench; done
else
	inst_init n0 "wal_level = logical"
	inst_init n1
	inst_init n2
	for n in "${INSTANCES[@]}"; do inst_start "$n"; pgi "$n" createdb bench; done
fi

# tidal: the extension in every region; the signal defined in region 0 while
# it has no peers yet (a cluster of one decides definitions itself); then every
# region a peer of every other (BENCH_TIDAL_TOPOLOGY=star: regions 1 and 2 peers of
# region 0 only)
for n in t0 t1 t2; do
	qi "$n" "CREATE EXTENSION tidal" >/dev/null
done
qi t0 "SELECT tidal.define_signal('view', '7 days')" >/dev/null
# what-if (BENCH_TIDAL_APPLY_SYNC=off): regions 1 and 2 apply received batches
# with synchronous_commit off, as a native subscription does by default (their
# receivers are the only writers there, and read the setting at connection)
if [ "$APPLY_SYNC" != on ]; then
	for n in t1 t2; do qi "$n" "ALTER DATABASE bench SET synchronous_commit = $APPLY_SYNC" >/dev/null; done
fi
if [ "$TOPOLOGY" = follower ]; then
	conn_of() { echo "host=$BENCH_DIR port=${PORT[$1]} dbname=bench"; }
	qi t0 "SELECT tidal.add_peer(0, '$(conn_of t1)', 0, 2), tidal.add_peer(0, '$(conn_of t2)', 1)" >/dev/null
	qi t1 "SELECT tidal.add_peer(0, '$(conn_of t0)', 0, 1), tidal.add_peer(0, '$(conn_of t2)', 1)" >/dev/null
	qi t2 "SELECT tidal.add_peer(0, 'host=$BENCH_DIR,$BENCH_DIR port=${PORT[t0]},${PORT[t1]} dbname=bench', 0)" >/dev/null
	t0_leads() { [ "$(qi t1 "SELECT leader_node FROM tidal.shard_nodes WHERE is_local")" = 1 ]; }
	wait_until 60 "t0 to lead shard 0, followed by t1" t0_leads
	tidal_defined() { [ "$(qi t1 "SELECT count(*) FROM tidal.signals")" = 1 ]; }
	wait_until 60 "the signal definition to reach the follower" tidal_defined
else
	tidal_add_peers 3 "$TOPOLOGY"
	tidal_defined() { [ "$(qi t1 "SELECT count(*) FROM tidal.signals")" = 1 ] && [ "$(qi t2 "SELECT count(*) FROM tidal.signals")" = 1 ]; }
	wait_until 60 "the signal definition to reach regions 1 and 2" tidal_defined
fi

if [ "$TOPOLOGY" = follower ]; then
	# native: the events table on n0, and two hot standbys of it
	events_table_sql | qiscript n0 >/dev/null
	for n in n1 n2; do
		pgi "$n" pg_basebackup -D "$BENCH_DIR/$n" -R -X stream -h "$BENCH_DIR" -p "${PORT[n0]}" >/dev/null 2>&1 ||
			bdie "pg_basebackup of $n failed"
		echo "port = ${PORT[$n]}" >>"$BENCH_DIR/$n/postgresql.auto.conf"
		inst_start "$n"
	done
	native_ready() { [ "$(qi n0 "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")" = 2 ]; }
	wait_until 60 "the standbys to stream" native_ready
else
	# native: the same events table everywhere, published on n0, subscribed by n1 and n2
	for n in n0 n1 n2; do events_table_sql | qiscript "$n" >/dev/null; done
	qi n0 "CREATE PUBLICATION lag_pub FOR TABLE events" >/dev/null
	for n in n1 n2; do
		qi "$n" "CREATE SUBSCRIPTION lag_sub_$n CONNECTION 'host=$BENCH_DIR port=${PORT[n0]} dbname=bench' PUBLICATION lag_pub" >/dev/null
	done
	native_ready() {
		local n
		for n in n1 n2; do
			[ "$(qi "$n" "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate = 'r'")" = 1 ] || return 1
			[ "$(qi "$n" "SELECT count(*) FROM pg_stat_subscription WHERE pid IS NOT NULL AND relid IS NULL")" = 1 ] || return 1
		done
	}
	wait_until 60 "the subscriptions to be ready" native_ready
fi

# the poller on every receiving instance: checks the next probe, notes when it
# becomes visible, otherwise commits and sleeps; returns "polls N" and one line
# "id epoch" per probe seen
watch_proc() {	# CHECK-EXPRESSION (of the bigint p)
	cat <<SQL
CREATE PROCEDURE public.lag_watch(first bigint, n int, poll float8, timeout float8, INOUT result text DEFAULT NULL)
LANGUAGE plpgsql AS \$\$
DECLARE
    k int := 0;
    p bigint;
    seen text[] := '{}';
    polls bigint := 0;
    stop timestamptz := clock_timestamp() + make_interval(secs => timeout);
BEGIN
    WHILE k < n AND clock_timestamp() < stop LOOP
        p := first + k;
        polls := polls + 1;
        IF $1 THEN
            seen := seen || (p::text || ' ' || extract(epoch FROM clock_timestamp())::text);
            k := k + 1;
        ELSE
            COMMIT;
            PERFORM pg_sleep(poll);
        END IF;
    END LOOP;
    result := 'polls ' || polls || E'\n' || array_to_string(seen, E'\n');
END \$\$;
SQL
}
for n in "${TIDAL_REGIONS[@]}"; do
	watch_proc "tidal.decay_score(p, 'view', clock_timestamp() + interval '1 day') > 0" | qiscript "$n" >/dev/null
done
# (a standby has the primary's procedure: it is created there)
for n in $([ "$TOPOLOGY" = follower ] && echo n0 || echo "${NATIVE_SUBS[*]}"); do
	watch_proc "EXISTS (SELECT 1 FROM public.events WHERE entity = p)" | qiscript "$n" >/dev/null
done

if [ "$BATCH" -eq 1 ]; then
	cat >"$BENCH_WORK/load.tidal.sql" <<EOF
\\set e random(1, $ENTITIES)
SELECT tidal.signal('view', :e, 1, now());
EOF
	cat >"$BENCH_WORK/load.native.sql" <<EOF
\\set e random(1, $ENTITIES)
INSERT INTO public.events (entity, signal, weight, at) VALUES (:e, 1, 1, now());
EOF
else
	# BENCH_BATCH events a transaction: one signal_batch call, one INSERT ... SELECT
	cat >"$BENCH_WORK/load.tidal.sql" <<EOF
SELECT tidal.signal_batch('view', ARRAY(SELECT 1 + (random() * ($ENTITIES - 1))::int8 FROM generate_series(1, $BATCH)));
EOF
	cat >"$BENCH_WORK/load.native.sql" <<EOF
INSERT INTO public.events (entity, signal, weight, at)
SELECT 1 + (random() * ($ENTITIES - 1))::int8, 1, 1, now() FROM generate_series(1, $BATCH);
EOF
fi
chown -R "$TIDAL_USER:$TIDAL_USER" "$BENCH_WORK"

# ---------------------------------------------------------------- measuring

writer_of() { [ "$1" = tidal ] && echo t0 || echo n0; }
receivers_of() { [ "$1" = tidal ] && echo "${TIDAL_REGIONS[*]}" || echo "${NATIVE_SUBS[*]}"; }
idle_of() { [ "$1" = tidal ] && echo "n0 n1 n2" || echo "t0 t1 t2"; }

# caught up: every receiver has everything the writer committed
caught_up() {
	local sys=$1 n want
	if [ "$sys" = tidal ]; then
		want=$(qi t0 "SELECT tidal.seal(); SELECT tidal.local_seqno()" | tail -1)
		for n in "${TIDAL_REGIONS[@]}"; do
			[ "$(qi "$n" "SELECT tidal.applied_seqno(0)")" -ge "$want" ] || return 1
		done
	else
		want=$(qi n0 "SELECT count(*) FROM public.events")
		for n in "${NATIVE_SUBS[@]}"; do
			[ "$(qi "$n" "SELECT count(*) FROM public.events")" -ge "$want" ] || return 1
		done
	fi
}

# a probe (awk function): the same write as the load, for entity p, with
# clock_timestamp() noted in the same statement, before the commit (t_ins);
# psql prints "p t t_ins"
PROBE_SQL_AWK='function probe_sql(sys, p) {
	if (sys == "tidal")
		return sprintf("SELECT %d AS p, tidal.signal(\x27view\x27, %d, 1, now()) IS NOT NULL AS ok, extract(epoch FROM clock_timestamp()) AS t_ins;", p, p)
	return sprintf("INSERT INTO public.events (entity, signal, weight, at) VALUES (%d, 1, 1, now()) RETURNING entity, true, extract(epoch FROM clock_timestamp());", p)
}
'
# the probe writer's psql script: per probe the synchronous_commit setting
# (even probes on, odd probes off), the write, then t_ack after the commit
# ("p ack t_ack on|off") and the sleep until the next probe
probe_script() {	# SYSTEM FIRST-ID
	local sys=$1 first=$2
	awk -v n="$PROBES" -v first="$first" -v iv="$INTERVAL_MS" -v sys="$sys" -v seed="$first" "$PROBE_SQL_AWK"'BEGIN {
		srand(seed)
		for (k = 0; k < n; k++) {
			p = first + k
			sc = (k % 2 == 0) ? "on" : "off"
			printf "SET synchronous_commit = %s;\n", sc
			print probe_sql(sys, p)
			printf "SELECT %d, \x27ack\x27, extract(epoch FROM clock_timestamp()), \x27%s\x27, pg_sleep(%.4f);\n", p, sc, iv * (0.5 + rand()) / 1000
		}
	}'
}

declare -A CPU_ACTIVE CPU_IDLE CPU_MACHINE RATE_ACH SCHED_LAG RATE_MIN CATCHUP POLLS
run_phase() {	# SYSTEM ROUND
	local sys=$1 round=$2 first w recv idle dur pgb_pid n tag t0 c0a c0i c1a c1i t_stop marker m0 m1
	first=$((PROBE_BASE + round * 1000000))
	w=$(writer_of "$sys")
	read -r -a recv <<<"$(receivers_of "$sys")"
	read -r -a idle <<<"$(idle_of "$sys")"
	tag=$sys.$round
	wait_until 120 "$sys to catch up before round $round" caught_up "$sys"
	probe_script "$sys" "$first" >"$BENCH_WORK/probes.$tag.sql"
	chown "$TIDAL_USER:$TIDAL_USER" "$BENCH_WORK/probes.$tag.sql"
	# the load runs through the warm-up and the probes (PROBES x INTERVAL and their
	# round trips), with some seconds to spare
	dur=$(awk -v w="$WARMUP" -v n="$PROBES" -v iv="$INTERVAL_MS" 'BEGIN { printf "%d", w + n * (iv + 15) / 1000 + 5 }')
	blog "replication_lag: round $round, $sys: ${WARMUP} s warm-up at $RATE/s, then $PROBES probes (load runs $dur s)"
	t0=$(now_s)
	c0a=$(cluster_cpu "$w" "${recv[@]}")
	c0i=$(cluster_cpu "${idle[@]}")
	m0=$(machine_cpu)
	as_pg "PGPORT=${PORT[$w]}" "PGOPTIONS=-c synchronous_commit=$LOAD_SYNC" pgbench -n -M prepared -R "$TX_RATE" -c "$CLIENTS" -j "$THREADS" -T "$dur" -P 5 \
		-f "$BENCH_WORK/load.$sys.sql" >"$OUT.$tag.pgbench.txt" 2>&1 &
	pgb_pid=$!
	BG_PIDS+=("$pgb_pid")
	sleep "$WARMUP"
	for n in "${recv[@]}"; do
		qi "$n" "CALL public.lag_watch($first, $PROBES, $POLL_MS / 1000.0, $dur)" >"$OUT.$tag.seen.$n.txt" &
		BG_PIDS+=("$!")
	done
	sleep 0.5
	pgi "$w" psql -X -qAt -F' ' -v ON_ERROR_STOP=1 -f "$BENCH_WORK/probes.$tag.sql" >"$OUT.$tag.probes.txt"
	kill -0 "$pgb_pid" 2>/dev/null || bdie "round $round, $sys: the load stopped before the last probe; raise BENCH_WARMUP or lower BENCH_PROBES"
	for n in "${BG_PIDS[@]:1}"; do wait "$n" || bdie "round $round, $sys: a poller failed"; done
	wait "$pgb_pid" || { cat "$OUT.$tag.pgbench.txt" >&2; bdie "round $round, $sys: pgbench failed"; }
	grep -q "number of failed transactions: 0 " "$OUT.$tag.pgbench.txt" || { cat "$OUT.$tag.pgbench.txt" >&2; bdie "round $round, $sys: pgbench reports failed transactions"; }
	t_stop=$(now_s)
	BG_PIDS=()
	c1a=$(cluster_cpu "$w" "${recv[@]}")
	c1i=$(cluster_cpu "${idle[@]}")
	m1=$(machine_cpu)
	# catching up: a marker written as soon as the load has stopped, and how
	# long until both receivers see it (they apply in commit order, so by then
	# they have all the load too)
	marker=$((first + 999999))
	for n in "${recv[@]}"; do
		qi "$n" "CALL public.lag_watch($marker, 1, $POLL_MS / 1000.0, 120)" >"$OUT.$tag.marker.$n.txt" &
		BG_PIDS+=("$!")
	done
	sleep 0.3
	pgi "$w" psql -X -qAt -F' ' -v ON_ERROR_STOP=1 \
		-c "$(awk -v sys="$sys" -v p="$marker" "$PROBE_SQL_AWK"'BEGIN { print probe_sql(sys, p) }')" >"$OUT.$tag.marker.txt"
	for n in "${BG_PIDS[@]}"; do wait "$n" || bdie "round $round, $sys: a poller failed"; done
	BG_PIDS=()
	CATCHUP[$tag]=$(for n in "${recv[@]}"; do
			awk 'FNR == NR { t0 = $3; next } $1 != "polls" { printf "%.3f\n", $2 - t0 }' "$OUT.$tag.marker.txt" "$OUT.$tag.marker.$n.txt"
		done | sort -g | tail -1)
	[ -n "${CATCHUP[$tag]}" ] || bdie "round $round, $sys: the marker did not arrive within 120 s"
	CPU_ACTIVE[$tag]=$(awk -v a="$c0a" -v b="$c1a" -v t="$(elapsed "$t0" "$t_stop")" 'BEGIN { printf "%.2f", (b - a) / t }')
	CPU_IDLE[$tag]=$(awk -v a="$c0i" -v b="$c1i" -v t="$(elapsed "$t0" "$t_stop")" 'BEGIN { printf "%.3f", (b - a) / t }')
	CPU_MACHINE[$tag]=$(awk -v a="$m0" -v b="$m1" -v t="$(elapsed "$t0" "$t_stop")" 'BEGIN { printf "%.2f", (b - a) / t }')
	RATE_ACH[$tag]=$(awk -v t="$(pgb_tps "$OUT.$tag.pgbench.txt")" -v b="$BATCH" 'BEGIN { print t * b }')
	SCHED_LAG[$tag]=$(awk '/rate limit schedule lag/ { print $6 " (max " $8; exit }' "$OUT.$tag.pgbench.txt")
	RATE_MIN[$tag]=$(awk -v b="$BATCH" '/^progress: / { if (min == "" || $4 < min) min = $4 } END { print min * b }' "$OUT.$tag.pgbench.txt")
	POLLS[$tag]=0
	for n in "${recv[@]}"; do
		POLLS[$tag]=$((POLLS[$tag] + $(awk '$1 == "polls" { print $2 }' "$OUT.$tag.seen.$n.txt")))
		# one line per probe: system ("-async": the probe committed with
		# synchronous_commit off) round receiver id lag_ms ack_ms
		awk -v sys="$sys" -v round="$round" -v recv="$n" '
			FNR == NR { if ($2 == "t") ins[$1] = $3; else if ($2 == "ack") { ack[$1] = $3; label[$1] = ($4 == "on") ? sys : sys "-async" } next }
			$1 != "polls" && ($1 in ins) { printf "%s %s %s %s %.3f %.3f\n", label[$1], round, recv, $1, ($2 - ins[$1]) * 1000, (ack[$1] - ins[$1]) * 1000 }' "$OUT.$tag.probes.txt" "$OUT.$tag.seen.$n.txt" >>"$OUT.samples.txt"
	done
	blog "replication_lag: round $round, $sys: $(fmt0 "${RATE_ACH[$tag]}")/s achieved, a write right after the load was visible in both after $(fmt3 "${CATCHUP[$tag]}") s"
}

: >"$OUT.samples.txt"
for round in $(seq 1 "$ROUNDS"); do
	if [ $((round % 2)) -eq 1 ]; then order="tidal native"; else order="native tidal"; fi
	for sys in $order; do run_phase "$sys" "$round"; done
done

# ---------------------------------------------------------------- checks

# tidal: the three regions applied the same log and hold the same scores
at=$(qi t0 "SELECT now()")
qi t0 "SELECT tidal.seal()" >/dev/null
wait_until 60 "tidal to converge" caught_up tidal
declare -A SCORE
for n in t0 t1 t2; do
	SCORE[$n]=$(qi "$n" "SELECT sum(tidal.decay_score(e, 'view', '$at')) FROM generate_series(1, $ENTITIES) e")
done
# with followers t2 is another shard, whose reads of shard 0's entities are the shard's
[ "$TOPOLOGY" != follower ] || SCORE[t2]=${SCORE[t0]}
score_diff=$(awk -v a="${SCORE[t0]}" -v b="${SCORE[t1]}" -v c="${SCORE[t2]}" 'function abs(x) { return x < 0 ? -x : x }
	BEGIN { d = abs(b - a); if (abs(c - a) > d) d = abs(c - a); printf "%.1e", d / a }')
awk -v d="$score_diff" 'BEGIN { exit !(d <= 1e-9) }' ||
	bdie "tidal regions disagree: sums of scores ${SCORE[t0]}, ${SCORE[t1]}, ${SCORE[t2]}"
tidal_events=$(qi t0 "SELECT tidal.local_seqno()")
native_rows=$(qi n0 "SELECT count(*) FROM public.events")
for n in n1 n2; do
	[ "$(qi "$n" "SELECT count(*) FROM public.events")" = "$native_rows" ] || bdie "subscriber $n misses rows"
done
# how region 0 sealed its log: batches, and events per batch
read -r tidal_batches tidal_per_batch <<<"$(qi t0 "SELECT count(*), round(avg(event_count)) FROM tidal.log_batches WHERE origin_region = 0" | tr '|' ' ')"

# ---------------------------------------------------------------- report

# summary of the numbers on stdin: "n median p95 p99 max" (nearest rank)
summarize() {
	sort -g | awk '
		{ v[++n] = $1 }
		function pct(p,  i) { i = int(p * n); if (i < p * n) i++; if (i < 1) i = 1; return v[i] }
		END { if (n == 0) { print "0 n/a n/a n/a n/a"; exit } printf "%d %.1f %.1f %.1f %.1f\n", n, pct(0.5), pct(0.95), pct(0.99), v[n] }'
}
# lag of each probe of SYSTEM (tidal, native, tidal-async, native-async) in one
# receiver (samples.txt: system round receiver id lag_ms ack_ms)
stats() { awk -v s="$1" -v r="$2" '$1 == s && $3 == r { print $5 }' "$OUT.samples.txt" | summarize; }
# until a probe is visible in both receivers: per probe, the larger of its two
# lags (both.txt: system round id lag_ms), optionally of one round only
awk '{ k = $1 " " $2 " " $4; if (!(k in m) || $5 > m[k]) m[k] = $5; c[k]++ }
	END { for (k in m) if (c[k] == want) print k, m[k] }' want="$NRECV" "$OUT.samples.txt" >"$OUT.both.txt"
stats_both() { awk -v s="$1" -v r="${2:-}" '$1 == s && (r == "" || $2 == r) { print $4 }' "$OUT.both.txt" | summarize; }
p99_of() { local p99; read -r _ _ _ p99 _ <<<"$1"; echo "$p99"; }

# probes written per kind: even ones with synchronous_commit on, odd ones off
n_sync=$(( ((PROBES + 1) / 2) * ROUNDS ))
n_async=$(( (PROBES / 2) * ROUNDS ))
row() {	# label total "n med p95 p99 max"
	local label=$1 total=$2 n med p95 p99 max
	read -r n med p95 p99 max <<<"$3"
	echo "$label|$n of $total|$med|$p95|$p99|$max"
}
# median time from a probe's t_ins until its commit was acknowledged
ack_med() { awk -v s="$1" '$1 == s && $3 ~ /1$/ { print $6 }' "$OUT.samples.txt" | summarize | awk '{ print $2 }'; }
max_of() { awk -v s="$1" '$1 ~ "^" s { if ($5 > m) m = $5 } END { printf "%.1f", m }' "$OUT.samples.txt"; }

ratio=$(fdiv "$(p99_of "$(stats_both tidal)")" "$(p99_of "$(stats_both native)")")
goal1=$(met "$ratio" "<=" 1)
r1=$(fdiv "$(p99_of "$(stats tidal t1)")" "$(p99_of "$(stats native n1)")")
r2=$(fdiv "$(p99_of "$(stats tidal t2)")" "$(p99_of "$(stats native n2)")")
ratio_async=$(fdiv "$(p99_of "$(stats_both tidal-async)")" "$(p99_of "$(stats_both native-async)")")
tmax_sync=$(max_of 'tidal$')
tmax_all=$(max_of tidal)
goal2=$(met "$tmax_all" "<=" "$LIMIT_MS")
list_rounds() { local -n arr=$1; local s=$2 r out=""; for r in $(seq 1 "$ROUNDS"); do out+="${out:+ }${arr[$s.$r]}"; done; echo "$out"; }

{
	bench_header "replication_lag: insert-to-visible lag at $RATE writes/s ($BATCH a transaction) into one instance (pgbench -R $TX_RATE -M prepared -c $CLIENTS -j $THREADS, synchronous_commit $LOAD_SYNC), $ROUNDS rounds x $PROBES probes per system ~${INTERVAL_MS} ms apart, pollers every $POLL_MS ms"
	echo "# installed tidal.so md5 $SO_MD5$( [ "$(so_md5)" = "$SO_MD5" ] || echo " (replaced by $(so_md5) during the run; the instances kept $SO_MD5)"), checkout $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo "?")"
	echo "# tidal.seal_group_delay in region 0: $(pgi t0 PGDATABASE=bench psql -X -qAt -c "SELECT coalesce(current_setting('tidal.seal_group_delay', true), '(none)')")"
	if [ "$TOPOLOGY" = follower ]; then
		echo "# tidal 0.8: one region, shard 0 on a leader (t0, node 1) and a follower (t1, node 2), shard 1 on t2 (the witness); writes on the leader, probes read on the follower (\"region 1\" below); native: streaming replication, a primary and two hot standbys, probes read on standby 1 (\"subscriber 1\" below)"
	else
		echo "# tidal: regions 0, 1, 2 ($TOPOLOGY: $([ "$TOPOLOGY" = star ] && echo "regions 1 and 2 peers of region 0 only" || echo "every region a peer of every other")), writes in region 0, regions 1 and 2 apply with synchronous_commit $APPLY_SYNC; native: logical replication of an events table (default options: the subscribers apply with synchronous_commit off), a publisher and two subscribers"
	fi
	echo
	echo "probes committed with synchronous_commit on:"
	{
		echo "system|visible in|probes seen|median ms|p95 ms|p99 ms|max ms"
		row "tidal|region 1" "$n_sync" "$(stats tidal t1)"
		row "tidal|region 2" "$n_sync" "$(stats tidal t2)"
		row "tidal|both regions" "$n_sync" "$(stats_both tidal)"
		row "native|subscriber 1" "$n_sync" "$(stats native n1)"
		row "native|subscriber 2" "$n_sync" "$(stats native n2)"
		row "native|both subscribers" "$n_sync" "$(stats_both native)"
	} | print_table
	echo
	echo "tidal p99 / native p99: visible in both $ratio, region 1 / subscriber 1 $r1, region 2 / subscriber 2 $r2; goal <= 1: $goal1"
	echo
	echo "probes committed with synchronous_commit off, like the load:"
	{
		echo "system|visible in|probes seen|median ms|p95 ms|p99 ms|max ms"
		row "tidal|both regions" "$n_async" "$(stats_both tidal-async)"
		row "native|both subscribers" "$n_async" "$(stats_both native-async)"
	} | print_table
	echo
	echo "tidal p99 / native p99 (synchronous_commit off): $ratio_async"
	echo "tidal's largest lag: $tmax_sync ms (synchronous_commit on), $tmax_all ms (all probes); goal never above $LIMIT_MS ms: $goal2"
	echo
	echo "per round (probes with synchronous_commit on, visible in both):"
	{
		echo "round|system|median ms|p99 ms|max ms|writes/s|lowest 5-s rate|pgbench schedule lag avg ms|lag of a write right after the load (s)|CPU cores: this system's instances|the idle system's|whole machine"
		for r in $(seq 1 "$ROUNDS"); do
			for s in tidal native; do
				read -r _ med _ p99 max <<<"$(stats_both "$s" "$r")"
				echo "$r|$s|$med|$p99|$max|$(fmt0 "${RATE_ACH[$s.$r]}")|$(fmt0 "${RATE_MIN[$s.$r]}")|$(awk '{print $1}' <<<"${SCHED_LAG[$s.$r]}")|$(fmt3 "${CATCHUP[$s.$r]}")|${CPU_ACTIVE[$s.$r]}|${CPU_IDLE[$s.$r]}|${CPU_MACHINE[$s.$r]}"
			done
		done
	} | print_table
	echo
	echo "probe commit (t_ack - t_ins, median; synchronous_commit on / off): tidal $(ack_med tidal) / $(ack_med tidal-async) ms, native $(ack_med native) / $(ack_med native-async) ms"
	echo "polls (both pollers, per round): tidal $(list_rounds POLLS tidal), native $(list_rounds POLLS native)"
	echo "tidal region 0 sealed $tidal_events events in $tidal_batches batches ($tidal_per_batch events per batch on average)"
	echo "checks: tidal's three regions hold the same scores (sums over entities 1..$ENTITIES at one instant agree to $score_diff relative); both native subscribers hold all $native_rows rows"
} | tee "$BENCH_RESULTS/replication_lag.txt"
