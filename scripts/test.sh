#!/usr/bin/env bash
# Build, install and run all of tidal's tests: the pg_regress suite (sql/*.sql
# against expected/*.out, in a temporary instance with tidal preloaded) and the
# TAP tests (t/*.pl, each starting its own clusters), then, on a whole run,
# Forage's tests (bash apps/forage/test.sh: node --test, headless chromium).
#
#   bash scripts/test.sh [make variables, e.g. REGRESS=hlc PROVE_TESTS=t/001_x.pl]
#
# As root (Debian 12, also on a fresh machine): runs scripts/setup.sh, gives the
# user "tidal" write access to the checkout and runs `make installcheck` as that
# user (PostgreSQL refuses to run as root). As another user: builds, checks the
# install and runs the tests as that user. Exits non-zero if anything fails, and
# then prints regression.diffs and the tails of the relevant server/TAP logs.
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

OUT=$(mktemp "${TMPDIR:-/tmp}/tidal-test.XXXXXX")
trap 'rm -f "$OUT"' EXIT

section() { printf '\n======== %s ========\n' "$*"; }

# 0. tidal's own SQL text names nothing a caller could shadow (issue 11).
section "check_sql_text"
if ! bash "$REPO/scripts/check_sql_text.sh" --self-test || ! bash "$REPO/scripts/check_sql_text.sh"; then
	section "tidal test summary"
	echo "FAILED: scripts/check_sql_text.sh found unqualified names in src/ SQL text (or failed its self-test); no test was run"
	exit 1
fi

# src/ keeps its layers: no upward include, no cycle, folders as docs/architecture.md lists them (issue 12).
section "check_layers"
if ! bash "$REPO/scripts/check_layers.sh" --self-test || ! bash "$REPO/scripts/check_layers.sh"; then
	section "tidal test summary"
	echo "FAILED: scripts/check_layers.sh found an include that breaks the layers of src/ (or failed its self-test); no test was run"
	exit 1
fi

# 1. Packages, user, build, install.
if ! bash "$REPO/scripts/setup.sh"; then
	section "tidal test summary"
	echo "FAILED: setup or build failed (see above); no test was run"
	exit 1
fi

# 2. Where the tests run: the checkout, readable and writable by the PostgreSQL account.
WORK=$REPO
if is_root; then
	grant_tree
	if ! pg_user_can_use_tree "$WORK"; then
		# A parent directory (e.g. /root) is not searchable by the unprivileged user:
		# test a copy of the built tree instead.
		WORK=/var/tmp/tidal-test
		warn "user $TIDAL_USER cannot reach $REPO (a parent directory is not searchable); testing a copy in $WORK"
		rm -rf "$WORK"
		mkdir -p "$WORK"
		tar -C "$REPO" --exclude=./.git -cf - . | tar -C "$WORK" -xf -
		chown -R "$TIDAL_USER:$TIDAL_USER" "$WORK"
		pg_user_can_use_tree "$WORK" || die "user $TIDAL_USER cannot use $WORK either"
	fi
elif [ ! -w "$REPO" ]; then
	die "$(id -un) cannot write to $REPO (the tests write tmp_regress/, tmp_check/ and results/ there); run as root: bash scripts/test.sh"
fi

# 3. Run the tests.
run_installcheck() {
	section "make installcheck $* (as $(run_user))"
	as_pg_user make -C "$WORK" PG_CONFIG="$PG_CONFIG" installcheck "$@" 2>&1 | tee -a "$OUT"
	return "${PIPESTATUS[0]}"
}

rc=0
run_installcheck "$@" || rc=$?

have_tap_tests=false
compgen -G "$WORK/t/*.pl" >/dev/null && have_tap_tests=true

# `make installcheck` stops after pg_regress fails, before the TAP tests: run them
# anyway so a single run reports every failure.
if [ "$rc" -ne 0 ] && $have_tap_tests &&
	grep -q '^+++ regress install-check' "$OUT" && ! grep -q '^+++ tap install-check' "$OUT"; then
	echo "note: the regression tests failed; running the TAP tests as well"
	run_installcheck "$@" REGRESS= || true
fi

