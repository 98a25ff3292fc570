/* umd's counters and their Prometheus text (um/src/metrics.c). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"
#include "testutil.h"

#define ABSENT (-999999LL)
#define DAY    86400
/* 2026-11-28T12:00:00Z: a fixed "now", so day counts do not depend on when the test runs. */
#define NOW ((time_t)1795867200)

static struct um_metrics *
fresh(void)
{
	struct um_metrics *m = NULL;

	CU_ASSERT_EQUAL_FATAL(um_metrics_new(&m), UM_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	return m;
}

static char *
render(const struct um_metrics *m, time_t now)
{
	char *text = NULL;

	CU_ASSERT_EQUAL_FATAL(um_metrics_render(m, now, &text), UM_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	return text;
}

/* True when `line` is one whole line of `text`. */
static bool
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p;

	for (p = text; (p = strstr(p, line)) != NULL; p++) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	}
	return false;
}

/* The value of the sample whose name and labels are exactly `series`; ABSENT when none. */
static long long
sample(const char *text, const char *series)
{
	size_t n = strlen(series);
	const char *p;

	for (p = text; (p = strstr(p, series)) != NULL; p++) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
	}
	return ABSENT;
}

/* Every sample line follows a # TYPE line for its name, and a # HELP line comes first. */
static void
assert_families_typed(const char *text)
{
	char *copy = strdup(text), *line, *next, typed[128] = "", helped[128] = "";
	size_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
	CU_ASSERT(strlen(text) > 0 && text[strlen(text) - 1] == '\n');
	for (line = copy; *line != '\0'; line = next) {
		next = strchr(line, '\n');
		CU_ASSERT_PTR_NOT_NULL_FATAL(next);
		*next++ = '\0';
		if (strncmp(line, "# HELP ", 7) == 0) {
			n = strcspn(line + 7, " ");
			snprintf(helped, sizeof(helped), "%.*s", (int)n, line + 7);
		} else if (strncmp(line, "# TYPE ", 7) == 0) {
			n = strcspn(line + 7, " ");
			snprintf(typed, sizeof(typed), "%.*s", (int)n, line + 7);
			CU_ASSERT_STRING_EQUAL(typed, helped);
			CU_ASSERT(strcmp(line + 7 + n, " counter") == 0 ||
			          strcmp(line + 7 + n, " gauge") == 0);
		} else {
			n = strcspn(line, "{ ");
			CU_ASSERT(n > 0 && strlen(typed) == n && strncmp(line, typed, n) == 0);
			if (!(n > 0 && strlen(typed) == n && strncmp(line, typed, n) == 0))
				fprintf(stderr, "untyped sample: %s (last TYPE %s)\n", line, typed);
		}
	}
	free(copy);
}

