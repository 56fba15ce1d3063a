# UAT step 1: 25 view signals written in region 0 reach regions 1 and 2
# within 2 seconds: the same decayed score everywhere, and no lag left.
# The step itself is TidalUAT::step1_propagation (t/019 plays it with the
# other four on one cluster).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalUAT;

play_alone(\&step1_propagation, item => 42);