# 4. Count results.
# pg_regress (PostgreSQL 15): "test NAME ... ok", "     NAME ... FAILED", "... failed (ignored)".
reg_pass=$(grep -cE '^(test |     )[^ ]+ +\.\.\. (ok|failed \(ignored\))' "$OUT" || true)
reg_fail=$(grep -cE '^(test |     )[^ ]+ +\.\.\. FAILED' "$OUT" || true)

# prove: "Files=N, Tests=M, ..." and, for failures, "t/x.pl (Wstat: W Tests: N Failed: F)".
tap_ran=false
tap_total=0
tap_failed_subtests=0
tap_died=0
failed_tap_files=()
if grep -qE '^Files=[0-9]+, Tests=[0-9]+' "$OUT"; then
	tap_ran=true
	tap_total=$(sed -nE 's/^Files=[0-9]+, Tests=([0-9]+).*/\1/p' "$OUT" | tail -n 1)
fi
while read -r file wstat failed; do
	failed_tap_files+=("$file")
	if [ "$failed" -gt 0 ]; then
		tap_failed_subtests=$((tap_failed_subtests + failed))
	elif [ "$wstat" -ne 0 ]; then
		tap_died=$((tap_died + 1)) # died, or ran fewer tests than planned
	fi
done < <(sed -nE 's/^([^ ]+\.pl) +\(Wstat: ([0-9]+) .*Failed: ([0-9]+)\).*/\1 \2 \3/p' "$OUT")
tap_fail=$((tap_failed_subtests + tap_died))
if grep -qE '^Result: (FAIL|NOTESTS)' "$OUT" && [ "$tap_fail" -eq 0 ]; then
	tap_fail=1
fi
tap_pass=$((tap_total > tap_failed_subtests ? tap_total - tap_failed_subtests : 0))
if grep -q '^+++ tap install-check' "$OUT" && ! $tap_ran; then
	tap_fail=$((tap_fail + 1)) # prove itself failed (e.g. no t/*.pl, or a compile error in a test)
fi

passed=$((reg_pass + tap_pass))
failed=$((reg_fail + tap_fail))
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
	failed=1 # make failed before any test reported (e.g. the temporary instance did not start)
fi

# 5. On failure, show why.
if [ "$rc" -ne 0 ] || [ "$failed" -ne 0 ]; then
	if [ "$reg_fail" -ne 0 ] && [ -s "$WORK/regression.diffs" ]; then
		section "regression.diffs (first 400 lines; full file: $WORK/regression.diffs)"
		head -n 400 "$WORK/regression.diffs"
	fi
	# The pg_regress instance's server log, when no test ran or the server crashed.
	if [ "$rc" -ne 0 ] && [ -f "$WORK/log/postmaster.log" ] &&
		{ [ "$((reg_pass + reg_fail))" -eq 0 ] ||
			grep -qE 'terminated by signal|was terminated|PANIC|TRAP:' "$WORK/log/postmaster.log"; }; then
		section "tail of $WORK/log/postmaster.log (pg_regress instance)"
		tail -n 60 "$WORK/log/postmaster.log"
	fi
	if [ -f "$WORK/log/initdb.log" ] && [ "$reg_pass" -eq 0 ] && [ "$reg_fail" -eq 0 ] &&
		grep -q '^+++ regress install-check' "$OUT"; then
		section "tail of $WORK/log/initdb.log"
		tail -n 30 "$WORK/log/initdb.log"
	fi
	logdir=$WORK/tmp_check/log
	if [ -d "$logdir" ]; then
		logs=()
		if [ "${#failed_tap_files[@]}" -gt 0 ]; then
			for f in "${failed_tap_files[@]}"; do
				name=$(basename "$f" .pl)
				for l in "$logdir/regress_log_$name" "$logdir/${name}"_*.log; do
					[ -f "$l" ] && logs+=("$l")
				done
			done
		elif [ "$tap_fail" -ne 0 ]; then
			for l in "$logdir"/*; do
				[ -f "$l" ] && logs+=("$l")
			done
		fi
		for l in ${logs[@]+"${logs[@]}"}; do
			case $l in
			*/regress_log_*) n=120 ;;
			*) n=50 ;;
			esac
			section "tail -n $n $l"
			tail -n "$n" "$l"
		done
	fi
fi

