/* umd's hold on sofia-sip's TLS contexts (tlshook.h). */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "certcore/events.h"
#include "config.h"
#include "optfast.h"
#include "seam.h"
#include "sipframe.h"
#include "tlshook.h"

#define MAX_CONTEXTS 8

/* What umd knows of one TLS connection (SSL ex data, freed with the SSL). */
struct conn {
	SSL *ssl;
	time_t start;
	bool done;      /* handshake finished */
	bool reported;  /* a failure was logged for it already */
	bool counted;   /* counted as an open connection */
	bool crl_asked; /* missing CRLs of its chain were asked for (um_tls_set_crl_miss) */
	char peer[64];
	struct sockaddr_storage addr; /* the peer's address and port, once the handshake is done */
	struct conn **list;           /* tls.pending or tls.live, or NULL: on no list */
	struct um_sipframe frame;     /* where the SIP message being received is */
	time_t msg_start;             /* when it began; 0: none is half-way */
	char host[INET6_ADDRSTRLEN];  /* the peer's address as text, for the fast path; "": none */
	unsigned port;
	bool sofia_blocked; /* sofia-sip's last SSL_write did not complete: it will retry */
	bool swallowed; /* SSL_read answered every message it read: "want read" (SSL_get_error) */
	bool skip_read; /* ... and the next SSL_read of this wake-up returns the same */
	char *own;      /* a fast-path answer OpenSSL has not sent yet (SSL_write's retry) */
	int own_len;
	struct conn *prev, *next;
};

static struct {
	bool armed;
	bool require_cert;
	struct cc_log *log;
	struct um_metrics *metrics;
	um_peer_check_fn check;
	void *check_arg;
	X509 *x;
	STACK_OF(X509) * chain;
	EVP_PKEY *key;
	X509_STORE *trust;
	STACK_OF(X509_NAME) * ca_names; /* NULL: sofia-sip's list is left alone */
	unsigned ca_gen;                /* bumped by each um_tls_set_client_ca_names */
	bool require_crl;
	um_tls_fast_fn fast; /* the keep-alive fast path (um_tls_set_fast); NULL: off */
	void *fast_arg;
	um_crl_miss_fn crl_miss;
	void *crl_miss_arg;
	SSL_CTX *ctx[MAX_CONTEXTS];
	unsigned ctx_ca_gen[MAX_CONTEXTS]; /* the ca_gen each context's list is of */
	size_t nctx;
	struct conn *pending; /* connections still in their handshake (the watchdog's) */
	struct conn *live;    /* connections whose handshake is done (um_tls_peer_cert) */
	int idx;
} tls = {.idx = -1};

static int (*real_set_cipher_list)(SSL_CTX *, const char *);
static SSL *(*real_ssl_new)(SSL_CTX *);
static int (*real_ssl_shutdown)(SSL *);
static int (*real_ssl_read)(SSL *, void *, int);
static int (*real_ssl_write)(SSL *, const void *, int);
static int (*real_ssl_get_error)(const SSL *, int);

static void
conn_unlink(struct conn *c)
{
	if (c->list == NULL)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		*c->list = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	c->list = NULL;
}

static void
conn_link(struct conn *c, struct conn **list)
{
	conn_unlink(c);
	c->next = *list;
	if (*list != NULL)
		(*list)->prev = c;
	*list = c;
	c->list = list;
}

/* CRYPTO_EX_free: the SSL is going away (sofia closed the connection). */
static void
conn_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	struct conn *c = ptr;

	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (c == NULL)
		return;
	conn_unlink(c);
	if (c->counted && tls.metrics != NULL)
		um_metrics_conn(tls.metrics, -1);
	free(c->own);
	free(c);
}

static struct conn *
conn_of(const SSL *ssl)
{
	return tls.idx >= 0 ? SSL_get_ex_data(ssl, tls.idx) : NULL;
}

static const char *
peer_of(const SSL *ssl, struct conn *c, struct sockaddr_storage *ss)
{
	socklen_t len = sizeof(*ss);
	int fd = SSL_get_fd(ssl);

	memset(ss, 0, sizeof(*ss));
	if (fd >= 0 && getpeername(fd, (struct sockaddr *)ss, &len) == 0) {
		if (c != NULL && c->peer[0] == '\0')
			um_addr_text((struct sockaddr *)ss, c->peer, sizeof(c->peer));
	}
	return c != NULL && c->peer[0] != '\0' ? c->peer : "unknown";
}

