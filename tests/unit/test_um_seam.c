/*
 * umd's seam with sofia-sip (um/src/seam.h): each interposed function driven through a real
 * nua/nta with a TLS transport on 127.0.0.1 and a real OpenSSL client, asserting that the hook
 * ran on sofia-sip's call and did its job, and that every other caller passes through untouched
 * (OpenSSL's own SSL_CTX_new applying a CipherString among them: this program runs under an
 * OPENSSL_CONF it writes, set before OpenSSL reads any configuration).
 *
 * The program is linked as umd is (the seam's symbols exported), and its tests run in order:
 * the counters are the process's.
 */
#define SU_ROOT_MAGIC_T   void
#define NTA_LEG_MAGIC_T   void
#define NTA_AGENT_MAGIC_T void

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sofia-sip/nta.h>
#include <sofia-sip/su.h>
#include <sofia-sip/su_wait.h>

#include "config.h"
#include "fdguard.h"
#include "metrics.h"
#include "seam.h"
#include "sip.h"
#include "testutil.h"
#include "tlshook.h"

/* The OpenSSL configuration this program runs under: a CipherString for every SSL_CTX_new. */
#define CONF_CIPHERS "AES128-SHA256"
static char conf_dir[] = "/tmp/um_seam_conf.XXXXXX";
static char conf_path[sizeof(conf_dir) + 16];

/* What the tests share: one umd SIP side, started by test_start. */
static struct {
	char *dir;
	su_root_t *root;
	struct um_config *cfg;
	struct cc_log *log;
	FILE *logf;
	struct um_metrics *metrics;
	struct um_sip *sip;
	int port;
	X509 *root_x, *um_x, *gw_x;
	EVP_PKEY *root_key, *um_key, *gw_key;
} t;

static uint64_t taken0[UM_SEAM__MAX], passed0[UM_SEAM__MAX];

static void
mark(void)
{
	int i;

	for (i = 0; i < UM_SEAM__MAX; i++) {
		taken0[i] = um_seam_taken(i);
		passed0[i] = um_seam_passed(i);
	}
}

static uint64_t
taken(enum um_seam_hook h)
{
	return um_seam_taken(h) - taken0[h];
}

static uint64_t
passed(enum um_seam_hook h)
{
	return um_seam_passed(h) - passed0[h];
}

static void
pump(int steps)
{
	while (steps-- > 0)
		su_root_step(t.root, 10);
}

static bool
peer_check(void *arg, const struct sockaddr *peer, X509 *cert, char *why, size_t len)
{
	(void)arg;
	return um_gateway_accepts(t.cfg, peer, cert, why, len);
}

static void
write_pem(const char *path, X509 *x, EVP_PKEY *key)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT_FATAL(PEM_write_X509(f, x) == 1);
	if (key != NULL)
		CU_ASSERT_FATAL(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1);
	fclose(f);
}

/* Whether umd logged a line holding `what`. */
static bool
log_has(const char *what)
{
	char line[1024];
	bool found = false;

	fflush(t.logf);
	rewind(t.logf);
	while (!found && fgets(line, sizeof(line), t.logf) != NULL)
		found = strstr(line, what) != NULL;
	fseek(t.logf, 0, SEEK_END);
	return found;
}

/* The version rule (seam.h): exactly the sofia-sip verified, with the reason otherwise. */
static void
test_version(void)
{
	char why[256];

	CU_ASSERT_TRUE(um_seam_version_ok(UM_SEAM_SOFIA_VERSION, why, sizeof(why)));
	CU_ASSERT_FALSE(um_seam_version_ok("sofia-sip-1.13.17", why, sizeof(why)));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "sofia-sip-1.13.17"));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, UM_SEAM_SOFIA_VERSION));
	CU_ASSERT_FALSE(um_seam_version_ok("sofia-sip-1.12.11", why, sizeof(why)));
	CU_ASSERT_FALSE(um_seam_version_ok(NULL, why, sizeof(why)));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "unknown"));
	/* The library this program runs with, and every hook resolving to the seam's own. */
	CU_ASSERT_EQUAL(um_seam_check_runtime(), UM_OK);
}