# 5b. The README's first command from a checkout user tidal cannot reach (a
# clone in /root, the usual place as root): the demo then keeps its servers
# in a directory of its own (issue 11, finding 9). Whole runs as root only.
demo_check="not run"
if is_root && [ $# -eq 0 ]; then
	section "the demo (README's first command) from a checkout in /root"
	demo_home=$(mktemp -d /root/tidal-demo-check.XXXXXX)
	demo_tmp=/var/tmp/tidal-demo-check.$$
	tar -C "$REPO" --exclude=./.git --exclude=./tmp --exclude=./tmp_check --exclude=./tmp_regress \
		--exclude=./results -cf - . | tar -C "$demo_home" -xf -
	if as_pg_user test -x "$demo_home"; then
		demo_check="not run ($TIDAL_USER can reach /root here)"
	elif TIDAL_DEMO_TMP=$demo_tmp bash "$demo_home/scripts/demo.sh" 2>&1 | tee "$OUT.demo" &&
		grep -q "cannot reach" "$OUT.demo"; then
		demo_check=ok
	else
		demo_check=FAILED
		rc=1
		# what each region saw, before the reset removes it
		for log in "$demo_tmp"/demo/region*.log; do
			[ -f "$log" ] || continue
			section "tail -n 80 $log (without statements)"
			grep -v -e 'LOG:  statement:' -e 'LOG:  execute' -e 'DETAIL:  parameters:' "$log" | tail -n 80
		done
	fi
	TIDAL_DEMO_TMP=$demo_tmp bash "$demo_home/scripts/demo.sh" reset >/dev/null 2>&1 || true
	rm -rf "$demo_home" "$demo_tmp" "$OUT.demo"
fi

# 5c. Forage (apps/forage): node's test runner against real tidal instances and
# the feed page in headless chromium. Whole runs only; its failures count below.
forage_check="not run"
forage_pass=0
forage_fail=0
if [ $# -eq 0 ]; then
	section "Forage (bash apps/forage/test.sh)"
	forage_rc=0
	bash "$REPO/apps/forage/test.sh" 2>&1 | tee "$OUT.forage" || forage_rc=${PIPESTATUS[0]}
	# node's runner closes with "# pass N" and "# fail N"
	forage_pass=$(sed -nE 's/^# pass ([0-9]+)$/\1/p' "$OUT.forage" | tail -n 1)
	forage_fail=$(sed -nE 's/^# fail ([0-9]+)$/\1/p' "$OUT.forage" | tail -n 1)
	forage_pass=${forage_pass:-0}
	forage_fail=${forage_fail:-0}
	if [ "$forage_rc" -ne 0 ] && [ "$forage_fail" -eq 0 ]; then
		forage_fail=1 # npm ci or the runner itself failed before any test reported
	fi
	if [ "$forage_rc" -eq 0 ] && [ "$forage_fail" -eq 0 ]; then
		forage_check="$forage_pass ok, 0 failed"
	else
		forage_check="$forage_pass ok, $forage_fail failed"
		rc=1
	fi
	passed=$((passed + forage_pass))
	failed=$((failed + forage_fail))
	rm -f "$OUT.forage"
fi

# 6. Summary.
section "tidal test summary"
if grep -q '^+++ regress install-check' "$OUT"; then
	echo "regression tests (pg_regress): $reg_pass ok, $reg_fail failed"
else
	echo "regression tests (pg_regress): not run"
fi
if grep -q '^Result: NOTESTS' "$OUT"; then
	echo "TAP tests (prove): FAILED, prove found no test to run (t/*.pl)"
elif $tap_ran; then
	echo "TAP tests (prove): $tap_pass ok, $tap_fail failed"
elif grep -q '^+++ tap install-check' "$OUT"; then
	echo "TAP tests (prove): prove failed before running any test"
else
	echo "TAP tests (prove): not run"
fi
[ "$WORK" = "$REPO" ] || echo "(tests ran in a copy of the checkout: $WORK)"
echo "the demo from a checkout in /root: $demo_check"
echo "Forage (node --test): $forage_check"
echo "tidal: $passed passed, $failed failed"
if [ "$rc" -ne 0 ] || [ "$failed" -ne 0 ]; then
	exit 1
fi
exit 0
