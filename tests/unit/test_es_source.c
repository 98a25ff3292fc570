/* The source side: key sets, keys of entries, change sets (source.c). */
#include <stdlib.h>
#include <string.h>

#include "edgesync/source.h"
#include "testutil.h"

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

int
main(void)
{
	CU_TestInfo tests[] = {
	        {"key sets", test_keyset},
	        {"keys of entries", test_keys},
	        {"change sets", test_changes},
	        CU_TEST_INFO_NULL,
	};
	return tu_run("es_source", tests);
}
