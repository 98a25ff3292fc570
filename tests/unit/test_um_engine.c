/*
 * umd's media engine (um/src/media/engine.c) and a call's media (media/session.c), driven as the
 * SIP thread drives them: um_media_open, um_media_begin with a session made by hand, then the
 * test is the gateway. It sends RTP (or SRTP) from UDP sockets on 127.0.0.1, paced at 20 ms, and
 * reads what umd sends: the greeting (a 900 Hz tone written as the default WAV), the beep
 * (1400 Hz), silence while recording, the end tone (480 Hz), each frame told apart by its
 * energy at those frequencies. The calls end by '#' (RFC 4733 and in-band), silence, the
 * message's length, the gateway's hang-up, umd's stop; packets from other sources, with flipped
 * bits or replayed are dropped and reported; latching; hold; max_calls and busy ports.
 *
 * Waits are generous and only what causality guarantees is asserted about time: a loaded box
 * makes the suite slower, not red.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sndfile.h>
#include <spandsp.h>

#include "media/engine.h"
#include "media/rtp.h"
#include "media/srtp.h"
#include "testutil.h"

#define NS       1000000000ULL
#define MS       1000000ULL
#define FRAME    160 /* samples in 20 ms */
#define PT_PCMU  0
#define PT_TE    101
#define VOICE_HZ 700
#define GREET_HZ 900 /* the default greeting */
#define BEEP_HZ  1400
#define END_HZ   480
#define GREET_MS 200 /* 10 frames */
#define LONG_MS  2000
#define BEEP_FRAMES                                                                                \
	13            /* 250 ms of beep: 12.5 frames, the last one half beep (engine.c's BEEP_MS) */
#define END_FRAMES 30 /* 600 ms of end tone (engine.c's END_TONE_MS) */
#define NSOCK      4  /* 0: the gateway's RTP (the offer's address), 1: its RTCP, 2, 3: others */
#define MAX_RX     4096
#define MAX_EV     256
#define CALL_ID    "a84b4c76e66710@gw1.example.test"

enum send_mode { SEND_NONE, SEND_VOICE, SEND_SILENCE, SEND_DTMF };

/* A packet umd sent, as the gateway read it. */
struct rxpkt {
	uint16_t seq;
	uint32_t ts, ssrc;
	bool marker;
	uint8_t pt;
	size_t len;
	char cls; /* G greeting, B beep, E end tone, S silence, ? */
	int sock;
};

struct fx {
	char *dir;
	char spool[2048], greet[2048], longgreet[2048], logpath[2048];
	FILE *logf;
	struct cc_log *log;
	struct um_metrics *metrics;
	struct um_spool *sp;
	struct um_greetings *gs;
	struct um_greeting *g, *longg;
	struct um_media_config cfg;
	struct um_media *m;

	/* The gateway. */
	int sock[NSOCK];
	struct sockaddr_in addr[NSOCK];
	unsigned long long got[NSOCK]; /* RTP packets of umd's stream read on each */
	struct sockaddr_in umd;        /* the call's RTP port */
	struct um_media_params p;
	struct um_srtp *srtp; /* the gateway's side: sends with p.remote, reads with p.local */
	uint64_t call;
	int port;
	bool ended;

	/* What the gateway sends, every 20 ms while mode is not SEND_NONE. */
	enum send_mode mode;
	int from;  /* the socket it sends from */
	int spoof; /* -1, or a socket that sends a voice frame of its own each time too */
	int dtmf_left;
	uint16_t seq;
	uint32_t ts, ssrc;
	unsigned long long k; /* samples of tone made so far (the phase) */
	uint64_t next_send, last_voice_sent;
	unsigned long long audio_sent, spoofed;

	/* What umd sends. */
	struct rxpkt rx[MAX_RX];
	size_t nrx;
	uint32_t stream_ssrc; /* the first packet's; packets of other SSRCs are other calls' */
	bool have_stream;
	unsigned long long other, rx_bad, rtcp;
	uint8_t rtcp_pt;
	uint32_t rtcp_ssrc;
	bool rtcp_from_ok;
	bool beep_seen, recording;
	size_t rec_idx;                  /* the first frame of silence after the beep */
	unsigned long long audio_at_rec; /* audio frames sent when that frame was read */

	/* What umd reported. */
	struct um_media_event ev[MAX_EV];
	uint64_t ev_at[MAX_EV];
	size_t nev;
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

/* --- set-up -------------------------------------------------------------------------------- */

static bool
udp_bindable(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_DGRAM, 0), ok;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = fd != -1 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd != -1)
		close(fd);
	return ok;
}

/* An even port in 30000-50000 with `n` free UDP ports from it on 127.0.0.1. */
static int
free_range(int n)
{
	static unsigned seed;
	int tries, base, p;
	bool ok;

	if (seed == 0)
		seed = (unsigned)getpid() ^ (unsigned)time(NULL);
	for (tries = 0; tries < 200; tries++) {
		base = 30000 + 2 * (int)(rand_r(&seed) % 10000);
		for (ok = true, p = base; p < base + n && ok; p++)
			ok = udp_bindable(p);
		if (ok)
			return base;
	}
	CU_FAIL_FATAL("no free UDP port range on 127.0.0.1");
	return -1;
}

static int
udp_socket(struct sockaddr_in *a, int port)
{
	socklen_t len = sizeof(*a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	CU_ASSERT_FATAL(fd != -1);
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->sin_port = htons((uint16_t)port);
	CU_ASSERT_EQUAL_FATAL(bind(fd, (struct sockaddr *)a, sizeof(*a)), 0);
	CU_ASSERT_EQUAL_FATAL(getsockname(fd, (struct sockaddr *)a, &len), 0);
	return fd;
}

static void
write_tone_wav(const char *path, int hz, int ms)
{
	struct um_audio *a = NULL;
	SF_INFO info = {
	        .samplerate = 8000, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
	SNDFILE *sf;

	CU_ASSERT_EQUAL_FATAL(um_audio_tone(hz, ms, 8000, &a), UM_OK);
	sf = sf_open(path, SFM_WRITE, &info);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sf);
	CU_ASSERT_EQUAL(sf_write_short(sf, a->samples, (sf_count_t)a->n), (sf_count_t)a->n);
	CU_ASSERT_EQUAL(sf_close(sf), 0);
	um_audio_free(a);
}

/*
 * The fixture, before the engine starts: a spool and greetings in a temporary directory, four
 * free port pairs, max_calls 4, silence_seconds 2, max_message_seconds 5. Tests change cfg, then
 * call fx_start.
 */
static struct fx *
fx_new(int pairs)
{
	struct fx *x = calloc(1, sizeof(*x));
	int i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	x->dir = tu_tmpdir();
	snprintf(x->spool, sizeof(x->spool), "%s/spool", x->dir);
	snprintf(x->greet, sizeof(x->greet), "%s/default.wav", x->dir);
	snprintf(x->longgreet, sizeof(x->longgreet), "%s/long.wav", x->dir);
	snprintf(x->logpath, sizeof(x->logpath), "%s/umd.log", x->dir);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x->logf = fopen(x->logpath, "w"));
	setvbuf(x->logf, NULL, _IOLBF, 0);
	CU_ASSERT_EQUAL_FATAL(cc_log_new(CC_LOG_TEXT, x->logf, "umd", false, &x->log), CC_OK);
	CU_ASSERT_EQUAL_FATAL(um_metrics_new(&x->metrics), UM_OK);
	CU_ASSERT_EQUAL_FATAL(um_spool_open(x->spool, &x->sp), UM_OK);
	write_tone_wav(x->greet, GREET_HZ, GREET_MS);
	write_tone_wav(x->longgreet, GREET_HZ, LONG_MS);
	CU_ASSERT_EQUAL_FATAL(um_greetings_new(x->greet, x->log, &x->gs), UM_OK);
	x->g = um_greetings_for(x->gs, NULL);
	x->longg = um_greetings_for(x->gs, "long");
	CU_ASSERT_PTR_NOT_NULL_FATAL(x->g);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x->longg);
	CU_ASSERT_EQUAL_FATAL(um_greeting_audio(x->longg)->n, (size_t)LONG_MS * 8);
	for (i = 0; i < NSOCK; i++)
		x->sock[i] = udp_socket(&x->addr[i], 0);
	x->cfg.address = "127.0.0.1";
	x->cfg.port_min = free_range(2 * pairs);
	x->cfg.port_max = x->cfg.port_min + 2 * pairs - 1;
	x->cfg.max_calls = 4;
	x->cfg.max_message_seconds = 5;
	x->cfg.silence_seconds = 2;
	x->cfg.spool = x->sp;
	x->spoof = -1;
	x->ssrc = 0x5eed1234;
	x->seq = 1000;
	x->ts = 80000;
	return x;
}

static void
fx_start(struct fx *x)
{
	CU_ASSERT_EQUAL_FATAL(um_media_start(&x->cfg, x->log, x->metrics, &x->m), UM_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x->m);
}

