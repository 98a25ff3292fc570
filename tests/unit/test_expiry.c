/* The expiry clock (expiry.c): the pure rule over a simulated year, and its state in a store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "certcore/expiry.h"
#include "certcore/selfsigned.h"
#include "certcore/services.h"
#include "testutil.h"

#define DAY 86400L
#define T0  1767225600L /* 2026-01-01T00:00:00Z */

static void
test_decide_boundaries(void)
{
	struct cc_expiry_state never = {-1};
	struct cc_expiry_decision d;
	time_t na = T0 + 100 * DAY + 5 * 3600;

	cc_expiry_decide(na, &never, na - 30 * DAY - 1, &d);
	CU_ASSERT_EQUAL(d.event, CC_EXPIRY_NONE);
	cc_expiry_decide(na, &never, na - 30 * DAY, &d);
	CU_ASSERT_EQUAL(d.event, CC_EXPIRY_EXPIRING);
	CU_ASSERT_EQUAL(d.days, 30);
	cc_expiry_decide(na, &never, na - 10 * DAY, &d);
	CU_ASSERT_EQUAL(d.event, CC_EXPIRY_EXPIRING);
	CU_ASSERT_EQUAL(d.days, 10);
	cc_expiry_decide(na, &never, na - 10 * DAY + 1, &d);
	CU_ASSERT_EQUAL(d.days, 10); /* calendar days, not 24-hour periods */
	cc_expiry_decide(na, &never, na, &d);
	CU_ASSERT_EQUAL(d.event, CC_EXPIRY_EXPIRING);
	CU_ASSERT_EQUAL(d.days, 0);
	cc_expiry_decide(na, &never, na + 1, &d);
	CU_ASSERT_EQUAL(d.event, CC_EXPIRY_EXPIRED);
	CU_ASSERT_EQUAL(d.days, 0);
	cc_expiry_decide(na, &never, na + 3 * DAY + 7, &d);
	CU_ASSERT_EQUAL(d.event, CC_EXPIRY_EXPIRED);
	CU_ASSERT_EQUAL(d.days, 3);
	CU_ASSERT_EQUAL(d.day, (na + 3 * DAY + 7) / DAY);
}

static void
test_decide_once_a_day(void)
{
	struct cc_expiry_state st = {-1};
	struct cc_expiry_decision d;
	time_t na = T0 + 100 * DAY, now = na - 5 * DAY + 3600;

	cc_expiry_decide(na, &st, now, &d);
	CU_ASSERT_EQUAL(d.event, CC_EXPIRY_EXPIRING);
	st.last_day = d.day;
	cc_expiry_decide(na, &st, now + 3600 * 20, &d); /* same UTC day */
	CU_ASSERT_EQUAL(d.event, CC_EXPIRY_NONE);
	cc_expiry_decide(na, &st, now + DAY, &d); /* next day */
	CU_ASSERT_EQUAL(d.event, CC_EXPIRY_EXPIRING);
	/* A clock set back must not repeat a day already logged. */
	st.last_day = (now + 2 * DAY) / DAY;
	cc_expiry_decide(na, &st, now + DAY, &d);
	CU_ASSERT_EQUAL(d.event, CC_EXPIRY_NONE);
	/* NULL state behaves as never logged. */
	cc_expiry_decide(na, NULL, now, &d);
	CU_ASSERT_EQUAL(d.event, CC_EXPIRY_EXPIRING);
}

/*
 * A year in steps of 17 minutes (not a divisor of a day, so steps land at every time of day):
 * exactly one event on each UTC day from the day the 30-day window opens, Expiring before
 * NotAfter and Expired after, and none on any day before the window.
 */