/* Before sofia-sip ran, the hooks that must run at start have not: a start is refused. */
static void
test_not_started(void)
{
	CU_ASSERT_NOT_EQUAL(um_seam_check_started(true), UM_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), "no TLS context"));
	CU_ASSERT_NOT_EQUAL(um_seam_check_started(false), UM_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), "default leg"));
}

/* Whether the context's TLS 1.2 list holds the cipher named `name`. */
static bool
has_cipher(SSL_CTX *ctx, const char *name)
{
	STACK_OF(SSL_CIPHER) *sk = SSL_CTX_get_ciphers(ctx);
	int i;

	for (i = 0; i < sk_SSL_CIPHER_num(sk); i++)
		if (strcmp(SSL_CIPHER_get_name(sk_SSL_CIPHER_value(sk, i)), name) == 0)
			return true;
	return false;
}

/*
 * OpenSSL's SSL_CTX_new calls SSL_CTX_set_cipher_list itself when the configuration has a
 * CipherString: with umd's TLS armed, that call passes through, on the SIP thread too, inside
 * the window as outside it. (Before the seam, umd took every context made after um_tls_arm
 * over, libcurl's SMTP contexts among them.)
 */
static void
test_cipherstring_passes(void)
{
	SSL_CTX *ctx;
	size_t n = um_tls_context_count();

	CU_ASSERT_EQUAL_FATAL(um_tls_arm(true, t.log, t.metrics, peer_check, NULL), UM_OK);
	mark();
	ctx = SSL_CTX_new(TLS_client_method());
	CU_ASSERT_FATAL(ctx != NULL);
	/* The configuration did reach the hook: else this test would prove nothing. */
	CU_ASSERT_EQUAL(passed(UM_SEAM_CIPHER_LIST), 1);
	CU_ASSERT_EQUAL(taken(UM_SEAM_CIPHER_LIST), 0);
	CU_ASSERT_EQUAL(um_tls_context_count(), n);
	CU_ASSERT_TRUE(has_cipher(ctx, CONF_CIPHERS));
	CU_ASSERT_FALSE(has_cipher(ctx, "ECDHE-RSA-AES256-GCM-SHA384"));
	CU_ASSERT_EQUAL(SSL_CTX_get_min_proto_version(ctx), 0);
	SSL_CTX_free(ctx);

	/* Inside the window, a call that is not sofia-sip's passes too. */
	mark();
	um_seam_window(true);
	ctx = SSL_CTX_new(TLS_server_method());
	CU_ASSERT_FATAL(ctx != NULL);
	CU_ASSERT_EQUAL(SSL_CTX_set_cipher_list(ctx, "AES256-SHA"), 1);
	um_seam_window(false);
	CU_ASSERT_EQUAL(passed(UM_SEAM_CIPHER_LIST), 2);
	CU_ASSERT_EQUAL(taken(UM_SEAM_CIPHER_LIST), 0);
	CU_ASSERT_EQUAL(um_tls_context_count(), n);
	CU_ASSERT_TRUE(has_cipher(ctx, "AES256-SHA"));
	SSL_CTX_free(ctx);
}

/*
 * SSL_new, SSL_read, SSL_write, SSL_get_error and SSL_shutdown on an SSL of nobody's context but
 * ours pass through.
 */
static void
test_foreign_ssl_passes(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	char buf[16];
	SSL *ssl;
	int r;

	CU_ASSERT_FATAL(ctx != NULL);
	mark();
	ssl = SSL_new(ctx);
	CU_ASSERT_FATAL(ssl != NULL);
	CU_ASSERT_TRUE(SSL_read(ssl, buf, sizeof(buf)) <= 0); /* no BIO: fails, untouched */
	r = SSL_write(ssl, "x", 1);
	CU_ASSERT_TRUE(r <= 0);
	/* OpenSSL's answer (not the fast path's "want read"): the SSL was never set up. */
	CU_ASSERT_EQUAL(SSL_get_error(ssl, r), SSL_ERROR_SSL);
	SSL_shutdown(ssl);
	ERR_clear_error();
	CU_ASSERT_EQUAL(passed(UM_SEAM_SSL_NEW), 1);
	CU_ASSERT_EQUAL(passed(UM_SEAM_SSL_READ), 1);
	CU_ASSERT_EQUAL(passed(UM_SEAM_SSL_WRITE), 1);
	CU_ASSERT_EQUAL(passed(UM_SEAM_SSL_GET_ERROR), 1);
	CU_ASSERT_EQUAL(passed(UM_SEAM_SSL_SHUTDOWN), 1);
	CU_ASSERT_EQUAL(taken(UM_SEAM_SSL_NEW) + taken(UM_SEAM_SSL_READ) +
	                        taken(UM_SEAM_SSL_WRITE) + taken(UM_SEAM_SSL_GET_ERROR) +
	                        taken(UM_SEAM_SSL_SHUTDOWN),
	                0);
	SSL_free(ssl); /* still ours to free: the hook left it alone */
	SSL_CTX_free(ctx);
}

