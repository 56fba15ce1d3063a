/*
 * replication/peer.c
 *    Peers (region peers and shard siblings, see peer.h): tidal.add_peer,
 *    tidal.drop_peer, the shared-memory slot of each peer (the registry of
 *    their receivers), and tidal.replication_status.  May call: core/, pg/,
 *    log/, state/, replication/.
 *
 * A slot belongs to a peer while it is in tidal.peer_defs.  Its
 * receiver (workers/receiver.c) reports its connection and what it pulled;
 * the shipping function (tidal._ship, called by the peer's receiver)
 * reports what the peer acknowledged.  All of it is under one LWLock, of
 * this module's own tranche, "tidal peers".
 *
 * The slot also says which receiver runs for the peer (receiver_pid) or is
 * being started (launch_requested): the launcher (workers/launcher.c),
 * which starts receivers, claims each start under the lock, so one
 * receiver per peer runs however often the worker that launches restarts;
 * and a receiver that finds another one attached to its peer exits at
 * once, so two launches that raced still leave one.
 */
#include "postgres.h"

#include <signal.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq-fe.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/condition_variable.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "replication/peer.h"
#include "pg/query.h"
#include "pg/settings.h"
#include "pg/owner.h"

PG_FUNCTION_INFO_V1(tidal_add_peer);
PG_FUNCTION_INFO_V1(tidal_drop_peer);
PG_FUNCTION_INFO_V1(tidal_peer_status);
PG_FUNCTION_INFO_V1(tidal_wake_receivers);
PG_FUNCTION_INFO_V1(tidal_peer_errors);

/*
 * What one node of a peer acknowledged: a peer known by its region and
 * shard (PEER_ANY_NODE) may be several nodes, a leader and its followers,
 * each pulling from us with its own marks.
 */
typedef struct PeerNodeAck
{
	int32		node;			/* tidal.node_id of the node that pulled; -1: unused */
	int64		acked_batch;	/* its applied mark of our origin */
	int64		acked_seq;
	TimestampTz served_at;		/* when it last said so: pulling from us, or answering our pull */
} PeerNodeAck;

#define PEER_MAX_NODE_ACKS	8

typedef struct PeerSlot
{
	bool		used;
	PeerId		peer;
	PeerConnState state;
	int64		batches_applied;	/* pulled from the peer and applied here */
	int64		behind_seq;		/* events the peer has that we lack, at the last pull */
	int64		batches_sent;	/* served to the peer */
	/*
	 * The peer's applied mark of our origin: the lowest of its nodes that
	 * pulled within tidal.peer_timeout (what every live node of it has)
	 */
	int64		acked_batch;
	int64		acked_seq;
	int64		acked_seq_any;	/* the highest: what at least one node of it has */
	PeerNodeAck node_acks[PEER_MAX_NODE_ACKS];
	TimestampTz last_contact;	/* either direction */
	TimestampTz last_pull;		/* our last successful pull from it */
	TimestampTz caught_up_at;	/* our last pull that left nothing of it behind */
	int			receiver_procno;	/* INVALID_PGPROCNO when no receiver runs */
	pid_t		receiver_pid;	/* 0 when no receiver runs */
	TimestampTz launch_requested;	/* a receiver was registered and has not attached yet */
	bool		quarantined;	/* a batch of the peer is held: refused, pulled again later */
	char		last_error[PEER_ERROR_LEN];	/* why, or why its last answer was refused */
	TimestampTz last_error_at;
} PeerSlot;

typedef struct PeerShared
{
	LWLock	   *lock;
	ConditionVariable acked_cv;	/* broadcast when a peer acknowledges more */
	PeerSlot	slots[TIDAL_MAX_PEERS];
} PeerShared;

static PeerShared *peers = NULL;

/* a registered receiver that has not attached within this long is started again */
#define RECEIVER_START_TIMEOUT_MS	30000

#define PEER_LWLOCK_TRANCHE "tidal peers"

void
peer_shmem_request(void)
{
	RequestAddinShmemSpace(MAXALIGN(sizeof(PeerShared)));
	RequestNamedLWLockTranche(PEER_LWLOCK_TRANCHE, 1);
}

