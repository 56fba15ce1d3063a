/*
 * pg/jsonb_filter.c
 *    value @> filter for one filter and many values.  jsonb_contains walks
 *    both sides with iterators, two pallocs per test; tidal.retrieve tests
 *    the metadata of every candidate, 10,000 or more a call.  The usual
 *    filter is a flat object of scalars ({"lang": "en", "app": "forage"}):
 *    its pairs are read once, and each test is one key lookup per pair in
 *    the value's object, with no allocation.  Any other filter (nested
 *    objects or arrays) takes jsonb's own JsonbDeepContains, in a memory
 *    context of the filter's that is reset after every test.
 *
 *    May call: core/, pg/.
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/memutils.h"

#include "pg/jsonb_filter.h"

struct JsonbFilter
{
	Jsonb	   *filter;
	int			npairs;			/* -1: not a flat object of scalars */
	JsonbValue *keys;			/* jbvString, pointing into filter */
	JsonbValue *values;			/* scalars, pointing into filter */
	MemoryContext cxt;			/* a test's allocations (general path, numerics) */
};

/* the pairs of a flat object of scalars into f; false if it is not one */
static bool
read_flat_pairs(JsonbFilter *f)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			cap;

	if (!JB_ROOT_IS_OBJECT(f->filter))
		return false;
	cap = Max(JB_ROOT_COUNT(f->filter), 1);
	f->keys = palloc(sizeof(JsonbValue) * cap);
	f->values = palloc(sizeof(JsonbValue) * cap);
	f->npairs = 0;
	it = JsonbIteratorInit(&f->filter->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			f->keys[f->npairs] = v;
		else if (tok == WJB_VALUE)
		{
			if (!IsAJsonbScalar(&v))
				return false;	/* a nested object or array */
			f->values[f->npairs++] = v;
		}
	}
	return true;
}

JsonbFilter *
jsonb_filter_prepare(Jsonb *filter)
{
	JsonbFilter *f;

	if (filter == NULL)
		return NULL;
	f = palloc0(sizeof(JsonbFilter));
	f->filter = filter;
	f->cxt = AllocSetContextCreate(CurrentMemoryContext, "tidal jsonb filter",
								   ALLOCSET_SMALL_SIZES);
	if (!read_flat_pairs(f))
		f->npairs = -1;
	return f;
}

/* two scalars equal as jsonb containment compares them */
static bool
scalars_equal(const JsonbValue *a, const JsonbValue *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type)
	{
		case jbvNull:
			return true;
		case jbvBool:
			return a->val.boolean == b->val.boolean;
		case jbvString:
			return a->val.string.len == b->val.string.len &&
				memcmp(a->val.string.val, b->val.string.val, a->val.string.len) == 0;
		case jbvNumeric:
			return DatumGetBool(DirectFunctionCall2(numeric_eq,
													NumericGetDatum(a->val.numeric),
													NumericGetDatum(b->val.numeric)));
		default:
			return false;		/* a container on the value's side */
	}
}

static bool
matches_flat(JsonbFilter *f, const Jsonb *value)
{
	int			i;

	if (!JB_ROOT_IS_OBJECT(value))	/* a scalar's root is an array */
		return false;
	for (i = 0; i < f->npairs; i++)
	{
		JsonbValue	found;

		if (getKeyJsonValueFromContainer((JsonbContainer *) &value->root,
										 f->keys[i].val.string.val,
										 f->keys[i].val.string.len,
										 &found) == NULL)
			return false;
		if (!scalars_equal(&found, &f->values[i]))
			return false;
	}
	return true;
}

static bool
matches_general(JsonbFilter *f, const Jsonb *value)
{
	JsonbIterator *it1;
	JsonbIterator *it2;

	if (JB_ROOT_IS_OBJECT(value) != JB_ROOT_IS_OBJECT(f->filter))
		return false;
	it1 = JsonbIteratorInit((JsonbContainer *) &value->root);
	it2 = JsonbIteratorInit(&f->filter->root);
	return JsonbDeepContains(&it1, &it2);
}

bool
jsonb_filter_matches(JsonbFilter *f, const Jsonb *value)
{
	MemoryContext old;
	bool		result;

	if (f == NULL)
		return true;
	old = MemoryContextSwitchTo(f->cxt);
	if (f->npairs >= 0)
		result = matches_flat(f, value);
	else
		result = matches_general(f, value);
	MemoryContextSwitchTo(old);
	MemoryContextReset(f->cxt); /* free when nothing was allocated */
	return result;
}

void
jsonb_filter_free(JsonbFilter *f)
{
	if (f == NULL)
		return;
	MemoryContextDelete(f->cxt);
	if (f->keys)
		pfree(f->keys);
	if (f->values)
		pfree(f->values);
	pfree(f);
}
