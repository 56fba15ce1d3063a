#!/usr/bin/env bash
# Failover and acknowledged writes: how long after kill -9 of the leader a
# new leader accepts a write -- a tidal shard's follower promoted (0.8),
# tidal's cluster leader failing over to another region, pg_auto_failover,
# and streaming replication promoted by hand -- and what tidal.commit_ack =
# quorum and shard cost per commit against synchronous_commit =
# remote_apply, side by side in one run.
#
#   bash bench/failover.sh
#
# Private instances under $BENCH_DIR (/tmp/tidal-bench-failover), ports
# $BENCH_PORT_BASE (56510) and up:
#   t0 t1 t2  +0..+2  tidal regions 0, 1, 2 (node_id 1-3), every region a
#                     peer of every other, default election settings
#                     (tidal.heartbeat_interval 100ms, tidal.election_timeout
#                     500ms); unix sockets only
#   n0 n1     +3, +4  stock PostgreSQL: a primary and one streaming standby
#                     (pg_basebackup -R); unix sockets only
#   pm        +5      pg_auto_failover monitor  (pg_autoctl create monitor)
#   pa pb     +6, +7  pg_auto_failover nodes    (pg_autoctl create postgres),
#                     a primary and a secondary; TCP on localhost (its health
#                     checks need it), --auth trust --no-ssl
#   fa fb fw  +8..+10 tidal 0.8, one region: shard 0 on fa (node 21) and fb
#                     (node 22), members of each other (a leader and its
#                     follower), shard 1 on fw (node 23), shard 0's witness
# pg_auto_failover is Debian's postgresql-15-auto-failover (pg_autoctl 2.0);
# run as root, the script installs it with apt-get when it is missing, and
# leaves it out (saying so) when that fails.
#
# Part 1, commit_ack (first, on the fresh clusters): pgbench -n -M prepared
# -c $BENCH_ACK_CLIENTS (4) -T $BENCH_ACK_DURATION (10) s, $BENCH_ACK_ROUNDS (2)
# rounds, the four runs in a different order in each round:
#   tidal  (region 0)  SELECT tidal.signal('view', :id, 1)        tidal.commit_ack = local | quorum
#   tidal  (fa, shard 0's leader)  the same                       tidal.commit_ack = shard
#   native (primary)   INSERT INTO events (...) VALUES (:id, ...) synchronous_commit = local | remote_apply
# with :id uniform in 1..100,000; synchronous_standby_names = '*' on the
# primary (remote_apply: COMMIT returns once the standby has replayed it; a
# tidal quorum is this region and one of the two others having applied it).
#
# Part 2, failover: $BENCH_ROUNDS (5) rounds per system.  A round kills every
# process of the node that leads (kill -9 of its postmaster and all its
# children at once, as a machine crash would; for pg_auto_failover also the
# node's keeper, pg_autoctl run and its children).  One psql session per
# survivor, opened before the kill as an application's connections would
# be, starts right after it to try a write every $BENCH_POLL_MS (20) ms, all
# at once, until one is accepted:
#   follower          SELECT tidal.signal('view', <n>, 1) on the shard's other
#                     node (25006 until it is promoted)
#   tidal             SELECT tidal.define_signal('fo_<round>_<port>_<n>', '1 day')
#                     (leader-only: 25006 on a follower or while no leader is known)
#   pg_auto_failover  INSERT INTO fo_probe ...   (read-only until promoted)
#   native            INSERT INTO fo_probe ...   (the standby, promoted with
#                     pg_ctl promote $BENCH_NATIVE_DETECT_MS (500) ms after the
#                     kill: tidal's election timeout as a perfect detector)
# Failover time = from the kill until that write has committed (the session
# notes the time right after the COMMIT).  An attempt is a round trip plus
# the pause, so the figure can be late by up to one attempt interval, which
# the script reports (about 30 ms on an idle machine, more under load).
# Then the killed node comes back (tidal: pg_ctl start; pg_auto_failover: its
# keeper is started again and rejoins; native: rebuilt with pg_basebackup as
# the new primary's standby) and the script waits until the cluster is whole
# and stable before the next round, which kills whichever node leads then.
#
# pg_auto_failover's settings ($BENCH_PGAF_PROFILE): "fast" (default) sets
#   monitor: pgautofailover.health_check_period 1000, health_check_timeout
#            1000, health_check_max_retries 1, health_check_retry_delay 500,
#            node_considered_unhealthy_timeout 1000, primary_demote_timeout
#            1000, startup_grace_period 1000 (ms)
#   keepers: timeout.network_partition_timeout 1, prepare_promotion_catchup 1,
#            prepare_promotion_walreceiver 1 (s)
# (keepers report every second, a fixed 1 s in pg_autoctl 2.0, so lower
# monitor timeouts buy little); "defaults" keeps everything as shipped
# (about 51 s per failover: use BENCH_ROUNDS=1 or expect 5 minutes).
#
# Knobs: BENCH_ROUNDS (5), BENCH_POLL_MS (20), BENCH_FO_TIMEOUT (120 s, per
#        failover), BENCH_ACK_CLIENTS (4), BENCH_ACK_DURATION (10 s),
#        BENCH_ACK_ROUNDS (2), BENCH_SYSTEMS ("follower tidal pgaf native": which
#        failovers to measure; empty: only the commit_ack part),
#        BENCH_PGAF_PROFILE (fast), BENCH_NATIVE_DETECT_MS (500),
#        BENCH_TIDAL_PEER_TIMEOUT (unset: tidal.peer_timeout's default, 2s;
#        a what-if, since receivers poll every half of it),
#        BENCH_PORT_BASE (56510), BENCH_SHARED_BUFFERS (256MB; the
#        pg_auto_failover nodes keep the settings pg_autoctl gives them),
#        BENCH_DIR (/tmp/tidal-bench-failover).
# Goals: tidal's median failover under 3 s; a follower's promotion under 1 s
# (median of 5, issue 15).
: "${BENCH_DIR:=/tmp/tidal-bench-failover}"
: "${BENCH_SHARED_BUFFERS:=256MB}"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=${BENCH_ROUNDS:-5}
POLL_MS=${BENCH_POLL_MS:-20}
FO_TIMEOUT=${BENCH_FO_TIMEOUT:-120}
ACK_CLIENTS=${BENCH_ACK_CLIENTS:-4}
ACK_DURATION=${BENCH_ACK_DURATION:-10}
ACK_ROUNDS=${BENCH_ACK_ROUNDS:-2}
SYSTEMS=${BENCH_SYSTEMS-follower tidal pgaf native}
PGAF_PROFILE=${BENCH_PGAF_PROFILE:-fast}
NATIVE_DETECT_MS=${BENCH_NATIVE_DETECT_MS:-500}
TIDAL_PEER_TIMEOUT=${BENCH_TIDAL_PEER_TIMEOUT:-}   # what-if: tidal.peer_timeout (default 2s)
PORT_BASE=${BENCH_PORT_BASE:-56510}
ENTITIES=100000
GOAL_MS=3000
FOLLOWER_GOAL_MS=1000