static void
fx_free(struct fx *x)
{
	int i;

	if (x == NULL)
		return;
	if (x->m != NULL && x->call != 0 && !x->ended)
		um_media_end(x->m, x->call, UM_END_HANGUP);
	um_media_stop(x->m);
	um_spool_close(x->sp);
	um_greeting_unref(x->g);
	um_greeting_unref(x->longg);
	um_greetings_free(x->gs);
	um_metrics_free(x->metrics);
	cc_log_free(x->log);
	fclose(x->logf);
	for (i = 0; i < NSOCK; i++)
		close(x->sock[i]);
	um_srtp_free(x->srtp);
	um_media_params_wipe(&x->p);
	tu_rmrf(x->dir);
	free(x->dir);
	free(x);
}

/* The session the SDP would have negotiated: the gateway at sock[0] (RTP) and sock[1] (RTCP). */
static void
params(struct fx *x, enum um_srtp_suite suite)
{
	um_media_params_wipe(&x->p);
	memset(&x->p, 0, sizeof(x->p));
	memcpy(&x->p.remote_rtp, &x->addr[0], sizeof(x->addr[0]));
	memcpy(&x->p.remote_rtcp, &x->addr[1], sizeof(x->addr[1]));
	x->p.pt = PT_PCMU;
	x->p.te_pt = PT_TE;
	x->p.ptime = 20;
	x->p.dir = UM_DIR_SENDRECV;
	x->p.suite = suite;
	x->p.sess_id = 1;
	x->p.sess_version = 1;
	if (suite == UM_SRTP_NONE)
		return;
	CU_ASSERT_TRUE_FATAL(um_sdes_new_key(suite, &x->p.remote));
	CU_ASSERT_TRUE_FATAL(um_sdes_new_key(suite, &x->p.local));
	x->p.remote.tag = x->p.local.tag = 1;
	um_srtp_free(x->srtp);
	x->srtp = NULL;
	CU_ASSERT_EQUAL_FATAL(um_srtp_new(&x->p.remote, &x->p.local, &x->srtp), UM_OK);
}

static const struct um_spool_meta *
meta_for(enum um_srtp_suite suite)
{
	static struct um_spool_meta m;

	m = (struct um_spool_meta){.call_id = CALL_ID,
	                           .from = "sip:+14255550100@gw1.example.test",
	                           .to = "sip:1001@um1.example.test",
	                           .gateway = "gw1",
	                           .media = um_srtp_suite_name(suite),
	                           .started = 0};
	return &m;
}

/* um_media_open and um_media_begin, as the SIP thread does for an INVITE. */
static bool
begin_with(struct fx *x, struct um_greeting *g)
{
	CU_ASSERT_EQUAL(um_media_open(x->m, &x->call, &x->port), UM_OK);
	if (x->call == 0)
		return false;
	CU_ASSERT(x->port >= x->cfg.port_min && x->port < x->cfg.port_max && x->port % 2 == 0);
	memset(&x->umd, 0, sizeof(x->umd));
	x->umd.sin_family = AF_INET;
	x->umd.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	x->umd.sin_port = htons((uint16_t)x->port);
	CU_ASSERT_EQUAL(um_media_begin(x->m, x->call, &x->p, g, meta_for(x->p.suite)), UM_OK);
	return true;
}

static bool
begin(struct fx *x)
{
	return begin_with(x, x->g);
}

/* The SIP thread's BYE (or 200 to the gateway's BYE): the media ends. */
static void
end_call(struct fx *x)
{
	um_media_end(x->m, x->call, UM_END_HANGUP);
	x->ended = true;
}

/* --- sending -------------------------------------------------------------------------------- */

/* An RTP packet of the gateway's stream (SRTP when keyed) in buf; its length. */
static size_t
build(struct fx *x, uint8_t *buf, size_t cap, uint8_t pt, bool marker, uint32_t ts,
      const uint8_t *payload, size_t n)
{
	struct um_rtp h = {.marker = marker, .pt = pt, .seq = x->seq++, .ts = ts, .ssrc = x->ssrc};
	size_t len = UM_RTP_HEADER + n;

	um_rtp_header(buf, &h);
	memcpy(buf + UM_RTP_HEADER, payload, n);
	if (x->srtp != NULL)
		CU_ASSERT_EQUAL(um_srtp_protect(x->srtp, buf, &len, cap), UM_SRTP_OK);
	return len;
}

static void
xmit(struct fx *x, int from, const uint8_t *buf, size_t len, bool rtcp)
{
	struct sockaddr_in to = x->umd;

	if (rtcp)
		to.sin_port = htons((uint16_t)(x->port + 1));
	CU_ASSERT_EQUAL(sendto(x->sock[from], buf, len, 0, (struct sockaddr *)&to, sizeof(to)),
	                (ssize_t)len);
}

/* 20 ms of what the caller says: a tone, silence, or DTMF '#' (941 + 1477 Hz). */
static void
make_audio(struct fx *x, enum send_mode mode, uint8_t *ulaw)
{
	double v;
	int i;

	for (i = 0; i < FRAME; i++, x->k++) {
		if (mode == SEND_VOICE)
			v = 8000 * sin(2 * M_PI * VOICE_HZ * (double)x->k / 8000);
		else if (mode == SEND_DTMF)
			v = 6000 * sin(2 * M_PI * 941 * (double)x->k / 8000) +
			    6000 * sin(2 * M_PI * 1477 * (double)x->k / 8000);
		else
			v = 0;
		ulaw[i] = linear_to_ulaw((int)v);
	}
}

/* One audio frame from `from`; returns the packet (for a replay) in buf. */
static size_t
send_audio(struct fx *x, int from, enum send_mode mode, uint8_t *buf, size_t cap)
{
	uint8_t ulaw[FRAME];
	size_t len;

	make_audio(x, mode, ulaw);
	len = build(x, buf, cap, PT_PCMU, x->audio_sent == 0, x->ts, ulaw, FRAME);
	x->ts += FRAME;
	xmit(x, from, buf, len, false);
	x->audio_sent++;
	if (mode == SEND_VOICE)
		x->last_voice_sent = now_ns();
	return len;
}

static void
send_frame(struct fx *x)
{
	uint8_t buf[UM_RTP_HEADER + FRAME + UM_SRTP_OVERHEAD], ulaw[FRAME];
	struct um_rtp h = {.pt = PT_PCMU, .ts = (uint32_t)x->spoofed * FRAME, .ssrc = 0xbad0bad0};

	if (x->mode == SEND_DTMF && x->dtmf_left-- <= 0)
		x->mode = SEND_SILENCE;
	send_audio(x, x->from, x->mode, buf, sizeof(buf));
	if (x->spoof >= 0) {
		/* Someone else's voice at the call's port: plain RTP, loud. */
		h.seq = (uint16_t)x->spoofed;
		um_rtp_header(buf, &h);
		make_audio(x, SEND_VOICE, ulaw);
		memcpy(buf + UM_RTP_HEADER, ulaw, FRAME);
		xmit(x, x->spoof, buf, UM_RTP_HEADER + FRAME, false);
		x->spoofed++;
	}
}

/* RFC 4733 '#': three packets, then three with the end bit, one timestamp. */
static void
send_hash(struct fx *x, int from)
{
	uint8_t buf[64], pl[4];
	uint16_t dur;
	size_t len;
	int i;

	for (i = 0; i < 6; i++) {
		dur = (uint16_t)(FRAME * (i < 3 ? i + 1 : 3));
		pl[0] = 11;
		pl[1] = (uint8_t)((i >= 3 ? 0x80 : 0) | 10);
		pl[2] = (uint8_t)(dur >> 8);
		pl[3] = (uint8_t)dur;
		len = build(x, buf, sizeof(buf), PT_TE, i == 0, x->ts, pl, sizeof(pl));
		xmit(x, from, buf, len, false);
	}
	x->ts += 3 * FRAME;
}

/* --- receiving ------------------------------------------------------------------------------ */

static double
tone_power(const int16_t *pcm, size_t n, int hz)
{
	double c = 2 * cos(2 * M_PI * hz / 8000.0), s, s1 = 0, s2 = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		s = pcm[i] + c * s1 - s2;
		s2 = s1;
		s1 = s;
	}
	return s1 * s1 + s2 * s2 - c * s1 * s2;
}

static char
classify(const uint8_t *ulaw, size_t n)
{
	int16_t pcm[480];
	double e = 0, g, b, t;
	size_t i;

	if (n == 0 || n > 480)
		return '?';
	for (i = 0; i < n; i++) {
		pcm[i] = ulaw_to_linear(ulaw[i]);
		e += (double)pcm[i] * pcm[i];
	}
	if (sqrt(e / (double)n) < 100)
		return 'S';
	g = tone_power(pcm, n, GREET_HZ);
	b = tone_power(pcm, n, BEEP_HZ);
	t = tone_power(pcm, n, END_HZ);
	if (g > b && g > t)
		return 'G';
	return b > t ? 'B' : 'E';
}

