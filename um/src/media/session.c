/* One call's media (session.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <spandsp.h>

#include "certcore/events.h"
#include "media/rtp.h"
#include "media/session.h"
#include "media/srtp.h"
#include "media/timeline.h"

#define NS             1000000000ULL
#define MS             1000000ULL
#define RATE           8000
#define MAX_FRAME      480       /* samples of the longest packet umd takes: 60 ms */
#define PKT_MAX        1500      /* bytes: a datagram larger than this is not umd's media */
#define REORDER        480       /* samples held back for reordering: 60 ms */
#define RTCP_INTERVAL  (5 * NS)  /* RFC 3550 section 6.2: 5 s minimum for a two-party call */
#define SEC_REPORT_GAP (10 * NS) /* MediaSecurityFailure: at most one per reason per 10 s */
#define VOICE_RMS      300       /* mean square root above this: voice, not silence (-40 dBFS) */
#define BURST          64 /* datagrams read per readiness, so one call cannot starve the rest */

enum sec_reason { SEC_AUTH, SEC_REPLAY, SEC_SOURCE };
static const char *const sec_names[] = {"authentication", "replay", "source address"};

uint64_t
session_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static socklen_t
sa_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

/* The same address and port. */
static bool
same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;
	const struct sockaddr_in6 *a6 = (const void *)a, *b6 = (const void *)b;

	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return a4->sin_port == b4->sin_port && a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return a6->sin6_port == b6->sin6_port &&
		       memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr)) == 0;
	return false;
}

/* An address umd can send to (not the unspecified one of a hold, RFC 3264 section 8.4). */
static bool
sendable(const struct sockaddr_storage *a)
{
	const struct sockaddr_in *a4 = (const void *)a;
	const struct sockaddr_in6 *a6 = (const void *)a;

	if (a->ss_family == AF_INET)
		return a4->sin_addr.s_addr != INADDR_ANY && a4->sin_port != 0;
	if (a->ss_family == AF_INET6)
		return !IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr) && a6->sin6_port != 0;
	return false;
}

static void
emit(struct session *s, struct um_media_event *ev)
{
	ev->call = s->id;
	snprintf(ev->call_id, sizeof(ev->call_id), "%s", s->meta.call_id);
	snprintf(ev->from, sizeof(ev->from), "%s", s->meta.from);
	snprintf(ev->to, sizeof(ev->to), "%s", s->meta.to);
	s->env->emit(s->env->arg, ev);
}

/* A dropped packet: counted, and told as MediaSecurityFailure at most once per reason per 10 s. */
static void
security(struct session *s, enum sec_reason why, uint64_t now)
{
	struct um_media_event ev;
	static const enum um_media_counter counter[] = {UM_MC_SRTP_AUTH, UM_MC_SRTP_REPLAY,
	                                                UM_MC_SOURCE};

	um_metrics_media(s->env->metrics, counter[why], 1);
	s->sec_count[why]++;
	if (s->sec_last[why] != 0 && now - s->sec_last[why] < SEC_REPORT_GAP)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.kind = UM_MEV_SECURITY;
	snprintf(ev.reason, sizeof(ev.reason), "%s", sec_names[why]);
	ev.count = s->sec_count[why] - s->sec_told[why];
	s->sec_told[why] = s->sec_count[why];
	s->sec_last[why] = now;
	emit(s, &ev);
}

static int
open_socket(const char *addr, int port, int *fd)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *a4 = (void *)&ss;
	struct sockaddr_in6 *a6 = (void *)&ss;
	int tos = IPTOS_DSCP_EF; /* RFC 4594: telephony is Expedited Forwarding */

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
	} else if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
	} else {
		errno = EINVAL;
		return -1;
	}
	if ((*fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (ss.ss_family == AF_INET)
		(void)setsockopt(*fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos));
	else
		(void)setsockopt(*fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof(tos));
	if (bind(*fd, (struct sockaddr *)&ss, sa_len(&ss)) != 0) {
		int saved = errno;

		close(*fd);
		*fd = -1;
		errno = saved;
		return -1;
	}
	return 0;
}

