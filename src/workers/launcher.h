/*
 * workers/launcher.h
 *    The launcher of receivers: starts a receiver (workers/receiver.c) for
 *    every peer that lacks one (workers/launcher.c).  May call:
 *    every folder of src/ but tidal.c.
 */
#ifndef TIDAL_LAUNCHER_H
#define TIDAL_LAUNCHER_H

#include "postgres.h"

/* start a receiver for every peer that lacks one; in a transaction (the maintenance worker's) */
extern void launcher_start_receivers(void);

#endif							/* TIDAL_LAUNCHER_H */