static void
take_rtp(struct fx *x, int sock, uint8_t *buf, size_t len, const struct sockaddr_in *from)
{
	struct um_rtp h;
	struct rxpkt *r;

	if (x->srtp != NULL && um_srtp_unprotect(x->srtp, buf, &len) != UM_SRTP_OK) {
		x->rx_bad++;
		return;
	}
	if (!um_rtp_parse(buf, len, &h) || from->sin_port != x->umd.sin_port) {
		x->rx_bad++;
		return;
	}
	if (!x->have_stream) {
		x->have_stream = true;
		x->stream_ssrc = h.ssrc;
	}
	if (h.ssrc != x->stream_ssrc) {
		x->other++; /* another call's */
		return;
	}
	x->got[sock]++;
	if (x->nrx == MAX_RX)
		return;
	r = &x->rx[x->nrx];
	r->seq = h.seq;
	r->ts = h.ts;
	r->ssrc = h.ssrc;
	r->marker = h.marker;
	r->pt = h.pt;
	r->len = h.payload_len;
	r->cls = classify(h.payload, h.payload_len);
	r->sock = sock;
	if (r->cls == 'B')
		x->beep_seen = true;
	if (x->beep_seen && r->cls == 'S' && !x->recording) {
		/* umd began recording before it sent this frame (session.c's record_start). */
		x->recording = true;
		x->rec_idx = x->nrx;
		x->audio_at_rec = x->audio_sent;
	}
	x->nrx++;
}

static void
take_rtcp(struct fx *x, uint8_t *buf, size_t len, const struct sockaddr_in *from)
{
	if (x->srtp != NULL && um_srtp_unprotect_rtcp(x->srtp, buf, &len) != UM_SRTP_OK) {
		x->rx_bad++;
		return;
	}
	if (len < 8) {
		x->rx_bad++;
		return;
	}
	if (x->rtcp++ == 0) {
		x->rtcp_pt = buf[1];
		x->rtcp_ssrc = (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 |
		               (uint32_t)buf[6] << 8 | buf[7];
		x->rtcp_from_ok = ntohs(from->sin_port) == x->port + 1;
	}
}

static void
collect_events(struct fx *x)
{
	struct um_media_event ev[32];
	size_t n, i;

	while ((n = um_media_events(x->m, ev, 32)) > 0) {
		for (i = 0; i < n && x->nev < MAX_EV; i++) {
			x->ev_at[x->nev] = now_ns();
			x->ev[x->nev++] = ev[i];
		}
	}
}

/* Reads what is there, sends what is due, waits at most until `until`. */
static void
pump_once(struct fx *x, uint64_t until)
{
	struct pollfd pfd[NSOCK + 1];
	uint8_t buf[2048];
	struct sockaddr_in from;
	socklen_t flen;
	struct timespec tmo;
	uint64_t now = now_ns(), wake = until;
	ssize_t n;
	int i;

	if (x->mode != SEND_NONE && x->next_send <= now) {
		send_frame(x);
		x->next_send += 20 * MS;
		/* Fallen behind (a loaded box): skip ahead, as a gateway's clock would not wait. */
		if (x->next_send + 60 * MS < now)
			x->next_send = now + 20 * MS;
	}
	if (x->mode != SEND_NONE && x->next_send < wake)
		wake = x->next_send;
	tmo.tv_sec = 0;
	tmo.tv_nsec = 0;
	if (wake > now) {
		tmo.tv_sec = (time_t)((wake - now) / NS);
		tmo.tv_nsec = (long)((wake - now) % NS);
	}
	for (i = 0; i < NSOCK; i++)
		pfd[i] = (struct pollfd){.fd = x->sock[i], .events = POLLIN};
	pfd[NSOCK] = (struct pollfd){.fd = x->m ? um_media_event_fd(x->m) : -1, .events = POLLIN};
	if (ppoll(pfd, NSOCK + 1, &tmo, NULL) <= 0)
		return;
	for (i = 0; i < NSOCK; i++) {
		for (;;) {
			flen = sizeof(from);
			n = recvfrom(x->sock[i], buf, sizeof(buf), 0, (struct sockaddr *)&from,
			             &flen);
			if (n < 0)
				break;
			if (i == 1)
				take_rtcp(x, buf, (size_t)n, &from);
			else
				take_rtp(x, i, buf, (size_t)n, &from);
		}
	}
	if (pfd[NSOCK].revents & POLLIN)
		collect_events(x);
}

static void
pump(struct fx *x, int ms)
{
	uint64_t until = now_ns() + (uint64_t)ms * MS;

	while (now_ns() < until)
		pump_once(x, until);
}

/* The first event of `kind` for the call (and `reason`, when not NULL) so far. */
static const struct um_media_event *
find_event(struct fx *x, enum um_media_event_kind kind, const char *reason)
{
	size_t i;

	for (i = 0; i < x->nev; i++)
		if (x->ev[i].kind == kind && x->ev[i].call == x->call &&
		    (reason == NULL || strcmp(x->ev[i].reason, reason) == 0))
			return &x->ev[i];
	return NULL;
}

static const struct um_media_event *
wait_event(struct fx *x, enum um_media_event_kind kind, const char *reason, int ms)
{
	uint64_t until = now_ns() + (uint64_t)ms * MS;
	const struct um_media_event *ev;

	while ((ev = find_event(x, kind, reason)) == NULL && now_ns() < until)
		pump_once(x, until);
	return ev;
}

static size_t
count_events(struct fx *x, enum um_media_event_kind kind)
{
	size_t i, n = 0;

	for (i = 0; i < x->nev; i++)
		n += x->ev[i].kind == kind && x->ev[i].call == x->call;
	return n;
}

/* What MediaSecurityFailure events told of `reason`, summed. */
static unsigned long long
security_count(struct fx *x, const char *reason)
{
	unsigned long long n = 0;
	size_t i;

	for (i = 0; i < x->nev; i++)
		if (x->ev[i].kind == UM_MEV_SECURITY && x->ev[i].call == x->call &&
		    strcmp(x->ev[i].reason, reason) == 0)
			n += x->ev[i].count;
	return n;
}

static bool
wait_recording(struct fx *x, int ms)
{
	uint64_t until = now_ns() + (uint64_t)ms * MS;

	while (!x->recording && now_ns() < until)
		pump_once(x, until);
	CU_ASSERT_TRUE(x->recording);
	return x->recording;
}

static bool
wait_packets(struct fx *x, int sock, unsigned long long n, int ms)
{
	uint64_t until = now_ns() + (uint64_t)ms * MS;

	while (x->got[sock] < n && now_ns() < until)
		pump_once(x, until);
	CU_ASSERT(x->got[sock] >= n);
	return x->got[sock] >= n;
}

/* Frames of class `c` among rx[from, to). */
static size_t
count_class(const struct fx *x, char c, size_t from, size_t to)
{
	size_t i, n = 0;

	for (i = from; i < to && i < x->nrx; i++)
		n += x->rx[i].cls == c;
	return n;
}

static size_t
first_class(const struct fx *x, char c)
{
	size_t i;

	for (i = 0; i < x->nrx; i++)
		if (x->rx[i].cls == c)
			return i;
	return SIZE_MAX;
}

/*
 * umd's stream as read on `sock` (-1: all): one SSRC, PCMU, 20 ms frames, the marker on the
 * very first packet only, timestamps that go with the sequence numbers; with `contiguous`
 * every sequence number once, in order.
 */
static void
check_stream(const struct fx *x, int sock, bool contiguous, bool first_marked)
{
	const struct rxpkt *prev = NULL, *r;
	uint16_t dseq;
	size_t i, bad = 0, n = 0;

	for (i = 0; i < x->nrx; i++) {
		r = &x->rx[i];
		if (sock >= 0 && r->sock != sock)
			continue;
		n++;
		if (r->pt != PT_PCMU || r->len != FRAME || r->ssrc != x->stream_ssrc)
			bad++;
		if (prev == NULL) {
			if (r->marker != first_marked)
				bad++;
		} else {
			dseq = (uint16_t)(r->seq - prev->seq);
			if (r->marker || dseq == 0 || dseq > 1000 || (contiguous && dseq != 1) ||
			    (uint32_t)(r->ts - prev->ts) != (uint32_t)dseq * FRAME)
				bad++;
		}
		prev = r;
	}
	CU_ASSERT(n > 0);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(x->rx_bad, 0);
}

/* A metric's value in umd's /metrics text ("umd_active_calls"); -1 when absent. */
static long long
metric(struct fx *x, const char *name)
{
	char *text = NULL, *p;
	long long v = -1;
	size_t len = strlen(name);

	CU_ASSERT_EQUAL_FATAL(um_metrics_render(x->metrics, time(NULL), &text), UM_OK);
	for (p = text; p != NULL && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, name, len) == 0 && p[len] == ' ') {
			v = strtoll(p + len + 1, NULL, 10);
			break;
		}
	}
	free(text);
	return v;
}

/* Waits (pumping) until a metric has a value. */
static bool
wait_metric(struct fx *x, const char *name, long long want, int ms)
{
	uint64_t until = now_ns() + (uint64_t)ms * MS;

	while (metric(x, name) != want && now_ns() < until)
		pump_once(x, now_ns() + 10 * MS);
	return metric(x, name) == want;
}

/* After umd hung up or the call ended: umd sends nothing more. */
static void
check_quiet(struct fx *x)
{
	size_t n;

	pump(x, 100); /* what was on its way */
	n = x->nrx;
	pump(x, 300);
	CU_ASSERT_EQUAL(x->nrx, n);
}

static bool
logged(struct fx *x, const char *needle)
{
	char *text;
	bool found;

	fflush(x->logf);
	text = tu_read_file(x->logpath, NULL);
	found = text != NULL && strstr(text, needle) != NULL;
	free(text);
	return found;
}

