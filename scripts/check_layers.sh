#!/usr/bin/env bash
# Keep src/ in layers that only call down (issue 12). The folders of src/ and
# their order come from the "## Layers" table of docs/architecture.md, lowest
# layer first; a row's first cell names the folder as `name/`:
#   | `core/` | ... | PostgreSQL headers only |
# and src/tidal.c (_PG_init only) sits alone at src/ root. It reports:
#   a. an upward include: a file of folder F includes a header of a folder
#      listed after F;
#   b. a tidal header included without its folder ("log.h", not "log/log.h"),
#      by a relative path, or a folder-qualified header that exists neither in
#      src/ nor among PostgreSQL's server headers;
#   c. an include of a file at src/ root (tidal.c is included by nobody) or of a
#      .c file; a .c/.h at src/ root other than tidal.c, or nested below a
#      layer folder; a tidal header with the path of a PostgreSQL header
#      (src/replication/origin.h would hide PostgreSQL's replication/origin.h);
#   d. a cycle of modules (a module is folder/name: x.c and x.h together; A
#      depends on B when a file of A includes B's header). Modules of one folder
#      may include each other, but not in a circle; each cycle is reported once,
#      as the shortest one through each of its modules, e.g. a -> b -> a;
#   e. a folder of the table missing from src/, or a folder of src/ missing
#      from the table (so that the document stays true).
# <...> includes are system headers, and quoted ones found nowhere under src/
# are PostgreSQL's: both are ignored, except a bare name that a tidal header
# has (rule b). PostgreSQL's server headers are found with pg_config (or
# CHECK_LAYERS_PG_INCLUDEDIR); without them, the last two checks of b and c
# are skipped, with a note.
#
#   bash scripts/check_layers.sh [SRC_DIR [ARCH_DOC]]  (default: src and
#                                      docs/architecture.md of the repository)
#                                      exits 1 and prints file:line for each finding
#   bash scripts/check_layers.sh --self-test  checks that planted bad includes
#                                      and folders are found in a throw-away tree
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# PostgreSQL's server headers (tidal builds against 15; see scripts/lib.sh), or "".
pg_includedir() {
	if [ -n "${CHECK_LAYERS_PG_INCLUDEDIR+set}" ]; then
		printf '%s\n' "$CHECK_LAYERS_PG_INCLUDEDIR"
		return
	fi
	local pgc=${TIDAL_PG_BINDIR:-/usr/lib/postgresql/15/bin}/pg_config
	[ -x "$pgc" ] || pgc=$(command -v pg_config || true)
	if [ -n "$pgc" ]; then
		"$pgc" --includedir-server 2>/dev/null || true
	fi
}

