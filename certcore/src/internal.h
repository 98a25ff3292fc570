/* certcore private helpers, shared by its source files; not installed. */
#ifndef CERTCORE_INTERNAL_H
#define CERTCORE_INTERNAL_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/x509.h>

#include "certcore/cert.h"
#include "certcore/error.h"
#include "certcore/fileio.h"

/* Records a detail for cc_errdetail() and returns `e`. */
enum cc_err cc_seterr(enum cc_err e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* As cc_seterr, appending ": " and OpenSSL's queued reasons (the queue is drained). */
enum cc_err cc_seterr_ssl(enum cc_err e, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* As cc_seterr, appending ": " and strerror(errno). */
enum cc_err cc_seterr_errno(enum cc_err e, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/*
 * A host name as RFC 1123 section 2.1 allows, optionally with one wildcard left-most label
 * ("*.contoso.com"): what CertificateDomains may hold.
 */
bool cc_dns_name_valid(const char *d);

/*
 * Why a certificate cannot serve TLS whatever its Status (EKU, key type and size, private key),
 * or NULL; cc_cert_ineligible_reason is this and Status Valid. `buf` holds the text.
 */
struct cc_store;
const char *cc_cert_unusable_reason(const struct cc_store *s, const struct cc_cert *c, char *buf,
                                    size_t len);

/*
 * Upper-case hex of `n` bytes after `prefix` ("00" for none), as a thumbprint or openssl's
 * -serial prints them (owned, free()).
 */
enum cc_err cc_hex_upper(const unsigned char *p, size_t n, const char *prefix, char **out) CC_WUR;

/* The Services column of certctl's tables: one letter a service, '.' when off ("..U.S."). */
#define CC_SERVICES_LETTERS 6
void cc_services_letters(unsigned services, char out[CC_SERVICES_LETTERS + 1]);

/* asprintf that returns NULL on failure. */
char *cc_aprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Test hook: called by store writers between the steps of a write with the step's name. Tests
 * set it to end the process at a chosen step; NULL in production.
 */
extern void (*cc_store_fault_hook)(const char *step);

struct cc_store;

/*
 * Takes the store's writer lock (an exclusive flock on ".lock"), for writers outside store.c
 * that keep their own files under the store (requests/). Release it with cc_store_unlock()
 * before calling a store function that writes (cc_store_add, ...): those take it themselves,
 * and a second flock on another descriptor of the same process would wait for ever.
 */
enum cc_err cc_store_lock(struct cc_store *s) CC_WUR;
void cc_store_unlock(struct cc_store *s);

/* cc_store_add under the lock the caller took with cc_store_lock (CC_ERR_LOCK without it). */
enum cc_err cc_store_add_locked(struct cc_store *s, X509 *x, STACK_OF(X509) * chain, EVP_PKEY *key,
                                const struct cc_meta *meta,
                                char thumb_out[CC_THUMB_LEN + 1]) CC_WUR;

/*
 * Records the trust model's status for a certificate (cc_store_verify_all); cc_cert_status and
 * cc_cert_root_ca_type then return it instead of the store-less approximation.
 */
void cc_cert_set_verified(struct cc_cert *c, enum cc_status st, enum cc_root_ca_type root,
                          const char *reason);

/*
 * Writes a private key as unencrypted PKCS#8 PEM, atomically, mode 0600, as the file `name` of
 * the folder open as `dirfd` (`dir` its path, for messages); the PEM text is made in secure-heap
 * memory and wiped (keys/ and requests/ both keep keys this way).
 */
enum cc_err cc_key_write_pem_at(int dirfd, const char *dir, const char *name, EVP_PKEY *key) CC_WUR;

/*
 * Reads the private key `name` of the folder open as `dirfd` (`dir` its path, for messages), as
 * cc_key_write_pem_at wrote it: unencrypted PEM, in a file no one but its owner may read, of at
 * most `max` bytes; the file's bytes are wiped after. Besides cc_file_read_at's errors
 * (CC_ERR_NOT_FOUND, ...): CC_ERR_PERM when group or others may read the file (as sshd refuses
 * such a key), CC_ERR_KEY_ENCRYPTED when it asks for a password (none is ever given: daemons read
 * keys unattended), CC_ERR_PARSE with OpenSSL's reason when it holds no key. The detail of these
 * three says what is wrong without the file's name, which the caller adds as it shows files
 * (keys/ and requests/ both read their keys this way).
 */
enum cc_err cc_key_read_pem_at(int dirfd, const char *dir, const char *name, size_t max,
                               EVP_PKEY **key) CC_WUR;

/*
 * A folder of a store, open without following symbolic links (a review found: with keys/ a link to
 * another directory, root's certctl wrote and removed key files there). Its files are reached
 * with fileio.h's *_at calls and fstatat/unlinkat on `fd`; `path` names it in messages.
 */
struct cc_dir {
	int fd;     /* -1: not open */
	char *path; /* owned */
};

/*
 * Opens `folder` of the store ("keys", "trust/registry"), one component at a time from the
 * store's own descriptor, each with O_NOFOLLOW, and each a directory that this user or root
 * owns and that neither its group nor others may write to (whoever can write to a folder can
 * put a link in place of what is in it). CC_ERR_PERM naming the folder and why otherwise;
 * CC_ERR_NOT_FOUND when it does not exist. `d` is closed on failure; cc_dir_close it after use.
 */
enum cc_err cc_store_dir(const struct cc_store *s, const char *folder, struct cc_dir *d) CC_WUR;
void cc_dir_close(struct cc_dir *d);
/* A listing of the folder (its own descriptor, so `d` stays usable); NULL with errno. */
DIR *cc_dir_opendir(const struct cc_dir *d);

/*
 * Opens `name` of the directory `parent` (`path` and `what`, "store" or "store folder", in
 * messages) never through a link, and only when check_owner passes: a directory of this user or
 * root that neither its group nor others may write to.
 */
enum cc_err cc_open_folder(int parent, const char *name, const char *what, const char *path,
                           int *fd) CC_WUR;

/*
 * The one reader of key files (keyfile.c): `name` of the folder open as `dirfd`. CC_OK with
 * *key, or CC_OK with *key NULL and why it cannot be used in `why`; CC_ERR_NOMEM.
 */
enum cc_err cc_key_read_at(int dirfd, const char *dir, const char *name, EVP_PKEY **key, char *why,
                           size_t len) CC_WUR;

/* The key maker cc_store_set_key_maker set, or NULL. */
const struct cc_key_maker *cc_store_key_maker(void);

/* A file a listing passed over, and why: the store's (cc_store_problem_*) and requests/'s. */
struct cc_problem {
	char *path;   /* owned */
	char *reason; /* owned */
};
/* Appends copies of `path` and `reason` to the *n problems of *v; CC_ERR_NOMEM naming `what`. */
enum cc_err cc_problem_add(struct cc_problem **v, size_t *n, const char *what, const char *path,
                           const char *reason) CC_WUR;
/* Frees the `n` problems of `v` and `v` (NULL: nothing). */
void cc_problems_free(struct cc_problem *v, size_t n);

/* A distinguished name as RFC 2253 text (owned, free()), as every certcore view prints it. */
enum cc_err cc_name_rfc2253(const X509_NAME *n, char **out) CC_WUR;

#endif