static void
test_simulated_year(void)
{
	struct cc_expiry_state st = {-1};
	struct cc_expiry_decision d;
	time_t na = T0 + 200 * DAY + 13 * 3600 + 17 * 60;
	time_t now;
	int per_day[366], kind[366];
	long first = (na - 30 * DAY) / DAY - T0 / DAY, expday = na / DAY - T0 / DAY;
	long day, prev_left = 1000;
	int bad_before = 0, missing = 0, doubled = 0, wrong_kind = 0, nonmonotonic = 0;

	memset(per_day, 0, sizeof(per_day));
	memset(kind, 0, sizeof(kind));
	for (now = T0; now < T0 + 366 * DAY; now += 17 * 60) {
		cc_expiry_decide(na, &st, now, &d);
		if (d.event == CC_EXPIRY_NONE)
			continue;
		st.last_day = d.day;
		day = (long)(now / DAY - T0 / DAY);
		per_day[day]++;
		kind[day] = d.event;
		if (d.event == CC_EXPIRY_EXPIRING) {
			if (d.days != prev_left - 1 && prev_left != 1000)
				nonmonotonic++;
			prev_left = d.days;
		}
	}
	for (day = 0; day < 366; day++) {
		if (day < first && per_day[day] != 0)
			bad_before++;
		if (day >= first && per_day[day] == 0)
			missing++;
		if (per_day[day] > 1)
			doubled++;
		if (day >= first && day < expday && kind[day] != CC_EXPIRY_EXPIRING)
			wrong_kind++;
		if (day > expday && kind[day] != CC_EXPIRY_EXPIRED)
			wrong_kind++;
	}
	CU_ASSERT_EQUAL(bad_before, 0);
	CU_ASSERT_EQUAL(missing, 0);
	CU_ASSERT_EQUAL(doubled, 0);
	CU_ASSERT_EQUAL(wrong_kind, 0);
	CU_ASSERT_EQUAL(nonmonotonic, 0);
	/* The window is 30 days and a part: 31 days with an Expiring event (the expiry day itself
	 * gets Expiring, as its first step comes before NotAfter's time of day). */
	CU_ASSERT_EQUAL(expday - first + 1, 31);
	CU_ASSERT_EQUAL(kind[expday], CC_EXPIRY_EXPIRING);
}

static time_t fake_now;

static time_t
fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

/* The clock in a store: state survives a restart (a new store object), events are logged. */
static void
test_tick_store_restart(void)
{
	char *dir = tu_tmpdir(), *path, *out = NULL;
	size_t outlen = 0;
	struct cc_store *s = NULL;
	struct cc_cert *c = NULL;
	struct cc_log *log = NULL;
	struct cc_new_params p;
	const char *doms[] = {"um1.example.test"};
	char thumb[CC_THUMB_LEN + 1];
	enum cc_expiry_event ev;
	struct cc_expiry_state st;
	FILE *m;
	json_t *j;
	json_error_t jerr;

	CU_ASSERT_FATAL(asprintf(&path, "%s/store", dir) > 0);
	CU_ASSERT_FATAL(cc_store_open(path, CC_STORE_CREATE, &s) == CC_OK);
	memset(&p, 0, sizeof(p));
	p.domains = doms;
	p.ndomains = 1;
	p.key_type = CC_KEY_EC_P256;
	p.services = CC_SVC_UM;
	p.days = 40;
	p.now = T0;
	CU_ASSERT_FATAL(cc_store_new_self_signed(s, &p, thumb) == CC_OK);
	CU_ASSERT_FATAL(cc_store_find(s, thumb, &c) == CC_OK);
	CU_ASSERT_FATAL((m = open_memstream(&out, &outlen)) != NULL);
	CU_ASSERT_FATAL(cc_log_new(CC_LOG_JSON, m, "test", false, &log) == CC_OK);
	cc_log_set_clock(log, fake_clock, NULL);

	fake_now = T0 + 5 * DAY; /* 35 days left: quiet */
	CU_ASSERT_EQUAL(cc_expiry_tick(s, c, "UM", log, fake_now, &ev), CC_OK);
	CU_ASSERT_EQUAL(ev, CC_EXPIRY_NONE);
	fake_now = T0 + 30 * DAY; /* 10 days left */
	CU_ASSERT_EQUAL(cc_expiry_tick(s, c, "UM", log, fake_now, &ev), CC_OK);
	CU_ASSERT_EQUAL(ev, CC_EXPIRY_EXPIRING);
	CU_ASSERT_EQUAL(cc_expiry_tick(s, c, "UM", log, fake_now + 60, &ev), CC_OK);
	CU_ASSERT_EQUAL(ev, CC_EXPIRY_NONE);

	/* Restart: a new store object on the same directory remembers today. */
	cc_store_free(s);
	CU_ASSERT_FATAL(cc_store_open(path, 0, &s) == CC_OK);
	CU_ASSERT_FATAL(cc_store_find(s, thumb, &c) == CC_OK);
	CU_ASSERT_EQUAL(cc_expiry_state_load(s, thumb, &st), CC_OK);
	CU_ASSERT_EQUAL(st.last_day, (T0 + 30 * DAY) / DAY);
	CU_ASSERT_EQUAL(cc_expiry_tick(s, c, "UM", log, fake_now + 3600, &ev), CC_OK);
	CU_ASSERT_EQUAL(ev, CC_EXPIRY_NONE);
	fake_now = T0 + 45 * DAY; /* expired 5 days ago */
	CU_ASSERT_EQUAL(cc_expiry_tick(s, c, "UM", log, fake_now, &ev), CC_OK);
	CU_ASSERT_EQUAL(ev, CC_EXPIRY_EXPIRED);
	fclose(m);

	/* Exactly two lines, each a JSON object with the README's fields. */
	{
		char *nl = strchr(out, '\n');
		CU_ASSERT_FATAL(nl != NULL);
		*nl = '\0';
		j = json_loads(out, 0, &jerr);
		CU_ASSERT_FATAL(j != NULL);
		CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "event_id")), 1010);
		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "event")),
		                       "CertificateExpiring");
		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "level")), "warning");
		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "service")), "UM");
		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "thumbprint")), thumb);
		CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "days_left")), 10);
		CU_ASSERT_PTR_NOT_NULL(json_object_get(j, "not_after"));
		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "time")),
		                       "2026-01-31T00:00:00Z");
		json_decref(j);
		j = json_loads(nl + 1, JSON_DISABLE_EOF_CHECK, &jerr);
		CU_ASSERT_FATAL(j != NULL);
		CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "event_id")), 1011);
		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "event")),
		                       "CertificateExpired");
		CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "days_expired")), 5);
		json_decref(j);
		CU_ASSERT_PTR_NULL(strchr(strchr(nl + 1, '\n') + 1, '\n'));
	}

	/* Removing the certificate removes its state. */
	CU_ASSERT_EQUAL(cc_store_remove(s, thumb), CC_OK);
	CU_ASSERT_EQUAL(cc_expiry_state_load(s, thumb, &st), CC_OK);
	CU_ASSERT_EQUAL(st.last_day, -1);

	cc_log_free(log);
	free(out);
	cc_store_free(s);
	tu_rmrf(dir);
	free(path);
	free(dir);
}

