/*
 * edgesync error codes: one flat set, one table of messages (error.c), as certcore's error.h.
 *
 * Fallible functions return enum es_err and are marked ES_WUR. When a failure comes from libldap,
 * OpenSSL, certcore or the system, the function records the library's own reason at that point;
 * es_errdetail() returns it (thread-local, valid until the next failure on the same thread).
 * Details never hold a password or a key.
 */
#ifndef EDGESYNC_ERROR_H
#define EDGESYNC_ERROR_H

#define ES_WUR __attribute__((warn_unused_result))

enum es_err {
	ES_OK = 0,
	ES_ERR_NOMEM,        /* out of memory */
	ES_ERR_INVAL,        /* invalid argument */
	ES_ERR_IO,           /* file system error */
	ES_ERR_CONFIG,       /* configuration error */
	ES_ERR_PARSE,        /* malformed input */
	ES_ERR_CRYPTO,       /* OpenSSL failed */
	ES_ERR_CERT,         /* certificate store error */
	ES_ERR_CONNECT,      /* directory unreachable */
	ES_ERR_PIN_MISMATCH, /* edge key does not match a pinned certificate */
	ES_ERR_BIND,         /* bind refused */
	ES_ERR_LDAP,         /* LDAP operation failed */
	ES_ERR_NOT_FOUND,    /* no such object */
	ES_ERR_EXISTS,       /* already exists */
	ES_ERR_EXPIRED,      /* expired */
	ES_ERR_LEASE_HELD,   /* another replicator holds the lease */
	ES_ERR_LEASE_LOST,   /* the lease changed under us */
	ES_ERR_SOURCE,       /* source result incomplete */
	ES_ERR_EDGE,         /* edge refused a write */
	ES_ERR_CONFLICT,     /* an entry edgesync did not create is in the way */
	ES_ERR_CREDENTIAL,   /* credential cannot be decrypted */
	ES_ERR_INTERRUPTED,  /* stopped by a signal */
	ES_ERR_LIMIT,        /* the source's size limit cut an unpaged read */
	ES_ERR_COOKIE,       /* the source refused the sync cookie */
	ES_ERR_KEYHOLDER,    /* the key holder is gone (keyholder.h) */
	ES_ERR__MAX
};

/* Static text for an error code; never NULL. */
const char *es_strerror(enum es_err e);

/* What failed and the underlying library's reason ("" when none); thread-local. */
const char *es_errdetail(void);

#endif