static void
test_fresh(void)
{
	struct um_metrics *m = fresh();
	char *text = render(m, NOW), why[64];

	assert_families_typed(text);
	/* Not healthy until umd says so. */
	CU_ASSERT(has_line(text, "umd_up 0"));
	CU_ASSERT_FALSE(um_metrics_healthy(m, why, sizeof(why)));
	CU_ASSERT_STRING_EQUAL(why, "starting");
	CU_ASSERT(has_line(text, "# TYPE umd_tls_handshakes_total counter"));
	CU_ASSERT(has_line(text, "umd_tls_handshakes_total 0"));
	CU_ASSERT(has_line(text, "umd_tls_handshake_failures_total{reason=\"protocol\"} 0"));
	CU_ASSERT(has_line(text, "umd_tls_handshake_failures_total{reason=\"certificate\"} 0"));
	CU_ASSERT(has_line(text, "umd_tls_handshake_failures_total{reason=\"peer_rejected\"} 0"));
	CU_ASSERT(has_line(text, "umd_tls_handshake_failures_total{reason=\"other\"} 0"));
	CU_ASSERT(has_line(text, "umd_peer_rejections_total 0"));
	CU_ASSERT(has_line(text, "umd_sip_requests_total{method=\"INVITE\"} 0"));
	CU_ASSERT(has_line(text, "umd_sip_requests_total{method=\"other\"} 0"));
	CU_ASSERT(has_line(text, "umd_sip_responses_total{class=\"1xx\"} 0"));
	CU_ASSERT(has_line(text, "umd_sip_responses_total{class=\"6xx\"} 0"));
	CU_ASSERT(has_line(text, "# TYPE umd_open_connections gauge"));
	CU_ASSERT(has_line(text, "umd_open_connections 0"));
	CU_ASSERT(has_line(text, "umd_active_dialogs 0"));
	CU_ASSERT(has_line(text, "# TYPE umd_sip_loop_heartbeat_age_seconds gauge"));
	/* No certificate yet: the families are announced, with no sample. */
	CU_ASSERT(has_line(text, "# TYPE umd_certificate_not_after_seconds gauge"));
	CU_ASSERT(has_line(text, "# TYPE umd_certificate_days_left gauge"));
	CU_ASSERT_PTR_NULL(strstr(text, "umd_certificate_days_left{"));
	free(text);
	um_metrics_free(m);
	um_metrics_free(NULL);
}

static void
test_counters(void)
{
	struct um_metrics *m = fresh();
	static const int statuses[] = {100, 180, 200, 202, 404, 486, 488, 503, 603, 699};
	static const int ignored[] = {-1, 0, 99, 700, 1000};
	char *text;
	size_t i;

	um_metrics_handshake_ok(m);
	um_metrics_handshake_ok(m);
	um_metrics_handshake_failed(m, UM_FAIL_PROTOCOL);
	um_metrics_handshake_failed(m, UM_FAIL_CERTIFICATE);
	um_metrics_handshake_failed(m, UM_FAIL_CERTIFICATE);
	um_metrics_handshake_failed(m, UM_FAIL_PEER_REJECTED);
	um_metrics_handshake_failed(m, UM_FAIL_OTHER);
	um_metrics_handshake_failed(m, (enum um_fail_class)42); /* out of range: other */
	um_metrics_peer_rejected(m);
	um_metrics_request(m, "INVITE");
	um_metrics_request(m, "INVITE");
	um_metrics_request(m, "ACK");
	um_metrics_request(m, "BYE");
	um_metrics_request(m, "CANCEL");
	um_metrics_request(m, "OPTIONS");
	um_metrics_request(m, "OPTIONS");
	um_metrics_request(m, "OPTIONS");
	um_metrics_request(m, "REGISTER");
	um_metrics_request(m, "invite"); /* RFC 3261 7.1: case-sensitive, so not INVITE */
	um_metrics_request(m, "INVITEX");
	um_metrics_request(m, "");
	um_metrics_request(m, NULL);
	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		um_metrics_response(m, statuses[i]);
	for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		um_metrics_response(m, ignored[i]);
	/* A NULL object is ignored, not a crash. */
	um_metrics_handshake_ok(NULL);
	um_metrics_request(NULL, "INVITE");

	text = render(m, NOW);
	assert_families_typed(text);
	CU_ASSERT_EQUAL(sample(text, "umd_tls_handshakes_total"), 2);
	CU_ASSERT_EQUAL(sample(text, "umd_tls_handshake_failures_total{reason=\"protocol\"}"), 1);
	CU_ASSERT_EQUAL(sample(text, "umd_tls_handshake_failures_total{reason=\"certificate\"}"),
	                2);
	CU_ASSERT_EQUAL(sample(text, "umd_tls_handshake_failures_total{reason=\"peer_rejected\"}"),
	                1);
	CU_ASSERT_EQUAL(sample(text, "umd_tls_handshake_failures_total{reason=\"other\"}"), 2);
	/* One rejected in the handshake, one outside it. */
	CU_ASSERT_EQUAL(sample(text, "umd_peer_rejections_total"), 2);
	CU_ASSERT_EQUAL(sample(text, "umd_sip_requests_total{method=\"INVITE\"}"), 2);
	CU_ASSERT_EQUAL(sample(text, "umd_sip_requests_total{method=\"ACK\"}"), 1);
	CU_ASSERT_EQUAL(sample(text, "umd_sip_requests_total{method=\"BYE\"}"), 1);
	CU_ASSERT_EQUAL(sample(text, "umd_sip_requests_total{method=\"CANCEL\"}"), 1);
	CU_ASSERT_EQUAL(sample(text, "umd_sip_requests_total{method=\"OPTIONS\"}"), 3);
	CU_ASSERT_EQUAL(sample(text, "umd_sip_requests_total{method=\"other\"}"), 5);
	CU_ASSERT_EQUAL(sample(text, "umd_sip_responses_total{class=\"1xx\"}"), 2);
	CU_ASSERT_EQUAL(sample(text, "umd_sip_responses_total{class=\"2xx\"}"), 2);
	CU_ASSERT_EQUAL(sample(text, "umd_sip_responses_total{class=\"3xx\"}"), 0);
	CU_ASSERT_EQUAL(sample(text, "umd_sip_responses_total{class=\"4xx\"}"), 3);
	CU_ASSERT_EQUAL(sample(text, "umd_sip_responses_total{class=\"5xx\"}"), 1);
	CU_ASSERT_EQUAL(sample(text, "umd_sip_responses_total{class=\"6xx\"}"), 2);
	/* Methods with their own series and no "7xx" or "0xx" series for ignored statuses. */
	CU_ASSERT_EQUAL(sample(text, "umd_sip_requests_total{method=\"REGISTER\"}"), ABSENT);
	CU_ASSERT_PTR_NULL(strstr(text, "7xx"));
	CU_ASSERT_PTR_NULL(strstr(text, "0xx"));
	free(text);
	um_metrics_free(m);
}