/* The peer's address as text and its port, once, for the fast path ("": not IP). */
static void
peer_host(struct conn *c)
{
	const struct sockaddr_in *a4 = (const void *)&c->addr;
	const struct sockaddr_in6 *a6 = (const void *)&c->addr;

	c->host[0] = '\0';
	if (c->addr.ss_family == AF_INET) {
		if (inet_ntop(AF_INET, &a4->sin_addr, c->host, sizeof(c->host)) != NULL)
			c->port = ntohs(a4->sin_port);
	} else if (c->addr.ss_family == AF_INET6) {
		if (inet_ntop(AF_INET6, &a6->sin6_addr, c->host, sizeof(c->host)) != NULL)
			c->port = ntohs(a6->sin6_port);
	}
}

static void
report(const SSL *ssl, int event, enum um_fail_class cls, const char *reason)
{
	struct conn *c = conn_of(ssl);
	struct sockaddr_storage ss;
	struct cc_field f[2];

	if (c != NULL) {
		if (c->reported)
			return;
		c->reported = true;
	}
	f[0] = CC_FSTR("peer", peer_of(ssl, c, &ss));
	f[1] = CC_FSTR("reason", reason);
	cc_log_event(tls.log, CC_LOG_WARNING, event, f, 2);
	if (tls.metrics != NULL)
		um_metrics_handshake_failed(tls.metrics, cls);
}

/* OpenSSL's reason for the last failure on this thread, without taking it off the queue. */
static const char *
ssl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	snprintf(buf, len, "%s", r ? r : "connection closed during the handshake");
	return buf;
}

static bool
no_client_cert(void)
{
	unsigned long e = ERR_peek_last_error();

	return e != 0 && ERR_GET_LIB(e) == ERR_LIB_SSL &&
	       ERR_GET_REASON(e) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE;
}

static void
info_cb(const SSL *ssl, int where, int ret)
{
	struct conn *c = conn_of(ssl);
	char buf[256], why[320];

	if (c == NULL)
		return;
	if (where & SSL_CB_HANDSHAKE_DONE) {
		if (!c->done && tls.metrics != NULL)
			um_metrics_handshake_ok(tls.metrics);
		c->done = true;
		peer_of(ssl, c, &c->addr);
		peer_host(c);
		conn_link(c, &tls.live);
		return;
	}
	if ((where & SSL_CB_ALERT) && (where & SSL_CB_WRITE) && (ret >> 8) == SSL3_AL_FATAL &&
	    !c->done) {
		if (no_client_cert()) {
			report(ssl, CC_EV_PEER_REJECTED, UM_FAIL_CERTIFICATE,
			       "no client certificate (mutual TLS is required)");
			return;
		}
		snprintf(why, sizeof(why), "%s (sent alert %d: %s)", ssl_reason(buf, sizeof(buf)),
		         ret & 0xff, SSL_alert_desc_string_long(ret));
		report(ssl, CC_EV_TLS_HANDSHAKE_FAILED, UM_FAIL_PROTOCOL, why);
		return;
	}
	/* A handshake step that ended, not waiting for the peer: the handshake failed. */
	if ((where & SSL_CB_EXIT) && ret <= 0 && !c->done && SSL_want(ssl) == SSL_NOTHING) {
		if (no_client_cert())
			report(ssl, CC_EV_PEER_REJECTED, UM_FAIL_CERTIFICATE,
			       "no client certificate (mutual TLS is required)");
		else
			report(ssl, CC_EV_TLS_HANDSHAKE_FAILED, UM_FAIL_PROTOCOL,
			       ssl_reason(buf, sizeof(buf)));
	}
}

/* Before anything else of the handshake: a peer no gateway entry has is refused at once. */
static int
client_hello_cb(SSL *ssl, int *alert, void *arg)
{
	struct conn *c = conn_of(ssl);
	struct sockaddr_storage ss;
	char why[256];

	(void)arg;
	peer_of(ssl, c, &ss);
	if (tls.check != NULL &&
	    !tls.check(tls.check_arg, (struct sockaddr *)&ss, NULL, why, sizeof(why))) {
		report(ssl, CC_EV_PEER_REJECTED, UM_FAIL_PEER_REJECTED, why);
		*alert = SSL_AD_ACCESS_DENIED;
		return SSL_CLIENT_HELLO_ERROR;
	}
	return SSL_CLIENT_HELLO_SUCCESS;
}