INSTANCES=(t0 t1 t2 n0 n1 pm pa pb fa fb fw)
declare -A PORT INST_OF
for i in "${!INSTANCES[@]}"; do PORT[${INSTANCES[$i]}]=$((PORT_BASE + i)); INST_OF[$((PORT_BASE + i))]=${INSTANCES[$i]}; done
OUT=$BENCH_RESULTS/failover
PGAF_HOME=$BENCH_DIR/pgaf-home   # pg_autoctl's XDG config, state and pid files
MONITOR_URI="postgres://autoctl_node@localhost:${PORT[pm]}/pg_auto_failover?sslmode=disable"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
UPTIME_START=$(uptime)

# ---------------------------------------------------------------- helpers

# the database each instance's measurements use
db_of() { case $1 in pm) echo pg_auto_failover ;; pa | pb) echo postgres ;; *) echo bench ;; esac; }
qi() { pgi "$1" "PGDATABASE=$(db_of "$1")" psql -X -qAt -v ON_ERROR_STOP=1 -c "$2"; }
# pga NAME args...: pg_autoctl for instance NAME, with its files under $PGAF_HOME
pga() {
	local n=$1
	shift
	pgi "$n" "PGDATABASE=postgres" "XDG_CONFIG_HOME=$PGAF_HOME/config" "XDG_DATA_HOME=$PGAF_HOME/data" \
		"XDG_RUNTIME_DIR=$PGAF_HOME/run" pg_autoctl "$@"
}


# a process and all its descendants
proc_tree() {
	local p=$1 c
	echo "$p"
	for c in $(pgrep -P "$p" || true); do proc_tree "$c"; done
}
postmaster_pid() { [ -e "$BENCH_DIR/$1/postmaster.pid" ] && head -1 "$BENCH_DIR/$1/postmaster.pid"; }
# the keeper (pg_autoctl run) of a pg_auto_failover instance
keeper_pid() { pgrep -u "$TIDAL_USER" -x -f "pg_autoctl run --pgdata $BENCH_DIR/$1" | head -1 || true; }

keeper_start() {
	pga "$1" run --pgdata "$BENCH_DIR/$1" >>"$BENCH_DIR/$1.keeper.log" 2>&1 </dev/null &
	wait_until 30 "the keeper of $1 to start" keeper_running "$1"
}
keeper_running() { [ -n "$(keeper_pid "$1")" ]; }

fo_cleanup() {
	local rc=$? n pid t tree
	trap - EXIT
	set +e
	for n in pa pb pm; do
		pid=$(keeper_pid "$n")
		[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
	done
	for t in $(seq 1 100); do
		[ -z "$(keeper_pid pa)$(keeper_pid pb)$(keeper_pid pm)" ] && break
		sleep 0.1
	done
	for n in pa pb pm; do
		pid=$(keeper_pid "$n")
		[ -n "$pid" ] && { mapfile -t tree < <(proc_tree "$pid"); kill -KILL "${tree[@]}" 2>/dev/null; }
	done
	for n in "${INSTANCES[@]}"; do inst_stop "$n" immediate; done
	if [ "$rc" -ne 0 ]; then
		for n in t0 t1 t2 n0 n1; do
			[ -e "$BENCH_DIR/$n.log" ] && { blog "last lines of $n's log:"; tail -5 "$BENCH_DIR/$n.log" >&2; }
		done
	fi
	[ -n "${BENCH_KEEP:-}" ] || rm -rf "$BENCH_WORK"
	exit "$rc"
}

# the write attempts on one survivor: a psql script that, once its session
# is open, says so (touches READY) and waits for the kill (until GATE
# exists); then runs STMT every POLL_MS ms for up to FO_TIMEOUT s (@N@
# replaced by the attempt number; STMT returns one row with a column ok),
# prints the time after each pause, and at the first write accepted prints
# "ok PORT N EPOCH" (the time taken after its commit) and quits
attempt_script() {	# STMT PORT READY GATE
	awk -v n="$((FO_TIMEOUT * 1000 / POLL_MS))" -v stmt="$1" -v port="$2" -v ready="$3" -v gate="$4" \
		-v pause="$(awk -v p="$POLL_MS" 'BEGIN { printf "%.3f", p / 1000 }')" 'BEGIN {
		printf "\\! touch %s\n", ready
		printf "\\! while [ ! -e %s ]; do sleep 0.002; done; date +%%s.%%N\n", gate
		for (i = 1; i <= n; i++) {
			s = stmt
			gsub(/@N@/, i, s)
			printf "%s \\gset\n", s
			printf "\\if :{?ok}\n\\! echo ok %s %d $(date +%%s.%%N)\n\\q\n\\endif\n", port, i
			printf "\\! sleep %s; date +%%s.%%N\n", pause
		}
	}'
}

