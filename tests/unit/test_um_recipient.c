/*
 * umd's recipient lookup (um/src/voicemail/recipient.c): the user part of the called URI, the
 * template and its refusals, address validation, filter escaping, the configuration checks,
 * and lookups that need no directory. The directory itself: tests/integration/umd_recipient.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "voicemail/recipient.h"

static void
user_is(const char *uri, const char *want)
{
	char user[UM_RECIPIENT_USER_MAX + 1], why[256];

	CU_ASSERT_TRUE_FATAL(um_recipient_user_part(uri, user, sizeof(user), why, sizeof(why)));
	CU_ASSERT_STRING_EQUAL(user, want);
}

static void
no_user(const char *uri, const char *word)
{
	char user[UM_RECIPIENT_USER_MAX + 1], why[256];

	CU_ASSERT_FALSE(um_recipient_user_part(uri, user, sizeof(user), why, sizeof(why)));
	CU_ASSERT_STRING_EQUAL(user, "");
	if (strstr(why, word) == NULL)
		fprintf(stderr, "%s: why \"%s\" lacks \"%s\"\n", uri ? uri : "NULL", why, word);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, word));
}

static void
test_user_part(void)
{
	user_is("sip:1001@um1.example.test", "1001");
	user_is("sips:1001@um1.example.test:5061;transport=tls", "1001");
	user_is("SIP:alice.smith@h", "alice.smith");
	user_is("tel:+14255550100", "+14255550100");
	/* RFC 3966 parameters are not part of the number */
	user_is("sip:1001;phone-context=+1425@h;user=phone", "1001");
	/* sofia-sip undoes escapes of unreserved characters; others stay escaped */
	user_is("sip:%31001@h", "1001");
	user_is("sip:10%0D%0A01@h", "10%0D%0A01");
	user_is("sip:a:secret@h", "a");
	no_user(NULL, "no called party");
	no_user("", "no called party");
	no_user("sip:um1.example.test", "no user part");
	no_user("sip:@h", "no user part");
	no_user("sip:;x=y@h", "no user part");
	no_user("http://1001@h", "not a sip:, sips: or tel: URI");
	no_user("<sip:1001@h>", "not a sip:, sips: or tel: URI");
	no_user("sip:12345678901234567890123456789012345678901234567890123456789012345@h",
	        "longer than 64");
}

static void
test_user_part_shown_safely(void)
{
	char user[8], why[256];
	size_t i;

	/* a URI with a CR LF: the reason is printable */
	CU_ASSERT_FALSE(
	        um_recipient_user_part("http://x\r\n@y", user, sizeof(user), why, sizeof(why)));
	for (i = 0; why[i] != '\0'; i++)
		CU_ASSERT_TRUE(why[i] >= 0x20 && why[i] < 0x7f);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "\\x0D\\x0A"));
	/* a buffer too small for the user part */
	CU_ASSERT_FALSE(
	        um_recipient_user_part("sip:12345678@h", user, sizeof(user), why, sizeof(why)));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "longer than 7"));
	CU_ASSERT_TRUE(um_recipient_user_part("sip:1234567@h", user, sizeof(user), NULL, 0));
}

static void
test_user_safe(void)
{
	char why[256];
	const char *bad[] = {"10'01", "10\"01", "a@b", "10 01", "10\r\n01", "10%0D", "a<b>", "a,b",
	                     "a;b",   "a(b)",   "a*",  "a/b",   "\x80",     "a\\b",  "a=b"};
	size_t i;

	CU_ASSERT_TRUE(um_recipient_user_safe("1001", why, sizeof(why)));
	CU_ASSERT_TRUE(um_recipient_user_safe("+1-425_555.0100", why, sizeof(why)));
	CU_ASSERT_TRUE(um_recipient_user_safe(
	        "1234567890123456789012345678901234567890123456789012345678901234", why,
	        sizeof(why)));
	CU_ASSERT_FALSE(um_recipient_user_safe(
	        "12345678901234567890123456789012345678901234567890123456789012345", why,
	        sizeof(why)));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "longer than 64"));
	CU_ASSERT_FALSE(um_recipient_user_safe("", why, sizeof(why)));
	CU_ASSERT_FALSE(um_recipient_user_safe(NULL, why, sizeof(why)));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_FALSE(um_recipient_user_safe(bad[i], why, sizeof(why)));
		CU_ASSERT_PTR_NOT_NULL(strstr(why, "outside A-Z a-z 0-9 . _ + -"));
		CU_ASSERT_PTR_NULL(strchr(why, '\r'));
		CU_ASSERT_PTR_NULL(strchr(why, '\n'));
	}
}

