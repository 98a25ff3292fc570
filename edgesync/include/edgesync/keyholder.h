/*
 * edgesync's key holder (key custody, as umd's): the process that parses LDAP answers from the
 * source and the edges holds no private key. A small process, forked before anything connects
 * (es_keyholder_start), alone reads the store's keys/ and opens the edge credentials (CMS
 * envelopes, credential.h) for it over a socketpair (keyproto.h, keyserve.h); the replicator
 * then gives up reading keys/ and requests/ (certcore/sandbox.h, es_replicator_open_with).
 *
 * In the replicator, es_keyholder_key is certcore's key source (cc_store_set_key_source): every
 * store it opens asks the holder whether it has the key of each certificate, and gets the
 * certificate's public key as its stand-in (edgesync makes no private operation with it: it
 * only asks "has a key" for the selection; decryption goes to the holder through
 * es_keyholder_decrypt).
 */
#ifndef EDGESYNC_KEYHOLDER_H
#define EDGESYNC_KEYHOLDER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "certcore/cert.h"
#include "certcore/error.h"
#include "certcore/log.h"
#include "edgesync/error.h"

struct es_keyholder;

/*
 * Forks the holder ("edgesync-keys") for the store at `store` (its path copied). Call it while
 * the process has one thread, before any connection. The holder logs to `log`'s stream (errors
 * only). *out NULL on entry, owned on success.
 */
enum es_err es_keyholder_start(const char *store, struct cc_log *log,
                               struct es_keyholder **out) ES_WUR;

/* Closes the socket, so the holder ends, and waits for it; frees `kh` (NULL: nothing). */
void es_keyholder_stop(struct es_keyholder *kh);

pid_t es_keyholder_pid(const struct es_keyholder *kh);

/* True when the holder has ended (reaped; never blocks), with how in `why`. */
bool es_keyholder_ended(struct es_keyholder *kh, char *why, size_t len);

/* True once a request found the holder gone (or es_keyholder_ended saw it end). */
bool es_keyholder_gone(struct es_keyholder *kh);

/* certcore's key source (cc_key_source_fn; `arg` is the es_keyholder). */
enum cc_err es_keyholder_key(void *arg, const char *thumb, X509 *x, EVP_PKEY **key, char *why,
                             size_t len);

/*
 * es_credential_decrypt_fn (`arg` is the es_keyholder): the holder opens `der` with the key of
 * `c`. ES_ERR_CREDENTIAL with the holder's reason when it refuses; ES_ERR_KEYHOLDER when it is
 * gone. The password is owned (es_secret_free).
 */
enum es_err es_keyholder_decrypt(void *arg, const unsigned char *der, size_t len, struct cc_cert *c,
                                 char **password) ES_WUR;

#endif