void
peer_shmem_init(void)
{
	bool		found;

	peers = ShmemInitStruct("tidal peers", sizeof(PeerShared), &found);
	if (!found)
	{
		memset(peers, 0, sizeof(PeerShared));
		ConditionVariableInit(&peers->acked_cv);
	}
	peers->lock = &GetNamedLWLockTranche(PEER_LWLOCK_TRANCHE)[0].lock;
}

bool
peer_is_region_peer(PeerId peer)
{
	return peer.shard == tidal_shard_id && peer.region != tidal_region_id;
}

bool
peer_is_member(PeerId peer)
{
	return peer.shard == tidal_shard_id && peer.region == tidal_region_id;
}

bool
peer_shares_shard(PeerId peer)
{
	return peer.shard == tidal_shard_id;
}

/* region (16 bits), shard (16 bits) and node + 1 (17 bits) in one Datum */
Datum
peer_to_datum(PeerId peer)
{
	return UInt64GetDatum(((uint64) (peer.node + 1) << 32) | ((uint64) peer.region << 16) | (uint64) peer.shard);
}

PeerId
peer_from_datum(Datum d)
{
	uint64		v = DatumGetUInt64(d);
	PeerId		peer = {(int32) ((v >> 16) & 0xFFFF), (int32) (v & 0xFFFF), (int32) (v >> 32) - 1};

	return peer;
}

static inline bool
same_peer(PeerId a, PeerId b)
{
	return a.region == b.region && a.shard == b.shard && a.node == b.node;
}

static int	peer_defs_shape(void);

/* the slot of a peer, claiming a free one if needed; caller holds the lock */
static PeerSlot *
slot_for(PeerId peer, bool create)
{
	int			i;
	PeerSlot   *free_slot = NULL;

	for (i = 0; i < TIDAL_MAX_PEERS; i++)
	{
		if (peers->slots[i].used && same_peer(peers->slots[i].peer, peer))
			return &peers->slots[i];
		if (!peers->slots[i].used && free_slot == NULL)
			free_slot = &peers->slots[i];
	}
	if (!create || free_slot == NULL)
		return NULL;
	memset(free_slot, 0, sizeof(PeerSlot));
	for (i = 0; i < PEER_MAX_NODE_ACKS; i++)
		free_slot->node_acks[i].node = -1;
	free_slot->used = true;
	free_slot->peer = peer;
	free_slot->receiver_procno = INVALID_PGPROCNO;
	free_slot->receiver_pid = 0;
	return free_slot;
}

void
peer_report_state(PeerId peer, PeerConnState state)
{
	PeerSlot   *s;

	LWLockAcquire(peers->lock, LW_EXCLUSIVE);
	if ((s = slot_for(peer, true)) != NULL)
		s->state = state;
	LWLockRelease(peers->lock);
}

static void
set_error_locked(PeerSlot *s, const char *error)
{
	if (error == NULL)
		s->last_error[0] = '\0';
	else
	{
		strlcpy(s->last_error, error, sizeof(s->last_error));
		s->last_error_at = GetCurrentTimestamp();
	}
}

void
peer_report_pull(PeerId peer, int64 batches_applied, int64 behind_seq, const char *held)
{
	PeerSlot   *s;

	LWLockAcquire(peers->lock, LW_EXCLUSIVE);
	if ((s = slot_for(peer, true)) != NULL)
	{
		s->state = PEER_CONNECTED;
		s->batches_applied += batches_applied;
		s->behind_seq = behind_seq;
		s->last_pull = s->last_contact = GetCurrentTimestamp();
		if (behind_seq == 0 && held == NULL)
			s->caught_up_at = s->last_pull;
		s->quarantined = held != NULL;
		set_error_locked(s, held);
	}
	LWLockRelease(peers->lock);
}

void
peer_report_error(PeerId peer, const char *error)
{
	PeerSlot   *s;

	LWLockAcquire(peers->lock, LW_EXCLUSIVE);
	if ((s = slot_for(peer, true)) != NULL)
		set_error_locked(s, error);
	LWLockRelease(peers->lock);
}

/*
 * The entry of one node of a peer in its slot: its own, a free one, or
 * (more nodes than entries) the one that pulled least recently.
 */
