/*
 * siptls_load: a SIP-over-TLS load generator for the benchmarks (tests/bench/run).
 *
 * One thread, non-blocking sockets and OpenSSL, epoll; many connections at once. Modes:
 *
 *   handshake   a new TCP+TLS connection, one OPTIONS, its final response, close; repeated
 *               by --concurrency connections at a time (handshake-bound). The latency is from
 *               connect() to the response.
 *   persistent  --concurrency connections opened first (not timed), then OPTIONS over each,
 *               one outstanding per connection, as fast as answers come (transaction-bound).
 *               The latency is from writing a request to its response.
 *   echo        as handshake, with one line ("siptls_load ping") in place of OPTIONS, answered
 *               by any line: for `openssl s_server -rev`, TLS and a round trip without SIP.
 *   hold        --connections connections opened (--concurrency handshakes at a time), each
 *               with one OPTIONS answered, then held idle for --duration seconds (or until
 *               SIGTERM): memory per idle connection. "holding N" is written to stderr once
 *               they are all up.
 *
 * It prints one JSON object on stdout and one human line on stderr: requests answered with
 * 2xx per second, latency percentiles of those (p50, p90, p99, max), errors by kind, the TLS
 * version, cipher and server key seen, and the CPU time the generator itself used (on a small
 * machine it shares the cores with the server it measures).
 *
 * Bounded: loopback addresses only, at most MAX_CONNS connections, MAX_SECONDS seconds and
 * MAX_COUNT requests; every connection step has a timeout. Sessions are never resumed: each
 * connection is a full handshake. The server's certificate is not verified (the point is the
 * server's cost; the client's own work is kept small).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define MAX_CONNS   20000
#define MAX_SECONDS 600
#define MAX_COUNT   10000000L
#define RBUF        4096
#define WBUF        768
#define SETUP_LIMIT 120 /* at most, seconds for opening the connections of persistent and hold */
#define RETRY_NS    (10 * 1000000ULL) /* pause before reconnecting after a failure */

enum mode { M_HANDSHAKE, M_PERSISTENT, M_ECHO, M_HOLD };
static const char *const mode_names[] = {"handshake", "persistent", "echo", "hold"};

enum state { S_FREE, S_WAIT, S_CONNECTING, S_HANDSHAKE, S_READY, S_SEND, S_RECV, S_HELD };

enum errkind { E_CONNECT, E_TLS, E_CLOSED, E_IO, E_STATUS, E_TIMEOUT, E_PARSE, E_COUNT };
static const char *const err_names[E_COUNT] = {"connect", "tls",     "closed", "io",
                                               "status",  "timeout", "parse"};

struct conn {
	int fd;
	SSL *ssl;
	enum state st;
	uint64_t t0;       /* start of what is timed */
	uint64_t deadline; /* of the current step; 0: none */
	uint64_t wake;     /* S_WAIT: when to start again */
	uint32_t events;   /* registered with epoll */
	int lport;         /* our port, for Via */
	unsigned cseq;
	unsigned id;
	size_t rlen, wlen, woff;
	char rbuf[RBUF];
	char wbuf[WBUF];
};

static struct {
	enum mode mode;
	const char *host;
	int port;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int concurrency;
	int connections;
	double duration;
	long count;
	double timeout;
	const char *cert, *key, *label, *ciphers, *ciphersuites, *groups;
	int tls; /* 12, 13, or 0 for either */
} opt = {M_HANDSHAKE, "127.0.0.1", 0,  {0},  0,
         16,          1000,        10, 0,    5,
         NULL,        NULL,        "", NULL, "TLS_AES_256_GCM_SHA384",
         "X25519",    13};

static struct {
	SSL_CTX *ctx;
	int ep;
	struct conn *conns;
	int nconns;
	uint32_t *lat; /* microseconds of each answered request */
	size_t nlat, caplat;
	long ok, started, held;
	int inflight; /* hold: connections being set up */
	long errors[E_COUNT];
	bool measuring, stopping;
	uint64_t t_begin, t_end;
	char version[32], cipher[64], server_key[32];
	unsigned seq;
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
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: siptls_load --port P [--host 127.0.0.1] [--mode "
	           "handshake|persistent|echo|hold]\n"
	           "         [--concurrency N] [--connections N] [--duration S] [--count N]\n"
	           "         [--cert FILE --key FILE] [--tls 1.2|1.3|any] [--ciphers LIST]\n"
	           "         [--ciphersuites LIST] [--groups LIST] [--timeout S] [--label TEXT]\n");
}