/*
 * The names of the CertificateRequest. OpenSSL sends the client CA list and, when that is empty,
 * the general CA list (ssl/statem, get_ca_names): both are set, so that "none" is none.
 */
static int
set_ca_names(SSL_CTX *ctx)
{
	STACK_OF(X509_NAME) * a, *b;

	if (tls.ca_names == NULL)
		return 1;
	if ((a = SSL_dup_CA_list(tls.ca_names)) == NULL)
		return 0;
	if ((b = SSL_dup_CA_list(tls.ca_names)) == NULL) {
		sk_X509_NAME_pop_free(a, X509_NAME_free);
		return 0;
	}
	SSL_CTX_set_client_CA_list(ctx, a);
	SSL_CTX_set0_CA_list(ctx, b);
	return 1;
}

/* A revocation failure that means "no usable CRL at hand", not "revoked". */
static bool
crl_unavailable(int err)
{
	return err == X509_V_ERR_UNABLE_TO_GET_CRL || err == X509_V_ERR_CRL_HAS_EXPIRED ||
	       err == X509_V_ERR_CRL_NOT_YET_VALID || err == X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER;
}

/* True when the trust store holds a CRL in `issuer`'s name that is in its validity period. */
static bool
fresh_crl_at_hand(X509_STORE_CTX *xs, X509 *issuer)
{
	STACK_OF(X509_CRL) *crls = X509_STORE_CTX_get1_crls(xs, X509_get_subject_name(issuer));
	const ASN1_TIME *next;
	bool fresh = false;
	int i;

	for (i = 0; i < sk_X509_CRL_num(crls) && !fresh; i++) {
		next = X509_CRL_get0_nextUpdate(sk_X509_CRL_value(crls, i));
		fresh = X509_cmp_time(X509_CRL_get0_lastUpdate(sk_X509_CRL_value(crls, i)), NULL) <
		                0 &&
		        (next == NULL || X509_cmp_time(next, NULL) > 0);
	}
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	ERR_clear_error();
	return fresh;
}

/*
 * A CRL of the chain is missing or stale: every certificate of the chain (but a self-signed
 * one) whose issuer has no fresh CRL in the trust store is handed to the fetcher at once, so
 * that under gateway_revocation = require the gateway's next attempt finds them all, not one
 * more per attempt (verification stops at the first refusal). Once per connection.
 */
static void
ask_for_crls(X509_STORE_CTX *xs, struct conn *c)
{
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(xs);
	X509 *x, *issuer;
	int i;

	if (tls.crl_miss == NULL || c == NULL || c->crl_asked || chain == NULL)
		return;
	c->crl_asked = true;
	for (i = 0; i + 1 < sk_X509_num(chain); i++) {
		x = sk_X509_value(chain, i);
		issuer = sk_X509_value(chain, i + 1);
		if (X509_self_signed(x, 0) == 1 || fresh_crl_at_hand(xs, issuer))
			continue;
		tls.crl_miss(tls.crl_miss_arg, x, issuer);
	}
	ERR_clear_error();
}