/*
 * umd's SIP side started as umd starts it (um_sip_start, which opens the window around
 * nua_create): sofia-sip's own SSL_CTX_set_cipher_list is taken once, OpenSSL's call for the
 * CipherString inside SSL_CTX_new passes, and nua's default leg is taken over.
 */
static void
test_start(void)
{
	const char *um_sans[] = {"um1.example.test", NULL}, *gw_sans[] = {"gw1.example.test", NULL};
	struct tu_cert_spec rs = {.cn = "Seam Root", .ca = true};
	struct tu_cert_spec us = {.cn = "um1.example.test", .sans = um_sans};
	struct tu_cert_spec gs = {.cn = "gw1.example.test", .sans = gw_sans, .eku = "clientAuth"};
	struct tu_cert_spec ps = {.cn = "placeholder.invalid", .key = "ec256"};
	X509 *px = NULL;
	EVP_PKEY *pk = NULL;
	X509_STORE *store;
	char path[512], text[512];
	int n;

	tu_make_cert(&rs, &t.root_x, &t.root_key);
	us.issuer = gs.issuer = t.root_x;
	us.issuer_key = gs.issuer_key = t.root_key;
	tu_make_cert(&us, &t.um_x, &t.um_key);
	tu_make_cert(&gs, &t.gw_x, &t.gw_key);
	tu_make_cert(&ps, &px, &pk);
	/* What sofia-sip loads (certs.c writes the same two files): a throw-away, and the roots. */
	snprintf(path, sizeof(path), "%s/agent.pem", t.dir);
	write_pem(path, px, pk);
	snprintf(path, sizeof(path), "%s/cafile.pem", t.dir);
	write_pem(path, t.root_x, NULL);
	X509_free(px);
	EVP_PKEY_free(pk);

	t.port = tu_free_port();
	n = snprintf(text, sizeof(text),
	             "[umd]\nmode = sipsecured\nlisten = 127.0.0.1:%d\nfqdn = um1.example.test\n"
	             "[gateway gw1]\naddress = 127.0.0.1\nfqdn = gw1.example.test\n",
	             t.port);
	CU_ASSERT_EQUAL_FATAL(um_config_parse("seam.conf", text, (size_t)n, false, &t.cfg), UM_OK);
	CU_ASSERT_EQUAL_FATAL(um_tls_set_identity(t.um_x, NULL, t.um_key), UM_OK);
	store = X509_STORE_new();
	CU_ASSERT_FATAL(store != NULL && X509_STORE_add_cert(store, t.root_x) == 1);
	um_tls_set_trust(store);
	CU_ASSERT_EQUAL_FATAL(um_fdguard_arm(t.log), UM_OK);

	CU_ASSERT_EQUAL_FATAL(su_init(), 0);
	t.root = su_root_create(NULL);
	CU_ASSERT_FATAL(t.root != NULL);
	su_root_threading(t.root, 0);
	mark();
	CU_ASSERT_EQUAL_FATAL(um_sip_start(t.root, t.cfg, t.dir, t.log, t.metrics, &t.sip), UM_OK);
	CU_ASSERT_FALSE(um_seam_in_window()); /* closed again */
	CU_ASSERT_EQUAL(taken(UM_SEAM_CIPHER_LIST), 1);
	CU_ASSERT_TRUE(passed(UM_SEAM_CIPHER_LIST) >= 1); /* SSL_CTX_new's, for the CipherString */
	CU_ASSERT_EQUAL(um_tls_context_count(), 1);
	CU_ASSERT_EQUAL(taken(UM_SEAM_LEG_TCREATE), 1);
	/* nta's master transport, made once: its receive function is the CANCEL filter. */
	CU_ASSERT_EQUAL(taken(UM_SEAM_TPORT_TCREATE), 1);
	CU_ASSERT_EQUAL(passed(UM_SEAM_TPORT_TCREATE), 0);
	CU_ASSERT_EQUAL(um_seam_check_started(true), UM_OK);
	CU_ASSERT_EQUAL(um_seam_check_started(false), UM_OK);
	/* The default leg's callback was seen: OPTIONS take umd's fast path (sip.c, fast_start). */
	CU_ASSERT_FALSE(log_has("OPTIONS answered through nua"));
}

