/*
 * Connections: key pinning before anything but the handshake, and the PKI check (conn.c).
 * The server is `openssl s_server` on loopback: it completes TLS handshakes (which is all a pin
 * check needs) and speaks no LDAP. This suite runs the pin-mismatch path, libldap's failed TLS
 * connect, under the sanitizers of the ASan build.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "edgesync/conn.h"
#include "es_testutil.h"

static char *dir, *cert_path, *key_path, url[64];
static X509 *srv, *other;
static EVP_PKEY *srv_key, *other_key;
static pid_t server;

static void
test_pin_match(void)
{
	struct es_pin pin = es_tu_pin(srv);
	struct es_conn_opts o = {url, 5, NULL, &pin, 1, NULL, NULL};
	struct es_conn *c = NULL;
	bool have = true;

	CU_ASSERT_EQUAL(es_conn_open(&o, &c, NULL, &have), ES_OK);
	CU_ASSERT_PTR_NOT_NULL(c);
	CU_ASSERT(!have);
	CU_ASSERT_STRING_EQUAL(es_conn_url(c), url);
	CU_ASSERT_EQUAL(es_conn_timeout(c), 5);
	es_conn_close(c);
	es_conn_close(NULL);
}

static void
test_pin_mismatch(void)
{
	struct es_pin pins[2] = {es_tu_pin(other), es_tu_pin(other)}, presented,
	              want = es_tu_pin(srv);
	struct es_conn_opts o = {url, 5, NULL, pins, 1, NULL, NULL};
	struct es_conn *c = (struct es_conn *)1;
	bool have = false;
	int i;

	/* several times: a failed TLS connect must leave nothing behind (ASan, leaks) */
	for (i = 0; i < 3; i++) {
		memset(&presented, 0, sizeof(presented));
		CU_ASSERT_EQUAL(es_conn_open(&o, &c, &presented, &have), ES_ERR_PIN_MISMATCH);
		CU_ASSERT_PTR_NULL(c);
		CU_ASSERT(have);
		CU_ASSERT(es_pin_equal(&presented, &want));
		CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "matches none of the 1 pinned"));
	}
	/* presented may be NULL */
	CU_ASSERT_EQUAL(es_conn_open(&o, &c, NULL, NULL), ES_ERR_PIN_MISMATCH);
	o.npins = 2;
	CU_ASSERT_EQUAL(es_conn_open(&o, &c, &presented, &have), ES_ERR_PIN_MISMATCH);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "matches none of the 2 pinned"));
}

static void
test_second_pin(void)
{
	struct es_pin pins[2] = {es_tu_pin(other), es_tu_pin(srv)};
	struct es_conn_opts o = {url, 5, NULL, pins, 2, NULL, NULL};
	struct es_conn *c = NULL;

	/* a renewed certificate pinned next to the old one: either key is accepted */
	CU_ASSERT_EQUAL(es_conn_open(&o, &c, NULL, NULL), ES_OK);
	es_conn_close(c);
}

static void
test_down_is_not_a_mismatch(void)
{
	struct es_pin pin = es_tu_pin(other);
	char down[64];
	struct es_conn_opts o = {down, 2, NULL, &pin, 1, NULL, NULL};
	struct es_conn *c = NULL;
	bool have = true;

	snprintf(down, sizeof(down), "ldaps://127.0.0.1:%d", tu_free_port());
	CU_ASSERT_EQUAL(es_conn_open(&o, &c, NULL, &have), ES_ERR_CONNECT);
	CU_ASSERT(!have);
	o.npins = 0;
	CU_ASSERT_EQUAL(es_conn_open(&o, &c, NULL, NULL), ES_ERR_CONNECT);
}

static void
test_pki(void)
{
	struct es_conn_opts o = {url, 5, NULL, NULL, 0, NULL, NULL};
	struct es_conn *c = NULL;
	char *other_path, *other_key_path;

	/* without pins the certificate must chain to a trusted root */
	es_tu_write_pair(dir, "other", other, other_key, &other_path, &other_key_path);
	o.ca_file = other_path;
	CU_ASSERT_EQUAL(es_conn_open(&o, &c, NULL, NULL), ES_ERR_CONNECT);
	/* and name the host of the URL: trusted, but for edge.example.test, not 127.0.0.1 */
	o.ca_file = cert_path;
	CU_ASSERT_EQUAL(es_conn_open(&o, &c, NULL, NULL), ES_ERR_CONNECT);
	CU_ASSERT_PTR_NULL(c);
	free(other_path);
	free(other_key_path);
}

