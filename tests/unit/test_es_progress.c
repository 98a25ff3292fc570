/* Progress of a cycle (progress.c): counts, rate, estimate and when to report, on a fake clock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgesync/progress.h"
#include "testutil.h"

static double fake_now;

static double
fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

#define MAX_REPORTS 64

struct seen {
	int n, nfinal;
	struct es_progress_view last;
	char last_edge[64], last_area[64];
	double at[MAX_REPORTS];
};

static void
record(void *arg, const struct es_progress_view *v, bool final)
{
	struct seen *s = arg;

	if (s->n < MAX_REPORTS)
		s->at[s->n] = fake_now;
	s->n++;
	s->nfinal += final;
	s->last = *v;
	snprintf(s->last_edge, sizeof(s->last_edge), "%s", v->edge);
	snprintf(s->last_area, sizeof(s->last_area), "%s", v->area);
}

static struct es_progress *
make(struct seen *s, double first, double interval, bool final)
{
	struct es_progress_opts o = {
	        .first = first,
	        .interval = interval,
	        .final = final,
	        .report = record,
	        .report_arg = s,
	        .clock = fake_clock,
	};
	struct es_progress *p = NULL;

	memset(s, 0, sizeof(*s));
	fake_now = 1000;
	CU_ASSERT_EQUAL_FATAL(es_progress_new(&o, &p), ES_OK);
	return p;
}

static void
test_refused(void)
{
	struct es_progress_opts o = {.first = 0, .interval = 1, .report = NULL};
	struct es_progress *p = (struct es_progress *)1;
	struct es_progress_view v;

	CU_ASSERT_EQUAL(es_progress_new(&o, &p), ES_ERR_INVAL);
	CU_ASSERT_PTR_NULL(p);
	o.report = record;
	o.interval = 0;
	CU_ASSERT_EQUAL(es_progress_new(&o, &p), ES_ERR_INVAL);
	o.interval = 1;
	o.first = -1;
	CU_ASSERT_EQUAL(es_progress_new(&o, &p), ES_ERR_INVAL);
	/* nobody watching: every call is a no-op */
	es_progress_begin(NULL, "e");
	es_progress_area(NULL, "a");
	es_progress_expect(NULL, 5, ES_PROGRESS_FROM_EDGE);
	es_progress_read(NULL, 1);
	es_progress_planned(NULL, 1, 1);
	es_progress_wrote(NULL, 1);
	es_progress_end_area(NULL, true);
	es_progress_free(NULL);
	(void)v;
}

/* The daemon's rule: every 10 s of a long cycle, nothing in a shorter one. */
static void
test_when_to_report(void)
{
	struct seen s;
	struct es_progress *p = make(&s, 10, 10, false);
	int i;

	es_progress_begin(p, "edge1");
	es_progress_area(p, "recipients");
	for (i = 0; i < 99; i++) {
		fake_now += 0.1;
		es_progress_read(p, 1);
	}
	CU_ASSERT_EQUAL(s.n, 0); /* 9.9 s */
	fake_now += 0.1;
	es_progress_read(p, 1);
	CU_ASSERT_EQUAL(s.n, 1); /* 10 s */
	CU_ASSERT_EQUAL(s.last.read, 100);
	CU_ASSERT_STRING_EQUAL(s.last_edge, "edge1");
	CU_ASSERT_STRING_EQUAL(s.last_area, "recipients");
	fake_now += 9.9;
	es_progress_read(p, 1);
	CU_ASSERT_EQUAL(s.n, 1);
	fake_now += 0.1;
	es_progress_read(p, 1);
	CU_ASSERT_EQUAL(s.n, 2);
	/* a quiet stretch (one long page) reports once when it ends, not once per missed tick */
	fake_now += 35;
	es_progress_read(p, 1);
	CU_ASSERT_EQUAL(s.n, 3);
	es_progress_read(p, 1);
	CU_ASSERT_EQUAL(s.n, 3);
	/* the end of an area is not reported without `final` */
	es_progress_end_area(p, true);
	CU_ASSERT_EQUAL(s.n, 3);
	CU_ASSERT_EQUAL(s.nfinal, 0);

	/* a cycle shorter than the interval: nothing at all */
	s.n = 0;
	es_progress_begin(p, "edge1");
	es_progress_area(p, "recipients");
	for (i = 0; i < 50; i++) {
		fake_now += 0.1;
		es_progress_read(p, 10);
	}
	es_progress_planned(p, 500, 500);
	for (i = 0; i < 40; i++) {
		fake_now += 0.1;
		es_progress_wrote(p, 1);
	}
	es_progress_end_area(p, true);
	CU_ASSERT_EQUAL(s.n, 0);
	es_progress_free(p);
}