static void
valid(const char *a)
{
	char why[128] = "";

	if (!um_recipient_address_valid(a, strlen(a), why, sizeof(why)))
		fprintf(stderr, "refused %s: %s\n", a, why);
	CU_ASSERT_TRUE(um_recipient_address_valid(a, strlen(a), why, sizeof(why)));
}

static void
invalid_len(const char *a, size_t len, const char *word)
{
	char why[128] = "";

	CU_ASSERT_FALSE(um_recipient_address_valid(a, len, why, sizeof(why)));
	if (strstr(why, word) == NULL)
		fprintf(stderr, "%s: why \"%s\" lacks \"%s\"\n", a, why, word);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, word));
}

static void
invalid(const char *a, const char *word)
{
	invalid_len(a, strlen(a), word);
}

static void
test_address(void)
{
	char big[300];

	valid("alice@example.test");
	valid("a@b");
	valid("first.last+tag@mail.example-corp.test");
	valid("!#$%&'*+-/=?^_`{|}~@example.test");
	valid("1001@example.test");
	invalid("", "is empty");
	invalid_len(NULL, 0, "is empty");
	invalid("carol", "has no @");
	invalid("a@b@c", "more than one @");
	invalid("@example.test", "empty local part");
	invalid("alice@", "no domain");
	invalid("alice@example.test\r\nRCPT TO:<m@evil.test>", "line break");
	invalid("alice@example.test\n", "line break");
	invalid_len("alice@example.test\0evil", 23, "NUL");
	invalid("al\tice@example.test", "control character 0x09");
	invalid("alice smith@example.test", "space");
	invalid("\"alice\"@example.test", "quote");
	invalid("al\xc3\xa9@example.test", "non-ASCII");
	invalid(".alice@example.test", "dot");
	invalid("alice.@example.test", "dot");
	invalid("al..ice@example.test", "dot");
	invalid("a<b>@example.test", "'<' in its local part");
	invalid("a(b)@example.test", "'(' in its local part");
	invalid("a,b@example.test", "',' in its local part");
	invalid("alice@[127.0.0.1]", "address literal");
	invalid("alice@example..test", "empty domain label");
	invalid("alice@example.test.", "empty domain label");
	invalid("alice@.example.test", "empty domain label");
	invalid("alice@-example.test", "'-'");
	invalid("alice@example-.test", "'-'");
	invalid("alice@exa_mple.test", "'_' in its domain");
	invalid("alice@exa+mple.test", "'+' in its domain");
	/* lengths: local part 64, label 63, whole 254 */
	memset(big, 'a', sizeof(big));
	memcpy(big + 64, "@example.test", 14);
	valid(big);
	memset(big, 'a', sizeof(big));
	memcpy(big + 65, "@example.test", 14);
	invalid(big, "local part longer than 64");
	memset(big, 'b', sizeof(big));
	memcpy(big, "a@", 2);
	big[2 + 63] = '\0';
	valid(big);
	memset(big, 'b', sizeof(big));
	memcpy(big, "a@", 2);
	big[2 + 64] = '\0';
	invalid(big, "longer than 63");
	/* 254 octets: a@ then labels of 63, 63, 63 and 61 */
	memset(big, 'c', sizeof(big));
	memcpy(big, "a@", 2);
	big[2 + 63] = big[2 + 127] = big[2 + 191] = '.';
	big[254] = '\0';
	valid(big);
	big[254] = 'c';
	big[255] = '\0';
	invalid(big, "longer than 254");
}

static void
expands(const char *tmpl, const char *user, const char *want)
{
	char out[UM_RECIPIENT_ADDRESS_MAX + 1];

	CU_ASSERT_EQUAL_FATAL(um_recipient_expand(tmpl, user, out, sizeof(out)), UM_OK);
	CU_ASSERT_STRING_EQUAL(out, want);
}

