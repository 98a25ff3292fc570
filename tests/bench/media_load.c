/*
 * media_load: calls with media against umd, for the benchmarks (tests/bench/media_bench).
 *
 * One thread, epoll, non-blocking sockets and OpenSSL, as siptls_load. Each call is what a SIP
 * gateway does when it leaves a voice message:
 *
 *   1. a TCP+TLS connection of its own, with the gateway's client certificate (--cert, --key;
 *      umd pins it in a [gateway] entry);
 *   2. INVITE with an SDP offer: PCMU, telephone-event (RFC 4733), a=ptime:20, a=rtcp-mux
 *      (RFC 5761), and RTP/SAVP with a fresh AES_CM_128_HMAC_SHA1_80 SDES key (RFC 4568), or
 *      RTP/AVP with --rtp; its media on a UDP socket of its own on the loopback address;
 *   3. umd's 200: its media address and port and, for SRTP, its own key; then the ACK;
 *   4. for --duration seconds, a 20 ms PCMU packet of a 1000 Hz tone every 20 ms (SRTP-protected
 *      with libsrtp2; packets due within 1 ms of each other go out together, as a gateway's DSP
 *      hands over its channels' frames), while umd's packets (the greeting, the beep, then what
 *      it plays while it records) are received (recvmmsg) and measured. umd's packets are
 *      authenticated and decrypted until the end of the beep, then one in --verify-every
 *      (default: all): the header SRTP leaves in the clear is all loss and jitter need, and
 *      libsrtp2 as Debian builds it (NSS) costs the generator as much per packet as it costs
 *      umd, on a machine where both share two cores;
 *   5. BYE, answered by umd with 200; or with --end dtmf, '#' as RFC 4733 events, and umd's
 *      BYE is waited for and answered.
 *
 * Calls are started --rate per second (or spread over --ramp seconds), not all at once. SIP
 * messages are framed here (the header block and Content-Length) and parsed by sofia-sip
 * (msg_make); umd's SDP answer by sofia-sip's sdp_parse; G.711 is spandsp's.
 *
 * What it measures of umd's stream, on the kernel's receive timestamps (SO_TIMESTAMPNS, so that
 * this program's own scheduling does not count):
 *   - loss: by RTP sequence numbers (RFC 3550 appendix A.1), expected minus received, until
 *     the BYE is sent;
 *   - jitter: the RFC 3550 interarrival jitter of each call (appendix A.8), and the distribution
 *     over all calls of |arrival interval - 20 ms| between consecutive packets (p50, p99, p99.9,
 *     max), for the whole stream and for its first part alone (greeting and beep);
 *   - slip: how far umd's stream fell behind real time (arrival time spanned against RTP
 *     timestamps spanned; a frame umd skips to catch up leaves no gap in the sequence);
 *   - what umd says of ours: the loss and jitter of the last RTCP receiver report it sent.
 * For the recording: umd records from the end of the beep. The end of the beep is the last
 * non-silent packet of umd's stream before a silent one (greeting files aside, the default
 * greeting is silence); the number of tone packets sent after it and before the BYE (or '#') is
 * the length the message should have, which tests/bench/media_bench compares with the WAV
 * files in umd's spool (--calls-out writes one JSON line per call, with its Call-ID).
 *
 * It prints one JSON object on stdout and one human line on stderr: calls started, answered,
 * failed (by kind), completed, packets sent and received, loss, jitter, what the generator
 * itself could keep (how late its own sends were), its own CPU time and how long it waited for
 * a CPU (another program on its core shows there).
 *
 * --srtp-floor measures instead what the work costs at the least, on this machine: libsrtp2's
 * srtp_protect and srtp_unprotect of a 172-byte RTP packet (12-byte header, 160 bytes of PCMU)
 * with AES_CM_128_HMAC_SHA1_80, and one send() plus one recv() of that packet over loopback UDP,
 * each with one context (socket pair) and with --floor-contexts of them in turn (a server's
 * working set). CPU time per operation; one JSON object.
 *
 * Bounded: loopback addresses only, at most MAX_CALLS calls and MAX_SECONDS seconds of media,
 * every signalling step with a timeout (--timeout), and the whole run with a deadline.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <sofia-sip/msg.h>
#include <sofia-sip/sdp.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/su_alloc.h>
#include <spandsp.h>
#include <srtp2/srtp.h>

#define MAX_CALLS    2000
#define MAX_SECONDS  600
#define MAX_RATE     1000.0
#define RBUF         8192 /* SIP bytes read and not yet parsed, per call */
#define WBUF         4096 /* SIP bytes waiting to be written, per call */
#define MS           1000000ULL
#define NS           1000000000ULL
#define PTIME        (20 * MS)
#define FRAME        160 /* samples (bytes of PCMU) per packet */
#define RTP_HDR      12
#define PKT_LEN      (RTP_HDR + FRAME) /* 172: what --srtp-floor measures */
#define PKT_BUF      (PKT_LEN + SRTP_MAX_TRAILER_LEN + 16)
#define UDP_BUF      2048
#define UDP_BURST    16 /* datagrams read per readiness */
#define SEND_SLACK   (1 * MS)
#define TONE_HZ      1000
#define TONE_AMP     10000 /* about -10 dBFS: voice to umd's silence detector */
#define PT_PCMU      0
#define TE_PT        101 /* our telephone-event payload type (dynamic, RFC 4733 section 7.1.1) */
#define EV_HASH      11  /* RFC 4733 section 3.2: '#' */
#define DTMF_PACKETS 6   /* three with the event running, three with its end bit */
#define KEY_LEN      30  /* AES_CM_128: 16-byte master key, 14-byte salt (RFC 4568 6.2.1) */
#define KEY_B64      40
#define SUITE        "AES_CM_128_HMAC_SHA1_80"
#define SILENT_MS    (200.0 * 200.0) /* mean square below this: a silent packet */
#define DEV_US       10              /* histogram bucket of interval deviations */
#define DEV_BUCKETS  200000          /* 2 s */

enum state {
	C_WAIT,       /* not started yet */
	C_CONNECTING, /* TCP */
	C_HANDSHAKE,  /* TLS */
	C_INVITING,   /* INVITE sent, waiting for the final response */
	C_MEDIA,      /* ACK sent; the tone goes out, umd's stream comes in */
	C_DTMF,       /* '#' going out as RFC 4733 events */
	C_HASHED,     /* '#' sent: waiting for umd's BYE */
	C_BYE,        /* BYE sent: waiting for its 200 */
	C_DONE,       /* over; its figures counted */
};

enum errkind {
	E_CONNECT,
	E_TLS,
	E_CLOSED,
	E_IO,
	E_STATUS,
	E_TIMEOUT,
	E_PARSE,
	E_SDP,
	E_SRTP_SETUP,
	E_UMD_BYE,
	E_BYE_STATUS,
	E_COUNT
};
static const char *const err_names[E_COUNT] = {"connect", "tls",        "closed",    "io",
                                               "status",  "timeout",    "parse",     "sdp",
                                               "srtp",    "umd_hangup", "bye_status"};

enum end_kind { END_BYE, END_DTMF };

struct call {
	unsigned id;
	enum state st;
	int fd;  /* TLS */
	int ufd; /* RTP and, muxed, RTCP */
	SSL *ssl;
	uint32_t events;
	int lport, uport;
	uint64_t t_start;  /* when it is to start */
	uint64_t deadline; /* of the current signalling step; 0: none */
	uint64_t t_media_end;
	bool answered, failed, in_media, counted;
	enum errkind why;

	/* Signalling. */
	char call_id[64], tag[24];
	char to[320];    /* umd's To, with its tag, for the ACK and the BYE */
	char uri[320];   /* umd's Contact: the Request-URI of the ACK and the BYE */
	char route[640]; /* "Route: ...\r\n" from the 200's Record-Route (a proxy between), or "" */
	uint64_t t_invite; /* when the call started (connect, TLS handshake, INVITE) */
	unsigned cseq;
	size_t rlen, wlen, woff;
	char rbuf[RBUF];
	char wbuf[WBUF];

	/* Media out. */
	struct sockaddr_in peer;
	srtp_t tx, rx;
	uint32_t ssrc, ts, event_ts;
	uint16_t seq;
	uint64_t next_send;
	size_t heap_at; /* its index in the send heap + 1; 0: not in it */
	int dtmf_n;
	unsigned long long sent, sent_at_beep, tone_sent;

	/* Media in (RFC 3550 appendix A.1, A.8). */
	bool rx_started, have_last, transit_set;
	uint32_t rx_ssrc, cycles, base_seq;
	uint16_t max_seq, last_seq;
	unsigned long long received;
	int64_t first_arrival, last_arrival;
	uint32_t first_ts, last_ts;
	double jitter, jitter_max, last_transit;
	int phase;           /* of umd's stream: 0 greeting, 1 beep, 2 after the beep */
	bool beep_end_known; /* the recording's start was seen */
	unsigned long long srtp_fail, verified;
	unsigned rx_seen;

	/* umd's view of ours, from its last RTCP receiver report block. */
	unsigned rtcp_reports;
	uint32_t umd_lost, umd_jitter;
};

static struct {
	const char *host;
	int port;
	struct sockaddr_in addr;
	int calls;
	double duration, rate, ramp, timeout;
	bool rtp;
	enum end_kind end;
	const char *cert, *key, *label, *to, *calls_out;
	bool floor;
	long floor_packets;
	int floor_contexts, verify_every;
} opt = {.host = "127.0.0.1",
         .calls = 10,
         .duration = 30,
         .rate = 50,
         .timeout = 10,
         .end = END_BYE,
         .label = "",
         .to = "1001",
         .floor_packets = 200000,
         .floor_contexts = 500,
         .verify_every = 1};