enum um_err
session_new(const struct session_env *env, uint64_t id, int port, struct session **out)
{
	struct session *s;
	enum um_err r;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return um_seterr(UM_ERR_NOMEM, "media session");
	s->env = env;
	s->id = id;
	s->port = port;
	s->rtp_fd = s->rtcp_fd = -1;
	s->rtp_ref.s = s->rtcp_ref.s = s;
	s->rtcp_ref.rtcp = true;
	s->heap_idx = SIZE_MAX;
	if (open_socket(env->cfg->address, port, &s->rtp_fd) != 0 ||
	    open_socket(env->cfg->address, port + 1, &s->rtcp_fd) != 0) {
		r = um_seterr(UM_ERR_BUSY, "media ports %d and %d on %s: %s", port, port + 1,
		              env->cfg->address, strerror(errno));
		session_free(s);
		return r;
	}
	*out = s;
	return UM_OK;
}

static void
dtmf_digits(void *arg, const char *digits, int len)
{
	struct session *s = arg;

	if (len > 0 && memchr(digits, '#', (size_t)len) != NULL)
		s->hash_heard = true;
}

static enum um_err
take_params(struct session *s, const struct um_media_params *p)
{
	struct um_srtp *srtp = NULL;
	enum um_err r;
	bool same_keys = s->srtp != NULL && p->suite == s->p.suite &&
	                 p->local.key_len == s->p.local.key_len &&
	                 CRYPTO_memcmp(p->local.key, s->p.local.key, p->local.key_len) == 0 &&
	                 p->remote.key_len == s->p.remote.key_len &&
	                 CRYPTO_memcmp(p->remote.key, s->p.remote.key, p->remote.key_len) == 0;

	/*
	 * A re-offer that keeps both keys keeps the contexts: a new context for the same key would
	 * start its rollover counter again while the sequence numbers go on, and SRTP must never
	 * use a key's keystream twice (RFC 3711 section 9.1).
	 */
	if (!same_keys) {
		if (p->suite != UM_SRTP_NONE &&
		    (r = um_srtp_new(&p->local, &p->remote, &srtp)) != UM_OK)
			return r;
		um_srtp_free(s->srtp);
		s->srtp = srtp;
	}
	um_media_params_wipe(&s->p);
	s->p = *p;
	/* A new offer names the address whose packets count; a hold's 0.0.0.0 keeps the old. */
	if (sendable(&p->remote_rtp) || !sendable(&s->peer_rtp)) {
		s->peer_rtp = p->remote_rtp;
		s->peer_rtcp = p->rtcp_mux ? p->remote_rtp : p->remote_rtcp;
		s->latched = false;
	}
	if (p->te_pt < 0 && s->dtmf == NULL)
		s->dtmf = dtmf_rx_init(NULL, dtmf_digits, s);
	return UM_OK;
}

void
session_meta_set(struct session_meta *d, const struct um_spool_meta *m)
{
	snprintf(d->call_id, sizeof(d->call_id), "%s", m->call_id ? m->call_id : "");
	snprintf(d->from, sizeof(d->from), "%s", m->from ? m->from : "");
	snprintf(d->to, sizeof(d->to), "%s", m->to ? m->to : "");
	snprintf(d->gateway, sizeof(d->gateway), "%s", m->gateway ? m->gateway : "");
	snprintf(d->media, sizeof(d->media), "%s", m->media ? m->media : "RTP");
	snprintf(d->thumbprint, sizeof(d->thumbprint), "%s",
	         m->um_thumbprint ? m->um_thumbprint : "");
	d->started = m->started;
}