/* --- the message in the spool --------------------------------------------------------------- */

/*
 * new/ID.wav: 8 kHz mono, as long as the event said and within [lo, hi] seconds; its sound the
 * caller's tone (`voice`), or silence.
 */
static void
check_wav(struct fx *x, const struct um_media_event *ev, double lo, double hi, bool voice)
{
	char path[4096];
	SF_INFO info;
	SNDFILE *sf;
	int16_t *pcm;
	double secs, e = 0;
	sf_count_t i, peak = 0;

	snprintf(path, sizeof(path), "%s/new/%s.wav", x->spool, ev->msg_id);
	memset(&info, 0, sizeof(info));
	sf = sf_open(path, SFM_READ, &info);
	CU_ASSERT_PTR_NOT_NULL(sf);
	if (sf == NULL)
		return;
	CU_ASSERT_EQUAL(info.samplerate, 8000);
	CU_ASSERT_EQUAL(info.channels, 1);
	secs = (double)info.frames / 8000;
	CU_ASSERT(fabs(secs - ev->seconds) < 0.01);
	if (secs < lo || secs > hi) {
		fprintf(stderr, "\nmessage of %.3f s, expected %.3f to %.3f\n", secs, lo, hi);
		CU_FAIL("the message's length");
	}
	pcm = calloc((size_t)info.frames + 1, sizeof(*pcm));
	CU_ASSERT_PTR_NOT_NULL_FATAL(pcm);
	CU_ASSERT_EQUAL(sf_read_short(sf, pcm, info.frames), info.frames);
	sf_close(sf);
	for (i = 0; i < info.frames; i++) {
		e += (double)pcm[i] * pcm[i];
		if (abs(pcm[i]) > peak)
			peak = abs(pcm[i]);
	}
	if (voice) {
		CU_ASSERT(info.frames > 0 && sqrt(e / (double)info.frames) > 1000);
		CU_ASSERT(info.frames > 0 &&
		          tone_power(pcm, (size_t)info.frames, VOICE_HZ) >
		                  10 * tone_power(pcm, (size_t)info.frames, BEEP_HZ));
	} else {
		CU_ASSERT(peak < 100);
	}
	free(pcm);
}

/* new/ID.json: what the call was, "truncated" as expected. */
static void
check_json(struct fx *x, const struct um_media_event *ev, bool truncated, const char *media)
{
	char path[4096];
	json_t *o;

	snprintf(path, sizeof(path), "%s/new/%s.json", x->spool, ev->msg_id);
	o = json_load_file(path, 0, NULL);
	CU_ASSERT_PTR_NOT_NULL(o);
	if (o == NULL)
		return;
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "id")), ev->msg_id);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "call_id")), CALL_ID);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "media")), media);
	CU_ASSERT_EQUAL(json_is_true(json_object_get(o, "truncated")), truncated);
	json_decref(o);
}

/* Files in a spool folder (dot files included). */
static int
files_in(struct fx *x, const char *sub)
{
	char path[4096];
	struct dirent *d;
	DIR *dp;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", x->spool, sub);
	if ((dp = opendir(path)) == NULL)
		return -1;
	while ((d = readdir(dp)) != NULL)
		n += strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0;
	closedir(dp);
	return n;
}

/* The RECORDED event of the call, checked for what every message has. */
static const struct um_media_event *
recorded(struct fx *x, bool truncated)
{
	const struct um_media_event *ev = wait_event(x, UM_MEV_RECORDED, NULL, 15000);

	CU_ASSERT_PTR_NOT_NULL(ev);
	if (ev == NULL)
		return NULL;
	CU_ASSERT(ev->msg_id[0] != '\0');
	CU_ASSERT_STRING_EQUAL(ev->reason, ""); /* committed, no error */
	CU_ASSERT_EQUAL(ev->truncated, truncated);
	CU_ASSERT_STRING_EQUAL(ev->call_id, CALL_ID);
	CU_ASSERT_STRING_EQUAL(ev->to, "sip:1001@um1.example.test");
	return ev;
}

/* Seconds the recording must last: the audio sent after umd began it, at most all sent. */
static double
lo_secs(const struct fx *x)
{
	return (double)(x->audio_sent - x->audio_at_rec) * FRAME / 8000 - 0.021;
}

static double
hi_secs(const struct fx *x)
{
	return (double)x->audio_sent * FRAME / 8000 + 0.021;
}

/* --- the tests ------------------------------------------------------------------------------ */

/* Greeting, beep, the caller's voice, '#': umd hangs up, the message is committed. */
static void
test_hash_ends(void)
{
	struct fx *x = fx_new(4);
	const struct um_media_event *ev;
	size_t last_g, first_b;
	long long in;

	fx_start(x);
	params(x, UM_SRTP_NONE);
	if (!begin(x))
		goto out;
	x->mode = SEND_VOICE;
	if (!wait_recording(x, 5000))
		goto out;
	/* The greeting whole, then the beep whole, then silence: by content, not by time. */
	CU_ASSERT_EQUAL(count_class(x, 'G', 0, x->rec_idx), GREET_MS / 20);
	CU_ASSERT_EQUAL(count_class(x, 'B', 0, x->rec_idx), BEEP_FRAMES);
	CU_ASSERT_EQUAL(x->rec_idx, GREET_MS / 20 + BEEP_FRAMES);
	first_b = first_class(x, 'B');
	for (last_g = 0; last_g < x->rec_idx; last_g++)
		if (x->rx[last_g].cls != 'G')
			break;
	CU_ASSERT_EQUAL(last_g, first_b);
	CU_ASSERT_EQUAL(metric(x, "umd_active_calls"), 1);
	pump(x, 1000);
	x->mode = SEND_NONE;
	send_hash(x, 0);
	ev = wait_event(x, UM_MEV_HANGUP, NULL, 5000);
	CU_ASSERT_PTR_NOT_NULL(ev);
	if (ev != NULL) {
		CU_ASSERT_EQUAL(ev->end, UM_END_DTMF);
		CU_ASSERT_STRING_EQUAL(ev->call_id, CALL_ID);
		CU_ASSERT_STRING_EQUAL(ev->from, "sip:+14255550100@gw1.example.test");
	}
	check_quiet(x); /* umd hung up: it sends nothing more */
	end_call(x);
	if ((ev = recorded(x, false)) != NULL) {
		CU_ASSERT(ev->seconds >= lo_secs(x) && ev->seconds <= hi_secs(x));
		check_wav(x, ev, lo_secs(x), hi_secs(x), true);
		check_json(x, ev, false, "RTP");
	}
	CU_ASSERT_EQUAL(count_events(x, UM_MEV_NO_MESSAGE), 0);
	CU_ASSERT_EQUAL(count_events(x, UM_MEV_SECURITY), 0);
	CU_ASSERT_EQUAL(count_events(x, UM_MEV_HANGUP), 1);
	check_stream(x, -1, true, true);
	CU_ASSERT_EQUAL(metric(x, "umd_voice_messages_total"), 1);
	/* Every audio packet the gateway sent was taken, and at least the first '#'. */
	in = metric(x, "umd_media_packets_total{direction=\"in\"}");
	CU_ASSERT(in > (long long)x->audio_sent && in <= (long long)x->audio_sent + 6);
	CU_ASSERT_EQUAL(metric(x, "umd_media_packets_total{direction=\"out\"}"), (long long)x->nrx);
	CU_ASSERT_TRUE(wait_metric(x, "umd_active_calls", 0, 5000));
	CU_ASSERT_EQUAL(files_in(x, "tmp"), 0);
	CU_ASSERT_EQUAL(files_in(x, "new"), 2);
out:
	fx_free(x);
}

/* The same over SRTP; a flipped bit and a replay are dropped and reported. */
static void
test_srtp(void)
{
	struct fx *x = fx_new(4);
	const struct um_media_event *ev;
	uint8_t pkt[UM_RTP_HEADER + FRAME + UM_SRTP_OVERHEAD], copy[sizeof(pkt)];
	size_t len;

	fx_start(x);
	params(x, UM_SRTP_AES_CM_128_HMAC_SHA1_80);
	if (!begin(x))
		goto out;
	x->mode = SEND_VOICE;
	if (!wait_recording(x, 5000))
		goto out;
	CU_ASSERT_EQUAL(count_class(x, 'G', 0, x->rec_idx), GREET_MS / 20);
	CU_ASSERT_EQUAL(count_class(x, 'B', 0, x->rec_idx), BEEP_FRAMES);
	pump(x, 300);
	/* A packet of the call's stream with one bit of its payload flipped. */
	x->mode = SEND_NONE;
	make_audio(x, SEND_VOICE, copy);
	len = build(x, pkt, sizeof(pkt), PT_PCMU, false, x->ts, copy, FRAME);
	pkt[UM_RTP_HEADER + 7] ^= 0x10;
	xmit(x, 0, pkt, len, false);
	ev = wait_event(x, UM_MEV_SECURITY, "authentication", 3000);
	CU_ASSERT_PTR_NOT_NULL(ev);
	if (ev != NULL)
		CU_ASSERT_EQUAL(ev->count, 1);
	/* A packet accepted, then the same again. */
	len = send_audio(x, 0, SEND_VOICE, pkt, sizeof(pkt));
	memcpy(copy, pkt, len);
	xmit(x, 0, copy, len, false);
	ev = wait_event(x, UM_MEV_SECURITY, "replay", 3000);
	CU_ASSERT_PTR_NOT_NULL(ev);
	if (ev != NULL)
		CU_ASSERT_EQUAL(ev->count, 1);
	x->next_send = now_ns();
	x->mode = SEND_VOICE;
	pump(x, 500);
	x->mode = SEND_NONE;
	send_hash(x, 0);
	ev = wait_event(x, UM_MEV_HANGUP, NULL, 5000);
	CU_ASSERT_PTR_NOT_NULL(ev);
	if (ev != NULL)
		CU_ASSERT_EQUAL(ev->end, UM_END_DTMF);
	end_call(x);
	if ((ev = recorded(x, false)) != NULL) {
		check_wav(x, ev, lo_secs(x), hi_secs(x), true);
		check_json(x, ev, false, "AES_CM_128_HMAC_SHA1_80");
	}
	/* Every packet umd sent authenticated with its key; nothing it dropped was told twice. */
	check_stream(x, -1, true, true);
	CU_ASSERT_EQUAL(security_count(x, "authentication"), 1);
	CU_ASSERT_EQUAL(security_count(x, "replay"), 1);
	CU_ASSERT_EQUAL(security_count(x, "source address"), 0);
	CU_ASSERT_EQUAL(metric(x, "umd_srtp_failures_total{check=\"authentication\"}"), 1);
	CU_ASSERT_EQUAL(metric(x, "umd_srtp_failures_total{check=\"replay\"}"), 1);
out:
	fx_free(x);
}

