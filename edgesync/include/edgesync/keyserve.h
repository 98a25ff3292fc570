/*
 * edgesync's key holder's side (keyproto.h): the loop of the small process the replicator forks
 * (keyholder.h), which alone reads the store's private keys and opens envelopes with them.
 */
#ifndef EDGESYNC_KEYSERVE_H
#define EDGESYNC_KEYSERVE_H

#include "certcore/keyproc.h"
#include "certcore/log.h"

/*
 * Answers requests on `fd` until the other end closes it; returns the process's exit status
 * (0 at an orderly end). Before its first answer the holder makes itself non-dumpable and
 * confines itself (certcore/sandbox.h) to reading the store at `store`: no other file can be
 * read, nothing written, no TCP connection made (where the kernel has Landlock). Keys come
 * from the store, read again on a LOAD (at most once a second) or a DECRYPT for a certificate
 * it does not know yet.
 */
int es_keyserve_run(int fd, const char *store, struct cc_log *log);

/* The holder's state, for es_keyserve_handle (tests and the fuzz target). */
struct es_keyserve;
struct es_keyserve *es_keyserve_new(const char *store, struct cc_log *log);
void es_keyserve_free(struct es_keyserve *ks);

/* Answers one request (a cc_keyproc_handle_fn; `arg` is the es_keyserve). */
void es_keyserve_handle(void *arg, const unsigned char *req, size_t len,
                        struct cc_keyproc_reply *rep);

#endif