# The sessions of a round, one per survivor (PORT), opened before the kill,
# as an application's connections would be:
#   attempts_open TAG DB STMT PORT...   open them (STMT: @P@ is replaced by
#                                       the port), wait until they are ready
#   (kill_now ...)
#   attempts_run                        let them try, until one write is
#                                       accepted; sets FO_MS (from KILL_T
#                                       until that write had committed),
#                                       FO_PORT, FO_TRIES (refused attempts,
#                                       all sessions) and FO_CADENCE (median
#                                       ms from one attempt to the next)
attempts_open() {
	local db=$2 stmt=$3 port
	ATT_TAG=$1
	ATT_PORTS=("${@:4}")
	ATT_PIDS=()
	ATT_GATE=$BENCH_WORK/gate.$ATT_TAG
	rm -f "$ATT_GATE" "$BENCH_WORK/ready.$ATT_TAG".*
	for port in "${ATT_PORTS[@]}"; do
		attempt_script "${stmt//@P@/$port}" "$port" "$BENCH_WORK/ready.$ATT_TAG.$port" "$ATT_GATE" >"$BENCH_WORK/attempts.$ATT_TAG.$port.sql"
		chown "$TIDAL_USER" "$BENCH_WORK/attempts.$ATT_TAG.$port.sql"
		as_pg "PGPORT=$port" "PGDATABASE=$db" "PGOPTIONS=-c statement_timeout=5s" \
			psql -X -q -f "$BENCH_WORK/attempts.$ATT_TAG.$port.sql" >"$OUT.$ATT_TAG.$port.attempts.out" 2>"$OUT.$ATT_TAG.$port.attempts.err" &
		ATT_PIDS+=("$!")
	done
	wait_until 30 "the write sessions of $ATT_TAG to open" attempts_ready
}
attempts_ready() { local port; for port in "${ATT_PORTS[@]}"; do [ -e "$BENCH_WORK/ready.$ATT_TAG.$port" ] || return 1; done; }
attempts_run() {
	local tag=$ATT_TAG port pid ok="" alive
	local -a tree
	touch "$ATT_GATE"
	while :; do
		ok=$(cat "$OUT.$tag".*.attempts.out | grep '^ok ' | sort -k4 -g | head -1 || true)
		[ -n "$ok" ] && break
		alive=0
		for pid in "${ATT_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
		[ "$alive" = 1 ] || break
		sleep 0.01
	done
	for pid in "${ATT_PIDS[@]}"; do
		if kill -0 "$pid" 2>/dev/null; then
			mapfile -t tree < <(proc_tree "$pid")
			kill -TERM "${tree[@]}" 2>/dev/null || true
		fi
		wait "$pid" 2>/dev/null || true
	done
	ok=$(cat "$OUT.$tag".*.attempts.out | grep '^ok ' | sort -k4 -g | head -1 || true)
	[ -n "$ok" ] || { tail -5 "$OUT.$tag".*.attempts.err >&2; bdie "$tag: no write was accepted within $FO_TIMEOUT s of the kill"; }
	read -r _ FO_PORT _ FO_END_T <<<"$ok"
	FO_MS=$(awk -v a="$KILL_T" -v b="$FO_END_T" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
	FO_TRIES=$(cat "$OUT.$tag".*.attempts.err | grep -c 'ERROR:' || true)
	FO_CADENCE=$(for port in "${ATT_PORTS[@]}"; do awk 'NR > 1 && /^[0-9]/ { print ($1 - p) * 1000 } /^[0-9]/ { p = $1 }' "$OUT.$tag.$port.attempts.out"; done |
		sort -g | awk '{ v[++n] = $1 } END { if (n) printf "%.0f", v[int((n + 1) / 2)]; else print "n/a" }')
}

# kill -9 every process in the list at once; note the time
kill_now() {
	kill -KILL "$@"
	KILL_T=$(now_s)
	KILLED=("$@")
}
# the killed processes have left the process table (PostgreSQL refuses to
# start while the old postmaster's PID exists, even as a zombie, and this
# VM's init reaps orphans lazily)
killed_gone() { local p; for p in "${KILLED[@]}"; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }

# "epoch seconds" of a PostgreSQL log line's timestamp (log_line_prefix '%m [%p] ')
log_epoch() { date -d "$(cut -d' ' -f1-3 <<<"$1")" +%s.%N; }
ms_since_kill() { awk -v a="$KILL_T" -v b="$1" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }

# median of the numbers given
median() { printf '%s\n' "$@" | sort -g | awk '{ v[++n] = $1 } END { if (n == 0) print "n/a"; else if (n % 2) print v[(n + 1) / 2]; else printf "%.0f\n", (v[n / 2] + v[n / 2 + 1]) / 2 }'; }
minmax() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "-" hi }'; }

# ---------------------------------------------------------------- set up

bench_check_prereqs
SO_MD5=$(so_md5)

if [[ " $SYSTEMS " == *" pgaf "* ]] && ! command -v pg_autoctl >/dev/null; then
	blog "failover: installing postgresql-15-auto-failover (pg_auto_failover) with apt-get"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql-15-auto-failover >"$BENCH_DIR.apt.log" 2>&1 ||
		{ apt-get update -q >>"$BENCH_DIR.apt.log" 2>&1 &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql-15-auto-failover >>"$BENCH_DIR.apt.log" 2>&1; } || true