/* silence_seconds without voice ends the message; voice before kept it going. */
static void
test_silence_ends(void)
{
	struct fx *x = fx_new(4);
	const struct um_media_event *ev;
	uint64_t last_voice;
	size_t i;

	fx_start(x);
	params(x, UM_SRTP_NONE);
	if (!begin(x))
		goto out;
	x->mode = SEND_VOICE;
	if (!wait_recording(x, 5000))
		goto out;
	/* Longer than silence_seconds, all voice: the message goes on. */
	pump(x, 2300);
	CU_ASSERT_EQUAL(count_events(x, UM_MEV_HANGUP), 0);
	x->mode = SEND_SILENCE;
	last_voice = x->last_voice_sent;
	ev = wait_event(x, UM_MEV_HANGUP, NULL, 10000);
	CU_ASSERT_PTR_NOT_NULL(ev);
	if (ev != NULL) {
		CU_ASSERT_EQUAL(ev->end, UM_END_SILENCE);
		/* Not before silence_seconds after the last voice was sent (causality, no more). */
		i = (size_t)(ev - x->ev);
		CU_ASSERT(x->ev_at[i] >= last_voice + 2 * NS);
	}
	x->mode = SEND_NONE;
	end_call(x);
	if ((ev = recorded(x, false)) != NULL) {
		check_wav(x, ev, lo_secs(x), hi_secs(x), true);
		check_json(x, ev, false, "RTP");
	}
	CU_ASSERT_EQUAL(count_events(x, UM_MEV_HANGUP), 1);
out:
	fx_free(x);
}

/* max_message_seconds: the message ends (truncated), the end tone, then umd hangs up. */
static void
test_max_ends(void)
{
	struct fx *x = fx_new(4);
	const struct um_media_event *ev;
	size_t first_e;

	fx_start(x);
	params(x, UM_SRTP_NONE);
	if (!begin(x))
		goto out;
	x->mode = SEND_VOICE;
	if (!wait_recording(x, 5000))
		goto out;
	ev = wait_event(x, UM_MEV_HANGUP, NULL, 20000);
	CU_ASSERT_PTR_NOT_NULL(ev);
	if (ev != NULL)
		CU_ASSERT_EQUAL(ev->end, UM_END_MAX);
	x->mode = SEND_NONE;
	/* The end tone whole after the recording's silence, and nothing after it. */
	first_e = first_class(x, 'E');
	CU_ASSERT(first_e != SIZE_MAX && first_e > x->rec_idx);
	CU_ASSERT_EQUAL(count_class(x, 'E', 0, x->nrx), END_FRAMES);
	if (first_e != SIZE_MAX)
		CU_ASSERT_EQUAL(x->nrx, first_e + END_FRAMES);
	check_quiet(x);
	if ((ev = recorded(x, true)) != NULL) {
		CU_ASSERT(ev->seconds <= 5.5);
		check_wav(x, ev, 1.0, 5.5, true);
		check_json(x, ev, true, "RTP");
	}
	/* An RTCP sender report came, 5 s in (RFC 3550 section 6.4.1), from port + 1. */
	CU_ASSERT(x->rtcp >= 1);
	CU_ASSERT_EQUAL(x->rtcp_pt, 200);
	CU_ASSERT_EQUAL(x->rtcp_ssrc, x->stream_ssrc);
	CU_ASSERT_TRUE(x->rtcp_from_ok);
	/* The gateway's 200 to the BYE: the media ends, nothing more is said. */
	end_call(x);
	pump(x, 300);
	CU_ASSERT_EQUAL(count_events(x, UM_MEV_NO_MESSAGE), 0);
	CU_ASSERT_EQUAL(count_events(x, UM_MEV_RECORDED), 1);
	check_stream(x, -1, true, true);
out:
	fx_free(x);
}

/* The caller hangs up during the greeting: no message, nothing in the spool. */
static void
test_hangup_before_beep(void)
{
	struct fx *x = fx_new(4);
	const struct um_media_event *ev;

	fx_start(x);
	params(x, UM_SRTP_NONE);
	if (!begin_with(x, x->longg))
		goto out;
	x->mode = SEND_VOICE;
	if (!wait_packets(x, 0, 3, 5000))
		goto out;
	/*
	 * The caller's packets stop before the hang-up reaches the engine: a packet that arrives
	 * with it is test_end_while_packets' case (a bug).
	 */
	x->mode = SEND_NONE;
	pump(x, 60);
	end_call(x);
	ev = wait_event(x, UM_MEV_NO_MESSAGE, NULL, 5000);
	CU_ASSERT_PTR_NOT_NULL(ev);
	if (ev != NULL)
		CU_ASSERT_EQUAL(ev->end, UM_END_HANGUP);
	check_quiet(x);
	pump(x, 300);
	CU_ASSERT_EQUAL(count_class(x, 'B', 0, x->nrx), 0);
	CU_ASSERT_EQUAL(count_events(x, UM_MEV_RECORDED), 0);
	CU_ASSERT_EQUAL(count_events(x, UM_MEV_HANGUP), 0);
	CU_ASSERT_EQUAL(files_in(x, "new"), 0);
	CU_ASSERT_EQUAL(files_in(x, "tmp"), 0);
	CU_ASSERT_EQUAL(metric(x, "umd_voice_messages_total"), 0);
	CU_ASSERT_TRUE(wait_metric(x, "umd_active_calls", 0, 5000));
out:
	fx_free(x);
}

/* Packets from another address are dropped, counted and reported; none is recorded. */
static void
test_other_source(void)
{
	struct fx *x = fx_new(4);
	const struct um_media_event *ev;
	uint8_t rr[8] = {0x80, 201, 0, 1, 0xba, 0xd0, 0xba, 0xd0};
	unsigned long long dropped;

	x->cfg.silence_seconds = 4;
	fx_start(x);
	params(x, UM_SRTP_NONE);
	if (!begin(x))
		goto out;
	/* The gateway is silent; someone else speaks at the call's RTP and RTCP ports. */
	x->mode = SEND_SILENCE;
	x->spoof = 2;
	ev = wait_event(x, UM_MEV_SECURITY, "source address", 3000);
	CU_ASSERT_PTR_NOT_NULL(ev);
	if (ev != NULL)
		CU_ASSERT_EQUAL(ev->count, 1); /* told at once, the rest held back */
	xmit(x, 3, rr, sizeof(rr), true);
	if (!wait_recording(x, 5000))
		goto out;
	pump(x, 800);
	x->spoof = -1;
	x->mode = SEND_NONE;
	send_hash(x, 0);
	ev = wait_event(x, UM_MEV_HANGUP, NULL, 5000);
	CU_ASSERT_PTR_NOT_NULL(ev);
	if (ev != NULL)
		CU_ASSERT_EQUAL(ev->end, UM_END_DTMF);
	end_call(x);
	if ((ev = recorded(x, false)) != NULL)
		check_wav(x, ev, lo_secs(x), hi_secs(x), false); /* the gateway's silence only */
	/* Every packet dropped is told, in the end (what the rate limit held back too). */
	dropped = x->spoofed + 1;
	CU_ASSERT_EQUAL(security_count(x, "source address"), dropped);
	CU_ASSERT_EQUAL(metric(x, "umd_media_dropped_total{reason=\"source_address\"}"),
	                (long long)dropped);
	CU_ASSERT(count_events(x, UM_MEV_SECURITY) >= 2);
	CU_ASSERT_EQUAL(x->got[2], 0);
	CU_ASSERT_EQUAL(x->got[3], 0);
	check_stream(x, 0, true, true);
out:
	fx_free(x);
}

/*
 * media_latching in a secure mode over SRTP: a packet that fails authentication moves nothing;
 * the first authenticated one does, and then only its source counts.
 */