static void
test_template(void)
{
	char out[16];

	expands("%u@example.test", "1001", "1001@example.test");
	expands("vm-%u@example.test", "1001", "vm-1001@example.test");
	expands("%u.%u@example.test", "1", "1.1@example.test");
	expands("100%%@example.test", "x", "100%@example.test");
	expands("%%u@example.test", "1001", "%u@example.test");
	expands("voicemail@example.test", "1001", "voicemail@example.test");
	CU_ASSERT_EQUAL(um_recipient_expand("%x@example.test", "1", out, sizeof(out)),
	                UM_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), "%x"));
	CU_ASSERT_EQUAL(um_recipient_expand("%U@example.test", "1", out, sizeof(out)),
	                UM_ERR_CONFIG);
	CU_ASSERT_EQUAL(um_recipient_expand("a@b%", "1", out, sizeof(out)), UM_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), "lone %"));
	/* 15 characters fit in 16 bytes; 16 do not, and nothing half-made is left */
	CU_ASSERT_EQUAL(um_recipient_expand("%u@b.test", "12345678", out, sizeof(out)), UM_OK);
	CU_ASSERT_EQUAL(um_recipient_expand("%u@b.test", "123456789", out, sizeof(out)),
	                UM_ERR_INVAL);
	CU_ASSERT_STRING_EQUAL(out, "");
	CU_ASSERT_EQUAL(um_recipient_expand(NULL, "1", out, sizeof(out)), UM_ERR_INVAL);
}

static void
filter_is(const char *tmpl, const char *user, const char *want)
{
	char *f = NULL;

	CU_ASSERT_EQUAL_FATAL(um_recipient_filter(tmpl, user, &f), UM_OK);
	CU_ASSERT_STRING_EQUAL(f, want);
	free(f);
}

static void
test_filter(void)
{
	char *f = (char *)1;

	filter_is("(telephoneNumber=%u)", "1001", "(telephoneNumber=1001)");
	/* RFC 4515 section 3: the value cannot close the filter or add a wildcard */
	filter_is("(telephoneNumber=%u)", "1001)(mail=*",
	          "(telephoneNumber=1001\\29\\28mail=\\2A)");
	filter_is("(telephoneNumber=%u)", "*", "(telephoneNumber=\\2A)");
	filter_is("(telephoneNumber=%u)", "a\\b", "(telephoneNumber=a\\5Cb)");
	filter_is("(|(telephoneNumber=%u)(otherTelephone=%u))", "1",
	          "(|(telephoneNumber=1)(otherTelephone=1))");
	filter_is("(&(objectClass=person)(note=100%%)(telephoneNumber=%u))", "7",
	          "(&(objectClass=person)(note=100%)(telephoneNumber=7))");
	CU_ASSERT_EQUAL(um_recipient_filter("(telephoneNumber=%d)", "1", &f), UM_ERR_CONFIG);
	CU_ASSERT_PTR_NULL(f);
	CU_ASSERT_EQUAL(um_recipient_filter(NULL, "1", &f), UM_ERR_INVAL);
}

/* um_recipients_new refuses `conf`, its detail holding `word`. */
static void
conf_refused(const struct um_recipient_conf *conf, const char *word)
{
	struct um_recipients *r = (struct um_recipients *)1;

	CU_ASSERT_EQUAL(um_recipients_new(conf, &r), UM_ERR_CONFIG);
	CU_ASSERT_PTR_NULL(r);
	if (strstr(um_errdetail(), word) == NULL)
		fprintf(stderr, "detail \"%s\" lacks \"%s\"\n", um_errdetail(), word);
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), word));
}

