/* The source side: key sets, keys of entries, change sets, screening (source.c). */
#include <stdlib.h>
#include <string.h>

#include "edgesync/error.h"
#include "edgesync/rule.h"
#include "edgesync/source.h"
#include "testutil.h"

static struct es_rule *rules; /* the defaults: recipients copies cn mail proxyAddresses */
static size_t nrules;

static void
test_keyset(void)
{
	struct es_keyset k;
	char key[40];
	int i;

	es_keyset_init(&k);
	CU_ASSERT(!es_keyset_has(&k, "a"));
	for (i = 999; i >= 0; i--) {
		snprintf(key, sizeof(key), "k%04d", i);
		CU_ASSERT_EQUAL_FATAL(es_keyset_add(&k, key), ES_OK);
	}
	CU_ASSERT_EQUAL(es_keyset_add(&k, "k0500"), ES_OK); /* a duplicate */
	CU_ASSERT(es_keyset_has(&k, "k0000"));
	CU_ASSERT(es_keyset_has(&k, "k0999"));
	CU_ASSERT(es_keyset_has(&k, "k0500"));
	CU_ASSERT(!es_keyset_has(&k, "k1000"));
	CU_ASSERT_EQUAL(k.n, 1000);
	CU_ASSERT_EQUAL(es_keyset_add(&k, "0123456789012345678901234567890123456789x"),
	                ES_ERR_PARSE);
	es_keyset_clear(&k);
	CU_ASSERT_EQUAL(k.n, 0);
}

static void
test_keys(void)
{
	struct es_entry *e = NULL, *f = NULL;
	char key[40], key2[40];

	CU_ASSERT_FATAL(es_entry_new("uid=a,dc=x", NULL, &e) == ES_OK);
	CU_ASSERT_FATAL(es_entry_add_value(e, "entryUUID", "46767964-7F72-1041-97B0-B90291BDC680",
	                                   36) == ES_OK);
	CU_ASSERT_EQUAL(es_source_key(e, key), ES_OK);
	CU_ASSERT_STRING_EQUAL(key, "46767964-7f72-1041-97b0-b90291bdc680");
	es_entry_free(e);
	/* an entryUUID that is not a UUID is refused: it becomes a DN on the edge */
	CU_ASSERT_FATAL(es_entry_new("uid=a,dc=x", NULL, &e) == ES_OK);
	CU_ASSERT_FATAL(es_entry_add_value(e, "entryUUID", "x,cn=admin", 10) == ES_OK);
	CU_ASSERT_EQUAL(es_source_key(e, key), ES_ERR_PARSE);
	es_entry_free(e);
	/* no entryUUID: dn- and a hash of the lower-cased DN */
	CU_ASSERT_FATAL(es_entry_new("uid=A,DC=x", NULL, &e) == ES_OK);
	CU_ASSERT_FATAL(es_entry_new("uid=a,dc=x", NULL, &f) == ES_OK);
	CU_ASSERT_EQUAL(es_source_key(e, key), ES_OK);
	CU_ASSERT_EQUAL(es_source_key(f, key2), ES_OK);
	CU_ASSERT(strncmp(key, "dn-", 3) == 0);
	CU_ASSERT_EQUAL(strlen(key), 35);
	CU_ASSERT_STRING_EQUAL(key, key2);
	es_entry_free(e);
	es_entry_free(f);
}

static void
test_changes(void)
{
	struct es_changes ch;
	struct es_entry *e = NULL;

	es_changes_init(&ch);
	CU_ASSERT(!ch.complete && !ch.present_phase && !ch.synced);
	CU_ASSERT_FATAL(es_entry_new("cn=x", "k", &e) == ES_OK);
	CU_ASSERT_EQUAL(es_entryset_add(&ch.changed, e), ES_OK);
	CU_ASSERT_EQUAL(es_keyset_add(&ch.present, "p"), ES_OK);
	ch.cookie.bv_val = strdup("rid=000");
	ch.cookie.bv_len = 7;
	es_changes_clear(&ch);
	CU_ASSERT_EQUAL(ch.changed.n, 0);
	CU_ASSERT_PTR_NULL(ch.cookie.bv_val);
}