static void
test_latch_srtp(void)
{
	struct fx *x = fx_new(4);
	const struct um_media_event *ev;
	uint8_t pkt[UM_RTP_HEADER + FRAME + UM_SRTP_OVERHEAD], ulaw[FRAME];
	unsigned long long a;
	size_t len;

	x->cfg.latching = true;
	x->cfg.secure = true;
	fx_start(x);
	params(x, UM_SRTP_AES_CM_128_HMAC_SHA1_80);
	if (!begin(x))
		goto out;
	/* umd sends to the offer's address until something authenticates. */
	if (!wait_packets(x, 0, 3, 5000))
		goto out;
	make_audio(x, SEND_VOICE, ulaw);
	len = build(x, pkt, sizeof(pkt), PT_PCMU, true, x->ts, ulaw, FRAME);
	x->ts += FRAME;
	pkt[len - 1] ^= 0x01; /* the authentication tag */
	xmit(x, 3, pkt, len, false);
	ev = wait_event(x, UM_MEV_SECURITY, "authentication", 3000);
	CU_ASSERT_PTR_NOT_NULL(ev);
	a = x->got[0];
	pump(x, 200);
	CU_ASSERT(x->got[0] > a);
	CU_ASSERT_EQUAL(x->got[3], 0);
	CU_ASSERT_EQUAL(x->got[2], 0);
	/* The gateway behind a NAT: its packets come from another port, and authenticate. */
	x->from = 2;
	x->mode = SEND_VOICE;
	if (!wait_packets(x, 2, 1, 3000))
		goto out;
	pump(x, 100);
	a = x->got[0];
	pump(x, 300);
	CU_ASSERT_EQUAL(x->got[0], a);
	CU_ASSERT(x->got[2] >= 5);
	CU_ASSERT_TRUE(logged(x, "latched"));
	/* Latched: another source, with packets that would authenticate, is dropped. */
	make_audio(x, SEND_VOICE, ulaw);
	len = build(x, pkt, sizeof(pkt), PT_PCMU, false, x->ts, ulaw, FRAME);
	x->ts += FRAME;
	xmit(x, 3, pkt, len, false);
	ev = wait_event(x, UM_MEV_SECURITY, "source address", 3000);
	CU_ASSERT_PTR_NOT_NULL(ev);
	CU_ASSERT_EQUAL(x->got[3], 0);
	check_stream(x, 0, true, true);
	check_stream(x, 2, true, false);
out:
	fx_free(x);
}

/* media_latching in unsecured mode: the first RTP packet's source, then only it. */
static void
test_latch_plain(void)
{
	struct fx *x = fx_new(4);
	const struct um_media_event *ev;
	unsigned long long a;

	x->cfg.latching = true;
	fx_start(x);
	params(x, UM_SRTP_NONE);
	if (!begin(x))
		goto out;
	if (!wait_packets(x, 0, 3, 5000))
		goto out;
	x->from = 2;
	x->mode = SEND_VOICE;
	if (!wait_packets(x, 2, 1, 3000))
		goto out;
	pump(x, 100);
	a = x->got[0];
	pump(x, 300);
	CU_ASSERT_EQUAL(x->got[0], a);
	x->spoof = 3;
	ev = wait_event(x, UM_MEV_SECURITY, "source address", 3000);
	CU_ASSERT_PTR_NOT_NULL(ev);
	CU_ASSERT_EQUAL(x->got[3], 0);
out:
	fx_free(x);
}

/*
 * media_latching in a secure mode with plain RTP (sipsecured, the gateway offered RTP/AVP):
 * nothing authenticates, so nothing latches (README: "in a secure mode never of one that did not:
 * no latching on plain RTP there"), and so only the offer's address counts (README: "Only packets
 * from the address the offer named count").
 *
 * Found by this test (fixed): source_ok took every source until the call latched, and a call of
 * plain RTP in a secure mode never latches, so anyone's RTP was recorded and anyone's '#' ended
 * the call.
 */
static void
test_latch_secure_plain(void)
{
	struct fx *x = fx_new(4);
	const struct um_media_event *ev;

	x->cfg.latching = true;
	x->cfg.secure = true;
	x->cfg.silence_seconds = 4;
	fx_start(x);
	params(x, UM_SRTP_NONE);
	if (!begin(x))
		goto out;
	x->from = 2; /* not the offer's address */
	x->mode = SEND_VOICE;
	if (!wait_recording(x, 5000))
		goto out;
	/* Never latched: umd still sends to the offer's address only (this holds). */
	CU_ASSERT_EQUAL(x->got[2], 0);
	CU_ASSERT(x->got[0] > 0);
	ev = wait_event(x, UM_MEV_SECURITY, "source address", 1000);
	CU_ASSERT_PTR_NOT_NULL(ev); /* refused, and reported */
	CU_ASSERT_EQUAL(metric(x, "umd_media_packets_total{direction=\"in\"}"), 0);
	/* A '#' from the other address must not end the call. */
	x->mode = SEND_NONE;
	send_hash(x, 2);
	pump(x, 500);
	CU_ASSERT_EQUAL(count_events(x, UM_MEV_HANGUP), 0); /* the stranger's '#' ends nothing */
	CU_ASSERT_EQUAL(x->got[2], 0);
out:
	fx_free(x);
}

/* max_calls calls with media: the next is refused; a call's end frees its place. */
static void
test_max_calls(void)
{
	struct fx *x = fx_new(2);
	uint64_t a = 0, b = 0, c = 0;
	int pa = 0, pb = 0, pc = 0, tries;
	enum um_err r;
	size_t i, n;

	x->cfg.max_calls = 2;
	fx_start(x);
	CU_ASSERT_EQUAL(um_media_open(x->m, &a, &pa), UM_OK);
	CU_ASSERT_EQUAL(um_media_open(x->m, &b, &pb), UM_OK);
	CU_ASSERT(a != 0 && b != 0 && a != b);
	CU_ASSERT(pa != pb && pa % 2 == 0 && pb % 2 == 0);
	CU_ASSERT(pa >= x->cfg.port_min && pa < x->cfg.port_max);
	CU_ASSERT(pb >= x->cfg.port_min && pb < x->cfg.port_max);
	/* Its RTP and RTCP ports are bound already (the SDP answer names them). */
	CU_ASSERT_FALSE(udp_bindable(pa));
	CU_ASSERT_FALSE(udp_bindable(pa + 1));
	c = 42;
	pc = 42;
	CU_ASSERT_EQUAL(um_media_open(x->m, &c, &pc), UM_ERR_BUSY);
	CU_ASSERT_EQUAL(c, 0);
	CU_ASSERT_EQUAL(pc, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), "max_calls"));
	CU_ASSERT_EQUAL(metric(x, "umd_calls_refused_busy_total"), 1);
	/* A call that never began ends: its place and ports come back, with a new id. */
	um_media_end(x->m, a, UM_END_ERROR);
	for (tries = 0; tries < 500; tries++) {
		if ((r = um_media_open(x->m, &c, &pc)) == UM_OK)
			break;
		CU_ASSERT_EQUAL(r, UM_ERR_BUSY);
		pump(x, 10);
	}
	CU_ASSERT(c != 0);
	if (c == 0)
		goto out;
	CU_ASSERT_NOT_EQUAL(c, a);
	CU_ASSERT_EQUAL(pc, pa);
	/* The old id names nothing now: ending it again leaves the new call alone. */
	x->call = c;
	x->port = pc;
	x->umd.sin_family = AF_INET;
	x->umd.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	x->umd.sin_port = htons((uint16_t)pc);
	params(x, UM_SRTP_NONE);
	CU_ASSERT_EQUAL(um_media_begin(x->m, c, &x->p, x->longg, meta_for(UM_SRTP_NONE)), UM_OK);
	if (!wait_packets(x, 0, 3, 5000))
		goto out;
	um_media_end(x->m, a, UM_END_HANGUP);
	um_media_end(x->m, 0, UM_END_HANGUP);
	um_media_end(NULL, c, UM_END_HANGUP);
	pump(x, 100);
	n = x->nrx;
	pump(x, 300);
	CU_ASSERT(x->nrx >= n + 5);
	CU_ASSERT_EQUAL(count_events(x, UM_MEV_NO_MESSAGE), 0);
	/* Nothing was said of the calls that never began. */
	um_media_end(x->m, b, UM_END_HANGUP);
	pump(x, 200);
	for (i = 0; i < x->nev; i++)
		CU_ASSERT(x->ev[i].call != a && x->ev[i].call != b);
	end_call(x);
	CU_ASSERT_PTR_NOT_NULL(wait_event(x, UM_MEV_NO_MESSAGE, NULL, 5000));
out:
	fx_free(x);
}

