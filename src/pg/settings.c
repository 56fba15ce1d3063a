/*
 * pg/settings.c
 *    tidal's settings (GUCs): their variables, their definitions with
 *    documentation, and whether tidal was preloaded.  May call: PostgreSQL
 *    only.
 */
#include "postgres.h"

#include <limits.h>

#include "miscadmin.h"
#include "utils/guc.h"

#include "pg/settings.h"

int			tidal_node_id = 0;
int			tidal_region_id = 0;
int			tidal_shard_id = 0;
int			tidal_max_clock_offset_ms = 500;
int			tidal_max_entities = 100000;
int			tidal_max_tenants = 1000;
int			tidal_max_items = 100000;
int			tidal_max_interests = 100000;
int			tidal_interest_k = 4;
double		tidal_match_similarity = 0.75;
int			tidal_item_metadata_bytes = 96;
int			tidal_default_tenant_max_entities = -1;
int			tidal_seal_interval_ms = 200;
int			tidal_seal_group_delay_ms = 5;
int			tidal_peer_timeout_ms = 2000;
int			tidal_degraded_after_ms = 5000;
int			tidal_offline_after_ms = 30000;
int			tidal_idempotency_window_s = 86400;
int			tidal_session_ttl_s = 86400;
int			tidal_session_gap_timeout_ms = 30000;
int			tidal_read_after_timeout_ms = 5000;
int			tidal_embedding_dimensions = 0;
int			tidal_heartbeat_interval_ms = 100;
int			tidal_commit_ack = TIDAL_COMMIT_ACK_LOCAL;
int			tidal_commit_ack_timeout_ms = 5000;
int			tidal_election_timeout_ms = 500;
int			tidal_snapshot_interval_s = 300;
int			tidal_snapshot_keep = 2;
int			tidal_log_retention_s = 3600;
int			tidal_max_peer_holdback_s = 86400;
bool		tidal_auto_state_transfer = true;
char	   *tidal_database = NULL;

static bool tidal_shmem_ready = false;

static const struct config_enum_entry commit_ack_options[] = {
	{"local", TIDAL_COMMIT_ACK_LOCAL, false},
	{"quorum", TIDAL_COMMIT_ACK_QUORUM, false},
	{"shard", TIDAL_COMMIT_ACK_SHARD, false},
	{NULL, 0, false}
};

void
settings_shmem_ready(void)
{
	tidal_shmem_ready = true;
}

void
tidal_require_preload(void)
{
	if (!tidal_shmem_ready)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tidal must be loaded via shared_preload_libraries"),
				 errhint("Add tidal to shared_preload_libraries in postgresql.conf and restart the server.")));
}