/* A TLS client of the test's, non-blocking, handshaking while umd's loop runs. */
struct client {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
};

static bool
client_open(struct client *c, const char *tls12_ciphers)
{
	struct sockaddr_in sa;
	X509_STORE *st;
	int r, i;

	memset(c, 0, sizeof(*c));
	c->ctx = SSL_CTX_new(TLS_client_method());
	CU_ASSERT_FATAL(c->ctx != NULL);
	CU_ASSERT_FATAL(SSL_CTX_use_certificate(c->ctx, t.gw_x) == 1 &&
	                SSL_CTX_use_PrivateKey(c->ctx, t.gw_key) == 1);
	st = SSL_CTX_get_cert_store(c->ctx);
	CU_ASSERT_FATAL(X509_STORE_add_cert(st, t.root_x) == 1);
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	if (tls12_ciphers != NULL) {
		CU_ASSERT_FATAL(SSL_CTX_set_max_proto_version(c->ctx, TLS1_2_VERSION) == 1);
		CU_ASSERT_FATAL(SSL_CTX_set_cipher_list(c->ctx, tls12_ciphers) == 1);
	}
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(c->fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)t.port);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	CU_ASSERT_FATAL(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	fcntl(c->fd, F_SETFL, O_NONBLOCK);
	c->ssl = SSL_new(c->ctx);
	CU_ASSERT_FATAL(c->ssl != NULL && SSL_set_fd(c->ssl, c->fd) == 1);
	SSL_set_tlsext_host_name(c->ssl, "um1.example.test");
	for (i = 0; i < 500; i++) {
		if ((r = SSL_connect(c->ssl)) == 1)
			return true;
		r = SSL_get_error(c->ssl, r);
		if (r != SSL_ERROR_WANT_READ && r != SSL_ERROR_WANT_WRITE)
			break;
		pump(1);
	}
	ERR_clear_error();
	return false;
}

static void
client_close(struct client *c)
{
	SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
}

/* Writes `msg` and, when `expect` is given, reads until it appears (true) or 5 s pass. */
static bool
client_say(struct client *c, const char *msg, const char *expect)
{
	char buf[4096];
	size_t have = 0;
	int i, n;

	CU_ASSERT_FATAL(SSL_write(c->ssl, msg, (int)strlen(msg)) == (int)strlen(msg));
	for (i = 0; i < 500; i++) {
		pump(1);
		if (expect == NULL)
			continue;
		n = SSL_read(c->ssl, buf + have, (int)(sizeof(buf) - 1 - have));
		if (n > 0) {
			have += (size_t)n;
			buf[have] = '\0';
			if (strstr(buf, expect) != NULL)
				return true;
		}
		ERR_clear_error();
	}
	return expect == NULL;
}

#define OPTIONS_HEAD                                                                               \
	"OPTIONS sip:um1.example.test SIP/2.0\r\n"                                                 \
	"Via: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-seam-%d\r\n"                               \
	"Max-Forwards: 70\r\nFrom: <sip:gw1.example.test>;tag=seam%d\r\n"                          \
	"To: <sip:um1.example.test>\r\nCall-ID: seam-%d@127.0.0.1\r\nCSeq: 1 OPTIONS\r\n"