static struct {
	SSL_CTX *ctx;
	int ep;
	struct call *calls;
	struct call **heap;
	size_t nheap;
	FILE *calls_out;
	uint8_t tone[FRAME];
	uint32_t *dev_all, *dev_greet, *late; /* histograms, DEV_US buckets */
	unsigned long long n_all, n_greet, n_late;
	double dev_max_ms, greet_max_ms, late_max_ms;
	long started, answered, completed, finished, failed, umd_ended;
	long errors[E_COUNT];
	int statuses[8][2]; /* failing final status codes and their counts */
	int in_media, peak;
	uint64_t t_begin, t_all_up, t_first_down;
	unsigned long long sent, received, expected, srtp_fail, verified, rtcp_reports, umd_lost;
	double jitter_sum, jitter_max, umd_jitter_max, slip_sum, slip_max, wait0;
	long jitter_n;
	unsigned seq;
	double *setup_ms; /* INVITE to 200 of each answered call */
	long n_setup;
} g;

static volatile sig_atomic_t got_signal;

static void
on_signal(int sig)
{
	got_signal = sig;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: media_load --port P [--host 127.0.0.1] [--calls N] [--duration S]\n"
	           "         [--rate CALLS_PER_S | --ramp S] [--rtp] [--end bye|dtmf] [--to USER]\n"
	           "         [--cert FILE --key FILE] [--timeout S] [--calls-out FILE] "
	           "[--verify-every N]\n"
	           "         [--label TEXT]\n"
	           "       media_load --srtp-floor [--packets N] [--floor-contexts N] "
	           "[--label TEXT]\n");
}

/* "media_load: WHAT ARG: WHY", exit 2 (a usage error). */
static void
die(const char *what, const char *arg, const char *why)
{
	fprintf(stderr, "media_load: %s %s: %s\n", what, arg, why);
	exit(2);
}

static void
die_ssl(const char *what)
{
	char buf[256];
	unsigned long e = ERR_get_error();

	ERR_error_string_n(e, buf, sizeof(buf));
	fprintf(stderr, "media_load: %s: %s\n", what, e ? buf : "failed");
	exit(2);
}