static int
verify_cb(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct conn *c = ssl ? conn_of(ssl) : NULL;
	struct sockaddr_storage ss;
	char why[1024], subj[256];
	X509 *cert = X509_STORE_CTX_get_current_cert(xs);

	if (ssl == NULL)
		return ok;
	if (!ok) {
		int err = X509_STORE_CTX_get_error(xs);

		/*
		 * No CRL at hand for this certificate's issuer (the trust store holds the store's
		 * crl/ folder; nothing is fetched during a handshake). Soft fail, as Exchange did
		 * when a CRL could not be had, unless gateway_revocation = require. A self-signed
		 * certificate (a root, a pinned gateway) is a trust anchor: no CRL speaks for it.
		 * The missing CRLs are fetched meanwhile, off this thread (crlfetch.h).
		 */
		if (err == X509_V_ERR_UNABLE_TO_GET_CRL || err == X509_V_ERR_CRL_HAS_EXPIRED ||
		    err == X509_V_ERR_CRL_NOT_YET_VALID)
			ask_for_crls(xs, c);
		if (crl_unavailable(err) &&
		    (!tls.require_crl || (cert != NULL && X509_self_signed(cert, 0) == 1))) {
			X509_STORE_CTX_set_error(xs, X509_V_OK);
			return 1;
		}
		subj[0] = '\0';
		if (cert != NULL)
			X509_NAME_oneline(X509_get_subject_name(cert), subj, sizeof(subj));
		if (err == X509_V_ERR_CERT_REVOKED) {
			char iss[256];

			iss[0] = '\0';
			if (cert != NULL)
				X509_NAME_oneline(X509_get_issuer_name(cert), iss, sizeof(iss));
			snprintf(why, sizeof(why),
			         "client certificate revoked: listed in the CRL of %s (depth %d, "
			         "%s)",
			         iss, X509_STORE_CTX_get_error_depth(xs), subj);
		} else if (crl_unavailable(err)) {
			snprintf(why, sizeof(why),
			         "client certificate revocation unknown: %s (depth %d, %s), and "
			         "gateway_revocation = require",
			         X509_verify_cert_error_string(err),
			         X509_STORE_CTX_get_error_depth(xs), subj);
		} else {
			snprintf(why, sizeof(why),
			         "client certificate not trusted: %s (depth %d, %s)",
			         X509_verify_cert_error_string(err),
			         X509_STORE_CTX_get_error_depth(xs), subj);
		}
		report(ssl, CC_EV_PEER_REJECTED, UM_FAIL_CERTIFICATE, why);
		return 0;
	}
	if (X509_STORE_CTX_get_error_depth(xs) != 0)
		return 1;
	peer_of(ssl, c, &ss);
	if (tls.check != NULL &&
	    !tls.check(tls.check_arg, (struct sockaddr *)&ss, cert, why, sizeof(why))) {
		X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
		report(ssl, CC_EV_PEER_REJECTED, UM_FAIL_PEER_REJECTED, why);
		return 0;
	}
	return 1;
}

/*
 * Serves the certificate umd holds now: a change takes effect at the next handshake. What the
 * context holds (sofia-sip's throw-away agent.pem, certs.c) is cleared first: OpenSSL keeps a
 * certificate per key type, and a throw-away EC certificate left beside an RSA one would be
 * served to a client that prefers ECDSA.
 */
static int
cert_cb(SSL *ssl, void *arg)
{
	(void)arg;
	if (tls.x == NULL || tls.key == NULL)
		return 0;
	SSL_certs_clear(ssl);
	if (SSL_use_certificate(ssl, tls.x) != 1 || SSL_use_PrivateKey(ssl, tls.key) != 1 ||
	    SSL_set1_chain(ssl, tls.chain) != 1)
		return 0;
	return 1;
}

