/* Rules: defaults, validation, identity, hashing, the edge form of an entry (rule.c). */
#include <stdlib.h>
#include <string.h>

#include "edgesync/rule.h"
#include "testutil.h"

static struct es_rule *defs;
static size_t ndefs;

static void
test_defaults(void)
{
	size_t i;

	CU_ASSERT_EQUAL_FATAL(ndefs, 4);
	CU_ASSERT_STRING_EQUAL(defs[0].name, "recipients");
	CU_ASSERT_EQUAL(defs[0].interval, 300); /* Exchange: recipients every 5 minutes */
	CU_ASSERT(es_rule_hashes(&defs[0], "proxyAddresses"));
	CU_ASSERT(es_rule_hashes(&defs[0], "PROXYADDRESSES"));
	CU_ASSERT(es_rule_hashes(&defs[0], "mail"));
	CU_ASSERT(!es_rule_hashes(&defs[0], "cn"));
	CU_ASSERT_STRING_EQUAL(defs[1].name, "accepteddomains");
	CU_ASSERT_STRING_EQUAL(defs[2].name, "remotedomains");
	CU_ASSERT_STRING_EQUAL(defs[3].name, "connectors");
	for (i = 1; i < 4; i++) {
		CU_ASSERT_EQUAL(defs[i].interval, 180); /* configuration every 3 minutes */
		CU_ASSERT_PTR_NULL(defs[i].hash[0]);
	}
	for (i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(es_rule_validate(&defs[i]), ES_OK);
}

static void
test_split(void)
{
	char **v = NULL;

	CU_ASSERT_EQUAL(es_rule_split_list(" cn, mail  proxyAddresses,,", &v), ES_OK);
	CU_ASSERT_STRING_EQUAL(v[0], "cn");
	CU_ASSERT_STRING_EQUAL(v[1], "mail");
	CU_ASSERT_STRING_EQUAL(v[2], "proxyAddresses");
	CU_ASSERT_PTR_NULL(v[3]);
	free(v[0]);
	free(v[1]);
	free(v[2]);
	free(v);
	CU_ASSERT_EQUAL(es_rule_split_list("", &v), ES_OK);
	CU_ASSERT_PTR_NULL(v[0]);
	free(v);
}

/* Validates a copy of recipients with one field changed. */
static enum es_err
variant(const char *what, const char *value)
{
	struct es_rule r;
	enum es_err e;

	CU_ASSERT_FATAL(es_rule_copy(&defs[0], &r) == ES_OK);
	if (strcmp(what, "name") == 0) {
		free(r.name);
		r.name = strdup(value);
	} else if (strcmp(what, "filter") == 0) {
		free(r.filter);
		r.filter = strdup(value);
	} else if (strcmp(what, "target") == 0) {
		free(r.target);
		r.target = strdup(value);
	} else if (strcmp(what, "base") == 0) {
		r.base = strdup(value);
	} else if (strcmp(what, "attrs") == 0) {
		free(r.attrs[0]);
		r.attrs[0] = strdup(value);
	} else if (strcmp(what, "hash") == 0) {
		free(r.hash[0]);
		r.hash[0] = strdup(value);
	} else if (strcmp(what, "interval") == 0) {
		r.interval = atoi(value);
	}
	e = es_rule_validate(&r);
	es_rule_clear(&r);
	return e;
}

static void
test_validate(void)
{
	CU_ASSERT_EQUAL(variant("name", "Recipients"), ES_ERR_CONFIG);
	CU_ASSERT_EQUAL(variant("name", "-x"), ES_ERR_CONFIG);
	CU_ASSERT_EQUAL(variant("name", ""), ES_ERR_CONFIG);
	CU_ASSERT_EQUAL(variant("name", "a-much-too-long-rule-name-over-32-chars"), ES_ERR_CONFIG);
	CU_ASSERT_EQUAL(variant("name", "extra-1"), ES_OK);
	CU_ASSERT_EQUAL(variant("filter", "mail=*"), ES_ERR_CONFIG);
	CU_ASSERT_EQUAL(variant("filter", "(mail=*"), ES_ERR_CONFIG);
	CU_ASSERT_EQUAL(variant("filter", "(mail=*))("), ES_ERR_CONFIG);
	CU_ASSERT_EQUAL(variant("filter", "(a=1)(b=2)"), ES_ERR_CONFIG);
	CU_ASSERT_EQUAL(variant("filter", "(cn=a\\2"), ES_ERR_CONFIG);
	CU_ASSERT_EQUAL(variant("filter", "(&(mail=*)(cn=a\\29b))"), ES_OK);
	CU_ASSERT_EQUAL(variant("target", "cn=Recipients"), ES_ERR_CONFIG);
	CU_ASSERT_EQUAL(variant("target", "ou=a+cn=b"), ES_ERR_CONFIG);
	CU_ASSERT_EQUAL(variant("target", "not a dn"), ES_ERR_CONFIG);
	CU_ASSERT_EQUAL(variant("target", "ou=Inner,ou=Outer"), ES_OK);
	CU_ASSERT_EQUAL(variant("base", "dc=corp,dc=test"), ES_OK);
	CU_ASSERT_EQUAL(variant("base", "what,ever"), ES_ERR_CONFIG);
	CU_ASSERT_EQUAL(variant("attrs", "objectClass"), ES_ERR_CONFIG);
	CU_ASSERT_EQUAL(variant("attrs", "umedgeSourceUUID"), ES_ERR_CONFIG);
	CU_ASSERT_EQUAL(variant("attrs", "bad attr"), ES_ERR_CONFIG);
	CU_ASSERT_EQUAL(variant("hash", "sn"), ES_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "not among the attributes"));
	CU_ASSERT_EQUAL(variant("interval", "0"), ES_ERR_CONFIG);
	CU_ASSERT_EQUAL(variant("interval", "86401"), ES_ERR_CONFIG);
}

