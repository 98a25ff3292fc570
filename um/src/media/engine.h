/*
 * umd's media engine: one thread of its own, with its own event loop (epoll), that carries the
 * RTP or SRTP of every call — the greeting and the beep out, the caller's voice in, through a
 * reorder window into the voice-message spool — so that SIP work never delays a packet, and the
 * spool's own writer thread keeps the disk away from both.
 *
 * The SIP thread talks to it with commands (um_media_open, _begin, _update, _end) and reads
 * what it reports from a queue whose descriptor (um_media_event_fd) it watches in its own loop.
 * Calls are named by the 64-bit id um_media_open gave. Keys cross as copies and are wiped on
 * both sides once used.
 */
#ifndef UM_MEDIA_ENGINE_H
#define UM_MEDIA_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "certcore/log.h"
#include "error.h"
#include "media/greetings.h"
#include "metrics.h"
#include "sdp_check.h"
#include "voicemail/spool.h"

struct um_media_config {
	const char *address;    /* the address media sockets bind to (and SDP names) */
	int port_min, port_max; /* even RTP ports and the odd RTCP ports after them */
	bool latching;          /* answer to the source of the first authenticated packet */
	bool secure;   /* a secure mode: never latch on a packet that did not authenticate */
	int max_calls; /* calls with media at once */
	int max_message_seconds; /* then an end tone, and umd hangs up */
	int silence_seconds;     /* this long without voice ends the message */
	struct um_spool *spool;  /* borrowed; outlives the engine */
};

/* Why a call's media ended, or ends (the CallEnded reason, the BYE umd sends). */
enum um_media_end {
	UM_END_HANGUP,   /* the gateway hung up (BYE, CANCEL) */
	UM_END_DTMF,     /* '#': the caller finished the message */
	UM_END_SILENCE,  /* silence_seconds of silence */
	UM_END_MAX,      /* max_message_seconds reached */
	UM_END_SHUTDOWN, /* umd stops */
	UM_END_ERROR,    /* the media failed (see the event's text) */
};
const char *um_media_end_name(enum um_media_end e);

enum um_media_event_kind {
	UM_MEV_HANGUP,     /* the media ended the call: umd sends BYE (reason in `end`) */
	UM_MEV_RECORDED,   /* a message is in spool/new/ (or failed: `error`) */
	UM_MEV_NO_MESSAGE, /* the caller hung up before the beep: nothing recorded */
	UM_MEV_SECURITY,   /* packets dropped (MediaSecurityFailure; rate-limited per call) */
};

struct um_media_event {
	uint64_t call;
	enum um_media_event_kind kind;
	enum um_media_end end;
	char msg_id[UM_SPOOL_ID_MAX + 1];
	char call_id[256]; /* the SIP Call-ID */
	char from[256], to[256];
	double seconds;
	bool truncated;
	char reason[160]; /* SECURITY: authentication, replay, source address; RECORDED: error */
	unsigned long long count;
};

struct um_media;

/*
 * Starts the engine thread. `log` and `metrics` are borrowed, and used from the engine's
 * thread (cc_log is line-atomic).
 */
enum um_err um_media_start(const struct um_media_config *cfg, struct cc_log *log,
                           struct um_metrics *metrics, struct um_media **out) UM_WUR;
/*
 * Ends every call (recordings under way are committed, truncated), stops the thread and waits
 * until the spool has reported every message handed to it; the events stay queued for
 * um_media_events. Idempotent.
 */
void um_media_quiesce(struct um_media *m);
/* um_media_quiesce, then frees the engine (events not taken are lost). NULL: no-op. */
void um_media_stop(struct um_media *m);

/* Readable (an eventfd) while events wait; for the SIP thread's loop. */
int um_media_event_fd(const struct um_media *m);
/* Takes up to `max` waiting events. */
size_t um_media_events(struct um_media *m, struct um_media_event *ev, size_t max);

/*
 * A new call's ports: binds an RTP (even) and RTCP (odd) port of media_ports on the caller's
 * thread, so the SDP answer can name them. UM_ERR_BUSY when max_calls calls have media or no
 * port pair is free (the caller answers 503). Until um_media_begin, um_media_end releases it.
 */
enum um_err um_media_open(struct um_media *m, uint64_t *call, int *port) UM_WUR;

/*
 * The call's media starts: `p` (copied; the caller wipes its own), the greeting (a reference is
 * taken), and what the message's metadata will say (copied).
 */
enum um_err um_media_begin(struct um_media *m, uint64_t call, const struct um_media_params *p,
                           struct um_greeting *greeting, const struct um_spool_meta *meta) UM_WUR;

/* A re-INVITE's new session (hold, new key, new address): the recording goes on. */
enum um_err um_media_update(struct um_media *m, uint64_t call,
                            const struct um_media_params *p) UM_WUR;

/* The call is over for SIP: the recording (if the beep was played) is committed. */
void um_media_end(struct um_media *m, uint64_t call, enum um_media_end why);

#endif
