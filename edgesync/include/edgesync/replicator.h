/*
 * struct es_replicator: what a replicator process holds while it works: its configuration, its
 * certcore store (the keys that open the edge credentials), the bound connection to the source
 * directory and what that source offers, its lease holder name, and the event log. Opaque: the
 * library's files see its fields (src/replicator_impl.h), callers use the accessors below.
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

struct es_replicator;

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

/* What callers read (borrowed, living as long as `rep`): the configuration, the store, the bound
 * source connection (NULL after a failure until reconnected), this process's lease holder name. */
const struct es_config *es_replicator_config(const struct es_replicator *rep);
struct cc_store *es_replicator_store(const struct es_replicator *rep);
struct es_conn *es_replicator_source(const struct es_replicator *rep);
const char *es_replicator_holder(const struct es_replicator *rep);
/* How the source is read, in words: "Active Directory: DirSync", "RFC 4533 offered" or
 * "RFC 4533 not offered: full compares". Static text. */
const char *es_replicator_source_mode(const struct es_replicator *rep);

/* Who watches the cycles (progress.h; borrowed, NULL: nobody) and the flag a signal handler sets
 * to stop them (may be NULL). */
void es_replicator_set_progress(struct es_replicator *rep, struct es_progress *progress);
void es_replicator_set_stop(struct es_replicator *rep, volatile sig_atomic_t *stop);

#endif