/* "siptls_load: WHAT ARG: WHY", exit 2 (a usage error). */
static void
die(const char *what, const char *arg, const char *why)
{
	fprintf(stderr, "siptls_load: %s %s: %s\n", what, arg, why);
	exit(2);
}

static void
die_ssl(const char *what)
{
	char buf[256];
	unsigned long e = ERR_get_error();

	ERR_error_string_n(e, buf, sizeof(buf));
	fprintf(stderr, "siptls_load: %s: %s\n", what, e ? buf : "failed");
	exit(2);
}

/* Loopback only (127.0.0.0/8, ::1), numeric: the generator must not load anything else. */
static void
resolve(void)
{
	struct addrinfo hints, *ai = NULL;
	char port[16];
	bool loop = false;

	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%d", opt.port);
	if (getaddrinfo(opt.host, port, &hints, &ai) != 0 || ai == NULL)
		die("--host", opt.host, "not a numeric address");
	if (ai->ai_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ai->ai_addr;

		loop = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	} else if (ai->ai_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ai->ai_addr;

		loop = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
	}
	if (!loop) {
		freeaddrinfo(ai);
		die("--host", opt.host, "loopback addresses only");
	}
	memcpy(&opt.addr, ai->ai_addr, ai->ai_addrlen);
	opt.addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
}

static void
make_ctx(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL)
		die_ssl("SSL_CTX_new");
	if (opt.tls == 12 && (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	                      SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION) != 1))
		die_ssl("TLS 1.2");
	if (opt.tls == 13 && SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1)
		die_ssl("TLS 1.3");
	if (opt.tls == 0 && SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
		die_ssl("TLS 1.2+");
	if (opt.ciphers != NULL && SSL_CTX_set_cipher_list(ctx, opt.ciphers) != 1)
		die_ssl("--ciphers");
	if (opt.ciphersuites != NULL && SSL_CTX_set_ciphersuites(ctx, opt.ciphersuites) != 1)
		die_ssl("--ciphersuites");
	if (opt.groups != NULL && SSL_CTX_set1_groups_list(ctx, opt.groups) != 1)
		die_ssl("--groups");
	/* Every connection a full handshake: no tickets, no session cache. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (opt.cert != NULL) {
		/* The file may hold the chain after the leaf. */
		if (SSL_CTX_use_certificate_chain_file(ctx, opt.cert) != 1)
			die_ssl(opt.cert);
		if (SSL_CTX_use_PrivateKey_file(ctx, opt.key, SSL_FILETYPE_PEM) != 1)
			die_ssl(opt.key);
		if (SSL_CTX_check_private_key(ctx) != 1)
			die_ssl("--cert and --key do not go together");
	}
	g.ctx = ctx;
}

static void
want(struct conn *c, uint32_t ev)
{
	struct epoll_event e;

	if (c->events == ev)
		return;
	memset(&e, 0, sizeof(e));
	e.events = ev;
	e.data.ptr = c;
	if (epoll_ctl(g.ep, c->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &e) == -1) {
		perror("siptls_load: epoll_ctl");
		exit(2);
	}
	c->events = ev;
}