enum um_err
session_begin(struct session *s, const struct um_media_params *p, struct um_greeting *greeting,
              const struct session_meta *m, uint64_t now)
{
	enum um_err r;

	if ((r = take_params(s, p)) != UM_OK)
		return r;
	if ((r = um_timeline_new(REORDER, &s->tl)) != UM_OK)
		return r;
	if (RAND_bytes((unsigned char *)&s->tx_ssrc, sizeof(s->tx_ssrc)) != 1 ||
	    RAND_bytes((unsigned char *)&s->tx_seq, sizeof(s->tx_seq)) != 1 ||
	    RAND_bytes((unsigned char *)&s->tx_ts, sizeof(s->tx_ts)) != 1)
		return um_seterr(UM_ERR_MEDIA, "no randomness for RTP's SSRC, sequence, timestamp");
	s->tx_seq &= 0x7fff; /* RFC 3550 section 5.1: random, and far from wrapping at once */
	s->greeting = greeting;
	s->playing = greeting ? um_greeting_audio(greeting) : s->env->beep;
	s->phase = greeting ? PLAY_GREETING : PLAY_BEEP; /* no greeting: the beep at once */
	s->tx_first = true;
	s->next_send = now;
	s->next_rtcp = now + RTCP_INTERVAL;
	s->last_voice = now;
	s->meta = *m;
	s->begun = true;
	return UM_OK;
}

enum um_err
session_update(struct session *s, const struct um_media_params *p)
{
	return take_params(s, p);
}

/* --- the recorder ------------------------------------------------------------------------- */

/* A message handed to the spool, until its writer says it is committed. */
struct pending {
	struct um_media_event ev;
	const struct session_env *env;
};

static void
record_done(void *arg, const char *id, double seconds, const char *error)
{
	struct pending *pd = arg;
	struct um_media_event *ev = &pd->ev;
	const struct session_env *env = pd->env;

	/* The spool's writer thread: the event was filled in when the message was finished. */
	snprintf(ev->msg_id, sizeof(ev->msg_id), "%s", id ? id : "");
	ev->seconds = seconds;
	if (error != NULL)
		snprintf(ev->reason, sizeof(ev->reason), "%s", error);
	else
		um_metrics_media(env->metrics, UM_MC_MESSAGES, 1);
	env->emit(env->arg, ev);
	env->recording_done(env->arg);
	free(pd);
}

static void
feed(struct session *s, const int16_t *pcm, size_t n)
{
	if (n == 0 || s->rec == NULL)
		return;
	if (s->dtmf != NULL)
		dtmf_rx(s->dtmf, pcm, (int)n);
	s->rec_samples += n;
	/*
	 * A refused write is samples the spool dropped (its writer far behind, or the disk
	 * failing): counted there and the message marked truncated; the rest is still written.
	 * Logged once a message.
	 */
	if (um_recording_write(s->rec, pcm, n) != UM_OK && !s->rec_failed) {
		s->rec_failed = true;
		cc_log_message(s->env->log, CC_LOG_ERROR, "call %s: recording: %s", s->meta.call_id,
		               um_errdetail());
	}
}

static void
drain(struct session *s, bool all)
{
	int16_t buf[1024];
	size_t n;

	while ((n = um_timeline_take(s->tl, buf, sizeof(buf) / sizeof(buf[0]), all)) > 0)
		feed(s, buf, n);
}

static void
record_start(struct session *s, uint64_t now)
{
	struct um_spool_meta m = {.call_id = s->meta.call_id,
	                          .from = s->meta.from,
	                          .to = s->meta.to,
	                          .gateway = s->meta.gateway,
	                          .media = s->meta.media,
	                          .um_thumbprint =
	                                  s->meta.thumbprint[0] ? s->meta.thumbprint : NULL,
	                          .started = s->meta.started};

	s->phase = PLAY_RECORD;
	s->playing = NULL;
	s->rec_start = now;
	s->last_voice = now;
	um_timeline_restart(s->tl);
	if (um_spool_begin(s->env->cfg->spool, &m, &s->rec) != UM_OK) {
		s->rec = NULL;
		cc_log_message(s->env->log, CC_LOG_ERROR, "call %s: no voice message: %s",
		               s->meta.call_id, um_errdetail());
	}
}

