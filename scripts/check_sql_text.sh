#!/usr/bin/env bash
# Keep tidal's own SQL (the string literals of src/*.c that SPI runs as the
# extension's owner) free of names a caller could shadow (issue 11, finding 1):
#   - casts must name the type's schema:   $1::pg_catalog.jsonb, not $1::jsonb
#   - relations and set-returning functions after FROM / JOIN / INTO / UPDATE
#     must be qualified:                   FROM tidal.item_data, pg_catalog.unnest(...)
#   - operators given with OPERATOR(...) must name pg_catalog or tidal
# Names a WITH query defines in the same file (WITH gone AS (...) ... FROM gone)
# are not relations and are allowed.
# The owner switch also pins search_path to "pg_catalog, pg_temp" (src/pg/owner.c);
# this check is the second line, so that a statement stays safe if it ever runs
# without that pin.
#
#   bash scripts/check_sql_text.sh [FILE...]   (default: src/*.c src/*/*.c) exits 1 and
#                                              prints file:line for each finding
#   bash scripts/check_sql_text.sh --self-test checks that a planted bad line is found
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

check() {
	perl -e '
		my $bad = 0;
		for my $file (@ARGV) {
			# names a WITH query defines in this file (name AS ( ...): not relations
			open(my $pre, "<", $file) or die "$file: $!\n";
			my %cte;
			while (my $l = <$pre>) {
				$cte{lc $1} = 1 while $l =~ /(?:\bWITH\s+|,\s*|"\s*)([A-Za-z_]\w*)\s+AS\s*\(/g;
			}
			close($pre);
			open(my $fh, "<", $file) or die "$file: $!\n";
			my $in_comment = 0;
			my $in_message = 0;
			while (my $line = <$fh>) {
				# drop comments: /* ... */ (also across lines) and // ...
				my $code = $line;
				if ($in_comment) {
					if ($code =~ s{^.*?\*/}{}) { $in_comment = 0; } else { next; }
				}
				$code =~ s{/\*.*?\*/}{}g;
				if ($code =~ s{/\*.*$}{}) { $in_comment = 1; }
				$code =~ s{^\s*//.*$}{};
				next if $code =~ /^\s*#\s*include/;
				# messages for people, not SQL: from the call to the end of its statement
				$in_message = 1 if $code =~ /\b(errmsg|errdetail|errhint|errcontext|elog|ereport|DefineCustom\w+|pgstat_report_activity|snprintf)\b/;
				if ($in_message) {
					$in_message = 0 if $code =~ /;\s*(\/\*.*)?$/;
					next;
				}
				while ($code =~ /"((?:[^"\\]|\\.)*)"/g) {
					my $s = $1;
					my @why;
					while ($s =~ /::\s*([A-Za-z_]\w*)(?!\w|\s*\.)/g) {
						push @why, "unqualified cast ::$1";
					}
					while ($s =~ /(?<!DISTINCT )(?<!FOR )\b(FROM|JOIN|INTO|UPDATE)\s+([A-Za-z_]\w*)(?=\s|\(|$)(?!\s*\.)/g) {
						my ($kw, $name) = ($1, $2);
						next if $name =~ /^(SELECT|LATERAL|ONLY|ARRAY|ROWS|SET|epoch)$/i;
						next if $cte{lc $name};
						push @why, "unqualified name after $kw: $name";
					}
					while ($s =~ /OPERATOR\s*\(\s*(?!pg_catalog\.|tidal\.)/gi) {
						push @why, "OPERATOR() without pg_catalog or tidal";
					}
					for my $w (@why) {
						print "$file:$.: $w\n";
						$bad = 1;
					}
				}
			}
			close($fh);
		}
		exit $bad;
	' "$@"
}

self_test() {
	local dir rc=0
	dir=$(mktemp -d "${TMPDIR:-/tmp}/tidal-check-sql.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$dir'" RETURN
	cat >"$dir/good.c" <<'C'
/* a comment may say ::jsonb and FROM items */
static const char *q = "SELECT $1::pg_catalog.jsonb FROM tidal.item_data i "
	"JOIN pg_catalog.unnest($2::pg_catalog.int8[]) u ON u OPERATOR(pg_catalog.=) i.item";
static const char *w = "WITH gone AS (DELETE FROM tidal.batches RETURNING 1) "
	"SELECT pg_catalog.count(*) FROM gone";
static void f(void) { ereport(ERROR, (errmsg("cannot cast ::jsonb"),
	errhint("Take it FROM here."))); }
C
	cat >"$dir/bad.c" <<'C'
static const char *q = "SELECT $1::jsonb, x::int8range[] FROM item_data "
	"JOIN unnest($2) u ON true WHERE a OPERATOR(=) b";
C
	if ! check "$dir/good.c"; then
		echo "check_sql_text self-test: a clean file was reported" >&2
		rc=1
	fi
	local out
	if out=$(check "$dir/bad.c"); then
		echo "check_sql_text self-test: the planted bad casts were not found" >&2
		rc=1
	elif [ "$(printf '%s\n' "$out" | wc -l)" -ne 5 ]; then
		echo "check_sql_text self-test: expected 5 findings, got:" >&2
		printf '%s\n' "$out" >&2
		rc=1
	fi
	[ "$rc" -eq 0 ] && echo "check_sql_text self-test: ok (planted bad lines found: $(printf '%s\n' "$out" | wc -l))"
	return "$rc"
}

if [ "${1:-}" = "--self-test" ]; then
	self_test
	exit $?
fi

if [ "$#" -eq 0 ]; then
	set -- "$REPO"/src/*.c "$REPO"/src/*/*.c
fi
if ! check "$@"; then
	echo "check_sql_text: unqualified names in SQL text (see above); qualify them, e.g. ::pg_catalog.jsonb, tidal.item_data" >&2
	exit 1
fi