static void
close_conn(struct conn *c, bool polite)
{
	if (c->ssl != NULL) {
		/* close_notify, without waiting for the peer's (as a client hanging up does). */
		if (polite)
			(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd != -1)
		close(c->fd); /* leaves the epoll set with it */
	c->fd = -1;
	c->events = 0;
	c->rlen = c->wlen = c->woff = 0;
	c->deadline = 0;
	c->st = S_FREE;
	ERR_clear_error();
}

static void start_conn(struct conn *c, uint64_t now);

static void
fail(struct conn *c, enum errkind k, uint64_t now)
{
	if (g.measuring || opt.mode == M_HOLD || opt.mode == M_PERSISTENT)
		g.errors[k]++;
	if (opt.mode == M_HOLD && c->st != S_HELD)
		g.inflight--;
	close_conn(c, false);
	if (opt.mode == M_HOLD) {
		return; /* a held connection that failed is not replaced */
	}
	c->st = S_WAIT;
	c->wake = now + RETRY_NS;
}

static void
record(uint64_t ns)
{
	uint32_t *n;

	if (g.nlat == g.caplat) {
		size_t cap = g.caplat ? g.caplat * 2 : 65536;

		if ((n = realloc(g.lat, cap * sizeof(*n))) == NULL) {
			fprintf(stderr, "siptls_load: out of memory\n");
			exit(2);
		}
		g.lat = n;
		g.caplat = cap;
	}
	g.lat[g.nlat++] = ns / 1000 > UINT32_MAX ? UINT32_MAX : (uint32_t)(ns / 1000);
}

static void
prepare_request(struct conn *c)
{
	int n;

	c->rlen = 0;
	c->woff = 0;
	if (opt.mode == M_ECHO) {
		n = snprintf(c->wbuf, sizeof(c->wbuf), "siptls_load ping\n");
		c->wlen = (size_t)n;
		return;
	}
	c->cseq++;
	g.seq++;
	n = snprintf(c->wbuf, sizeof(c->wbuf),
	             "OPTIONS sip:%s:%d;transport=tls SIP/2.0\r\n"
	             "Via: SIP/2.0/TLS %s:%d;branch=z9hG4bK%x.%x.%x;rport\r\n"
	             "Max-Forwards: 70\r\n"
	             "From: <sip:bench@gw1.example.test>;tag=%x%x\r\n"
	             "To: <sip:%s:%d>\r\n"
	             "Call-ID: %x-%x@siptls_load\r\n"
	             "CSeq: %u OPTIONS\r\n"
	             "User-Agent: siptls_load\r\n"
	             "Content-Length: 0\r\n\r\n",
	             opt.host, opt.port, opt.host, c->lport, (unsigned)getpid(), c->id, g.seq,
	             c->id, g.seq, opt.host, opt.port, c->id, g.seq, c->cseq);
	c->wlen = n > 0 && (size_t)n < sizeof(c->wbuf) ? (size_t)n : 0;
}

/*
 * A whole response in rbuf: its status code (or -1 for garbage) and its length in *used;
 * 0 when more is needed. Keep-alive CRLFs before it are skipped (RFC 5626 section 4.4.1).
 */
static int
parse_response(struct conn *c, size_t *used)
{
	char *p = c->rbuf, *end, *line, *next;
	size_t skip = 0, hlen;
	long clen = 0;

	c->rbuf[c->rlen] = '\0';
	if (opt.mode == M_ECHO) {
		if ((end = memchr(p, '\n', c->rlen)) == NULL)
			return 0;
		*used = (size_t)(end - p) + 1;
		return 200;
	}
	while (skip < c->rlen && (p[skip] == '\r' || p[skip] == '\n'))
		skip++;
	p += skip;
	if ((end = strstr(p, "\r\n\r\n")) == NULL)
		return 0;
	hlen = (size_t)(end - p) + 4;
	if (strncmp(p, "SIP/2.0 ", 8) != 0 || p[8] < '1' || p[8] > '6')
		return -1;
	for (line = strstr(p, "\r\n") + 2; line < end; line = next + 2) {
		next = strstr(line, "\r\n");
		if (strncasecmp(line, "Content-Length:", 15) == 0)
			clen = strtol(line + 15, NULL, 10);
		else if (strncasecmp(line, "l:", 2) == 0)
			clen = strtol(line + 2, NULL, 10);
	}
	if (clen < 0 || (size_t)clen > RBUF)
		return -1;
	if (skip + hlen + (size_t)clen > c->rlen)
		return 0;
	*used = skip + hlen + (size_t)clen;
	return atoi(p + 8);
}

static bool
may_start(uint64_t now)
{
	if (g.stopping)
		return false;
	if (opt.mode == M_HOLD)
		return g.started < opt.connections;
	if (opt.mode == M_PERSISTENT)
		return !g.measuring || now < g.t_end;
	return now < g.t_end && (opt.count == 0 || g.started < opt.count);
}

static void send_request(struct conn *c, uint64_t now);

static void
done_one(struct conn *c, uint64_t now)
{
	if (g.measuring) {
		g.ok++;
		record(now - c->t0);
	}
	switch (opt.mode) {
	case M_HANDSHAKE:
	case M_ECHO:
		close_conn(c, true);
		if (may_start(now))
			start_conn(c, now);
		break;
	case M_PERSISTENT:
		if (now < g.t_end && (opt.count == 0 || g.ok < opt.count)) {
			send_request(c, now);
			break;
		}
		c->st = S_READY;
		c->deadline = 0;
		want(c, EPOLLIN);
		break;
	case M_HOLD:
		c->st = S_HELD;
		c->deadline = 0;
		g.held++;
		g.inflight--;
		want(c, EPOLLIN);
		break;
	}
}

static void step(struct conn *c, uint64_t now);

static void
send_request(struct conn *c, uint64_t now)
{
	prepare_request(c);
	if (opt.mode == M_PERSISTENT)
		c->t0 = now;
	c->st = S_SEND;
	c->deadline = now + (uint64_t)(opt.timeout * 1e9);
	step(c, now);
}

static void
handshake_done(struct conn *c, uint64_t now)
{
	const EVP_PKEY *pk;
	X509 *peer;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(c->fd, (struct sockaddr *)&ss, &len) == 0)
		c->lport = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
		                                          : ((struct sockaddr_in *)&ss)->sin_port);

	if (g.version[0] == '\0') {
		snprintf(g.version, sizeof(g.version), "%s", SSL_get_version(c->ssl));
		snprintf(g.cipher, sizeof(g.cipher), "%s", SSL_get_cipher_name(c->ssl));
		if ((peer = SSL_get1_peer_certificate(c->ssl)) != NULL) {
			pk = X509_get0_pubkey(peer);
			if (pk != NULL)
				snprintf(g.server_key, sizeof(g.server_key), "%s-%d",
				         EVP_PKEY_get_id(pk) == EVP_PKEY_RSA ? "RSA" : "EC",
				         EVP_PKEY_get_bits(pk));
			X509_free(peer);
		}
	}
	if (opt.mode == M_PERSISTENT && !g.measuring) {
		c->st = S_READY;
		c->deadline = 0;
		want(c, EPOLLIN);
		return;
	}
	send_request(c, now);
}