/* No free port pair: UM_ERR_BUSY; a pair another program holds half of is skipped. */
static void
test_ports_busy(void)
{
	struct fx *x = fx_new(2);
	struct sockaddr_in blocker_addr;
	uint64_t a = 0, b = 0, c = 0;
	int pa = 0, pb = 0, pc = 0, blocker;

	x->cfg.max_calls = 10;
	fx_start(x);
	/* Another program holds the first pair's RTCP port. */
	blocker = udp_socket(&blocker_addr, x->cfg.port_min + 1);
	CU_ASSERT_EQUAL(um_media_open(x->m, &a, &pa), UM_OK);
	CU_ASSERT_EQUAL(pa, x->cfg.port_min + 2);
	b = c = 7;
	CU_ASSERT_EQUAL(um_media_open(x->m, &b, &pb), UM_ERR_BUSY);
	CU_ASSERT_EQUAL(b, 0);
	CU_ASSERT_EQUAL(pb, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), "no free media port pair"));
	CU_ASSERT_EQUAL(metric(x, "umd_calls_refused_busy_total"), 1);
	/* The other program is gone: the pair is free again. */
	close(blocker);
	CU_ASSERT_EQUAL(um_media_open(x->m, &c, &pc), UM_OK);
	CU_ASSERT_EQUAL(pc, x->cfg.port_min);
	CU_ASSERT_EQUAL(metric(x, "umd_calls_refused_busy_total"), 1);
	/* Both left opened and never begun: um_media_stop closes them (ASan sees no leak). */
	CU_ASSERT_FALSE(udp_bindable(pc));
	fx_free(x);
}

/* um_media_start refuses what cannot work. */
static void
test_start_refused(void)
{
	struct fx *x = fx_new(2);
	struct um_media_config bad;
	struct um_media *m;

	bad = x->cfg;
	bad.port_min = x->cfg.port_min + 1; /* odd */
	m = (struct um_media *)&bad;
	CU_ASSERT_EQUAL(um_media_start(&bad, x->log, x->metrics, &m), UM_ERR_INVAL);
	CU_ASSERT_PTR_NULL(m);
	bad = x->cfg;
	bad.port_max = bad.port_min;
	CU_ASSERT_EQUAL(um_media_start(&bad, x->log, x->metrics, &m), UM_ERR_INVAL);
	CU_ASSERT_PTR_NULL(m);
	bad = x->cfg;
	bad.port_min = 1000;
	bad.port_max = 1003;
	CU_ASSERT_EQUAL(um_media_start(&bad, x->log, x->metrics, &m), UM_ERR_INVAL);
	bad = x->cfg;
	bad.port_max = 65536;
	CU_ASSERT_EQUAL(um_media_start(&bad, x->log, x->metrics, &m), UM_ERR_INVAL);
	bad = x->cfg;
	bad.max_calls = 0;
	CU_ASSERT_EQUAL(um_media_start(&bad, x->log, x->metrics, &m), UM_ERR_INVAL);
	bad = x->cfg;
	bad.spool = NULL;
	CU_ASSERT_EQUAL(um_media_start(&bad, x->log, x->metrics, &m), UM_ERR_INVAL);
	CU_ASSERT_PTR_NULL(m);
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), "media"));
	/* Stopping nothing, and an engine started and stopped at once. */
	um_media_stop(NULL);
	fx_start(x);
	um_media_quiesce(x->m);
	um_media_quiesce(x->m);
	fx_free(x);
}

/* A re-INVITE puts the call on hold and back: umd stops sending, the recording goes on. */
static void
test_hold(void)
{
	struct fx *x = fx_new(4);
	const struct um_media_event *ev;
	size_t n;

	fx_start(x);
	params(x, UM_SRTP_NONE);
	if (!begin(x))
		goto out;
	x->mode = SEND_VOICE;
	if (!wait_recording(x, 5000))
		goto out;
	pump(x, 300);
	/* The gateway holds (a=sendonly): umd answers recvonly and sends nothing. */
	x->p.dir = UM_DIR_RECVONLY;
	x->p.sess_version++;
	CU_ASSERT_EQUAL(um_media_update(x->m, x->call, &x->p), UM_OK);
	pump(x, 150);
	n = x->nrx;
	pump(x, 400);
	CU_ASSERT_EQUAL(x->nrx, n);
	/* Back: the same stream goes on, its timestamps counting the time on hold. */
	x->p.dir = UM_DIR_SENDRECV;
	x->p.sess_version++;
	CU_ASSERT_EQUAL(um_media_update(x->m, x->call, &x->p), UM_OK);
	if (!wait_packets(x, 0, x->got[0] + 5, 3000))
		goto out;
	CU_ASSERT((uint16_t)(x->rx[n].seq - x->rx[n - 1].seq) > 10);
	/* Inactive, and the caller's side silent longer than silence_seconds: not silence. */
	x->p.dir = UM_DIR_INACTIVE;
	x->p.sess_version++;
	CU_ASSERT_EQUAL(um_media_update(x->m, x->call, &x->p), UM_OK);
	x->mode = SEND_NONE;
	pump(x, 150);
	n = x->nrx;
	pump(x, 2300);
	CU_ASSERT_EQUAL(x->nrx, n);
	CU_ASSERT_EQUAL(count_events(x, UM_MEV_HANGUP), 0);
	x->p.dir = UM_DIR_SENDRECV;
	x->p.sess_version++;
	CU_ASSERT_EQUAL(um_media_update(x->m, x->call, &x->p), UM_OK);
	x->next_send = now_ns();
	x->mode = SEND_VOICE;
	if (!wait_packets(x, 0, x->got[0] + 5, 3000))
		goto out;
	pump(x, 300);
	x->mode = SEND_NONE;
	send_hash(x, 0);
	ev = wait_event(x, UM_MEV_HANGUP, NULL, 5000);
	CU_ASSERT_PTR_NOT_NULL(ev);
	if (ev != NULL)
		CU_ASSERT_EQUAL(ev->end, UM_END_DTMF);
	end_call(x);
	/* One message, through both holds. */
	if ((ev = recorded(x, false)) != NULL)
		check_wav(x, ev, 0.5, hi_secs(x), true);
	pump(x, 200);
	CU_ASSERT_EQUAL(count_events(x, UM_MEV_RECORDED), 1);
	check_stream(x, -1, false, true);
out:
	fx_free(x);
}

/*
 * umd stops with calls under way: the one recording is committed, truncated; the one in its
 * greeting leaves no message; one opened and never begun is closed.
 */
static void
test_stop_commits(void)
{
	struct fx *x = fx_new(4);
	struct um_media_params p2;
	uint64_t c2 = 0, c3 = 0;
	int p2port = 0, p3port = 0;
	const struct um_media_event *ev;
	size_t i, no_msg = 0;

	fx_start(x);
	params(x, UM_SRTP_NONE);
	if (!begin(x))
		goto out;
	x->mode = SEND_VOICE;
	if (!wait_recording(x, 5000))
		goto out;
	pump(x, 600);
	/* A second call, to the gateway's other socket, in its long greeting. */
	p2 = x->p;
	memcpy(&p2.remote_rtp, &x->addr[2], sizeof(x->addr[2]));
	CU_ASSERT_EQUAL(um_media_open(x->m, &c2, &p2port), UM_OK);
	CU_ASSERT_EQUAL(um_media_begin(x->m, c2, &p2, x->longg, meta_for(UM_SRTP_NONE)), UM_OK);
	CU_ASSERT_EQUAL(um_media_open(x->m, &c3, &p3port), UM_OK);
	pump(x, 100);
	um_media_quiesce(x->m);
	collect_events(x);
	ev = find_event(x, UM_MEV_RECORDED, NULL);
	CU_ASSERT_PTR_NOT_NULL(ev);
	if (ev != NULL) {
		CU_ASSERT_TRUE(ev->truncated);
		CU_ASSERT(ev->msg_id[0] != '\0');
		check_wav(x, ev, lo_secs(x), hi_secs(x), true);
		check_json(x, ev, true, "RTP");
	}
	CU_ASSERT_EQUAL(count_events(x, UM_MEV_HANGUP), 0);
	for (i = 0; i < x->nev; i++) {
		if (x->ev[i].call == c2) {
			CU_ASSERT_EQUAL(x->ev[i].kind, UM_MEV_NO_MESSAGE);
			CU_ASSERT_EQUAL(x->ev[i].end, UM_END_SHUTDOWN);
			no_msg++;
		}
		CU_ASSERT_NOT_EQUAL(x->ev[i].call, c3);
	}
	CU_ASSERT_EQUAL(no_msg, 1);
	CU_ASSERT_EQUAL(files_in(x, "new"), 2);
	CU_ASSERT_EQUAL(files_in(x, "tmp"), 0);
	/* The ports are free once it is stopped. */
	um_media_stop(x->m);
	x->m = NULL;
	CU_ASSERT_TRUE(udp_bindable(x->port));
	CU_ASSERT_TRUE(udp_bindable(p2port));
	CU_ASSERT_TRUE(udp_bindable(p3port + 1));
	um_media_params_wipe(&p2);
out:
	fx_free(x);
}

