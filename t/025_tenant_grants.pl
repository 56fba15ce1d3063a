# Tenant grants reach sessions that are already open: each backend caches
# tidal.tenant_grants, and tidal.grant_tenant / tidal.revoke_tenant in another
# session make it read them again (src/access.c).  The last revoke, seen from
# a session that had cached a grant, once crashed the backend.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use TidalNode;

my $node = TidalNode->create_started('grants');
$node->safe_psql('postgres', q{
	SELECT tidal.define_signal('view', '1 day');
	SELECT tidal.register_tenant(5, 'five');
	SELECT tidal.signal('view', 1, 2, '2026-01-01', tenant => 5);
	CREATE ROLE app LOGIN;
	CREATE ROLE team NOLOGIN;
	GRANT team TO app;});

my $score = q{SELECT tidal.decay_score(1, 'view', '2026-01-01', tenant => 5)};
my $app = $node->background_psql('postgres', on_error_stop => 0);
$app->query_safe('SET ROLE app');

# the result of $score in the open session, or the error it raised
sub app_score
{
	$app->{stderr} = '';
	my ($out, $failed) = $app->query($score);
	return $failed ? ($app->{stderr} =~ /(may not use tenant \d+)/ ? $1 : $app->{stderr}) : $out;
}

is(app_score(), 'may not use tenant 5', 'no grant: the open session is refused');
$node->safe_psql('postgres', q{SELECT tidal.grant_tenant('app', 5)});
is(app_score(), '2', 'a grant made in another session opens the tenant to the open session');
$node->safe_psql('postgres', q{SELECT tidal.grant_tenant('team', 5)});
$node->safe_psql('postgres', q{SELECT tidal.revoke_tenant('app', 5)});
is(app_score(), '2', 'after revoking the role\'s own grant, its group\'s grant still counts');
$node->safe_psql('postgres', q{SELECT tidal.revoke_tenant('team', 5)});
is(app_score(), 'may not use tenant 5', 'after the last revoke the open session is refused');
is(app_score(), 'may not use tenant 5', 'and stays refused');
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server is up');

$app->quit;
$node->stop;
done_testing();