/*
 * A gateway's connection: sofia's accept (the guard's), SSL_new (tracked: its peer certificate
 * is known), umd's policy and certificate served (the context taken over), SSL_read (OPTIONS
 * answered), then a message that stops half-way ended by the watchdog (SSL_read framed it) and
 * the SSL freed at sofia's SSL_shutdown (the open-connection gauge back to 0; LeakSanitizer in
 * the ASan run).
 */
static void
test_connection(void)
{
	struct client c;
	struct sockaddr_in local;
	socklen_t len = sizeof(local);
	char msg[512], *text = NULL;
	X509 *served, *peer;
	int i;

	mark();
	CU_ASSERT_FATAL(client_open(&c, NULL));
	CU_ASSERT_EQUAL(taken(UM_SEAM_ACCEPT), 1);
	CU_ASSERT_EQUAL(taken(UM_SEAM_SSL_NEW), 1);
	/* umd's certificate (cert_cb), not sofia's agent.pem; TLS 1.3 with umd's suites. */
	served = SSL_get1_peer_certificate(c.ssl);
	CU_ASSERT_FATAL(served != NULL);
	CU_ASSERT_EQUAL(X509_cmp(served, t.um_x), 0);
	X509_free(served);
	CU_ASSERT_EQUAL(SSL_version(c.ssl), TLS1_3_VERSION);

	snprintf(msg, sizeof(msg), OPTIONS_HEAD "Content-Length: 0\r\n\r\n", 1, 1, 1);
	CU_ASSERT_TRUE(client_say(&c, msg, "SIP/2.0 200"));
	CU_ASSERT_TRUE(taken(UM_SEAM_SSL_READ) >= 1);
	/* Tracked from SSL_new: the certificate the gateway presented, by its address. */
	CU_ASSERT_FATAL(getsockname(c.fd, (struct sockaddr *)&local, &len) == 0);
	peer = um_tls_peer_cert((struct sockaddr *)&local);
	CU_ASSERT_FATAL(peer != NULL);
	CU_ASSERT_EQUAL(X509_cmp(peer, t.gw_x), 0);
	X509_free(peer);

	/* Half a message: framed by the SSL_read hook, so the watchdog ends the connection. */
	snprintf(msg, sizeof(msg), OPTIONS_HEAD, 2, 2, 2);
	CU_ASSERT_TRUE(client_say(&c, msg, NULL));
	CU_ASSERT_EQUAL(um_tls_message_watchdog(0), 1);
	for (i = 0; i < 500 && taken(UM_SEAM_SSL_SHUTDOWN) == 0; i++)
		pump(1);
	CU_ASSERT_EQUAL(taken(UM_SEAM_SSL_SHUTDOWN), 1);
	CU_ASSERT_PTR_NULL(um_tls_peer_cert((struct sockaddr *)&local)); /* freed with the SSL */
	CU_ASSERT_EQUAL_FATAL(um_metrics_render(t.metrics, time(NULL), &text), UM_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "umd_open_connections 0\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(
	        text, "umd_seam_hook_calls_total{symbol=\"SSL_shutdown\",action=\"taken\"}"));
	free(text);
	client_close(&c);
}

/* The count of `name` in umd's /metrics ("name value" on a line of its own); -1: missing. */
static long long
metric(const char *name)
{
	char *text = NULL, key[128];
	const char *at;
	long long v = -1;

	if (um_metrics_render(t.metrics, time(NULL), &text) != UM_OK)
		return -1;
	snprintf(key, sizeof(key), "\n%s ", name);
	if ((at = strstr(text, key)) != NULL)
		v = strtoll(at + strlen(key), NULL, 10);
	free(text);
	return v;
}

/*
 * The keep-alive fast path through SSL_read, SSL_get_error and SSL_write: a plain keep-alive
 * (its Via names the connection's own address) is answered in the SSL_read hook before sofia-sip
 * sees it; sofia-sip's two SSL_reads of that wake-up (tls_want_read, then tport_tls_recv) are
 * told "want read" by the SSL_get_error hook, and sofia-sip writes nothing (the SSL_write hook
 * takes no call). The connection stays open: an OPTIONS the fast path leaves to sofia-sip (with
 * a header it does not know) is answered by nta, through the SSL_write hook, and its read is
 * not taken for "want read". The test's own client SSL, on the same thread, passes the hooks.
 */