static void
test_identity(void)
{
	char a[ES_RULE_HASH_LEN + 1], b[ES_RULE_HASH_LEN + 1];
	struct es_rule r;

	es_rule_identity(&defs[0], "dc=corp,dc=test", a);
	es_rule_identity(&defs[0], "dc=corp,dc=test", b);
	CU_ASSERT_EQUAL(strlen(a), ES_RULE_HASH_LEN);
	CU_ASSERT_STRING_EQUAL(a, b);
	es_rule_identity(&defs[0], "dc=other,dc=test", b);
	CU_ASSERT_STRING_NOT_EQUAL(a, b);
	CU_ASSERT_FATAL(es_rule_copy(&defs[0], &r) == ES_OK);
	free(r.filter);
	r.filter = strdup("(mail=a*)");
	es_rule_identity(&r, "dc=corp,dc=test", b);
	CU_ASSERT_STRING_NOT_EQUAL(a, b);
	es_rule_clear(&r);
	CU_ASSERT_FATAL(es_rule_copy(&defs[0], &r) == ES_OK);
	free(r.hash[1]);
	r.hash[1] = NULL; /* stop hashing proxyAddresses: another query */
	es_rule_identity(&r, "dc=corp,dc=test", b);
	CU_ASSERT_STRING_NOT_EQUAL(a, b);
	/* the interval is not part of what is selected */
	r.interval = 5;
	free(r.hash[0]);
	r.hash[0] = strdup("mail");
	r.hash[1] = strdup("proxyAddresses");
	es_rule_identity(&r, "dc=corp,dc=test", b);
	CU_ASSERT_STRING_EQUAL(a, b);
	es_rule_clear(&r);
}