/* A corrupt state record is an error the daemon can report, not a silent repeat. */
static void
test_state_corrupt(void)
{
	char *dir = tu_tmpdir(), *path, *f;
	struct cc_store *s = NULL;
	struct cc_expiry_state st = {42};
	const char *thumb = "0123456789ABCDEF0123456789ABCDEF01234567";

	CU_ASSERT_FATAL(asprintf(&path, "%s/store", dir) > 0);
	CU_ASSERT_FATAL(cc_store_open(path, CC_STORE_CREATE, &s) == CC_OK);
	CU_ASSERT_FATAL(asprintf(&f, "%s/state/expiry-%s.ini", path, thumb) > 0);
	tu_write_file(f, "last_day = tomorrow\n", 20, 0600);
	CU_ASSERT_EQUAL(cc_expiry_state_load(s, thumb, &st), CC_ERR_STATE);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "tomorrow"));
	st.last_day = 20000;
	CU_ASSERT_EQUAL(cc_expiry_state_save(s, thumb, &st), CC_OK);
	st.last_day = 0;
	CU_ASSERT_EQUAL(cc_expiry_state_load(s, thumb, &st), CC_OK);
	CU_ASSERT_EQUAL(st.last_day, 20000);
	CU_ASSERT_EQUAL(cc_expiry_state_load(s, "not-a-thumbprint", &st), CC_ERR_INVAL);
	cc_store_free(s);
	tu_rmrf(dir);
	free(f);
	free(path);
	free(dir);
}

static CU_TestInfo tests[] = {
        {"decide: window boundaries and day counts", test_decide_boundaries},
        {"decide: once per UTC day, clock set back", test_decide_once_a_day},
        {"decide: a simulated year", test_simulated_year},
        {"tick: state in the store survives a restart", test_tick_store_restart},
        {"state: corrupt record reported, round trip", test_state_corrupt},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("expiry", tests);
}
