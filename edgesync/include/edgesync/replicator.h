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

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "certcore/log.h"
#include "certcore/store.h"
#include "edgesync/config.h"
#include "edgesync/conn.h"
#include "edgesync/error.h"
#include "edgesync/keyholder.h"
#include "edgesync/progress.h"

struct es_replicator;

/* Opens the store and connects to the source (es_replicator_connect). */
enum es_err es_replicator_open(const struct es_config *cfg, struct cc_log *log,
                               struct es_replicator **out) ES_WUR;

/*
 * es_replicator_open_with's flags. ES_REPLICATOR_HOLD_KEYS, key custody (keyholder.h): before
 * the store is opened, the key holder is forked and made the store's key source; once the store
 * is open (and its layout made), this process gives up reading the store's keys/ and requests/
 * with Landlock (certcore/sandbox.h; logged, and a warning where the kernel has none), and only
 * then connects. ES_REPLICATOR_IDENTITY: the replicator's certificate is chosen, or made, before
 * the sandbox holds (es_identity_select): a key this process makes is made before it reads
 * anything from the network; afterwards it makes none (es_replicator_identity). The process
 * must have one thread; the key source is the process's (one such replicator at a time).
 */
#define ES_REPLICATOR_HOLD_KEYS 0x1
#define ES_REPLICATOR_IDENTITY  0x2
enum es_err es_replicator_open_with(const struct es_config *cfg, struct cc_log *log, int flags,
                                    struct es_replicator **out) ES_WUR;

/*
 * Whether a replicator opened with ES_REPLICATOR_HOLD_KEYS could not make the file `path`:
 * its folder holds the store's keys/ or requests/ on its way (the store, one of its parents) or
 * is one of them (cc_sandbox_hide_refuses). A verb that writes a file checks it first.
 */
bool es_replicator_cannot_write(const struct es_config *cfg, const char *path);

/*
 * The replicator's certificate: an owned reference (cc_cert_free), as es_identity_select's, kept
 * across reloads of the store. With a key holder none is made (ES_REPLICATOR_IDENTITY made it at
 * start); without one, as es_identity_select with create.
 */
enum es_err es_replicator_identity(struct es_replicator *rep, struct cc_cert **out) ES_WUR;

/*
 * Opens an edge credential (credential.h) with the store's keys: through the key holder when
 * there is one. The password is owned (es_secret_free: wiped).
 */
enum es_err es_replicator_open_credential(struct es_replicator *rep, const unsigned char *der,
                                          size_t len, char **password) ES_WUR;
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
