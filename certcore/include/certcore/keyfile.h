/*
 * A store's keys/ folder on its own, for a process that holds a store's private keys for
 * another and may reach nothing else of the store (umd's key holder, um/src/keys/keyserve.h,
 * whose Landlock sandbox grants it keys/ alone). The rules are the store's own: the folder is
 * opened without following links and only when this user or root owns it and nobody else may
 * write to it; a key file is read as the store loads it (0600, PKCS#8 or traditional PEM, no
 * password) and written as cc_store_add writes it (unencrypted PKCS#8, 0600, a temporary name,
 * fsync and rename).
 *
 * No lock is taken: the process that writes the store's entry (certificate and meta) holds the
 * store's lock while it asks for the key to be written, as cc_store_add does (store.h,
 * cc_store_set_key_maker).
 */
#ifndef CERTCORE_KEYFILE_H
#define CERTCORE_KEYFILE_H

#include <stddef.h>

#include <openssl/evp.h>

#include "certcore/cert.h"
#include "certcore/error.h"

struct cc_keydir;

/* Opens `store`/keys. *out NULL on entry, owned on success. */
enum cc_err cc_keydir_open(const char *store, struct cc_keydir **out) CC_WUR;
void cc_keydir_free(struct cc_keydir *k);

/*
 * Reads keys/THUMB.key (`thumb` 40 hex digits). CC_OK with *key owned; or CC_OK with *key NULL
 * and the reason it cannot be used in `why` (missing, open to others, password protected, not
 * a key), as the store records it as a problem; or CC_ERR_NOMEM.
 */
enum cc_err cc_keydir_read(struct cc_keydir *k, const char *thumb, EVP_PKEY **key, char *why,
                           size_t len) CC_WUR;

/* Writes keys/THUMB.key; CC_ERR_EXISTS when there is one: a key file is never replaced. */
enum cc_err cc_keydir_write(struct cc_keydir *k, const char *thumb, EVP_PKEY *key) CC_WUR;

/* Removes keys/THUMB.key (none: CC_OK). */
enum cc_err cc_keydir_remove(struct cc_keydir *k, const char *thumb) CC_WUR;

#endif