static void
test_gauges(void)
{
	struct um_metrics *m = fresh();
	char *text;

	um_metrics_conn(m, 1);
	um_metrics_conn(m, 1);
	um_metrics_conn(m, 1);
	um_metrics_conn(m, -1);
	um_metrics_dialogs(m, 5);
	um_metrics_dialogs(m, -2);
	text = render(m, NOW);
	CU_ASSERT(has_line(text, "umd_open_connections 2"));
	CU_ASSERT(has_line(text, "umd_active_dialogs 3"));
	free(text);
	um_metrics_conn(m, -2);
	um_metrics_dialogs(m, -3);
	text = render(m, NOW);
	CU_ASSERT(has_line(text, "umd_open_connections 0"));
	CU_ASSERT(has_line(text, "umd_active_dialogs 0"));
	free(text);
	/* A caller's bug (one close too many) shows, rather than wrapping to 2^64 - 1. */
	um_metrics_conn(m, -1);
	text = render(m, NOW);
	CU_ASSERT(has_line(text, "umd_open_connections -1"));
	free(text);
	um_metrics_free(m);
}

static void
test_certificate(void)
{
	static const char thumb[] = "0123456789ABCDEF0123456789ABCDEF01234567";
	static const char thumb2[] = "89ABCDEF0123456789ABCDEF0123456789ABCDEF";
	struct um_metrics *m = fresh();
	char *text, line[256];

	CU_ASSERT_EQUAL(um_metrics_set_cert(m, "UM", thumb, NOW + 10 * DAY), UM_OK);
	text = render(m, NOW);
	assert_families_typed(text);
	snprintf(line, sizeof(line),
	         "umd_certificate_not_after_seconds{service=\"UM\",thumbprint=\"%s\"} %lld", thumb,
	         (long long)(NOW + 10 * DAY));
	CU_ASSERT(has_line(text, line));
	snprintf(line, sizeof(line),
	         "umd_certificate_days_left{service=\"UM\",thumbprint=\"%s\"} 10", thumb);
	CU_ASSERT(has_line(text, line));
	free(text);

	/* A renewal replaces the service's entry: one series per service, the new thumbprint. */
	CU_ASSERT_EQUAL(um_metrics_set_cert(m, "UM", thumb2, NOW + 365 * DAY), UM_OK);
	text = render(m, NOW);
	CU_ASSERT_PTR_NULL(strstr(text, thumb));
	snprintf(line, sizeof(line),
	         "umd_certificate_days_left{service=\"UM\",thumbprint=\"%s\"} 365", thumb2);
	CU_ASSERT(has_line(text, line));
	free(text);

	/* A second service gets its own series; clearing one leaves the other. */
	CU_ASSERT_EQUAL(um_metrics_set_cert(m, "SMTP", thumb, NOW + DAY), UM_OK);
	text = render(m, NOW);
	CU_ASSERT_EQUAL(sample(text, "umd_certificate_days_left{service=\"SMTP\",thumbprint="
	                             "\"0123456789ABCDEF0123456789ABCDEF01234567\"}"),
	                1);
	free(text);
	CU_ASSERT_EQUAL(um_metrics_set_cert(m, "UM", NULL, 0), UM_OK);
	CU_ASSERT_EQUAL(um_metrics_set_cert(m, "UM", "", 0), UM_OK); /* already gone: no-op */
	text = render(m, NOW);
	CU_ASSERT_PTR_NULL(strstr(text, "service=\"UM\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "service=\"SMTP\""));
	free(text);
	um_metrics_free(m);
}

