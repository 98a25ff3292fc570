/*
 * struct es_replicator: what a replicator process holds while it works: its configuration, its
 * certcore store (the keys that open the edge credentials), the bound connection to the source
 * directory and what that source offers, its lease holder name, and the event log.
 */
#ifndef EDGESYNC_REPLICATOR_H
#define EDGESYNC_REPLICATOR_H

#include <signal.h>
#include <stdbool.h>

#include "certcore/log.h"
#include "certcore/store.h"
#include "edgesync/config.h"
#include "edgesync/conn.h"
#include "edgesync/error.h"
#include "edgesync/progress.h"

struct es_replicator {
	const struct es_config *cfg;  /* borrowed */
	struct cc_log *log;           /* borrowed */
	struct cc_store *store;       /* owned */
	struct es_conn *source;       /* owned, bound; NULL after a failure until reconnected */
	char *source_base;            /* [source] base, else the first namingContexts value */
	bool source_sync;             /* the source offers RFC 4533 (syncprov) */
	bool source_ad;               /* Active Directory: DirSync ([source] type, or auto) */
	char *source_nc;              /* AD: the naming context DirSync searches */
	int dirsync_flags;            /* AD: the DirSync flags that worked (dirsync.h) */
	char *holder;                 /* this process's lease holder name */
	volatile sig_atomic_t *stop;  /* set by a signal handler; may be NULL */
	struct es_progress *progress; /* borrowed; NULL: nobody watches (progress.h) */
};

/* Opens the store and connects to the source (es_replicator_connect). */
enum es_err es_replicator_open(const struct es_config *cfg, struct cc_log *log,
                               struct es_replicator **out) ES_WUR;
void es_replicator_free(struct es_replicator *rep);

/* (Re)connects and binds to the source, reads its base and whether it offers RFC 4533 or (type
 * auto) DirSync: a source whose root DSE lists the DirSync control is read as AD. */
enum es_err es_replicator_connect(struct es_replicator *rep) ES_WUR;

/* Opens only the store (the verbs that need no source). */
enum es_err es_replicator_open_store(const struct es_config *cfg, struct cc_store **out) ES_WUR;

bool es_replicator_stopping(const struct es_replicator *rep);

#endif