static PeerNodeAck *
node_ack_for(PeerSlot *s, int32 node)
{
	PeerNodeAck *reuse = NULL;
	int			i;

	for (i = 0; i < PEER_MAX_NODE_ACKS; i++)
		if (s->node_acks[i].node == node)
			return &s->node_acks[i];
	for (i = 0; i < PEER_MAX_NODE_ACKS; i++)
	{
		PeerNodeAck *a = &s->node_acks[i];

		if (a->node < 0)
		{
			reuse = a;
			break;
		}
		if (reuse == NULL || a->served_at < reuse->served_at)
			reuse = a;
	}
	memset(reuse, 0, sizeof(PeerNodeAck));
	reuse->node = node;
	return reuse;
}

/*
 * The peer's marks from its nodes' (caller holds the lock exclusively):
 * acked_* the lowest of the nodes heard from within tidal.peer_timeout,
 * acked_seq_any the highest of any.  A node that stopped pulling (dead,
 * cut off, replaced) stops holding the peer's marks back after
 * tidal.peer_timeout, as a peer that stops pulling stops holding back
 * tidal.await_convergence().
 */
static void
merge_node_acks(PeerSlot *s, TimestampTz now)
{
	int64		batch = PG_INT64_MAX;
	int64		seq = PG_INT64_MAX;
	int64		any = 0;
	int			i;

	for (i = 0; i < PEER_MAX_NODE_ACKS; i++)
	{
		PeerNodeAck *a = &s->node_acks[i];

		if (a->node < 0)
			continue;
		any = Max(any, a->acked_seq);
		if (TimestampDifferenceExceeds(a->served_at, now, tidal_peer_timeout_ms))
			continue;
		batch = Min(batch, a->acked_batch);
		seq = Min(seq, a->acked_seq);
	}
	if (seq != PG_INT64_MAX)
	{
		s->acked_batch = batch;
		s->acked_seq = seq;
	}
	s->acked_seq_any = any;
}

/* node `node` of a peer has our origin up to acked_*, as it said just now */
static void
note_node_ack(PeerId peer, int32 node, int64 batches_sent, int64 acked_batch, int64 acked_seq)
{
	PeerSlot   *s;
	bool		more = false;

	LWLockAcquire(peers->lock, LW_EXCLUSIVE);
	if ((s = slot_for(peer, true)) != NULL)
	{
		PeerNodeAck *a = node_ack_for(s, node);
		int64		any_before = s->acked_seq_any;
		int64		all_before = s->acked_seq;
		TimestampTz now = GetCurrentTimestamp();

		a->acked_batch = acked_batch;
		a->acked_seq = acked_seq;
		a->served_at = now;
		merge_node_acks(s, now);
		more = s->acked_seq_any > any_before || s->acked_seq > all_before;
		s->batches_sent += batches_sent;
		s->last_contact = now;
	}
	LWLockRelease(peers->lock);
	if (more)
		ConditionVariableBroadcast(&peers->acked_cv);	/* commit_ack waiters */
}

void
peer_report_served(PeerId peer, int32 node, int64 batches_sent, int64 acked_batch, int64 acked_seq)
{
	note_node_ack(peer, node, batches_sent, acked_batch, acked_seq);
}

void
peer_report_marks(PeerId peer, int32 node, int64 acked_batch, int64 acked_seq)
{
	if (node >= 0)
		note_node_ack(peer, node, 0, acked_batch, acked_seq);
}

TimestampTz
peer_caught_up_at(PeerId peer)
{
	PeerSlot   *s;
	TimestampTz at = 0;

	LWLockAcquire(peers->lock, LW_SHARED);
	if ((s = slot_for(peer, false)) != NULL)
		at = s->caught_up_at;
	LWLockRelease(peers->lock);
	return at;
}

int64
peer_acked_batch(PeerId peer)
{
	PeerSlot   *s;
	int64		acked = 0;

	LWLockAcquire(peers->lock, LW_SHARED);
	if ((s = slot_for(peer, false)) != NULL)
		acked = s->acked_batch;
	LWLockRelease(peers->lock);
	return acked;
}

static void
detach_receiver(int code pg_attribute_unused(), Datum arg)
{
	PeerSlot   *s;

	LWLockAcquire(peers->lock, LW_EXCLUSIVE);
	if ((s = slot_for(peer_from_datum(arg), false)) != NULL && s->receiver_pid == MyProcPid)
	{
		s->receiver_procno = INVALID_PGPROCNO;
		s->receiver_pid = 0;
	}
	LWLockRelease(peers->lock);
}

