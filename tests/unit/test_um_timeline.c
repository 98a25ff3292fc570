/* The recording's reorder window (um/src/media/timeline.c). */
#include <string.h>

#include "media/timeline.h"
#include "testutil.h"

static void
frame(int16_t *pcm, size_t n, int16_t v)
{
	size_t i;

	for (i = 0; i < n; i++)
		pcm[i] = v;
}

/* Out of order, one lost: in order out, the loss as zeros, nothing before the window passes. */
static void
test_reorder_and_loss(void)
{
	struct um_timeline *t = NULL;
	int16_t a[160], out[2000];
	size_t n, i;

	CU_ASSERT_EQUAL_FATAL(um_timeline_new(320, &t), UM_OK);
	frame(a, 160, 1);
	CU_ASSERT_EQUAL(um_timeline_put(t, 1000, a, 160), UM_TL_OK);
	frame(a, 160, 3);
	CU_ASSERT_EQUAL(um_timeline_put(t, 1320, a, 160), UM_TL_OK); /* 1160 comes later */
	CU_ASSERT_EQUAL(um_timeline_take(t, out, 2000, false), 160); /* 480 buffered, 320 held */
	frame(a, 160, 2);
	CU_ASSERT_EQUAL(um_timeline_put(t, 1160, a, 160), UM_TL_OK);
	/* 1480 lost; 1640 arrives. */
	frame(a, 160, 5);
	CU_ASSERT_EQUAL(um_timeline_put(t, 1640, a, 160), UM_TL_OK);
	n = um_timeline_take(t, out + 160, 2000 - 160, true);
	CU_ASSERT_EQUAL_FATAL(n, 640);
	for (i = 0; i < 800; i++) {
		int16_t want = i < 160 ? 1 : i < 320 ? 2 : i < 480 ? 3 : i < 640 ? 0 : 5;

		if (out[i] != want) {
			CU_FAIL("sample out of order or loss not silent");
			break;
		}
	}
	um_timeline_free(t);
}

static void
test_late_and_resync(void)
{
	struct um_timeline *t = NULL;
	int16_t a[160], out[9000];

	CU_ASSERT_EQUAL_FATAL(um_timeline_new(160, &t), UM_OK);
	frame(a, 160, 7);
	CU_ASSERT_EQUAL(um_timeline_put(t, 50, a, 160), UM_TL_OK);
	CU_ASSERT_EQUAL(um_timeline_put(t, 210, a, 160), UM_TL_OK);
	CU_ASSERT_EQUAL(um_timeline_take(t, out, 9000, false), 160);
	/* Its place was taken out: late. */
	CU_ASSERT_EQUAL(um_timeline_put(t, 50, a, 160), UM_TL_LATE);
	/* A jump beyond the ring, forward and backward: resync. */
	CU_ASSERT_EQUAL(um_timeline_put(t, 210 + 100000, a, 160), UM_TL_RESYNC);
	CU_ASSERT_EQUAL(um_timeline_put(t, 210 - 100000, a, 160), UM_TL_RESYNC);
	CU_ASSERT_EQUAL(um_timeline_take(t, out, 9000, true), 160);
	um_timeline_restart(t);
	CU_ASSERT_EQUAL(um_timeline_put(t, 210 + 100000, a, 160), UM_TL_OK);
	CU_ASSERT_EQUAL(um_timeline_take(t, out, 9000, true), 160);
	/* Nothing, and an empty packet. */
	CU_ASSERT_EQUAL(um_timeline_take(t, out, 9000, true), 0);
	CU_ASSERT_EQUAL(um_timeline_put(t, 1, a, 0), UM_TL_LATE);
	um_timeline_free(t);
}

/* Timestamps wrap at 2^32 (RFC 3550 section 5.1). */
static void
test_wrap(void)
{
	struct um_timeline *t = NULL;
	int16_t a[160], out[1000];

	CU_ASSERT_EQUAL_FATAL(um_timeline_new(0, &t), UM_OK);
	frame(a, 160, 1);
	CU_ASSERT_EQUAL(um_timeline_put(t, 0xffffffa0u, a, 160), UM_TL_OK);
	CU_ASSERT_EQUAL(um_timeline_put(t, 0x40u, a, 160), UM_TL_OK);
	CU_ASSERT_EQUAL(um_timeline_take(t, out, 1000, false), 320);
	um_timeline_free(t);
}

static void
test_bad_window(void)
{
	struct um_timeline *t = NULL;

	CU_ASSERT_NOT_EQUAL(um_timeline_new(UM_TIMELINE_RING, &t), UM_OK);
	CU_ASSERT_PTR_NULL(t);
}

static CU_TestInfo tests[] = {
        {"reordered packets, a loss as silence", test_reorder_and_loss},
        {"late packets and jumps", test_late_and_resync},
        {"timestamp wrap", test_wrap},
        {"a window too large", test_bad_window},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("um_timeline", tests);
}
