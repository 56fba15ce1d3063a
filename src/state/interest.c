/*
 * state/interest.c
 *    Users' interests and the bandit's counts in shared memory (interest.h):
 *    a fixed-size table of decaying vector sums keyed by (database, signal,
 *    tenant, user, arm), and a table of arm names, each guarded by one
 *    LWLock of its own tranche.  Sized at server start by
 *    tidal.max_interests and tidal.embedding_dimensions.
 *
 *    May call: core/, pg/, state/.
 */
#include "postgres.h"

#include "mb/pg_wchar.h"
#include "port/atomics.h"
#include "storage/shmem.h"

#include "pg/settings.h"
#include "pg/shared_table.h"
#include "state/interest.h"

#define INTEREST_TRANCHE	"tidal interests"
#define ARM_TRANCHE			"tidal arms"
#define MAX_ARMS			4096

/* an entry: its key, then its sum (interest_sum_size bytes) */
#define KEY_SPACE			MAXALIGN(sizeof(InterestKey))
#define ENTRY_SUM(e)		((DecayVector *) ((char *) (e) + KEY_SPACE))

typedef struct ArmName
{
	uint64		arm;
	char		name[INTEREST_ARM_NAME_LEN];
} ArmName;

static SharedTable sums;
static SharedTable arms;
static pg_atomic_uint64 *overflows;

Size
interest_sum_size(void)
{
	return DECAY_VECTOR_SIZE(tidal_embedding_dimensions);
}

static Size
entry_size(void)
{
	return KEY_SPACE + interest_sum_size();
}

void
interest_shmem_request(void)
{
	shared_table_request(INTEREST_TRANCHE, tidal_max_interests, entry_size());
	shared_table_request(ARM_TRANCHE, MAX_ARMS, sizeof(ArmName));
	RequestAddinShmemSpace(sizeof(pg_atomic_uint64));
}

void
interest_shmem_init(void)
{
	bool		found;

	shared_table_init_keyed(&sums, "tidal interests", INTEREST_TRANCHE, tidal_max_interests,
							sizeof(InterestKey), entry_size());
	shared_table_init_keyed(&arms, "tidal arms", ARM_TRANCHE, MAX_ARMS, sizeof(uint64), sizeof(ArmName));
	overflows = ShmemInitStruct("tidal interest overflows", sizeof(pg_atomic_uint64), &found);
	if (!found)
		pg_atomic_init_u64(overflows, 0);
}

void
interest_apply_record(const LogRecord *rec, Oid dboid, int32 signal_id, const DecaySpec *spec)
{
	LogSignalEvent ev;
	InterestKey key;
	char	   *e;
	bool		found;
	int			dims = tidal_embedding_dimensions;

	if (!(rec->flags & LOG_SIGNAL_HAS_INTEREST))
		return;
	codec_signal_event(rec, 0, &ev);
	interest_key_init(&key, dboid, signal_id, rec->tenant, ev.user_id, rec->interest_arm);
	LWLockAcquire(sums.lock, LW_EXCLUSIVE);
	e = hash_search(sums.hash, &key, HASH_ENTER_NULL, &found);
	if (e == NULL)
	{
		LWLockRelease(sums.lock);
		pg_atomic_fetch_add_u64(overflows, 1);
		return;
	}
	if (!found)
		decay_vector_init(ENTRY_SUM(e), dims);
	/* validate.c let in only a vector of this node's dimensions */
	decay_vector_add(ENTRY_SUM(e), dims, spec->half_life_us, ev.weight, ev.at_us,
					 rec->interest_dims == dims && dims > 0 ? rec->interest_vector : NULL);
	LWLockRelease(sums.lock);
}

bool
interest_install(const InterestKey *key, double half_life_us, const DecayVector *sum)
{
	char	   *e;
	bool		found;

	LWLockAcquire(sums.lock, LW_EXCLUSIVE);
	e = hash_search(sums.hash, key, HASH_ENTER_NULL, &found);
	if (e != NULL)
	{
		if (!found)
			decay_vector_init(ENTRY_SUM(e), tidal_embedding_dimensions);
		decay_vector_merge(ENTRY_SUM(e), tidal_embedding_dimensions, half_life_us, sum);
	}
	LWLockRelease(sums.lock);
	return e != NULL;
}

