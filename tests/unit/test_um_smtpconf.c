/* The [smtp] section (um/src/voicemail/smtpconf.c), through umd's configuration parser. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "testutil.h"

static struct um_config *
parse(const char *smtp, enum um_err want)
{
	char text[4096];
	struct um_config *c = NULL;

	snprintf(text, sizeof(text), "[umd]\nmode = unsecured\n[smtp]\n%s", smtp);
	CU_ASSERT_EQUAL(um_config_parse("t.conf", text, strlen(text), false, &c), want);
	return c;
}

/* The configuration is refused with an error holding `word`, at line `line`. */
static void
refused(const char *smtp, const char *word)
{
	struct um_config *c = parse(smtp, UM_ERR_CONFIG);
	size_t i;
	bool found = false;

	for (i = 0; c != NULL && i < c->nerrors; i++)
		if (strstr(c->errors[i], word) != NULL && strncmp(c->errors[i], "t.conf:", 7) == 0)
			found = true;
	if (!found) {
		fprintf(stderr, "no error with \"%s\" for:\n%s\n", word, smtp);
		for (i = 0; c != NULL && i < c->nerrors; i++)
			fprintf(stderr, "  %s\n", c->errors[i]);
	}
	CU_ASSERT(found);
	um_config_free(c);
}

#define BASE "smarthost = hub.example.test\nfrom = voicemail@example.test\n"

static void
test_defaults(void)
{
	struct um_config *c = parse(BASE "recipient = %u@example.test\n", UM_OK);
	const struct um_smtp_config *s;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	s = c->smtp;
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s->smarthost_host, "hub.example.test");
	CU_ASSERT_EQUAL(s->smarthost_port, 25);
	/* The hub's certificate must name the smarthost when hub_fqdn is not given. */
	CU_ASSERT_STRING_EQUAL(s->hub_fqdn, "hub.example.test");
	CU_ASSERT_EQUAL(s->max_queue_days, 5);
	CU_ASSERT_EQUAL(s->sent_retention_days, 7);
	CU_ASSERT_PTR_NULL(s->hub_pin);
	um_config_free(c);
	/* No [smtp]: nothing is submitted. */
	CU_ASSERT_EQUAL(um_config_parse("t.conf", "[umd]\nmode = unsecured\n", 24, false, &c),
	                UM_OK);
	CU_ASSERT_PTR_NULL(c->smtp);
	um_config_free(c);
}

static void
test_keys(void)
{
	struct um_config *c = parse(
	        "smarthost = [::1]:2525\nfrom = vm@example.test\nhub_fqdn = hub.example.test\n"
	        "fqdn = um1.example.test\ndirectory_url = ldaps://dc.example.test\n"
	        "directory_base = dc=example,dc=test\n"
	        "directory_filter = (telephoneNumber=%u)\n"
	        "fallback_recipient = operator@example.test\nmax_queue_days = 2\n"
	        "sent_retention_days = 0\nhub_certificate =\n",
	        UM_OK);
	const struct um_smtp_config *s;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	s = c->smtp;
	CU_ASSERT_STRING_EQUAL(s->smarthost_host, "::1");
	CU_ASSERT_EQUAL(s->smarthost_port, 2525);
	CU_ASSERT_STRING_EQUAL(s->fqdn, "um1.example.test");
	CU_ASSERT_STRING_EQUAL(s->directory_filter, "(telephoneNumber=%u)");
	CU_ASSERT_STRING_EQUAL(s->fallback_recipient, "operator@example.test");
	CU_ASSERT_EQUAL(s->max_queue_days, 2);
	CU_ASSERT_EQUAL(s->sent_retention_days, 0);
	CU_ASSERT_PTR_NULL(s->hub_certificate);
	um_config_free(c);
}

static void
test_refused(void)
{
	refused("from = a@b.c\nrecipient = %u@b.c\n", "no smarthost");
	refused("smarthost = hub\nrecipient = %u@b.c\n", "no from");
	refused(BASE, "no recipient rule");
	refused(BASE "recipient = %u@b.c\ndirectory_url = ldaps://x\n", "choose one");
	refused(BASE "recipient = fixed@b.c\n", "has no %u");
	refused(BASE "directory_url = ldaps://x\n", "directory_base");
	refused(BASE "recipient = %u@b.c\nsmarthost = hub:0\n", "smarthost \"hub:0\"");
	refused(BASE "recipient = %u@b.c\nsmarthost = hub:25:26\n", "smarthost");
	refused(BASE "recipient = %u@b.c\nsmarthost = [::1\n", "smarthost");
	refused(BASE "recipient = %u@b.c\nsmarthost = hub name\n", "smarthost");
	refused(BASE "recipient = %u@b.c\nfrom = not an address\n", "from \"not an address\"");
	refused(BASE "recipient = %u@b.c\nfrom = <a@b.c>\n", "is not a mail address");
	refused(BASE "recipient = %u@b.c\nfallback_recipient = a@\n", "fallback_recipient");
	refused(BASE "recipient = %u@b.c\nhub_fqdn = hub_1\n", "hub_fqdn \"hub_1\"");
	refused(BASE "recipient = %u@b.c\nmax_queue_days = 0\n", "max_queue_days");
	refused(BASE "recipient = %u@b.c\nsent_retention_days = -1\n", "sent_retention_days");
	refused(BASE "recipient = %u@b.c\ncolour = blue\n", "unknown key \"colour\" in [smtp]");
	refused(BASE "recipient = %u@b.c\nhub_certificate = /nonexistent/hub.pem\n",
	        "/nonexistent/hub.pem: No such file");
}

static void
test_pin_file(void)
{
	char *d = tu_tmpdir(), p[512], text[1024];
	struct tu_cert_spec spec;
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	char *pem;
	struct um_config *c;

	memset(&spec, 0, sizeof(spec));
	spec.cn = "hub.example.test";
	tu_make_cert(&spec, &x, &k);
	pem = tu_cert_pem(x);
	snprintf(p, sizeof(p), "%s/hub.pem", d);
	tu_write_file(p, pem, strlen(pem), 0644);
	snprintf(text, sizeof(text), BASE "recipient = %%u@b.c\nhub_certificate = %s\n", p);
	c = parse(text, UM_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_PTR_NOT_NULL(c->smtp->hub_pin);
	CU_ASSERT_EQUAL(X509_cmp(c->smtp->hub_pin, x), 0);
	/* A pinned hub has no name to check. */
	CU_ASSERT_PTR_NULL(c->smtp->hub_fqdn);
	um_config_free(c);
	tu_write_file(p, "not PEM", 7, 0644);
	refused(text, "hub.pem");
	free(pem);
	X509_free(x);
	EVP_PKEY_free(k);
	tu_rmrf(d);
	free(d);
}

static CU_TestInfo tests[] = {
        {"defaults", test_defaults},
        {"every key", test_keys},
        {"bad values and missing keys, at file:line", test_refused},
        {"the hub's pinned certificate", test_pin_file},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("um_smtpconf", tests);
}