/* Runs the connection's state machine as far as it goes without waiting. */
static void
step(struct conn *c, uint64_t now)
{
	int r, e, code, soerr = 0;
	socklen_t sl = sizeof(soerr);
	size_t used;
	char sink[512];

	switch (c->st) {
	case S_CONNECTING:
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1 || soerr != 0) {
			fail(c, E_CONNECT, now);
			return;
		}
		if ((c->ssl = SSL_new(g.ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
			fail(c, E_TLS, now);
			return;
		}
		SSL_set_connect_state(c->ssl);
		c->st = S_HANDSHAKE;
		/* fall through */
	case S_HANDSHAKE:
		r = SSL_do_handshake(c->ssl);
		if (r == 1) {
			handshake_done(c, now);
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
	case S_SEND:
		r = SSL_write(c->ssl, c->wbuf + c->woff, (int)(c->wlen - c->woff));
		if (r <= 0) {
			e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_READ)
				want(c, EPOLLIN);
			else if (e == SSL_ERROR_WANT_WRITE)
				want(c, EPOLLOUT);
			else
				fail(c, e == SSL_ERROR_SSL ? E_TLS : E_IO, now);
			return;
		}
		c->woff += (size_t)r;
		if (c->woff < c->wlen)
			return;
		c->st = S_RECV;
		/* fall through */
	case S_RECV:
		for (;;) {
			r = SSL_read(c->ssl, c->rbuf + c->rlen, (int)(RBUF - 1 - c->rlen));
			if (r <= 0) {
				e = SSL_get_error(c->ssl, r);
				if (e == SSL_ERROR_WANT_READ)
					want(c, EPOLLIN);
				else if (e == SSL_ERROR_WANT_WRITE)
					want(c, EPOLLOUT);
				else if (e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL)
					fail(c, E_CLOSED, now);
				else
					fail(c, E_TLS, now); /* e.g. TLS 1.3 client cert refused */
				return;
			}
			c->rlen += (size_t)r;
			while ((code = parse_response(c, &used)) != 0) {
				if (code < 0) {
					fail(c, E_PARSE, now);
					return;
				}
				memmove(c->rbuf, c->rbuf + used, c->rlen - used);
				c->rlen -= used;
				if (code < 200)
					continue; /* provisional: the final one follows */
				if (code >= 300) {
					fail(c, E_STATUS, now);
					return;
				}
				done_one(c, now);
				return;
			}
			if (c->rlen >= RBUF - 1) {
				fail(c, E_PARSE, now);
				return;
			}
		}
	case S_READY:
	case S_HELD:
		/* Idle: only session tickets, keep-alives or the server closing can come. */
		for (;;) {
			r = SSL_read(c->ssl, sink, sizeof(sink));
			if (r > 0)
				continue;
			e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				return;
			if (c->st == S_HELD)
				g.held--;
			fail(c, E_CLOSED, now);
			return;
		}
	case S_FREE:
	case S_WAIT:
		return;
	}
}

static void
start_conn(struct conn *c, uint64_t now)
{
	int one = 1;

	g.started++;
	if (opt.mode == M_HOLD)
		g.inflight++;
	c->st = S_CONNECTING;
	c->t0 = now;
	c->deadline = now + (uint64_t)(opt.timeout * 1e9);
	c->events = 0;
	c->fd = socket(opt.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		fail(c, E_CONNECT, now);
		return;
	}
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&opt.addr, opt.addrlen) == -1 &&
	    errno != EINPROGRESS) {
		fail(c, E_CONNECT, now);
		return;
	}
	want(c, EPOLLOUT);
}

