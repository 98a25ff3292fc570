/* The reorder window of a recording (timeline.h). */
#include <stdlib.h>
#include <string.h>

#include "timeline.h"

struct um_timeline {
	int16_t ring[UM_TIMELINE_RING];
	size_t head;   /* ring index of `base` */
	uint32_t base; /* timestamp of the next sample to take out */
	uint32_t high; /* one past the newest sample placed */
	size_t window; /* held back for reordering */
	bool started;
};

enum um_err
um_timeline_new(size_t window, struct um_timeline **out)
{
	struct um_timeline *t;

	*out = NULL;
	if (window > UM_TIMELINE_RING / 2)
		return um_seterr(UM_ERR_INVAL, "reorder window of %zu samples: at most %d", window,
		                 UM_TIMELINE_RING / 2);
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return um_seterr(UM_ERR_NOMEM, "timeline");
	t->window = window;
	*out = t;
	return UM_OK;
}

void
um_timeline_free(struct um_timeline *t)
{
	free(t);
}

void
um_timeline_restart(struct um_timeline *t)
{
	memset(t->ring, 0, sizeof(t->ring));
	t->head = 0;
	t->started = false;
}

enum um_timeline_put
um_timeline_put(struct um_timeline *t, uint32_t ts, const int16_t *pcm, size_t n)
{
	int64_t d;
	size_t i, pos;

	if (n == 0 || n > UM_TIMELINE_RING / 2)
		return UM_TL_LATE;
	if (!t->started) {
		t->started = true;
		t->base = t->high = ts;
	}
	/* Serial arithmetic on 32-bit timestamps (RFC 3550 section 5.1: they wrap). */
	d = (int32_t)(ts - t->base);
	if (d < 0)
		return d > -(int64_t)UM_TIMELINE_RING ? UM_TL_LATE : UM_TL_RESYNC;
	if (d + (int64_t)n > UM_TIMELINE_RING)
		return UM_TL_RESYNC;
	pos = (t->head + (size_t)d) % UM_TIMELINE_RING;
	for (i = 0; i < n; i++)
		t->ring[(pos + i) % UM_TIMELINE_RING] = pcm[i];
	if ((int32_t)(ts + (uint32_t)n - t->high) > 0)
		t->high = ts + (uint32_t)n;
	return UM_TL_OK;
}

size_t
um_timeline_take(struct um_timeline *t, int16_t *out, size_t max, bool all)
{
	size_t avail, k, i;

	if (!t->started)
		return 0;
	avail = (uint32_t)(t->high - t->base);
	if (!all)
		avail = avail > t->window ? avail - t->window : 0;
	k = avail < max ? avail : max;
	for (i = 0; i < k; i++) {
		out[i] = t->ring[t->head];
		t->ring[t->head] = 0;
		t->head = (t->head + 1) % UM_TIMELINE_RING;
	}
	t->base += (uint32_t)k;
	return k;
}
