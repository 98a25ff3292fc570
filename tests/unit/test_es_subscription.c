/* Subscription objects: DNs, cookie values, lookups (subscription.c). */
#include <stdlib.h>
#include <string.h>

#include "edgesync/subscription.h"
#include "testutil.h"

static void
test_dn(void)
{
	char *dn = NULL;

	CU_ASSERT_EQUAL(es_subscription_dn("cn=Edge Subscriptions,dc=corp,dc=test", "edge1", &dn),
	                ES_OK);
	CU_ASSERT_STRING_EQUAL(dn, "cn=edge1,cn=Edge Subscriptions,dc=corp,dc=test");
	free(dn);
	/* a name that would need escaping (or inject an RDN) is refused */
	CU_ASSERT_EQUAL(es_subscription_dn("dc=x", "a,cn=admin", &dn), ES_ERR_INVAL);
	CU_ASSERT_PTR_NULL(dn);
	CU_ASSERT_EQUAL(es_subscription_dn("dc=x", "a+b", &dn), ES_ERR_INVAL);
	CU_ASSERT_EQUAL(es_subscription_dn("dc=x", "", &dn), ES_ERR_INVAL);
}

static struct berval
bv(const char *s)
{
	struct berval b = {strlen(s), (char *)s};

	return b;
}

static void
test_cookie_parse(void)
{
	struct es_cookie c;
	struct berval raw = bv(
	        "recipients 0123456789abcdef rid=000,csn=20261128110000.000000Z#000000#000#000000");

	CU_ASSERT_EQUAL_FATAL(es_cookie_parse(&raw, &c), ES_OK);
	CU_ASSERT_STRING_EQUAL(c.area, "recipients");
	CU_ASSERT_STRING_EQUAL(c.rule, "0123456789abcdef");
	CU_ASSERT_EQUAL(c.value.bv_len,
	                strlen("rid=000,csn=20261128110000.000000Z#000000#000#000000"));
	CU_ASSERT_EQUAL(memcmp(c.value.bv_val, "rid=000,csn=", 12), 0);
	CU_ASSERT_EQUAL(c.raw.bv_len, raw.bv_len);
	es_cookie_clear(&c);
	/* a cookie may hold spaces and any bytes after the second space */
	raw = bv("a 0123456789abcdef x y z");
	CU_ASSERT_EQUAL(es_cookie_parse(&raw, &c), ES_OK);
	CU_ASSERT_EQUAL(c.value.bv_len, 5);
	es_cookie_clear(&c);
	raw = bv("a 0123456789abcdef ");
	CU_ASSERT_EQUAL(es_cookie_parse(&raw, &c), ES_OK);
	CU_ASSERT_EQUAL(c.value.bv_len, 0);
	es_cookie_clear(&c);
}

static void
test_cookie_refused(void)
{
	const char *bad[] = {"",
	                     "recipients",
	                     "recipients 0123456789abcdef",
	                     "recipients 0123 cookie",
	                     " 0123456789abcdef cookie",
	                     "recipients 0123456789abcdef0 cookie"};
	struct es_cookie c;
	struct berval raw;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		raw = bv(bad[i]);
		CU_ASSERT_EQUAL(es_cookie_parse(&raw, &c), ES_ERR_PARSE);
		CU_ASSERT_PTR_NULL(c.area);
	}
}

static void
test_cookie_lookup(void)
{
	struct es_subscription *s = calloc(1, sizeof(*s));
	struct berval raw1 = bv("recipients 0123456789abcdef C1"),
	              raw2 = bv("connectors fedcba9876543210 C2");
	const struct berval *v;

	s->cookies = calloc(2, sizeof(*s->cookies));
	CU_ASSERT_FATAL(es_cookie_parse(&raw1, &s->cookies[0]) == ES_OK);
	CU_ASSERT_FATAL(es_cookie_parse(&raw2, &s->cookies[1]) == ES_OK);
	s->ncookies = 2;
	v = es_subscription_cookie(s, "recipients", "0123456789abcdef");
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL(v->bv_len, 2);
	CU_ASSERT_EQUAL(memcmp(v->bv_val, "C1", 2), 0);
	/* a cookie made for another query of the area is not used */
	CU_ASSERT_PTR_NULL(es_subscription_cookie(s, "recipients", "fedcba9876543210"));
	CU_ASSERT_PTR_NULL(es_subscription_cookie(s, "remotedomains", "0123456789abcdef"));
	es_subscription_free(s);
	es_subscription_free(NULL);
	es_subscription_list_free(NULL, 0);
}

int
main(void)
{
	CU_TestInfo tests[] = {
	        {"subscription DNs", test_dn},
	        {"cookie values", test_cookie_parse},
	        {"malformed cookie values", test_cookie_refused},
	        {"a cookie is looked up by area and rule", test_cookie_lookup},
	        CU_TEST_INFO_NULL,
	};
	return tu_run("es_subscription", tests);
}