static void
test_config(void)
{
	char *dir = tu_tmpdir(), pw[512], pw644[512], empty[512];
	struct um_recipients *r = NULL;
	struct um_recipient_conf c;

	snprintf(pw, sizeof(pw), "%s/pw", dir);
	snprintf(pw644, sizeof(pw644), "%s/pw644", dir);
	snprintf(empty, sizeof(empty), "%s/empty", dir);
	tu_write_file(pw, "secret\n", 7, 0600);
	tu_write_file(pw644, "secret\n", 7, 0644);
	tu_write_file(empty, "", 0, 0600);

	conf_refused(&(struct um_recipient_conf){0}, "set recipient");
	conf_refused(&(struct um_recipient_conf){.recipient = "", .directory_url = ""},
	             "set recipient");
	conf_refused(
	        &(struct um_recipient_conf){.recipient = "%u@x.test", .directory_url = "ldaps://h"},
	        "set one of them");
	conf_refused(&(struct um_recipient_conf){.recipient = "%u"}, "has no @");
	conf_refused(&(struct um_recipient_conf){.recipient = "%u@"}, "no domain");
	conf_refused(&(struct um_recipient_conf){.recipient = "%n@x.test"}, "%n");
	conf_refused(&(struct um_recipient_conf){.recipient = "%u@x.test", .timeout = -1},
	             "negative");
	conf_refused(
	        &(struct um_recipient_conf){.recipient = "%u@x.test", .fallback_recipient = "vm"},
	        "fallback_recipient vm: has no @");
	conf_refused(&(struct um_recipient_conf){.recipient = "%u@x.test",
	                                         .fallback_recipient = "vm@x.test\r\n"},
	             "line break");

	c = (struct um_recipient_conf){.directory_url = "ldaps://dir.example.test:636",
	                               .directory_base = "ou=people,dc=corp,dc=test",
	                               .store = dir};
	CU_ASSERT_EQUAL(um_recipients_new(&c, &r), UM_OK);
	um_recipients_free(r);
	r = NULL;
	c.directory_url = "ldap://dir.example.test"; /* StartTLS */
	CU_ASSERT_EQUAL(um_recipients_new(&c, &r), UM_OK);
	um_recipients_free(r);
	r = NULL;
	c.directory_url = "ldapi://%2Frun%2Fslapd%2Fldapi";
	conf_refused(&c, "must be ldaps or ldap");
	c.directory_url = "http://dir.example.test";
	conf_refused(&c, "not an LDAP URL");
	c.directory_url = "ldaps:///";
	conf_refused(&c, "names no host");
	c.directory_url = "ldaps://dir.example.test";
	c.directory_base = NULL;
	conf_refused(&c, "needs directory_base");
	c.directory_base = "dc=corp,dc=test";
	c.directory_filter = "telephoneNumber=%u";
	conf_refused(&c, "parenthesized");
	c.directory_filter = "(telephoneNumber=1001)";
	conf_refused(&c, "using %u");
	c.directory_filter = "(telephoneNumber=%%u)";
	conf_refused(&c, "using %u");
	c.directory_filter = "(telephoneNumber=%u%z)";
	conf_refused(&c, "%z");
	c.directory_filter = NULL;
	c.directory_bind_dn = "cn=umd,dc=corp,dc=test";
	conf_refused(&c, "needs directory_password_file");
	c.directory_password_file = pw644;
	conf_refused(&c, "mode 644");
	c.directory_password_file = empty;
	conf_refused(&c, "directory_password_file");
	c.directory_password_file = "/nonexistent/pw";
	conf_refused(&c, "directory_password_file");
	c.directory_password_file = pw;
	CU_ASSERT_EQUAL(um_recipients_new(&c, &r), UM_OK);
	um_recipients_free(r);
	r = NULL;
	c.directory_bind_dn = NULL;
	conf_refused(&c, "without directory_bind_dn");
	c.directory_password_file = NULL;
	c.store = NULL;
	conf_refused(&c, "needs umd's store");
	CU_ASSERT_EQUAL(um_recipients_new(NULL, &r), UM_ERR_INVAL);
	um_recipients_free(NULL);
	tu_rmrf(dir);
	free(dir);
}

