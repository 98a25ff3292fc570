/* Test-EdgeSynchronization: the status rule and the two output forms (report.c). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "edgesync/report.h"
#include "testutil.h"

static void
test_decide(void)
{
	time_t now = 1795863600;

	/* not connected (down, pin mismatch, bind or credential refused): Failed */
	CU_ASSERT_EQUAL(
	        es_report_decide(false, now - 10, 0, false, ES_STATUS_NORMAL, 300, 300, now),
	        ES_STATUS_FAILED);
	/* synchronized recently, nothing compared: Normal */
	CU_ASSERT_EQUAL(es_report_decide(true, now - 10, 0, false, ES_STATUS_NORMAL, 300, 300, now),
	                ES_STATUS_NORMAL);
	/* the last cycle failed after the last success: Warning */
	CU_ASSERT_EQUAL(
	        es_report_decide(true, now - 100, now - 10, false, ES_STATUS_NORMAL, 300, 300, now),
	        ES_STATUS_WARNING);
	/* a failure before the last success does not count */
	CU_ASSERT_EQUAL(
	        es_report_decide(true, now - 10, now - 100, false, ES_STATUS_NORMAL, 300, 300, now),
	        ES_STATUS_NORMAL);
	/* never synchronized: Inconclusive, unless a compare found everything equal */
	CU_ASSERT_EQUAL(es_report_decide(true, 0, 0, false, ES_STATUS_NORMAL, 300, 300, now),
	                ES_STATUS_INCONCLUSIVE);
	CU_ASSERT_EQUAL(es_report_decide(true, 0, 0, true, ES_STATUS_NORMAL, 300, 300, now),
	                ES_STATUS_NORMAL);
	/* a compare that found differences: Warning; one that could not be made: Inconclusive */
	CU_ASSERT_EQUAL(es_report_decide(true, now - 10, 0, true, ES_STATUS_WARNING, 300, 300, now),
	                ES_STATUS_WARNING);
	CU_ASSERT_EQUAL(
	        es_report_decide(true, now - 10, 0, true, ES_STATUS_INCONCLUSIVE, 300, 300, now),
	        ES_STATUS_INCONCLUSIVE);
	/* stale: older than twice the longest interval plus the lease */
	CU_ASSERT_EQUAL(
	        es_report_decide(true, now - 900, 0, false, ES_STATUS_NORMAL, 300, 300, now),
	        ES_STATUS_NORMAL);
	CU_ASSERT_EQUAL(
	        es_report_decide(true, now - 901, 0, false, ES_STATUS_NORMAL, 300, 300, now),
	        ES_STATUS_WARNING);
	CU_ASSERT_STRING_EQUAL(es_status_name(ES_STATUS_NORMAL), "Normal");
	CU_ASSERT_STRING_EQUAL(es_status_name(ES_STATUS_WARNING), "Warning");
	CU_ASSERT_STRING_EQUAL(es_status_name(ES_STATUS_FAILED), "Failed");
	CU_ASSERT_STRING_EQUAL(es_status_name(ES_STATUS_INCONCLUSIVE), "Inconclusive");
}

static struct es_edge_report *
sample(void)
{
	struct es_edge_report *r = calloc(1, sizeof(*r));

	r->name = strdup("edge1");
	r->status = ES_STATUS_WARNING;
	r->lease_holder = strdup("vm/1/abcd0123");
	r->lease_expiry = 1795863900;
	r->last_sync = 1795863600;
	r->failure_detail = strdup("a \"quoted\" reason");
	r->connection = "Succeeded";
	r->credential = "Valid";
	r->areas = calloc(2, sizeof(*r->areas));
	r->nareas = 2;
	r->areas[0].area = strdup("recipients");
	r->areas[0].status = ES_STATUS_WARNING;
	r->areas[0].cookie = "Current";
	r->areas[0].compared = true;
	r->areas[0].counts.synchronized = 20;
	r->areas[0].counts.source_only = 1;
	r->areas[1].area = strdup("connectors");
	r->areas[1].status = ES_STATUS_NORMAL;
	r->areas[1].cookie = "None";
	return r;
}

static void
test_json(void)
{
	struct es_edge_report *r = sample();
	char *text = NULL;
	json_t *j, *a;

	CU_ASSERT_EQUAL_FATAL(es_report_json(&r, 1, &text), ES_OK);
	j = json_loads(text, 0, NULL);
	CU_ASSERT_FATAL(json_is_array(j) && json_array_size(j) == 1);
	a = json_array_get(j, 0);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a, "Name")), "edge1");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a, "SyncStatus")), "Warning");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a, "LeaseExpiry")),
	                       "2026-11-28T11:05:00Z");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a, "FailureDetail")),
	                       "a \"quoted\" reason");
	a = json_object_get(json_object_get(a, "Areas"), "recipients");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(a, "SynchronizedObjects")), 20);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(a, "SourceOnlyObjects")), 1);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a, "CookieStatus")), "Current");
	/* an area not compared has no counts, rather than zeros */
	a = json_object_get(json_object_get(json_array_get(j, 0), "Areas"), "connectors");
	CU_ASSERT(json_is_null(json_object_get(a, "SynchronizedObjects")));
	json_decref(j);
	free(text);
	CU_ASSERT_EQUAL(es_report_json(NULL, 0, &text), ES_OK);
	CU_ASSERT_STRING_EQUAL(text, "[]");
	free(text);
	es_report_free(r);
	es_report_free(NULL);
}

static void
test_text(void)
{
	struct es_edge_report *r = sample();
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	es_report_text(f, &r, 1);
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "SyncStatus       : Warning\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "LastSynchronized : 2026-11-28T11:00:00Z\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf,
	                              "recipients       : Warning (cookie Current; synchronized "
	                              "20, source only 1, edge only 0, conflicting 0)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "connectors       : Normal (cookie None)"));
	free(buf);
	es_report_free(r);
}

int
main(void)
{
	CU_TestInfo tests[] = {
	        {"the status rule", test_decide},
	        {"JSON", test_json},
	        {"text", test_text},
	        CU_TEST_INFO_NULL,
	};
	return tu_run("es_report", tests);
}