static int
apply_policy(SSL_CTX *ctx)
{
	if (real_set_cipher_list(ctx, UM_TLS12_CIPHERS) != 1 ||
	    SSL_CTX_set_ciphersuites(ctx, UM_TLS13_SUITES) != 1 ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
		return 0;
	/*
	 * No renegotiation (CVE-2009-3555 and its DoS), no compression (CRIME), our cipher order,
	 * and no resumption: every connection is verified afresh against today's gateways and
	 * roots, which a resumed session would skip.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
	                                 SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	/*
	 * Nothing is resumed, so TLS 1.3 tickets would only cost CPU (OpenSSL re-encodes the
	 * session with the client certificate for each); idle gateway connections give their read
	 * and write buffers back (61 -> 33 KiB each, tests/bench).
	 */
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_info_callback(ctx, info_cb);
	SSL_CTX_set_client_hello_cb(ctx, client_hello_cb, NULL);
	SSL_CTX_set_cert_cb(ctx, cert_cb, NULL);
	SSL_CTX_set_verify(ctx,
	                   tls.require_cert ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
	                                    : SSL_VERIFY_NONE,
	                   verify_cb);
	SSL_CTX_set_verify_depth(ctx, 8);
	if (tls.trust != NULL)
		SSL_CTX_set1_cert_store(ctx, tls.trust);
	return 1;
}

/*
 * Interposed (seam.h): sofia-sip's call in tls_init_context, while umd makes its transport, takes
 * the context over; every other call (OpenSSL's SSL_CTX_new applying a CipherString, libcurl's
 * contexts, a context umd already holds) is passed through untouched.
 */
int
SSL_CTX_set_cipher_list(SSL_CTX *ctx, const char *str)
{
	size_t i;

	if (real_set_cipher_list == NULL)
		real_set_cipher_list = (int (*)(SSL_CTX *, const char *))dlsym(
		        RTLD_NEXT, "SSL_CTX_set_cipher_list");
	if (real_set_cipher_list == NULL)
		return 0;
	if (!tls.armed || !um_seam_in_window() ||
	    !um_seam_from_sofia(__builtin_return_address(0))) {
		um_seam_pass(UM_SEAM_CIPHER_LIST);
		return real_set_cipher_list(ctx, str);
	}
	um_seam_take(UM_SEAM_CIPHER_LIST);
	for (i = 0; i < tls.nctx && tls.ctx[i] != ctx; i++)
		;
	if (i == tls.nctx && tls.nctx < MAX_CONTEXTS)
		tls.ctx[tls.nctx++] = ctx;
	return apply_policy(ctx);
}

/* Interposed so that every connection of ours is tracked from its first moment. */
SSL *
SSL_new(SSL_CTX *ctx)
{
	SSL *ssl;
	struct conn *c;
	size_t i;

	if (real_ssl_new == NULL)
		real_ssl_new = (SSL * (*)(SSL_CTX *)) dlsym(RTLD_NEXT, "SSL_new");
	if (real_ssl_new == NULL)
		return NULL;
	for (i = 0; i < tls.nctx; i++)
		if (tls.ctx[i] == ctx)
			break;
	/*
	 * The CA names: a new SSL copies its context's list, and sofia-sip sets that list from
	 * cafile.pem after SSL_CTX_set_cipher_list (tls_init_context), so it is put right here,
	 * once per change, rather than when the context is taken over.
	 */
	if (i < tls.nctx && tls.ca_names != NULL && tls.ctx_ca_gen[i] != tls.ca_gen) {
		if (set_ca_names(ctx) != 1)
			return NULL; /* out of memory: no connection rather than the long list */
		tls.ctx_ca_gen[i] = tls.ca_gen;
	}
	if (i == tls.nctx || tls.idx < 0) {
		um_seam_pass(UM_SEAM_SSL_NEW);
		return real_ssl_new(ctx);
	}
	um_seam_take(UM_SEAM_SSL_NEW);
	if ((ssl = real_ssl_new(ctx)) == NULL)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL || SSL_set_ex_data(ssl, tls.idx, c) != 1) {
		/* Untracked, it would escape the watchdog: refuse the connection instead. */
		free(c);
		SSL_free(ssl);
		return NULL;
	}
	c->ssl = ssl;
	c->start = time(NULL);
	um_sipframe_init(&c->frame);
	conn_link(c, &tls.pending);
	c->counted = true;
	if (tls.metrics != NULL)
		um_metrics_conn(tls.metrics, +1);
	return ssl;
}

/*
 * Interposed: sofia-sip 1.12.11's tls_free() calls SSL_shutdown() and then frees the connection's
 * BIO, but never SSL_free(), so every TLS connection would leak its SSL (some 50 KB with
 * OpenSSL 3's buffers; LeakSanitizer shows it). For connections of ours SSL_shutdown() is the
 * last call sofia makes on the SSL: it is freed here, holding a reference on the BIO so that
 * sofia's BIO_free() right after is the one that frees it, and one on the SSL_CTX, because
 * sofia's tls_free() then calls SSL_CTX_free() for the connection too (it balanced the
 * reference the never-freed SSL held).
 */
int
SSL_shutdown(SSL *ssl)
{
	struct conn *c;
	BIO *bio;
	int rc;

	if (real_ssl_shutdown == NULL)
		real_ssl_shutdown = (int (*)(SSL *))dlsym(RTLD_NEXT, "SSL_shutdown");
	if (real_ssl_shutdown == NULL)
		return -1;
	if (ssl == NULL || (c = conn_of(ssl)) == NULL) {
		um_seam_pass(UM_SEAM_SSL_SHUTDOWN);
		return real_ssl_shutdown(ssl);
	}
	um_seam_take(UM_SEAM_SSL_SHUTDOWN);
	if (!c->done && !c->reported) {
		/* Closed before any handshake step failed: a scanner, or a peer that hung up. */
		report(ssl, CC_EV_TLS_HANDSHAKE_FAILED, UM_FAIL_OTHER,
		       "connection closed before the TLS handshake finished");
	}
	rc = real_ssl_shutdown(ssl);
	if ((bio = SSL_get_rbio(ssl)) != NULL && !BIO_up_ref(bio))
		return rc; /* cannot keep sofia's BIO alive: leak rather than double free */
	if (!SSL_CTX_up_ref(SSL_get_SSL_CTX(ssl))) {
		BIO_free(bio);
		return rc;
	}
	SSL_free(ssl);
	ERR_clear_error();
	return rc;
}