fi
PGAF_NOTE=""
if [[ " $SYSTEMS " == *" pgaf "* ]] && ! command -v pg_autoctl >/dev/null; then
	PGAF_NOTE="pg_auto_failover could not be installed (see $BENCH_DIR.apt.log): left out; the native row (streaming replication + pg_ctl promote) stands in for it"
	blog "failover: $PGAF_NOTE"
	SYSTEMS=${SYSTEMS//pgaf/}
fi

mkdir -p "$BENCH_DIR"
for n in pa pb pm; do
	pid=$(keeper_pid "$n")
	[ -n "$pid" ] && { blog "stopping a leftover keeper of $n"; mapfile -t tree < <(proc_tree "$pid"); kill -KILL "${tree[@]}" 2>/dev/null || true; }
done
inst_fresh_dirs "$PGAF_HOME"
rm -f "$OUT".ack.* "$OUT".tidal.* "$OUT".pgaf.* "$OUT".native.*
trap fo_cleanup EXIT

# tidal: three regions, every region a peer of every other
blog "failover: starting 3 tidal regions, a primary with a streaming standby, and pg_auto_failover (ports ${PORT[t0]}-${PORT[pb]})"
for i in 0 1 2; do
	inst_init_region "t$i" "$i" "$((ENTITIES + 100000))" \
		${TIDAL_PEER_TIMEOUT:+"tidal.peer_timeout = '$TIDAL_PEER_TIMEOUT'"}
	inst_start "t$i"
	pgi "t$i" createdb bench
	qi "t$i" "CREATE EXTENSION tidal" >/dev/null
done
qi t0 "SELECT tidal.define_signal('view', '7 days')" >/dev/null
tidal_add_peers 3

# tidal followers (0.8): shard 0 of region 0 on fa (node 21) and fb (node
# 22), members of each other; shard 1 on fw (node 23), the shard's witness
for n in fa fb fw; do
	case $n in fa) id=21 shard=0 ;; fb) id=22 shard=0 ;; fw) id=23 shard=1 ;; esac
	inst_init "$n" "shared_preload_libraries = 'tidal'" "tidal.node_id = $id" "tidal.region_id = 0" \
		"tidal.shard_id = $shard" "tidal.database = 'bench'" "tidal.max_entities = $((ENTITIES + 100000))"
	inst_start "$n"
	pgi "$n" createdb bench
	qi "$n" "CREATE EXTENSION tidal" >/dev/null
done
conn_of() { echo "host=$BENCH_DIR port=${PORT[$1]} dbname=bench"; }
qi fa "SELECT tidal.add_peer(0, '$(conn_of fb)', 0, 22), tidal.add_peer(0, '$(conn_of fw)', 1)" >/dev/null
qi fb "SELECT tidal.add_peer(0, '$(conn_of fa)', 0, 21), tidal.add_peer(0, '$(conn_of fw)', 1)" >/dev/null
qi fw "SELECT tidal.add_peer(0, 'host=$BENCH_DIR,$BENCH_DIR port=${PORT[fa]},${PORT[fb]} dbname=bench', 0)" >/dev/null
# the shard's leader as both its nodes see it: "instance node term", or nothing
follower_view() {
	local a b
	a=$(qi fa "SELECT coalesce(leader_node::text, '-') || ' ' || term FROM tidal._shard_election_status()" 2>/dev/null) || return 0
	b=$(qi fb "SELECT coalesce(leader_node::text, '-') || ' ' || term FROM tidal._shard_election_status()" 2>/dev/null) || return 0
	[ "$a" = "$b" ] && [ "${a% *}" != - ] || return 0
	case ${a% *} in 21) echo "fa $a" ;; 22) echo "fb $a" ;; esac
}
follower_stable() {	# STABLE_S: the same leader and term on both nodes for that long
	local want=$1 t0 v first=""
	t0=$(now_s)
	while :; do
		v=$(follower_view)
		[ -n "$v" ] || return 1
		[ -z "$first" ] && first=$v
		[ "$v" = "$first" ] || return 1
		awk -v a="$t0" -v b="$(now_s)" -v s="$want" 'BEGIN { exit !(b - a >= s) }' && { FOLLOWER_LEADER=$v; return 0; }
		sleep 0.2
	done
}
wait_until 60 "fa to lead shard 0, followed by fb" follower_stable 1
qi "${FOLLOWER_LEADER%% *}" "SELECT tidal.define_signal('view', '7 days')" >/dev/null
# one leader, and every region agrees on it and on its term, for STABLE_S s
tidal_view() {	# -> "leader term" if the three regions agree on one leader, else nothing
	local n v views=()
	for n in t0 t1 t2; do
		v=$(qi "$n" "SELECT role || ' ' || term || ' ' || coalesce(leader_region::text, '-') FROM tidal.cluster WHERE is_local" 2>/dev/null) || return 0
		views+=("$n $v")
	done
	printf '%s\n' "${views[@]}" | awk '
		{ node = substr($1, 2); role[node] = $2; term[node] = $3; lead[node] = $4; n++ }
		END {
			L = lead["0"]; T = term["0"]
			if (L == "-") exit
			for (k in lead) if (lead[k] != L || term[k] != T) exit
			for (k in role) if ((k == L) != (role[k] == "leader")) exit
			print L, T
		}'
}
tidal_stable() {	# STABLE_S: the same agreed leader and term for that long
	local want=$1 t0 v first=""
	t0=$(now_s)
	while :; do
		v=$(tidal_view)
		[ -n "$v" ] || return 1
		[ -z "$first" ] && first=$v
		[ "$v" = "$first" ] || return 1
		awk -v a="$t0" -v b="$(now_s)" -v s="$want" 'BEGIN { exit !(b - a >= s) }' && { TIDAL_LEADER=$v; return 0; }
		sleep 0.2
	done
}
tidal_led_by_0() { tidal_stable 1 && [ "${TIDAL_LEADER% *}" = 0 ]; }
wait_until 60 "region 0 to lead all three regions" tidal_led_by_0
tidal_defined() { [ "$(qi t1 "SELECT count(*) FROM tidal.signals")" = 1 ] && [ "$(qi t2 "SELECT count(*) FROM tidal.signals")" = 1 ]; }
wait_until 60 "the signal definition to reach regions 1 and 2" tidal_defined

# native: a primary and a streaming standby
inst_init n0 "synchronous_standby_names = ''"
inst_start n0
pgi n0 createdb bench
{ events_table_sql; echo "CREATE TABLE fo_probe (id bigserial PRIMARY KEY, round int, attempt int, at timestamptz DEFAULT clock_timestamp());"; } |
	pgi n0 psql -X -q -v ON_ERROR_STOP=1 -d bench >/dev/null
