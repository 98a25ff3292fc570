/* umd's configuration (um/src/config.c): a file and the same text in memory read alike. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "testutil.h"

#define GOOD                                                                                       \
	"[umd]\nmode = secured\nlisten = [::1]:5071\nfqdn = um1.example.test\n"                    \
	"log_format = json\nstore = /tmp/s\nhttp_listen =\nidle_seconds = 60\n"                    \
	"handshake_seconds = 3\n\n[gateway gw1]\naddress = 127.0.0.1, ::1\n"                       \
	"fqdn = gw1.example.test\n"

/* Loads `text` from a file named `name` in a fresh directory (and from memory, as `name`). */
static enum um_err
from_file(const char *text, size_t len, struct um_config **out, char **dirp)
{
	char path[512];

	*dirp = tu_tmpdir();
	snprintf(path, sizeof(path), "%s/umd.conf", *dirp);
	tu_write_file(path, text, len, 0600);
	return um_config_load(path, false, out);
}

static void
same(const struct um_config *a, const struct um_config *b)
{
	size_t i;

	CU_ASSERT_EQUAL(a->mode, b->mode);
	CU_ASSERT_STRING_EQUAL(a->listen_host, b->listen_host);
	CU_ASSERT_EQUAL(a->listen_port, b->listen_port);
	CU_ASSERT_EQUAL(a->idle_seconds, b->idle_seconds);
	CU_ASSERT_EQUAL(a->handshake_seconds, b->handshake_seconds);
	CU_ASSERT_EQUAL(a->ngateways, b->ngateways);
	CU_ASSERT_EQUAL_FATAL(a->nerrors, b->nerrors);
	for (i = 0; i < a->nerrors; i++) /* "FILE:LINE: ..." after the name */
		CU_ASSERT_STRING_EQUAL(strchr(a->errors[i], ':'), strchr(b->errors[i], ':'));
}

static void
test_good(void)
{
	struct um_config *f = NULL, *m = NULL;
	char *dir;

	CU_ASSERT_EQUAL_FATAL(from_file(GOOD, strlen(GOOD), &f, &dir), UM_OK);
	CU_ASSERT_EQUAL_FATAL(um_config_parse("mem.conf", GOOD, strlen(GOOD), false, &m), UM_OK);
	same(f, m);
	CU_ASSERT_EQUAL(m->mode, UM_MODE_SECURED);
	CU_ASSERT_STRING_EQUAL(m->listen_host, "::1");
	CU_ASSERT_EQUAL(m->listen_port, 5071);
	CU_ASSERT_EQUAL(m->ngateways, 1);
	CU_ASSERT_EQUAL(m->gateways[0].naddresses, 2);
	um_config_free(f);
	um_config_free(m);
	tu_rmrf(dir);
	free(dir);
}

