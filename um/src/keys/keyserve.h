/*
 * The key holder's side (keyproto.h): the loop of the small process umd forks at start
 * (keyholder.h), which alone reads the store's private keys and signs digests with them.
 */
#ifndef UM_KEYS_KEYSERVE_H
#define UM_KEYS_KEYSERVE_H

#include "certcore/log.h"

/*
 * Answers requests on `fd` until the other end closes it; returns the process's exit status
 * (0 at an orderly end). Keys come from the store at `store`, read again on each LOAD (at most
 * once a second: a burst of LOADs while umd loads the store reads it once). Only RSA
 * (PKCS#1 v1.5, PSS) and ECDSA signatures of SHA-2 digests are made; nothing is decrypted.
 */
int um_keyserve_run(int fd, const char *store, struct cc_log *log);

#endif
