/* The configuration file: keys, defaults, rules, and errors that name FILE:LINE (config.c). */
#include <stdlib.h>
#include <string.h>

#include "es_testutil.h"

static char *dir;

/* Loads `text` as a file; returns the result and keeps the config in *out (may be NULL). */
static enum es_err
load(const char *text, struct es_config **out)
{
	char *p = es_tu_file(dir, "t.conf", text);
	struct es_config *c = NULL;
	enum es_err r = es_config_load(p, &c);

	free(p);
	if (out != NULL)
		*out = c;
	else
		es_config_free(c);
	return r;
}

/* The load fails and es_errdetail() holds "t.conf:LINE: " followed by `what`. */
static void
fails_at(const char *text, int line, const char *what)
{
	char want[256];

	CU_ASSERT_EQUAL(load(text, NULL), ES_ERR_CONFIG);
	snprintf(want, sizeof(want), "t.conf:%d: ", line);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), want));
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), what));
	if (strstr(es_errdetail(), want) == NULL || strstr(es_errdetail(), what) == NULL)
		fprintf(stderr, "\n    got: %s\n", es_errdetail());
}

static const char source[] = "[source]\n"
                             "url = ldaps://127.0.0.1:636\n"
                             "bind_dn = cn=admin,dc=corp,dc=test\n"
                             "bind_password_file = /etc/pw\n"
                             "subscriptions = cn=Edge Subscriptions,dc=corp,dc=test\n";

static void
test_full(void)
{
	struct es_config *c = NULL;
	const struct es_rule *r;
	char text[2048];

	snprintf(text, sizeof(text),
	         "; comment\n# comment\n[edgesync]\nstore = /tmp/st ; inline comment\n"
	         "log_format = json\nlease_seconds = 60\ntimeout = 5\n"
	         "replicator_certificates = /a.pem /b.pem\n\n%s"
	         "base = dc=corp,dc=test\nca_file = /etc/ca.pem\n\n"
	         "[edge]\nname = edge1\nfqdn = edge1.example.test\nurl = ldaps://192.0.2.1:636\n"
	         "base = dc=edge1,dc=test\nadmin_dn = cn=admin,dc=edge1,dc=test\n"
	         "admin_password_file = /etc/epw\nadmin_url = ldapi:///\n\n"
	         "[rule recipients]\nbase = ou=people,dc=corp,dc=test\ninterval = 60\n\n"
	         "[rule extra]\nfilter = (objectClass=device)\nattributes = cn serialNumber\n"
	         "hash = serialNumber\ntarget = ou=Devices\n",
	         source);
	CU_ASSERT_EQUAL_FATAL(load(text, &c), ES_OK);
	CU_ASSERT_STRING_EQUAL(c->store, "/tmp/st");
	CU_ASSERT_EQUAL(c->log_format, CC_LOG_JSON);
	CU_ASSERT_EQUAL(c->lease_seconds, 60);
	CU_ASSERT_EQUAL(c->timeout, 5);
	CU_ASSERT_STRING_EQUAL(c->replicator_certificates[1], "/b.pem");
	CU_ASSERT(c->has_source && c->has_edge);
	CU_ASSERT_STRING_EQUAL(c->source_url, "ldaps://127.0.0.1:636");
	CU_ASSERT_STRING_EQUAL(c->subscriptions, "cn=Edge Subscriptions,dc=corp,dc=test");
	CU_ASSERT_STRING_EQUAL(c->source_base, "dc=corp,dc=test");
	CU_ASSERT_STRING_EQUAL(c->edge_name, "edge1");
	CU_ASSERT_STRING_EQUAL(c->edge_admin_url, "ldapi:///");
	CU_ASSERT_EQUAL(c->nrules, 5);
	/* [rule recipients] changed its base and interval only */
	r = es_config_rule(c, "recipients");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_STRING_EQUAL(r->base, "ou=people,dc=corp,dc=test");
	CU_ASSERT_EQUAL(r->interval, 60);
	CU_ASSERT_STRING_EQUAL(r->filter, "(mail=*)");
	CU_ASSERT(es_rule_hashes(r, "proxyAddresses"));
	r = es_config_rule(c, "extra");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(r->interval, 300);
	CU_ASSERT(es_rule_hashes(r, "serialNumber"));
	CU_ASSERT_PTR_NULL(es_config_rule(c, "nosuch"));
	CU_ASSERT_EQUAL(es_config_require_source(c), ES_OK);
	CU_ASSERT_EQUAL(es_config_require_edge(c), ES_OK);
	es_config_free(c);
	es_config_free(NULL);
}

static void
test_defaults(void)
{
	struct es_config *c = NULL;

	CU_ASSERT_EQUAL_FATAL(load(source, &c), ES_OK);
	CU_ASSERT_STRING_EQUAL(c->store, "/var/lib/umedge/store");
	CU_ASSERT_EQUAL(c->log_format, CC_LOG_TEXT);
	CU_ASSERT_EQUAL(c->lease_seconds, 300);
	CU_ASSERT_EQUAL(c->timeout, 30);
	CU_ASSERT_PTR_NULL(c->source_base);
	CU_ASSERT_EQUAL(c->nrules, 4);
	CU_ASSERT(!c->has_edge);
	CU_ASSERT_EQUAL(es_config_require_edge(c), ES_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "no [edge] section"));
	es_config_free(c);
}