/* Days are UTC calendar days, as the expiry clock's days_left and days_expired. */
static void
test_days_left(void)
{
	struct um_metrics *m = fresh();
	time_t midnight = NOW - 12 * 3600; /* 2026-11-28T00:00:00Z */
	const char *series = "umd_certificate_days_left{service=\"UM\",thumbprint=\"T\"}";
	char *text;

	CU_ASSERT_EQUAL(um_metrics_set_cert(m, "UM", "T", midnight + DAY + 1), UM_OK);
	/* One second before midnight, two seconds before NotAfter: the next UTC day is 1 away. */
	text = render(m, midnight + DAY - 1);
	CU_ASSERT_EQUAL(sample(text, series), 1);
	free(text);
	/* Same UTC day as NotAfter, before it. */
	text = render(m, midnight + DAY);
	CU_ASSERT_EQUAL(sample(text, series), 0);
	free(text);
	/* Expired: the days since, negative; the NotAfter sample says the exact time. */
	text = render(m, midnight + 3 * DAY + 5);
	CU_ASSERT_EQUAL(sample(text, series), -2);
	CU_ASSERT_EQUAL(sample(text, "umd_certificate_not_after_seconds{service=\"UM\","
	                             "thumbprint=\"T\"}"),
	                (long long)(midnight + DAY + 1));
	free(text);
	/* Before 1970 the days still floor (a forged or broken certificate's date). */
	CU_ASSERT_EQUAL(um_metrics_set_cert(m, "UM", "T", (time_t)-1), UM_OK);
	text = render(m, 0);
	CU_ASSERT_EQUAL(sample(text, series), -1);
	free(text);
	um_metrics_free(m);
}

/* Exposition format: in label values \ is \\, " is \" and a newline is \n; nothing else. */
static void
test_label_escaping(void)
{
	struct um_metrics *m = fresh();
	char *text;

	CU_ASSERT_EQUAL(um_metrics_set_cert(m, "U\"M", "a\\b\"c\nd}e,f=g", NOW), UM_OK);
	text = render(m, NOW);
	assert_families_typed(text);
	CU_ASSERT(has_line(text, "umd_certificate_days_left{service=\"U\\\"M\","
	                         "thumbprint=\"a\\\\b\\\"c\\nd}e,f=g\"} 0"));
	/* The newline did not make a second line. */
	CU_ASSERT_PTR_NULL(strstr(text, "\nd}e"));
	free(text);
	um_metrics_free(m);
}