bool
interest_read(const InterestKey *key, DecayVector *out)
{
	char	   *e;

	LWLockAcquire(sums.lock, LW_SHARED);
	e = hash_search(sums.hash, key, HASH_FIND, NULL);
	if (e != NULL)
		memcpy(out, ENTRY_SUM(e), interest_sum_size());
	LWLockRelease(sums.lock);
	return e != NULL;
}

void
interest_note_arm(uint64 arm, const char *name, int len)
{
	ArmName    *a;
	bool		found;

	if (arm == 0)
		return;
	LWLockAcquire(arms.lock, LW_SHARED);
	found = hash_search(arms.hash, &arm, HASH_FIND, NULL) != NULL;
	LWLockRelease(arms.lock);
	if (found)
		return;
	LWLockAcquire(arms.lock, LW_EXCLUSIVE);
	a = hash_search(arms.hash, &arm, HASH_ENTER_NULL, &found);
	if (a != NULL && !found)
	{
		int			n = Min(len, INTEREST_ARM_NAME_LEN - 1);

		/* cut at a character boundary of the database encoding */
		n = pg_mbcliplen(name, len, n);
		memcpy(a->name, name, n);
		a->name[n] = '\0';
	}
	LWLockRelease(arms.lock);
}

bool
interest_arm_name(uint64 arm, char *out)
{
	ArmName    *a;

	LWLockAcquire(arms.lock, LW_SHARED);
	a = hash_search(arms.hash, &arm, HASH_FIND, NULL);
	if (a != NULL)
		strlcpy(out, a->name, INTEREST_ARM_NAME_LEN);
	LWLockRelease(arms.lock);
	if (a == NULL)
		snprintf(out, INTEREST_ARM_NAME_LEN, "#" UINT64_FORMAT, arm);	/* its items have not arrived here */
	return a != NULL;
}

static int
arm_cmp(const void *a, const void *b)
{
	uint64		x = *(const uint64 *) a;
	uint64		y = *(const uint64 *) b;

	return (x > y) - (x < y);
}

/* in the order of their hashes: the same on every node, whatever order they were seen in */
int
interest_known_arms(uint64 **out)
{
	HASH_SEQ_STATUS seq;
	ArmName    *a;
	int			n = 0;

	*out = palloc(sizeof(uint64) * MAX_ARMS);
	LWLockAcquire(arms.lock, LW_SHARED);
	hash_seq_init(&seq, arms.hash);
	while ((a = hash_seq_search(&seq)) != NULL)
		if (n < MAX_ARMS)
			(*out)[n++] = a->arm;
	LWLockRelease(arms.lock);
	qsort(*out, n, sizeof(uint64), arm_cmp);
	return n;
}

/* remove the entries of a database (tenant < 0: every tenant) */
static void
drop_where(Oid dboid, int64 tenant)
{
	HASH_SEQ_STATUS seq;
	InterestKey *k;

	LWLockAcquire(sums.lock, LW_EXCLUSIVE);
	hash_seq_init(&seq, sums.hash);
	while ((k = hash_seq_search(&seq)) != NULL)
		if (k->dboid == dboid && (tenant < 0 || k->tenant == tenant))
			(void) hash_search(sums.hash, k, HASH_REMOVE, NULL);	/* safe during a seq scan */
	LWLockRelease(sums.lock);
}

void
interest_db_clear(Oid dboid)
{
	drop_where(dboid, -1);
}

void
interest_drop_tenant(Oid dboid, int64 tenant)
{
	drop_where(dboid, tenant);
}

int64
interest_entry_count(Oid dboid)
{
	HASH_SEQ_STATUS seq;
	InterestKey *k;
	int64		n = 0;

	LWLockAcquire(sums.lock, LW_SHARED);
	hash_seq_init(&seq, sums.hash);
	while ((k = hash_seq_search(&seq)) != NULL)
		if (k->dboid == dboid)
			n++;
	LWLockRelease(sums.lock);
	return n;
}

int64
interest_overflows(void)
{
	return (int64) pg_atomic_read_u64(overflows);
}