/*
 * Sends what is left of the fast path's unsent answer, first: OpenSSL wants a write that did
 * not complete retried with the same bytes before any other (SSL_write(3)). true: nothing is
 * left; false: OpenSSL's error state says why (SSL_get_error).
 */
static bool
flush_own(SSL *ssl, struct conn *c)
{
	if (c->own == NULL)
		return true;
	if (real_ssl_write(ssl, c->own, c->own_len) <= 0)
		return false;
	free(c->own);
	c->own = NULL;
	c->own_len = 0;
	return true;
}

/*
 * Interposed (seam.h): sofia-sip writes a connection's plaintext with SSL_write (tport_tls.c,
 * tls_write). A fast-path answer still unsent goes first; umd notes whether sofia-sip's own
 * write is left to retry, during which the fast path stays away from the connection. With the
 * fast path off (and nothing of its unsent) there is nothing to order: every call passes, as
 * every call on an SSL umd does not track.
 */
int
SSL_write(SSL *ssl, const void *buf, int num)
{
	struct conn *c;
	int n;

	if (real_ssl_write == NULL)
		real_ssl_write = (int (*)(SSL *, const void *, int))dlsym(RTLD_NEXT, "SSL_write");
	if (real_ssl_write == NULL)
		return -1;
	if (ssl == NULL || (c = conn_of(ssl)) == NULL || (tls.fast == NULL && c->own == NULL)) {
		um_seam_pass(UM_SEAM_SSL_WRITE);
		return real_ssl_write(ssl, buf, num);
	}
	um_seam_take(UM_SEAM_SSL_WRITE);
	c->swallowed = false; /* SSL_get_error speaks of this write now */
	if (!flush_own(ssl, c)) {
		c->sofia_blocked = true; /* sofia-sip sees WANT_WRITE (or the error) and retries */
		return -1;
	}
	n = real_ssl_write(ssl, buf, num);
	c->sofia_blocked = n <= 0;
	return n;
}

/*
 * The keep-alives at the start of `buf` (n bytes of plaintext, a message's start) answered
 * by the fast path; returns what is left for sofia-sip (moved to the start of buf), 0 when
 * nothing is.
 */
static int
answer_fast(SSL *ssl, struct conn *c, char *buf, int n)
{
	char answer[UM_OPTFAST_ANSWER_MAX];
	size_t off = 0, alen, used;
	int w;

	while (off < (size_t)n && c->host[0] != '\0' && !c->sofia_blocked && c->own == NULL &&
	       tls.fast(tls.fast_arg, (struct sockaddr *)&c->addr, c->host, c->port, buf + off,
	                (size_t)n - off, answer, &alen, &used)) {
		off += used;
		if ((w = real_ssl_write(ssl, answer, (int)alen)) > 0)
			continue;
		if (real_ssl_get_error(ssl, w) != SSL_ERROR_WANT_WRITE)
			break; /* the connection failed: sofia-sip finds out on its next call */
		/* The socket is full: the rest of the answer goes before the next write. */
		if ((c->own = malloc(alen)) == NULL)
			break; /* nothing can be retried: the gateway's own retry will do */
		memcpy(c->own, answer, alen);
		c->own_len = (int)alen;
	}
	if (off > 0 && off < (size_t)n)
		memmove(buf, buf + off, (size_t)n - off);
	return n - (int)off;
}

/*
 * Interposed: sofia-sip reads a TLS connection's plaintext with SSL_read (tport_tls.c,
 * tls_read). umd follows where SIP messages begin and end in it (sipframe.h), so that
 * um_tls_message_watchdog can end a connection whose message stopped half-way: sofia-sip's
 * own timer for incomplete messages (TPTAG_TIMEOUT) runs for TCP only. Keep-alive OPTIONS at
 * the start of what was read are answered here when the fast path is on (um_tls_set_fast) and
 * taken out. When nothing is left, sofia-sip is told "want read" (SSL_get_error below) without
 * another read(2): data still in OpenSSL's buffers is read at once; data still in the socket
 * wakes sofia-sip's poll again (su_epoll_port is level-triggered). sofia-sip then calls
 * SSL_read a second time in the same wake-up (tport_tls_events: tls_want_read, then
 * tport_recv_event), which gets the same answer, also without a read(2).
 */
