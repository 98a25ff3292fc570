/* Dialog ownership (dialog.h). */
#include <stdio.h>
#include <string.h>

#include <netinet/in.h>
#include <openssl/evp.h>

#include "dialog.h"
#include "sip.h"

static bool
cert_digest(X509 *cert, unsigned char out[32])
{
	unsigned int n = 0;

	return X509_digest(cert, EVP_sha256(), out, &n) == 1 && n == 32;
}

/* The same IP address (the port is not compared: a gateway may use another connection). */
static bool
same_host(const struct sockaddr_storage *a, const struct sockaddr *b)
{
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;
	const struct sockaddr_in6 *a6 = (const void *)a, *b6 = (const void *)b;

	if (b == NULL || a->ss_family != b->sa_family)
		return false;
	if (b->sa_family == AF_INET)
		return a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	if (b->sa_family == AF_INET6)
		return memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr)) == 0;
	return false;
}

enum um_err
um_owner_set(struct um_owner *o, const struct um_gateway *gw, const struct sockaddr *peer,
             X509 *cert)
{
	socklen_t len;

	memset(o, 0, sizeof(*o));
	if (gw == NULL || peer == NULL)
		return um_seterr(UM_ERR_INVAL, "dialog owner: no gateway or address");
	len = peer->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
	                                  : sizeof(struct sockaddr_in);
	if (peer->sa_family != AF_INET && peer->sa_family != AF_INET6)
		return um_seterr(UM_ERR_INVAL, "dialog owner: address family %d", peer->sa_family);
	memcpy(&o->addr, peer, len);
	snprintf(o->gateway, sizeof(o->gateway), "%s", gw->name);
	if (cert != NULL) {
		if (!cert_digest(cert, o->cert))
			return um_seterr(UM_ERR_NOMEM, "dialog owner: certificate digest");
		o->has_cert = true;
	}
	return UM_OK;
}

bool
um_owner_check(const struct um_owner *o, const struct um_config *cfg, const struct sockaddr *peer,
               X509 *cert, bool secure, char *why, size_t len)
{
	const struct um_gateway *gw;
	unsigned char d[32];
	char reason[256];
	bool ok = false; /* fail closed: every rule below must pass */

	if (secure && cert == NULL) {
		snprintf(why, len,
		         "no TLS client certificate on the connection of a request in a "
		         "dialog of gateway %s",
		         o->gateway);
		goto out;
	}
	if (secure && (!o->has_cert || !cert_digest(cert, d) || memcmp(d, o->cert, 32) != 0)) {
		snprintf(why, len, "certificate is not the one gateway %s placed the call with",
		         o->gateway);
		goto out;
	}
	if (!secure && !same_host(&o->addr, peer)) {
		snprintf(why, len, "address is not the one gateway %s placed the call from",
		         o->gateway);
		goto out;
	}
	if ((gw = um_gateway_match(cfg, peer, cert, reason, sizeof(reason))) == NULL) {
		snprintf(why, len, "%s", reason);
		goto out;
	}
	if (strcmp(gw->name, o->gateway) != 0) {
		snprintf(why, len, "request from gateway %s in a dialog of gateway %s", gw->name,
		         o->gateway);
		goto out;
	}
	ok = true;
out:
	return ok;
}
