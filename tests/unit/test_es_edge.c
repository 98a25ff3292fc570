/* Plans: what an edge gets so that it equals the source, and the compare counts (edge.c). */
#include <stdlib.h>
#include <string.h>

#include "edgesync/edge.h"
#include "testutil.h"

static struct es_rule *rules;
static size_t nrules;
static const char target[] = "ou=Recipients,dc=edge1,dc=test";

/* A source entry with a key and a cn. */
static struct es_entry *
src(const char *key, const char *cn)
{
	struct es_entry *e = NULL;

	CU_ASSERT_FATAL(es_entry_new("uid=x,ou=people,dc=corp,dc=test", key, &e) == ES_OK);
	CU_ASSERT_FATAL(es_entry_add_value(e, "cn", cn, strlen(cn)) == ES_OK);
	es_entry_normalize(e);
	return e;
}

/* What edgesync itself would have written for it. */
static struct es_entry *
copy(const char *key, const char *cn, const char *under)
{
	struct es_entry *s = src(key, cn), *e = NULL;

	CU_ASSERT_FATAL(es_rule_edge_entry(&rules[0], under ? under : target, s, &e) == ES_OK);
	es_entry_free(s);
	return e;
}

static long
count(const struct es_plan *p, enum es_op_kind k, const char *key)
{
	size_t i;
	long n = 0;

	for (i = 0; i < p->n; i++) {
		const struct es_entry *e = p->v[i].want ? p->v[i].want : p->v[i].have;

		if (p->v[i].kind == k && (key == NULL || strcmp(e->key, key) == 0))
			n++;
	}
	return n;
}

static void
edge_set(struct es_entryset *edge)
{
	es_entryset_init(edge);
	CU_ASSERT_FATAL(es_entryset_add(edge, copy("a", "same", NULL)) == ES_OK);
	CU_ASSERT_FATAL(es_entryset_add(edge, copy("b", "old", NULL)) == ES_OK);
	CU_ASSERT_FATAL(es_entryset_add(edge, copy("c", "gone", NULL)) == ES_OK);
	CU_ASSERT_FATAL(es_entryset_add(edge, copy("d", "unchanged", NULL)) == ES_OK);
	CU_ASSERT_FATAL(es_entryset_sort(edge) == ES_OK);
}

static void
test_present_phase(void)
{
	struct es_changes ch;
	struct es_entryset edge;
	struct es_plan p;

	/* a refresh with a present phase: a, b changed (a to the same content), e new, d
	 * present, c neither: gone (deleted, moved out, or no longer matching) */
	edge_set(&edge);
	es_changes_init(&ch);
	CU_ASSERT_FATAL(es_entryset_add(&ch.changed, src("a", "same")) == ES_OK);
	CU_ASSERT_FATAL(es_entryset_add(&ch.changed, src("b", "new")) == ES_OK);
	CU_ASSERT_FATAL(es_entryset_add(&ch.changed, src("e", "added")) == ES_OK);
	CU_ASSERT_FATAL(es_keyset_add(&ch.present, "d") == ES_OK);
	ch.present_phase = true;
	CU_ASSERT_EQUAL_FATAL(es_edge_plan(&rules[0], target, &ch, &edge, &p), ES_OK);
	CU_ASSERT_EQUAL(count(&p, ES_OP_ADD, "e"), 1);
	CU_ASSERT_EQUAL(count(&p, ES_OP_MODIFY, "b"), 1);
	CU_ASSERT_EQUAL(count(&p, ES_OP_DELETE, "c"), 1);
	CU_ASSERT_EQUAL(p.n, 3);
	CU_ASSERT_EQUAL(p.adds, 1);
	CU_ASSERT_EQUAL(p.modifies, 1);
	CU_ASSERT_EQUAL(p.deletes, 1);
	CU_ASSERT_EQUAL(p.unchanged, 2); /* a and d */
	es_plan_clear(&p);
	es_changes_clear(&ch);
	es_entryset_clear(&edge);
}

static void
test_delete_phase(void)
{
	struct es_changes ch;
	struct es_entryset edge;
	struct es_plan p;

	/* a delete phase deletes only what it names; silence is not a delete */
	edge_set(&edge);
	es_changes_init(&ch);
	CU_ASSERT_FATAL(es_keyset_add(&ch.deleted, "c") == ES_OK);
	CU_ASSERT_FATAL(es_keyset_add(&ch.deleted, "zz") == ES_OK); /* never copied */
	CU_ASSERT_EQUAL_FATAL(es_edge_plan(&rules[0], target, &ch, &edge, &p), ES_OK);
	CU_ASSERT_EQUAL(p.n, 1);
	CU_ASSERT_EQUAL(count(&p, ES_OP_DELETE, "c"), 1);
	es_plan_clear(&p);
	es_changes_clear(&ch);
	es_entryset_clear(&edge);
}