/* A TLS client certificate reaches libldap in memory; a certificate without its key, or with
 * another's key, is refused before any connection is made, naming why. */
static void
test_client_cert(void)
{
	struct es_conn_opts o = {url, 5, NULL, NULL, 0, srv, NULL};
	struct es_conn *c = NULL;

	CU_ASSERT_EQUAL(es_conn_open(&o, &c, NULL, NULL), ES_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "a client certificate without its key"));
	o.client_key = other_key;
	CU_ASSERT_EQUAL(es_conn_open(&o, &c, NULL, NULL), ES_ERR_CONNECT);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "TLS context (with the client certificate)"));
	CU_ASSERT_PTR_NULL(c);
	/* its own key: the context is made; the handshake then fails only on the server's name
	 * (the PKI check, as test_pki) */
	o.client_key = srv_key;
	o.ca_file = cert_path;
	CU_ASSERT_EQUAL(es_conn_open(&o, &c, NULL, NULL), ES_ERR_CONNECT);
	CU_ASSERT_PTR_NULL(strstr(es_errdetail(), "TLS context"));
	CU_ASSERT_PTR_NULL(c);
}

static void
test_bad_urls(void)
{
	struct es_conn_opts o = {"http://127.0.0.1/", 5, NULL, NULL, 0, NULL, NULL};
	struct es_conn *c = NULL;

	CU_ASSERT_EQUAL(es_conn_open(&o, &c, NULL, NULL), ES_ERR_INVAL);
	o.url = "not a url";
	CU_ASSERT_EQUAL(es_conn_open(&o, &c, NULL, NULL), ES_ERR_INVAL);
	o.url = NULL;
	CU_ASSERT_EQUAL(es_conn_open(&o, &c, NULL, NULL), ES_ERR_INVAL);
}

static enum es_err
never_called(LDAP *ld, LDAPMessage *m, void *arg)
{
	(void)ld;
	(void)m;
	(void)arg;
	CU_FAIL("an entry from a server that speaks no LDAP");
	return ES_OK;
}

static void
test_no_ldap_behind(void)
{
	struct es_pin pin = es_tu_pin(srv);
	struct es_conn_opts o = {url, 1, NULL, &pin, 1, NULL, NULL};
	struct es_conn *c = NULL;
	bool sync = true;

	/* TLS is up but nothing answers LDAP: a bind or a search fails in time, never hangs */
	CU_ASSERT_EQUAL_FATAL(es_conn_open(&o, &c, NULL, NULL), ES_OK);
	CU_ASSERT_NOT_EQUAL(es_conn_bind(c, "cn=x", "pw"), ES_OK);
	es_conn_close(c);
	CU_ASSERT_EQUAL_FATAL(es_conn_open(&o, &c, NULL, NULL), ES_OK);
	CU_ASSERT_NOT_EQUAL(es_conn_supports_sync(c, &sync), ES_OK);
	CU_ASSERT(!sync);
	es_conn_close(c);
	/* a paged read fails in time too, and its callback never runs */
	CU_ASSERT_EQUAL_FATAL(es_conn_open(&o, &c, NULL, NULL), ES_OK);
	CU_ASSERT_NOT_EQUAL(es_conn_search_each(c, "dc=x", LDAP_SCOPE_SUBTREE, "(cn=*)", NULL, NULL,
	                                        never_called, NULL),
	                    ES_OK);
	es_conn_close(c);
}

/*
 * A server's answer played over ldapi:// (no TLS: libldap parses it as over LDAPS): a listening
 * socket in the test's directory, the connection accepted, `answer` written and the writing side
 * shut, so the search ends by the answer or the closed connection, never by a timeout.
 */
