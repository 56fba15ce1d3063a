/*
 * apply/compact.c
 *    Owns compaction of tidal's log and the record of why a batch is kept
 *    (tidal.log_holds, shown by tidal.log_status).
 *
 * A batch of an origin may be removed once all of these hold:
 *  - the oldest snapshot kept covers it (so that a corrupt newest snapshot
 *    still falls back to one from which the log after it is complete);
 *  - it was sealed (or received) more than tidal.log_retention ago, which
 *    keeps raw events for tidal.export_feedback;
 *  - every peer has applied it -- as the peer itself last said, when the
 *    compactor asked it (tidal.peer_progress) -- unless the peer has not
 *    been heard from for tidal.max_peer_holdback: a peer away that long no
 *    longer holds the log back, and must come back by state transfer.
 * Removing a batch advances its origin's compacted_batch: from then on the
 * log alone cannot rebuild the state, and a rebuild needs a snapshot.
 *
 * May call: core/, pg/, log/, state/, replication/, cluster/, signals/,
 * ranking/, apply/.
 */
#include "postgres.h"


#include "access/xact.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "apply/compact.h"
#include "pg/query.h"
#include "pg/remote.h"
#include "pg/settings.h"
#include "replication/peer.h"

#define COMPACT_MAX_PEERS	256
#define PROGRESS_MAX_ROWS	4096

typedef struct PeerProgress
{
	PeerId		peer;
	int32		region;
	int32		shard;
	int32		node;
	int64		batch_no;
} PeerProgress;

/*
 * Do the SQL objects know origin nodes and members (0.8 on)?  Until ALTER EXTENSION
 * UPDATE the library may be newer than tidal.peer_progress: then the
 * compactor waits rather than fail every round.
 */
static bool
progress_knows_nodes(void)
{
	return query_has_column("peer_progress", "peer_node");
}

/* store what peers said they applied (and that they were heard), in a transaction */
static void
store_progress(const PeerId *heard, int nheard, List *progress)
{
	static OwnedQuery heard_q = {
		"INSERT INTO tidal.peer_progress AS p (peer_region, peer_shard, peer_node, origin_region, origin_shard, "
		"       origin_node, applied_batch, heard_at) "
		"SELECT $1, $2, $3, o.region, o.shard, o.node, 0, pg_catalog.now() FROM tidal.origins o "
		"ON CONFLICT (peer_region, peer_shard, peer_node, origin_region, origin_shard, origin_node) "
		"DO UPDATE SET heard_at = excluded.heard_at",
		3, {INT4OID, INT4OID, INT4OID}, NULL
	};
	static OwnedQuery upsert_q = {
		"INSERT INTO tidal.peer_progress AS p (peer_region, peer_shard, peer_node, origin_region, origin_shard, "
		"       origin_node, applied_batch, heard_at) "
		"VALUES ($1, $2, $7, $3, $4, $6, $5, pg_catalog.now()) "
		"ON CONFLICT (peer_region, peer_shard, peer_node, origin_region, origin_shard, origin_node) DO UPDATE "
		"   SET applied_batch = excluded.applied_batch, heard_at = excluded.heard_at",
		7, {INT4OID, INT4OID, INT4OID, INT4OID, INT8OID, INT4OID, INT4OID}, NULL
	};
	static OwnedQuery first_seen_q = {
		"INSERT INTO tidal.peer_progress (peer_region, peer_shard, peer_node, origin_region, origin_shard, "
		"       origin_node, applied_batch, heard_at) "
		"SELECT d.region_id, d.shard_id, coalesce(d.node_id, -1), o.region, o.shard, o.node, 0, pg_catalog.now() "
		"  FROM tidal.peer_defs d, tidal.origins o "
		"ON CONFLICT DO NOTHING",
		0, {InvalidOid}, NULL
	};
	static OwnedQuery forget_q = {
		"DELETE FROM tidal.peer_progress p "
		" WHERE NOT EXISTS (SELECT FROM tidal.peer_defs d "
		"                    WHERE d.region_id = p.peer_region AND d.shard_id = p.peer_shard "
		"                      AND coalesce(d.node_id, -1) = p.peer_node)",
		0, {InvalidOid}, NULL
	};
	TidalSavedUser saved;
	ListCell   *lc;
	int			i;

	query_begin(&saved);
	/* a peer never heard from holds the log back from when it was first seen */
	query_exec(&first_seen_q, NULL, NULL, false, SPI_OK_INSERT);
	query_exec(&forget_q, NULL, NULL, false, SPI_OK_DELETE);
	for (i = 0; i < nheard; i++)
	{
		Datum		args[3] = {Int32GetDatum(heard[i].region), Int32GetDatum(heard[i].shard),
		Int32GetDatum(heard[i].node)};

		query_exec(&heard_q, args, NULL, false, SPI_OK_INSERT);
	}
	foreach(lc, progress)
	{
		PeerProgress *p = lfirst(lc);
		Datum		args[7] = {Int32GetDatum(p->peer.region), Int32GetDatum(p->peer.shard),
			Int32GetDatum(p->region), Int32GetDatum(p->shard), Int64GetDatum(p->batch_no),
		Int32GetDatum(p->node), Int32GetDatum(p->peer.node)};

		query_exec(&upsert_q, args, NULL, false, SPI_OK_INSERT);
	}
	query_end(&saved);
}