static void
test_cert_invalid(void)
{
	struct um_metrics *m = fresh();
	char long_thumb[UM_METRICS_THUMBPRINT_MAX + 2], name[16];
	int i;

	CU_ASSERT_EQUAL(um_metrics_set_cert(m, NULL, "T", NOW), UM_ERR_INVAL);
	CU_ASSERT_EQUAL(um_metrics_set_cert(m, "", "T", NOW), UM_ERR_INVAL);
	CU_ASSERT_EQUAL(um_metrics_set_cert(NULL, "UM", "T", NOW), UM_ERR_INVAL);
	CU_ASSERT_EQUAL(um_metrics_set_cert(m, "A-SERVICE-NAME-TOO-LONG", "T", NOW), UM_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), "service name"));
	memset(long_thumb, 'A', sizeof(long_thumb) - 1);
	long_thumb[sizeof(long_thumb) - 1] = '\0';
	CU_ASSERT_EQUAL(um_metrics_set_cert(m, "UM", long_thumb, NOW), UM_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), "thumbprint"));
	long_thumb[UM_METRICS_THUMBPRINT_MAX] = '\0'; /* exactly the limit is fine */
	CU_ASSERT_EQUAL(um_metrics_set_cert(m, "UM", long_thumb, NOW), UM_OK);
	for (i = 1; i < UM_METRICS_MAX_SERVICES; i++) {
		snprintf(name, sizeof(name), "S%d", i);
		CU_ASSERT_EQUAL(um_metrics_set_cert(m, name, "T", NOW), UM_OK);
	}
	CU_ASSERT_EQUAL(um_metrics_set_cert(m, "ONE-TOO-MANY", "T", NOW), UM_ERR_INVAL);
	/* Replacing a known service still works when the table is full. */
	CU_ASSERT_EQUAL(um_metrics_set_cert(m, "S1", "U", NOW), UM_OK);
	um_metrics_free(m);
}

static void
test_health(void)
{
	struct um_metrics *m = fresh();
	char why[UM_METRICS_WHY_MAX + 1], small[8], big[600], *text;

	um_metrics_set_healthy(m, true, NULL);
	CU_ASSERT_TRUE(um_metrics_healthy(m, why, sizeof(why)));
	CU_ASSERT_STRING_EQUAL(why, "");
	text = render(m, NOW);
	CU_ASSERT(has_line(text, "umd_up 1"));
	free(text);

	um_metrics_set_healthy(m, false, "no certificate for UM");
	CU_ASSERT_FALSE(um_metrics_healthy(m, why, sizeof(why)));
	CU_ASSERT_STRING_EQUAL(why, "no certificate for UM");
	CU_ASSERT_FALSE(um_metrics_healthy(m, small, sizeof(small)));
	CU_ASSERT_STRING_EQUAL(small, "no cert");
	CU_ASSERT_FALSE(um_metrics_healthy(m, NULL, 0));
	text = render(m, NOW);
	CU_ASSERT(has_line(text, "umd_up 0"));
	free(text);

	um_metrics_set_healthy(m, false, NULL);
	CU_ASSERT_FALSE(um_metrics_healthy(m, why, sizeof(why)));
	CU_ASSERT(strlen(why) > 0);

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	um_metrics_set_healthy(m, false, big);
	CU_ASSERT_FALSE(um_metrics_healthy(m, why, sizeof(why)));
	CU_ASSERT_EQUAL(strlen(why), UM_METRICS_WHY_MAX);

	CU_ASSERT_FALSE(um_metrics_healthy(NULL, why, sizeof(why)));
	um_metrics_free(m);
}

