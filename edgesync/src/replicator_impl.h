/*
 * The fields of struct es_replicator (replicator.h), for the library's own files (replicator.c,
 * sync.c, report.c, daemon.c) and white-box unit tests; callers use the accessors. Not installed.
 */
#ifndef EDGESYNC_REPLICATOR_IMPL_H
#define EDGESYNC_REPLICATOR_IMPL_H

#include "edgesync/replicator.h"

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

#endif