static void
test_lookup_template(void)
{
	struct um_recipients *r = NULL, *nofb = NULL;
	struct um_recipient res;
	struct um_recipient_conf c = {.recipient = "%u@example.test",
	                              .fallback_recipient = "voicemail@example.test"};

	CU_ASSERT_EQUAL_FATAL(um_recipients_new(&c, &r), UM_OK);
	CU_ASSERT_EQUAL(um_recipients_lookup(r, "sip:1001@um1.example.test", &res), UM_OK);
	CU_ASSERT_STRING_EQUAL(res.address, "1001@example.test");
	CU_ASSERT_EQUAL(res.how, UM_RECIPIENT_TEMPLATE);
	CU_ASSERT_STRING_EQUAL(um_recipient_how_name(res.how), "template");
	CU_ASSERT_STRING_EQUAL(res.why, "");
	/* unsafe user parts map to no one: the fallback, with the reason */
	CU_ASSERT_EQUAL(um_recipients_lookup(r, "sip:10%40evil.test@um1.example.test", &res),
	                UM_OK);
	CU_ASSERT_STRING_EQUAL(res.address, "voicemail@example.test");
	CU_ASSERT_EQUAL(res.how, UM_RECIPIENT_FALLBACK);
	CU_ASSERT_STRING_EQUAL(um_recipient_how_name(res.how), "fallback");
	CU_ASSERT_PTR_NOT_NULL(strstr(res.why, "0x25"));
	CU_ASSERT_EQUAL(um_recipients_lookup(r, "sip:1001%0D%0AX@h", &res), UM_OK);
	CU_ASSERT_EQUAL(res.how, UM_RECIPIENT_FALLBACK);
	/* the user part is safe but the address it makes is not */
	CU_ASSERT_EQUAL(um_recipients_lookup(r, "sip:a..b@h", &res), UM_OK);
	CU_ASSERT_EQUAL(res.how, UM_RECIPIENT_FALLBACK);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.why, "double dot"));
	CU_ASSERT_EQUAL(um_recipients_lookup(r, "sip:um1.example.test", &res), UM_OK);
	CU_ASSERT_EQUAL(res.how, UM_RECIPIENT_FALLBACK);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.why, "no user part"));
	CU_ASSERT_EQUAL(um_recipients_lookup(r, NULL, &res), UM_OK);
	CU_ASSERT_EQUAL(res.how, UM_RECIPIENT_FALLBACK);
	CU_ASSERT_EQUAL(um_recipients_connects(r), 0);

	/* without a fallback: a permanent error naming the number */
	c.fallback_recipient = NULL;
	CU_ASSERT_EQUAL_FATAL(um_recipients_new(&c, &nofb), UM_OK);
	CU_ASSERT_EQUAL(um_recipients_lookup(nofb, "sip:10'01@h", &res), UM_ERR_NO_RECIPIENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), "no recipient for 10'01 and no "
	                                              "fallback_recipient"));
	CU_ASSERT_STRING_EQUAL(res.address, "");
	CU_ASSERT_STRING_EQUAL(um_strerror(UM_ERR_NO_RECIPIENT), "no recipient");
	CU_ASSERT_EQUAL(um_recipients_lookup(nofb, "sip:1002@h", &res), UM_OK);
	CU_ASSERT_STRING_EQUAL(res.address, "1002@example.test");
	um_recipients_free(nofb);
	um_recipients_free(r);
}

/* A directory that cannot be reached is temporary, never the fallback. */
static void
test_lookup_directory_down(void)
{
	char *dir = tu_tmpdir();
	struct um_recipients *r = NULL;
	struct um_recipient res;
	struct um_recipient_conf c = {.directory_url = "ldaps://127.0.0.1:1",
	                              .directory_base = "dc=corp,dc=test",
	                              .fallback_recipient = "voicemail@example.test",
	                              .store = dir,
	                              .timeout = 2};

	CU_ASSERT_EQUAL_FATAL(um_recipients_new(&c, &r), UM_OK);
	/* the store is empty: no root can verify the directory */
	CU_ASSERT_EQUAL(um_recipients_lookup(r, "sip:1001@h", &res), UM_ERR_DIRECTORY);
	CU_ASSERT_STRING_EQUAL(res.address, "");
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), "ldaps://127.0.0.1:1"));
	CU_ASSERT_STRING_EQUAL(um_strerror(UM_ERR_DIRECTORY), "recipient directory unavailable");
	/* a user part the directory is not asked about maps to no one without connecting */
	CU_ASSERT_EQUAL(um_recipients_lookup(r, "sip:10%25x@h", &res), UM_OK);
	CU_ASSERT_EQUAL(res.how, UM_RECIPIENT_FALLBACK);
	CU_ASSERT_EQUAL(um_recipients_connects(r), 0);
	um_recipients_free(r);
	tu_rmrf(dir);
	free(dir);
}

static CU_TestInfo tests[] = {
        {"user part of sip:, sips:, tel: URIs", test_user_part},
        {"user part refusals are printable", test_user_part_shown_safely},
        {"user parts a template takes", test_user_safe},
        {"address validation", test_address},
        {"template expansion", test_template},
        {"filter escaping (RFC 4515)", test_filter},
        {"configuration checks", test_config},
        {"lookups by template, fallback, permanent error", test_lookup_template},
        {"directory unreachable: temporary", test_lookup_directory_down},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("um_recipient", tests);
}
