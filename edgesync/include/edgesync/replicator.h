/*
 * struct es_replicator: what a replicator process holds while it works: its configuration, its
 * certcore store (the keys that open the edge credentials), the bound connection to the source
 * directory and what that source offers, its lease holder name, and the event log.
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

struct es_replicator {
	const struct es_config *cfg;  /* borrowed */
	struct cc_log *log;           /* borrowed */
	struct cc_store *store;       /* owned */
	struct es_keyholder *keys;    /* owned; NULL: the store's keys are read in this process */
	struct es_conn *source;       /* owned, bound; NULL after a failure until reconnected */
	char *source_base;            /* [source] base, else the first namingContexts value */
	bool source_sync;             /* the source offers RFC 4533 (syncprov) */
	bool source_ad;               /* Active Directory: DirSync ([source] type, or auto) */
	char *source_nc;              /* AD: the naming context DirSync searches */
	int dirsync_flags;            /* AD: the DirSync flags that worked (dirsync.h) */
	char *holder;                 /* this process's lease holder name */
	volatile sig_atomic_t *stop;  /* set by a signal handler; may be NULL */
	struct es_progress *progress; /* borrowed; NULL: nobody watches (progress.h) */
	/* [source] bind = external with a key holder: the replicator's certificate and private
	 * key, read once before the sandbox (libldap signs the TLS handshake in this process);
	 * owned, NULL otherwise */
	X509 *source_cert;
	EVP_PKEY *source_key;
};

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
 * The replicator's certificate (borrowed from rep->store: until its next reload or write). With
 * a key holder none is made (ES_REPLICATOR_IDENTITY made it at start); without one, as
 * es_identity_select with create.
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

#endif