static void
test_empty_source_present_phase(void)
{
	struct es_changes ch;
	struct es_entryset edge;
	struct es_plan p;

	/* a complete, empty answer means the source holds nothing in scope any more */
	edge_set(&edge);
	es_changes_init(&ch);
	ch.present_phase = true;
	ch.complete = true;
	CU_ASSERT_EQUAL_FATAL(es_edge_plan(&rules[0], target, &ch, &edge, &p), ES_OK);
	CU_ASSERT_EQUAL(p.deletes, 4);
	es_plan_clear(&p);
	es_changes_clear(&ch);
	es_entryset_clear(&edge);
}

static void
test_moved_target(void)
{
	struct es_changes ch;
	struct es_entryset edge;
	struct es_plan p;

	/* a copy under an earlier target of the rule is replaced by one under the target */
	es_entryset_init(&edge);
	CU_ASSERT_FATAL(es_entryset_add(&edge, copy("a", "same", "ou=Old,dc=edge1,dc=test")) ==
	                ES_OK);
	es_changes_init(&ch);
	CU_ASSERT_FATAL(es_entryset_add(&ch.changed, src("a", "same")) == ES_OK);
	ch.present_phase = true;
	CU_ASSERT_EQUAL_FATAL(es_edge_plan(&rules[0], target, &ch, &edge, &p), ES_OK);
	CU_ASSERT_EQUAL(count(&p, ES_OP_DELETE, "a"), 1);
	CU_ASSERT_EQUAL(count(&p, ES_OP_ADD, "a"), 1);
	CU_ASSERT_EQUAL(p.n, 2);
	es_plan_clear(&p);
	es_changes_clear(&ch);
	es_entryset_clear(&edge);
}

static void
test_compare(void)
{
	struct es_changes full;
	struct es_entryset edge;
	struct es_compare c;

	edge_set(&edge);
	es_changes_init(&full);
	CU_ASSERT_FATAL(es_entryset_add(&full.changed, src("a", "same")) == ES_OK);
	CU_ASSERT_FATAL(es_entryset_add(&full.changed, src("b", "new")) == ES_OK);
	CU_ASSERT_FATAL(es_entryset_add(&full.changed, src("d", "unchanged")) == ES_OK);
	CU_ASSERT_FATAL(es_entryset_add(&full.changed, src("e", "added")) == ES_OK);
	CU_ASSERT_FATAL(es_entryset_sort(&full.changed) == ES_OK);
	full.complete = full.present_phase = true;
	CU_ASSERT_EQUAL(es_edge_compare(&rules[0], target, &full, &edge, &c), ES_OK);
	CU_ASSERT_EQUAL(c.synchronized, 2);
	CU_ASSERT_EQUAL(c.conflicting, 1);
	CU_ASSERT_EQUAL(c.source_only, 1);
	CU_ASSERT_EQUAL(c.edge_only, 1);
	es_changes_clear(&full);
	es_entryset_clear(&edge);
}

static void
test_duplicate_source_key(void)
{
	struct es_changes ch;
	struct es_entryset edge;
	struct es_plan p;

	/* one key twice in a refresh is an error, never two writes */
	es_entryset_init(&edge);
	es_changes_init(&ch);
	CU_ASSERT_FATAL(es_entryset_add(&ch.changed, src("a", "one")) == ES_OK);
	CU_ASSERT_FATAL(es_entryset_add(&ch.changed, src("a", "two")) == ES_OK);
	CU_ASSERT_EQUAL(es_edge_plan(&rules[0], target, &ch, &edge, &p), ES_ERR_PARSE);
	CU_ASSERT_EQUAL(p.n, 0);
	es_changes_clear(&ch);
}

int
main(void)
{
	CU_TestInfo tests[] = {
	        {"present phase: add, modify, delete, unchanged", test_present_phase},
	        {"delete phase deletes only what it names", test_delete_phase},
	        {"a complete empty source empties the area", test_empty_source_present_phase},
	        {"a copy under an old target is moved", test_moved_target},
	        {"compare counts", test_compare},
	        {"a key twice in one refresh is refused", test_duplicate_source_key},
	        CU_TEST_INFO_NULL,
	};
	size_t i;
	int r;

	if (es_rules_default(&rules, &nrules) != ES_OK)
		return 1;
	r = tu_run("es_edge", tests);
	for (i = 0; i < nrules; i++)
		es_rule_clear(&rules[i]);
	free(rules);
	return r;
}
