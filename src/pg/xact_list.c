/*
 * pg/xact_list.c
 *    One per-transaction list of pending changes with subtransaction
 *    pruning, for every module that publishes changes at commit (see
 *    xact_list.h).  May call: core/, pg/.
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/memutils.h"

#include "pg/xact_list.h"

static void
xact_list_xact_callback(XactEvent event, void *arg)
{
	XactList   *list = (XactList *) arg;

	if (list->at_xact)
		list->at_xact(event, list->items);
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			list->items = NIL;	/* memory goes with TopTransactionContext */
			break;
		default:
			break;
	}
}

static void
xact_list_subxact_callback(SubXactEvent event,
						   SubTransactionId mySubid pg_attribute_unused(),
						   SubTransactionId parentSubid pg_attribute_unused(),
						   void *arg)
{
	XactList   *list = (XactList *) arg;
	int			level = GetCurrentTransactionNestLevel();
	List	   *kept = NIL;
	ListCell   *lc;
	MemoryContext old;

	if (event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB)
		return;

	old = MemoryContextSwitchTo(TopTransactionContext);
	foreach(lc, list->items)
	{
		XactListItem *item = (XactListItem *) lfirst(lc);

		if (item->nest_level >= level)
		{
			if (event == SUBXACT_EVENT_ABORT_SUB)
			{
				if (list->drop)
					list->drop(item);	/* rolled back: never published */
				continue;
			}
			item->nest_level = level - 1;
		}
		kept = lappend(kept, item);
	}
	MemoryContextSwitchTo(old);
	list->items = kept;

	if (list->at_subxact)
		list->at_subxact(event);
}

void
xact_list_register(XactList *list)
{
	if (list->registered)
		return;
	RegisterXactCallback(xact_list_xact_callback, list);
	RegisterSubXactCallback(xact_list_subxact_callback, list);
	list->registered = true;
}

XactListItem *
xact_list_alloc(Size size)
{
	Assert(size >= sizeof(XactListItem));
	return (XactListItem *) MemoryContextAllocZero(TopTransactionContext, size);
}

void
xact_list_append(XactList *list, XactListItem *item)
{
	MemoryContext old;

	xact_list_register(list);
	item->nest_level = GetCurrentTransactionNestLevel();
	old = MemoryContextSwitchTo(TopTransactionContext);
	list->items = lappend(list->items, item);
	MemoryContextSwitchTo(old);
}

XactListItem *
xact_list_add(XactList *list, Size size)
{
	XactListItem *item = xact_list_alloc(size);

	xact_list_append(list, item);
	return item;
}

void
xact_list_remove_if(XactList *list, xact_list_match_fn match, void *arg)
{
	List	   *kept = NIL;
	ListCell   *lc;
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);

	foreach(lc, list->items)
	{
		XactListItem *item = (XactListItem *) lfirst(lc);

		if (match(item, arg))
		{
			if (list->drop)
				list->drop(item);
		}
		else
			kept = lappend(kept, item);
	}
	MemoryContextSwitchTo(old);
	list->items = kept;
}
