/*
 * certcore/src/keyproc.c: a key process's framing, with a real forked process whose handler
 * echoes a request back, or refuses one that starts with "no". One request gets one reply; a
 * refusal's reason comes back as the detail; a request longer than the holder's maximum is
 * refused unread and the holder goes on; an answer larger than the caller's room is an error;
 * a killed holder makes the next call CC_ERR_IO and is then gone, and ended says how; a holder
 * stopped by closing its end exits 0.
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "certcore/keyproc.h"
#include "testutil.h"

#define MAX 64

static void
echo(void *arg, const unsigned char *req, size_t len, struct cc_keyproc_reply *rep)
{
	(void)arg;
	if (len >= 2 && memcmp(req, "no", 2) == 0)
		cc_keyproc_reply_fail(rep, "test holder", "refused", "as asked");
	else
		cc_keyproc_reply_ok(rep, req, len);
}

static int
serve(int fd, void *arg)
{
	(void)arg;
	return cc_keyproc_serve(fd, MAX, echo, NULL, NULL);
}

static void
test_call_and_refusals(void)
{
	struct cc_keyproc *kp = NULL;
	char out[MAX + 1], big[MAX + 1];
	size_t n = sizeof(out);

	CU_ASSERT_FATAL(cc_keyproc_start("test-keys", 10, serve, NULL, &kp) == CC_OK);
	CU_ASSERT_EQUAL(cc_keyproc_call(kp, "hello ", 6, "world", 5, out, &n), CC_OK);
	CU_ASSERT_EQUAL(n, 11);
	CU_ASSERT_EQUAL(memcmp(out, "hello world", 11), 0);
	CU_ASSERT_EQUAL(cc_keyproc_call(kp, "no thanks", 9, NULL, 0, out, &n), CC_ERR_CRYPTO);
	CU_ASSERT_STRING_EQUAL(cc_errdetail(), "test holder: refused: as asked");
	memset(big, 'a', sizeof(big));
	n = sizeof(out);
	CU_ASSERT_EQUAL(cc_keyproc_call(kp, big, sizeof(big), NULL, 0, out, &n), CC_ERR_CRYPTO);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "request too long"));
	n = 3; /* room for less than the answer */
	CU_ASSERT_EQUAL(cc_keyproc_call(kp, "four", 4, NULL, 0, out, &n), CC_ERR_LIMIT);
	CU_ASSERT_FALSE(cc_keyproc_gone(kp));
	n = sizeof(out);
	CU_ASSERT_EQUAL(cc_keyproc_call(kp, "still", 5, NULL, 0, out, &n), CC_OK);
	cc_keyproc_stop(kp);
}

static void
test_killed(void)
{
	struct cc_keyproc *kp = NULL;
	char out[MAX], why[64] = "";
	size_t n = sizeof(out);
	int i;

	CU_ASSERT_FATAL(cc_keyproc_start("test-keys", 10, serve, NULL, &kp) == CC_OK);
	CU_ASSERT_FALSE(cc_keyproc_ended(kp, why, sizeof(why)));
	CU_ASSERT_EQUAL_FATAL(kill(cc_keyproc_pid(kp), SIGKILL), 0);
	/* the call finds it gone before, or without, a reap */
	CU_ASSERT_EQUAL(cc_keyproc_call(kp, "x", 1, NULL, 0, out, &n), CC_ERR_IO);
	CU_ASSERT_TRUE(cc_keyproc_gone(kp));
	for (i = 0; i < 500 && !cc_keyproc_ended(kp, why, sizeof(why)); i++)
		usleep(10000);
	CU_ASSERT_STRING_EQUAL(why, "killed by signal 9");
	CU_ASSERT_EQUAL(cc_keyproc_call(kp, "x", 1, NULL, 0, out, &n), CC_ERR_IO);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "is gone"));
	cc_keyproc_stop(kp);
}

static void
test_orderly_end(void)
{
	struct cc_keyproc *kp = NULL;
	char out[MAX], why[64] = "";
	size_t n = sizeof(out);
	int i;

	CU_ASSERT_FATAL(cc_keyproc_start("test-keys", 10, serve, NULL, &kp) == CC_OK);
	/* an answer: the holder is past its signal set-up (a SIGTERM before it would kill it) */
	CU_ASSERT_EQUAL_FATAL(cc_keyproc_call(kp, "up", 2, NULL, 0, out, &n), CC_OK);
	/* a second one, stopped: closing its end makes it exit 0 */
	{
		struct cc_keyproc *k2 = NULL;

		CU_ASSERT_FATAL(cc_keyproc_start("test-keys", 10, serve, NULL, &k2) == CC_OK);
		cc_keyproc_stop(k2);
	}
	CU_ASSERT_EQUAL_FATAL(kill(cc_keyproc_pid(kp), SIGTERM), 0); /* ignored by the holder */
	for (i = 0; i < 20 && !cc_keyproc_ended(kp, why, sizeof(why)); i++)
		usleep(10000);
	CU_ASSERT_STRING_EQUAL(why, "");
	cc_keyproc_stop(kp);
}

static CU_TestInfo tests[] = {
        {"one request, one reply; refusals, too long, no room", test_call_and_refusals},
        {"a killed holder: CC_ERR_IO, gone, and how it ended", test_killed},
        {"SIGTERM is ignored; closing the socket ends it", test_orderly_end},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("keyproc", tests);
}
