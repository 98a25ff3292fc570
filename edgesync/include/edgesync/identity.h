/*
 * The replicator's own certificate: the one its credentials are encrypted to. It lives in the
 * replicator's certcore store ([edgesync] store) and is chosen as certcore chooses for service
 * LDAP (select.h: enabled for LDAP, eligible for TLS, CA-issued before self-signed, then the
 * newest). When none is eligible, a self-signed one is made for the host's FQDN and short name,
 * RSA 2048, service LDAP, and SelfSignedCertificateCreated (1002) is logged.
 */
#ifndef EDGESYNC_IDENTITY_H
#define EDGESYNC_IDENTITY_H

#include <stdbool.h>

#include <openssl/x509.h>

#include "certcore/cert.h"
#include "certcore/log.h"
#include "certcore/store.h"
#include "edgesync/error.h"

/*
 * The certificate: an owned reference (cc_cert_free), valid across reloads of the store, so a
 * daemon keeps using it while a renewal or a rotation rewrites the store. With `create` false
 * and none eligible, ES_ERR_NOT_FOUND. `log` may be NULL.
 */
enum es_err es_identity_select(struct cc_store *s, bool create, struct cc_log *log,
                               struct cc_cert **out) ES_WUR;

/*
 * The recipients of a credential: `self`, then the certificates of the PEM files `extra`
 * (NULL-terminated, may be NULL): other replicators that share the edges. Owned stack.
 */
enum es_err es_identity_recipients(struct cc_cert *self, char *const *extra,
                                   STACK_OF(X509) * *out) ES_WUR;

#endif