static void
test_errors_name_lines(void)
{
	static const char bad[] = "[umd]\nmode = loud\nlisten = 127.0.0.1\n[gateway x]\n"
	                          "fqdn = not a name\nnot ini\n";
	struct um_config *f = NULL, *m = NULL;
	char *dir;

	CU_ASSERT_EQUAL(from_file(bad, sizeof(bad) - 1, &f, &dir), UM_ERR_CONFIG);
	CU_ASSERT_EQUAL(um_config_parse("mem.conf", bad, sizeof(bad) - 1, false, &m),
	                UM_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	same(f, m);
	CU_ASSERT_TRUE(m->nerrors >= 4);
	CU_ASSERT_STRING_EQUAL(m->errors[0], "mem.conf:2: mode \"loud\": unsecured, sipsecured or "
	                                     "secured");
	um_config_free(f);
	um_config_free(m);
	tu_rmrf(dir);
	free(dir);
}

/* A NUL ends its line's text, in a file as in memory; the text need not end in one. */
static void
test_nul_and_no_terminator(void)
{
	static const char text[] = "[umd]\nmode = unsecured\0junk\nlisten = 127.0.0.1:5999";
	struct um_config *f = NULL, *m = NULL;
	char *dir;

	CU_ASSERT_EQUAL(from_file(text, sizeof(text) - 1, &f, &dir),
	                um_config_parse("mem.conf", text, sizeof(text) - 1, false, &m));
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	same(f, m);
	CU_ASSERT_EQUAL(m->mode, UM_MODE_UNSECURED);
	CU_ASSERT_EQUAL(m->listen_port, 5999);
	um_config_free(f);
	um_config_free(m);
	tu_rmrf(dir);
	free(dir);
}

/* The keys of client CA names, the heartbeat limit and revocation: defaults, values, errors. */
static void
test_tls_and_health_keys(void)
{
	static const char good[] = "[umd]\nclient_ca_names = none\nstall_seconds = 12\n"
	                           "gateway_revocation = require\n";
	static const char all[] = "[umd]\nclient_ca_names = ALL\n";
	static const char bad[] = "[umd]\nclient_ca_names = bundle\nstall_seconds = 1\n"
	                          "gateway_revocation = hard\nstall_seconds = x\n";
	struct um_config *c = NULL;

	CU_ASSERT_EQUAL_FATAL(um_config_parse("d.conf", "[umd]\n", 6, false, &c), UM_OK);
	CU_ASSERT_EQUAL(c->client_ca_names, UM_CLIENT_CA_STORE);
	CU_ASSERT_EQUAL(c->stall_seconds, 5);
	CU_ASSERT_EQUAL(c->gateway_revocation, UM_REVOCATION_SOFT);
	CU_ASSERT_STRING_EQUAL(um_client_ca_name(c->client_ca_names), "store");
	CU_ASSERT_STRING_EQUAL(um_revocation_name(c->gateway_revocation), "soft");
	um_config_free(c);

	CU_ASSERT_EQUAL_FATAL(um_config_parse("g.conf", good, sizeof(good) - 1, false, &c), UM_OK);
	CU_ASSERT_EQUAL(c->client_ca_names, UM_CLIENT_CA_NONE);
	CU_ASSERT_EQUAL(c->stall_seconds, 12);
	CU_ASSERT_EQUAL(c->gateway_revocation, UM_REVOCATION_REQUIRE);
	CU_ASSERT_STRING_EQUAL(um_revocation_name(c->gateway_revocation), "require");
	um_config_free(c);

	CU_ASSERT_EQUAL_FATAL(um_config_parse("a.conf", all, sizeof(all) - 1, false, &c), UM_OK);
	CU_ASSERT_EQUAL(c->client_ca_names, UM_CLIENT_CA_ALL);
	CU_ASSERT_STRING_EQUAL(um_client_ca_name(c->client_ca_names), "all");
	um_config_free(c);

	CU_ASSERT_EQUAL(um_config_parse("b.conf", bad, sizeof(bad) - 1, false, &c), UM_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(c->nerrors, 4);
	CU_ASSERT_STRING_EQUAL(c->errors[0],
	                       "b.conf:2: client_ca_names \"bundle\": store, none or all");
	CU_ASSERT_STRING_EQUAL(c->errors[1], "b.conf:3: stall_seconds \"1\": 2 to 300");
	CU_ASSERT_STRING_EQUAL(c->errors[2],
	                       "b.conf:4: gateway_revocation \"hard\": soft or require");
	CU_ASSERT_STRING_EQUAL(c->errors[3], "b.conf:5: stall_seconds \"x\": 2 to 300");
	um_config_free(c);
}

static void
test_crl_fetch_keys(void)
{
	static const char good[] = "[umd]\ngateway_crl_fetch = NO\n"
	                           "gateway_crl_proxy = http://proxy.example.test:3128\n";
	static const char empty[] = "[umd]\ngateway_crl_fetch = yes\n"
	                            "gateway_crl_proxy = http://p.test\ngateway_crl_proxy =\n";
	static const char bad[] = "[umd]\ngateway_crl_fetch = maybe\n"
	                          "gateway_crl_proxy = https://p.test:3128\n"
	                          "gateway_crl_proxy = socks5://p.test:1080\n"
	                          "gateway_crl_proxy = http://p.test:3128/x\n"
	                          "gateway_crl_proxy = http://user:pw@p.test:3128\n"
	                          "gateway_crl_proxy = http://p.test:3128?x\n"
	                          "gateway_crl_fetch =\n";
	struct um_config *c = NULL;

	CU_ASSERT_EQUAL_FATAL(um_config_parse("d.conf", "[umd]\n", 6, false, &c), UM_OK);
	CU_ASSERT_TRUE(c->gateway_crl_fetch);
	CU_ASSERT_PTR_NULL(c->gateway_crl_proxy);
	um_config_free(c);

	CU_ASSERT_EQUAL_FATAL(um_config_parse("g.conf", good, sizeof(good) - 1, false, &c), UM_OK);
	CU_ASSERT_FALSE(c->gateway_crl_fetch);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c->gateway_crl_proxy);
	CU_ASSERT_STRING_EQUAL(c->gateway_crl_proxy, "http://proxy.example.test:3128");
	um_config_free(c);

	CU_ASSERT_EQUAL_FATAL(um_config_parse("e.conf", empty, sizeof(empty) - 1, false, &c),
	                      UM_OK);
	CU_ASSERT_TRUE(c->gateway_crl_fetch);
	CU_ASSERT_PTR_NULL(c->gateway_crl_proxy); /* empty: none (then $http_proxy) */
	um_config_free(c);

	CU_ASSERT_EQUAL(um_config_parse("b.conf", bad, sizeof(bad) - 1, false, &c), UM_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(c->nerrors, 7);
	CU_ASSERT_STRING_EQUAL(c->errors[0], "b.conf:2: gateway_crl_fetch \"maybe\": yes or no");
	CU_ASSERT_STRING_EQUAL(c->errors[1], "b.conf:3: gateway_crl_proxy \"https://p.test:3128\": "
	                                     "http://host[:port], or empty for none");
	CU_ASSERT_PTR_NOT_NULL(strstr(c->errors[2], "b.conf:4: gateway_crl_proxy \"socks5://"));
	CU_ASSERT_PTR_NOT_NULL(strstr(c->errors[3], "b.conf:5: gateway_crl_proxy"));
	CU_ASSERT_PTR_NOT_NULL(strstr(c->errors[4], "b.conf:6: gateway_crl_proxy"));
	CU_ASSERT_PTR_NOT_NULL(strstr(c->errors[5], "b.conf:7: gateway_crl_proxy"));
	CU_ASSERT_STRING_EQUAL(c->errors[6], "b.conf:8: gateway_crl_fetch \"\": yes or no");
	um_config_free(c);
}

static void
test_missing_file(void)
{
	struct um_config *c = NULL;

	CU_ASSERT_EQUAL(um_config_load("/nonexistent/umd.conf", false, &c), UM_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), "/nonexistent/umd.conf"));
	if (c != NULL)
		CU_ASSERT_EQUAL(c->nerrors, 0);
	um_config_free(c);
}

static CU_TestInfo tests[] = {
        {"a good configuration, from a file and from memory", test_good},
        {"errors name FILE:LINE, every one", test_errors_name_lines},
        {"a NUL byte and a missing last newline", test_nul_and_no_terminator},
        {"a file that cannot be read", test_missing_file},
        {"client_ca_names, stall_seconds, gateway_revocation", test_tls_and_health_keys},
        {"gateway_crl_fetch, gateway_crl_proxy", test_crl_fetch_keys},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("um_config", tests);
}