static void
check_deadlines(uint64_t now)
{
	int i;
	struct conn *c;

	for (i = 0; i < g.nconns; i++) {
		c = &g.conns[i];
		if (c->st == S_WAIT && now >= c->wake && may_start(now))
			start_conn(c, now);
		else if (c->deadline != 0 && now >= c->deadline)
			fail(c, E_TIMEOUT, now);
	}
}

/* hold: new connections as others are set up, at most --concurrency at a time. */
static void
hold_more(uint64_t now)
{
	while (g.inflight < opt.concurrency && may_start(now))
		start_conn(&g.conns[g.started], now);
}

/* Connections doing something (not free, not waiting to start again). */
static int
active(void)
{
	int i, n = 0;

	for (i = 0; i < g.nconns; i++)
		n += g.conns[i].st != S_FREE && g.conns[i].st != S_WAIT;
	return n;
}

static double
pct(double p)
{
	size_t i;

	if (g.nlat == 0)
		return 0;
	i = (size_t)(p * (double)(g.nlat - 1) + 0.5);
	return g.lat[i] / 1000.0;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void
report(uint64_t t_stop)
{
	struct rusage ru;
	double secs = (double)(t_stop - g.t_begin) / 1e9, cpu = 0;
	long errs = 0;
	int i;

	if (getrusage(RUSAGE_SELF, &ru) == 0)
		cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		      (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	qsort(g.lat, g.nlat, sizeof(*g.lat), cmp_u32);
	for (i = 0; i < E_COUNT; i++)
		errs += g.errors[i];
	printf("{\"tool\":\"siptls_load\",\"label\":\"%s\",\"mode\":\"%s\",\"target\":\"%s:%d\","
	       "\"client_cert\":%s,\"concurrency\":%d,",
	       opt.label, mode_names[opt.mode], opt.host, opt.port, opt.cert ? "true" : "false",
	       opt.concurrency);
	if (opt.mode == M_HOLD)
		printf("\"connections\":%d,\"held\":%ld,", opt.connections, g.held);
	printf("\"tls\":\"%s\",\"cipher\":\"%s\",\"server_key\":\"%s\",\"seconds\":%.3f,"
	       "\"ok\":%ld,\"errors\":%ld,\"error_kinds\":{",
	       g.version, g.cipher, g.server_key, secs, g.ok, errs);
	for (i = 0; i < E_COUNT; i++)
		printf("%s\"%s\":%ld", i ? "," : "", err_names[i], g.errors[i]);
	printf("},\"rps\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
	       "\"client_cpu_s\":%.2f}\n",
	       secs > 0 ? (double)g.ok / secs : 0, pct(0.50), pct(0.90), pct(0.99), pct(1.0), cpu);
	fflush(stdout);
	fprintf(stderr,
	        "siptls_load: %s%s%s %s:%d c=%d %s %s: %.1f s, %ld ok, %ld errors, %.1f req/s, "
	        "p50 %.2f ms, p99 %.2f ms, client cpu %.1f s\n",
	        opt.label, *opt.label ? " " : "", mode_names[opt.mode], opt.host, opt.port,
	        opt.concurrency, *g.version ? g.version : "-", *g.server_key ? g.server_key : "-",
	        secs, g.ok, errs, secs > 0 ? (double)g.ok / secs : 0, pct(0.50), pct(0.99), cpu);
}

static double
num_arg(const char *s, double lo, double hi, const char *name)
{
	char *end;
	double v = strtod(s, &end);

	if (*s == '\0' || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "siptls_load: --%s %s: out of range [%g, %g]\n", name, s, lo, hi);
		exit(2);
	}
	return v;
}

static void
parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
	        {"host", required_argument, NULL, 'H'},
	        {"port", required_argument, NULL, 'p'},
	        {"mode", required_argument, NULL, 'm'},
	        {"concurrency", required_argument, NULL, 'c'},
	        {"connections", required_argument, NULL, 'N'},
	        {"duration", required_argument, NULL, 'd'},
	        {"count", required_argument, NULL, 'n'},
	        {"cert", required_argument, NULL, 'C'},
	        {"key", required_argument, NULL, 'K'},
	        {"tls", required_argument, NULL, 'T'},
	        {"ciphers", required_argument, NULL, 'X'},
	        {"ciphersuites", required_argument, NULL, 'S'},
	        {"groups", required_argument, NULL, 'G'},
	        {"timeout", required_argument, NULL, 't'},
	        {"label", required_argument, NULL, 'L'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	size_t i;
	int ch;
	bool found;

	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case 'H':
			opt.host = optarg;
			break;
		case 'p':
			opt.port = (int)num_arg(optarg, 1, 65535, "port");
			break;
		case 'm':
			found = false;
			for (i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
				if (strcmp(optarg, mode_names[i]) == 0) {
					opt.mode = (enum mode)i;
					found = true;
				}
			if (!found)
				die("--mode", optarg, "handshake, persistent, echo or hold");
			break;
		case 'c':
			opt.concurrency = (int)num_arg(optarg, 1, MAX_CONNS, "concurrency");
			break;
		case 'N':
			opt.connections = (int)num_arg(optarg, 1, MAX_CONNS, "connections");
			break;
		case 'd':
			opt.duration = num_arg(optarg, 0.1, MAX_SECONDS, "duration");
			break;
		case 'n':
			opt.count = (long)num_arg(optarg, 1, MAX_COUNT, "count");
			break;
		case 'C':
			opt.cert = optarg;
			break;
		case 'K':
			opt.key = optarg;
			break;
		case 'T':
			if (strcmp(optarg, "1.2") == 0)
				opt.tls = 12;
			else if (strcmp(optarg, "1.3") == 0)
				opt.tls = 13;
			else if (strcmp(optarg, "any") == 0)
				opt.tls = 0;
			else
				die("--tls", optarg, "1.2, 1.3 or any");
			break;
		case 'X':
			opt.ciphers = optarg;
			break;
		case 'S':
			opt.ciphersuites = optarg;
			break;
		case 'G':
			opt.groups = optarg;
			break;
		case 't':
			opt.timeout = num_arg(optarg, 0.1, 60, "timeout");
			break;
		case 'L':
			opt.label = optarg;
			for (i = 0; optarg[i] != '\0'; i++)
				if (optarg[i] == '"' || optarg[i] == '\\' ||
				    (unsigned char)optarg[i] < 0x20)
					die("--label", optarg,
					    "no quotes, backslashes or control characters");
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc || opt.port == 0) {
		usage(stderr);
		exit(2);
	}
	if ((opt.cert == NULL) != (opt.key == NULL))
		die("--cert", "and --key", "they go together");
}

/* Enough descriptors for every connection, within the hard limit. */
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
		        "siptls_load: warning: open files limited to %lu (hard limit); %d "
		        "wanted\n",
		        (unsigned long)rl.rlim_cur, need);
}