static void
test_fast_path(void)
{
	struct client c;
	struct sockaddr_in local;
	socklen_t len = sizeof(local);
	char msg[640];
	long long fast0 = metric("umd_sip_options_fast_total");
	int lport;

	CU_ASSERT_FATAL(fast0 >= 0);
	CU_ASSERT_FATAL(client_open(&c, NULL));
	CU_ASSERT_FATAL(getsockname(c.fd, (struct sockaddr *)&local, &len) == 0);
	lport = ntohs(local.sin_port);

	mark();
	snprintf(msg, sizeof(msg),
	         "OPTIONS sip:um1.example.test SIP/2.0\r\n"
	         "Via: SIP/2.0/TLS 127.0.0.1:%d;branch=z9hG4bK-seam-fast\r\n"
	         "Max-Forwards: 70\r\nFrom: <sip:gw1.example.test>;tag=fast\r\n"
	         "To: <sip:um1.example.test>\r\nCall-ID: seam-fast@127.0.0.1\r\n"
	         "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
	         lport);
	CU_ASSERT_TRUE(client_say(&c, msg, "SIP/2.0 200 OK\r\n"));
	CU_ASSERT_EQUAL(metric("umd_sip_options_fast_total"), fast0 + 1);
	CU_ASSERT_EQUAL(taken(UM_SEAM_SSL_READ), 2);
	CU_ASSERT_EQUAL(taken(UM_SEAM_SSL_GET_ERROR), 2);
	CU_ASSERT_EQUAL(taken(UM_SEAM_SSL_WRITE), 0);
	/* The client's own SSL_write, and the client's SSL_reads: not umd's SSLs. */
	CU_ASSERT_EQUAL(passed(UM_SEAM_SSL_WRITE), 1);
	CU_ASSERT_TRUE(passed(UM_SEAM_SSL_READ) >= 1);

	mark();
	snprintf(msg, sizeof(msg),
	         OPTIONS_HEAD "Subject: more than a keep-alive\r\n"
	                      "Content-Length: 0\r\n\r\n",
	         3, 3, 3);
	CU_ASSERT_TRUE(client_say(&c, msg, "SIP/2.0 200 OK\r\n"));
	CU_ASSERT_EQUAL(metric("umd_sip_options_fast_total"), fast0 + 1);
	CU_ASSERT_TRUE(taken(UM_SEAM_SSL_READ) >= 1);
	CU_ASSERT_EQUAL(taken(UM_SEAM_SSL_GET_ERROR), 0);
	CU_ASSERT_TRUE(taken(UM_SEAM_SSL_WRITE) >= 1);
	client_close(&c);
	for (int i = 0; i < 500 && taken(UM_SEAM_SSL_SHUTDOWN) == 0; i++)
		pump(1);
	CU_ASSERT_EQUAL(taken(UM_SEAM_SSL_SHUTDOWN), 1);
}

/* The policy the cipher-list hook put on sofia's context: sofia's own list would allow these. */
static void
test_policy_refuses(void)
{
	struct client c;

	CU_ASSERT_FALSE(client_open(&c, "AES256-SHA:AES128-SHA"));
	client_close(&c);
	for (int i = 0; i < 50; i++)
		pump(1);
}

