/*
 * certcore error codes: one flat set, one table of messages (error.c).
 *
 * Fallible functions return enum cc_err and are marked CC_WUR. When a failure comes from
 * OpenSSL, libldap or the system, the function records the library's own reason at that point;
 * cc_errdetail() returns it (thread-local, valid until the next failure on the same thread).
 */
#ifndef CERTCORE_ERROR_H
#define CERTCORE_ERROR_H

#include <stddef.h>

#define CC_WUR __attribute__((warn_unused_result))

enum cc_err {
	CC_OK = 0,
	CC_ERR_NOMEM,         /* out of memory */
	CC_ERR_INVAL,         /* invalid argument */
	CC_ERR_IO,            /* file system error */
	CC_ERR_CRYPTO,        /* OpenSSL failed */
	CC_ERR_NOT_FOUND,     /* no such certificate */
	CC_ERR_EXISTS,        /* already exists */
	CC_ERR_PARSE,         /* malformed input */
	CC_ERR_PERM,          /* unsafe permissions */
	CC_ERR_LOCK,          /* store lock failed */
	CC_ERR_KEY_MISMATCH,  /* private key does not match the certificate */
	CC_ERR_KEY_ENCRYPTED, /* private key is password protected */
	CC_ERR_NO_KEY,        /* private key missing */
	CC_ERR_STATE,         /* state file unreadable */
	CC_ERR_NO_EXPORT,     /* private key may not leave the store (not exportable) */
	CC_ERR_PASSWORD,      /* wrong password (PKCS#12) */
	CC_ERR_LIMIT, /* input asks for more work than certcore allows (PKCS#12 iterations) */
	CC_ERR__MAX
};

/* Static text for an error code; never NULL. */
const char *cc_strerror(enum cc_err e);

/*
 * The detail recorded by the last failing certcore call on this thread ("" when none): what
 * failed and the underlying library's reason.
 */
const char *cc_errdetail(void);

/*
 * Appends OpenSSL's queued reasons on this thread to the string in `buf` (`len` bytes, always
 * NUL-terminated): ": reason - data; reason ...", or ": no reason given by OpenSSL" when the
 * queue is empty. The queue is drained, so the next failure does not inherit stale reasons.
 * certcore's own errors use it; so do the daemons' error types, so that every component says
 * OpenSSL's reason in the same words.
 */
void cc_ssl_reasons(char *buf, size_t len);

#endif