int
main(int argc, char **argv)
{
	struct epoll_event evs[256];
	struct sigaction sa;
	uint64_t now, next_check = 0, setup_end;
	int i, n;
	bool announced = false;

	parse_args(argc, argv);
	resolve();
	make_ctx();
	g.nconns = opt.mode == M_HOLD ? opt.connections : opt.concurrency;
	raise_nofile(g.nconns + 64);
	if ((g.conns = calloc((size_t)g.nconns, sizeof(*g.conns))) == NULL ||
	    (g.ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		fprintf(stderr, "siptls_load: out of memory or epoll\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	now = now_ns();
	/* setting up may take as long as the measurement, or 10 s, at most SETUP_LIMIT */
	setup_end = now + (uint64_t)(opt.duration < 10            ? 10
	                             : opt.duration > SETUP_LIMIT ? SETUP_LIMIT
	                                                          : opt.duration) *
	                          1000000000ULL;
	g.t_begin = now;
	g.t_end = now + (uint64_t)(opt.duration * 1e9);
	/* persistent measures once its connections are up */
	g.measuring = opt.mode != M_PERSISTENT;
	for (i = 0; i < g.nconns; i++) {
		g.conns[i].fd = -1;
		g.conns[i].id = (unsigned)i;
	}
	if (opt.mode == M_HOLD)
		hold_more(now);
	else
		for (i = 0; i < g.nconns; i++)
			start_conn(&g.conns[i], now);
	for (;;) {
		n = epoll_wait(g.ep, evs, (int)(sizeof(evs) / sizeof(evs[0])), 5);
		if (n == -1 && errno != EINTR) {
			perror("siptls_load: epoll_wait");
			return 2;
		}
		now = now_ns();
		for (i = 0; i < n; i++)
			step(evs[i].data.ptr, now);
		if (got_signal)
			break;
		if (now >= next_check) {
			check_deadlines(now);
			next_check = now + 20 * 1000000ULL;
		}
		switch (opt.mode) {
		case M_PERSISTENT:
			if (!g.measuring) {
				int ready = 0;

				for (i = 0; i < g.nconns; i++)
					ready += g.conns[i].st == S_READY;
				if (ready < g.nconns && now < setup_end)
					continue;
				if (ready == 0) {
					fprintf(stderr,
					        "siptls_load: no connection could be set up\n");
					goto done;
				}
				g.measuring = true;
				g.t_begin = now;
				g.t_end = now + (uint64_t)(opt.duration * 1e9);
				for (i = 0; i < g.nconns; i++)
					if (g.conns[i].st == S_READY)
						send_request(&g.conns[i], now);
				continue;
			}
			if (now >= g.t_end || (opt.count > 0 && g.ok >= opt.count))
				goto done;
			continue;
		case M_HOLD:
			hold_more(now);
			if (!announced && ((g.inflight == 0 && g.started >= opt.connections) ||
			                   now >= setup_end)) {
				announced = true;
				g.t_begin = now;
				g.t_end = now + (uint64_t)(opt.duration * 1e9);
				fprintf(stderr, "siptls_load: holding %ld connections\n", g.held);
			}
			if (announced && now >= g.t_end)
				goto done;
			continue;
		case M_HANDSHAKE:
		case M_ECHO:
			if (now >= g.t_end ||
			    (opt.count > 0 && g.started >= opt.count && active() == 0))
				goto done;
			continue;
		}
	}
done:
	now = now_ns();
	report(now);
	for (i = 0; i < g.nconns; i++)
		if (g.conns[i].fd != -1 || g.conns[i].ssl != NULL)
			close_conn(&g.conns[i], false);
	free(g.conns);
	free(g.lat);
	close(g.ep);
	SSL_CTX_free(g.ctx);
	return 0;
}