static void
test_hash(void)
{
	char h[65], h2[65];

	/* printf '%s' 'smtp:user3@corp.test' | sha256sum */
	CU_ASSERT_EQUAL(es_hash_value("smtp:user3@corp.test", 20, h), ES_OK);
	CU_ASSERT_STRING_EQUAL(h,
	                       "d54b7b1699b1f786edb0d02e570adbd180153666a6150b7ca41b0b39a3c2c020");
	CU_ASSERT_EQUAL(es_hash_value("SMTP:User3@Corp.Test", 20, h2), ES_OK);
	CU_ASSERT_STRING_EQUAL(h, h2);
	CU_ASSERT_EQUAL(es_hash_value("", 0, h), ES_OK);
	CU_ASSERT_STRING_EQUAL(h,
	                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	CU_ASSERT_EQUAL(es_hash_value("abc", 3, h), ES_OK);
	CU_ASSERT_STRING_EQUAL(h,
	                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	CU_ASSERT_EQUAL(es_hash_value("ABC", 3, h), ES_OK);
	CU_ASSERT_STRING_EQUAL(h,
	                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void
test_edge_entry(void)
{
	struct es_entry *src = NULL, *e = NULL;
	const struct es_attr *a;
	char h[65], *target = NULL;

	CU_ASSERT_FATAL(es_entry_new("uid=u3,ou=people,dc=corp,dc=test",
	                             "46767964-7f72-1041-97b0-b90291bdc680", &src) == ES_OK);
	CU_ASSERT_FATAL(es_entry_add_value(src, "cn", "User 3", 6) == ES_OK);
	CU_ASSERT_FATAL(es_entry_add_value(src, "mail", "User3@Corp.Test", 15) == ES_OK);
	CU_ASSERT_FATAL(es_entry_add_value(src, "proxyAddresses", "SMTP:User3@Corp.Test", 20) ==
	                ES_OK);
	CU_ASSERT_FATAL(es_entry_add_value(src, "telephoneNumber", "+1 555", 6) == ES_OK);
	CU_ASSERT_EQUAL_FATAL(es_rule_target_dn(&defs[0], "dc=edge1,dc=test", &target), ES_OK);
	CU_ASSERT_STRING_EQUAL(target, "ou=Recipients,dc=edge1,dc=test");
	CU_ASSERT_EQUAL_FATAL(es_rule_edge_entry(&defs[0], target, src, &e), ES_OK);
	CU_ASSERT_STRING_EQUAL(e->dn, "umedgeSourceUUID=46767964-7f72-1041-97b0-b90291bdc680,"
	                              "ou=Recipients,dc=edge1,dc=test");
	CU_ASSERT_STRING_EQUAL(e->key, src->key);
	a = es_entry_attr(e, "objectClass");
	CU_ASSERT_EQUAL(a->nvals, 3);
	CU_ASSERT_STRING_EQUAL(es_entry_attr(e, "umedgeArea")->vals[0].bv_val, "recipients");
	CU_ASSERT_STRING_EQUAL(es_entry_attr(e, "cn")->vals[0].bv_val, "User 3");
	CU_ASSERT_EQUAL(es_hash_value("user3@corp.test", 15, h), ES_OK);
	CU_ASSERT_STRING_EQUAL(es_entry_attr(e, "mail")->vals[0].bv_val, h);
	CU_ASSERT_EQUAL(es_hash_value("smtp:user3@corp.test", 20, h), ES_OK);
	CU_ASSERT_STRING_EQUAL(es_entry_attr(e, "proxyAddresses")->vals[0].bv_val, h);
	CU_ASSERT_PTR_NULL(es_entry_attr(e, "telephoneNumber"));
	es_entry_free(e);
	/* a source entry without a key cannot be placed */
	free(src->key);
	src->key = NULL;
	CU_ASSERT_EQUAL(es_rule_edge_entry(&defs[0], target, src, &e), ES_ERR_INVAL);
	CU_ASSERT_PTR_NULL(e);
	es_entry_free(src);
	free(target);
}

int
main(void)
{
	CU_TestInfo tests[] = {
	        {"the four default rules", test_defaults},
	        {"attribute lists", test_split},
	        {"validation and its refusals", test_validate},
	        {"a rule's identity", test_identity},
	        {"SHA-256 of lower-cased values", test_hash},
	        {"the edge form of a source entry", test_edge_entry},
	        CU_TEST_INFO_NULL,
	};
	size_t i;
	int r;

	if (es_rules_default(&defs, &ndefs) != ES_OK)
		return 1;
	r = tu_run("es_rule", tests);
	for (i = 0; i < ndefs; i++)
		es_rule_clear(&defs[i]);
	free(defs);
	return r;
}