/* The SIP loop's heartbeat: a stale one fails /healthz once a limit is set, and recovers. */
static void
test_heartbeat(void)
{
	struct um_metrics *m = fresh();
	char why[UM_METRICS_WHY_MAX + 1], *text, *p;
	double age;

	um_metrics_set_healthy(m, true, NULL);
	um_metrics_heartbeat(m);
	CU_ASSERT_TRUE(um_metrics_heartbeat_age_ms(m) < 1000);
	/* No limit (the default): an old heartbeat changes nothing. */
	usleep(1300 * 1000);
	CU_ASSERT_TRUE(um_metrics_heartbeat_age_ms(m) >= 1300);
	CU_ASSERT_TRUE(um_metrics_healthy(m, why, sizeof(why)));
	/* A limit of 1 s: 1.3 s without a heartbeat is a stall. */
	um_metrics_set_stall_limit(m, 1);
	CU_ASSERT_FALSE(um_metrics_healthy(m, why, sizeof(why)));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "SIP loop stalled: no heartbeat for 1."));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "(limit 1 s)"));
	text = render(m, NOW);
	CU_ASSERT(has_line(text, "umd_up 0"));
	CU_ASSERT(has_line(text, "# TYPE umd_sip_loop_heartbeat_age_seconds gauge"));
	p = strstr(text, "\numd_sip_loop_heartbeat_age_seconds ");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	age = strtod(p + strlen("\numd_sip_loop_heartbeat_age_seconds "), NULL);
	CU_ASSERT_TRUE(age >= 1.3 && age < 60);
	free(text);
	/* A heartbeat: healthy again. */
	um_metrics_heartbeat(m);
	CU_ASSERT_TRUE(um_metrics_healthy(m, why, sizeof(why)));
	CU_ASSERT_STRING_EQUAL(why, "");
	text = render(m, NOW);
	CU_ASSERT(has_line(text, "umd_up 1"));
	free(text);
	/* A reason set by umd wins over the heartbeat's. */
	usleep(1300 * 1000);
	um_metrics_set_healthy(m, false, "stopping");
	CU_ASSERT_FALSE(um_metrics_healthy(m, why, sizeof(why)));
	CU_ASSERT_STRING_EQUAL(why, "stopping");
	/* A negative limit is no limit; NULL is harmless. */
	um_metrics_set_healthy(m, true, NULL);
	um_metrics_set_stall_limit(m, -5);
	CU_ASSERT_TRUE(um_metrics_healthy(m, why, sizeof(why)));
	um_metrics_heartbeat(NULL);
	um_metrics_set_stall_limit(NULL, 1);
	CU_ASSERT_EQUAL(um_metrics_heartbeat_age_ms(NULL), -1);
	um_metrics_free(m);
}

static void
test_render_invalid(void)
{
	struct um_metrics *m = fresh();
	char *text = (char *)"sentinel";

	CU_ASSERT_EQUAL(um_metrics_render(m, NOW, NULL), UM_ERR_INVAL);
	CU_ASSERT_EQUAL(um_metrics_render(NULL, NOW, &text), UM_ERR_INVAL);
	CU_ASSERT_PTR_NULL(text);
	CU_ASSERT_EQUAL(um_metrics_new(NULL), UM_ERR_INVAL);
	um_metrics_free(m);
}

static void
test_fail_class_names(void)
{
	CU_ASSERT_STRING_EQUAL(um_fail_class_name(UM_FAIL_PROTOCOL), "protocol");
	CU_ASSERT_STRING_EQUAL(um_fail_class_name(UM_FAIL_CERTIFICATE), "certificate");
	CU_ASSERT_STRING_EQUAL(um_fail_class_name(UM_FAIL_PEER_REJECTED), "peer_rejected");
	CU_ASSERT_STRING_EQUAL(um_fail_class_name(UM_FAIL_OTHER), "other");
	CU_ASSERT_STRING_EQUAL(um_fail_class_name((enum um_fail_class)99), "other");
}

