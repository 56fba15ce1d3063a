/*
 * pg/settings.h
 *    tidal's settings (GUCs), read by every layer; pg/settings.c defines
 *    them.
 *
 *    May call: pg/.
 */
#ifndef TIDAL_SETTINGS_H
#define TIDAL_SETTINGS_H

#include "postgres.h"

/* region ids are 0 .. TIDAL_MAX_REGION_ID (tidal.region_id's range) */
#define TIDAL_MAX_REGION_ID	65535
/* shard ids are 0 .. TIDAL_MAX_SHARD_ID (tidal.shard_id's range; a shard map has at most 1024 shards) */
#define TIDAL_MAX_SHARD_ID	1023

/* GUCs, see pg/settings.c for their documentation */
extern int	tidal_node_id;
extern int	tidal_region_id;
extern int	tidal_shard_id;
extern int	tidal_max_clock_offset_ms;
extern int	tidal_max_entities;
extern int	tidal_max_tenants;
extern int	tidal_max_items;
extern int	tidal_max_interests;
extern int	tidal_interest_k;
extern double tidal_match_similarity;
extern int	tidal_item_metadata_bytes;
extern int	tidal_default_tenant_max_entities;
extern int	tidal_seal_interval_ms;
extern int	tidal_seal_group_delay_ms;
extern int	tidal_peer_timeout_ms;
extern int	tidal_degraded_after_ms;
extern int	tidal_offline_after_ms;
extern int	tidal_idempotency_window_s;
extern int	tidal_session_ttl_s;
extern int	tidal_session_gap_timeout_ms;
extern int	tidal_read_after_timeout_ms;
extern int	tidal_embedding_dimensions;
extern int	tidal_heartbeat_interval_ms;
extern int	tidal_commit_ack;
extern int	tidal_commit_ack_timeout_ms;

#define TIDAL_COMMIT_ACK_LOCAL	0
#define TIDAL_COMMIT_ACK_QUORUM	1
#define TIDAL_COMMIT_ACK_SHARD	2	/* 0.8: once another node of this shard has applied it */
extern int	tidal_election_timeout_ms;
extern int	tidal_snapshot_interval_s;
extern int	tidal_snapshot_keep;
extern int	tidal_log_retention_s;
extern int	tidal_max_peer_holdback_s;
extern bool tidal_auto_state_transfer;
extern char *tidal_database;

/*
 * Raise an error unless tidal was loaded through shared_preload_libraries;
 * every SQL function that touches shared memory calls it first.
 */
extern void tidal_require_preload(void);

/* defines the GUCs (from _PG_init) */
extern void settings_define(void);

/* tidal's shared memory is set up (from the shmem startup hook) */
extern void settings_shmem_ready(void);

#endif							/* TIDAL_SETTINGS_H */