native_standby() {	# STANDBY PRIMARY: (re)build STANDBY as a streaming standby of PRIMARY
	local s=$1 p=$2
	rm -rf "${BENCH_DIR:?}/$s"
	pgi "$p" pg_basebackup -h "$BENCH_DIR" -p "${PORT[$p]}" -D "$BENCH_DIR/$s" -R -X stream -c fast >"$BENCH_DIR/$s.basebackup.log" 2>&1 ||
		{ cat "$BENCH_DIR/$s.basebackup.log" >&2; bdie "pg_basebackup of $s from $p failed"; }
	{
		echo "port = ${PORT[$s]}"
		echo "primary_conninfo = 'host=$BENCH_DIR port=${PORT[$p]} user=$TIDAL_USER application_name=$s'"
	} >>"$BENCH_DIR/$s/postgresql.auto.conf"
	inst_start "$s"
	wait_until 60 "$s to stream from $p" native_streaming "$p"
}
native_streaming() { [ "$(qi "$1" "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")" = 1 ]; }
native_standby n1 n0
NATIVE_PRIMARY=n0
NATIVE_STANDBY=n1

# pg_auto_failover: a monitor and two nodes
pgaf_state() {	# "name:reported/goal ..." in node order
	qi pm "SELECT string_agg(nodename || ':' || reportedstate || '/' || goalstate, ' ' ORDER BY nodeid) FROM pgautofailover.node" 2>/dev/null || true
}
pgaf_primary() { qi pm "SELECT nodename FROM pgautofailover.node WHERE reportedstate = 'primary' AND goalstate = 'primary'" 2>/dev/null || true; }
pgaf_settled() {	# one primary, one secondary, both where the monitor wants them, both healthy
	[ "$(qi pm "SELECT count(*) FILTER (WHERE reportedstate = 'primary' AND goalstate = 'primary') || ' ' ||
	                   count(*) FILTER (WHERE reportedstate = 'secondary' AND goalstate = 'secondary') || ' ' ||
	                   count(*) FILTER (WHERE health = 1)
	              FROM pgautofailover.node" 2>/dev/null)" = "1 1 2" ]
}
pm_up() { qi pm "SELECT 1" >/dev/null 2>&1; }
pgaf_single() { [ "$(pgaf_state)" = "pa:single/single" ]; }
pgaf_setup() {
	local n
	mkdir -p "$PGAF_HOME"
	chown "$TIDAL_USER:$TIDAL_USER" "$PGAF_HOME"
	# pg_autoctl accepts an existing PGDATA: initdb here, so that the unix
	# socket is in $BENCH_DIR (Debian's default directory is not writable by
	# $TIDAL_USER)
	for n in pm pa; do
		pgi "$n" initdb -D "$BENCH_DIR/$n" -A trust -U "$TIDAL_USER" -E UTF8 --locale=C.UTF-8 >"$BENCH_DIR/$n.initdb.log" 2>&1 ||
			{ cat "$BENCH_DIR/$n.initdb.log" >&2; bdie "initdb of $n failed"; }
		echo "unix_socket_directories = '$BENCH_DIR'" >>"$BENCH_DIR/$n/postgresql.conf"
	done
	pga pm create monitor --pgdata "$BENCH_DIR/pm" --pgport "${PORT[pm]}" --hostname localhost --auth trust --no-ssl \
		>"$BENCH_DIR/pm.create.log" 2>&1 || { tail -20 "$BENCH_DIR/pm.create.log" >&2; bdie "pg_autoctl create monitor failed"; }
	keeper_start pm
	wait_until 60 "the pg_auto_failover monitor" pm_up
	if [ "$PGAF_PROFILE" = fast ]; then
		local kv
		for kv in health_check_period=1000 health_check_timeout=1000 health_check_max_retries=1 health_check_retry_delay=500 \
			node_considered_unhealthy_timeout=1000 primary_demote_timeout=1000 startup_grace_period=1000; do
			qi pm "ALTER SYSTEM SET pgautofailover.${kv%=*} = ${kv#*=}" >/dev/null
		done
		qi pm "SELECT pg_reload_conf()" >/dev/null
	fi
	pgaf_node pa
	wait_until 60 "pg_auto_failover node pa to be single" pgaf_single
	pgaf_node pb
	wait_until 120 "pg_auto_failover to reach primary/secondary" pgaf_settled
	qi "$(pgaf_primary)" "CREATE TABLE fo_probe (id bigserial PRIMARY KEY, round int, attempt int, at timestamptz DEFAULT clock_timestamp())" >/dev/null
}
pgaf_node() {	# NAME: pg_autoctl create postgres, then its keeper
	local n=$1 kv
	pga "$n" create postgres --pgdata "$BENCH_DIR/$n" --dbname postgres --pgport "${PORT[$n]}" --hostname localhost --listen localhost \
		--auth trust --no-ssl --monitor "$MONITOR_URI" --name "$n" >"$BENCH_DIR/$n.create.log" 2>&1 ||
		{ tail -20 "$BENCH_DIR/$n.create.log" >&2; bdie "pg_autoctl create postgres ($n) failed"; }
	if [ "$PGAF_PROFILE" = fast ]; then
		for kv in network_partition_timeout=1 prepare_promotion_catchup=1 prepare_promotion_walreceiver=1; do
			pga "$n" config set --pgdata "$BENCH_DIR/$n" "timeout.${kv%=*}" "${kv#*=}" >/dev/null
		done
	fi
	keeper_start "$n"
}
[[ " $SYSTEMS " == *" pgaf "* ]] && pgaf_setup

# ---------------------------------------------------------------- part 1: commit_ack

cat >"$BENCH_WORK/ack.tidal.sql" <<EOF
\\set id random(1, $ENTITIES)
SELECT tidal.signal('view', :id, 1);
EOF
cat >"$BENCH_WORK/ack.native.sql" <<EOF
\\set id random(1, $ENTITIES)
INSERT INTO events (entity, signal, weight, at) VALUES (:id, 1, 1, now());
EOF
chown -R "$TIDAL_USER:$TIDAL_USER" "$BENCH_WORK"
qi n0 "ALTER SYSTEM SET synchronous_standby_names = '*'" >/dev/null
qi n0 "SELECT pg_reload_conf()" >/dev/null

