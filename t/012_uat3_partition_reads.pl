# UAT step 3: with regions 0 and 2 cut off from each other (region 1 still
# reaches both), region 0 keeps accepting writes and answering
# tidal.retrieve from its own state, and says the answer is degraded, with
# region 2 unreachable.  After the heal, the degradation is gone.
# The step itself is TidalUAT::step3_partition_reads (t/019 plays it with
# the other four on one cluster).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalUAT;

play_alone(\&step3_partition_reads, item => 7);