/* Commits (or, before the beep, drops) the message. */
static void
record_stop(struct session *s, bool truncated)
{
	struct pending *pd;
	struct um_media_event *ev;
	const struct session_env *env = s->env;

	if (s->rec == NULL)
		return;
	drain(s, true);
	if ((pd = calloc(1, sizeof(*pd))) == NULL) {
		/* Nothing to report with: the message is still committed. */
		um_recording_finish(s->rec, truncated, NULL, NULL);
		s->rec = NULL;
		return;
	}
	pd->env = env;
	ev = &pd->ev;
	ev->call = s->id;
	ev->kind = UM_MEV_RECORDED;
	ev->truncated = truncated;
	snprintf(ev->call_id, sizeof(ev->call_id), "%s", s->meta.call_id);
	snprintf(ev->from, sizeof(ev->from), "%s", s->meta.from);
	snprintf(ev->to, sizeof(ev->to), "%s", s->meta.to);
	um_metrics_media(env->metrics, UM_MC_RECORDED_MS, s->rec_samples / (RATE / 1000));
	env->recording_started(env->arg);
	um_recording_finish(s->rec, truncated, record_done, pd);
	s->rec = NULL;
}

/* --- the receiver ------------------------------------------------------------------------- */

/* RFC 3550 appendix A.1: the extended sequence number and the probation-free variant. */
static void
rx_seq(struct session *s, const struct um_rtp *h)
{
	uint16_t delta;

	if (!s->rx_started || h->ssrc != s->rx_ssrc) {
		if (s->rx_started) {
			/* A new source mid-call (a gateway's restart, a transfer): a new stream. */
			drain(s, true);
			um_timeline_restart(s->tl);
		}
		s->rx_started = true;
		s->rx_ssrc = h->ssrc;
		s->base_seq = h->seq;
		s->max_seq = h->seq;
		s->cycles = 0;
		s->received = s->expected_prior = s->received_prior = s->lost_reported = 0;
		s->transit_set = false;
		s->event_seen = false;
	}
	delta = (uint16_t)(h->seq - s->max_seq);
	if (delta < 3000) {
		if (h->seq < s->max_seq)
			s->cycles += 65536;
		s->max_seq = h->seq;
	}
	s->received++;
}

static unsigned long long
rx_expected(const struct session *s)
{
	return (unsigned long long)(s->cycles + s->max_seq) - s->base_seq + 1;
}

/* RFC 3550 appendix A.8: interarrival jitter, in timestamp units. */
static void
rx_jitter(struct session *s, uint32_t ts, uint64_t now)
{
	int64_t arrival = (int64_t)(now / (NS / RATE)), transit = arrival - (int64_t)ts, d;

	if (s->transit_set) {
		d = transit - s->last_transit;
		if (d < 0)
			d = -d;
		s->jitter += ((double)d - s->jitter) / 16.0;
	}
	s->last_transit = transit;
	s->transit_set = true;
}

static bool
is_voice(const int16_t *pcm, size_t n)
{
	double sum = 0;
	size_t i;

	for (i = 0; i < n; i++)
		sum += (double)pcm[i] * pcm[i];
	return n > 0 && sum / (double)n > (double)VOICE_RMS * VOICE_RMS;
}

static void
rx_audio(struct session *s, const struct um_rtp *h, uint64_t now)
{
	int16_t pcm[MAX_FRAME];
	size_t n = h->payload_len, i;
	enum um_timeline_put put;

	if (n == 0 || n > MAX_FRAME)
		return;
	for (i = 0; i < n; i++)
		pcm[i] = h->pt == 0 ? ulaw_to_linear(h->payload[i]) : alaw_to_linear(h->payload[i]);
	if (s->phase != PLAY_RECORD || s->rec == NULL)
		return;
	if (is_voice(pcm, n))
		s->last_voice = now;
	put = um_timeline_put(s->tl, h->ts, pcm, n);
	if (put == UM_TL_LATE) {
		um_metrics_media(s->env->metrics, UM_MC_LATE, 1);
		return;
	}
	if (put == UM_TL_RESYNC) {
		/*
		 * A jump of more than the buffer (an outage of a second or more, a timestamp
		 * reset): what is buffered goes out and the message goes on from here, without
		 * inventing silence for a jump whose length nothing vouches for.
		 */
		drain(s, true);
		um_timeline_restart(s->tl);
		(void)um_timeline_put(s->tl, h->ts, pcm, n);
	}
	drain(s, false);
}