/* is the receiver recorded in a slot alive? (caller holds the lock) */
static bool
receiver_alive(const PeerSlot *s)
{
	return s->receiver_pid != 0 && s->receiver_pid != MyProcPid &&
		(kill(s->receiver_pid, 0) == 0 || errno != ESRCH);
}

bool
peer_attach_receiver(PeerId peer)
{
	PeerSlot   *s;
	bool		attached = false;

	LWLockAcquire(peers->lock, LW_EXCLUSIVE);
	if ((s = slot_for(peer, true)) != NULL && !receiver_alive(s))
	{
		s->receiver_procno = MyProc->pgprocno;
		s->receiver_pid = MyProcPid;
		s->launch_requested = 0;
		attached = true;
	}
	LWLockRelease(peers->lock);
	if (attached)
		before_shmem_exit(detach_receiver, peer_to_datum(peer));
	return attached;
}

bool
peer_await_acks(int64 seq, PeerScope scope, int timeout_ms, int *acked, int *members)
{
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
	bool		reached = false;

	ConditionVariablePrepareToSleep(&peers->acked_cv);
	for (;;)
	{
		int			n = 1;		/* this node applied its own */
		int			ok = 1;
		long		left_ms;
		int			i;

		LWLockAcquire(peers->lock, LW_SHARED);
		for (i = 0; i < TIDAL_MAX_PEERS; i++)
			if (peers->slots[i].used &&
				(scope == PEERS_MEMBERS ? peer_is_member(peers->slots[i].peer)
				 : peer_is_region_peer(peers->slots[i].peer)))
			{
				n++;
				/* a region (or member) has it once any of its nodes has */
				if (peers->slots[i].acked_seq_any >= seq)
					ok++;
			}
		LWLockRelease(peers->lock);
		*acked = ok;
		*members = n;
		if (scope == PEERS_MEMBERS ? (n == 1 || ok >= 2) : ok > n / 2)
		{
			reached = true;
			break;
		}
		left_ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
		if (left_ms <= 0 || QueryCancelPending || ProcDiePending)
			break;
		/* woken by peer_report_served; the timeout also re-checks membership */
		(void) ConditionVariableTimedSleep(&peers->acked_cv, Min(left_ms, 100),
										   PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
	return reached;
}

bool
peer_pulls_directly(PeerId peer)
{
	PeerSlot   *s;
	bool		direct = false;

	LWLockAcquire(peers->lock, LW_SHARED);
	if ((s = slot_for(peer, false)) != NULL)
		direct = s->state == PEER_CONNECTED && s->last_pull != 0 &&
			!TimestampDifferenceExceeds(s->last_pull, GetCurrentTimestamp(), tidal_peer_timeout_ms);
	LWLockRelease(peers->lock);
	return direct;
}

int
peer_unreachable_regions(int32 *regions, int max)
{
	TimestampTz now = GetCurrentTimestamp();
	int			n = 0;
	int			i;

	LWLockAcquire(peers->lock, LW_SHARED);
	for (i = 0; i < TIDAL_MAX_PEERS && n < max; i++)
	{
		PeerSlot   *s = &peers->slots[i];

		if (s->used && peer_is_region_peer(s->peer) &&
			(s->last_contact == 0 ||
			 TimestampDifferenceExceeds(s->last_contact, now, tidal_peer_timeout_ms)))
			regions[n++] = s->peer.region;
	}
	LWLockRelease(peers->lock);
	return n;
}

/* wake every receiver; how many */
static int
wake_receivers(void)
{
	int			procnos[TIDAL_MAX_PEERS];
	int			n = 0;
	int			i;

	LWLockAcquire(peers->lock, LW_SHARED);
	for (i = 0; i < TIDAL_MAX_PEERS; i++)
		if (peers->slots[i].used && peers->slots[i].receiver_procno != INVALID_PGPROCNO)
			procnos[n++] = peers->slots[i].receiver_procno;
	LWLockRelease(peers->lock);
	for (i = 0; i < n; i++)
		SetLatch(&ProcGlobal->allProcs[procnos[i]].procLatch);
	return n;
}

void
peer_wake_receivers(void)
{
	(void) wake_receivers();
}

/* tidal._wake_receivers() RETURNS int: wake every receiver to pull now; how many */
Datum
tidal_wake_receivers(PG_FUNCTION_ARGS pg_attribute_unused())
{
	tidal_require_preload();
	PG_RETURN_INT32(wake_receivers());
}

char *
peer_conninfo(PeerId peer)
{
	static OwnedQuery q = {
		"SELECT conninfo FROM tidal.peer_defs "
		" WHERE region_id = $1 AND shard_id = $2 AND coalesce(node_id, -1) = $3",
		3, {INT4OID, INT4OID, INT4OID}, NULL
	};
	static OwnedQuery q_before_nodes = {
		"SELECT conninfo FROM tidal.peer_defs WHERE region_id = $1 AND shard_id = $2 AND $3 = -1",
		3, {INT4OID, INT4OID, INT4OID}, NULL
	};
	static OwnedQuery q_before_shards = {
		"SELECT conninfo FROM tidal.peer_defs WHERE region_id = $1 AND $3 = -1 AND $2 = "
		"       pg_catalog.current_setting('tidal.shard_id')::pg_catalog.int4", 3, {INT4OID, INT4OID, INT4OID}, NULL
	};
	Datum		args[3] = {Int32GetDatum(peer.region), Int32GetDatum(peer.shard), Int32GetDatum(peer.node)};
	char	   *conninfo = NULL;
	TidalSavedUser saved;
	int			shape = peer_defs_shape();

	if (shape == 0)
		return NULL;
	query_begin(&saved);
	query_exec(shape == 3 ? &q : shape == 2 ? &q_before_nodes : &q_before_shards, args, NULL, true, SPI_OK_SELECT);
	if (SPI_processed == 1)
	{
		char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		conninfo = MemoryContextStrdup(TopMemoryContext, v);
	}
	query_end(&saved);
	return conninfo;
}

/*
 * Claim the start of a peer's receiver: true if none runs or is being
 * started (then the caller registers one).  Decided under the lock, from
 * shared memory: a launcher that restarted knows what its predecessor started.
 */
bool
peer_claim_launch(PeerId peer)
{
	PeerSlot   *s;
	bool		claim = false;
	TimestampTz now = GetCurrentTimestamp();

	LWLockAcquire(peers->lock, LW_EXCLUSIVE);
	if ((s = slot_for(peer, true)) != NULL && !receiver_alive(s) &&
		(s->launch_requested == 0 ||
		 TimestampDifferenceExceeds(s->launch_requested, now, RECEIVER_START_TIMEOUT_MS)))
	{
		s->receiver_pid = 0;
		s->receiver_procno = INVALID_PGPROCNO;
		s->launch_requested = now;
		claim = true;
	}
	LWLockRelease(peers->lock);
	return claim;
}

void
peer_unclaim_launch(PeerId peer)
{
	PeerSlot   *s;

	LWLockAcquire(peers->lock, LW_EXCLUSIVE);
	if ((s = slot_for(peer, false)) != NULL)
		s->launch_requested = 0;
	LWLockRelease(peers->lock);
}

/*
 * Which shape tidal.peer_defs has: 0 none (the extension is at 0.1), 1
 * without shard_id (before 0.7: every peer is a region peer of this node's
 * shard), 2 with it, 3 with node_id too (0.8: members).  The library may be
 * newer than the SQL objects until ALTER EXTENSION UPDATE.
 */
static int
peer_defs_shape(void)
{
	if (!query_has_column("peer_defs", NULL))
		return 0;
	if (query_has_column("peer_defs", "node_id"))
		return 3;
	return query_has_column("peer_defs", "shard_id") ? 2 : 1;
}

int
peer_list(PeerId *list, int max, PeerScope scope)
{
	static OwnedQuery q = {
		"SELECT region_id, shard_id, coalesce(node_id, -1) FROM tidal.peer_defs "
		" ORDER BY region_id, shard_id, node_id", 0, {InvalidOid}, NULL
	};
	static OwnedQuery q_before_nodes = {
		"SELECT region_id, shard_id, -1 FROM tidal.peer_defs ORDER BY region_id, shard_id", 0, {InvalidOid}, NULL
	};
	static OwnedQuery q_before_shards = {
		"SELECT region_id, pg_catalog.current_setting('tidal.shard_id')::pg_catalog.int4, -1 "
		"  FROM tidal.peer_defs ORDER BY region_id", 0, {InvalidOid}, NULL
	};
	int			n = 0;
	uint64		r;
	TidalSavedUser saved;
	int			shape = peer_defs_shape();

	if (shape == 0)
		return -1;				/* an extension still at 0.1 has no peers */

	query_begin(&saved);
	query_exec(shape == 3 ? &q : shape == 2 ? &q_before_nodes : &q_before_shards, NULL, NULL, true, SPI_OK_SELECT);
	for (r = 0; r < SPI_processed && n < max; r++)
	{
		bool		isnull;
		PeerId		p;

		p.region = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull));
		p.shard = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull));
		p.node = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 3, &isnull));
		if (scope == PEERS_ALL || (scope == PEERS_REGIONS && peer_is_region_peer(p)) ||
			(scope == PEERS_MEMBERS && peer_is_member(p)))
			list[n++] = p;
	}
	query_end(&saved);
	return n;
}