declare -A ACK_TPS ACK_LAT ACK_WARN
ack_run() {	# MODE ROUND
	local mode=$1 round=$2 inst opts script f
	case $mode in
		tidal-local) inst=t0 opts="-c tidal.commit_ack=local" script=tidal ;;
		tidal-quorum) inst=t0 opts="-c tidal.commit_ack=quorum" script=tidal ;;
		tidal-shard) inst=${FOLLOWER_LEADER%% *} opts="-c tidal.commit_ack=shard" script=tidal ;;
		native-local) inst=n0 opts="-c synchronous_commit=local" script=native ;;
		native-remote_apply) inst=n0 opts="-c synchronous_commit=remote_apply" script=native ;;
	esac
	f=$(bench_pgbench "failover.ack.$mode.$round" "PGPORT=${PORT[$inst]}" "PGOPTIONS=$opts" -- \
		-M prepared -c "$ACK_CLIENTS" -j 2 -T "$ACK_DURATION" -f "$BENCH_WORK/ack.$script.sql")
	ACK_TPS[$mode.$round]=$(pgb_tps "$f")
	ACK_LAT[$mode.$round]=$(pgb_lat "$f")
	ACK_WARN[$mode.$round]=$(grep -c 'WARNING' "$f" || true)
	blog "failover: commit_ack round $round, $mode: $(fmt0 "${ACK_TPS[$mode.$round]}") commits/s, ${ACK_LAT[$mode.$round]} ms mean latency"
}
ACK_MODES=(tidal-local tidal-quorum tidal-shard native-local native-remote_apply)
for round in $(seq 1 "$ACK_ROUNDS"); do
	if [ $((round % 2)) -eq 1 ]; then order=(0 1 2 3 4); else order=(4 3 2 1 0); fi
	for k in "${order[@]}"; do ack_run "${ACK_MODES[$k]}" "$round"; done
done
qi n0 "ALTER SYSTEM RESET synchronous_standby_names" >/dev/null
qi n0 "SELECT pg_reload_conf()" >/dev/null
ack_mean() {	# ARRAY MODE
	local -n arr=$1
	local r vals=()
	for r in $(seq 1 "$ACK_ROUNDS"); do vals+=("${arr[$2.$r]}"); done
	printf '%s\n' "${vals[@]}" | awk '{ s += $1 } END { printf "%.3f", s / NR }'
}
ack_warns() { local r s=0; for r in $(seq 1 "$ACK_ROUNDS"); do s=$((s + ACK_WARN[$1.$r])); done; echo "$s"; }
ack_list() { local -n arr=$1; local r out=""; for r in $(seq 1 "$ACK_ROUNDS"); do out+="${out:+ / }$(fmt0 "${arr[$2.$r]}")"; done; echo "$out"; }

# ---------------------------------------------------------------- part 2: failover

declare -A FO DETAIL
# tidal: kill the leader, a leader-only call on the survivors until one takes it
tidal_round() {	# ROUND
	local r=$1 lead term victim survivors=() n pids tag line elected="?" rejoin after won note=""
	read -r lead term <<<"$TIDAL_LEADER"
	victim=t$lead
	for n in t0 t1 t2; do [ "$n" != "$victim" ] && survivors+=("$n"); done
	tag=tidal.$r
	for n in "${survivors[@]}"; do wc -l <"$BENCH_DIR/$n.log" >"$BENCH_WORK/$n.loglines"; done
	attempts_open "$tag" bench "SELECT 1 AS ok FROM tidal.define_signal('fo_${r}_@P@_@N@', '1 day')" \
		"${PORT[${survivors[0]}]}" "${PORT[${survivors[1]}]}"
	pids=$(proc_tree "$(postmaster_pid "$victim")")
	# shellcheck disable=SC2086
	kill_now $pids
	attempts_run
	FO[$tag]=$FO_MS
	won=$(qi "${INST_OF[$FO_PORT]}" "SELECT term FROM tidal.cluster WHERE is_local")
	# when the survivors' logs say a region won the election
	for n in "${survivors[@]}"; do
		line=$(tail -n +"$(($(cat "$BENCH_WORK/$n.loglines") + 1))" "$BENCH_DIR/$n.log" | grep -m1 'tidal: region [0-9]* leads in term' || true)
		[ -n "$line" ] && elected="region $(sed -E 's/.*tidal: region ([0-9]+) leads in term ([0-9]+).*/\1 in term \2/' <<<"$line") at $(ms_since_kill "$(log_epoch "$line")") ms"
	done
	wait_until 60 "the killed processes of region $lead to be reaped" killed_gone
	pgi "$victim" pg_ctl -D "$BENCH_DIR/$victim" -l "$BENCH_DIR/$victim.log" -w -t 120 start >/dev/null 2>&1 ||
		bdie "round $r: region $lead did not restart"
	local t_restart
	t_restart=$(now_s)
	wait_until 60 "round $r: one leader again, region $lead back as a follower" tidal_stable 3
	rejoin=$(elapsed "$t_restart" "$(now_s)")
	after=$TIDAL_LEADER
	[ "${after#* }" = "$won" ] || note=" (NOTE: a new election when region $lead came back: term $won -> ${after#* })"
	DETAIL[$tag]="killed region $lead (term $term); write accepted by ${INST_OF[$FO_PORT]} after $FO_TRIES refused attempts (one every $FO_CADENCE ms per survivor); election won (server log): $elected; back with leader ${after% *} term ${after#* } after ${rejoin} s$note"
	blog "failover: tidal round $r: killed region $lead, a write was accepted after $FO_MS ms (leader now region ${after% *}, term ${after#* })"
	[ -z "$note" ] || blog "failover: tidal round $r:$note"
}

