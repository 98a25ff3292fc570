/*
 * umd's key holder (key custody). The process that parses SIP from the network holds no
 * private key: a small process forked at start, before anything reads network input and before
 * any thread exists, reads the store's keys and signs for it over a socketpair (keyproto.h,
 * keyserve.h), as OpenSMTPD's and relayd's ca.c do.
 *
 * In umd, a key of the store becomes the certificate's public key with private operations that
 * ask the holder: an RSA key signs through an RSA pkey method of umd's (PKCS#1 v1.5 and PSS,
 * the digest, padding, MGF1 digest and salt length sent as such, so the holder does the
 * padding), an EC key through an EC_KEY_METHOD (ECDSA of the digest). OpenSSL 3.0 keeps such
 * "foreign" keys on its legacy path, where these methods are called; libssl uses them for TLS
 * 1.2 and 1.3 signatures as server (the UM certificate) and as client (the SMTP certificate).
 * Decryption is refused: umd's suites never decrypt with the certificate's key.
 *
 * um_keyholder_key is certcore's key source (cc_store_set_key_source): every store umd opens
 * asks the holder to load the key of each certificate (the holder reads its key file and checks
 * it against the certificate, sent along), and gets the stand-in. Requests come from any thread
 * (the SIP thread's handshakes, the submission thread's, the CRL fetcher's store reads); one at a
 * time.
 */
#ifndef UM_KEYS_KEYHOLDER_H
#define UM_KEYS_KEYHOLDER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "certcore/error.h"
#include "certcore/log.h"
#include "error.h"

struct um_keyholder;

/*
 * Forks the holder for the store at `store` (its path copied). Call it while the process has one
 * thread. The holder logs to `log`'s stream (errors only). *out NULL on entry, owned on success.
 */
enum um_err um_keyholder_start(const char *store, struct cc_log *log,
                               struct um_keyholder **out) UM_WUR;

/*
 * Closes the socket, so the holder ends, and waits for it; frees `kh` (NULL: nothing). Keys made
 * by um_keyholder_key must be freed first or never used again.
 */
void um_keyholder_stop(struct um_keyholder *kh);

/* The holder's process id. */
pid_t um_keyholder_pid(const struct um_keyholder *kh);

/*
 * For SIGCHLD: true when the holder has ended (it is reaped), with how in `why` ("killed by
 * signal 9", "exited with status 1"). umd cannot start another: its keys are out of its reach.
 */
bool um_keyholder_ended(struct um_keyholder *kh, char *why, size_t len);

/*
 * certcore's key source (cc_key_source_fn; `arg` is the um_keyholder): asks the holder to load
 * the key of `thumb`, and makes *key, the public key of `x` whose signatures the holder makes.
 * A key the holder cannot load: *key NULL and its reason in `why`.
 */
enum cc_err um_keyholder_key(void *arg, const char *thumb, X509 *x, EVP_PKEY **key, char *why,
                             size_t len);

/*
 * certcore's key maker (struct cc_key_maker; `arg` is the um_keyholder), so that the keys of
 * the self-signed certificates umd makes and renews are made and written by the holder too:
 * make asks it for a new key of certcore's `key_type` (the holder keeps it, named by the SHA-1
 * of its public key) and returns its stand-in, with which certcore signs the certificate (the
 * holder signs the digest); write has the holder write that key as keys/THUMB.key for `x`,
 * which must carry it (never over an existing file); remove takes such a file back when the
 * store's add failed before its commit point. This process never writes under keys/.
 */
enum cc_err um_keyholder_make(void *arg, int key_type, EVP_PKEY **key, char *why, size_t len);
enum cc_err um_keyholder_write(void *arg, const char *thumb, X509 *x, EVP_PKEY *key, char *why,
                               size_t len);
enum cc_err um_keyholder_remove(void *arg, const char *thumb, char *why, size_t len);

#endif