/* The interval runs over the cycle, not per area: many short areas of a long cycle report. */
static void
test_interval_spans_areas(void)
{
	struct seen s;
	struct es_progress *p = make(&s, 10, 10, false);
	static const char *areas[] = {"recipients", "domains", "remote", "connectors"};
	size_t a;
	int i;

	es_progress_begin(p, "edge1");
	for (a = 0; a < 4; a++) {
		es_progress_area(p, areas[a]);
		for (i = 0; i < 6; i++) {
			fake_now += 1;
			es_progress_read(p, 1);
		}
		es_progress_end_area(p, true);
	}
	CU_ASSERT_EQUAL(s.n, 2); /* at 10 s (domains) and 20 s (connectors) */
	CU_ASSERT_DOUBLE_EQUAL(s.at[0], 1010, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(s.at[1], 1020, 1e-9);
	CU_ASSERT_STRING_EQUAL(s.last_area, "connectors");
	es_progress_free(p);
}

/* The terminal's rule: at once, often, and the end of each area kept. */
static void
test_final(void)
{
	struct seen s;
	struct es_progress *p = make(&s, 0, 0.2, true);

	es_progress_begin(p, "edge1");
	es_progress_area(p, "recipients");
	es_progress_read(p, 1);
	CU_ASSERT_EQUAL(s.n, 1);
	CU_ASSERT_EQUAL(s.last.step, ES_PROGRESS_READING);
	es_progress_read(p, 1);
	CU_ASSERT_EQUAL(s.n, 1);
	fake_now += 0.2;
	es_progress_planned(p, 2, 2);
	CU_ASSERT_EQUAL(s.n, 2);
	CU_ASSERT_EQUAL(s.last.step, ES_PROGRESS_WRITING);
	es_progress_wrote(p, 2);
	fake_now += 3;
	es_progress_end_area(p, true);
	CU_ASSERT_EQUAL(s.n, 3);
	CU_ASSERT_EQUAL(s.nfinal, 1);
	CU_ASSERT_EQUAL(s.last.step, ES_PROGRESS_DONE);
	CU_ASSERT_FALSE(s.last.failed);
	CU_ASSERT_EQUAL(s.last.read, 2);
	CU_ASSERT_EQUAL(s.last.written, 2);
	CU_ASSERT_DOUBLE_EQUAL(s.last.seconds, 3.2, 1e-9);
	CU_ASSERT(s.last.eta < 0);
	/* ended once only */
	es_progress_end_area(p, false);
	CU_ASSERT_EQUAL(s.nfinal, 1);

	/* a failed area ends with a final line too, marked failed */
	es_progress_area(p, "domains");
	es_progress_read(p, 3);
	es_progress_end_area(p, false);
	CU_ASSERT_EQUAL(s.nfinal, 2);
	CU_ASSERT_TRUE(s.last.failed);
	CU_ASSERT_STRING_EQUAL(s.last_area, "domains");
	es_progress_free(p);
}

static void
test_rate_and_estimate(void)
{
	struct seen s;
	struct es_progress *p = make(&s, 0, 1000, false);
	struct es_progress_view v;

	es_progress_begin(p, "edge1");
	es_progress_area(p, "recipients");
	/* under a second: no rate, estimating */
	fake_now += 0.5;
	es_progress_read(p, 400);
	es_progress_view(p, &v);
	CU_ASSERT_EQUAL(v.rate, 0);
	CU_ASSERT(v.eta < 0);
	/* a rate, but no total: still estimating */
	fake_now += 0.5;
	es_progress_read(p, 400);
	es_progress_view(p, &v);
	CU_ASSERT_DOUBLE_EQUAL(v.rate, 800, 1e-6);
	CU_ASSERT(v.eta < 0);
	CU_ASSERT_EQUAL(v.total, 0);
	CU_ASSERT_EQUAL(v.basis, ES_PROGRESS_UNKNOWN);
	/* a total of 0 says nothing */
	es_progress_expect(p, 0, ES_PROGRESS_FROM_EDGE);
	es_progress_view(p, &v);
	CU_ASSERT(v.eta < 0);
	CU_ASSERT_EQUAL(v.basis, ES_PROGRESS_UNKNOWN);
	/* the edge's count: 5000 */
	es_progress_expect(p, 5000, ES_PROGRESS_FROM_EDGE);
	fake_now += 1;
	es_progress_read(p, 800);
	es_progress_view(p, &v);
	CU_ASSERT_EQUAL(v.read, 1600);
	CU_ASSERT_DOUBLE_EQUAL(v.rate, 800, 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(v.eta, 3400.0 / 800, 1e-6);
	CU_ASSERT_EQUAL(v.basis, ES_PROGRESS_FROM_EDGE);
	/* more read than expected: no estimate rather than a negative one */
	es_progress_read(p, 4000);
	es_progress_view(p, &v);
	CU_ASSERT(v.eta < 0);
	/* the read ended: the writes are counted from their own start */
	es_progress_planned(p, 5600, 1000);
	es_progress_view(p, &v);
	CU_ASSERT_EQUAL(v.step, ES_PROGRESS_WRITING);
	CU_ASSERT_EQUAL(v.total, 5600);
	CU_ASSERT_EQUAL(v.basis, ES_PROGRESS_READ);
	CU_ASSERT_EQUAL(v.planned, 1000);
	CU_ASSERT(v.eta < 0);
	fake_now += 2;
	es_progress_wrote(p, 500);
	es_progress_view(p, &v);
	CU_ASSERT_DOUBLE_EQUAL(v.rate, 250, 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(v.eta, 2, 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(v.seconds, 4, 1e-6);
	/* nothing written in a second: no rate, no estimate (not a division by zero) */
	es_progress_area(p, "domains");
	es_progress_planned(p, 10, 10);
	fake_now += 5;
	es_progress_view(p, &v);
	CU_ASSERT_EQUAL(v.rate, 0);
	CU_ASSERT(v.eta < 0);
	es_progress_free(p);
}

/* The source's count of the previous cycle, per edge and area, completed areas only. */
static void
test_previous_cycle(void)
{
	struct seen s;
	struct es_progress *p = make(&s, 0, 1000, false);
	struct es_progress_view v;

	es_progress_begin(p, "edge1");
	es_progress_area(p, "recipients");
	es_progress_view(p, &v);
	CU_ASSERT_EQUAL(v.basis, ES_PROGRESS_UNKNOWN);
	es_progress_read(p, 3000);
	es_progress_planned(p, 3000, 3000);
	es_progress_end_area(p, true);
	es_progress_area(p, "domains");
	es_progress_read(p, 7);
	es_progress_end_area(p, false); /* failed during the read: nothing learnt */

	es_progress_begin(p, "edge1");
	es_progress_area(p, "recipients");
	es_progress_view(p, &v);
	CU_ASSERT_EQUAL(v.total, 3000);
	CU_ASSERT_EQUAL(v.basis, ES_PROGRESS_PREVIOUS);
	CU_ASSERT_EQUAL(v.read, 0);
	/* the edge's count, when known, wins */
	es_progress_expect(p, 3100, ES_PROGRESS_FROM_EDGE);
	es_progress_view(p, &v);
	CU_ASSERT_EQUAL(v.total, 3100);
	es_progress_planned(p, 3050, 50);
	es_progress_end_area(p, true);
	es_progress_area(p, "domains");
	es_progress_view(p, &v);
	CU_ASSERT_EQUAL(v.basis, ES_PROGRESS_UNKNOWN);
	es_progress_end_area(p, true);

	/* another edge has its own counts */
	es_progress_begin(p, "edge2");
	es_progress_area(p, "recipients");
	es_progress_view(p, &v);
	CU_ASSERT_EQUAL(v.basis, ES_PROGRESS_UNKNOWN);
	es_progress_end_area(p, true);
	/* and edge1's count moved to what the last cycle read */
	es_progress_begin(p, "edge1");
	es_progress_area(p, "recipients");
	es_progress_view(p, &v);
	CU_ASSERT_EQUAL(v.total, 3050);
	es_progress_free(p);
}

static void
test_format(void)
{
	struct es_progress_view v;
	char buf[256], small[12];

	memset(&v, 0, sizeof(v));
	v.step = ES_PROGRESS_READING;
	v.read = 1200;
	v.eta = -1;
	es_progress_format(&v, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "reading: 1200 entries, estimating");
	v.rate = 800;
	es_progress_format(&v, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "reading: 1200 entries, 800/s, estimating");
	v.total = 5000;
	v.basis = ES_PROGRESS_FROM_EDGE;
	v.eta = 4.75;
	es_progress_format(&v, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf,
	                       "reading: 1200 of about 5000 entries (the edge's count), 800/s, "
	                       "about 5 s left");
	v.basis = ES_PROGRESS_PREVIOUS;
	v.eta = 600;
	es_progress_format(&v, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf,
	                       "reading: 1200 of about 5000 entries (the previous cycle's), 800/s, "
	                       "about 10 min left");
	v.step = ES_PROGRESS_WRITING;
	v.read = 5000;
	v.written = 300;
	v.planned = 5000;
	v.rate = 450;
	v.eta = 10.4;
	es_progress_format(&v, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf,
	                       "writing: 300 of 5000 writes (5000 read), 450/s, about 10 s left");
	v.step = ES_PROGRESS_DONE;
	v.written = 5000;
	v.seconds = 11.7;
	es_progress_format(&v, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "done: 5000 read, 5000 written in 12 s");
	v.failed = true;
	es_progress_format(&v, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "stopped: 5000 read, 5000 written in 12 s");
	/* cut, always terminated */
	es_progress_format(&v, small, sizeof(small));
	CU_ASSERT_EQUAL(strlen(small), sizeof(small) - 1);
	es_progress_format(&v, small, 0);
}

/* The daemon's lines: plain messages (no event id), in either log format. */
static void
test_log_report(void)
{
	struct es_progress_opts o = {.first = 10, .interval = 10, .report = es_progress_log_report};
	struct es_progress *p = NULL;
	struct cc_log *log = NULL;
	char *text = NULL;
	size_t len = 0, i;
	int lines = 0;
	FILE *f;

	CU_ASSERT_PTR_NOT_NULL_FATAL(f = open_memstream(&text, &len));
	CU_ASSERT_EQUAL_FATAL(cc_log_new(CC_LOG_JSON, f, "edgesync", false, &log), CC_OK);
	o.report_arg = log;
	o.clock = fake_clock;
	fake_now = 0;
	CU_ASSERT_EQUAL_FATAL(es_progress_new(&o, &p), ES_OK);
	es_progress_begin(p, "edge1");
	es_progress_area(p, "recipients");
	fake_now = 10;
	es_progress_read(p, 2500);
	es_progress_free(p);
	cc_log_free(log);
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"message\":\"edge edge1: area recipients: reading: "
	                                    "2500 entries, 250/s, estimating\""));
	CU_ASSERT_PTR_NULL(strstr(text, "event_id"));
	/* one line: the one report at 10 s */
	for (i = 0; text[i] != '\0'; i++)
		lines += text[i] == '\n';
	CU_ASSERT_EQUAL(lines, 1);
	free(text);
}

int
main(void)
{
	CU_TestInfo tests[] = {
	        {"refused options, NULL is a no-op", test_refused},
	        {"when to report", test_when_to_report},
	        {"the interval spans areas", test_interval_spans_areas},
	        {"final lines", test_final},
	        {"rate and estimate", test_rate_and_estimate},
	        {"the previous cycle's count", test_previous_cycle},
	        {"format", test_format},
	        {"daemon log lines", test_log_report},
	        CU_TEST_INFO_NULL,
	};
	return tu_run("es_progress", tests);
}
