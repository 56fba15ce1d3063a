# UAT step 4: regions 0 and 2 are partitioned; 50 signals are written in
# region 0 and 30 in region 2, and region 2 hides the item for user 100 +
# item.  After the heal, with no manual step (and again after
# tidal.reconcile()), every region has the analytical score of the 80
# events, a 1-hour window count of 80, and no longer returns the item to
# that user.  Played three times on one cluster, each with its own item and
# user: partition refused both ways, one way only, and black-holed.
# The step itself is TidalUAT::step4_heal (t/019 plays it with the other
# four on one cluster).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalUAT;

play_alone(\&step4_heal, items => [ 7, 8, 9 ]);