static bool
text(const char *v, size_t len, size_t *at)
{
	struct berval b = {len, (char *)v};

	return es_source_text_ok(&b, at);
}

static void
test_text(void)
{
	size_t at = 99;

	CU_ASSERT(text("", 0, &at));
	CU_ASSERT(text("User1@Corp.Test", 15, &at));
	CU_ASSERT(text("J\xc3\xb6rg \xe2\x82\xac \xf0\x9f\x93\x9e", 14, &at)); /* 2, 3, 4 bytes */
	CU_ASSERT(!text("ab\xff", 3, &at));
	CU_ASSERT_EQUAL(at, 2);
	CU_ASSERT(!text("a\0b", 3, &at));
	CU_ASSERT_EQUAL(at, 1);
	CU_ASSERT(!text("\xc0\x80", 2, &at)); /* an overlong NUL */
	CU_ASSERT_EQUAL(at, 0);
	CU_ASSERT(!text("x\xed\xa0\x80", 4, &at)); /* a UTF-16 surrogate */
	CU_ASSERT_EQUAL(at, 1);
	CU_ASSERT(!text("abc\xe2\x82", 5, &at)); /* cut in the middle of a character */
	CU_ASSERT_EQUAL(at, 3);
	CU_ASSERT(!text("\x80", 1, &at)); /* a continuation byte alone */
}

/* A source entry as a read hands it over: key set, attributes of the recipients rule. */
static struct es_entry *
entry(const char *dn, const char *key, const char *mail, size_t mlen, bool guid)
{
	struct es_entry *e = NULL;

	CU_ASSERT_FATAL(es_entry_new(dn, key, &e) == ES_OK);
	CU_ASSERT_FATAL(es_entry_add_value(e, "cn", "x", 1) == ES_OK);
	CU_ASSERT_FATAL(es_entry_add_value(e, "mail", mail, mlen) == ES_OK);
	if (guid)
		CU_ASSERT_FATAL(es_entry_add_value(e, "objectGUID", "0123456789abcdef", 16) ==
		                ES_OK);
	return e;
}

static void
test_screen_text(void)
{
	struct es_changes ch;

	es_changes_init(&ch);
	ch.complete = ch.present_phase = true;
	CU_ASSERT_FATAL(es_entryset_add(&ch.changed, entry("cn=a,dc=x", "ka", "a@x", 3, true)) ==
	                ES_OK);
	CU_ASSERT_FATAL(es_entryset_add(&ch.changed,
	                                entry("cn=b,dc=x", "kb", "b\xff@x", 4, true)) == ES_OK);
	CU_ASSERT_FATAL(es_entryset_add(&ch.changed, entry("cn=c,dc=x", "kc", "c@x", 3, true)) ==
	                ES_OK);
	CU_ASSERT_FATAL(es_entry_add_value(ch.changed.v[2], "proxyAddresses", "SMTP:c@x", 8) ==
	                ES_OK);
	CU_ASSERT_FATAL(es_entry_add_value(ch.changed.v[2], "proxyAddresses", "smtp:\0c", 7) ==
	                ES_OK);
	CU_ASSERT_EQUAL_FATAL(es_source_screen(&rules[0], true, &ch), ES_OK);
	/* the good entry goes on; the other two are set aside, kept on the edge as they are */
	CU_ASSERT_EQUAL_FATAL(ch.changed.n, 1);
	CU_ASSERT_STRING_EQUAL(ch.changed.v[0]->key, "ka");
	CU_ASSERT(es_keyset_has(&ch.present, "kb"));
	CU_ASSERT(es_keyset_has(&ch.present, "kc"));
	CU_ASSERT(!es_keyset_has(&ch.present, "ka"));
	CU_ASSERT_EQUAL_FATAL(ch.nrejected, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(ch.rejected[0], "rule recipients: cn=b,dc=x: mail value 1 "
	                                              "of 1 is not UTF-8 at byte 1"));
	CU_ASSERT_PTR_NOT_NULL(strstr(ch.rejected[1], "rule recipients: cn=c,dc=x: proxyAddresses "
	                                              "value 2 of 2 holds a NUL at byte 5"));
	CU_ASSERT_PTR_NOT_NULL(strstr(ch.rejected[1], "left as it is on the edge"));
	es_changes_clear(&ch);
	CU_ASSERT_EQUAL(ch.nrejected, 0);
	CU_ASSERT_PTR_NULL(ch.rejected);
}