static void
rx_event(struct session *s, const struct um_rtp *h)
{
	struct um_rtp_event e;

	if (!um_rtp_event_parse(h->payload, h->payload_len, &e))
		return;
	/* RFC 4733 section 2.5.1.2: one event, one timestamp; its packets repeat it. */
	if (s->event_seen && h->ts == s->last_event_ts)
		return;
	s->event_seen = true;
	s->last_event_ts = h->ts;
	if (um_rtp_event_char(e.event) == '#')
		s->hash_heard = true;
}

/* Whether a datagram from `from` may be processed, latching when that is allowed. */
static bool
source_ok(struct session *s, const struct sockaddr_storage *from, bool rtcp)
{
	const struct sockaddr_storage *want = rtcp ? &s->peer_rtcp : &s->peer_rtp;

	if (same_addr(from, want))
		return true;
	/*
	 * media_latching: any source until a packet authenticates (checked by the caller) — but
	 * in a secure mode plain RTP never authenticates, so there only the offered address
	 * counts, for the whole call.
	 */
	return s->env->cfg->latching && !s->latched && (!s->env->secure || s->srtp != NULL);
}

static void
latch(struct session *s, const struct sockaddr_storage *from, bool rtcp)
{
	const struct sockaddr_storage *want = rtcp ? &s->peer_rtcp : &s->peer_rtp;

	if (!s->env->cfg->latching || s->latched || same_addr(from, want))
		return;
	/* In a secure mode only a packet that authenticated moves the media (never plain RTP). */
	if (s->env->secure && s->srtp == NULL)
		return;
	if (rtcp) {
		s->peer_rtcp = *from;
	} else {
		s->peer_rtp = *from;
		if (s->p.rtcp_mux)
			s->peer_rtcp = *from;
		s->latched = true;
		cc_log_message(s->env->log, CC_LOG_INFO,
		               "call %s: media latched to the source of "
		               "its first %s packet",
		               s->meta.call_id, s->srtp ? "authenticated" : "RTP");
	}
}

static void
rx_packet(struct session *s, uint8_t *buf, size_t len, const struct sockaddr_storage *from,
          bool rtcp_port, uint64_t now)
{
	bool rtcp = rtcp_port || (s->p.rtcp_mux && um_rtp_is_rtcp(buf, len));
	enum um_srtp_result sr = UM_SRTP_OK;
	struct um_rtp h;

	if (!source_ok(s, from, rtcp)) {
		security(s, SEC_SOURCE, now);
		return;
	}
	if (s->srtp != NULL) {
		sr = rtcp ? um_srtp_unprotect_rtcp(s->srtp, buf, &len)
		          : um_srtp_unprotect(s->srtp, buf, &len);
		if (sr == UM_SRTP_AUTH) {
			security(s, SEC_AUTH, now);
			return;
		}
		if (sr == UM_SRTP_REPLAY) {
			security(s, SEC_REPLAY, now);
			return;
		}
		if (sr != UM_SRTP_OK) {
			um_metrics_media(s->env->metrics, UM_MC_MALFORMED, 1);
			return;
		}
	}
	if (rtcp) {
		/* Reports are counted as received; umd's own reports do not need their content. */
		latch(s, from, true);
		return;
	}
	if (!um_rtp_parse(buf, len, &h)) {
		um_metrics_media(s->env->metrics, UM_MC_MALFORMED, 1);
		return;
	}
	latch(s, from, false);
	um_metrics_media(s->env->metrics, UM_MC_PACKETS_IN, 1);
	rx_seq(s, &h);
	if (s->p.te_pt >= 0 && h.pt == (uint8_t)s->p.te_pt) {
		rx_event(s, &h);
		return;
	}
	if (h.pt != (uint8_t)s->p.pt)
		return; /* comfort noise and the like: not recorded */
	rx_jitter(s, h.ts, now);
	rx_audio(s, &h, now);
}

