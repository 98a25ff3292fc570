/*
 * rtp_peer: the media side of a gateway in umd's media tests, and the attacker beside it.
 *
 *   rtp_peer --to PORT --bind PORT [--host 127.0.0.1] [--to-host ADDR] [--from-host ADDR]
 *            [--suite SUITE --tx-key BASE64 --rx-key BASE64] [--pt 0|8] [--te PT]
 *            ACTION...
 *
 * It sends 20 ms G.711 packets from 127.0.0.1:--bind (the port its SDP offer named) to umd's
 * media port --to, SRTP-protected with --tx-key (the key of its own a=crypto line) when a suite
 * is given, and reads what umd sends, unprotected with --rx-key (the key of umd's answer).
 * Actions run in order, each for its length, while packets keep flowing both ways:
 *
 *   silence S        S seconds of silence
 *   tone HZ S        S seconds of a tone
 *   hash             '#' as RFC 4733 events (three packets, the last with the end bit), PT --te
 *   inband           '#' as in-band DTMF: 160 ms of 941 Hz + 1477 Hz (ITU-T Q.23), then 100 ms
 *                    of silence
 *   flip N           N packets with one payload bit flipped after protection (auth failures)
 *   replay N         the last packet sent, again, N times
 *   wrongkey N       N packets protected with another key
 *   third N          N good packets from another address (--from-host, e.g. 127.0.0.2)
 *   garbage N        N datagrams of random bytes; `big N`: N datagrams of 2,000 bytes
 *   flood PPS S      PPS garbage datagrams a second for S seconds (from --bind's socket)
 *   ssrc             a new SSRC (and sequence, timestamp) from here on
 *   wait S           S seconds of sending nothing (umd's silence timer runs)
 *
 * Then it prints one JSON object: packets sent, received, decrypted, failed to unprotect, and
 * what it heard of umd's stream: runs of [Hz, ms] of the strongest frequency per packet
 * (Goertzel over 300-3000 Hz; 0 for quiet), so a test can tell the greeting from the beep. Bounded:
 * loopback only, 120 s at most; or, for a umd in a container (tests/integration/pool.sh), from
 * --host to --to-host when both are private addresses (RFC 1918: the container network's
 * bridge on the host, and the container).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <spandsp.h>

#include "media/rtp.h"
#include "media/srtp.h"
#include "sdes.h"

#define MAX_SECONDS 120
#define FRAME       160

struct peer {
	int fd, third_fd;
	struct sockaddr_in to;
	struct um_srtp *srtp, *wrong;
	int pt, te;
	uint16_t seq;
	uint32_t ts, ssrc;
	uint8_t last[FRAME + 64];
	size_t last_len;
	unsigned long sent, received, decrypted, failed;
	/* What umd sent: runs of packets with the same strongest frequency (0: quiet). */
	unsigned run_hz[256], run_ms[256];
	size_t runs;
	double t0;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool
key_of(const char *suite, const char *b64, struct um_sdes *k)
{
	char line[256], why[256];
	bool ok;

	if (snprintf(line, sizeof(line), "1 %s inline:%s", suite, b64) >= (int)sizeof(line))
		return false;
	if (!(ok = um_sdes_parse(line, k, why, sizeof(why))))
		fprintf(stderr, "rtp_peer: %s\n", why);
	OPENSSL_cleanse(line, sizeof(line));
	return ok;
}

/*
 * The strongest of 300, 400, ... 3000 Hz in a packet (Goertzel), or 0 when it is quiet; runs
 * of packets with the same one are kept, so a test sees the order of what it heard.
 */
static void
listen_audio(struct peer *p, const int16_t *pcm, size_t n)
{
	double w, c, s0, s1, s2, e, best_e = 0, rms = 0;
	unsigned hz = 0, f;
	size_t i;

	for (i = 0; i < n; i++)
		rms += (double)pcm[i] * pcm[i];
	if (n == 0)
		return;
	if (rms / (double)n > 200.0 * 200.0) {
		for (f = 0; f < 28; f++) {
			w = 2 * M_PI * (300.0 + 100.0 * (double)f) / 8000.0;
			c = 2 * cos(w);
			s1 = s2 = 0;
			for (i = 0; i < n; i++) {
				s0 = pcm[i] + c * s1 - s2;
				s2 = s1;
				s1 = s0;
			}
			e = s1 * s1 + s2 * s2 - c * s1 * s2;
			if (e > best_e) {
				best_e = e;
				hz = 300 + 100 * f;
			}
		}
	}
	if (p->runs > 0 && p->run_hz[p->runs - 1] == hz) {
		p->run_ms[p->runs - 1] += (unsigned)(n / 8);
	} else if (p->runs < 256) {
		p->run_hz[p->runs] = hz;
		p->run_ms[p->runs] = (unsigned)(n / 8);
		p->runs++;
	}
}

