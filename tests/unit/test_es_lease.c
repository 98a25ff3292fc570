/* Leases: the state a replicator reads, holder names, refusals without a round trip (lease.c). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edgesync/lease.h"
#include "testutil.h"

static struct es_subscription *
sub(const char *holder, time_t expiry)
{
	struct es_subscription *s = calloc(1, sizeof(*s));

	s->name = strdup("edge1");
	s->dn = strdup("cn=edge1,cn=Edge Subscriptions,dc=corp,dc=test");
	if (holder != NULL) {
		s->lease_holder = strdup(holder);
		s->lease_expiry_raw = strdup("20261128110000Z");
		s->lease_expiry = expiry;
	}
	return s;
}

static void
test_states(void)
{
	struct es_subscription *s;
	time_t now = 1795863600;

	s = sub(NULL, 0);
	CU_ASSERT_EQUAL(es_lease_state(s, "me", now), ES_LEASE_FREE);
	es_subscription_free(s);
	s = sub("me", now + 10);
	CU_ASSERT_EQUAL(es_lease_state(s, "me", now), ES_LEASE_MINE);
	CU_ASSERT_EQUAL(es_lease_state(s, "other", now), ES_LEASE_OTHER);
	/* at the expiry the lease is over, for everyone */
	CU_ASSERT_EQUAL(es_lease_state(s, "other", now + 10), ES_LEASE_EXPIRED);
	CU_ASSERT_EQUAL(es_lease_state(s, "me", now + 11), ES_LEASE_EXPIRED);
	es_subscription_free(s);
	/* a holder without an expiry is no lease */
	s = sub("me", now + 10);
	free(s->lease_expiry_raw);
	s->lease_expiry_raw = NULL;
	CU_ASSERT_EQUAL(es_lease_state(s, "other", now), ES_LEASE_FREE);
	es_subscription_free(s);
	CU_ASSERT_STRING_EQUAL(es_lease_state_name(ES_LEASE_OTHER), "held");
	CU_ASSERT_STRING_EQUAL(es_lease_state_name(ES_LEASE_FREE), "free");
	CU_ASSERT_STRING_EQUAL(es_lease_state_name(ES_LEASE_MINE), "mine");
	CU_ASSERT_STRING_EQUAL(es_lease_state_name(ES_LEASE_EXPIRED), "expired");
}

static void
test_renew_at_half(void)
{
	struct es_subscription *s;
	time_t now = 1795863600;

	/* a 300 s lease taken at `now`: renewed from 150 s on, not before */
	s = sub("me", now + 300);
	CU_ASSERT_EQUAL(es_lease_renew_at(s, 300), now + 150);
	CU_ASSERT_FALSE(es_lease_should_renew(s, 300, now));
	CU_ASSERT_FALSE(es_lease_should_renew(s, 300, now + 149));
	CU_ASSERT_TRUE(es_lease_should_renew(s, 300, now + 150));
	CU_ASSERT_TRUE(es_lease_should_renew(s, 300, now + 299));
	/* past the expiry it is due all the more */
	CU_ASSERT_TRUE(es_lease_should_renew(s, 300, now + 400));
	/* an odd length: half rounds down, the renewal comes no later than half */
	CU_ASSERT_EQUAL(es_lease_renew_at(s, 7), now + 300 - 3);
	/* a lease shorter than configured (taken with another length) is judged by the
	 * configured one: renewed at once when less than half of that is left */
	es_subscription_free(s);
	s = sub("me", now + 100);
	CU_ASSERT_TRUE(es_lease_should_renew(s, 300, now));
	es_subscription_free(s);
	/* no lease read: the expiry is 0, long past: due */
	s = sub(NULL, 0);
	CU_ASSERT_TRUE(es_lease_should_renew(s, 300, now));
	es_subscription_free(s);
}

static void
test_holder_names(void)
{
	char *a = NULL, *b = NULL, pid[32];

	CU_ASSERT_EQUAL_FATAL(es_lease_holder_name(&a), ES_OK);
	CU_ASSERT_EQUAL_FATAL(es_lease_holder_name(&b), ES_OK);
	snprintf(pid, sizeof(pid), "/%ld/", (long)getpid());
	CU_ASSERT_PTR_NOT_NULL(strstr(a, pid));
	CU_ASSERT_EQUAL(strlen(strrchr(a, '/') + 1), 8);
	/* a restarted process with the same pid is another holder */
	CU_ASSERT_STRING_NOT_EQUAL(a, b);
	free(a);
	free(b);
}

static void
test_held_by_other_needs_no_round_trip(void)
{
	struct es_subscription *s = sub("vm/1/aaaaaaaa", time(NULL) + 60);

	/* no connection is used: the lease is refused from what was read */
	CU_ASSERT_EQUAL(es_lease_acquire(NULL, s, "vm/2/bbbbbbbb", 300, time(NULL), NULL),
	                ES_ERR_LEASE_HELD);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "lease held by vm/1/aaaaaaaa until"));
	CU_ASSERT_STRING_EQUAL(s->lease_holder, "vm/1/aaaaaaaa");
	/* releasing a lease that is not ours writes nothing */
	CU_ASSERT_EQUAL(es_lease_release(NULL, s, "vm/2/bbbbbbbb"), ES_OK);
	CU_ASSERT_STRING_EQUAL(s->lease_holder, "vm/1/aaaaaaaa");
	es_subscription_free(s);
	s = sub(NULL, 0);
	CU_ASSERT_EQUAL(es_lease_release(NULL, s, "vm/2/bbbbbbbb"), ES_OK);
	es_subscription_free(s);
}

int
main(void)
{
	CU_TestInfo tests[] = {
	        {"lease states", test_states},
	        {"renewal at half the lease", test_renew_at_half},
	        {"holder names", test_holder_names},
	        {"a held lease is refused without a round trip",
	         test_held_by_other_needs_no_round_trip},
	        CU_TEST_INFO_NULL,
	};
	return tu_run("es_lease", tests);
}