/*
 * Ask each peer for its tidal.log_status: what it holds of every origin.
 * In the caller's transaction; each peer's answer is bounded by
 * tidal.peer_timeout.
 */
void
compact_poll_peers(void)
{
	static const Oid types[4] = {INT4OID, INT4OID, INT8OID, INT4OID};
	static const int lengths[4] = {REMOTE_ANY_LENGTH, REMOTE_ANY_LENGTH, REMOTE_ANY_LENGTH, REMOTE_ANY_LENGTH};
	PeerId		peers[COMPACT_MAX_PEERS];
	PeerId		heard[COMPACT_MAX_PEERS];
	int			nheard = 0;
	char	   *conninfo[COMPACT_MAX_PEERS];
	int			n;
	int			i;
	List	   *progress = NIL;
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "tidal compaction poll",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);

	if (!progress_knows_nodes())
	{
		MemoryContextSwitchTo(old);
		MemoryContextDelete(cxt);
		return;
	}
	n = peer_list(peers, COMPACT_MAX_PEERS, PEERS_ALL);
	for (i = 0; i < n; i++)
	{
		char	   *c = peer_conninfo(peers[i]);

		conninfo[i] = c != NULL ? MemoryContextStrdup(cxt, c) : NULL;
	}

	for (i = 0; i < n; i++)
	{
		PGconn	   *conn;
		PGresult   *res;
		char	   *why = NULL;

		CHECK_FOR_INTERRUPTS();
		if (conninfo[i] == NULL)
			continue;
		conn = remote_connect(conninfo[i], tidal_peer_timeout_ms);
		if (conn == NULL)
			continue;
		/* a peer before 0.8 has no origin_node: its origins are node 0 */
		res = remote_query(conn,
						   "SELECT origin_region, origin_shard, last_batch, "
						   "       coalesce((pg_catalog.to_jsonb(s) OPERATOR(pg_catalog.->>) 'origin_node')::pg_catalog.int4, 0) "
						   "  FROM tidal.log_status s",
						   0, NULL, 0, tidal_peer_timeout_ms, PROGRESS_MAX_ROWS, 1024 * 1024, &why);
		if (res != NULL && remote_check_shape(res, 4, types, lengths) == NULL)
		{
			int			r;

			heard[nheard++] = peers[i];
			for (r = 0; r < PQntuples(res); r++)
			{
				PeerProgress *p = palloc(sizeof(PeerProgress));

				p->peer = peers[i];
				p->region = pg_strtoint32(PQgetvalue(res, r, 0));
				p->shard = pg_strtoint32(PQgetvalue(res, r, 1));
				p->batch_no = pg_strtoint64(PQgetvalue(res, r, 2));
				p->node = pg_strtoint32(PQgetvalue(res, r, 3));
				progress = lappend(progress, p);
			}
		}
		if (res != NULL)
			PQclear(res);
		PQfinish(conn);
	}

	store_progress(heard, nheard, progress);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}

/*
 * Decide, per origin, up to which batch the log may go and what holds it
 * (tidal.log_holds), then remove those batches.
 */
