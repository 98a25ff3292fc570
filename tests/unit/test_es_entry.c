/* Entries in memory: values, normal form, comparison, modifications, sets (entry.c). */
#include <string.h>

#include "edgesync/entry.h"
#include "testutil.h"

static struct es_entry *
mk(const char *dn, const char *key, const char *const *av)
{
	struct es_entry *e = NULL;
	size_t i;

	CU_ASSERT_FATAL(es_entry_new(dn, key, &e) == ES_OK);
	for (i = 0; av != NULL && av[i] != NULL; i += 2)
		CU_ASSERT_FATAL(es_entry_add_value(e, av[i], av[i + 1], strlen(av[i + 1])) ==
		                ES_OK);
	es_entry_normalize(e);
	return e;
}

static void
test_values(void)
{
	const char *av[] = {"mail", "b@x", "cn", "B", "MAIL", "a@x", "mail", "b@x", NULL};
	struct es_entry *e = mk("cn=B,dc=x", "k1", av);
	const struct es_attr *a;

	CU_ASSERT_EQUAL(e->nattrs, 2);
	/* sorted by name without regard to case, values sorted, duplicates dropped */
	CU_ASSERT_STRING_EQUAL(e->attrs[0].name, "cn");
	a = es_entry_attr(e, "Mail");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL(a->nvals, 2);
	CU_ASSERT_STRING_EQUAL(a->vals[0].bv_val, "a@x");
	CU_ASSERT_STRING_EQUAL(a->vals[1].bv_val, "b@x");
	CU_ASSERT_PTR_NULL(es_entry_attr(e, "sn"));
	es_entry_free(e);
	es_entry_free(NULL);
}

static void
test_binary_values(void)
{
	struct es_entry *e = NULL;
	const unsigned char bin[] = {0, 1, 2, 0, 255};
	const struct es_attr *a;

	CU_ASSERT_FATAL(es_entry_new("cn=x", NULL, &e) == ES_OK);
	CU_ASSERT_EQUAL(es_entry_add_value(e, "cert", bin, sizeof(bin)), ES_OK);
	CU_ASSERT_EQUAL(es_entry_add_value(e, "cert", "", 0), ES_OK);
	es_entry_normalize(e);
	a = es_entry_attr(e, "cert");
	CU_ASSERT_EQUAL(a->nvals, 2);
	CU_ASSERT_EQUAL(a->vals[0].bv_len, 0);
	CU_ASSERT_EQUAL(a->vals[1].bv_len, sizeof(bin));
	CU_ASSERT_EQUAL(memcmp(a->vals[1].bv_val, bin, sizeof(bin)), 0);
	es_entry_free(e);
}

static void
test_same_content(void)
{
	const char *a1[] = {"cn", "A", "mail", "x", "mail", "y", NULL};
	const char *a2[] = {"MAIL", "y", "CN", "A", "mail", "x", NULL};
	const char *a3[] = {"cn", "A", "mail", "x", NULL};
	const char *a4[] = {"cn", "a", "mail", "x", "mail", "y", NULL};
	struct es_entry *e1 = mk("cn=A,dc=x", "k", a1), *e2 = mk("cn=other", "k", a2),
	                *e3 = mk("cn=A,dc=x", "k", a3), *e4 = mk("cn=A,dc=x", "k", a4);

	CU_ASSERT(es_entry_same_content(e1, e2));
	CU_ASSERT(!es_entry_same_content(e1, e3));
	/* values are compared exactly: edgesync writes them exactly */
	CU_ASSERT(!es_entry_same_content(e1, e4));
	es_entry_free(e1);
	es_entry_free(e2);
	es_entry_free(e3);
	es_entry_free(e4);
}

