/*
 * signals/define.h
 *    Signal definitions as written (define.c): the apply of definition
 *    records of other origins.
 *
 *    May call: core/, pg/, log/, state/, replication/, cluster/, signals/.
 */
#ifndef TIDAL_DEFINE_H
#define TIDAL_DEFINE_H

#include "postgres.h"

#include "core/codec.h"

/*
 * A signal definition record (kind 2) of another origin, validated
 * (validate_record): stored in tidal.signal_defs in the caller's
 * transaction unless a signal of that name exists; other backends reload
 * their definitions when it commits.
 */
extern void define_apply_record(const LogRecord *rec);

#endif							/* TIDAL_DEFINE_H */