void
peer_forget_dropped(const PeerId *list, int n)
{
	int			i;

	/* their receivers exit by themselves */
	LWLockAcquire(peers->lock, LW_EXCLUSIVE);
	for (i = 0; i < TIDAL_MAX_PEERS; i++)
	{
		PeerSlot   *s = &peers->slots[i];
		bool		listed = false;
		int			j;

		for (j = 0; j < n; j++)
			listed |= same_peer(s->peer, list[j]);
		if (s->used && !listed && !receiver_alive(s))
			s->used = false;
	}
	LWLockRelease(peers->lock);
}

/* ---- SQL ---- */

/*
 * The shard a peer call names: its argument n, or this node's shard when it
 * is NULL or the SQL function predates shard_id (0.6 and before).
 */
static int32
shard_argument(FunctionCallInfo fcinfo, int n)
{
	int32		shard;

	if (PG_NARGS() <= n || PG_ARGISNULL(n))
		return tidal_shard_id;
	shard = PG_GETARG_INT32(n);
	if (shard < 0 || shard > TIDAL_MAX_SHARD_ID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("shard_id must be between 0 and %d", TIDAL_MAX_SHARD_ID)));
	return shard;
}

/*
 * A node may peer with the nodes of its shard in other regions, with the
 * other shards of its own region, and with the other nodes of its own
 * shard (members, named by node); nothing else.
 */