static void
die_errno(const char *what)
{
	fprintf(stderr, "media_load: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* IPv4 loopback only, numeric: the generator must not load anything else. */
static void
resolve(void)
{
	struct addrinfo hints, *ai = NULL;
	char port[16];
	bool loop;

	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%d", opt.port);
	if (getaddrinfo(opt.host, port, &hints, &ai) != 0 || ai == NULL)
		die("--host", opt.host, "not a numeric IPv4 address");
	memcpy(&opt.addr, ai->ai_addr, sizeof(opt.addr));
	freeaddrinfo(ai);
	loop = (ntohl(opt.addr.sin_addr.s_addr) >> 24) == 127;
	if (!loop)
		die("--host", opt.host, "loopback addresses only");
}

static bool
is_loopback(const char *a)
{
	struct in_addr in;

	return inet_pton(AF_INET, a, &in) == 1 && (ntohl(in.s_addr) >> 24) == 127;
}

static void
make_ctx(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL)
		die_ssl("SSL_CTX_new");
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
		die_ssl("TLS 1.2+");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (opt.cert != NULL) {
		if (SSL_CTX_use_certificate_chain_file(ctx, opt.cert) != 1)
			die_ssl(opt.cert);
		if (SSL_CTX_use_PrivateKey_file(ctx, opt.key, SSL_FILETYPE_PEM) != 1)
			die_ssl(opt.key);
		if (SSL_CTX_check_private_key(ctx) != 1)
			die_ssl("--cert and --key do not go together");
	}
	g.ctx = ctx;
}

/* --- histograms of deviations --------------------------------------------------------------- */

static void
hist_add(uint32_t *h, unsigned long long *n, double *max_ms, double dev_ns)
{
	double us = dev_ns / 1000.0;
	size_t b = us < 0 ? 0 : (size_t)(us / DEV_US);

	if (b >= DEV_BUCKETS)
		b = DEV_BUCKETS - 1;
	h[b]++;
	(*n)++;
	if (dev_ns / 1e6 > *max_ms)
		*max_ms = dev_ns / 1e6;
}

/* The p-quantile in ms (the bucket's upper edge). */
static double
hist_pct(const uint32_t *h, unsigned long long n, double p)
{
	unsigned long long want, acc = 0;
	size_t b;

	if (n == 0)
		return 0;
	want = (unsigned long long)ceil(p * (double)n);
	if (want == 0)
		want = 1;
	for (b = 0; b < DEV_BUCKETS; b++) {
		acc += h[b];
		if (acc >= want)
			return (double)(b + 1) * DEV_US / 1000.0;
	}
	return (double)DEV_BUCKETS * DEV_US / 1000.0;
}

/* --- the send heap: calls by when their next packet is due ---------------------------------- */

static bool
heap_less(size_t a, size_t b)
{
	return g.heap[a]->next_send < g.heap[b]->next_send;
}

static void
heap_swap(size_t a, size_t b)
{
	struct call *t = g.heap[a];

	g.heap[a] = g.heap[b];
	g.heap[b] = t;
	g.heap[a]->heap_at = a + 1;
	g.heap[b]->heap_at = b + 1;
}

static void
heap_up(size_t i)
{
	while (i > 0 && heap_less(i, (i - 1) / 2)) {
		heap_swap(i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
heap_down(size_t i)
{
	size_t l, r, m;

	for (;;) {
		l = 2 * i + 1;
		r = l + 1;
		m = i;
		if (l < g.nheap && heap_less(l, m))
			m = l;
		if (r < g.nheap && heap_less(r, m))
			m = r;
		if (m == i)
			return;
		heap_swap(i, m);
		i = m;
	}
}

static void
heap_push(struct call *c)
{
	g.heap[g.nheap] = c;
	c->heap_at = ++g.nheap;
	heap_up(g.nheap - 1);
}

static void
heap_remove(struct call *c)
{
	size_t i;

	if (c->heap_at == 0)
		return;
	i = c->heap_at - 1;
	c->heap_at = 0;
	if (--g.nheap == i)
		return;
	g.heap[i] = g.heap[g.nheap];
	g.heap[i]->heap_at = i + 1;
	heap_up(i);
	heap_down(g.heap[i]->heap_at - 1);
}

/* --- one call's sockets --------------------------------------------------------------------- */

static uint64_t
tag_of(const struct call *c, bool udp)
{
	return (uint64_t)c->id << 1 | (udp ? 1 : 0);
}

static void
want(struct call *c, uint32_t ev)
{
	struct epoll_event e;

	if (c->events == ev || c->fd == -1)
		return;
	memset(&e, 0, sizeof(e));
	e.events = ev;
	e.data.u64 = tag_of(c, false);
	if (epoll_ctl(g.ep, c->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &e) == -1)
		die_errno("epoll_ctl");
	c->events = ev;
}

static void
count_status(int code)
{
	size_t i;

	for (i = 0; i < sizeof(g.statuses) / sizeof(g.statuses[0]); i++) {
		if (g.statuses[i][0] == code || g.statuses[i][0] == 0) {
			g.statuses[i][0] = code;
			g.statuses[i][1]++;
			return;
		}
	}
}

static void
leave_media(struct call *c, uint64_t now)
{
	if (!c->in_media)
		return;
	c->in_media = false;
	g.in_media--;
	if (g.t_all_up != 0 && g.t_first_down == 0)
		g.t_first_down = now;
}

/* The call's figures, once: its receive statistics and its line in --calls-out. */
static void
count_call(struct call *c)
{
	unsigned long long expected = 0;
	double slip = 0;

	if (c->counted)
		return;
	c->counted = true;
	g.sent += c->sent;
	g.srtp_fail += c->srtp_fail;
	g.verified += c->verified;
	if (c->rx_started) {
		expected = (unsigned long long)(c->cycles + c->max_seq) - c->base_seq + 1;
		g.expected += expected;
		g.received += c->received;
		g.jitter_sum += c->jitter / 8.0; /* timestamp units of 8 kHz: ms */
		g.jitter_n++;
		if (c->jitter_max / 8.0 > g.jitter_max)
			g.jitter_max = c->jitter_max / 8.0;
		/*
		 * How far umd's stream fell behind real time: the time its packets took to arrive
		 * against the media time their timestamps span (a frame umd skips to catch up
		 * leaves no gap in the sequence numbers, only this).
		 */
		slip = (double)(c->last_arrival - c->first_arrival) / 1e6 -
		       (double)(uint32_t)(c->last_ts - c->first_ts) / 8.0;
		g.slip_sum += slip;
		if (slip > g.slip_max)
			g.slip_max = slip;
	}
	if (c->rtcp_reports > 0) {
		g.rtcp_reports += c->rtcp_reports;
		g.umd_lost += c->umd_lost;
		if (c->umd_jitter / 8.0 > g.umd_jitter_max)
			g.umd_jitter_max = c->umd_jitter / 8.0;
	}
	if (g.calls_out != NULL && c->answered)
		fprintf(g.calls_out,
		        "{\"call_id\":\"%s\",\"failed\":%s,\"error\":\"%s\",\"sent\":%llu,"
		        "\"tone_packets\":%llu,\"tone_ms\":%llu,\"recording_start_seen\":%s,"
		        "\"received\":%llu,\"expected\":%llu,\"srtp_failures\":%llu,"
		        "\"jitter_ms\":%.3f,\"slip_ms\":%.1f,\"umd_reported_lost\":%u,"
		        "\"umd_reported_jitter_ms\":%.3f}\n",
		        c->call_id, c->failed ? "true" : "false",
		        c->failed ? err_names[c->why] : "", c->sent, c->tone_sent,
		        c->tone_sent * 20, c->beep_end_known ? "true" : "false", c->received,
		        expected, c->srtp_fail, c->jitter / 8.0, slip, c->umd_lost,
		        c->umd_jitter / 8.0);
}

static void
close_call(struct call *c, uint64_t now)
{
	leave_media(c, now);
	heap_remove(c);
	count_call(c);
	if (c->ssl != NULL) {
		/* close_notify, without waiting for umd's */
		(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd != -1)
		close(c->fd); /* leaves the epoll set with it */
	if (c->ufd != -1)
		close(c->ufd);
	c->fd = c->ufd = -1;
	c->events = 0;
	if (c->tx != NULL)
		srtp_dealloc(c->tx); /* it wipes its keys */
	if (c->rx != NULL)
		srtp_dealloc(c->rx);
	c->tx = c->rx = NULL;
	c->deadline = 0;
	c->st = C_DONE;
	g.finished++;
	ERR_clear_error();
}

/* A call failed: counted by the first reason, and over. */
static void
fail(struct call *c, enum errkind k, uint64_t now)
{
	if (!c->failed) {
		c->failed = true;
		c->why = k;
		g.errors[k]++;
		g.failed++;
	}
	close_call(c, now);
}

/* --- SIP ------------------------------------------------------------------------------------ */

static void
flush(struct call *c, uint64_t now)
{
	int r, e;

	while (c->woff < c->wlen) {
		r = SSL_write(c->ssl, c->wbuf + c->woff, (int)(c->wlen - c->woff));
		if (r <= 0) {
			e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
				want(c, EPOLLIN | EPOLLOUT);
				return;
			}
			fail(c, e == SSL_ERROR_SSL ? E_TLS : E_IO, now);
			return;
		}
		c->woff += (size_t)r;
	}
	c->woff = c->wlen = 0;
	want(c, EPOLLIN);
}

/* Appends one message; false when it does not fit (the call fails). */
static bool queue(struct call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool
queue(struct call *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(c->wbuf + c->wlen, WBUF - c->wlen, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= WBUF - c->wlen)
		return false;
	c->wlen += (size_t)n;
	return true;
}

static bool
send_invite(struct call *c, const char *key_b64)
{
	char sdp[1024];
	int n;

	n = snprintf(sdp, sizeof(sdp),
	             "v=0\r\n"
	             "o=media_load %u 1 IN IP4 127.0.0.1\r\n"
	             "s=-\r\n"
	             "c=IN IP4 127.0.0.1\r\n"
	             "t=0 0\r\n"
	             "m=audio %d %s %d %d\r\n"
	             "a=rtpmap:%d PCMU/8000\r\n"
	             "a=rtpmap:%d telephone-event/8000\r\n"
	             "a=fmtp:%d 0-15\r\n"
	             "a=ptime:20\r\n"
	             "a=rtcp-mux\r\n"
	             "%s%s%s"
	             "a=sendrecv\r\n",
	             c->id, c->uport, opt.rtp ? "RTP/AVP" : "RTP/SAVP", PT_PCMU, TE_PT, PT_PCMU,
	             TE_PT, TE_PT,
	             opt.rtp ? "" : "a=crypto:1 " SUITE " inline:", opt.rtp ? "" : key_b64,
	             opt.rtp ? "" : "\r\n");
	if (n < 0 || (size_t)n >= sizeof(sdp))
		return false;
	c->cseq = 1;
	g.seq++;
	return queue(c,
	             "INVITE sip:%s@%s:%d;transport=tls SIP/2.0\r\n"
	             "Via: SIP/2.0/TLS 127.0.0.1:%d;branch=z9hG4bK%x.%x.%x;rport;alias\r\n"
	             "Max-Forwards: 70\r\n"
	             "From: <sip:media_load@gw1.example.test>;tag=%s\r\n"
	             "To: <sip:%s@%s>\r\n"
	             "Call-ID: %s\r\n"
	             "CSeq: 1 INVITE\r\n"
	             "Contact: <sip:media_load@127.0.0.1:%d;transport=tls>\r\n"
	             "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS\r\n"
	             "User-Agent: media_load\r\n"
	             "Content-Type: application/sdp\r\n"
	             "Content-Length: %d\r\n\r\n%s",
	             opt.to, opt.host, opt.port, c->lport, (unsigned)getpid(), c->id, g.seq, c->tag,
	             opt.to, opt.host, c->call_id, c->lport, n, sdp);
}

/* The route set of the dialog (RFC 3261 section 12.1.2): the 200's Record-Route, reversed, as
 * one Route header for the ACK and the BYE; none when no proxy record-routed. */
static void
set_route(struct call *c, su_home_t *home, sip_record_route_t const *rr)
{
	const char *v[8];
	size_t n = 0, off = 0;
	int k;

	c->route[0] = '\0';
	for (; rr != NULL && n < sizeof(v) / sizeof(v[0]); rr = rr->r_next)
		if ((v[n] = sip_header_as_string(home, (sip_header_t const *)rr)) != NULL)
			n++;
	while (n > 0) {
		k = snprintf(c->route + off, sizeof(c->route) - off, "%s%s",
		             off ? ", " : "Route: ", v[--n]);
		if (k < 0 || (size_t)k >= sizeof(c->route) - off) {
			c->route[0] = '\0';
			return;
		}
		off += (size_t)k;
	}
	if (off > 0 && off + 3 <= sizeof(c->route))
		memcpy(c->route + off, "\r\n", 3);
	else
		c->route[0] = '\0';
}

/* ACK (CSeq 1) or BYE (CSeq 2) in the dialog umd's 200 made. */
static bool
send_in_dialog(struct call *c, const char *method)
{
	unsigned cseq = strcmp(method, "ACK") == 0 ? 1 : ++c->cseq;

	g.seq++;
	return queue(c,
	             "%s %s SIP/2.0\r\n"
	             "Via: SIP/2.0/TLS 127.0.0.1:%d;branch=z9hG4bK%x.%x.%x;rport;alias\r\n"
	             "Max-Forwards: 70\r\n"
	             "%s"
	             "From: <sip:media_load@gw1.example.test>;tag=%s\r\n"
	             "To: %s\r\n"
	             "Call-ID: %s\r\n"
	             "CSeq: %u %s\r\n"
	             "User-Agent: media_load\r\n"
	             "Content-Length: 0\r\n\r\n",
	             method, c->uri, c->lport, (unsigned)getpid(), c->id, g.seq, c->route, c->tag,
	             c->to, c->call_id, cseq, method);
}

/* A response to a request of umd's (its BYE, an OPTIONS): its Vias, From, To, Call-ID, CSeq. */
static bool
respond(struct call *c, sip_t const *sip, int code, const char *phrase)
{
	su_home_t home[1] = {SU_HOME_INIT(home)};
	sip_via_t const *v;
	bool ok;

	ok = queue(c, "SIP/2.0 %d %s\r\n", code, phrase);
	for (v = sip->sip_via; ok && v != NULL; v = v->v_next)
		ok = queue(c, "Via: %s\r\n", sip_header_as_string(home, (sip_header_t const *)v));
	ok = ok && queue(c,
	                 "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n"
	                 "Content-Length: 0\r\n\r\n",
	                 sip_header_as_string(home, (sip_header_t const *)sip->sip_from),
	                 sip_header_as_string(home, (sip_header_t const *)sip->sip_to),
	                 sip_header_as_string(home, (sip_header_t const *)sip->sip_call_id),
	                 sip_header_as_string(home, (sip_header_t const *)sip->sip_cseq));
	su_home_deinit(home);
	return ok;
}

/*
 * A whole message at the start of rbuf: its length in *used (keep-alive CRLFs before it
 * skipped, RFC 5626 section 4.4.1), 0 when more is needed, -1 when it cannot be one. Only the
 * framing is read here; sofia-sip parses the message.
 */
static int
frame(struct call *c, size_t *skip, size_t *used)
{
	const char *p, *end, *line, *next;
	long clen = -1;

	*skip = 0;
	while (*skip < c->rlen && (c->rbuf[*skip] == '\r' || c->rbuf[*skip] == '\n'))
		(*skip)++;
	c->rbuf[c->rlen] = '\0';
	p = c->rbuf + *skip;
	if ((end = strstr(p, "\r\n\r\n")) == NULL)
		return c->rlen >= RBUF - 1 ? -1 : 0;
	for (line = strstr(p, "\r\n") + 2; line < end; line = next + 2) {
		next = strstr(line, "\r\n");
		if (strncasecmp(line, "Content-Length:", 15) == 0)
			clen = strtol(line + 15, NULL, 10);
		else if (strncasecmp(line, "l:", 2) == 0)
			clen = strtol(line + 2, NULL, 10);
	}
	/* RFC 3261 section 18.3: over a stream, Content-Length is required */
	if (clen < 0 || clen > RBUF / 2)
		return -1;
	if (*skip + (size_t)(end + 4 - p) + (size_t)clen > c->rlen)
		return c->rlen >= RBUF - 1 ? -1 : 0;
	*used = (size_t)(end + 4 - p) + (size_t)clen;
	return 1;
}

/* SDES key: "1 AES_CM_128_HMAC_SHA1_80 inline:KEYSALT[|...]" (RFC 4568 section 9.1). */
static bool
parse_crypto(const char *v, unsigned char key[KEY_LEN])
{
	unsigned char tmp[KEY_B64];
	const char *k;
	size_t n = 0;
	bool ok;

	if (v == NULL || strstr(v, " " SUITE " ") == NULL || (k = strstr(v, "inline:")) == NULL)
		return false;
	k += 7;
	while (k[n] != '\0' && k[n] != '|' && k[n] != ' ')
		n++;
	/* 30 bytes are 40 base64 characters, without padding */
	ok = n == KEY_B64 && EVP_DecodeBlock(tmp, (const unsigned char *)k, (int)n) == KEY_LEN;
	if (ok)
		memcpy(key, tmp, KEY_LEN);
	OPENSSL_cleanse(tmp, sizeof(tmp));
	return ok;
}

static bool
make_srtp(srtp_t *out, unsigned char key[KEY_LEN], srtp_ssrc_type_t type)
{
	srtp_policy_t p;

	memset(&p, 0, sizeof(p));
	srtp_crypto_policy_set_rtp_default(&p.rtp); /* AES_CM_128_HMAC_SHA1_80 */
	srtp_crypto_policy_set_rtcp_default(&p.rtcp);
	p.ssrc.type = type;
	p.key = key;
	p.window_size = 128;
	return srtp_create(out, &p) == srtp_err_status_ok;
}

/* umd's answer: its media address and port, and its key (SRTP); the receive context. */
static enum errkind
take_answer(struct call *c, sip_t const *sip)
{
	su_home_t home[1] = {SU_HOME_INIT(home)};
	sdp_parser_t *parser = NULL;
	sdp_session_t *sdp;
	sdp_media_t *m;
	sdp_connection_t *conn;
	sdp_attribute_t *a;
	unsigned char key[KEY_LEN];
	enum errkind r = E_SDP;

	if (sip->sip_payload == NULL || sip->sip_payload->pl_len == 0)
		goto out;
	parser = sdp_parse(home, sip->sip_payload->pl_data, (issize_t)sip->sip_payload->pl_len, 0);
	if ((sdp = sdp_session(parser)) == NULL)
		goto out;
	for (m = sdp->sdp_media; m != NULL; m = m->m_next)
		if (m->m_type == sdp_media_audio && m->m_port != 0)
			break;
	if (m == NULL || m->m_proto != (opt.rtp ? sdp_proto_rtp : sdp_proto_srtp))
		goto out;
	conn = m->m_connections != NULL ? m->m_connections : sdp->sdp_connection;
	if (conn == NULL || conn->c_addrtype != sdp_addr_ip4 || !is_loopback(conn->c_address))
		goto out;
	c->peer.sin_family = AF_INET;
	c->peer.sin_port = htons((uint16_t)m->m_port);
	(void)inet_pton(AF_INET, conn->c_address, &c->peer.sin_addr);
	if (!opt.rtp) {
		a = sdp_attribute_find(m->m_attributes, "crypto");
		if (a == NULL || !parse_crypto(a->a_value, key))
			goto out;
		r = make_srtp(&c->rx, key, ssrc_any_inbound) ? (enum errkind)E_COUNT : E_SRTP_SETUP;
		OPENSSL_cleanse(key, sizeof(key));
		if (r != E_COUNT)
			goto out;
	}
	r = E_COUNT; /* none */
out:
	sdp_parser_free(parser);
	su_home_deinit(home);
	return r;
}

/* The media starts: the UDP socket is connected to umd's port and watched; sending begins. */
static void
start_media(struct call *c, uint64_t now)
{
	struct epoll_event e;

	if (connect(c->ufd, (struct sockaddr *)&c->peer, sizeof(c->peer)) != 0) {
		fail(c, E_IO, now);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.events = EPOLLIN;
	e.data.u64 = tag_of(c, true);
	if (epoll_ctl(g.ep, EPOLL_CTL_ADD, c->ufd, &e) == -1)
		die_errno("epoll_ctl");
	c->st = C_MEDIA;
	c->deadline = 0;
	c->answered = true;
	g.answered++;
	c->in_media = true;
	if (++g.in_media > g.peak)
		g.peak = g.in_media;
	if (g.in_media == opt.calls && g.t_all_up == 0)
		g.t_all_up = now;
	c->next_send = now;
	c->t_media_end = now + (uint64_t)(opt.duration * 1e9);
	heap_push(c);
}

static void
on_response(struct call *c, sip_t const *sip, uint64_t now)
{
	int code = sip->sip_status->st_status;
	sip_method_t method = sip->sip_cseq ? sip->sip_cseq->cs_method : sip_method_unknown;
	enum errkind r;

	if (code < 200)
		return; /* provisional: the final one follows */
	if (method == sip_method_invite) {
		if (c->st != C_INVITING) {
			/* RFC 3261 section 13.3.1.4: a 2xx retransmitted until the ACK came */
			if (code < 300 && c->answered && c->st != C_DONE) {
				if (send_in_dialog(c, "ACK"))
					flush(c, now);
				else
					fail(c, E_IO, now);
			}
			return;
		}
		if (code >= 300) {
			count_status(code);
			fail(c, E_STATUS, now); /* e.g. 503 when umd is full, 488 for the offer */
			return;
		}
		if (sip->sip_to == NULL || sip->sip_contact == NULL)
			goto bad;
		{
			su_home_t home[1] = {SU_HOME_INIT(home)};
			char *to = sip_header_as_string(home, (sip_header_t const *)sip->sip_to);
			char *u = url_as_string(home, sip->sip_contact->m_url);

			snprintf(c->to, sizeof(c->to), "%s", to ? to : "");
			snprintf(c->uri, sizeof(c->uri), "%s", u ? u : "");
			set_route(c, home, sip->sip_record_route);
			su_home_deinit(home);
		}
		if (g.setup_ms != NULL)
			g.setup_ms[g.n_setup++] = (double)(now - c->t_invite) / 1e6;
		if (c->to[0] == '\0' || c->uri[0] == '\0')
			goto bad;
		if (!send_in_dialog(c, "ACK")) {
			fail(c, E_IO, now);
			return;
		}
		if ((r = take_answer(c, sip)) != E_COUNT) {
			/* an answer this program cannot use: the call is ended politely, and failed
			 */
			c->failed = true;
			c->why = r;
			g.errors[r]++;
			g.failed++;
			if (send_in_dialog(c, "BYE")) {
				c->st = C_BYE;
				c->deadline = now + (uint64_t)(opt.timeout * 1e9);
				flush(c, now);
			} else {
				close_call(c, now);
			}
			return;
		}
		start_media(c, now);
		if (c->st != C_DONE)
			flush(c, now);
		return;
	}
	if (method == sip_method_bye && c->st == C_BYE) {
		if (code >= 300) {
			count_status(code);
			fail(c, E_BYE_STATUS, now);
			return;
		}
		if (!c->failed)
			g.completed++;
		close_call(c, now);
	}
	return;
bad:
	fail(c, E_PARSE, now);
}

static void
on_request(struct call *c, sip_t const *sip, uint64_t now)
{
	sip_method_t m = sip->sip_request->rq_method;

	if (m == sip_method_ack)
		return;
	if (m != sip_method_bye) {
		if (!respond(c, sip, m == sip_method_options ? 200 : 501,
		             m == sip_method_options ? "OK" : "Not Implemented"))
			fail(c, E_IO, now);
		else
			flush(c, now);
		return;
	}
	/* umd hangs up: after '#' as it should; otherwise on silence, length, or an error. */
	if (!respond(c, sip, 200, "OK")) {
		fail(c, E_IO, now);
		return;
	}
	flush(c, now);
	if (c->st == C_DONE)
		return;
	leave_media(c, now);
	if (c->st == C_MEDIA)
		c->tone_sent = c->beep_end_known ? c->sent - c->sent_at_beep : 0;
	g.umd_ended++;
	if (c->st == C_HASHED || c->st == C_DTMF) {
		if (!c->failed)
			g.completed++;
		close_call(c, now);
		return;
	}
	if (c->st == C_BYE) {
		close_call(c, now); /* both hung up at once: the call is over all the same */
		if (!c->failed)
			g.completed++;
		return;
	}
	fail(c, E_UMD_BYE, now);
}

/* Every whole message read so far. */
static void
read_sip(struct call *c, uint64_t now)
{
	size_t skip, used;
	int f;
	msg_t *msg;
	sip_t *sip;

	while (c->st != C_DONE && (f = frame(c, &skip, &used)) != 0) {
		if (f < 0) {
			fail(c, E_PARSE, now);
			return;
		}
		msg = msg_make(sip_default_mclass(), 0, c->rbuf + skip, (ssize_t)used);
		sip = msg ? sip_object(msg) : NULL;
		memmove(c->rbuf, c->rbuf + skip + used, c->rlen - skip - used);
		c->rlen -= skip + used;
		if (sip == NULL || sip->sip_error != NULL || sip->sip_call_id == NULL ||
		    sip->sip_cseq == NULL ||
		    (sip->sip_status == NULL) == (sip->sip_request == NULL)) {
			msg_destroy(msg);
			fail(c, E_PARSE, now);
			return;
		}
		if (sip->sip_status != NULL)
			on_response(c, sip, now);
		else
			on_request(c, sip, now);
		msg_destroy(msg);
	}
}

static void
begin_call(struct call *c, uint64_t now)
{
	unsigned char key[KEY_LEN];
	char b64[KEY_B64 + 4];

	c->lport = 0;
	{
		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);

		if (getsockname(c->fd, (struct sockaddr *)&sa, &sl) == 0)
			c->lport = ntohs(sa.sin_port);
	}
	b64[0] = '\0';
	if (!opt.rtp) {
		if (RAND_bytes(key, sizeof(key)) != 1 ||
		    !make_srtp(&c->tx, key, ssrc_any_outbound)) {
			OPENSSL_cleanse(key, sizeof(key));
			fail(c, E_SRTP_SETUP, now);
			return;
		}
		(void)EVP_EncodeBlock((unsigned char *)b64, key, KEY_LEN);
		OPENSSL_cleanse(key, sizeof(key));
	}
	if (!send_invite(c, b64)) {
		OPENSSL_cleanse(b64, sizeof(b64));
		fail(c, E_IO, now);
		return;
	}
	OPENSSL_cleanse(b64, sizeof(b64));
	c->st = C_INVITING;
	c->deadline = now + (uint64_t)(opt.timeout * 1e9);
	flush(c, now);
}

/* TLS and SIP: as far as it goes without waiting. */
static void
step(struct call *c, uint64_t now)
{
	int r, e, soerr = 0;
	socklen_t sl = sizeof(soerr);

	switch (c->st) {
	case C_CONNECTING:
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1 || soerr != 0) {
			fail(c, E_CONNECT, now);
			return;
		}
		if ((c->ssl = SSL_new(g.ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
			fail(c, E_TLS, now);
			return;
		}
		SSL_set_connect_state(c->ssl);
		c->st = C_HANDSHAKE;
		/* fall through */
	case C_HANDSHAKE:
		r = SSL_do_handshake(c->ssl);
		if (r == 1) {
			begin_call(c, now);
			return;
		}
		e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ)
			want(c, EPOLLIN);
		else if (e == SSL_ERROR_WANT_WRITE)
			want(c, EPOLLOUT);
		else
			fail(c, E_TLS, now);
		return;
	case C_WAIT:
	case C_DONE:
		return;
	default:
		break;
	}
	if (c->woff < c->wlen) {
		flush(c, now);
		if (c->st == C_DONE)
			return;
	}
	for (;;) {
		r = SSL_read(c->ssl, c->rbuf + c->rlen, (int)(RBUF - 1 - c->rlen));
		if (r <= 0) {
			e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				return;
			/* umd closed the connection, or TLS failed (a refused client certificate)
			 */
			fail(c, e == SSL_ERROR_SSL ? E_TLS : E_CLOSED, now);
			return;
		}
		c->rlen += (size_t)r;
		read_sip(c, now);
		if (c->st == C_DONE)
			return;
	}
}

static void
start_call(struct call *c, uint64_t now)
{
	int one = 1;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);

	g.started++;
	c->t_invite = now;
	c->st = C_CONNECTING;
	c->deadline = now + (uint64_t)(opt.timeout * 1e9);
	snprintf(c->call_id, sizeof(c->call_id), "%x-%x-%x@media_load", (unsigned)getpid(), c->id,
	         (unsigned)(now & 0xffffff));
	snprintf(c->tag, sizeof(c->tag), "ml%x%x", c->id, (unsigned)(now & 0xffff));
	if (RAND_bytes((unsigned char *)&c->ssrc, sizeof(c->ssrc)) != 1 ||
	    RAND_bytes((unsigned char *)&c->seq, sizeof(c->seq)) != 1 ||
	    RAND_bytes((unsigned char *)&c->ts, sizeof(c->ts)) != 1) {
		fail(c, E_IO, now);
		return;
	}
	c->seq &= 0x7fff;
	/* the media socket: 127.0.0.1, a port of the kernel's; receive timestamps on */
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((c->ufd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(c->ufd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(c->ufd, (struct sockaddr *)&sa, &sl) != 0 ||
	    setsockopt(c->ufd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) != 0) {
		fail(c, E_IO, now);
		return;
	}
	c->uport = ntohs(sa.sin_port);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		fail(c, E_CONNECT, now);
		return;
	}
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&opt.addr, sizeof(opt.addr)) == -1 &&
	    errno != EINPROGRESS) {
		fail(c, E_CONNECT, now);
		return;
	}
	want(c, EPOLLOUT);
}

/* --- media ---------------------------------------------------------------------------------- */

static void
put_rtp_header(uint8_t *b, bool marker, uint8_t pt, uint16_t seq, uint32_t ts, uint32_t ssrc)
{
	b[0] = 0x80;
	b[1] = (uint8_t)((marker ? 0x80 : 0) | pt);
	b[2] = (uint8_t)(seq >> 8);
	b[3] = (uint8_t)seq;
	b[4] = (uint8_t)(ts >> 24);
	b[5] = (uint8_t)(ts >> 16);
	b[6] = (uint8_t)(ts >> 8);
	b[7] = (uint8_t)ts;
	b[8] = (uint8_t)(ssrc >> 24);
	b[9] = (uint8_t)(ssrc >> 16);
	b[10] = (uint8_t)(ssrc >> 8);
	b[11] = (uint8_t)ssrc;
}

/* Protects (SRTP) and sends one packet; false when the socket refused it. */
static bool
send_packet(struct call *c, uint8_t *buf, int len)
{
	if (c->tx != NULL && srtp_protect(c->tx, buf, &len) != srtp_err_status_ok)
		return false;
	return send(c->ufd, buf, (size_t)len, 0) == len;
}

/* The end of the media: BYE, or '#' as RFC 4733 events. */
static void
end_media(struct call *c, uint64_t now)
{
	c->tone_sent = c->beep_end_known ? c->sent - c->sent_at_beep : 0;
	if (opt.end == END_DTMF) {
		c->st = C_DTMF;
		c->dtmf_n = 0;
		c->event_ts = c->ts;
		return;
	}
	heap_remove(c);
	leave_media(c, now);
	if (!send_in_dialog(c, "BYE")) {
		fail(c, E_IO, now);
		return;
	}
	c->st = C_BYE;
	c->deadline = now + (uint64_t)(opt.timeout * 1e9);
	flush(c, now);
}

/* The packet due now: the tone, or one of the '#' event's. */
static void
send_due(struct call *c, uint64_t now)
{
	uint8_t buf[PKT_BUF];
	uint16_t dur;

	if (c->st == C_MEDIA && c->next_send >= c->t_media_end) {
		end_media(c, now);
		if (c->st != C_DTMF)
			return;
	}
	if (c->st == C_MEDIA) {
		put_rtp_header(buf, c->sent == 0, PT_PCMU, c->seq, c->ts, c->ssrc);
		memcpy(buf + RTP_HDR, g.tone, FRAME);
		if (send_packet(c, buf, PKT_LEN))
			c->sent++;
		c->seq++;
		c->ts += FRAME;
	} else if (c->st == C_DTMF) {
		/* RFC 4733 section 2.5.1: one timestamp, a growing duration, the end sent 3 times
		 */
		dur = (uint16_t)(FRAME * (c->dtmf_n < 3 ? c->dtmf_n + 1 : 3));
		put_rtp_header(buf, c->dtmf_n == 0, TE_PT, c->seq, c->event_ts, c->ssrc);
		buf[RTP_HDR] = EV_HASH;
		buf[RTP_HDR + 1] = (uint8_t)((c->dtmf_n >= 3 ? 0x80 : 0) | 10); /* -10 dBm0 */
		buf[RTP_HDR + 2] = (uint8_t)(dur >> 8);
		buf[RTP_HDR + 3] = (uint8_t)dur;
		(void)send_packet(c, buf, RTP_HDR + 4);
		c->seq++;
		if (++c->dtmf_n == DTMF_PACKETS) {
			heap_remove(c);
			leave_media(c, now);
			c->st = C_HASHED;
			c->deadline = now + (uint64_t)(opt.timeout * 1e9);
			return;
		}
	}
	c->next_send += PTIME;
	heap_down(c->heap_at - 1);
}

/*
 * Every packet due by now and within SEND_SLACK (sent together, as a gateway's DSP hands over
 * its channels' frames; it spares a wake-up per packet), late ones at once: the timestamps keep
 * the 20 ms.
 */
static void
run_sends(uint64_t now)
{
	struct call *c;

	while (g.nheap > 0 && (c = g.heap[0])->next_send <= now + SEND_SLACK) {
		hist_add(g.late, &g.n_late, &g.late_max_ms,
		         now > c->next_send ? (double)(now - c->next_send) : 0);
		send_due(c, now);
	}
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* umd's RTCP (muxed, RFC 5761): the report block about our stream (RFC 3550 section 6.4). */
static void
rx_rtcp(struct call *c, uint8_t *buf, int len)
{
	size_t off = 0, plen;
	unsigned rc;

	if (c->rx != NULL && srtp_unprotect_rtcp(c->rx, buf, &len) != srtp_err_status_ok) {
		c->srtp_fail++;
		return;
	}
	while (off + 8 <= (size_t)len) {
		rc = buf[off] & 0x1f;
		plen = 4 * ((size_t)(buf[off + 2] << 8 | buf[off + 3]) + 1);
		if (off + plen > (size_t)len)
			break;
		/* SR: 28 bytes before its first block; RR: 8. The block about our SSRC. */
		if (rc > 0 && (buf[off + 1] == 200 || buf[off + 1] == 201)) {
			size_t b = off + (buf[off + 1] == 200 ? 28 : 8);

			if (b + 24 <= off + plen && get32(buf + b) == c->ssrc) {
				c->rtcp_reports++;
				c->umd_lost = get32(buf + b + 4) & 0xffffff;
				c->umd_jitter = get32(buf + b + 12);
			}
		}
		off += plen;
	}
}

static void
rx_rtp(struct call *c, uint8_t *buf, int len, int64_t arrival)
{
	uint16_t seq, delta;
	uint32_t ts, ssrc;
	size_t off = RTP_HDR, n, i;
	double transit, d, ms = 0;
	uint8_t pt;

	/*
	 * Authenticated and decrypted while the greeting and the beep play (the beep is found in
	 * the audio), then one packet in --verify-every: sequence numbers and timestamps are in
	 * the clear (RFC 3711 section 3.1), and libsrtp2 as Debian builds it (NSS) costs this
	 * program as much per packet as it costs umd.
	 */
	if (c->rx != NULL && (c->phase < 2 || c->rx_seen++ % (unsigned)opt.verify_every == 0)) {
		if (srtp_unprotect(c->rx, buf, &len) != srtp_err_status_ok) {
			c->srtp_fail++;
			return;
		}
		c->verified++;
	}
	if (len < RTP_HDR || (buf[0] >> 6) != 2)
		return;
	off += 4u * (buf[0] & 0x0f);
	if ((buf[0] & 0x10) && off + 4 <= (size_t)len)
		off += 4 + 4u * ((size_t)(buf[off + 2] << 8 | buf[off + 3]));
	if (off > (size_t)len)
		return;
	pt = buf[1] & 0x7f;
	seq = (uint16_t)(buf[2] << 8 | buf[3]);
	ts = get32(buf + 4);
	ssrc = get32(buf + 8);
	if (!c->rx_started || ssrc != c->rx_ssrc) {
		c->rx_started = true;
		c->rx_ssrc = ssrc;
		c->base_seq = c->max_seq = seq;
		c->cycles = 0;
		c->received = 0;
		c->have_last = c->transit_set = false;
		c->first_arrival = arrival;
		c->first_ts = ts;
	}
	delta = (uint16_t)(seq - c->max_seq);
	if (delta != 0 && delta < 3000) {
		if (seq < c->max_seq)
			c->cycles += 65536;
		c->max_seq = seq;
	}
	c->received++;
	/* |interval - 20 ms| between consecutive packets, on the kernel's receive timestamps */
	if (c->have_last && seq == (uint16_t)(c->last_seq + 1)) {
		d = fabs((double)(arrival - c->last_arrival) - (double)PTIME);
		hist_add(g.dev_all, &g.n_all, &g.dev_max_ms, d);
		if (c->phase < 2)
			hist_add(g.dev_greet, &g.n_greet, &g.greet_max_ms, d);
	}
	if (!c->have_last || (int16_t)(seq - c->last_seq) > 0) {
		c->have_last = true;
		c->last_seq = seq;
		c->last_arrival = arrival;
		c->last_ts = ts;
	}
	/* RFC 3550 appendix A.8, in timestamp units */
	transit = (double)arrival / (NS / 8000) - (double)ts;
	if (c->transit_set) {
		d = fabs(transit - c->last_transit);
		c->jitter += (d - c->jitter) / 16.0;
		if (c->jitter > c->jitter_max)
			c->jitter_max = c->jitter;
	}
	c->last_transit = transit;
	c->transit_set = true;
	/* The beep: the first sound after the (silent) greeting; the recording starts at its end.
	 */
	if (pt != PT_PCMU || c->phase == 2 || c->st != C_MEDIA)
		return;
	n = (size_t)len - off;
	for (i = 0; i < n; i++) {
		double v = ulaw_to_linear(buf[off + i]);

		ms += v * v;
	}
	if (n > 0 && ms / (double)n > SILENT_MS) {
		c->phase = 1;
		c->sent_at_beep = c->sent;
	} else if (c->phase == 1) {
		c->phase = 2;
		c->beep_end_known = true;
	}
}

/*
 * umd's datagrams on a call's socket, with their receive timestamps: what is queued, in one
 * recvmmsg (a socket gets a packet every 20 ms; reading until EAGAIN would double the calls).
 */
static void
rx_media(struct call *c)
{
	static uint8_t buf[UDP_BURST][UDP_BUF];
	static char ctl[UDP_BURST][CMSG_SPACE(sizeof(struct timespec))];
	struct iovec iov[UDP_BURST];
	struct mmsghdr mm[UDP_BURST];
	struct cmsghdr *cm;
	struct timespec ts;
	int i, n;

	if (c->ufd == -1)
		return;
	memset(mm, 0, sizeof(mm));
	for (i = 0; i < UDP_BURST; i++) {
		iov[i].iov_base = buf[i];
		iov[i].iov_len = UDP_BUF - SRTP_MAX_TRAILER_LEN;
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_hdr.msg_control = ctl[i];
		mm[i].msg_hdr.msg_controllen = sizeof(ctl[i]);
	}
	n = recvmmsg(c->ufd, mm, UDP_BURST, MSG_DONTWAIT, NULL);
	for (i = 0; i < n; i++) {
		ts.tv_sec = 0;
		for (cm = CMSG_FIRSTHDR(&mm[i].msg_hdr); cm != NULL;
		     cm = CMSG_NXTHDR(&mm[i].msg_hdr, cm))
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS)
				memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
		if (ts.tv_sec == 0)
			clock_gettime(CLOCK_REALTIME, &ts);
		if (c->st != C_MEDIA && c->st != C_DTMF && c->st != C_HASHED)
			continue; /* after the BYE: no longer counted */
		if (mm[i].msg_len >= 2 && buf[i][1] >= 192 && buf[i][1] <= 223)
			rx_rtcp(c, buf[i], (int)mm[i].msg_len);
		else
			rx_rtp(c, buf[i], (int)mm[i].msg_len,
			       (int64_t)ts.tv_sec * (int64_t)NS + ts.tv_nsec);
	}
}

/* --- the run -------------------------------------------------------------------------------- */

static void
check_deadlines(uint64_t now)
{
	int i;
	struct call *c;

	for (i = 0; i < opt.calls; i++) {
		c = &g.calls[i];
		if (c->st != C_DONE && c->st != C_WAIT && c->deadline != 0 && now >= c->deadline)
			fail(c, E_TIMEOUT, now);
	}
}

/* Seconds this thread has waited for a CPU while runnable (the scheduler's statistics). */
static double
runqueue_wait(void)
{
	unsigned long long run = 0, wait = 0;
	FILE *f = fopen("/proc/thread-self/schedstat", "r");

	if (f == NULL)
		return 0;
	if (fscanf(f, "%llu %llu", &run, &wait) != 2)
		wait = 0;
	fclose(f);
	return (double)wait / 1e9;
}

static double
cpu_seconds(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The p-th quantile of n sorted values (0 when none). */
static double
sorted_pct(const double *v, long n, double p)
{
	long i;

	if (v == NULL || n <= 0)
		return 0;
	i = (long)(p * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

static void
report(uint64_t t_stop)
{
	double secs = (double)(t_stop - g.t_begin) / 1e9, cpu = cpu_seconds();
	double loss = g.expected > g.received
	                      ? 100.0 * (double)(g.expected - g.received) / (double)g.expected
	                      : 0;
	double all_up = 0;
	long errs = 0;
	size_t i;

	if (g.t_all_up != 0)
		all_up = (double)((g.t_first_down ? g.t_first_down : t_stop) - g.t_all_up) / 1e9;
	if (g.setup_ms != NULL)
		qsort(g.setup_ms, (size_t)g.n_setup, sizeof(*g.setup_ms), cmp_double);
	for (i = 0; i < E_COUNT; i++)
		errs += g.errors[i];
	printf("{\"tool\":\"media_load\",\"label\":\"%s\",\"mode\":\"calls\",\"target\":\"%s:%d\","
	       "\"media\":\"%s\",\"end\":\"%s\",\"calls\":%d,\"rate\":%.1f,\"duration\":%.1f,"
	       "\"seconds\":%.3f,\"started\":%ld,\"answered\":%ld,\"completed\":%ld,\"failed\":%ld,"
	       "\"umd_hung_up\":%ld,\"peak_concurrent\":%d,\"all_up_seconds\":%.2f,"
	       "\"errors\":%ld,\"error_kinds\":{",
	       opt.label, opt.host, opt.port, opt.rtp ? "RTP" : SUITE,
	       opt.end == END_BYE ? "bye" : "dtmf", opt.calls, opt.rate, opt.duration, secs,
	       g.started, g.answered, g.completed, g.failed, g.umd_ended, g.peak, all_up, errs);
	for (i = 0; i < E_COUNT; i++)
		printf("%s\"%s\":%ld", i ? "," : "", err_names[i], g.errors[i]);
	printf("},\"statuses\":{");
	for (i = 0; i < sizeof(g.statuses) / sizeof(g.statuses[0]) && g.statuses[i][0]; i++)
		printf("%s\"%d\":%d", i ? "," : "", g.statuses[i][0], g.statuses[i][1]);
	printf("},\"packets_sent\":%llu,\"packets_received\":%llu,\"packets_expected\":%llu,"
	       "\"loss_pct\":%.4f,\"srtp_failures\":%llu,\"srtp_verified\":%llu,"
	       "\"jitter_p50_ms\":%.3f,\"jitter_p99_ms\":%.3f,\"jitter_p999_ms\":%.3f,"
	       "\"jitter_max_ms\":%.3f,\"jitter_samples\":%llu,"
	       "\"greeting_jitter_p50_ms\":%.3f,\"greeting_jitter_p99_ms\":%.3f,"
	       "\"greeting_jitter_max_ms\":%.3f,\"greeting_jitter_samples\":%llu,"
	       "\"rfc3550_jitter_ms_mean\":%.3f,\"rfc3550_jitter_ms_max\":%.3f,"
	       "\"slip_ms_mean\":%.1f,\"slip_ms_max\":%.1f,"
	       "\"umd_rtcp_reports\":%llu,\"umd_reported_lost\":%llu,"
	       "\"umd_reported_jitter_ms_max\":%.3f,"
	       "\"send_late_p50_ms\":%.3f,\"send_late_p99_ms\":%.3f,\"send_late_max_ms\":%.3f,"
	       "\"client_cpu_s\":%.2f,\"client_runqueue_wait_s\":%.2f,"
	       "\"setup_ms_p50\":%.2f,\"setup_ms_p99\":%.2f,\"setup_ms_max\":%.2f}\n",
	       g.sent, g.received, g.expected, loss, g.srtp_fail, g.verified,
	       hist_pct(g.dev_all, g.n_all, 0.5), hist_pct(g.dev_all, g.n_all, 0.99),
	       hist_pct(g.dev_all, g.n_all, 0.999), g.dev_max_ms, g.n_all,
	       hist_pct(g.dev_greet, g.n_greet, 0.5), hist_pct(g.dev_greet, g.n_greet, 0.99),
	       g.greet_max_ms, g.n_greet, g.jitter_n ? g.jitter_sum / (double)g.jitter_n : 0,
	       g.jitter_max, g.jitter_n ? g.slip_sum / (double)g.jitter_n : 0, g.slip_max,
	       g.rtcp_reports, g.umd_lost, g.umd_jitter_max, hist_pct(g.late, g.n_late, 0.5),
	       hist_pct(g.late, g.n_late, 0.99), g.late_max_ms, cpu, runqueue_wait() - g.wait0,
	       sorted_pct(g.setup_ms, g.n_setup, 0.5), sorted_pct(g.setup_ms, g.n_setup, 0.99),
	       g.n_setup > 0 ? g.setup_ms[g.n_setup - 1] : 0.0);
	fflush(stdout);
	fprintf(stderr,
	        "media_load: %s%s%s %d calls (%s) for %.0f s: %ld answered, %ld failed, peak %d "
	        "at once; %llu packets out, %llu in, loss %.3f %%, jitter p99 %.2f ms (greeting "
	        "%.2f), max %.2f ms; %llu SRTP failures; client cpu %.1f s\n",
	        opt.label, *opt.label ? " " : "", opt.host, opt.calls, opt.rtp ? "RTP" : SUITE,
	        opt.duration, g.answered, g.failed, g.peak, g.sent, g.received, loss,
	        hist_pct(g.dev_all, g.n_all, 0.99), hist_pct(g.dev_greet, g.n_greet, 0.99),
	        g.dev_max_ms, g.srtp_fail, cpu);
}

static int
run_calls(void)
{
	struct epoll_event evs[256];
	struct sigaction sa;
	struct timespec to;
	uint64_t now, next_check = 0, hard_end, wake;
	int i, n, next_start = 0;
	struct call *c;

	resolve();
	make_ctx();
	if ((g.calls = calloc((size_t)opt.calls, sizeof(*g.calls))) == NULL ||
	    (g.heap = calloc((size_t)opt.calls, sizeof(*g.heap))) == NULL ||
	    (g.dev_all = calloc(DEV_BUCKETS, sizeof(uint32_t))) == NULL ||
	    (g.dev_greet = calloc(DEV_BUCKETS, sizeof(uint32_t))) == NULL ||
	    (g.late = calloc(DEV_BUCKETS, sizeof(uint32_t))) == NULL ||
	    (g.setup_ms = calloc((size_t)opt.calls, sizeof(*g.setup_ms))) == NULL ||
	    (g.ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		fprintf(stderr, "media_load: out of memory or epoll\n");
		return 2;
	}
	if (opt.calls_out != NULL && (g.calls_out = fopen(opt.calls_out, "w")) == NULL)
		die("--calls-out", opt.calls_out, strerror(errno));
	/* 1000 Hz at 8000 Hz: 8 samples a period, so every 20 ms frame is the same */
	for (i = 0; i < FRAME; i++)
		g.tone[i] = linear_to_ulaw(
		        (int)lrint(TONE_AMP * sin(2 * M_PI * TONE_HZ * (double)i / 8000.0)));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* our own sends on time: the kernel's default timer slack is 50 us */
	(void)prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

	now = now_ns();
	g.t_begin = now;
	g.wait0 = runqueue_wait();
	for (i = 0; i < opt.calls; i++) {
		g.calls[i].id = (unsigned)i;
		g.calls[i].fd = g.calls[i].ufd = -1;
		g.calls[i].t_start = now + (uint64_t)((double)i / opt.rate * 1e9);
	}
	/* the last call's start, its media, its steps' timeouts, and some slack */
	hard_end = now +
	           (uint64_t)(((double)opt.calls / opt.rate + opt.duration + 4 * opt.timeout + 10) *
	                      1e9);
	for (;;) {
		now = now_ns();
		while (next_start < opt.calls && g.calls[next_start].t_start <= now)
			start_call(&g.calls[next_start++], now);
		run_sends(now);
		if (now >= next_check) {
			check_deadlines(now);
			next_check = now + 10 * MS;
		}
		if ((next_start == opt.calls && g.finished == opt.calls) || got_signal ||
		    now >= hard_end)
			break;
		wake = next_check;
		if (g.nheap > 0 && g.heap[0]->next_send < wake)
			wake = g.heap[0]->next_send;
		if (next_start < opt.calls && g.calls[next_start].t_start < wake)
			wake = g.calls[next_start].t_start;
		wake = wake > now ? wake - now : 0;
		to.tv_sec = (time_t)(wake / NS);
		to.tv_nsec = (long)(wake % NS);
		n = epoll_pwait2(g.ep, evs, (int)(sizeof(evs) / sizeof(evs[0])), &to, NULL);
		if (n == -1 && errno != EINTR)
			die_errno("epoll_pwait2");
		now = now_ns();
		for (i = 0; i < n; i++) {
			c = &g.calls[evs[i].data.u64 >> 1];
			if (evs[i].data.u64 & 1)
				rx_media(c);
			else
				step(c, now);
		}
	}
	now = now_ns();
	for (i = 0; i < opt.calls; i++) {
		c = &g.calls[i];
		if (c->st != C_DONE && c->st != C_WAIT)
			fail(c, E_TIMEOUT, now); /* a signal, or the run's deadline */
	}
	report(now);
	if (g.calls_out != NULL)
		fclose(g.calls_out);
	free(g.calls);
	free(g.heap);
	free(g.dev_all);
	free(g.dev_greet);
	free(g.late);
	free(g.setup_ms);
	close(g.ep);
	SSL_CTX_free(g.ctx);
	return 0;
}

/* --- the floor ------------------------------------------------------------------------------ */

static double
thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

#define FLOOR_BATCH 256

struct floor_figs {
	double protect_ns, unprotect_ns, udp_ns;
};

/* libsrtp2 protect and unprotect, and a loopback send+recv, over `ctxs` contexts in turn. */
static int
floor_run(int ctxs, long packets, struct floor_figs *f)
{
	srtp_t *tx = calloc((size_t)ctxs, sizeof(*tx)), *rx = calloc((size_t)ctxs, sizeof(*rx));
	int *sa = calloc((size_t)ctxs, sizeof(int)), *sb = calloc((size_t)ctxs, sizeof(int));
	uint16_t *seq = calloc((size_t)ctxs, sizeof(uint16_t));
	uint8_t(*pk)[PKT_BUF] = calloc(FLOOR_BATCH, sizeof(*pk));
	int(*plen) = calloc(FLOOR_BATCH, sizeof(int));
	unsigned char key[KEY_LEN];
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	double t0, tp = 0, tu = 0, tn;
	long done, i, k;
	int j, len, rc = 2;
	uint8_t rbuf[UDP_BUF];

	if (!tx || !rx || !sa || !sb || !seq || !pk || !plen)
		goto out;
	for (j = 0; j < ctxs; j++)
		sa[j] = sb[j] = -1;
	for (j = 0; j < ctxs; j++) {
		if (RAND_bytes(key, sizeof(key)) != 1 ||
		    !make_srtp(&tx[j], key, ssrc_any_outbound) ||
		    !make_srtp(&rx[j], key, ssrc_any_inbound)) {
			fprintf(stderr, "media_load: srtp_create failed\n");
			goto out;
		}
		/* a connected pair of loopback UDP sockets, blocking */
		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		al = sizeof(a);
		if ((sa[j] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1 ||
		    (sb[j] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1 ||
		    bind(sb[j], (struct sockaddr *)&a, sizeof(a)) != 0 ||
		    getsockname(sb[j], (struct sockaddr *)&a, &al) != 0 ||
		    connect(sa[j], (struct sockaddr *)&a, sizeof(a)) != 0) {
			perror("media_load: floor sockets");
			goto out;
		}
	}
	OPENSSL_cleanse(key, sizeof(key));
	for (j = 0; j < FLOOR_BATCH; j++)
		memset(pk[j] + RTP_HDR, 0xff, FRAME);
	/* SRTP: a batch protected, then the same batch unprotected, timed apart */
	for (done = 0; done < packets + FLOOR_BATCH * 4; done += FLOOR_BATCH) {
		bool warm = done < FLOOR_BATCH * 4; /* the first batches are not counted */

		t0 = thread_cpu_ns();
		for (i = 0; i < FLOOR_BATCH; i++) {
			k = (done + i) % ctxs;
			put_rtp_header(pk[i], false, PT_PCMU, seq[k]++,
			               (uint32_t)(done + i) * FRAME, 0x1000u + (uint32_t)k);
			memset(pk[i] + RTP_HDR, 0xff, FRAME);
			plen[i] = PKT_LEN;
			if (srtp_protect(tx[k], pk[i], &plen[i]) != srtp_err_status_ok) {
				fprintf(stderr, "media_load: srtp_protect failed\n");
				goto out;
			}
		}
		tn = thread_cpu_ns();
		if (!warm)
			tp += tn - t0;
		t0 = tn;
		for (i = 0; i < FLOOR_BATCH; i++) {
			k = (done + i) % ctxs;
			if (srtp_unprotect(rx[k], pk[i], &plen[i]) != srtp_err_status_ok) {
				fprintf(stderr, "media_load: srtp_unprotect failed\n");
				goto out;
			}
		}
		if (!warm)
			tu += thread_cpu_ns() - t0;
	}
	f->protect_ns = tp / (double)packets;
	f->unprotect_ns = tu / (double)packets;
	/* the kernel: send() of a 182-byte SRTP packet and its recv() on loopback */
	len = PKT_LEN + 10;
	for (i = 0; i < 1000; i++)
		if (send(sa[i % ctxs], pk[0], (size_t)len, 0) != len ||
		    recv(sb[i % ctxs], rbuf, sizeof(rbuf), 0) != len)
			goto io;
	t0 = thread_cpu_ns();
	for (i = 0; i < packets; i++)
		if (send(sa[i % ctxs], pk[0], (size_t)len, 0) != len ||
		    recv(sb[i % ctxs], rbuf, sizeof(rbuf), 0) != len)
			goto io;
	f->udp_ns = (thread_cpu_ns() - t0) / (double)packets;
	rc = 0;
	goto out;
io:
	perror("media_load: floor send/recv");
out:
	OPENSSL_cleanse(key, sizeof(key));
	for (j = 0; j < ctxs; j++) {
		if (tx && tx[j])
			srtp_dealloc(tx[j]);
		if (rx && rx[j])
			srtp_dealloc(rx[j]);
		if (sa && sa[j] != -1)
			close(sa[j]);
		if (sb && sb[j] != -1)
			close(sb[j]);
	}
	free(tx);
	free(rx);
	free(sa);
	free(sb);
	free(seq);
	free(pk);
	free(plen);
	return rc;
}

static int
run_floor(void)
{
	struct floor_figs one, many;
	int ctxs[2] = {1, opt.floor_contexts}, i;
	struct floor_figs *f[2] = {&one, &many};

	for (i = 0; i < 2; i++)
		if (floor_run(ctxs[i], opt.floor_packets, f[i]) != 0)
			return 2;
	/*
	 * A server's work per packet at the least: each packet it sends is protected and sent, each
	 * it receives is received and unprotected; per packet (in or out), half of the four.
	 */
	printf("{\"tool\":\"media_load\",\"label\":\"%s\",\"mode\":\"srtp_floor\","
	       "\"suite\":\"" SUITE "\",\"packet_bytes\":%d,\"packets\":%ld,\"libsrtp\":\"%s\","
	       "\"one\":{\"contexts\":1,\"protect_ns\":%.1f,\"unprotect_ns\":%.1f,"
	       "\"udp_send_recv_ns\":%.1f},"
	       "\"many\":{\"contexts\":%d,\"protect_ns\":%.1f,\"unprotect_ns\":%.1f,"
	       "\"udp_send_recv_ns\":%.1f},"
	       "\"srtp_floor_ns_per_packet\":%.1f,\"rtp_floor_ns_per_packet\":%.1f}\n",
	       opt.label, PKT_LEN, opt.floor_packets, srtp_get_version_string(), one.protect_ns,
	       one.unprotect_ns, one.udp_ns, opt.floor_contexts, many.protect_ns, many.unprotect_ns,
	       many.udp_ns, (many.protect_ns + many.unprotect_ns + many.udp_ns) / 2,
	       many.udp_ns / 2);
	fflush(stdout);
	fprintf(stderr,
	        "media_load: floor (%s, %d-byte packets, %d contexts): protect %.0f ns, unprotect "
	        "%.0f ns, send+recv %.0f ns; per packet in or out: SRTP %.0f ns, RTP %.0f ns\n",
	        srtp_get_version_string(), PKT_LEN, opt.floor_contexts, many.protect_ns,
	        many.unprotect_ns, many.udp_ns,
	        (many.protect_ns + many.unprotect_ns + many.udp_ns) / 2, many.udp_ns / 2);
	return 0;
}

/* --- options -------------------------------------------------------------------------------- */

static double
num_arg(const char *s, double lo, double hi, const char *name)
{
	char *end;
	double v = strtod(s, &end);

	if (*s == '\0' || *end != '\0' || !(v >= lo && v <= hi)) {
		fprintf(stderr, "media_load: --%s %s: out of range [%g, %g]\n", name, s, lo, hi);
		exit(2);
	}
	return v;
}

static void
plain_arg(const char *name, const char *v)
{
	size_t i;

	for (i = 0; v[i] != '\0'; i++)
		if (v[i] == '"' || v[i] == '\\' || (unsigned char)v[i] < 0x20 ||
		    (unsigned char)v[i] > 0x7e)
			die(name, v, "printable ASCII only, without quotes or backslashes");
}

static void
parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
	        {"host", required_argument, NULL, 'H'},
	        {"port", required_argument, NULL, 'p'},
	        {"calls", required_argument, NULL, 'n'},
	        {"duration", required_argument, NULL, 'd'},
	        {"rate", required_argument, NULL, 'r'},
	        {"ramp", required_argument, NULL, 'R'},
	        {"rtp", no_argument, NULL, 'P'},
	        {"end", required_argument, NULL, 'e'},
	        {"to", required_argument, NULL, 'u'},
	        {"cert", required_argument, NULL, 'C'},
	        {"key", required_argument, NULL, 'K'},
	        {"timeout", required_argument, NULL, 't'},
	        {"calls-out", required_argument, NULL, 'o'},
	        {"label", required_argument, NULL, 'L'},
	        {"srtp-floor", no_argument, NULL, 'F'},
	        {"packets", required_argument, NULL, 'k'},
	        {"floor-contexts", required_argument, NULL, 'x'},
	        {"verify-every", required_argument, NULL, 'V'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case 'H':
			opt.host = optarg;
			break;
		case 'p':
			opt.port = (int)num_arg(optarg, 1, 65535, "port");
			break;
		case 'n':
			opt.calls = (int)num_arg(optarg, 1, MAX_CALLS, "calls");
			break;
		case 'd':
			opt.duration = num_arg(optarg, 1, MAX_SECONDS, "duration");
			break;
		case 'r':
			opt.rate = num_arg(optarg, 0.1, MAX_RATE, "rate");
			break;
		case 'R':
			opt.ramp = num_arg(optarg, 0, MAX_SECONDS, "ramp");
			break;
		case 'P':
			opt.rtp = true;
			break;
		case 'e':
			if (strcmp(optarg, "bye") == 0)
				opt.end = END_BYE;
			else if (strcmp(optarg, "dtmf") == 0)
				opt.end = END_DTMF;
			else
				die("--end", optarg, "bye or dtmf");
			break;
		case 'u':
			opt.to = optarg;
			plain_arg("--to", optarg);
			if (strpbrk(optarg, "@:;<> ") != NULL || *optarg == '\0')
				die("--to", optarg, "a user part, e.g. 1001");
			break;
		case 'C':
			opt.cert = optarg;
			break;
		case 'K':
			opt.key = optarg;
			break;
		case 't':
			opt.timeout = num_arg(optarg, 0.5, 60, "timeout");
			break;
		case 'o':
			opt.calls_out = optarg;
			break;
		case 'L':
			opt.label = optarg;
			plain_arg("--label", optarg);
			break;
		case 'F':
			opt.floor = true;
			break;
		case 'k':
			opt.floor_packets = (long)num_arg(optarg, 1000, 100000000, "packets");
			break;
		case 'x':
			opt.floor_contexts = (int)num_arg(optarg, 1, MAX_CALLS, "floor-contexts");
			break;
		case 'V':
			opt.verify_every = (int)num_arg(optarg, 1, 1000, "verify-every");
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc || (!opt.floor && opt.port == 0)) {
		usage(stderr);
		exit(2);
	}
	if ((opt.cert == NULL) != (opt.key == NULL))
		die("--cert", "and --key", "they go together");
	if (opt.ramp > 0)
		opt.rate = opt.calls / opt.ramp < MAX_RATE ? opt.calls / opt.ramp : MAX_RATE;
}

/* Enough descriptors for every call (TLS and UDP) or every floor socket, within the hard limit. */
static void
raise_nofile(int need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= (rlim_t)need)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= (rlim_t)need ? (rlim_t)need
	                                                                          : rl.rlim_max;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < (rlim_t)need)
		fprintf(stderr,
		        "media_load: warning: open files limited to %lu (hard limit); %d "
		        "wanted\n",
		        (unsigned long)rl.rlim_cur, need);
}

int
main(int argc, char **argv)
{
	parse_args(argc, argv);
	if (srtp_init() != srtp_err_status_ok) {
		fprintf(stderr, "media_load: srtp_init failed\n");
		return 2;
	}
	if (opt.floor) {
		raise_nofile(2 * opt.floor_contexts + 64);
		return run_floor();
	}
	raise_nofile(2 * opt.calls + 64);
	return run_calls();
}
