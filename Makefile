# tidal: decaying signals, ranking and multi-region replication inside PostgreSQL.
# Built with PGXS; see README.md for the one-command set-up and test runs.

EXTENSION   = tidal
EXTVERSION  = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" tidal.control)

MODULE_big  = tidal
OBJS        = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c src/*/*.c)))

# The install script is assembled from one file per concept under sql/tidal/.
# Each upgrade script is a header under sql/tidal/upgrade/ followed by the
# parts that version added; shipped versions' scripts are frozen (DATA).
UPGRADE_0_5 = $(sort $(wildcard sql/tidal/95_*.sql))
DATA_built  = sql/tidal--$(EXTVERSION).sql sql/tidal--0.4--0.5.sql
DATA        = sql/tidal--0.1.sql sql/tidal--0.2.sql sql/tidal--0.3.sql sql/tidal--0.4.sql \
              sql/tidal--0.1--0.2.sql sql/tidal--0.2--0.3.sql sql/tidal--0.3--0.4.sql

# PostgreSQL's own headers are system headers to us: -Wextra must not judge them
PG_CPPFLAGS = -I$(srcdir)/src -I$(libpq_srcdir) -isystem $(shell $(PG_CONFIG) --includedir-server)
PG_CFLAGS   = -Wall -Wextra -Werror
SHLIB_LINK  = $(libpq)

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

sql/tidal--$(EXTVERSION).sql: $(sort $(wildcard sql/tidal/*.sql))
	cat $^ > $@

sql/tidal--0.4--0.5.sql: sql/tidal/upgrade/0.4--0.5.sql $(UPGRADE_0_5)
	cat $^ > $@

# PGXS does not track header dependencies: rebuild everything when a header changes.
$(OBJS): $(wildcard src/*/*.h)
