/*
 * struct cc_store: a certificate store directory (README, "The store").
 *
 *   certs/THUMB.pem   leaf then chain            keys/THUMB.key  PKCS#8, 0600
 *   meta/THUMB.ini    services, name, exportable  requests/       pending CSRs and keys
 *   trust/{registry,enterprise,grouppolicy}/      crl/            state/
 *
 * The directory and its folders are 0700. Readers need no lock: every file is written to a
 * temporary name, fsync'd and renamed. Writers take an exclusive flock on ".lock", so two
 * processes writing at once serialise. Loading never fails as a whole because of one bad entry:
 * each bad file is recorded as a problem (path and reason) and the rest loads.
 */
#ifndef CERTCORE_STORE_H
#define CERTCORE_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "certcore/cert.h"
#include "certcore/error.h"

#define CC_STORE_CREATE 0x1 /* create the directory layout when missing */
/*
 * Read without the readers' shared lock: for a process that a writer of the store may ask for a
 * key while it holds the lock (umd's key holder, asked from inside a write that reloads). An
 * entry a writer is making may be missed (its certificate, the commit point, not there yet) or
 * reported as an orphan key. Such a store is for reading only.
 */
#define CC_STORE_NO_LOCK 0x2

#define CC_STORE_DEFAULT_PATH "/var/lib/umedge/store"

struct cc_store;

/* Opens (and with CC_STORE_CREATE creates) the store at `path` and loads it. */
enum cc_err cc_store_open(const char *path, int flags, struct cc_store **out) CC_WUR;
void cc_store_free(struct cc_store *s);

/*
 * A first write that fails must leave nothing behind. cc_store_created: this handle's open
 * (CC_STORE_CREATE) made the store's directory. cc_store_discard frees `s` as cc_store_free does,
 * after removing what its open made (the layout's folders; with the whole layout the lock file;
 * the store's directory and the parents made for it) while the layout still holds nothing: a
 * store that was there, or one another writer has written to meanwhile, is only freed. A failed
 * cc_store_open discards by itself. NULL is a no-op.
 */
bool cc_store_created(const struct cc_store *s);
void cc_store_discard(struct cc_store *s);

/* Reads the directory again (certificates, keys, meta), replacing what was loaded. */
enum cc_err cc_store_reload(struct cc_store *s) CC_WUR;

const char *cc_store_path(const struct cc_store *s);

/* Loaded certificates, in thumbprint order. Borrowed; valid until the next reload or write. */
size_t cc_store_count(const struct cc_store *s);
struct cc_cert *cc_store_cert(const struct cc_store *s, size_t i);
/* Finds by thumbprint (any case, with or without separators). CC_ERR_NOT_FOUND when absent. */
enum cc_err cc_store_find(const struct cc_store *s, const char *thumb, struct cc_cert **out) CC_WUR;

/*
 * Where a process whose private keys another process holds gets them (umd's key holder,
 * um/src/keyholder.h; OpenSMTPD's ca.c does the same). Once set, every store of the process
 * reads no file of keys/: for each certificate whose keys/THUMB.key exists, `fn` is asked for
 * a key that stands for it (its public half, its private operations done elsewhere), given
 * the certificate `x` (borrowed). It returns CC_OK with *key owned by the caller, or CC_OK
 * with *key NULL and the reason in `why` (recorded as the key file's problem, as a key file
 * that cannot be read), or CC_ERR_NOMEM. NULL: keys are read from keys/ again. Set it before
 * any thread opens a store.
 */
typedef enum cc_err (*cc_key_source_fn)(void *arg, const char *thumb, X509 *x, EVP_PKEY **key,
                                        char *why, size_t len);
void cc_store_set_key_source(cc_key_source_fn fn, void *arg);

/*
 * Where such a process gets new keys, and has them written (umd's key holder makes the keys of
 * the self-signed certificates umd makes and renews, and writes them to keys/ itself). Once
 * set (with a key source), keys for the store are made by `make` (cc_store_new_self_signed,
 * cc_store_renew, cc_store_clone, cc_store_auto_renew, hence cc_store_select_or_create): a key
 * of `key_type` (enum cc_key_type) that stands for one held elsewhere, signing there. And
 * cc_store_add writes a certificate's key with `write` (keys/THUMB.key for the certificate `x`,
 * borrowed) instead of writing it itself, under the store's lock; a key `make` did not return
 * is refused there. When the add fails before its commit point, `remove` takes the key file
 * back. Each returns CC_OK, or an error with the reason in `why`. NULL: keys are made and
 * written here again. `m` is copied. Set it before any thread opens a store.
 */
struct cc_key_maker {
	enum cc_err (*make)(void *arg, int key_type, EVP_PKEY **key, char *why, size_t len);
	enum cc_err (*write)(void *arg, const char *thumb, X509 *x, EVP_PKEY *key, char *why,
	                     size_t len);
	enum cc_err (*remove)(void *arg, const char *thumb, char *why, size_t len);
	void *arg;
};
void cc_store_set_key_maker(const struct cc_key_maker *m);

/* Entries that could not be loaded at the last (re)load: the file and the reason. */
size_t cc_store_problem_count(const struct cc_store *s);
const char *cc_store_problem_path(const struct cc_store *s, size_t i);
const char *cc_store_problem_reason(const struct cc_store *s, size_t i);

/*
 * Adds a certificate with its chain (may be NULL), private key (may be NULL) and meta, under the
 * lock: key first, then meta, then the certificate (the certificate's rename is the commit
 * point). CC_ERR_EXISTS when the thumbprint is already stored. `thumb_out` (may be NULL)
 * receives the thumbprint. Afterwards the handle's view is the store as it is: when no other
 * writer wrote since this handle last looked (a generation counter in the lock file says so)
 * only the new entry is loaded, otherwise the whole store is reloaded. The same holds for
 * cc_store_enable and cc_store_remove.
 */
enum cc_err cc_store_add(struct cc_store *s, X509 *x, STACK_OF(X509) * chain, EVP_PKEY *key,
                         const struct cc_meta *meta, char thumb_out[CC_THUMB_LEN + 1]) CC_WUR;

/* Adds services to a certificate (never removes, as Enable-ExchangeCertificate). */
enum cc_err cc_store_enable(struct cc_store *s, const char *thumb, unsigned services) CC_WUR;

/* Removes a certificate, its meta, its key and its expiry state. */
enum cc_err cc_store_remove(struct cc_store *s, const char *thumb) CC_WUR;

/*
 * Reads and writes small state records (state/NAME.ini, key = value lines) for the expiry clock
 * and later for daemons. Writes take the lock and are atomic. A missing record reads as no keys.
 */
enum cc_err cc_store_state_get(struct cc_store *s, const char *name, const char *key, char *val,
                               size_t len) CC_WUR;
enum cc_err cc_store_state_set(struct cc_store *s, const char *name, const char *const *keys,
                               const char *const *vals, size_t n) CC_WUR;

#endif
