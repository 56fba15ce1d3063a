/*
 * pg/xact_list.h
 *    A per-transaction list of pending changes, pruned by subtransaction
 *    (pg/xact_list.c).  May call: core/, pg/.
 *
 * A module that holds changes until its transaction commits keeps them in
 * one XactList: items are allocated in TopTransactionContext, remember the
 * subtransaction that added them, and are dropped when it rolls back (or
 * handed to the parent when it commits).  The list registers its own
 * transaction callbacks on first use, calls the owner's hooks, and is empty
 * again once the top-level transaction has committed or aborted.
 */
#ifndef TIDAL_XACT_LIST_H
#define TIDAL_XACT_LIST_H

#include "postgres.h"

#include "access/xact.h"
#include "nodes/pg_list.h"

/* the first member of every item of an XactList */
typedef struct XactListItem
{
	int			nest_level;		/* the subtransaction that added it */
} XactListItem;

typedef struct XactList XactList;

/*
 * The owner's hooks, each may be NULL.  at_xact sees every top-level event
 * with the list as it stands (at COMMIT and ABORT the list is emptied after
 * it returns; at COMMIT it must not fail).  drop is called for each item of
 * a subtransaction that rolled back, and for each item removed by
 * xact_list_remove_if, before the item leaves the list.  at_subxact runs
 * after the list was pruned for a subtransaction's commit or abort.
 */
typedef void (*xact_list_xact_fn) (XactEvent event, List *items);
typedef void (*xact_list_item_fn) (XactListItem *item);
typedef void (*xact_list_subxact_fn) (SubXactEvent event);

struct XactList
{
	xact_list_xact_fn at_xact;
	xact_list_item_fn drop;
	xact_list_subxact_fn at_subxact;
	/* private to xact_list.c */
	List	   *items;			/* of XactListItem *, oldest first */
	bool		registered;
};

#define XACT_LIST_INIT(at_xact, drop, at_subxact) \
	{(at_xact), (drop), (at_subxact), NIL, false}

/* register the list's transaction callbacks in this backend (once; also done by xact_list_add) */
extern void xact_list_register(XactList *list);

/*
 * A new zeroed item of size bytes in TopTransactionContext, not yet listed;
 * xact_list_append lists it, in the current subtransaction.
 * xact_list_add does both.
 */
extern XactListItem *xact_list_alloc(Size size);
extern void xact_list_append(XactList *list, XactListItem *item);
extern XactListItem *xact_list_add(XactList *list, Size size);

/* the items, oldest first (NIL when none) */
static inline List *
xact_list_items(const XactList *list)
{
	return list->items;
}

/* drop (through the drop hook) and remove the items for which match is true */
typedef bool (*xact_list_match_fn) (const XactListItem *item, void *arg);
extern void xact_list_remove_if(XactList *list, xact_list_match_fn match, void *arg);

#endif							/* TIDAL_XACT_LIST_H */
