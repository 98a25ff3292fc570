/* Dialog ownership (um/src/dialog.c): who may send requests inside a call's dialog. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "dialog.h"
#include "testutil.h"

static const char GATEWAYS[] =
        "[umd]\nmode = sipsecured\nlisten = 127.0.0.1:5061\n"
        "[gateway gw1]\naddress = 127.0.0.1\nfqdn = gw1.example.test\n"
        "[gateway gw2]\naddress = 127.0.0.1 127.0.0.2\nfqdn = gw2.example.test\n";

static struct sockaddr_in
addr(const char *ip, int port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)port);
	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

static X509 *
cert_for(const char *name)
{
	const char *sans[] = {name, NULL};
	struct tu_cert_spec spec = {.cn = name, .sans = sans, .key = "ec256"};
	EVP_PKEY *k = NULL;
	X509 *x = NULL;

	tu_make_cert(&spec, &x, &k);
	EVP_PKEY_free(k);
	return x;
}

static struct um_config *
config(void)
{
	struct um_config *c = NULL;

	CU_ASSERT_EQUAL_FATAL(um_config_parse("t.conf", GATEWAYS, sizeof(GATEWAYS) - 1, false, &c),
	                      UM_OK);
	return c;
}

static void
test_secure(void)
{
	struct um_config *cfg = config();
	X509 *gw1 = cert_for("gw1.example.test"), *gw1b = cert_for("gw1.example.test");
	X509 *gw2 = cert_for("gw2.example.test");
	struct sockaddr_in a1 = addr("127.0.0.1", 40001), a1b = addr("127.0.0.1", 40002);
	struct um_owner o;
	char why[256];

	CU_ASSERT_EQUAL_FATAL(um_owner_set(&o, &cfg->gateways[0], (struct sockaddr *)&a1, gw1),
	                      UM_OK);
	CU_ASSERT_STRING_EQUAL(o.gateway, "gw1");
	CU_ASSERT_TRUE(o.has_cert);
	/* The owner, on the same or another connection. */
	CU_ASSERT_TRUE(
	        um_owner_check(&o, cfg, (struct sockaddr *)&a1, gw1, true, why, sizeof(why)));
	CU_ASSERT_TRUE(
	        um_owner_check(&o, cfg, (struct sockaddr *)&a1b, gw1, true, why, sizeof(why)));
	/* Another gateway from the same address: refused, naming the owner. */
	CU_ASSERT_FALSE(
	        um_owner_check(&o, cfg, (struct sockaddr *)&a1b, gw2, true, why, sizeof(why)));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "gw1"));
	/* A certificate naming the same gateway, but not the one the call was placed with. */
	CU_ASSERT_FALSE(
	        um_owner_check(&o, cfg, (struct sockaddr *)&a1, gw1b, true, why, sizeof(why)));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "not the one"));
	/* No certificate at all in a secure mode. */
	CU_ASSERT_FALSE(
	        um_owner_check(&o, cfg, (struct sockaddr *)&a1, NULL, true, why, sizeof(why)));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "no TLS client certificate"));
	X509_free(gw1);
	X509_free(gw1b);
	X509_free(gw2);
	um_config_free(cfg);
}

static void
test_unsecured(void)
{
	struct um_config *cfg = config();
	struct sockaddr_in a1 = addr("127.0.0.1", 5060), a1b = addr("127.0.0.1", 5070);
	struct sockaddr_in a2 = addr("127.0.0.2", 5060), a3 = addr("127.0.0.3", 5060);
	struct um_owner o;
	char why[256];

	CU_ASSERT_EQUAL_FATAL(um_owner_set(&o, &cfg->gateways[0], (struct sockaddr *)&a1, NULL),
	                      UM_OK);
	CU_ASSERT_FALSE(o.has_cert);
	CU_ASSERT_TRUE(
	        um_owner_check(&o, cfg, (struct sockaddr *)&a1b, NULL, false, why, sizeof(why)));
	CU_ASSERT_FALSE(
	        um_owner_check(&o, cfg, (struct sockaddr *)&a2, NULL, false, why, sizeof(why)));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "address is not the one gateway gw1"));
	CU_ASSERT_FALSE(
	        um_owner_check(&o, cfg, (struct sockaddr *)&a3, NULL, false, why, sizeof(why)));
	um_config_free(cfg);
}

static void
test_config_changed(void)
{
	/* The owner's address left its gateway entry in a reload: its requests are refused. */
	static const char C2[] = "[umd]\nmode = unsecured\nlisten = 127.0.0.1:5060\n"
	                         "[gateway gw1]\naddress = 127.0.0.9\n";
	struct um_config *cfg = config(), *cfg2 = NULL;
	struct sockaddr_in a1 = addr("127.0.0.1", 5060);
	struct um_owner o;
	char why[256];

	CU_ASSERT_EQUAL_FATAL(um_config_parse("t2.conf", C2, sizeof(C2) - 1, false, &cfg2), UM_OK);
	CU_ASSERT_EQUAL_FATAL(um_owner_set(&o, &cfg->gateways[0], (struct sockaddr *)&a1, NULL),
	                      UM_OK);
	CU_ASSERT_FALSE(
	        um_owner_check(&o, cfg2, (struct sockaddr *)&a1, NULL, false, why, sizeof(why)));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "not configured for any gateway"));
	um_config_free(cfg);
	um_config_free(cfg2);
}

static void
test_bad_input(void)
{
	struct um_config *cfg = config();
	struct sockaddr_un_like {
		sa_family_t f;
		char pad[30];
	} u = {.f = AF_UNIX};
	struct um_owner o;

	CU_ASSERT_NOT_EQUAL(um_owner_set(&o, NULL, (struct sockaddr *)&u, NULL), UM_OK);
	CU_ASSERT_NOT_EQUAL(um_owner_set(&o, &cfg->gateways[0], (struct sockaddr *)&u, NULL),
	                    UM_OK);
	um_config_free(cfg);
}

static CU_TestInfo tests[] = {
        {"secure modes: the certificate and gateway entry", test_secure},
        {"unsecured: the address", test_unsecured},
        {"a reload that moves the owner away", test_config_changed},
        {"bad input", test_bad_input},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("um_dialog", tests);
}
