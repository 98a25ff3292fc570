/*
 * umd's hold on the TLS contexts sofia-sip makes.
 *
 * sofia-sip 1.12 has no tags for TLS versions or ciphers, no certificate reload and no access to
 * its SSL_CTX. umd interposes SSL_CTX_set_cipher_list (taking over the context sofia makes for its
 * transport: umd's policy, verification, a certificate callback), SSL_new (every connection
 * tracked from its first moment), SSL_shutdown (freeing the SSL sofia-sip's tls_free() forgets),
 * SSL_read (following where SIP messages begin and end, and answering keep-alive OPTIONS before
 * sofia-sip parses them: optfast.h, um_tls_set_fast), SSL_write (so that such an answer and
 * sofia-sip's own writes never interleave) and SSL_get_error ("want read" when every message
 * read was answered). seam.h lists them with the rest of umd's interposed functions, the
 * sofia-sip calls each exists for, when each acts, and the sofia-sip and OpenSSL versions they
 * were verified against.
 *
 * Everything here runs on the SIP thread (sofia's su_root), except um_tls_* setters that are
 * called from it too.
 */
#ifndef UM_TLSHOOK_H
#define UM_TLSHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "certcore/log.h"
#include "error.h"
#include "metrics.h"

/* TLS 1.2 suites: ECDHE key exchange and AEAD only (forward secrecy, no CBC, no RSA kx). */
#define UM_TLS12_CIPHERS                                                                           \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                               \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"                               \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"
#define UM_TLS13_SUITES "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"

/*
 * Decides whether the peer at `peer` presenting `cert` (its leaf, whose chain OpenSSL has
 * verified) is an accepted gateway. Returns true, or false with the reason in `why`. With
 * cert NULL, decides on the address alone (before the handshake).
 */
typedef bool (*um_peer_check_fn)(void *arg, const struct sockaddr *peer, X509 *cert, char *why,
                                 size_t len);

/*
 * Arms the interposer: the context sofia-sip makes for its transport from now on (while umd's
 * thread is inside nua_create, seam.h) gets umd's policy.
 */
enum um_err um_tls_arm(bool require_client_cert, struct cc_log *log, struct um_metrics *metrics,
                       um_peer_check_fn check, void *check_arg) UM_WUR;

/* The certificate served from now on (new handshakes); references are taken. */
enum um_err um_tls_set_identity(X509 *x, STACK_OF(X509) * chain, EVP_PKEY *key) UM_WUR;

/* The roots and pinned certificates client certificates are verified against (taken). */
void um_tls_set_trust(X509_STORE *store);

/*
 * The CA names listed in the CertificateRequest from now on (taken; an empty stack lists none).
 * sofia-sip would list every certificate of its cafile.pem: the whole system bundle, some 16 KB
 * in every handshake. The names are a hint to the client only (RFC 8446 section 4.2.4);
 * verification uses the trust store above.
 */
void um_tls_set_client_ca_names(STACK_OF(X509_NAME) * names);

/*
 * What to do when no usable CRL of a gateway certificate's issuer is in the trust store
 * (X509_V_ERR_UNABLE_TO_GET_CRL, a stale or not yet valid CRL): accept (soft, as Exchange) or
 * refuse. A certificate a CRL lists is refused either way.
 */
void um_tls_set_require_crl(bool require);

/*
 * Called on the SIP thread when a gateway chain's handshake lacks the CRL of `issuer` for
 * `subject` (both borrowed for the call): none in the trust store, or a stale one. It must
 * not block (crlfetch.h queues a fetch).
 */
typedef void (*um_crl_miss_fn)(void *arg, X509 *subject, X509 *issuer);

/*
 * The keep-alive fast path (optfast.h): called on the SIP thread with the plaintext a gateway's
 * connection delivered, when it starts at a message's start (`peer` its address, `host` and
 * `port` the same as text and number). Returns true when it answered the message at the start
 * of `msg`: the answer in `answer` (UM_OPTFAST_ANSWER_MAX bytes), its length in *answer_len, and
 * the request's length in *used, which sofia-sip then never sees; false: sofia-sip gets it.
 */
typedef bool (*um_tls_fast_fn)(void *arg, const struct sockaddr *peer, const char *host,
                               unsigned port, const char *msg, size_t len, char *answer,
                               size_t *answer_len, size_t *used);

/* Who answers keep-alives from now on; NULL: nobody (sofia-sip reads every message). */
void um_tls_set_fast(um_tls_fast_fn fn, void *arg);

/* Who is told of missing CRLs from now on; NULL: nobody (fetching off). */
void um_tls_set_crl_miss(um_crl_miss_fn fn, void *arg);

/* Ends handshakes older than `seconds` (called from a timer); returns how many it ended. */
size_t um_tls_watchdog(int seconds);

/*
 * The certificate the peer at `peer` (address and port of a TLS connection whose handshake is
 * done) presented, as a new reference (X509_free it), or NULL when no such connection is open.
 * What identifies the gateway behind a request inside a dialog (sip.c, dialog ownership).
 */
X509 *um_tls_peer_cert(const struct sockaddr *peer);

/*
 * Ends TLS connections whose SIP message began more than `seconds` ago and is not complete (a
 * message that stopped half-way, or trickles): called from a timer; returns how many.
 */
size_t um_tls_message_watchdog(int seconds);

/* How many contexts umd has taken over (0 means sofia-sip made none, or the hook failed). */
size_t um_tls_context_count(void);

#endif