# check SRC_DIR ARCH_DOC PG_INCLUDEDIR: findings on stdout, exit 1 if any.
check() {
	perl - "$@" <<'PERL'
use strict;
use warnings;

my ($src, $doc, $pgdir) = @ARGV;
$src =~ s{/+$}{};
my $bad = 0;
sub report { print "$_[0]\n"; $bad++; }

# The Layers table: from "## Layers" to the next heading of level 1 or 2.
my (@layers, %rank, %row_line);
my $seen = 0;
open(my $dh, "<", $doc) or do { print "$doc: cannot read: $!\n"; exit 1; };
my $in = 0;
while (my $line = <$dh>) {
	if ($line =~ /^##\s+Layers\s*$/) { $in = 1; $seen = 1; next; }
	if ($line =~ /^##?\s/) { $in = 0; next; }
	next unless $in && $line =~ /^\s*\|/;
	my (undef, $cell) = split /\|/, $line;
	$cell = "" unless defined $cell;
	$cell =~ s/^\s+|\s+$//g;
	next if $cell eq "folder" || $cell =~ /^:?-+:?$/;	# header and separator rows
	if ($cell =~ m{^`([A-Za-z0-9_][A-Za-z0-9_.-]*)/`$}) {
		my $f = $1;
		if (exists $rank{$f}) {
			report("$doc:$.: $f/ is listed twice in the Layers table");
			next;
		}
		$rank{$f} = scalar @layers;
		$row_line{$f} = $.;
		push @layers, $f;
	} else {
		report("$doc:$.: cannot read this row of the Layers table: its first cell must be a folder of src/, written as `name/`");
	}
}
close($dh);
if (!@layers) {
	print "$doc: no \"## Layers\" section with a table of the folders of src/ (see scripts/check_layers.sh)\n";
	exit 1;
}

# The files: .c and .h under src/, as paths relative to it.
my (@files, %dirs);
sub walk {
	my ($rel) = @_;
	my $path = $rel eq "" ? $src : "$src/$rel";
	opendir(my $d, $path) or do { print "$path: cannot read: $!\n"; exit 1; };
	my @entries = sort grep { !/^\./ } readdir($d);
	closedir($d);
	for my $e (@entries) {
		my $r = $rel eq "" ? $e : "$rel/$e";
		if (-d "$src/$r") {
			$dirs{$r} = 1 if $rel eq "";
			walk($r);
		} elsif ($e =~ /\.[ch]$/) {
			push @files, $r;
		}
	}
}
walk("");
@files = sort @files;

# e. the table and the folders of src/ agree
for my $f (@layers) {
	report("$doc:$row_line{$f}: $f/ is in the Layers table, but $src/$f/ does not exist")
		unless $dirs{$f};
}
for my $d (sort keys %dirs) {
	next if exists $rank{$d};
	my $n = grep { m{^\Q$d\E/} } @files;
	report("$src/$d/: a folder of src/ that the Layers table of $doc does not list ($n .c/.h files)");
}

# c. where files sit
my %by_name;	# "log.h" => ["log/log.h"]
for my $r (@files) {
	my @parts = split m{/}, $r;
	if (@parts == 1) {
		report("$src/$r: a file at $src/ root: only tidal.c sits there; move it into the folder of its layer")
			unless $r eq "tidal.c";
	} elsif (@parts > 2) {
		report("$src/$r: nested below a layer folder: files sit directly in $src/<folder>/");
	}
	push @{$by_name{$parts[-1]}}, $r if @parts > 1;
	if ($pgdir ne "" && @parts > 1 && -f "$pgdir/$r") {
		report("$src/$r: has the path of PostgreSQL's header $pgdir/$r, which it would hide (-I $src comes first): rename it");
	}
}

# a, b, c: each quoted #include; d: the module graph
my %edges;	# module => { module => "where the first include of it is" }
for my $r (@files) {
	my @parts = split m{/}, $r;
	my $folder = @parts > 1 ? $parts[0] : undef;	# undef: at src/ root
	(my $mod = $r) =~ s/\.[ch]$//;
	open(my $fh, "<", "$src/$r") or do { print "$src/$r: cannot read: $!\n"; exit 1; };
	my $in_comment = 0;
	while (my $line = <$fh>) {
		my $code = $line;
		if ($in_comment) {
			if ($code =~ s{^.*?\*/}{}) { $in_comment = 0; } else { next; }
		}
		my $inc = $code =~ /^\s*#\s*include\s*"([^"]*)"/ ? $1 : undef;
		# does a comment stay open past this line? (string literals may hold "/*")
		(my $rest = $code) =~ s/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/""/g;
		$rest =~ s{/\*.*?\*/}{}g;
		$rest =~ s{//.*$}{};
		$in_comment = 1 if $rest =~ m{/\*};
		next unless defined $inc;

		my $at = "$src/$r:$.: #include \"$inc\"";
		if ($inc =~ m{^/} || $inc =~ m{(^|/)\.\.?(/|$)}) {
			report("$at: a relative path: name a tidal header by its path under $src/, as \"core/hlc.h\"");
			next;
		}
		if ($inc !~ m{/}) {
			if (-f "$src/$inc") {
				report("$at: includes $src/$inc, a file at $src/ root: nothing includes those (only tidal.c sits there)");
			} elsif ($by_name{$inc}) {
				report("$at: without its folder: write " . join(" or ", map { "\"$_\"" } @{$by_name{$inc}}));
			}
			next;	# else a PostgreSQL or system header
		}
		my ($to_folder) = split m{/}, $inc;
		if (!-f "$src/$inc") {
			report("$at: no such header: neither $src/$inc nor a PostgreSQL header")
				if exists $rank{$to_folder} && $pgdir ne "" && !-f "$pgdir/$inc";
			next;	# else a PostgreSQL header (say, "utils/builtins.h")
		}
		if ($inc =~ /\.c$/) {
			report("$at: includes a .c file");
			next;
		}
		next unless $inc =~ /\.h$/;
		if (defined $folder && exists $rank{$folder} && exists $rank{$to_folder}
			&& $rank{$to_folder} > $rank{$folder}) {
			report("$at: upward include: $to_folder/ is listed after $folder/ in $doc (a file includes only its own folder and those listed before it)");
		}
		(my $to = $inc) =~ s/\.h$//;
		$edges{$mod}{$to} //= $at if defined $folder && $to ne $mod;
	}
	close($fh);
}

# d. cycles: the strongly connected components of the module graph (Tarjan),
# then in each the shortest cycle through each of its modules
my ($index, %idx, %low, %on_stack, @stack, @components) = (0);
sub strong {
	my ($v) = @_;
	$idx{$v} = $low{$v} = $index++;
	push @stack, $v;
	$on_stack{$v} = 1;
	for my $w (sort keys %{$edges{$v} || {}}) {
		if (!exists $idx{$w}) {
			strong($w);
			$low{$v} = $low{$w} if $low{$w} < $low{$v};
		} elsif ($on_stack{$w}) {
			$low{$v} = $idx{$w} if $idx{$w} < $low{$v};
		}
	}
	if ($low{$v} == $idx{$v}) {
		my (@c, $w);
		do { $w = pop @stack; $on_stack{$w} = 0; push @c, $w; } while ($w ne $v);
		push @components, [sort @c] if @c > 1;
	}
}
for my $v (sort keys %edges) {
	strong($v) unless exists $idx{$v};
}
my %cycles;	# "a -> b -> a" => where a includes b
for my $component (@components) {
	my %member = map { $_ => 1 } @$component;
	for my $start (@$component) {
		my (%prev, $last);
		my @queue = ($start);
		SEARCH: while (@queue) {
			my $v = shift @queue;
			for my $w (sort keys %{$edges{$v}}) {
				next unless $member{$w};
				if ($w eq $start) { $last = $v; last SEARCH; }
				next if exists $prev{$w};
				$prev{$w} = $v;
				push @queue, $w;
			}
		}
		my @cycle;
		for (my $v = $last; $v ne $start; $v = $prev{$v}) { unshift @cycle, $v; }
		unshift @cycle, $start;
		# start the cycle at its least module, so that each is reported once
		my ($least) = sort { $cycle[$a] cmp $cycle[$b] } 0 .. $#cycle;
		@cycle = (@cycle[$least .. $#cycle], @cycle[0 .. $least - 1]);
		$cycles{join(" -> ", @cycle, $cycle[0])} = $edges{$cycle[0]}{$cycle[1]};
	}
}
for my $c (sort keys %cycles) {
	report("$cycles{$c}: part of a cycle: $c (modules may include each other only one way)");
}

if ($bad) {
	exit 1;
}
printf "check_layers: %d files in %d layers, no upward include, no cycle\n", scalar @files, scalar @layers;
exit 0;
PERL
}

self_test() {
	local dir rc=0 cases=0
	dir=$(mktemp -d "${TMPDIR:-/tmp}/tidal-check-layers.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$dir'" RETURN

	# PostgreSQL's headers, as far as this tree needs them; mid/ is also one of
	# PostgreSQL's folders, as replication/ is for tidal.
	mkdir -p "$dir/pg/utils" "$dir/pg/mid"
	touch "$dir/pg/postgres.h" "$dir/pg/utils/builtins.h" "$dir/pg/mid/pgthing.h"

	# A clean tree: three layers, a lateral include in mid/, tidal.c on top.
	local clean=$dir/clean
	mkdir -p "$clean/docs" "$clean/src/base" "$clean/src/mid" "$clean/src/top"
	cat >"$clean/docs/architecture.md" <<'MD'
# the map

## Layers

| folder | owns | may include |
|---|---|---|
| `base/` | the clock | PostgreSQL headers only |
| `mid/` | the store and its cache | `base/` |
| `top/` | the worker | every folder above |

## Elsewhere

| `nota/` | a table of another section is not read | |
MD
	printf '%s\n' '#include "postgres.h"' '#include "base/clock.h"' '#include "top/worker.h"' \
		'PG_MODULE_MAGIC;' >"$clean/src/tidal.c"
	printf '%s\n' '/* the clock; a comment may say' '#include "top/worker.h"' '*/' \
		'#include <stdint.h>' >"$clean/src/base/clock.h"
	printf '%s\n' '#include "postgres.h"' '#include "base/clock.h"' \
		'static const char *glob = "/*"; /* a string may hold a comment opener */' >"$clean/src/base/clock.c"
	printf '%s\n' '#include "base/clock.h"' >"$clean/src/mid/store.h"
	printf '%s\n' '#include "postgres.h"' '#include "utils/builtins.h"' '#include "mid/store.h"' \
		'#include "mid/cache.h"' >"$clean/src/mid/store.c"
	printf '%s\n' '/* the cache */' >"$clean/src/mid/cache.h"
	printf '%s\n' '#include "postgres.h"' '#include "mid/pgthing.h"' '#include "mid/cache.h"' \
		'#include "base/clock.h"' >"$clean/src/mid/cache.c"
	printf '%s\n' '#include "mid/store.h"' >"$clean/src/top/worker.h"
	printf '%s\n' '#include "postgres.h"' '#include "top/worker.h"' '#include "mid/cache.h"' \
		>"$clean/src/top/worker.c"

	# expect NAME EXPECTED_OUTPUT EXPECTED_STATUS [SHELL COMMAND planting the fault, run in the copy]
	expect() {
		local name=$1 want=$2 want_rc=$3 plant=${4:-} tree got got_rc=0
		cases=$((cases + 1))
		tree=$dir/case$cases
		cp -R "$clean" "$tree"
		if [ -n "$plant" ]; then
			(cd "$tree" && eval "$plant")
		fi
		got=$(cd "$tree" && check src docs/architecture.md "$dir/pg" 2>&1) || got_rc=$?
		if [ "$got" = "$want" ] && [ "$got_rc" -eq "$want_rc" ]; then
			echo "check_layers self-test: ok - $name"
			printf '%s\n' "$got" | sed 's/^/    /'
		else
			echo "check_layers self-test: not ok - $name"
			echo "  expected (exit $want_rc):"
			printf '%s\n' "$want" | sed 's/^/    /'
			echo "  got (exit $got_rc):"
			printf '%s\n' "$got" | sed 's/^/    /'
			rc=1
		fi
	}

	expect "a clean tree passes" \
		'check_layers: 9 files in 3 layers, no upward include, no cycle' 0
	expect "a planted upward include fails (and closes a cycle across folders)" \
		'src/base/clock.c:4: #include "mid/store.h": upward include: mid/ is listed after base/ in docs/architecture.md (a file includes only its own folder and those listed before it)
src/base/clock.c:4: #include "mid/store.h": part of a cycle: base/clock -> mid/store -> base/clock (modules may include each other only one way)
src/base/clock.c:4: #include "mid/store.h": part of a cycle: base/clock -> mid/store -> mid/cache -> base/clock (modules may include each other only one way)' 1 \
		'echo "#include \"mid/store.h\"" >>src/base/clock.c'
	expect "a planted lateral cycle fails" \
		'src/mid/cache.h:2: #include "mid/store.h": part of a cycle: mid/cache -> mid/store -> mid/cache (modules may include each other only one way)' 1 \
		'echo "#include \"mid/store.h\"" >>src/mid/cache.h'
	expect "an include without its folder fails" \
		'src/top/worker.c:4: #include "store.h": without its folder: write "mid/store.h"' 1 \
		'echo "#include \"store.h\"" >>src/top/worker.c'
	expect "a relative include fails" \
		'src/top/worker.c:4: #include "../mid/store.h": a relative path: name a tidal header by its path under src/, as "core/hlc.h"' 1 \
		'echo "#include \"../mid/store.h\"" >>src/top/worker.c'
	expect "an include of a header that does not exist fails" \
		'src/top/worker.c:4: #include "mid/gone.h": no such header: neither src/mid/gone.h nor a PostgreSQL header' 1 \
		'echo "#include \"mid/gone.h\"" >>src/top/worker.c'
	expect "an undocumented folder fails" \
		'src/extra/: a folder of src/ that the Layers table of docs/architecture.md does not list (1 .c/.h files)' 1 \
		'mkdir src/extra && touch src/extra/x.h'
	expect "a folder of the table that src/ lacks fails" \
		'docs/architecture.md:9: top/ is in the Layers table, but src/top/ does not exist' 1 \
		'rm -r src/top && sed -i "/top/d" src/tidal.c'
	expect "a second file at src/ root, and an include of tidal.c, fail" \
		'src/helpers.h: a file at src/ root: only tidal.c sits there; move it into the folder of its layer
src/top/worker.c:4: #include "tidal.c": includes src/tidal.c, a file at src/ root: nothing includes those (only tidal.c sits there)' 1 \
		'touch src/helpers.h && echo "#include \"tidal.c\"" >>src/top/worker.c'
	expect "a header hiding PostgreSQL's fails" \
		"src/mid/pgthing.h: has the path of PostgreSQL's header $dir/pg/mid/pgthing.h, which it would hide (-I src comes first): rename it" 1 \
		'touch src/mid/pgthing.h'

	if [ "$rc" -eq 0 ]; then
		echo "check_layers self-test: ok ($cases cases)"
	else
		echo "check_layers self-test: FAILED (see not ok above)" >&2
	fi
	return "$rc"
}

if [ "${1:-}" = "--self-test" ]; then
	self_test
	exit $?
fi

if [ "$#" -gt 2 ]; then
	echo "usage: bash scripts/check_layers.sh [SRC_DIR [ARCH_DOC]] | --self-test" >&2
	exit 2
fi
if [ "$#" -eq 0 ]; then
	cd "$REPO" # so that findings name src/... and docs/...
	set -- src docs/architecture.md
elif [ "$#" -eq 1 ]; then
	set -- "$1" "$REPO/docs/architecture.md"
fi
PG_INCLUDEDIR=$(pg_includedir)
if [ -z "$PG_INCLUDEDIR" ] || [ ! -d "$PG_INCLUDEDIR" ]; then
	echo "check_layers: note: PostgreSQL's server headers not found (pg_config); not checked: includes of missing headers in a layer folder, headers hiding PostgreSQL's" >&2
	PG_INCLUDEDIR=
fi
if ! check "$1" "$2" "$PG_INCLUDEDIR"; then
	echo "check_layers: src/ breaks its layers (see above): a file includes only headers of its own folder and of the folders listed before it in the Layers table of $2, by their folder (\"log/log.h\"), and modules include each other without a cycle" >&2
	exit 1
fi