void
session_readable(struct session *s, bool rtcp, uint64_t now)
{
	uint8_t buf[PKT_MAX + UM_SRTP_OVERHEAD];
	struct sockaddr_storage from;
	socklen_t flen;
	ssize_t n;
	int i, fd = rtcp ? s->rtcp_fd : s->rtp_fd;

	for (i = 0; i < BURST; i++) {
		flen = sizeof(from);
		n = recvfrom(fd, buf, sizeof(buf), MSG_TRUNC, (struct sockaddr *)&from, &flen);
		if (n < 0)
			break;
		if (!s->begun || s->done)
			continue; /* before the answer's media starts, or after it ended */
		if ((size_t)n > PKT_MAX) {
			um_metrics_media(s->env->metrics, UM_MC_MALFORMED, 1);
			continue;
		}
		rx_packet(s, buf, (size_t)n, &from, rtcp, now);
	}
}

/* --- the player and RTCP --------------------------------------------------------------------- */

static bool
may_send(const struct session *s)
{
	return (s->p.dir == UM_DIR_SENDRECV || s->p.dir == UM_DIR_SENDONLY) &&
	       sendable(&s->peer_rtp);
}

static void
send_frame(struct session *s, size_t n)
{
	uint8_t buf[UM_RTP_HEADER + MAX_FRAME + UM_SRTP_OVERHEAD];
	const struct um_audio *a = s->playing;
	struct um_rtp h = {.pt = (uint8_t)s->p.pt, .seq = s->tx_seq, .ts = s->tx_ts};
	size_t i, len = UM_RTP_HEADER + n;
	int16_t v;

	h.ssrc = s->tx_ssrc;
	h.marker = s->tx_first;
	for (i = 0; i < n; i++) {
		v = 0;
		if (a != NULL && s->play_pos < a->n)
			v = a->samples[s->play_pos++];
		buf[UM_RTP_HEADER + i] = s->p.pt == 0 ? linear_to_ulaw(v) : linear_to_alaw(v);
	}
	s->tx_seq++;
	s->tx_ts += (uint32_t)n;
	if (!may_send(s))
		return;
	um_rtp_header(buf, &h);
	if (s->srtp != NULL && um_srtp_protect(s->srtp, buf, &len, sizeof(buf)) != UM_SRTP_OK)
		return;
	if (sendto(s->rtp_fd, buf, len, 0, (struct sockaddr *)&s->peer_rtp, sa_len(&s->peer_rtp)) >
	    0) {
		s->tx_first = false;
		s->tx_packets++;
		s->tx_octets += n;
		um_metrics_media(s->env->metrics, UM_MC_PACKETS_OUT, 1);
	}
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* RFC 3550 section 6.4.1 and appendix A.3: the report block on what umd received. */
static void
report_block(struct session *s, uint8_t *p)
{
	unsigned long long expected = rx_expected(s), lost, exp_int, rec_int;
	uint32_t fraction = 0;

	lost = expected > s->received ? expected - s->received : 0;
	exp_int = expected - s->expected_prior;
	rec_int = s->received - s->received_prior;
	s->expected_prior = expected;
	s->received_prior = s->received;
	if (exp_int > rec_int && exp_int > 0)
		fraction = (uint32_t)(((exp_int - rec_int) << 8) / exp_int);
	if (lost > s->lost_reported) {
		um_metrics_media(s->env->metrics, UM_MC_LOST, lost - s->lost_reported);
		s->lost_reported = lost;
	}
	put32(p, s->rx_ssrc);
	put32(p + 4, fraction << 24 | (uint32_t)(lost > 0x7fffff ? 0x7fffff : lost));
	put32(p + 8, s->cycles + s->max_seq);
	put32(p + 12, (uint32_t)s->jitter);
	put32(p + 16, 0); /* LSR and DLSR: umd does not keep the gateway's reports */
	put32(p + 20, 0);
}

/*
 * RFC 3550 section 6.4 and 6.5: a sender report while umd sends, else (the gateway holds the
 * call: umd only receives) a receiver report, with one report block once umd receives, and an
 * SDES CNAME, in one compound packet. RTCP goes on in both directions of a held call but an
 * inactive one (RFC 3264 section 5.1).
 */
static void
send_rtcp(struct session *s)
{
	uint8_t buf[128 + UM_SRTP_OVERHEAD];
	struct timespec rt;
	uint64_t ntp_frac;
	size_t len, rc = s->rx_started ? 1 : 0, sdes;
	static const char cname[] = "umd";
	int fd = s->p.rtcp_mux ? s->rtp_fd : s->rtcp_fd;
	bool sender = may_send(s);

	if (s->p.dir == UM_DIR_INACTIVE || !sendable(&s->peer_rtcp))
		return;
	buf[0] = (uint8_t)(0x80 | rc);
	buf[2] = 0;
	put32(buf + 4, s->tx_ssrc);
	if (sender) {
		clock_gettime(CLOCK_REALTIME, &rt);
		buf[1] = 200;
		len = 28;
		put32(buf + 8, (uint32_t)(rt.tv_sec + 2208988800ULL)); /* NTP epoch: 1900 */
		ntp_frac = ((uint64_t)rt.tv_nsec << 32) / NS;
		put32(buf + 12, (uint32_t)ntp_frac);
		put32(buf + 16, s->tx_ts);
		put32(buf + 20, (uint32_t)s->tx_packets);
		put32(buf + 24, (uint32_t)s->tx_octets);
	} else {
		buf[1] = 201;
		len = 8;
	}
	if (rc) {
		report_block(s, buf + len);
		len += 24;
	}
	buf[3] = (uint8_t)(len / 4 - 1);
	/* SDES: one chunk, CNAME, then the END item and padding to a 32-bit boundary. */
	sdes = 4 + 4 + 2 + sizeof(cname) - 1;
	sdes = (sdes + 1 + 3) & ~(size_t)3;
	memset(buf + len, 0, sdes);
	buf[len] = 0x81;
	buf[len + 1] = 202;
	buf[len + 3] = (uint8_t)(sdes / 4 - 1);
	put32(buf + len + 4, s->tx_ssrc);
	buf[len + 8] = 1;
	buf[len + 9] = (uint8_t)(sizeof(cname) - 1);
	memcpy(buf + len + 10, cname, sizeof(cname) - 1);
	len += sdes;
	if (s->srtp != NULL && um_srtp_protect_rtcp(s->srtp, buf, &len, sizeof(buf)) != UM_SRTP_OK)
		return;
	(void)sendto(fd, buf, len, 0, (struct sockaddr *)&s->peer_rtcp, sa_len(&s->peer_rtcp));
}

void
session_hang_up(struct session *s, enum um_media_end why, uint64_t now)
{
	struct um_media_event ev;

	session_end(s, why, now);
	memset(&ev, 0, sizeof(ev));
	ev.kind = UM_MEV_HANGUP;
	ev.end = why;
	emit(s, &ev);
}

uint64_t
session_tick(struct session *s, uint64_t now, uint64_t slack)
{
	const struct um_media_config *cfg = s->env->cfg;
	size_t frame;
	int burst;

	if (!s->begun || s->done)
		return UINT64_MAX;
	frame = (size_t)s->p.ptime * (RATE / 1000);
	if (frame == 0 || frame > MAX_FRAME)
		frame = 160;
	/* Catch up at most a few frames after a stall; beyond that, time moves on. */
	/* Frames due within `slack` go now (fewer wake-ups); the timers below use `now` itself. */
	for (burst = 0; s->next_send <= now + slack && burst < 3; burst++) {
		send_frame(s, frame);
		s->next_send += (uint64_t)s->p.ptime * MS;
		if (s->playing != NULL && s->play_pos >= s->playing->n) {
			s->play_pos = 0;
			if (s->phase == PLAY_GREETING) {
				s->phase = PLAY_BEEP;
				s->playing = s->env->beep;
			} else if (s->phase == PLAY_BEEP) {
				record_start(s, now);
			} else if (s->phase == PLAY_END_TONE) {
				session_hang_up(s, UM_END_MAX, now);
				return UINT64_MAX;
			}
		}
	}
	if (s->next_send <= now)
		s->next_send = now + (uint64_t)s->p.ptime * MS;
	/* Due within the slack too: what this returns must lie beyond now + slack (tick_due). */
	if (now + slack >= s->next_rtcp) {
		send_rtcp(s);
		s->next_rtcp = now + RTCP_INTERVAL;
	}
	if (s->hash_heard) {
		s->hash_heard = false;
		if (s->phase == PLAY_GREETING) {
			/* '#' during the greeting skips it. */
			s->phase = PLAY_BEEP;
			s->playing = s->env->beep;
			s->play_pos = 0;
		} else if (s->phase == PLAY_RECORD) {
			session_hang_up(s, UM_END_DTMF, now);
			return UINT64_MAX;
		}
	}
	if (s->phase == PLAY_RECORD) {
		if (now - s->rec_start >= (uint64_t)cfg->max_message_seconds * NS) {
			/* The message is as long as it may be: it ends now, the tone tells why. */
			record_stop(s, true);
			s->phase = PLAY_END_TONE;
			s->playing = s->env->end_tone;
			s->play_pos = 0;
		} else if (s->p.dir != UM_DIR_INACTIVE && s->p.dir != UM_DIR_SENDONLY &&
		           now - s->last_voice >= (uint64_t)cfg->silence_seconds * NS) {
			session_hang_up(s, UM_END_SILENCE, now);
			return UINT64_MAX;
		} else if (s->p.dir == UM_DIR_INACTIVE || s->p.dir == UM_DIR_SENDONLY) {
			s->last_voice = now; /* on hold: the caller is not silent, just not heard */
		}
	}
	return s->next_send < s->next_rtcp ? s->next_send : s->next_rtcp;
}

void
session_end(struct session *s, enum um_media_end why, uint64_t now)
{
	struct um_media_event ev;
	int i;

	(void)now;
	if (s->done)
		return;
	s->done = true;
	if (!s->begun)
		return;
	if (s->phase == PLAY_RECORD || s->rec != NULL) {
		record_stop(s, why == UM_END_ERROR || why == UM_END_SHUTDOWN);
	} else if (s->phase != PLAY_END_TONE) {
		/* Hung up before the beep: no message (Exchange UM kept none either). */
		memset(&ev, 0, sizeof(ev));
		ev.kind = UM_MEV_NO_MESSAGE;
		ev.end = why;
		emit(s, &ev);
	}
	/* What the rate limit held back is told once the call ends. */
	for (i = 0; i < 3; i++) {
		if (s->sec_count[i] == s->sec_told[i])
			continue;
		memset(&ev, 0, sizeof(ev));
		ev.kind = UM_MEV_SECURITY;
		snprintf(ev.reason, sizeof(ev.reason), "%s", sec_names[i]);
		ev.count = s->sec_count[i] - s->sec_told[i];
		s->sec_told[i] = s->sec_count[i];
		emit(s, &ev);
	}
	if (s->rx_started && rx_expected(s) > s->received + s->lost_reported)
		um_metrics_media(s->env->metrics, UM_MC_LOST,
		                 rx_expected(s) - s->received - s->lost_reported);
}

void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	if (s->rtp_fd != -1)
		close(s->rtp_fd);
	if (s->rtcp_fd != -1)
		close(s->rtcp_fd);
	if (s->rec != NULL)
		um_recording_abort(s->rec);
	if (s->dtmf != NULL)
		dtmf_rx_free(s->dtmf);
	um_timeline_free(s->tl);
	um_srtp_free(s->srtp);
	um_greeting_unref(s->greeting);
	um_media_params_wipe(&s->p);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}
