/* Fixed-size LDAPMod arrays (mods.c). */
#include <string.h>

#include "internal.h"
#include "testutil.h"

static void
test_build(void)
{
	struct es_mods ms;
	LDAPMod **m;

	es_mods_init(&ms);
	CU_ASSERT_PTR_NULL(es_mods_get(&ms)[0]);
	es_mods_adds(&ms, LDAP_MOD_DELETE, "umedgeLeaseHolder", "me");
	es_mods_adds(&ms, LDAP_MOD_ADD, "umedgeLeaseHolder", "me");
	es_mods_add1(&ms, LDAP_MOD_REPLACE, "umedgeLastFailure", NULL, 0);
	m = es_mods_get(&ms);
	CU_ASSERT_EQUAL(m[0]->mod_op, LDAP_MOD_DELETE | LDAP_MOD_BVALUES);
	CU_ASSERT_EQUAL(m[1]->mod_op, LDAP_MOD_ADD | LDAP_MOD_BVALUES);
	CU_ASSERT_STRING_EQUAL(m[1]->mod_bvalues[0]->bv_val, "me");
	CU_ASSERT_PTR_NULL(m[1]->mod_bvalues[1]);
	/* no value: the whole attribute */
	CU_ASSERT_PTR_NULL(m[2]->mod_bvalues);
	CU_ASSERT_PTR_NULL(m[3]);
}

static void
test_values_join(void)
{
	struct es_mods ms;
	LDAPMod **m;

	/* a directory refuses an add naming one attribute twice: the values join */
	es_mods_init(&ms);
	es_mods_adds(&ms, LDAP_MOD_ADD, "objectClass", "organizationalUnit");
	es_mods_adds(&ms, LDAP_MOD_ADD, "OBJECTCLASS", "umedgeReplicated");
	es_mods_adds(&ms, LDAP_MOD_ADD, "ou", "x");
	es_mods_adds(&ms, LDAP_MOD_ADD, "objectClass", "third");
	m = es_mods_get(&ms);
	CU_ASSERT_EQUAL(ms.n, 3);
	CU_ASSERT_STRING_EQUAL(m[0]->mod_bvalues[0]->bv_val, "organizationalUnit");
	CU_ASSERT_STRING_EQUAL(m[0]->mod_bvalues[1]->bv_val, "umedgeReplicated");
	CU_ASSERT_PTR_NULL(m[0]->mod_bvalues[2]);
	/* only the previous modification is joined, so order is kept */
	CU_ASSERT_STRING_EQUAL(m[2]->mod_type, "objectClass");
	/* another operation on the same attribute stays apart */
	es_mods_init(&ms);
	es_mods_adds(&ms, LDAP_MOD_DELETE, "a", "1");
	es_mods_adds(&ms, LDAP_MOD_ADD, "a", "1");
	CU_ASSERT_EQUAL(ms.n, 2);
	/* a no-value modification is not joined */
	es_mods_init(&ms);
	es_mods_add1(&ms, LDAP_MOD_REPLACE, "a", NULL, 0);
	es_mods_adds(&ms, LDAP_MOD_REPLACE, "a", "1");
	CU_ASSERT_EQUAL(ms.n, 2);
}

int
main(void)
{
	CU_TestInfo tests[] = {
	        {"building modifications", test_build},
	        {"values of one attribute join", test_values_join},
	        CU_TEST_INFO_NULL,
	};
	return tu_run("es_mods", tests);
}