static void
check_peer_allowed(PeerId peer)
{
	if (peer.region == tidal_region_id && peer.shard == tidal_shard_id && peer.node == PEER_ANY_NODE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("region %d, shard %d is this node's own shard", peer.region, peer.shard),
				 errhint("Name the node_id of the other node of this shard to add it as a member; "
						 "tidal.region_id and tidal.shard_id are set in postgresql.conf.")));
	if (peer.node != PEER_ANY_NODE && !(peer.region == tidal_region_id && peer.shard == tidal_shard_id))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("node_id names a member of this node's own shard, and shard %d of region %d is another",
						peer.shard, peer.region),
				 errhint("Leave node_id NULL for a node of another region or shard.")));
	if (peer.node == tidal_node_id)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("node %d is this node", peer.node),
				 errhint("tidal.node_id is set in postgresql.conf.")));
	if (peer.region != tidal_region_id && peer.shard != tidal_shard_id)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("shard %d of region %d cannot be a peer of this node (region %d, shard %d)",
						peer.shard, peer.region, tidal_region_id, tidal_shard_id),
				 errdetail("A shard replicates with the same shard of other regions, and with the other shards of its own region."),
				 errhint("Add shard %d of region %d instead, or call tidal.add_peer on a node of shard %d.",
						 tidal_shard_id, peer.region, peer.shard)));
}

/*
 * The node a peer call names: its argument n, PEER_ANY_NODE when it is
 * NULL or the SQL function predates node_id (0.7 and before).
 */
static int32
node_argument(FunctionCallInfo fcinfo, int n)
{
	int32		node;

	if (PG_NARGS() <= n || PG_ARGISNULL(n))
		return PEER_ANY_NODE;
	node = PG_GETARG_INT32(n);
	if (node < 0 || node > TIDAL_MAX_NODE_ID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("node_id must be between 0 and %d", TIDAL_MAX_NODE_ID)));
	return node;
}

/*
 * tidal.add_peer(region_id int, conninfo text, shard_id int DEFAULT NULL,
 *                node_id int DEFAULT NULL) RETURNS void
 */
