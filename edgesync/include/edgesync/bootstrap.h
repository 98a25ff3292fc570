/*
 * The edge side of a subscription (New-EdgeSubscription), `edgesync subscription new`:
 *
 *   1. the edge directory's LDAPS certificate: certcore's choice for service LDAP and the edge's
 *      FQDN in the edge's store, or a new self-signed one (SelfSignedCertificateCreated, 1002);
 *   2. a check that the edge directory at [edge] url serves exactly that key (a pinned
 *      handshake): a file pinning a key the directory does not serve would be refused by every
 *      replicator;
 *   3. the bootstrap account cn=edgesync,BASE (person) with a random password set by the
 *      Password Modify operation (RFC 3062: the directory hashes it), governed by the password
 *      policy cn=edgesync-policy,BASE (ppolicy overlay) whose pwdMaxAge is the file's validity:
 *      the edge directory itself refuses the password once the file has expired;
 *   4. the subscription file, 0600, written atomically.
 *
 * Nothing protects the file on its way to the replicator, and whoever can change it chooses the
 * key the replicator will trust: the result carries the key's pin for the administrator to take
 * over another way (read out, as SSH's host key fingerprint), and `subscription import` will not
 * write anything unless it is given that pin.
 */
#ifndef EDGESYNC_BOOTSTRAP_H
#define EDGESYNC_BOOTSTRAP_H

#include <stdbool.h>
#include <time.h>

#include "certcore/cert.h"
#include "certcore/log.h"
#include "edgesync/config.h"
#include "edgesync/error.h"
#include "edgesync/pin.h"

#define ES_BOOTSTRAP_ACCOUNT "cn=edgesync"
#define ES_BOOTSTRAP_POLICY  "cn=edgesync-policy"

struct es_bootstrap_result {
	char thumb[CC_THUMB_LEN + 1]; /* the edge certificate */
	bool created;                 /* made now (else reused) */
	struct es_pin pin;            /* its key: what `import --pin` must be given */
	char *bind_dn;                /* owned */
	time_t effective;
	int minutes;
};

enum es_err es_bootstrap_subscription(const struct es_config *cfg, struct cc_log *log, int minutes,
                                      time_t now, const char *out_path,
                                      struct es_bootstrap_result *res) ES_WUR;
void es_bootstrap_result_clear(struct es_bootstrap_result *res);

#endif