static void
test_screen_guid(void)
{
	struct es_changes ch;

	es_changes_init(&ch);
	CU_ASSERT_FATAL(es_entryset_add(&ch.changed, entry("cn=a,dc=x", "ka", "a@x", 3, true)) ==
	                ES_OK);
	CU_ASSERT_FATAL(es_entryset_add(&ch.changed, entry("cn=b,dc=x", "kb", "b\xff", 2, true)) ==
	                ES_OK);
	CU_ASSERT_FATAL(es_entryset_add(&ch.changed, entry("CN=No Guid,dc=x", "dn-00", "n@x", 3,
	                                                   false)) == ES_OK);
	/* an LDAP source keys such an entry by its DN: nothing to refuse */
	CU_ASSERT_EQUAL(es_source_screen(&rules[0], false, &ch), ES_OK);
	CU_ASSERT_EQUAL(ch.changed.n, 2);
	es_changes_clear(&ch);

	CU_ASSERT_FATAL(es_entryset_add(&ch.changed, entry("cn=a,dc=x", "ka", "a@x", 3, true)) ==
	                ES_OK);
	CU_ASSERT_FATAL(es_entryset_add(&ch.changed, entry("cn=b,dc=x", "kb", "b\xff", 2, true)) ==
	                ES_OK);
	CU_ASSERT_FATAL(es_entryset_add(&ch.changed, entry("CN=No Guid,dc=x", "dn-00", "n@x", 3,
	                                                   false)) == ES_OK);
	CU_ASSERT_FATAL(es_entryset_add(&ch.changed, entry("cn=d,dc=x", "kd", "d@x", 3, true)) ==
	                ES_OK);
	/* Active Directory: the area fails, naming the entry; every entry still owned by ch */
	CU_ASSERT_EQUAL(es_source_screen(&rules[0], true, &ch), ES_ERR_SOURCE);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "rule recipients: CN=No Guid,dc=x has no "
	                                              "objectGUID"));
	CU_ASSERT_EQUAL(ch.changed.n, 3);
	CU_ASSERT_STRING_EQUAL(ch.changed.v[2]->key, "kd");
	es_changes_clear(&ch);

	/* an objectGUID of another length */
	CU_ASSERT_FATAL(es_entryset_add(&ch.changed, entry("cn=e,dc=x", "ke", "e@x", 3, false)) ==
	                ES_OK);
	CU_ASSERT_FATAL(es_entry_add_value(ch.changed.v[0], "objectGUID", "short", 5) == ES_OK);
	CU_ASSERT_EQUAL(es_source_screen(&rules[0], true, &ch), ES_ERR_SOURCE);
	CU_ASSERT_PTR_NOT_NULL(
	        strstr(es_errdetail(), "cn=e,dc=x has an objectGUID that is not 16"));
	es_changes_clear(&ch);
}

int
main(void)
{
	CU_TestInfo tests[] = {
	        {"key sets", test_keyset},
	        {"keys of entries", test_keys},
	        {"change sets", test_changes},
	        {"UTF-8 without NUL", test_text},
	        {"screening: bad text set aside, kept on the edge", test_screen_text},
	        {"screening: an AD entry without objectGUID fails the area", test_screen_guid},
	        CU_TEST_INFO_NULL,
	};
	size_t i;
	int r;

	if (es_rules_default(&rules, &nrules) != ES_OK)
		return 1;
	r = tu_run("es_source", tests);
	for (i = 0; i < nrules; i++)
		es_rule_clear(&rules[i]);
	free(rules);
	return r;
}