int
SSL_read(SSL *ssl, void *buf, int num)
{
	struct conn *c;
	bool start;
	int n;

	if (real_ssl_read == NULL)
		real_ssl_read = (int (*)(SSL *, void *, int))dlsym(RTLD_NEXT, "SSL_read");
	if (real_ssl_read == NULL)
		return -1;
	if (ssl == NULL || (c = conn_of(ssl)) == NULL) {
		um_seam_pass(UM_SEAM_SSL_READ);
		return real_ssl_read(ssl, buf, num);
	}
	um_seam_take(UM_SEAM_SSL_READ);
	c->swallowed = false;
	if (c->skip_read && !SSL_has_pending(ssl)) {
		c->skip_read = false;
		c->swallowed = true;
		return -1;
	}
	c->skip_read = false;
	for (;;) {
		if (c->own != NULL && !c->sofia_blocked)
			(void)flush_own(ssl, c);
		n = real_ssl_read(ssl, buf, num);
		if (n <= 0)
			return n;
		start = !um_sipframe_pending(&c->frame);
		um_sipframe_feed(&c->frame, buf, (size_t)n);
		if (!um_sipframe_pending(&c->frame))
			c->msg_start = 0;
		else if (c->msg_start == 0)
			c->msg_start = time(NULL);
		if (!start || tls.fast == NULL || !c->done)
			return n;
		if ((n = answer_fast(ssl, c, buf, n)) > 0)
			return n;
		if (!SSL_has_pending(ssl)) {
			c->swallowed = c->skip_read = true;
			return -1;
		}
	}
}

/*
 * Interposed (seam.h): the "want read" of an SSL_read that answered everything it read (above),
 * for sofia-sip's tls_error(); every other answer, on any SSL, is OpenSSL's.
 */
int
SSL_get_error(const SSL *ssl, int ret)
{
	struct conn *c;

	if (real_ssl_get_error == NULL)
		real_ssl_get_error = (int (*)(const SSL *, int))dlsym(RTLD_NEXT, "SSL_get_error");
	if (real_ssl_get_error == NULL)
		return SSL_ERROR_SSL;
	if (ret <= 0 && ssl != NULL && (c = conn_of(ssl)) != NULL && c->swallowed) {
		um_seam_take(UM_SEAM_SSL_GET_ERROR);
		c->swallowed = false;
		return SSL_ERROR_WANT_READ;
	}
	um_seam_pass(UM_SEAM_SSL_GET_ERROR);
	return real_ssl_get_error(ssl, ret);
}

size_t
um_tls_message_watchdog(int seconds)
{
	struct conn *c;
	time_t now = time(NULL);
	size_t n = 0;
	int fd;

	for (c = tls.live; c != NULL; c = c->next) {
		/* A fast-path answer the full socket held back, when sofia-sip has no write of
		 * its own to send it before (SSL_write). */
		if (c->own != NULL && !c->sofia_blocked)
			(void)flush_own(c->ssl, c);
		if (c->msg_start == 0 || now - c->msg_start < seconds)
			continue;
		cc_log_message(tls.log, CC_LOG_WARNING,
		               "connection from %s closed: a SIP message not complete within %d s",
		               c->peer, seconds);
		c->msg_start = 0;
		/* sofia-sip owns the socket: end the connection, and let sofia close and free it.
		 */
		if ((fd = SSL_get_fd(c->ssl)) >= 0)
			shutdown(fd, SHUT_RDWR);
		n++;
	}
	return n;
}

enum um_err
um_tls_arm(bool require_client_cert, struct cc_log *log, struct um_metrics *metrics,
           um_peer_check_fn check, void *check_arg)
{
	if (tls.idx < 0 && (tls.idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_free)) < 0)
		return um_seterr(UM_ERR_TLS, "SSL_get_ex_new_index failed");
	real_set_cipher_list =
	        (int (*)(SSL_CTX *, const char *))dlsym(RTLD_NEXT, "SSL_CTX_set_cipher_list");
	real_ssl_new = (SSL * (*)(SSL_CTX *)) dlsym(RTLD_NEXT, "SSL_new");
	real_ssl_shutdown = (int (*)(SSL *))dlsym(RTLD_NEXT, "SSL_shutdown");
	real_ssl_read = (int (*)(SSL *, void *, int))dlsym(RTLD_NEXT, "SSL_read");
	real_ssl_write = (int (*)(SSL *, const void *, int))dlsym(RTLD_NEXT, "SSL_write");
	real_ssl_get_error = (int (*)(const SSL *, int))dlsym(RTLD_NEXT, "SSL_get_error");
	if (real_set_cipher_list == NULL || real_ssl_new == NULL || real_ssl_shutdown == NULL ||
	    real_ssl_read == NULL || real_ssl_write == NULL || real_ssl_get_error == NULL)
		return um_seterr(UM_ERR_TLS, "cannot reach OpenSSL's own functions: %s", dlerror());
	tls.require_cert = require_client_cert;
	tls.log = log;
	tls.metrics = metrics;
	tls.check = check;
	tls.check_arg = check_arg;
	tls.armed = true;
	return UM_OK;
}