#define WRITERS 8
#define ROUNDS  50000

static void *
writer(void *arg)
{
	struct um_metrics *m = arg;
	char thumb[16];
	int i;

	for (i = 0; i < ROUNDS; i++) {
		um_metrics_handshake_ok(m);
		um_metrics_request(m, (i & 1) ? "INVITE" : "BYE");
		um_metrics_response(m, 200);
		um_metrics_conn(m, 1);
		um_metrics_dialogs(m, 1);
		um_metrics_conn(m, -1);
		um_metrics_dialogs(m, -1);
		if (i % 1000 == 0) {
			snprintf(thumb, sizeof(thumb), "T%d", i);
			if (um_metrics_set_cert(m, "UM", thumb, NOW) != UM_OK)
				abort();
			um_metrics_set_healthy(m, i % 2000 == 0, "flapping");
		}
	}
	return NULL;
}

struct reader_arg {
	struct um_metrics *m;
	atomic_int stop;
	int renders;
	int bad;
};

static void *
reader(void *arg)
{
	struct reader_arg *a = arg;
	char *text;

	while (!atomic_load(&a->stop)) {
		if (um_metrics_render(a->m, NOW, &text) != UM_OK) {
			a->bad++;
			continue;
		}
		/* A scrape taken mid-update is still whole: every family, every line ended. */
		if (strstr(text, "umd_certificate_days_left") == NULL ||
		    text[strlen(text) - 1] != '\n')
			a->bad++;
		free(text);
		a->renders++;
	}
	return NULL;
}

/* The SIP thread writes while the HTTP thread reads: no update is lost, nothing is torn. */
static void
test_concurrent(void)
{
	struct um_metrics *m = fresh();
	struct reader_arg ra = {.m = m};
	pthread_t w[WRITERS], r;
	char *text;
	int i;

	CU_ASSERT_EQUAL_FATAL(pthread_create(&r, NULL, reader, &ra), 0);
	for (i = 0; i < WRITERS; i++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&w[i], NULL, writer, m), 0);
	for (i = 0; i < WRITERS; i++)
		pthread_join(w[i], NULL);
	atomic_store(&ra.stop, 1);
	pthread_join(r, NULL);
	CU_ASSERT_EQUAL(ra.bad, 0);
	CU_ASSERT(ra.renders > 0);

	text = render(m, NOW);
	CU_ASSERT_EQUAL(sample(text, "umd_tls_handshakes_total"), (long long)WRITERS * ROUNDS);
	CU_ASSERT_EQUAL(sample(text, "umd_sip_requests_total{method=\"INVITE\"}"),
	                (long long)WRITERS * ROUNDS / 2);
	CU_ASSERT_EQUAL(sample(text, "umd_sip_requests_total{method=\"BYE\"}"),
	                (long long)WRITERS * ROUNDS / 2);
	CU_ASSERT_EQUAL(sample(text, "umd_sip_responses_total{class=\"2xx\"}"),
	                (long long)WRITERS * ROUNDS);
	CU_ASSERT(has_line(text, "umd_open_connections 0"));
	CU_ASSERT(has_line(text, "umd_active_dialogs 0"));
	free(text);
	um_metrics_free(m);
}

static CU_TestInfo tests[] = {
        {"a new object: zero, not healthy, every family", test_fresh},
        {"counters count by reason, method and class", test_counters},
        {"gauges go up and down", test_gauges},
        {"the certificate in use, per service", test_certificate},
        {"days left in UTC calendar days", test_days_left},
        {"label values escaped", test_label_escaping},
        {"bad certificate entries refused", test_cert_invalid},
        {"health and umd_up", test_health},
        {"the SIP loop's heartbeat and its stall limit", test_heartbeat},
        {"render refuses bad arguments", test_render_invalid},
        {"failure class names", test_fail_class_names},
        {"concurrent writers and a reader", test_concurrent},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("um_metrics", tests);
}
