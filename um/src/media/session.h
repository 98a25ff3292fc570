/*
 * One call's media, on the engine's thread (engine.c owns the sessions and their sockets'
 * registration; this file owns what happens to packets and time within a call): the player
 * (greeting, beep, end tone, then silence), the receiver (source check, SRTP, RTP, statistics,
 * RFC 4733 and in-band DTMF, silence), the recorder (reorder window into the spool) and RTCP.
 * Private to media/.
 */
#ifndef UM_MEDIA_SESSION_H
#define UM_MEDIA_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "media/engine.h"

struct um_srtp;
struct um_timeline;
struct session;

/* A message's metadata, copied (struct um_spool_meta's strings, bounded). */
struct session_meta {
	char call_id[256], from[256], to[256], gateway[128], media[32], thumbprint[64];
	time_t started;
};

/* Copies `m` (NULL strings become ""; media "RTP" when none). */
void session_meta_set(struct session_meta *d, const struct um_spool_meta *m);

/* What the session needs of the engine (engine.c fills it; shared by every session). */
struct session_env {
	const struct um_media_config *cfg;
	struct cc_log *log;
	struct um_metrics *metrics;
	const struct um_audio *beep, *end_tone;
	bool secure; /* a secure mode: never latch on a packet that did not authenticate */
	/* Reports an event (the engine queues it for the SIP thread). */
	void (*emit)(void *arg, const struct um_media_event *ev);
	/* A recording was handed to the spool: its completion reports through emit later. */
	void (*recording_started)(void *arg);
	void (*recording_done)(void *arg);
	void *arg;
};

/* Which socket of a session an epoll event is for. */
struct session_sock {
	struct session *s;
	bool rtcp;
};

struct session {
	uint64_t id;
	const struct session_env *env;
	int rtp_fd, rtcp_fd, port;
	struct session_sock rtp_ref, rtcp_ref;
	bool begun; /* um_media_begin arrived: media flows */
	bool dead;  /* released: freed once the engine's current batch of events is done */
	struct session *next_dead;
	size_t heap_idx; /* its place in the engine's timer heap; SIZE_MAX: not in it */
	uint64_t wake;   /* when session_tick wants to run next (ns) */
	bool done;       /* ended: nothing sent or recorded any more */

	struct um_media_params p; /* a copy; wiped when the session ends */
	struct um_srtp *srtp;
	struct sockaddr_storage peer_rtp, peer_rtcp; /* where umd sends, and whose packets count */
	bool latched;

	/* Player. */
	enum { PLAY_GREETING, PLAY_BEEP, PLAY_RECORD, PLAY_END_TONE } phase;
	struct um_greeting *greeting;
	const struct um_audio *playing; /* greeting, beep or end tone; NULL: silence */
	size_t play_pos;
	uint32_t tx_ssrc, tx_ts;
	uint16_t tx_seq;
	bool tx_first;
	uint64_t next_send; /* CLOCK_MONOTONIC ns */
	unsigned long long tx_packets, tx_octets;

	/* Receiver (RFC 3550 appendix A.1, A.3, A.8). */
	bool rx_started;
	uint32_t rx_ssrc;
	uint16_t max_seq;
	uint32_t cycles, base_seq;
	unsigned long long received, expected_prior, received_prior, lost_reported;
	double jitter;
	int64_t last_transit;
	bool transit_set;
	uint32_t last_event_ts;
	bool event_seen;
	uint64_t last_voice; /* ns: the last packet with voice, or the start of the message */
	void *dtmf;          /* spandsp's in-band DTMF receiver, when no telephone-event */
	bool hash_heard;

	/* Recorder. */
	struct um_timeline *tl;
	struct um_recording *rec;
	uint64_t rec_start; /* ns */
	unsigned long long rec_samples;
	bool rec_failed;

	/* RTCP. */
	uint64_t next_rtcp;

	/* MediaSecurityFailure, rate-limited: per reason, the count and when it was last told. */
	unsigned long long sec_count[3], sec_told[3];
	uint64_t sec_last[3];

	struct session_meta meta; /* the message's */
};

/* Binds the call's sockets (port pair `port`, `port` + 1). */
enum um_err session_new(const struct session_env *env, uint64_t id, int port,
                        struct session **out) UM_WUR;
/* Starts media: the parameters and greeting are taken over (the caller's copy is left). */
enum um_err session_begin(struct session *s, const struct um_media_params *p,
                          struct um_greeting *greeting, const struct session_meta *meta,
                          uint64_t now) UM_WUR;
enum um_err session_update(struct session *s, const struct um_media_params *p) UM_WUR;
/* Datagrams waiting on one of its sockets. */
void session_readable(struct session *s, bool rtcp, uint64_t now);
/*
 * Sends what is due (frames due within `slack` too) and checks the timers against `now`;
 * returns when it wants to run next (ns).
 */
uint64_t session_tick(struct session *s, uint64_t now, uint64_t slack);
/* The media ends the call itself: session_end, then the SIP thread is asked to send BYE. */
void session_hang_up(struct session *s, enum um_media_end why, uint64_t now);
/* Ends the call's media (commits or drops the recording). Idempotent. */
void session_end(struct session *s, enum um_media_end why, uint64_t now);
/* Closes its sockets and frees it (after session_end). */
void session_free(struct session *s);

uint64_t session_now(void);

#endif
