/* The edge side of a subscription (bootstrap.c): its refusals, which write no file. The whole
 * flow against a real edge directory is in tests/integration/edgesync_sync.sh. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "certcore/services.h"
#include "certcore/store.h"
#include "edgesync/bootstrap.h"
#include "edgesync/subfile.h"
#include "es_testutil.h"

static char *dir;

static struct es_config *
config(const char *url)
{
	char text[1024], *p, *pw;
	struct es_config *c = NULL;

	pw = es_tu_file(dir, "admin.pw", "secret\n");
	snprintf(text, sizeof(text),
	         "[edgesync]\nstore = %s/store\ntimeout = 1\n\n[edge]\nname = edge1\n"
	         "fqdn = edge1.example.test\nurl = %s\nbase = dc=edge1,dc=test\n"
	         "admin_dn = cn=admin,dc=edge1,dc=test\nadmin_password_file = %s\n",
	         dir, url, pw);
	p = es_tu_file(dir, "edge.conf", text);
	CU_ASSERT_FATAL(es_config_load(p, &c) == ES_OK);
	free(p);
	free(pw);
	return c;
}

static char *
out_path(void)
{
	char *p = NULL;

	if (asprintf(&p, "%s/edge1.sub", dir) < 0)
		abort();
	return p;
}

static void
test_arguments(void)
{
	struct es_config *c = config("ldaps://127.0.0.1:1");
	struct es_bootstrap_result res;
	char *out = out_path();

	CU_ASSERT_EQUAL(es_bootstrap_subscription(c, NULL, 0, time(NULL), out, &res), ES_ERR_INVAL);
	CU_ASSERT_EQUAL(es_bootstrap_subscription(c, NULL, ES_SUBFILE_MAX_MINUTES + 1, time(NULL),
	                                          out, &res),
	                ES_ERR_INVAL);
	c->has_edge = false;
	CU_ASSERT_EQUAL(es_bootstrap_subscription(c, NULL, 60, time(NULL), out, &res),
	                ES_ERR_CONFIG);
	CU_ASSERT(access(out, F_OK) != 0);
	es_config_free(c);
	free(out);
}

static void
test_directory_serves_another_key(void)
{
	X509 *x;
	EVP_PKEY *k;
	char *cp, *kp, url[64], *out = out_path();
	struct es_config *c;
	struct es_bootstrap_result res;
	struct es_tu_log l;
	pid_t server;
	int port;

	/* the "edge directory" presents a certificate that is not the store's LDAP one */
	es_tu_cert("edge1.example.test", &x, &k);
	es_tu_write_pair(dir, "served", x, k, &cp, &kp);
	server = es_tu_server_start(cp, kp, &port);
	snprintf(url, sizeof(url), "ldaps://127.0.0.1:%d", port);
	c = config(url);
	es_tu_log_open(&l, CC_LOG_TEXT);
	CU_ASSERT_EQUAL(es_bootstrap_subscription(c, l.log, 60, time(NULL), out, &res),
	                ES_ERR_PIN_MISMATCH);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "configure its TLS with"));
	/* a certificate was made for the edge (none was there), and logged */
	CU_ASSERT_PTR_NOT_NULL(
	        strstr(es_tu_log_text(&l), "1002 SelfSignedCertificateCreated service=LDAP"));
	CU_ASSERT_PTR_NOT_NULL(strstr(es_tu_log_text(&l), "domains=edge1.example.test"));
	CU_ASSERT(access(out, F_OK) != 0);
	es_tu_log_close(&l);
	es_tu_server_stop(server);
	es_config_free(c);
	X509_free(x);
	EVP_PKEY_free(k);
	free(cp);
	free(kp);
	free(out);
}

static void
test_not_a_directory(void)
{
	char url[64], *out = out_path(), cert[512], key[512], thumb[CC_THUMB_LEN + 1];
	struct es_config *c;
	struct es_bootstrap_result res;
	struct cc_store *s = NULL;
	struct cc_cert *cc;
	pid_t server;
	int port;
	size_t i;

	/* the right key is served, but nothing answers LDAP behind it: no file */
	c = config("ldaps://127.0.0.1:1");
	CU_ASSERT_FATAL(cc_store_open(c->store, CC_STORE_CREATE, &s) == CC_OK);
	for (i = 0, thumb[0] = '\0'; i < cc_store_count(s); i++) {
		cc = cc_store_cert(s, i);
		if (cc_cert_services(cc) & CC_SVC_LDAP)
			memcpy(thumb, cc_cert_thumbprint(cc), sizeof(thumb));
	}
	CU_ASSERT_FATAL(thumb[0] != '\0');
	snprintf(cert, sizeof(cert), "%s/certs/%s.pem", c->store, thumb);
	snprintf(key, sizeof(key), "%s/keys/%s.key", c->store, thumb);
	server = es_tu_server_start(cert, key, &port);
	es_config_free(c);
	snprintf(url, sizeof(url), "ldaps://127.0.0.1:%d", port);
	c = config(url);
	CU_ASSERT_NOT_EQUAL(es_bootstrap_subscription(c, NULL, 60, time(NULL), out, &res), ES_OK);
	CU_ASSERT(access(out, F_OK) != 0);
	/* the certificate was reused, not made again */
	CU_ASSERT_EQUAL(cc_store_reload(s), CC_OK);
	CU_ASSERT_EQUAL(cc_store_count(s), 1);
	es_tu_server_stop(server);
	cc_store_free(s);
	es_config_free(c);
	free(out);
}

int
main(void)
{
	CU_TestInfo tests[] = {
	        {"minutes and the [edge] section", test_arguments},
	        {"a directory serving another key is refused", test_directory_serves_another_key},
	        {"no LDAP behind the right key: no file", test_not_a_directory},
	        CU_TEST_INFO_NULL,
	};
	int r;

	dir = tu_tmpdir();
	r = tu_run("es_bootstrap", tests);
	tu_rmrf(dir);
	free(dir);
	return r;
}
