/*
 * Who owns a dialog (one gateway must not end or change another's call). The
 * gateway that placed a call owns its dialog: in the secure modes the gateway entry that
 * accepted its TLS connection and the certificate it presented there; in unsecured mode its
 * gateway entry and its IP address. Every request inside the dialog (BYE, re-INVITE, UPDATE,
 * INFO, ACK, ...) must come from that owner: sip.c asks um_owner_check() before nua sees it.
 */
#ifndef UM_DIALOG_H
#define UM_DIALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <openssl/x509.h>

#include "config.h"
#include "error.h"

struct um_owner {
	char gateway[128];            /* the [gateway] entry's name */
	struct sockaddr_storage addr; /* where the dialog-creating request came from */
	unsigned char cert[32];       /* SHA-256 of the certificate it presented (secure modes) */
	bool has_cert;
};

/*
 * Records the owner of a new dialog: the gateway entry `gw` that accepted the request from
 * `peer`, presenting `cert` (NULL in unsecured mode; borrowed).
 */
enum um_err um_owner_set(struct um_owner *o, const struct um_gateway *gw,
                         const struct sockaddr *peer, X509 *cert) UM_WUR;

/*
 * Whether a request from `peer` presenting `cert` (NULL: none, or unsecured mode) comes from
 * the owner `o`, under the configuration `cfg` in force now. false with the reason in `why`.
 * With `secure`, a request without a certificate never does.
 */
bool um_owner_check(const struct um_owner *o, const struct um_config *cfg,
                    const struct sockaddr *peer, X509 *cert, bool secure, char *why, size_t len);

#endif