int64
compact_log(void)
{
	/*
	 * Per origin, the bounds: the oldest kept snapshot's mark, the last
	 * batch sealed before the retention window, and each peer's applied
	 * batch (peers heard within max_peer_holdback).  The smallest wins and
	 * names what holds the log.
	 */
	static OwnedQuery decide_q = {
		"WITH snap AS ( "
		"  SELECT m.r, m.s, coalesce(m.n, 0) AS n, m.b "
		"    FROM (SELECT * FROM tidal.snapshot_heads ORDER BY snapshot_id LIMIT 1) h, "
		"         ROWS FROM (pg_catalog.unnest(h.origin_region), pg_catalog.unnest(h.origin_shard), "
		"                    pg_catalog.unnest(h.origin_batch), pg_catalog.unnest(h.origin_node)) AS m(r, s, b, n)), "
		"bounds AS ( "
		"  SELECT o.region, o.shard, o.node, 'snapshot'::pg_catalog.text AS what, coalesce(snap.b, 0) AS upto "
		"    FROM tidal.origins o LEFT JOIN snap ON snap.r = o.region AND snap.s = o.shard AND snap.n = o.node "
		"  UNION ALL "
		"  SELECT o.region, o.shard, o.node, 'retention', "
		"         CASE WHEN $1 < 0 THEN 0 ELSE coalesce((SELECT pg_catalog.max(b.batch_no) FROM tidal.batches b "
		"              WHERE b.origin_region = o.region AND b.origin_shard = o.shard AND b.origin_node = o.node "
		"                AND b.sealed_at < pg_catalog.now() - pg_catalog.make_interval(secs => $1)), 0) END "
		"    FROM tidal.origins o "
		"  UNION ALL "
		"  SELECT p.origin_region, p.origin_shard, p.origin_node, "
		"         CASE WHEN p.peer_node >= 0 THEN 'member ' || p.peer_node "
		"              ELSE 'peer ' || p.peer_region || CASE WHEN p.peer_shard = o.shard THEN '' ELSE ':' || p.peer_shard END "
		"         END, "
		"         p.applied_batch "
		"    FROM tidal.peer_progress p, "
		"         (SELECT pg_catalog.current_setting('tidal.shard_id')::pg_catalog.int4 AS shard) o "
		"   WHERE p.heard_at > pg_catalog.now() - pg_catalog.make_interval(secs => $2) "
		/* a peer has its own writes: a member its own origin, a node of another shard or region its shard's */
		"     AND NOT ((p.peer_region, p.peer_shard) = (p.origin_region, p.origin_shard) "
		"              AND (p.peer_node < 0 OR p.peer_node = p.origin_node))), "
		"decided AS ( "
		"  SELECT DISTINCT ON (region, shard, node) region, shard, node, upto, what FROM bounds "
		"   ORDER BY region, shard, node, upto, what) "
		"INSERT INTO tidal.log_holds AS h (origin_region, origin_shard, origin_node, compact_upto, held_by, decided_at) "
		"SELECT region, shard, node, upto, what, pg_catalog.now() FROM decided "
		"ON CONFLICT (origin_region, origin_shard, origin_node) DO UPDATE "
		"   SET compact_upto = excluded.compact_upto, held_by = excluded.held_by, decided_at = excluded.decided_at",
		2, {INT4OID, INT4OID}, NULL
	};
	static OwnedQuery remove_q = {
		"WITH gone AS ( "
		"  DELETE FROM tidal.batches b USING tidal.log_holds h "
		"   WHERE b.origin_region = h.origin_region AND b.origin_shard = h.origin_shard "
		"     AND b.origin_node = h.origin_node AND b.batch_no <= h.compact_upto "
		"  RETURNING b.origin_region, b.origin_shard, b.origin_node, b.batch_no), "
		"marked AS ( "
		"  UPDATE tidal.origins o SET compacted_batch = g.upto "
		"    FROM (SELECT origin_region, origin_shard, origin_node, pg_catalog.max(batch_no) AS upto FROM gone "
		"           GROUP BY origin_region, origin_shard, origin_node) g "
		"   WHERE o.region = g.origin_region AND o.shard = g.origin_shard AND o.node = g.origin_node "
		"     AND o.compacted_batch < g.upto) "
		"SELECT pg_catalog.count(*) FROM gone",
		0, {InvalidOid}, NULL
	};
	Datum		args[2];
	bool		isnull;
	int64		removed;
	TidalSavedUser saved;

	if (!progress_knows_nodes())
		return 0;
	args[0] = Int32GetDatum(tidal_log_retention_s);
	args[1] = Int32GetDatum(tidal_max_peer_holdback_s);
	query_begin(&saved);
	query_exec(&decide_q, args, NULL, false, SPI_OK_INSERT);
	query_exec(&remove_q, NULL, NULL, false, SPI_OK_SELECT);
	removed = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	query_end(&saved);
	return removed;
}

PG_FUNCTION_INFO_V1(tidal_compact);

/* tidal.compact() RETURNS bigint: ask the peers, then compact; batches removed */
Datum
tidal_compact(PG_FUNCTION_ARGS)
{
	tidal_require_preload();
	compact_poll_peers();
	PG_RETURN_INT64(compact_log());
}