static void
receive(struct peer *p)
{
	uint8_t buf[2048];
	struct um_rtp h;
	int16_t pcm[480];
	ssize_t n;
	size_t len, i;

	while ((n = recv(p->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		p->received++;
		len = (size_t)n;
		if (p->srtp != NULL && um_srtp_unprotect(p->srtp, buf, &len) != UM_SRTP_OK) {
			p->failed++;
			continue;
		}
		if (!um_rtp_parse(buf, len, &h) || h.payload_len > 480) {
			p->failed++;
			continue;
		}
		p->decrypted++;
		for (i = 0; i < h.payload_len; i++)
			pcm[i] = h.pt == 8 ? alaw_to_linear(h.payload[i])
			                   : ulaw_to_linear(h.payload[i]);
		listen_audio(p, pcm, h.payload_len);
	}
}

/* One 20 ms packet: audio (hz 0: silence; hz2: a second tone added) or a '#' event. */
static void send_packet2(struct peer *p, int fd, int hz, int hz2, int event_end,
                         struct um_srtp *with, bool flip);

static void
send_packet(struct peer *p, int fd, int hz, int event_end, struct um_srtp *with, bool flip)
{
	send_packet2(p, fd, hz, 0, event_end, with, flip);
}

static void
send_packet2(struct peer *p, int fd, int hz, int hz2, int event_end, struct um_srtp *with,
             bool flip)
{
	uint8_t buf[FRAME + 64];
	struct um_rtp h = {.pt = (uint8_t)p->pt, .seq = p->seq, .ts = p->ts, .ssrc = p->ssrc};
	size_t len = UM_RTP_HEADER + FRAME, i;
	double v;

	if (event_end >= 0) {
		/* RFC 4733: event 11 ('#'), volume 10, the same timestamp for every packet of it.
		 */
		h.pt = (uint8_t)p->te;
		um_rtp_header(buf, &h);
		buf[12] = 11;
		buf[13] = (uint8_t)(10 | (event_end ? 0x80 : 0));
		buf[14] = 0x03;
		buf[15] = 0x20;
		len = UM_RTP_HEADER + 4;
	} else {
		um_rtp_header(buf, &h);
		for (i = 0; i < FRAME; i++) {
			v = hz ? 8000.0 * sin(2 * M_PI * hz * (double)(p->ts + i) / 8000.0) : 0;
			if (hz2)
				v = v / 2 +
				    4000.0 * sin(2 * M_PI * hz2 * (double)(p->ts + i) / 8000.0);
			buf[UM_RTP_HEADER + i] =
			        p->pt == 8 ? linear_to_alaw((int)v) : linear_to_ulaw((int)v);
		}
	}
	if (with != NULL && um_srtp_protect(with, buf, &len, sizeof(buf)) != UM_SRTP_OK)
		return;
	if (flip)
		buf[UM_RTP_HEADER + 2] ^= 0x10;
	(void)sendto(fd, buf, len, 0, (struct sockaddr *)&p->to, sizeof(p->to));
	memcpy(p->last, buf, len);
	p->last_len = len;
	p->sent++;
	p->seq++;
	if (event_end < 0)
		p->ts += FRAME;
}

/* Paced: one packet every 20 ms, reading what umd sends in between. */
static void
pace(struct peer *p, double *next)
{
	double t;
	struct pollfd pfd = {.fd = p->fd, .events = POLLIN};

	for (;;) {
		receive(p);
		t = now_s();
		if (t >= *next)
			break;
		(void)poll(&pfd, 1, (int)((*next - t) * 1000) + 1);
	}
	*next += 0.020;
}

static void
garbage(struct peer *p, size_t len)
{
	uint8_t buf[2000];

	if (len > sizeof(buf))
		len = sizeof(buf);
	(void)RAND_bytes(buf, (int)len);
	(void)sendto(p->fd, buf, len, 0, (struct sockaddr *)&p->to, sizeof(p->to));
}

/* RFC 1918 section 3: 10/8, 172.16/12, 192.168/16. */
static bool
is_private(const char *host)
{
	struct in_addr a;
	uint32_t h;

	if (inet_pton(AF_INET, host, &a) != 1)
		return false;
	h = ntohl(a.s_addr);
	return (h >> 24) == 10 || (h >> 20) == ((172U << 4) | 1U) ||
	       (h >> 16) == ((192U << 8) | 168U);
}

static int
bind_to(const char *host, int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	if (fd < 0 || inet_pton(AF_INET, host, &a.sin_addr) != 1 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		fprintf(stderr, "rtp_peer: bind %s:%d: %s\n", host, port, strerror(errno));
		exit(2);
	}
	return fd;
}

static void
report(const struct peer *p)
{
	size_t i;

	printf("{\"sent\": %lu, \"received\": %lu, \"decrypted\": %lu, \"failed\": %lu, "
	       "\"heard\": [",
	       p->sent, p->received, p->decrypted, p->failed);
	for (i = 0; i < p->runs; i++)
		printf("%s[%u, %u]", i ? ", " : "", p->run_hz[i], p->run_ms[i]);
	printf("]}\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"to", required_argument, NULL, 't'},
	        {"bind", required_argument, NULL, 'b'},
	        {"host", required_argument, NULL, 'H'},
	        {"to-host", required_argument, NULL, 'T'},
	        {"from-host", required_argument, NULL, 'F'},
	        {"suite", required_argument, NULL, 's'},
	        {"tx-key", required_argument, NULL, 'x'},
	        {"rx-key", required_argument, NULL, 'r'},
	        {"pt", required_argument, NULL, 'p'},
	        {"te", required_argument, NULL, 'e'},
	        {NULL, 0, NULL, 0},
	};
	struct peer *p = calloc(1, sizeof(*p));
	struct um_sdes tx, rx, other;
	const char *host = "127.0.0.1", *to_host = NULL, *third = "127.0.0.2", *suite = NULL,
	           *txk = NULL, *rxk = NULL;
	double next;
	int ch, bind_port = 0, to_port = 0, i, n;
	bool loopback;

	if (p == NULL)
		return 2;
	p->pt = 0;
	p->te = 101;
	p->third_fd = -1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			to_port = atoi(optarg);
			break;
		case 'b':
			bind_port = atoi(optarg);
			break;
		case 'H':
			host = optarg;
			break;
		case 'T':
			to_host = optarg;
			break;
		case 'F':
			third = optarg;
			break;
		case 's':
			suite = optarg;
			break;
		case 'x':
			txk = optarg;
			break;
		case 'r':
			rxk = optarg;
			break;
		case 'p':
			p->pt = atoi(optarg);
			break;
		case 'e':
			p->te = atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	if (to_host == NULL)
		to_host = host;
	loopback = strcmp(host, "127.0.0.1") == 0 && strcmp(to_host, "127.0.0.1") == 0;
	if (to_port <= 0 || bind_port <= 0 ||
	    (!loopback && !(is_private(host) && is_private(to_host)))) {
		fprintf(stderr, "usage: rtp_peer --to PORT --bind PORT [--host A --to-host B] "
		                "[--suite S --tx-key K --rx-key K] ACTION...\n"
		                "(A and B both 127.0.0.1, or both RFC 1918 addresses)\n");
		return 2;
	}
	p->fd = bind_to(host, bind_port);
	p->to.sin_family = AF_INET;
	p->to.sin_port = htons((uint16_t)to_port);
	inet_pton(AF_INET, to_host, &p->to.sin_addr);
	if (suite != NULL) {
		if (txk == NULL || rxk == NULL || !key_of(suite, txk, &tx) ||
		    !key_of(suite, rxk, &rx) || !um_sdes_new_key(tx.suite, &other) ||
		    um_srtp_new(&tx, &rx, &p->srtp) != UM_OK ||
		    um_srtp_new(&other, &rx, &p->wrong) != UM_OK) {
			fprintf(stderr, "rtp_peer: bad suite or keys\n");
			return 2;
		}
		um_sdes_wipe(&tx);
		um_sdes_wipe(&rx);
		um_sdes_wipe(&other);
	}
	(void)RAND_bytes((unsigned char *)&p->ssrc, sizeof(p->ssrc));
	p->seq = 100;
	p->ts = 1000;
	p->t0 = now_s();
	next = p->t0;
	for (i = optind; i < argc; i++) {
		const char *a = argv[i];
		double secs;
		int hz;

		if (now_s() - p->t0 > MAX_SECONDS - 5)
			break;
		if (strcmp(a, "silence") == 0 && i + 1 < argc) {
			secs = atof(argv[++i]);
			for (n = 0; n < (int)(secs * 50); n++) {
				send_packet(p, p->fd, 0, -1, p->srtp, false);
				pace(p, &next);
			}
		} else if (strcmp(a, "tone") == 0 && i + 2 < argc) {
			hz = atoi(argv[++i]);
			secs = atof(argv[++i]);
			for (n = 0; n < (int)(secs * 50); n++) {
				send_packet(p, p->fd, hz, -1, p->srtp, false);
				pace(p, &next);
			}
		} else if (strcmp(a, "hash") == 0) {
			for (n = 0; n < 3; n++) {
				send_packet(p, p->fd, 0, n == 2, p->srtp, false);
				pace(p, &next);
			}
			p->ts += 3 * FRAME;
		} else if (strcmp(a, "inband") == 0) {
			for (n = 0; n < 13; n++) {
				send_packet2(p, p->fd, n < 8 ? 941 : 0, n < 8 ? 1477 : 0, -1,
				             p->srtp, false);
				pace(p, &next);
			}
		} else if (strcmp(a, "flip") == 0 && i + 1 < argc) {
			for (n = atoi(argv[++i]); n > 0; n--) {
				send_packet(p, p->fd, 440, -1, p->srtp, true);
				pace(p, &next);
			}
		} else if (strcmp(a, "replay") == 0 && i + 1 < argc) {
			for (n = atoi(argv[++i]); n > 0 && p->last_len > 0; n--)
				(void)sendto(p->fd, p->last, p->last_len, 0,
				             (struct sockaddr *)&p->to, sizeof(p->to));
		} else if (strcmp(a, "wrongkey") == 0 && i + 1 < argc) {
			for (n = atoi(argv[++i]); n > 0; n--) {
				send_packet(p, p->fd, 440, -1, p->wrong, false);
				pace(p, &next);
			}
		} else if (strcmp(a, "third") == 0 && i + 1 < argc) {
			if (p->third_fd < 0)
				p->third_fd = bind_to(third, 0);
			for (n = atoi(argv[++i]); n > 0; n--) {
				send_packet(p, p->third_fd, 440, -1, p->srtp, false);
				pace(p, &next);
			}
		} else if (strcmp(a, "garbage") == 0 && i + 1 < argc) {
			for (n = atoi(argv[++i]); n > 0; n--)
				garbage(p, 20 + (size_t)(n % 200));
		} else if (strcmp(a, "big") == 0 && i + 1 < argc) {
			for (n = atoi(argv[++i]); n > 0; n--)
				garbage(p, 2000);
		} else if (strcmp(a, "flood") == 0 && i + 2 < argc) {
			int pps = atoi(argv[++i]);
			double until = now_s() + atof(argv[++i]), tick = now_s();

			while (now_s() < until) {
				for (n = 0; n < pps / 50; n++)
					garbage(p, 172);
				send_packet(p, p->fd, 0, -1, p->srtp, false);
				tick += 0.020;
				next = tick;
				pace(p, &next);
			}
			next = now_s();
		} else if (strcmp(a, "ssrc") == 0) {
			(void)RAND_bytes((unsigned char *)&p->ssrc, sizeof(p->ssrc));
			p->seq = (uint16_t)(p->seq + 30000);
			p->ts += 123456;
		} else if (strcmp(a, "wait") == 0 && i + 1 < argc) {
			double until = now_s() + atof(argv[++i]);

			while (now_s() < until) {
				receive(p);
				usleep(10000);
			}
			next = now_s();
		} else {
			fprintf(stderr, "rtp_peer: unknown action %s\n", a);
			return 2;
		}
	}
	receive(p);
	report(p);
	um_srtp_free(p->srtp);
	um_srtp_free(p->wrong);
	close(p->fd);
	if (p->third_fd >= 0)
		close(p->third_fd);
	free(p);
	return 0;
}