Datum
tidal_add_peer(PG_FUNCTION_ARGS)
{
	static OwnedQuery q = {
		"INSERT INTO tidal.peer_defs (region_id, shard_id, node_id, conninfo) "
		"VALUES ($1, $2, CASE WHEN $4 >= 0 THEN $4 END, $3) "
		"ON CONFLICT (region_id, shard_id, (coalesce(node_id, -1))) DO UPDATE SET conninfo = excluded.conninfo",
		4, {INT4OID, INT4OID, TEXTOID, INT4OID}, NULL
	};
	static OwnedQuery q_before_nodes = {
		"INSERT INTO tidal.peer_defs (region_id, shard_id, conninfo) VALUES ($1, $2, $3) "
		"ON CONFLICT (region_id, shard_id) DO UPDATE SET conninfo = excluded.conninfo",
		3, {INT4OID, INT4OID, TEXTOID}, NULL
	};
	static OwnedQuery count_q = {
		"SELECT pg_catalog.count(*) FROM tidal.peer_defs", 0, {InvalidOid}, NULL
	};
	PeerId		peer;
	char	   *conninfo;
	char	   *err = NULL;
	PQconninfoOption *opts;
	Datum		args[4];
	TidalSavedUser saved;
	int			shape;

	tidal_require_preload();
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("tidal.add_peer's region_id and conninfo must not be NULL")));
	shape = peer_defs_shape();
	if (shape < 2 || (shape == 2 && !PG_ARGISNULL(3) && PG_NARGS() > 3))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tidal's SQL objects are older than its library"),
				 errhint("Run ALTER EXTENSION tidal UPDATE.")));
	peer.region = PG_GETARG_INT32(0);
	conninfo = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (peer.region < 0 || peer.region > TIDAL_MAX_REGION_ID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("region_id must be between 0 and %d", TIDAL_MAX_REGION_ID)));
	peer.shard = shard_argument(fcinfo, 2);
	peer.node = node_argument(fcinfo, 3);
	check_peer_allowed(peer);
	opts = PQconninfoParse(conninfo, &err);
	if (opts == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid connection string for region %d, shard %d", peer.region, peer.shard),
				 errdetail("%s", err ? err : "out of memory")));
	PQconninfoFree(opts);

	args[0] = Int32GetDatum(peer.region);
	args[1] = Int32GetDatum(peer.shard);
	args[2] = CStringGetTextDatum(conninfo);
	args[3] = Int32GetDatum(peer.node);
	query_begin(&saved);
	query_exec(shape == 3 ? &q : &q_before_nodes, args, NULL, false, SPI_OK_INSERT);
	query_exec(&count_q, NULL, NULL, true, SPI_OK_SELECT);
	{
		bool		isnull;
		int64		n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

		if (n > TIDAL_MAX_PEERS)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("a node can have at most %d peers", TIDAL_MAX_PEERS)));
	}
	query_end(&saved);
	PG_RETURN_VOID();
}

/*
 * tidal.drop_peer(region_id int, shard_id int DEFAULT NULL, node_id int
 * DEFAULT NULL) RETURNS boolean: whether it was a peer
 */
Datum
tidal_drop_peer(PG_FUNCTION_ARGS)
{
	static OwnedQuery q = {
		"DELETE FROM tidal.peer_defs WHERE region_id = $1 AND shard_id = $2 AND coalesce(node_id, -1) = $3",
		3, {INT4OID, INT4OID, INT4OID}, NULL
	};
	static OwnedQuery q_before_nodes = {
		"DELETE FROM tidal.peer_defs WHERE region_id = $1 AND shard_id = $2 AND $3 = -1",
		3, {INT4OID, INT4OID, INT4OID}, NULL
	};
	static OwnedQuery q_before_shards = {
		"DELETE FROM tidal.peer_defs WHERE region_id = $1 AND $3 = -1 AND $2 = "
		"       pg_catalog.current_setting('tidal.shard_id')::pg_catalog.int4", 3, {INT4OID, INT4OID, INT4OID}, NULL
	};
	Datum		args[3];
	bool		dropped;
	TidalSavedUser saved;
	int			shape;

	tidal_require_preload();
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	args[0] = PG_GETARG_DATUM(0);
	args[1] = Int32GetDatum(shard_argument(fcinfo, 1));
	args[2] = Int32GetDatum(node_argument(fcinfo, 2));
	shape = peer_defs_shape();
	query_begin(&saved);
	query_exec(shape == 3 ? &q : shape == 2 ? &q_before_nodes : &q_before_shards, args, NULL, false, SPI_OK_DELETE);
	dropped = SPI_processed > 0;
	query_end(&saved);
	PG_RETURN_BOOL(dropped);
}

