/*
 * The key holder's side (keyproto.h): the loop of the small process umd forks at start
 * (keyholder.h), which alone reads the store's private keys and signs digests with them.
 */
#ifndef UM_KEYS_KEYSERVE_H
#define UM_KEYS_KEYSERVE_H

#include "certcore/log.h"

/*
 * Answers requests on `fd` until the other end closes it; returns the process's exit status
 * (0 at an orderly end). Keys come from the store at `store`, of which only keys/ is touched
 * (certcore/keyfile.h): LOAD reads a certificate's key file and checks it against the
 * certificate sent along; MAKE makes a key, WRITE writes it for its certificate (never over a
 * file), REMOVE takes back only what WRITE wrote. Only RSA (PKCS#1 v1.5, PSS) and ECDSA
 * signatures of SHA-2 digests are made; nothing is decrypted.
 */
int um_keyserve_run(int fd, const char *store, struct cc_log *log);

#endif