# tidal followers: kill shard 0's leader, a write on its follower until it is promoted
follower_round() {	# ROUND
	local r=$1 victim survivor node term pids tag t_restart rejoin line elected="?"
	read -r victim node term <<<"$FOLLOWER_LEADER"
	if [ "$victim" = fa ]; then survivor=fb; else survivor=fa; fi
	tag=follower.$r
	wc -l <"$BENCH_DIR/$survivor.log" >"$BENCH_WORK/$survivor.loglines"
	attempts_open "$tag" bench "SELECT 1 AS ok FROM tidal.signal('view', @N@, 1)" "${PORT[$survivor]}"
	pids=$(proc_tree "$(postmaster_pid "$victim")")
	# shellcheck disable=SC2086
	kill_now $pids
	attempts_run
	FO[$tag]=$FO_MS
	line=$(tail -n +"$(($(cat "$BENCH_WORK/$survivor.loglines") + 1))" "$BENCH_DIR/$survivor.log" | grep -m1 'tidal: node [0-9]* leads its shard in term' || true)
	[ -n "$line" ] && elected="node $(sed -E 's/.*tidal: node ([0-9]+) leads its shard in term ([0-9]+).*/\1 in term \2/' <<<"$line") at $(ms_since_kill "$(log_epoch "$line")") ms"
	wait_until 60 "the killed processes of $victim to be reaped" killed_gone
	pgi "$victim" pg_ctl -D "$BENCH_DIR/$victim" -l "$BENCH_DIR/$victim.log" -w -t 120 start >/dev/null 2>&1 ||
		bdie "round $r: $victim did not restart"
	t_restart=$(now_s)
	wait_until 60 "round $r: one shard leader again, $victim back as a follower" follower_stable 2
	rejoin=$(elapsed "$t_restart" "$(now_s)")
	DETAIL[$tag]="killed $victim (node $node, term $term); write accepted by $survivor after $FO_TRIES refused attempts (one every $FO_CADENCE ms); promotion (server log): $elected; $victim back as a follower of ${FOLLOWER_LEADER% *} after ${rejoin} s"
	blog "failover: follower round $r: killed $victim, a write was accepted on $survivor after $FO_MS ms"
}

pgaf_round() {	# ROUND
	local r=$1 victim survivor pids tag t_restart rejoin ev
	victim=$(pgaf_primary)
	[ -n "$victim" ] || bdie "pg_auto_failover has no primary"
	if [ "$victim" = pa ]; then survivor=pb; else survivor=pa; fi
	tag=pgaf.$r
	attempts_open "$tag" postgres "INSERT INTO fo_probe (round, attempt) VALUES ($r, @N@) RETURNING 1 AS ok" "${PORT[$survivor]}"
	mapfile -t pids < <({ proc_tree "$(keeper_pid "$victim")"; proc_tree "$(postmaster_pid "$victim")"; } | sort -u)
	kill_now "${pids[@]}"
	attempts_run
	FO[$tag]=$FO_MS
	# the monitor's events since the kill, in ms after it
	ev=$(qi pm "SELECT round((extract(epoch FROM eventtime) - $KILL_T) * 1000) || ' ms ' || description
	              FROM pgautofailover.event WHERE eventtime > to_timestamp($KILL_T) ORDER BY eventid")
	printf '%s\n' "$ev" >"$OUT.$tag.events.txt"
	wait_until 60 "the killed processes of $victim to be reaped" killed_gone
	keeper_start "$victim"
	t_restart=$(now_s)
	wait_until 180 "round $r: pg_auto_failover primary/secondary again" pgaf_settled
	rejoin=$(elapsed "$t_restart" "$(now_s)")
	DETAIL[$tag]="killed $victim (keeper and postgres); INSERT accepted by $survivor after $FO_TRIES refused attempts (one every $FO_CADENCE ms); monitor: health check failed at $(awk '/marked as unhealthy/ { print $1; exit }' <<<"$ev") ms, failover decided at $(awk '/became unhealthy/ { print $1; exit }' <<<"$ev") ms, standby promoted (stop_replication reported) at $(awk '/reported .*stop_replication/ { print $1; exit }' <<<"$ev") ms, writes allowed (wait_primary assigned) at $(awk '/to wait_primary/ { print $1; exit }' <<<"$ev") ms; rejoined as secondary after $rejoin s"
	blog "failover: pg_auto_failover round $r: killed $victim, an INSERT was accepted after $FO_MS ms"
}

native_round() {	# ROUND
	local r=$1 p=$NATIVE_PRIMARY s=$NATIVE_STANDBY pids tag t0 promote_pid
	tag=native.$r
	attempts_open "$tag" bench "INSERT INTO fo_probe (round, attempt) VALUES ($r, @N@) RETURNING 1 AS ok" "${PORT[$s]}"
	pids=$(proc_tree "$(postmaster_pid "$p")")
	# shellcheck disable=SC2086
	kill_now $pids
	{ sleep "$(awk -v m="$NATIVE_DETECT_MS" 'BEGIN { printf "%.3f", m / 1000 }')"; pgi "$s" pg_ctl -D "$BENCH_DIR/$s" -w promote >/dev/null 2>&1; } &
	promote_pid=$!
	attempts_run
	FO[$tag]=$FO_MS
	wait "$promote_pid" || bdie "round $r: pg_ctl promote of $s failed"
	wait_until 60 "the killed processes of $p to be reaped" killed_gone
	rm -f "$BENCH_DIR/$p/postmaster.pid"
	t0=$(now_s)
	native_standby "$p" "$s"
	DETAIL[$tag]="killed $p; pg_ctl promote of $s after $NATIVE_DETECT_MS ms; INSERT accepted after $FO_TRIES refused attempts (one every $FO_CADENCE ms); $p rebuilt as its standby in $(elapsed "$t0" "$(now_s)") s"
	NATIVE_PRIMARY=$s
	NATIVE_STANDBY=$p
	blog "failover: native round $r: killed $p, promoted $s, an INSERT was accepted after $FO_MS ms"
}

for sys in $SYSTEMS; do
	for r in $(seq 1 "$ROUNDS"); do
		case $sys in
			follower) wait_until 60 "shard 0 to be stable before round $r" follower_stable 1; follower_round "$r" ;;
			tidal) wait_until 60 "tidal to be stable before round $r" tidal_stable 1; tidal_round "$r" ;;
			pgaf) wait_until 120 "pg_auto_failover to be settled before round $r" pgaf_settled; sleep 1; pgaf_round "$r" ;;
			native) native_round "$r" ;;
		esac
	done
done

# ---------------------------------------------------------------- report