static void
test_mods(void)
{
	const char *want_av[] = {"cn", "New", "mail", "x", "sn", "S", NULL};
	const char *have_av[] = {"cn", "Old", "mail", "x", "description", "gone", NULL};
	struct es_entry *want = mk("cn=a", "k", want_av), *have = mk("cn=a", "k", have_av);
	LDAPMod **mods = NULL;
	size_t n = 99, i;
	int seen_cn = 0, seen_sn = 0, seen_desc = 0;

	CU_ASSERT_EQUAL_FATAL(es_entry_add_mods(want, &mods), ES_OK);
	for (i = 0; mods[i] != NULL; i++)
		CU_ASSERT_EQUAL(mods[i]->mod_op, LDAP_MOD_ADD | LDAP_MOD_BVALUES);
	CU_ASSERT_EQUAL(i, 3);
	es_mods_free(mods);
	CU_ASSERT_EQUAL_FATAL(es_entry_diff_mods(want, have, &mods, &n), ES_OK);
	CU_ASSERT_EQUAL(n, 3);
	for (i = 0; mods[i] != NULL; i++) {
		CU_ASSERT_EQUAL(mods[i]->mod_op, LDAP_MOD_REPLACE | LDAP_MOD_BVALUES);
		if (strcmp(mods[i]->mod_type, "cn") == 0) {
			seen_cn = 1;
			CU_ASSERT_STRING_EQUAL(mods[i]->mod_bvalues[0]->bv_val, "New");
			CU_ASSERT_PTR_NULL(mods[i]->mod_bvalues[1]);
		} else if (strcmp(mods[i]->mod_type, "sn") == 0) {
			seen_sn = 1;
		} else if (strcmp(mods[i]->mod_type, "description") == 0) {
			seen_desc = 1;
			/* replace with no values deletes it */
			CU_ASSERT_PTR_NULL(mods[i]->mod_bvalues);
		} else {
			CU_FAIL("an unchanged attribute was modified");
		}
	}
	CU_ASSERT(seen_cn && seen_sn && seen_desc);
	es_mods_free(mods);
	CU_ASSERT_EQUAL_FATAL(es_entry_diff_mods(want, want, &mods, &n), ES_OK);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_PTR_NULL(mods[0]);
	es_mods_free(mods);
	es_mods_free(NULL);
	es_entry_free(want);
	es_entry_free(have);
}

static void
test_uuid_and_dn(void)
{
	unsigned char raw[16] = {0x46, 0x76, 0x79, 0x64, 0x7f, 0x72, 0x10, 0x41,
	                         0x97, 0xb0, 0xb9, 0x02, 0x91, 0xbd, 0xc6, 0x80};
	struct berval bv = {16, (char *)raw};
	char buf[37];

	CU_ASSERT(es_uuid_format(&bv, buf));
	CU_ASSERT_STRING_EQUAL(buf, "46767964-7f72-1041-97b0-b90291bdc680");
	bv.bv_len = 15;
	CU_ASSERT(!es_uuid_format(&bv, buf));
	CU_ASSERT(es_dn_equal("ou=A,dc=x", "OU=a,DC=X"));
	CU_ASSERT(es_dn_equal("ou=A, dc=x", "ou=A,dc=x"));
	CU_ASSERT(!es_dn_equal("ou=A,dc=x", "ou=B,dc=x"));
	CU_ASSERT(!es_dn_equal("ou=A,dc=x", "not a dn"));
}

static void
test_set(void)
{
	struct es_entryset s;
	struct es_entry *e = NULL;
	const char *keys[] = {"c", "a", "b"};
	size_t i;

	es_entryset_init(&s);
	for (i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(es_entryset_add(&s, mk("cn=x", keys[i], NULL)), ES_OK);
	CU_ASSERT(!s.sorted);
	CU_ASSERT_EQUAL(es_entryset_sort(&s), ES_OK);
	CU_ASSERT_STRING_EQUAL(s.v[0]->key, "a");
	CU_ASSERT_PTR_NOT_NULL(es_entryset_find(&s, "b"));
	CU_ASSERT_PTR_NULL(es_entryset_find(&s, "d"));
	/* an entry without a key is refused (and freed) */
	CU_ASSERT_FATAL(es_entry_new("cn=nokey", NULL, &e) == ES_OK);
	CU_ASSERT_EQUAL(es_entryset_add(&s, e), ES_ERR_INVAL);
	/* two entries with one key: refused when sorting */
	CU_ASSERT_EQUAL(es_entryset_add(&s, mk("cn=dup", "b", NULL)), ES_OK);
	CU_ASSERT_EQUAL(es_entryset_sort(&s), ES_ERR_PARSE);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "two entries with the key b"));
	es_entryset_clear(&s);
	CU_ASSERT_EQUAL(s.n, 0);
	/* many entries */
	for (i = 0; i < 1000; i++) {
		char k[16];

		snprintf(k, sizeof(k), "%04zu", 999 - i);
		CU_ASSERT_EQUAL_FATAL(es_entryset_add(&s, mk("cn=x", k, NULL)), ES_OK);
	}
	CU_ASSERT_EQUAL(es_entryset_sort(&s), ES_OK);
	CU_ASSERT_PTR_NOT_NULL(es_entryset_find(&s, "0500"));
	CU_ASSERT_STRING_EQUAL(s.v[999]->key, "0999");
	es_entryset_clear(&s);
}

int
main(void)
{
	CU_TestInfo tests[] = {
	        {"values and the normal form", test_values},
	        {"binary and empty values", test_binary_values},
	        {"same content", test_same_content},
	        {"add and modify operations", test_mods},
	        {"UUID text and DN equality", test_uuid_and_dn},
	        {"entry sets", test_set},
	        CU_TEST_INFO_NULL,
	};
	return tu_run("es_entry", tests);
}
