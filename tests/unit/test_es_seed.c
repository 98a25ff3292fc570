/* The seed's state file and the commit's refusals that need no directory (seed.c); the export,
 * the load and the commit against real servers are in tests/integration/edgesync_seed.sh. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "edgesync/seed.h"
#include "replicator_impl.h"
#include "testutil.h"

#define KEYS "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define RULE "0123456789abcdef"

static struct es_seed *
two_areas(void)
{
	struct es_seed *sd = calloc(1, sizeof(*sd));

	sd->edge = strdup("edge1");
	sd->holder = strdup("seed/vm/1/aaaaaaaa");
	sd->lease_expiry = 1795863600;
	sd->v = calloc(2, sizeof(*sd->v));
	sd->n = 2;
	sd->v[0].name = strdup("recipients");
	memcpy(sd->v[0].ident, RULE, sizeof(RULE));
	memcpy(sd->v[0].keys, KEYS, sizeof(KEYS));
	sd->v[0].entries = 600;
	/* a cookie with bytes base64 must carry, and a length that needs padding */
	sd->v[0].cookie.bv_val = malloc(5);
	memcpy(sd->v[0].cookie.bv_val, "\0\xffrid", 5);
	sd->v[0].cookie.bv_len = 5;
	sd->v[1].name = strdup("connectors");
	memcpy(sd->v[1].ident, RULE, sizeof(RULE));
	memcpy(sd->v[1].keys, KEYS, sizeof(KEYS));
	return sd;
}

static void
test_round_trip(void)
{
	struct es_seed *sd = two_areas(), *back = NULL;
	char *dir = tu_tmpdir(), path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/x.ldif.seed", dir);
	CU_ASSERT_EQUAL_FATAL(es_seed_write(sd, path), ES_OK);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	CU_ASSERT_EQUAL_FATAL(es_seed_read(path, &back), ES_OK);
	CU_ASSERT_STRING_EQUAL(back->edge, "edge1");
	CU_ASSERT_STRING_EQUAL(back->holder, "seed/vm/1/aaaaaaaa");
	CU_ASSERT_EQUAL(back->lease_expiry, 1795863600);
	CU_ASSERT_EQUAL_FATAL(back->n, 2);
	CU_ASSERT_STRING_EQUAL(back->v[0].name, "recipients");
	CU_ASSERT_EQUAL(back->v[0].entries, 600);
	CU_ASSERT_EQUAL_FATAL(back->v[0].cookie.bv_len, 5);
	CU_ASSERT_EQUAL(memcmp(back->v[0].cookie.bv_val, "\0\xffrid", 5), 0);
	CU_ASSERT_PTR_NULL(back->v[1].cookie.bv_val); /* no cookie stays none */
	CU_ASSERT_STRING_EQUAL(back->v[1].keys, KEYS);
	es_seed_free(back);
	es_seed_free(sd);
	tu_rmrf(dir);
	free(dir);
}

static void
refused(const char *json, const char *why)
{
	struct es_seed *sd = NULL;

	if (es_seed_parse(json, strlen(json), "S", &sd) != ES_ERR_PARSE)
		CU_FAIL(json);
	CU_ASSERT_PTR_NULL(sd);
	if (strstr(es_errdetail(), why) == NULL)
		fprintf(stderr, "want [%s] in [%s]\n", why, es_errdetail());
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), why));
}

#define AREA(rule, entries, keys, cookie)                                                          \
	"{\"version\":1,\"edge\":\"e\",\"holder\":\"h\",\"lease_expiry\":0,\"areas\":[{\"name\":"  \
	"\"a\",\"rule\":\"" rule "\",\"entries\":" entries ",\"keys_sha256\":\"" keys              \
	"\",\"cookie\":" cookie "}]}"

static void
test_refused(void)
{
	struct es_seed *sd = NULL;
	const char *good = AREA(RULE, "1", KEYS, "\"QUI=\"");

	CU_ASSERT_EQUAL_FATAL(es_seed_parse(good, strlen(good), "S", &sd), ES_OK);
	CU_ASSERT_EQUAL(sd->v[0].cookie.bv_len, 2);
	es_seed_free(sd);
	refused("", "S: line");
	refused("[]", "S: not a seed state");
	refused("{\"version\":2,\"edge\":\"e\",\"holder\":\"h\",\"lease_expiry\":0,\"areas\":[{}]}",
	        "not a seed state");
	refused("{\"version\":1,\"edge\":\"e\",\"holder\":\"h\",\"lease_expiry\":0,\"areas\":[]}",
	        "not a seed state");
	refused("{\"version\":1,\"version\":1}", "duplicate");
	refused(AREA("0123", "1", KEYS, "null"), "area 1: want name, rule");
	refused(AREA("0123456789ABCDEF", "1", KEYS, "null"), "area 1: want name, rule");
	refused(AREA(RULE, "-1", KEYS, "null"), "area 1");
	refused(AREA(RULE, "1", "00", "null"), "area 1");
	refused(AREA(RULE, "1", KEYS, "7"), "area 1");
	refused(AREA(RULE, "1", KEYS, "\"QUI\""), "area a: the cookie is not base64");
	refused(AREA(RULE, "1", KEYS, "\"====\""), "area a: the cookie is not base64");
	refused(AREA(RULE, "1", KEYS, "\"Q!I=\""), "area a: the cookie is not base64");
}

static void
test_commit_refusals_without_a_directory(void)
{
	struct es_seed *sd = two_areas();
	struct es_subscription s;
	struct es_replicator rep;

	memset(&s, 0, sizeof(s));
	memset(&rep, 0, sizeof(rep));
	s.name = "edge2";
	CU_ASSERT_EQUAL(es_seed_commit(&rep, &s, sd), ES_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "the seed is of edge edge1, not edge2"));
	s.name = "edge1";
	/* the lease is another's, or gone: nothing is committed */
	s.lease_holder = "vm/9/replicator";
	s.lease_expiry_raw = "20991231000000Z";
	s.lease_expiry = 4102358400;
	CU_ASSERT_EQUAL(es_seed_commit(&rep, &s, sd), ES_ERR_LEASE_HELD);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "taken by vm/9/replicator"));
	s.lease_holder = "seed/vm/1/aaaaaaaa";
	s.lease_expiry = 1000; /* expired */
	CU_ASSERT_EQUAL(es_seed_commit(&rep, &s, sd), ES_ERR_LEASE_HELD);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "the export's lease is gone"));
	es_seed_free(sd);
}

int
main(void)
{
	CU_TestInfo tests[] = {
	        {"the state written and read back", test_round_trip},
	        {"a damaged state is refused, naming why", test_refused},
	        {"commit refusals that need no directory",
	         test_commit_refusals_without_a_directory},
	        CU_TEST_INFO_NULL,
	};
	return tu_run("es_seed", tests);
}