fo_values() { local r out=(); for r in $(seq 1 "$ROUNDS"); do out+=("${FO[$1.$r]}"); done; echo "${out[*]}"; }
sys_label() {
	case $1 in
		follower) echo "tidal 0.8, a shard's follower promoted (leader + follower + witness; election_timeout 500ms)" ;;
		tidal) echo "tidal, 3 regions: the cluster leader's region fails over (election_timeout 500ms, heartbeat 100ms)" ;;
		pgaf) echo "pg_auto_failover 2.0, monitor + 2 nodes ($PGAF_PROFILE settings)" ;;
		native) echo "streaming replication, pg_ctl promote ${NATIVE_DETECT_MS} ms after the kill" ;;
	esac
}
declare -A MEDIAN
for sys in $SYSTEMS; do
	read -r -a v <<<"$(fo_values "$sys")"
	MEDIAN[$sys]=$(median "${v[@]}")
done
{
	bench_header "failover: kill -9 of the leader until a new leader accepts a write ($ROUNDS rounds per system, a write attempted every $POLL_MS ms on each survivor); cost of tidal.commit_ack = quorum (pgbench -M prepared -c $ACK_CLIENTS -T $ACK_DURATION, $ACK_ROUNDS rounds)"
	echo "# tidal: default election settings, tidal.peer_timeout ${TIDAL_PEER_TIMEOUT:-2s (default)}"
	echo "# installed tidal.so md5 $SO_MD5$( [ "$(so_md5)" = "$SO_MD5" ] || echo " (replaced by $(so_md5) during the run: regions restarted after that loaded the new build)"), checkout $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo "?"); pg_autoctl: $(pg_autoctl --version 2>/dev/null | head -1 || echo "not installed")"
	echo "# uptime at the start: $UPTIME_START"
	echo "# uptime at the end:   $(uptime)"
	[ -z "$PGAF_NOTE" ] || echo "# NOTE: $PGAF_NOTE"
	echo
	if [ -n "${SYSTEMS// /}" ]; then
		echo "failover (ms from the kill until a write was committed on a survivor):"
		{
			echo "system|median ms|range ms|rounds (ms)"
			for sys in $SYSTEMS; do
				read -r -a v <<<"$(fo_values "$sys")"
				echo "$(sys_label "$sys")|${MEDIAN[$sys]}|$(minmax "${v[@]}")|${v[*]}"
			done
		} | print_table
		echo
		if [[ " $SYSTEMS " == *" tidal "* ]]; then
			echo "tidal median failover ${MEDIAN[tidal]} ms; goal under $GOAL_MS ms: $(met "${MEDIAN[tidal]}" "<=" "$GOAL_MS")"
			echo
		fi
		if [[ " $SYSTEMS " == *" follower "* ]]; then
			read -r -a v <<<"$(fo_values follower)"
			echo "follower promotion: median ${MEDIAN[follower]} ms, worst $(printf '%s\n' "${v[@]}" | sort -g | tail -1) ms; goal median under $FOLLOWER_GOAL_MS ms: $(met "${MEDIAN[follower]}" "<=" "$FOLLOWER_GOAL_MS")"
			for other in tidal pgaf native; do
				[[ " $SYSTEMS " == *" $other "* ]] && echo "  follower / $other median: $(fdiv "${MEDIAN[follower]}" "${MEDIAN[$other]}")x"
			done
			echo
		fi
		echo "per round:"
		for sys in $SYSTEMS; do
			for r in $(seq 1 "$ROUNDS"); do echo "  $sys $r: ${FO[$sys.$r]} ms; ${DETAIL[$sys.$r]}"; done
		done
		if [[ " $SYSTEMS " == *" pgaf "* ]]; then
			echo "  pg_auto_failover settings: $(qi pm "SELECT string_agg(replace(name, 'pgautofailover.', '') || '=' || setting, ', ' ORDER BY name) FROM pg_settings WHERE name LIKE 'pgautofailover.%'")"
			echo "  keeper timeouts: $(for k in network_partition_timeout prepare_promotion_catchup prepare_promotion_walreceiver postgresql_restart_failure_timeout postgresql_restart_failure_max_retries; do printf '%s=%s ' "$k" "$(pga pa config get --pgdata "$BENCH_DIR/pa" "timeout.$k" 2>/dev/null)"; done)"
		fi
		echo
	fi
	echo "commit_ack: commits/s and mean latency per commit (pgbench -c $ACK_CLIENTS, mean of $ACK_ROUNDS rounds of $ACK_DURATION s):"
	{
		echo "system|mode|commits/s|per round|mean latency ms|latency vs local|WARNINGs (quorum timeouts)"
		for m in "${ACK_MODES[@]}"; do
			base=${m%%-*}-local
			echo "${m%%-*}|${m#*-}|$(fmt0 "$(ack_mean ACK_TPS "$m")")|$(ack_list ACK_TPS "$m")|$(ack_mean ACK_LAT "$m")|$(fdiv "$(ack_mean ACK_LAT "$m")" "$(ack_mean ACK_LAT "$base")")x|$(ack_warns "$m")"
		done
	} | print_table
	echo
	echo "quorum / local: tidal $(fdiv "$(ack_mean ACK_LAT tidal-quorum)" "$(ack_mean ACK_LAT tidal-local)")x latency, $(fdiv "$(ack_mean ACK_TPS tidal-quorum)" "$(ack_mean ACK_TPS tidal-local)")x commits/s;" \
		"remote_apply / local: native $(fdiv "$(ack_mean ACK_LAT native-remote_apply)" "$(ack_mean ACK_LAT native-local)")x latency, $(fdiv "$(ack_mean ACK_TPS native-remote_apply)" "$(ack_mean ACK_TPS native-local)")x commits/s"
	echo "tidal quorum latency / native remote_apply latency: $(fdiv "$(ack_mean ACK_LAT tidal-quorum)" "$(ack_mean ACK_LAT native-remote_apply)")x"
	echo "tidal shard latency / native remote_apply latency: $(fdiv "$(ack_mean ACK_LAT tidal-shard)" "$(ack_mean ACK_LAT native-remote_apply)")x (shard: a follower of the same shard has applied it; remote_apply: the standby has replayed it)"
	echo "load average: $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
} | tee "$BENCH_RESULTS/failover.txt"
