# Randomized convergence (t/015) on three regions of two shards each: the
# same kinds of schedule (writes, retries, hides, cuts, restarts, leader
# kills, a tenant's migration), with every write sent to a random shard of
# its region, and every one of the six instances converging to the model.
use strict;
use warnings;

# loaded here, at compile time, so that their INIT blocks run (t/015's own
# use lines then find them loaded)
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use TidalCluster;

our $SHARDS = 2;
our @SEEDS = (101 .. 106);
# do FILE searches @INC unless the path starts with / or ./
my $file = ($0 =~ s{[^/]+$}{}r) . '015_randomized_convergence.pl';
$file = "./$file" unless $file =~ m{^\.?/};
my $ran = do $file;
die "could not run $file: " . ($@ || $!) unless defined $ran || !($@ || $!);