/* A listening socket of the test's own: its accept() passes the guard untouched. */
static void
test_foreign_accept_passes(void)
{
	struct sockaddr_in sa;
	int port, lfd = tu_listen_loopback(&port), cfd, afd;

	CU_ASSERT_FATAL(lfd >= 0);
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	CU_ASSERT_FATAL(connect(cfd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	mark();
	afd = accept(lfd, NULL, NULL);
	CU_ASSERT_TRUE(afd >= 0);
	CU_ASSERT_EQUAL(passed(UM_SEAM_ACCEPT), 1);
	CU_ASSERT_EQUAL(taken(UM_SEAM_ACCEPT), 0);
	close(afd);
	close(cfd);
	close(lfd);
}

static int
leg_cb(void *magic, nta_leg_t *leg, nta_incoming_t *irq, sip_t const *sip)
{
	(void)magic;
	(void)leg;
	(void)irq;
	(void)sip;
	return 500;
}

/*
 * A leg of another agent than umd's nua: nta_leg_tcreate passes it through; so does
 * tport_tcreate for that agent's master transport (made by its first nta_agent_add_tport).
 */
static void
test_foreign_leg_passes(void)
{
	/* No transports: sofia's NONE ((void *)-1) as contact URL (nta.c, nta_agent_create). */
	nta_agent_t *agent =
	        nta_agent_create(t.root, (url_string_t const *)(intptr_t)-1, NULL, NULL, TAG_END());
	nta_leg_t *leg;

	CU_ASSERT_FATAL(agent != NULL);
	mark();
	leg = nta_leg_tcreate(agent, leg_cb, NULL, NTATAG_NO_DIALOG(1), TAG_END());
	CU_ASSERT_PTR_NOT_NULL(leg);
	CU_ASSERT_EQUAL(passed(UM_SEAM_LEG_TCREATE), 1);
	CU_ASSERT_EQUAL(taken(UM_SEAM_LEG_TCREATE), 0);
	CU_ASSERT_EQUAL(nta_agent_add_tport(agent, URL_STRING_MAKE("sip:127.0.0.1:*;transport=udp"),
	                                    TAG_END()),
	                0);
	CU_ASSERT_EQUAL(passed(UM_SEAM_TPORT_TCREATE), 1);
	CU_ASSERT_EQUAL(taken(UM_SEAM_TPORT_TCREATE), 0);
	nta_leg_destroy(leg);
	nta_agent_destroy(agent);
}

static void
test_stop(void)
{
	um_sip_shutdown(t.sip);
	su_root_run(t.root); /* until nua's shutdown completes (event_cb breaks the loop) */
	um_sip_free(t.sip);
	su_root_destroy(t.root);
	su_deinit();
	um_config_free(t.cfg);
}

static CU_TestInfo tests[] = {
        {"the sofia-sip version rule", test_version},
        {"a start without the hooks is refused", test_not_started},
        {"OpenSSL's CipherString passes the cipher-list hook", test_cipherstring_passes},
        {"SSLs of other contexts pass", test_foreign_ssl_passes},
        {"um_sip_start: the context and the default leg taken", test_start},
        {"a gateway's connection through every hook", test_connection},
        {"a keep-alive answered before sofia-sip reads it", test_fast_path},
        {"umd's policy on sofia's context", test_policy_refuses},
        {"another listener's accept passes", test_foreign_accept_passes},
        {"another agent's leg and master transport pass", test_foreign_leg_passes},
        {"stop", test_stop},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	FILE *f;
	int rc;

	/* Before OpenSSL reads its configuration (at its first use). */
	if (mkdtemp(conf_dir) == NULL)
		return 1;
	snprintf(conf_path, sizeof(conf_path), "%s/openssl.cnf", conf_dir);
	if ((f = fopen(conf_path, "w")) == NULL)
		return 1;
	fputs("openssl_conf = init\n[init]\nssl_conf = ssl\n[ssl]\nsystem_default = sys\n"
	      "[sys]\nCipherString = " CONF_CIPHERS "\n",
	      f);
	fclose(f);
	setenv("OPENSSL_CONF", conf_path, 1);

	t.dir = tu_tmpdir();
	t.logf = tmpfile();
	if (t.logf == NULL || cc_log_new(CC_LOG_TEXT, t.logf, "umd", false, &t.log) != CC_OK ||
	    um_metrics_new(&t.metrics) != UM_OK)
		return 1;
	rc = tu_run("um_seam", tests);
	cc_log_free(t.log);
	fclose(t.logf);
	um_metrics_free(t.metrics);
	X509_free(t.root_x);
	X509_free(t.um_x);
	X509_free(t.gw_x);
	EVP_PKEY_free(t.root_key);
	EVP_PKEY_free(t.um_key);
	EVP_PKEY_free(t.gw_key);
	tu_rmrf(t.dir);
	free(t.dir);
	unlink(conf_path);
	rmdir(conf_dir);
	return rc;
}