static struct es_conn *
canned(const void *answer, size_t len, int *sfd)
{
	struct sockaddr_un sa;
	char path[256], u[600];
	struct es_conn_opts o = {u, 5, NULL, NULL, 0, NULL, NULL};
	struct es_conn *c = NULL;
	size_t i, n = 0;
	int lfd;

	snprintf(path, sizeof(path), "%s/ldapi", dir);
	unlink(path);
	n = (size_t)snprintf(u, sizeof(u), "ldapi://");
	for (i = 0; path[i] != '\0' && n + 4 < sizeof(u); i++)
		n += (size_t)(path[i] == '/' ? snprintf(u + n, 4, "%%2F")
		                             : snprintf(u + n, 2, "%c", path[i]));
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	CU_ASSERT_FATAL(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(lfd >= 0 && bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	                listen(lfd, 1) == 0);
	CU_ASSERT_EQUAL_FATAL(es_conn_open(&o, &c, NULL, NULL), ES_OK);
	*sfd = accept(lfd, NULL, NULL);
	close(lfd);
	CU_ASSERT_FATAL(*sfd >= 0);
	CU_ASSERT_FATAL(write(*sfd, answer, len) == (ssize_t)len);
	CU_ASSERT_FATAL(shutdown(*sfd, SHUT_WR) == 0);
	return c;
}

/* SearchResultDone (success) with a paged results response control (1.2.840.113556.1.4.319). */
#define DONE_PAGED_HEAD                                                                            \
	"\x65\x07\x0a\x01\x00\x04\x00\x04\x00"                                                     \
	"\xa0"
#define PAGED_OID                                                                                  \
	"\x04\x16"                                                                                 \
	"1.2.840.113556.1.4.319"

static void
test_paged_control_without_value(void)
{
	/* LDAPMessage { 1, searchResDone, controls { { OID } } }: the control has no value */
	static const char no_value[] =
	        "\x30\x28\x02\x01\x01" DONE_PAGED_HEAD "\x1a\x30\x18" PAGED_OID;
	/* ... and one whose value claims more bytes than the message holds */
	static const char cut[] =
	        "\x30\x2a\x02\x01\x01" DONE_PAGED_HEAD "\x1c\x30\x1a" PAGED_OID "\x04\x46";
	/* ... and a well-formed one: size 0, an empty cookie (the last page) */
	static const char good[] = "\x30\x31\x02\x01\x01" DONE_PAGED_HEAD "\x23\x30\x21" PAGED_OID
	                           "\x04\x07\x30\x05\x02\x01\x00\x04\x00";
	LDAPMessage *res = NULL;
	struct es_conn *c;
	int sfd;

	/* libldap would hand liblber a NULL buffer, whose assertion ends the process */
	c = canned(no_value, sizeof(no_value) - 1, &sfd);
	CU_ASSERT_EQUAL(es_conn_search(c, "dc=x", LDAP_SCOPE_SUBTREE, "(cn=*)", NULL, &res),
	                ES_ERR_SOURCE);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "paged results response control without"));
	CU_ASSERT_PTR_NULL(res);
	es_conn_close(c);
	close(sfd);
	c = canned(cut, sizeof(cut) - 1, &sfd);
	CU_ASSERT_NOT_EQUAL(es_conn_search(c, "dc=x", LDAP_SCOPE_SUBTREE, "(cn=*)", NULL, &res),
	                    ES_OK);
	CU_ASSERT_PTR_NULL(res);
	es_conn_close(c);
	close(sfd);
	c = canned(good, sizeof(good) - 1, &sfd);
	CU_ASSERT_EQUAL(es_conn_search(c, "dc=x", LDAP_SCOPE_SUBTREE, "(cn=*)", NULL, &res), ES_OK);
	CU_ASSERT_PTR_NOT_NULL(res);
	ldap_msgfree(res);
	es_conn_close(c);
	close(sfd);
}

int
main(void)
{
	CU_TestInfo tests[] = {
	        {"a pinned key is accepted", test_pin_match},
	        {"another key is refused and named", test_pin_mismatch},
	        {"a client certificate, in memory", test_client_cert},
	        {"any of several pins", test_second_pin},
	        {"a server that is down is not a mismatch", test_down_is_not_a_mismatch},
	        {"the PKI check (the source)", test_pki},
	        {"URLs that are not LDAP", test_bad_urls},
	        {"a server that speaks no LDAP times out", test_no_ldap_behind},
	        {"a paged results control without a value is an error",
	         test_paged_control_without_value},
	        CU_TEST_INFO_NULL,
	};
	int port, r;

	dir = tu_tmpdir();
	es_tu_cert("edge.example.test", &srv, &srv_key);
	es_tu_cert("other.example.test", &other, &other_key);
	es_tu_write_pair(dir, "srv", srv, srv_key, &cert_path, &key_path);
	server = es_tu_server_start(cert_path, key_path, &port);
	snprintf(url, sizeof(url), "ldaps://127.0.0.1:%d", port);
	r = tu_run("es_conn", tests);
	es_tu_server_stop(server);
	X509_free(srv);
	X509_free(other);
	EVP_PKEY_free(srv_key);
	EVP_PKEY_free(other_key);
	free(cert_path);
	free(key_path);
	tu_rmrf(dir);
	free(dir);
	return r;
}
