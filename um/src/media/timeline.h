/*
 * The order of a recording: 8 kHz samples placed by their RTP timestamps through a small
 * reorder window, taken out in order once they are older than the window. Where no packet
 * came, the samples are zero: a lost packet becomes silence of its length, so a message lasts
 * as long as the caller spoke. A packet whose place was already taken out is late (dropped); a
 * jump beyond the buffer (a new SSRC, a gateway's timestamp reset) restarts the timeline at the
 * new timestamp after what is buffered is taken out, so no silence is invented for the jump.
 *
 * One per call, used by the media thread only. No allocation after um_timeline_new.
 */
#ifndef UM_MEDIA_TIMELINE_H
#define UM_MEDIA_TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define UM_TIMELINE_RING 8192 /* samples buffered at most: about one second */

enum um_timeline_put {
	UM_TL_OK,
	UM_TL_LATE,   /* its place was taken out already: dropped */
	UM_TL_RESYNC, /* too far from the window: take everything out, then um_timeline_restart */
};

struct um_timeline;

/* `window` samples are held back for reordering (e.g. 480: 60 ms); at most RING/2. */
enum um_err um_timeline_new(size_t window, struct um_timeline **out) UM_WUR;
void um_timeline_free(struct um_timeline *t);

/* Places `n` samples at timestamp `ts`. The first packet (or the first after a restart)
 * starts the timeline. */
enum um_timeline_put um_timeline_put(struct um_timeline *t, uint32_t ts, const int16_t *pcm,
                                     size_t n);

/*
 * Takes out, in order, up to `max` samples older than the window (all of them with `all`, at
 * the end of a call or before a restart) into `out`; returns how many.
 */
size_t um_timeline_take(struct um_timeline *t, int16_t *out, size_t max, bool all);

/* Forgets the position: the next um_timeline_put starts anew (nothing buffered is lost only if
 * taken out first). */
void um_timeline_restart(struct um_timeline *t);

#endif