enum um_err
um_tls_set_identity(X509 *x, STACK_OF(X509) * chain, EVP_PKEY *key)
{
	STACK_OF(X509) *nc = NULL;

	if (x == NULL || key == NULL)
		return um_seterr(UM_ERR_CERT, "no certificate or no key to serve");
	if (X509_check_private_key(x, key) != 1)
		return um_seterr_ssl(UM_ERR_CERT, "certificate and key do not go together");
	if ((nc = chain ? X509_chain_up_ref(chain) : sk_X509_new_null()) == NULL ||
	    !X509_up_ref(x) || !EVP_PKEY_up_ref(key)) {
		sk_X509_pop_free(nc, X509_free);
		return um_seterr(UM_ERR_NOMEM, "identity");
	}
	X509_free(tls.x);
	EVP_PKEY_free(tls.key);
	sk_X509_pop_free(tls.chain, X509_free);
	tls.x = x;
	tls.key = key;
	tls.chain = nc;
	return UM_OK;
}

void
um_tls_set_client_ca_names(STACK_OF(X509_NAME) * names)
{
	sk_X509_NAME_pop_free(tls.ca_names, X509_NAME_free);
	tls.ca_names = names;
	tls.ca_gen++; /* each context takes the new list before its next connection (SSL_new) */
}

void
um_tls_set_require_crl(bool require)
{
	tls.require_crl = require;
}

void
um_tls_set_fast(um_tls_fast_fn fn, void *arg)
{
	tls.fast = fn;
	tls.fast_arg = arg;
}

void
um_tls_set_crl_miss(um_crl_miss_fn fn, void *arg)
{
	tls.crl_miss = fn;
	tls.crl_miss_arg = arg;
}

void
um_tls_set_trust(X509_STORE *store)
{
	size_t i;

	X509_STORE_free(tls.trust);
	tls.trust = store;
	for (i = 0; i < tls.nctx && store != NULL; i++)
		SSL_CTX_set1_cert_store(tls.ctx[i], store);
}

size_t
um_tls_watchdog(int seconds)
{
	struct conn *c, *next;
	time_t now = time(NULL);
	char why[96];
	size_t n = 0;
	int fd;

	for (c = tls.pending; c != NULL; c = next) {
		next = c->next;
		if (c->done || now - c->start < seconds)
			continue;
		snprintf(why, sizeof(why), "handshake not finished within %d s", seconds);
		report(c->ssl, CC_EV_TLS_HANDSHAKE_FAILED, UM_FAIL_OTHER, why);
		/* sofia-sip owns the socket: end the connection, and let sofia close and free it.
		 */
		if ((fd = SSL_get_fd(c->ssl)) >= 0)
			shutdown(fd, SHUT_RDWR);
		conn_unlink(c);
		n++;
	}
	return n;
}

/* Same address family, address and port. */
static bool
same_peer(const struct sockaddr_storage *a, const struct sockaddr *b)
{
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;
	const struct sockaddr_in6 *a6 = (const void *)a, *b6 = (const void *)b;

	if (a->ss_family != b->sa_family)
		return false;
	if (b->sa_family == AF_INET)
		return a4->sin_port == b4->sin_port && a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	if (b->sa_family == AF_INET6)
		return a6->sin6_port == b6->sin6_port &&
		       memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr)) == 0;
	return false;
}

X509 *
um_tls_peer_cert(const struct sockaddr *peer)
{
	struct conn *c;

	if (peer == NULL)
		return NULL;
	for (c = tls.live; c != NULL; c = c->next)
		if (same_peer(&c->addr, peer))
			return SSL_get1_peer_certificate(c->ssl);
	return NULL;
}

size_t
um_tls_context_count(void)
{
	return tls.nctx;
}
