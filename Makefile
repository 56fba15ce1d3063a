# tidal: decaying signals, ranking and multi-region replication inside PostgreSQL.
# Built with PGXS; see README.md for the one-command set-up and test runs.

EXTENSION   = tidal
EXTVERSION  = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" tidal.control)

MODULE_big  = tidal
OBJS        = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c src/*/*.c)))

# SQL scripts, shipped as pg_stat_statements ships its own: the base script
# of the first version, the update chain from it, and the full script of the
# current version. PostgreSQL installs an older version (CREATE EXTENSION
# tidal VERSION '0.3') by running the base script and then the updates.
# The current version's script is assembled from one file per concept under
# sql/tidal/; its update script is a header under sql/tidal/upgrade/ followed
# by the parts that version added (DATA_built). Shipped versions' scripts are
# frozen (DATA).
UPGRADE_0_8 = $(sort $(wildcard sql/tidal/98_*.sql))
DATA_built  = sql/tidal--$(EXTVERSION).sql sql/tidal--0.7--0.8.sql
DATA        = sql/tidal--0.1.sql sql/tidal--0.1--0.2.sql sql/tidal--0.2--0.3.sql sql/tidal--0.3--0.4.sql \
              sql/tidal--0.4--0.5.sql sql/tidal--0.5--0.6.sql sql/tidal--0.6--0.7.sql
# Full scripts of older versions that earlier builds installed: `make install`
# deletes them, so that PostgreSQL takes the chain for those versions. When
# the version moves on, the old current version's full script joins them.
STALE_DATA  = tidal--0.2.sql tidal--0.3.sql tidal--0.4.sql tidal--0.5.sql tidal--0.6.sql tidal--0.7.sql

# PostgreSQL's own headers are system headers to us: -Wextra must not judge them
PG_CPPFLAGS = -I$(srcdir)/src -I$(libpq_srcdir) -isystem $(shell $(PG_CONFIG) --includedir-server)
PG_CFLAGS   = -Wall -Wextra -Werror
SHLIB_LINK  = $(libpq)

# the interest measure's inner loop, vectorized (core/vector_dot.c says why)
src/core/vector_dot.o: CFLAGS += $(CFLAGS_VECTORIZE) -fassociative-math -fno-signed-zeros -fno-trapping-math

# pg_regress starts its own instance with tidal preloaded (no running server needed);
# TAP tests in t/ start their own clusters.
REGRESS      = $(patsubst sql/%.sql,%,$(sort $(filter-out sql/tidal--%,$(wildcard sql/*.sql))))
REGRESS_OPTS = --temp-instance=./tmp_regress --temp-config=$(srcdir)/sql/regress.conf \
               --load-extension=tidal
TAP_TESTS    = 1

EXTRA_CLEAN  = $(DATA_built) tmp_regress tmp_check results regression.diffs regression.out

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# after PGXS, which resets it
PROVE_FLAGS  = -I $(srcdir)/t/lib --timer

install: remove-stale-data
.PHONY: remove-stale-data
remove-stale-data:
	rm -f $(addprefix '$(DESTDIR)$(datadir)/$(datamoduledir)'/,$(STALE_DATA))

sql/tidal--$(EXTVERSION).sql: $(sort $(wildcard sql/tidal/*.sql))
	cat $^ > $@

sql/tidal--0.7--0.8.sql: sql/tidal/upgrade/0.7--0.8.sql $(UPGRADE_0_8)
	cat $^ > $@

# PGXS does not track header dependencies: rebuild everything when a header changes.
$(OBJS): $(wildcard src/*/*.h)