void
settings_define(void)
{
	DefineCustomIntVariable("tidal.node_id",
							"Identifies this node in HLC timestamps and CRDT state.",
							"Must be unique across all instances that exchange tidal data.",
							&tidal_node_id, 0, 0, 65535,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("tidal.region_id",
							"Region this instance stands for; the origin of the events it accepts.",
							NULL,
							&tidal_region_id, 0, 0, TIDAL_MAX_REGION_ID,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("tidal.shard_id",
							"Shard of the region this instance serves.",
							NULL,
							&tidal_shard_id, 0, 0, TIDAL_MAX_SHARD_ID,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("tidal.max_clock_offset",
							"Largest amount a remote HLC may be ahead of the local wall clock.",
							"tidal.hlc_receive rejects timestamps further ahead than this.",
							&tidal_max_clock_offset_ms, 500, 1, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("tidal.max_entities",
							"Number of (entity, signal) pairs the hot state in shared memory can hold.",
							"Sizes shared memory at server start.",
							&tidal_max_entities, 100000, 1000, INT_MAX / 2,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("tidal.max_items",
							"Number of items (tidal.upsert_item) whose facts tidal.retrieve reads from shared memory.",
							"Sizes shared memory at server start. Over all databases and tenants of the instance.",
							&tidal_max_items, 100000, 1000, INT_MAX / 4,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("tidal.max_interests",
							"Number of (user, arm, signal) interest sums kept in shared memory.",
							"Sizes shared memory at server start: each takes about 80 bytes plus 4 per embedding dimension. "
							"Over all databases and tenants of the instance.",
							&tidal_max_interests, 100000, 100, INT_MAX / 4,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("tidal.interest_k",
							"How many interests (arms) of a user tidal.interests and the interest term of a profile use.",
							"The user's arms with the most positive decayed mass.",
							&tidal_interest_k, 4, 1, 64,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("tidal.match_similarity",
							 "Cosine similarity to one of the user's interests from which tidal.retrieve labels an item 'match'.",
							 "An item at least 0.9 times this close to two interests is labelled 'surprise'.",
							 &tidal_match_similarity, 0.75, -1.0, 1.0,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("tidal.item_metadata_bytes",
							"Metadata (as jsonb) of at most this many bytes is kept in shared memory with an item's facts.",
							"tidal.retrieve's filter reads larger metadata from tidal.item_data. 0: none is kept.",
							&tidal_item_metadata_bytes, 96, 0, 8192,
							PGC_POSTMASTER, GUC_UNIT_BYTE, NULL, NULL, NULL);
	DefineCustomIntVariable("tidal.default_tenant_max_entities",
							"Hot-state entries a tenant without a max_entities quota may hold in this region.",
							"-1: half of tidal.max_entities; 0: no limit but the capacity. Applies to "
							"tenant 0 too; a tenant's own max_entities quota (tidal.register_tenant) overrides it.",
							&tidal_default_tenant_max_entities, -1, -1, INT_MAX,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("tidal.max_tenants",
							"Number of registered tenants tidal can hold in shared memory, over all databases.",
							NULL,
							&tidal_max_tenants, 1000, 10, 1000000,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("tidal.seal_interval",
							"How often the sealer seals committed events into log batches.",
							NULL,
							&tidal_seal_interval_ms, 200, 10, 60 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("tidal.seal_group_delay",
							"How long the sealer gathers commits into one batch under load.",
							"Woken by a commit less than this after its last seal began, the sealer waits until this "
							"much has passed (or until 1,024 commits wait) and seals them all in one batch; an idle "
							"log is sealed at once. 0 seals at every commit.",
							&tidal_seal_group_delay_ms, 5, 0, 60 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("tidal.peer_timeout",
							"How long a peer may go without a successful contact before it counts as unreachable.",
							"Also bounds how long a receiver waits to connect to a peer or for an answer.",
							&tidal_peer_timeout_ms, 2000, 100, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("tidal.degraded_after",
							"Replication lag after which tidal.replication_status says a peer is degraded.",
							NULL,
							&tidal_degraded_after_ms, 5000, 1, 24 * 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("tidal.offline_after",
							"Time without contact after which tidal.replication_status says a peer is offline.",
							NULL,
							&tidal_offline_after_ms, 30000, 1, 24 * 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("tidal.idempotency_window",
							"How long an idempotency key of tidal.signal is remembered.",
							"Writes with the same key less than this apart (by HLC) count once, cluster-wide.",
							&tidal_idempotency_window_s, 86400, 1, 30 * 86400,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("tidal.session_ttl",
							"How long a session's mark is kept after its last write.",
							"An expired session's held writes are applied past their gap, with a warning.",
							&tidal_session_ttl_s, 86400, 1, 365 * 86400,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("tidal.session_gap_timeout",
							"How long a session's write may wait for an earlier seqno before the gap is reported.",
							"The write still waits, until the gap fills or the session expires.",
							&tidal_session_gap_timeout_ms, 30000, 1, 24 * 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("tidal.embedding_dimensions",
							"How many dimensions an item's embedding has (0: items carry none).",
							"Every region must use the same; an embedding of another length is refused.",
							&tidal_embedding_dimensions, 0, 0, 2000,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("tidal.read_after_timeout",
							"How long a read with after => waits for that write to be visible on this node.",
							"Then the read fails (55000) rather than answer without the write.",
							&tidal_read_after_timeout_ms, 5000, 0, 3600 * 1000,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("tidal.heartbeat_interval",
							"How often the leader sends heartbeats to its peers.",
							"Also bounds how long one election call to a peer may take.",
							&tidal_heartbeat_interval_ms, 100, 10, 60 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("tidal.election_timeout",
							"How long a follower waits without heartbeats before it stands for election.",
							"Each wait is randomized between this and twice this; a leader that cannot reach a majority for this long steps down.",
							&tidal_election_timeout_ms, 500, 50, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomEnumVariable("tidal.commit_ack",
							 "When COMMIT of a transaction that wrote tidal events returns.",
							 "local: once committed here; quorum: once a majority of the regions have applied it; "
							 "shard: once another node of this node's shard (a follower) has applied it.",
							 &tidal_commit_ack, TIDAL_COMMIT_ACK_LOCAL, commit_ack_options,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("tidal.commit_ack_timeout",
							"How long COMMIT waits for a quorum with tidal.commit_ack = quorum, or a follower with shard.",
							"After it, COMMIT returns with a WARNING (the transaction is committed locally).",
							&tidal_commit_ack_timeout_ms, 5000, 1, 3600 * 1000,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("tidal.snapshot_interval",
							"How often a snapshot of the hot state is taken, if the log moved on.",
							"A restart loads the newest snapshot and replays only the log after it. 0: only tidal.snapshot() takes one.",
							&tidal_snapshot_interval_s, 300, 0, 7 * 86400,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("tidal.snapshot_keep",
							"How many snapshots are kept.",
							"The log is compacted only up to the oldest kept, so a corrupt newest one falls back to the one before it.",
							&tidal_snapshot_keep, 2, 1, 100,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("tidal.log_retention",
							"How long sealed batches are kept after a snapshot covers them.",
							"tidal.export_feedback covers the retained window. -1: never compact.",
							&tidal_log_retention_s, 3600, -1, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("tidal.max_peer_holdback",
							"How long a peer that has not applied a batch may keep it from being compacted.",
							"A peer away longer is brought back by state transfer.",
							&tidal_max_peer_holdback_s, 86400, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomBoolVariable("tidal.auto_state_transfer",
							 "Whether a receiver whose peer compacted what it needs brings its region back by state transfer.",
							 "Off: the receiver only reports it, and tidal.transfer_state(peer) does it by hand.",
							 &tidal_auto_state_transfer, true,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("tidal.database",
							   "Database in which tidal's background workers run.",
							   "The extension must be created in this database for its log to be sealed and shipped.",
							   &tidal_database, "postgres",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);

	MarkGUCPrefixReserved("tidal");
}