static void
test_errors(void)
{
	char text[1024];

	fails_at("[edgesync]\nlease_seconds = 0\n", 2, "lease_seconds");
	fails_at("[edgesync]\nlease_seconds = 12x\n", 2, "whole number");
	fails_at("[edgesync]\nlog_format = xml\n", 2, "text or json");
	fails_at("[edgesync]\ncolour = blue\n", 2, "unknown key \"colour\" in [edgesync]");
	fails_at("[edgesync]\nstore = /a\nstore = /b\n", 3, "set twice");
	fails_at("[elsewhere]\nx = 1\n", 2, "unknown section [elsewhere]");
	fails_at("x = 1\n", 1, "outside any section");
	fails_at("[source]\nurl = http://x/\n", 2, "want an ldaps:// or ldap:// URL");
	fails_at("[source]\nurl = ldapi:///\n", 2, "want an ldaps:// or ldap:// URL");
	fails_at("[source]\nbind_dn = not a dn\n", 2, "not a DN");
	fails_at("[source]\nbind_password = hunter2\n", 2, "passwords are not kept");
	fails_at("[edge]\nadmin_password = hunter2\n", 2, "passwords are not kept");
	fails_at("[edge]\nname = a/b\n", 2, "name = \"a/b\"");
	fails_at("[edgesync]\nstore = /a\n   continued\n", 3, "continuation lines");
	fails_at("[edgesync]\nstore = /a\n\n[edgesync]\ntimeout = 3\n", 4, "second [edgesync]");
	fails_at("[rule Bad]\nfilter = (a=*)\n", 2, "a rule name is");
	fails_at("[rule x]\nwhat = 1\n", 2, "unknown key \"what\" in [rule x]");
	fails_at("[rule x]\ninterval = 0\n", 2, "interval");
	fails_at("no equals sign here\n", 1, "syntax error");
	memset(text, 'a', sizeof(text));
	memcpy(text, "[edgesync]\nstore = /", 20);
	text[sizeof(text) - 2] = '\n';
	text[sizeof(text) - 1] = '\0';
	fails_at(text, 2, "longer than");
}

static void
test_incomplete(void)
{
	char text[1024];

	fails_at("[source]\nurl = ldaps://x\n", 1, "[source] needs bind_dn");
	fails_at("[edgesync]\nstore = /a\n\n[edge]\nname = e\n", 4, "[edge] needs fqdn");
	snprintf(text, sizeof(text), "%s\n[rule extra]\nfilter = (cn=*)\ntarget = ou=X\n", source);
	fails_at(text, 7, "[rule extra] needs filter, attributes and target");
	snprintf(text, sizeof(text), "%s\n[rule recipients]\nhash = sn\n", source);
	fails_at(text, 7, "hashed attribute sn is not among the attributes");
	snprintf(text, sizeof(text), "%s\n[rule recipients]\ntarget = cn=R\n", source);
	fails_at(text, 7, "must be ou= RDNs");
	CU_ASSERT_EQUAL(load("[edgesync]\nstore = /a\n", NULL), ES_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "neither [source]"));
	CU_ASSERT_EQUAL(es_config_load("/nonexistent/x.conf", &(struct es_config *){NULL}),
	                ES_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "/nonexistent/x.conf"));
}

static void
test_edge_names(void)
{
	CU_ASSERT(es_edge_name_valid("edge1"));
	CU_ASSERT(es_edge_name_valid("Edge-1.site_a"));
	CU_ASSERT(!es_edge_name_valid(""));
	CU_ASSERT(!es_edge_name_valid(NULL));
	CU_ASSERT(!es_edge_name_valid("a,cn=x"));
	CU_ASSERT(!es_edge_name_valid("a b"));
	CU_ASSERT(!es_edge_name_valid("a=b"));
	CU_ASSERT(!es_edge_name_valid(
	        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

/* [source] bind: simple by default; external needs no DN nor password file and takes none. */
static void
test_bind(void)
{
	struct es_config *c = NULL;
	static const char ext[] = "[source]\n"
	                          "url = ldaps://127.0.0.1:636\n"
	                          "bind = external\n"
	                          "subscriptions = cn=Edge Subscriptions,dc=corp,dc=test\n";

	CU_ASSERT_EQUAL_FATAL(load(source, &c), ES_OK);
	CU_ASSERT_EQUAL(c->source_bind, ES_BIND_SIMPLE);
	es_config_free(c);
	c = NULL;
	CU_ASSERT_EQUAL_FATAL(load(ext, &c), ES_OK);
	CU_ASSERT_EQUAL(c->source_bind, ES_BIND_EXTERNAL);
	CU_ASSERT_PTR_NULL(c->source_bind_dn);
	CU_ASSERT_PTR_NULL(c->source_password_file);
	es_config_free(c);
	fails_at("[source]\nurl = ldaps://h\nbind = sasl\nsubscriptions = cn=s\n", 3,
	         "bind = \"sasl\": use simple or external");
	fails_at("[source]\nurl = ldaps://h\nbind = simple\nsubscriptions = cn=s\n", 1,
	         "[source] needs bind_dn");
	fails_at("[source]\nurl = ldaps://h\nbind = external\nbind_dn = cn=x\n"
	         "subscriptions = cn=s\n",
	         1, "bind = external takes no bind_dn");
	fails_at("[source]\nurl = ldaps://h\nbind = external\nbind_password_file = /pw\n"
	         "subscriptions = cn=s\n",
	         1, "bind = external takes no bind_password_file");
}

int
main(void)
{
	CU_TestInfo tests[] = {
	        {"every key", test_full},
	        {"defaults", test_defaults},
	        {"errors name FILE:LINE", test_errors},
	        {"incomplete sections and rules", test_incomplete},
	        {"edge names", test_edge_names},
	        {"bind = simple | external", test_bind},
	        CU_TEST_INFO_NULL,
	};
	int r;

	dir = tu_tmpdir();
	r = tu_run("es_config", tests);
	tu_rmrf(dir);
	free(dir);
	return r;
}
