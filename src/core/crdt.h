/*
 * core/crdt.h
 *    The CRDT value types tidal.pncounter and tidal.lww (crdt.c); their
 *    limits and text helpers are shared with the hlc type (core/hlc.h).
 *
 *    May call: core/ only (and PostgreSQL).
 */
#ifndef TIDAL_CRDT_H
#define TIDAL_CRDT_H

#include "postgres.h"

#include "core/hlc.h"

#endif							/* TIDAL_CRDT_H */
