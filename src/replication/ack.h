/*
 * replication/ack.h
 *    tidal.commit_ack = quorum: a transaction that wrote to tidal's log
 *    returns from COMMIT once a majority of regions have applied it, or
 *    warns that they did not (replication/ack.c).  May call: core/, pg/,
 *    log/, state/, replication/.
 */
#ifndef TIDAL_ACK_H
#define TIDAL_ACK_H

#include "postgres.h"

/* register the transaction callbacks (from _PG_init: every backend has them) */
extern void ack_register(void);

#endif							/* TIDAL_ACK_H */
