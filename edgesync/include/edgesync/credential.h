/*
 * The edge bind password as the source directory keeps it: CMS (RFC 5652) enveloped to the
 * replicators' certificates, AES-256-GCM (AuthEnvelopedData, RFC 5083), DER. Only a holder of a
 * recipient's private key (a replicator's certcore store) can read it; the directory, its
 * backups and anyone who reads them see ciphertext.
 */
#ifndef EDGESYNC_CREDENTIAL_H
#define EDGESYNC_CREDENTIAL_H

#include <stddef.h>

#include <openssl/x509.h>

#include "certcore/store.h"
#include "edgesync/error.h"

#define ES_CREDENTIAL_MAX 1024 /* bytes of a password */

/* Encrypts `password` to every certificate of `recipients`. *der is owned (OPENSSL_free). */
enum es_err es_credential_seal(const char *password, STACK_OF(X509) * recipients,
                               unsigned char **der, size_t *len) ES_WUR;

/*
 * Decrypts with the first certificate of the store whose private key opens it (the replicator's
 * current certificate, or an older one it kept after renewal); only certificates the envelope
 * names as recipients are tried. ES_ERR_CREDENTIAL when none does or the content was tampered
 * with. The password is owned: es_secret_free.
 */
enum es_err es_credential_open(const unsigned char *der, size_t len, struct cc_store *store,
                               char **password) ES_WUR;

/*
 * Who decrypts for es_credential_open_via: opens the envelope `der` with the private key of the
 * store's certificate `c` (borrowed). The password is owned (es_secret_free). ES_ERR_CREDENTIAL
 * when that key does not open it; any other error ends the search (ES_ERR_KEYHOLDER: the key
 * holder is gone).
 */
typedef enum es_err (*es_credential_decrypt_fn)(void *arg, const unsigned char *der, size_t len,
                                                struct cc_cert *c, char **password);

/*
 * As es_credential_open, but the keys are elsewhere (edgesync's key holder, keyholder.h): each
 * certificate of the store that has a private key and is a recipient of the envelope is handed
 * to `fn` until one opens it.
 */
enum es_err es_credential_open_via(const unsigned char *der, size_t len, struct cc_store *store,
                                   es_credential_decrypt_fn fn, void *arg, char **password) ES_WUR;

/* Decrypts with one certificate and key (tests, and callers that chose the key). */
enum es_err es_credential_open_with(const unsigned char *der, size_t len, X509 *cert, EVP_PKEY *key,
                                    char **password) ES_WUR;

#endif