/* a consistent copy of every peer slot, for a set-returning function's rows */
static void
snapshot_slots(FunctionCallInfo fcinfo, PeerSlot *copy)
{
	tidal_require_preload();
	InitMaterializedSRF(fcinfo, 0);
	LWLockAcquire(peers->lock, LW_SHARED);
	memcpy(copy, peers->slots, sizeof(PeerSlot) * TIDAL_MAX_PEERS);
	LWLockRelease(peers->lock);
}

/*
 * tidal._peer_status() RETURNS TABLE(region_id int, state text,
 *     batches_sent bigint, acked_batch bigint, acked_seq bigint,
 *     batches_applied bigint, behind_seq bigint,
 *     last_contact timestamptz, last_pull timestamptz, shard_id int)
 * What shared memory says of each peer; tidal.replication_status adds the
 * rest.  (Before 0.7 the function had no shard_id.)
 */
Datum
tidal_peer_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PeerSlot	copy[TIDAL_MAX_PEERS];
	int			i;

	snapshot_slots(fcinfo, copy);

	for (i = 0; i < TIDAL_MAX_PEERS; i++)
	{
		PeerSlot   *s = &copy[i];
		Datum		values[11];
		bool		nulls[11] = {false};
		static const char *const states[] = {"disconnected", "connecting", "connected"};

		if (!s->used)
			continue;
		values[0] = Int32GetDatum(s->peer.region);
		values[1] = CStringGetTextDatum(states[s->state]);
		values[2] = Int64GetDatum(s->batches_sent);
		values[3] = Int64GetDatum(s->acked_batch);
		values[4] = Int64GetDatum(s->acked_seq);
		values[5] = Int64GetDatum(s->batches_applied);
		values[6] = Int64GetDatum(s->behind_seq);
		values[7] = TimestampTzGetDatum(s->last_contact);
		nulls[7] = (s->last_contact == 0);
		values[8] = TimestampTzGetDatum(s->last_pull);
		nulls[8] = (s->last_pull == 0);
		values[9] = Int32GetDatum(s->peer.shard);
		values[10] = Int32GetDatum(s->peer.node);
		nulls[10] = s->peer.node == PEER_ANY_NODE;
		if (rsinfo->setDesc->natts < 10 && s->peer.shard != tidal_shard_id)
			continue;			/* SQL objects before 0.7: region peers only */
		if (rsinfo->setDesc->natts < 11 && s->peer.node != PEER_ANY_NODE)
			continue;			/* SQL objects before 0.8: no members */
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * tidal._peer_errors() RETURNS TABLE(region_id int, quarantined boolean,
 *     last_error text, last_error_at timestamptz, shard_id int)
 * Whether a batch of each peer is held, and why its last refused batch or
 * answer was refused; tidal.replication_status shows them.
 */
Datum
tidal_peer_errors(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PeerSlot	copy[TIDAL_MAX_PEERS];
	int			i;

	snapshot_slots(fcinfo, copy);

	for (i = 0; i < TIDAL_MAX_PEERS; i++)
	{
		PeerSlot   *s = &copy[i];
		Datum		values[6];
		bool		nulls[6] = {false};

		if (!s->used)
			continue;
		if (rsinfo->setDesc->natts < 5 && s->peer.shard != tidal_shard_id)
			continue;			/* SQL objects before 0.7: region peers only */
		if (rsinfo->setDesc->natts < 6 && s->peer.node != PEER_ANY_NODE)
			continue;			/* SQL objects before 0.8: no members */
		s->last_error[PEER_ERROR_LEN - 1] = '\0';
		values[0] = Int32GetDatum(s->peer.region);
		values[1] = BoolGetDatum(s->quarantined);
		values[2] = CStringGetTextDatum(s->last_error);
		nulls[2] = (s->last_error[0] == '\0');
		values[3] = TimestampTzGetDatum(s->last_error_at);
		nulls[3] = nulls[2];
		values[4] = Int32GetDatum(s->peer.shard);
		values[5] = Int32GetDatum(s->peer.node);
		nulls[5] = s->peer.node == PEER_ANY_NODE;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