/* um_media_stop alone (no quiesce first) commits the message under way. */
static void
test_stop_alone(void)
{
	struct fx *x = fx_new(4);
	char path[4096];
	struct dirent *d;
	DIR *dp;
	json_t *o;
	int found = 0;

	fx_start(x);
	params(x, UM_SRTP_NONE);
	if (!begin(x))
		goto out;
	x->mode = SEND_VOICE;
	if (!wait_recording(x, 5000))
		goto out;
	pump(x, 400);
	um_media_stop(x->m);
	x->m = NULL;
	snprintf(path, sizeof(path), "%s/new", x->spool);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dp = opendir(path));
	while ((d = readdir(dp)) != NULL) {
		size_t len = strlen(d->d_name);

		if (len < 5 || strcmp(d->d_name + len - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/new/%s", x->spool, d->d_name);
		o = json_load_file(path, 0, NULL);
		CU_ASSERT_PTR_NOT_NULL(o);
		CU_ASSERT_TRUE(json_is_true(json_object_get(o, "truncated")));
		CU_ASSERT(json_number_value(json_object_get(o, "seconds")) > 0.1);
		json_decref(o);
		found++;
	}
	closedir(dp);
	CU_ASSERT_EQUAL(found, 1);
	CU_ASSERT_EQUAL(files_in(x, "tmp"), 0);
out:
	fx_free(x);
}

/* '#' during the greeting skips it: the beep comes at once, and the call goes on. */
static void
test_hash_skips_greeting(void)
{
	struct fx *x = fx_new(4);
	const struct um_media_event *ev;

	fx_start(x);
	params(x, UM_SRTP_NONE);
	if (!begin_with(x, x->longg))
		goto out;
	if (!wait_packets(x, 0, 3, 5000))
		goto out;
	send_hash(x, 0);
	x->next_send = now_ns();
	x->mode = SEND_VOICE;
	if (!wait_recording(x, 5000))
		goto out;
	CU_ASSERT(count_class(x, 'G', 0, x->rec_idx) < LONG_MS / 20);
	CU_ASSERT_EQUAL(count_class(x, 'B', 0, x->rec_idx), BEEP_FRAMES);
	CU_ASSERT_EQUAL(count_events(x, UM_MEV_HANGUP), 0);
	pump(x, 400);
	x->mode = SEND_NONE;
	send_hash(x, 0);
	ev = wait_event(x, UM_MEV_HANGUP, NULL, 5000);
	CU_ASSERT_PTR_NOT_NULL(ev);
	if (ev != NULL)
		CU_ASSERT_EQUAL(ev->end, UM_END_DTMF);
	end_call(x);
	if ((ev = recorded(x, false)) != NULL)
		check_wav(x, ev, lo_secs(x), hi_secs(x), true);
	check_stream(x, -1, true, true);
out:
	fx_free(x);
}

/* No telephone-event offered: '#' is heard in the audio (spandsp's DTMF receiver). */
static void
test_inband_hash(void)
{
	struct fx *x = fx_new(4);
	const struct um_media_event *ev;

	fx_start(x);
	params(x, UM_SRTP_NONE);
	x->p.te_pt = -1;
	if (!begin(x))
		goto out;
	x->mode = SEND_VOICE;
	if (!wait_recording(x, 5000))
		goto out;
	pump(x, 400);
	CU_ASSERT_EQUAL(count_events(x, UM_MEV_HANGUP), 0); /* the voice is no digit */
	x->dtmf_left = 5;                                   /* 100 ms of '#', then silence */
	x->mode = SEND_DTMF;
	ev = wait_event(x, UM_MEV_HANGUP, NULL, 5000);
	CU_ASSERT_PTR_NOT_NULL(ev);
	if (ev != NULL)
		CU_ASSERT_EQUAL(ev->end, UM_END_DTMF);
	x->mode = SEND_NONE;
	end_call(x);
	CU_ASSERT_PTR_NOT_NULL(recorded(x, false));
out:
	fx_free(x);
}

/*
 * A session the media cannot start with (an SRTP key of the wrong length): nothing is sent,
 * it is logged, and the SIP thread hears of it.
 *
 * Found by this test (fixed): the engine ended such a session without asking the SIP thread
 * for a BYE, so the call stayed up with no media and no timer until the gateway hung up. Now a
 * UM_MEV_HANGUP with UM_END_ERROR comes with the "no message".
 */
static void
test_begin_fails(void)
{
	struct fx *x = fx_new(4);
	const struct um_media_event *ev;

	fx_start(x);
	params(x, UM_SRTP_AES_CM_128_HMAC_SHA1_80);
	x->p.local.key_len = 5;
	if (!begin(x))
		goto out;
	ev = wait_event(x, UM_MEV_NO_MESSAGE, NULL, 5000);
	CU_ASSERT_PTR_NOT_NULL(ev);
	if (ev != NULL)
		CU_ASSERT_EQUAL(ev->end, UM_END_ERROR);
	ev = wait_event(x, UM_MEV_HANGUP, NULL, 1000);
	CU_ASSERT_PTR_NOT_NULL(ev); /* umd sends BYE */
	if (ev != NULL)
		CU_ASSERT_EQUAL(ev->end, UM_END_ERROR);
	pump(x, 300);
	CU_ASSERT_EQUAL(x->nrx, 0);
	CU_ASSERT_EQUAL(x->rtcp, 0);
	CU_ASSERT_TRUE(logged(x, "media not started"));
	end_call(x);
	CU_ASSERT_TRUE(wait_metric(x, "umd_active_calls", 0, 5000));
	CU_ASSERT_EQUAL(files_in(x, "new"), 0);
out:
	fx_free(x);
}

/*
 * The gateway's BYE while its RTP still flows: the engine ends the call while a packet for it is
 * waiting. Run in a child process, whose death is the failure (the rest of the suite goes on).
 *
 * Found by this test (fixed): a batch may hold the command eventfd and, after it, the call's RTP
 * socket; the end command freed the session and the same loop then read the freed session
 * through the event's pointer (a use after free on the media thread). Released sessions are
 * now freed after the batch. Here the engine thread is made to run after the test queued both
 * (one CPU, the engine thread SCHED_IDLE), so the batch is [command, RTP socket] every time.
 */
static int
end_race_child(void)
{
	struct sched_param sp = {0};
	cpu_set_t all, one;
	uint8_t pkt[UM_RTP_HEADER + FRAME + UM_SRTP_OVERHEAD];
	struct fx *x;
	int cpu, i, k, tries;

	/* One CPU for the test and the engine, and the engine only runs when the test waits. */
	CPU_ZERO(&one);
	if (sched_getaffinity(0, sizeof(all), &all) == 0) {
		for (cpu = 0; cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &all); cpu++)
			continue;
		if (cpu < CPU_SETSIZE)
			CPU_SET(cpu, &one);
		(void)sched_setaffinity(0, sizeof(one), &one);
	}
	x = fx_new(4);
	(void)sched_setscheduler(0, SCHED_IDLE, &sp); /* inherited by the engine's thread */
	fx_start(x);
	(void)sched_setscheduler(0, SCHED_OTHER, &sp);
	params(x, UM_SRTP_NONE);
	for (i = 0; i < 10; i++) {
		for (tries = 0; tries < 100 && um_media_open(x->m, &x->call, &x->port) != UM_OK;
		     tries++)
			pump(x, 10);
		if (x->call == 0)
			return 2;
		x->umd.sin_family = AF_INET;
		x->umd.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		x->umd.sin_port = htons((uint16_t)x->port);
		if (um_media_begin(x->m, x->call, &x->p, x->longg, meta_for(UM_SRTP_NONE)) != UM_OK)
			return 2;
		pump(x, 50); /* the engine idle in epoll_wait, nothing waiting */
		um_media_end(x->m, x->call, UM_END_HANGUP);
		for (k = 0; k < 3; k++)
			send_audio(x, 0, SEND_VOICE, pkt, sizeof(pkt));
		pump(x, 30);
	}
	x->ended = true;
	fx_free(x);
	return 0;
}

static void
test_end_while_packets(void)
{
	char *base = tu_tmpdir();
	pid_t pid;
	int status = 0;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	CU_ASSERT_FATAL(pid != -1);
	if (pid == 0) {
		/* The child's files go under `base`, removed here whatever becomes of it. */
		setenv("TMPDIR", base, 1);
		_exit(end_race_child());
	}
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	tu_rmrf(base);
	free(base);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "\nthe engine died ending a call with a packet waiting (%s %d)\n",
		        WIFSIGNALED(status) ? "signal" : "exit status",
		        WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		CU_FAIL("a call ended while its packets arrive: the engine died");
	}
}

static CU_TestInfo tests[] = {
        {"greeting, beep, voice, '#': a message", test_hash_ends},
        {"SRTP; a flipped bit and a replay are dropped", test_srtp},
        {"silence_seconds ends the message", test_silence_ends},
        {"max_message_seconds: end tone, truncated", test_max_ends},
        {"a hang-up before the beep leaves no message", test_hangup_before_beep},
        {"packets from another address are dropped", test_other_source},
        {"latching on the first authenticated packet", test_latch_srtp},
        {"latching on plain RTP in unsecured mode", test_latch_plain},
        {"no latching on plain RTP in a secure mode", test_latch_secure_plain},
        {"max_calls: UM_ERR_BUSY, a place freed", test_max_calls},
        {"no free port pair: UM_ERR_BUSY", test_ports_busy},
        {"um_media_start refuses bad configurations", test_start_refused},
        {"hold and resume", test_hold},
        {"stop with calls under way commits", test_stop_commits},
        {"um_media_stop alone commits", test_stop_alone},
        {"'#' during the greeting skips it", test_hash_skips_greeting},
        {"in-band '#' without telephone-event", test_inband_hash},
        {"a session that cannot start", test_begin_fails},
        {"a call ended while its packets arrive", test_end_while_packets},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("um_engine", tests);
}
