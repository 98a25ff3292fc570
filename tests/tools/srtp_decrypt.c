/*
 * srtp_decrypt: what went over the wire in a media test, read from a tcpdump capture.
 *
 *   srtp_decrypt --pcap FILE --port N [--dst] [--rtcp]
 *                (--suite SUITE --key BASE64 | --plain) [--wav OUT.wav]
 *
 * Selects the IPv4 UDP datagrams sent from port N (with --dst: sent to it), and either
 * unprotects each as SRTP (SRTCP with --rtcp) with the SDES master key (RFC 4568 inline key:
 * master key then salt, base64), or, with --plain, takes them as RTP. Prints one JSON object:
 *
 *   packets          datagrams selected
 *   decrypted        SRTP packets libsrtp2 authenticated and decrypted (plain: valid RTP)
 *   failed           the others (authentication, replay, or not RTP at all)
 *   payload_types    the RTP payload types seen (in the clear in the header either way)
 *   ssrcs            distinct SSRCs
 *   audio_packets    G.711 packets (PT 0 or 8) with at least 40 bytes of payload
 *   g711_like        of those, how many have a wire payload (for SRTP: the ciphertext, tag
 *                    removed) that decodes as G.711 to something like audio; see looks_like_g711
 *   decoded_g711_like the same measure on the decrypted payload (plain: equal to g711_like)
 *
 * With --wav the G.711 payloads (decrypted, or plain) are decoded and written in capture order
 * as 8000 Hz mono 16-bit PCM, for tests/integration/audio.py to analyse.
 *
 * Exit: 0 when at least one packet was selected and none failed; 1 when one failed or none was
 * selected; 2 on a usage or I/O error. The key is wiped from memory (and from argv) as soon as
 * libsrtp2 holds it.
 *
 * libpcap reads the capture (classic or pcapng, any link type tcpdump writes for lo or "any")
 * and its filter language picks the port; this file only steps over the link header, the IPv4
 * header and the UDP header to reach the payload.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pcap/pcap.h>
#include <sndfile.h>
#include <spandsp/telephony.h>
#include <spandsp/g711.h>
#include <srtp2/srtp.h>

#define CHECK __attribute__((warn_unused_result))

#define RTP_MIN_HEADER 12
#define PT_PCMU        0
#define PT_PCMA        8
#define AUDIO_MIN      40 /* bytes of G.711 payload before looks_like_g711 is asked */
#define MAX_SSRCS      64
#define MAX_AUDIO      480 /* payload bytes looks_like_g711 reads: 60 ms */

/* The SDES suites of RFC 4568 section 6.2 and RFC 6188 that libsrtp2 has, and what each needs. */
struct suite {
	const char *name;
	size_t key_len; /* master key + master salt */
	size_t tag_len; /* SRTP authentication tag */
	void (*rtp)(srtp_crypto_policy_t *);
	void (*rtcp)(srtp_crypto_policy_t *);
};

static const struct suite suites[] = {
        {"AES_CM_128_HMAC_SHA1_80", 30, 10, srtp_crypto_policy_set_rtp_default,
         srtp_crypto_policy_set_rtcp_default},
        /* RFC 4568 6.2: _32 shortens the SRTP tag only; SRTCP keeps 80 bits. */
        {"AES_CM_128_HMAC_SHA1_32", 30, 4, srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32,
         srtp_crypto_policy_set_rtcp_default},
        {"AES_256_CM_HMAC_SHA1_80", 46, 10, srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80,
         srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80},
        {"AES_256_CM_HMAC_SHA1_32", 46, 4, srtp_crypto_policy_set_aes_cm_256_hmac_sha1_32,
         srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80},
};

struct opts {
	const char *pcap;
	const char *wav;
	const struct suite *suite;
	char *key_b64; /* points into argv: wiped once decoded */
	long port;
	int dst;
	int rtcp;
	int plain;
};

struct tally {
	unsigned long packets, decrypted, failed, audio, g711_like, decoded_g711_like;
	int pt_seen[256];
	uint32_t ssrc[MAX_SSRCS];
	size_t nssrc;
};

static void
usage(void)
{
	fprintf(stderr,
	        "usage: srtp_decrypt --pcap FILE --port N [--dst] [--rtcp]\n"
	        "                    (--suite SUITE --key BASE64 | --plain) [--wav OUT.wav]\n");
}

/* Decodes the RFC 4568 inline key into key[], which must be exactly want bytes long. */
static int CHECK
decode_key(const char *b64, unsigned char *key, size_t want)
{
	EVP_ENCODE_CTX *ctx = NULL;
	unsigned char buf[128];
	size_t in_len = strlen(b64);
	int n1 = 0, n2 = 0, r = -1;

	if (in_len == 0 || in_len > 4 * sizeof(buf) / 3 - 4) {
		fprintf(stderr, "srtp_decrypt: --key: not a key of this suite\n");
		goto out;
	}
	if ((ctx = EVP_ENCODE_CTX_new()) == NULL)
		goto out;
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, buf, &n1, (const unsigned char *)b64, (int)in_len) < 0 ||
	    EVP_DecodeFinal(ctx, buf + n1, &n2) != 1) {
		fprintf(stderr, "srtp_decrypt: --key: not base64\n");
		goto out;
	}
	if ((size_t)(n1 + n2) != want) {
		fprintf(stderr, "srtp_decrypt: --key: %d bytes, the suite needs %zu\n", n1 + n2,
		        want);
		goto out;
	}
	memcpy(key, buf, want);
	r = 0;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	EVP_ENCODE_CTX_free(ctx);
	return r;
}

static int CHECK
parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {{"pcap", required_argument, NULL, 'f'},
	                                         {"port", required_argument, NULL, 'p'},
	                                         {"suite", required_argument, NULL, 's'},
	                                         {"key", required_argument, NULL, 'k'},
	                                         {"wav", required_argument, NULL, 'w'},
	                                         {"dst", no_argument, NULL, 'd'},
	                                         {"rtcp", no_argument, NULL, 'r'},
	                                         {"plain", no_argument, NULL, 'P'},
	                                         {NULL, 0, NULL, 0}};
	const char *suite = NULL;
	char *end;
	size_t i;
	int c;

	memset(o, 0, sizeof(*o));
	o->port = -1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o->pcap = optarg;
			break;
		case 'p':
			o->port = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || o->port < 1 || o->port > 65535)
				o->port = -1;
			break;
		case 's':
			suite = optarg;
			break;
		case 'k':
			o->key_b64 = optarg;
			break;
		case 'w':
			o->wav = optarg;
			break;
		case 'd':
			o->dst = 1;
			break;
		case 'r':
			o->rtcp = 1;
			break;
		case 'P':
			o->plain = 1;
			break;
		default:
			return -1;
		}
	}
	if (optind != argc || o->pcap == NULL || o->port < 0 ||
	    o->plain == (suite != NULL || o->key_b64 != NULL) ||
	    (!o->plain && (suite == NULL || o->key_b64 == NULL)))
		return -1;
	if (o->plain)
		return 0;
	for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		if (strcmp(suites[i].name, suite) == 0)
			o->suite = &suites[i];
	if (o->suite == NULL) {
		fprintf(stderr, "srtp_decrypt: unknown suite %s\n", suite);
		return -1;
	}
	return 0;
}

/*
 * Where the IPv4 header starts in a frame of this link type, or -1 when the frame does not
 * carry IPv4. tcpdump on Linux's lo writes EN10MB (a zeroed Ethernet header); "-i any" writes
 * LINUX_SLL or LINUX_SLL2; BSD loopback is NULL/LOOP.
 */
static long
ipv4_offset(int linktype, const unsigned char *p, size_t len)
{
	switch (linktype) {
	case DLT_EN10MB:
		return len >= 14 && p[12] == 0x08 && p[13] == 0x00 ? 14 : -1;
	case DLT_LINUX_SLL: /* 16 bytes, protocol type last */
		return len >= 16 && p[14] == 0x08 && p[15] == 0x00 ? 16 : -1;
	case DLT_LINUX_SLL2: /* 20 bytes, protocol type first */
		return len >= 20 && p[0] == 0x08 && p[1] == 0x00 ? 20 : -1;
	case DLT_NULL: /* the sender's AF_INET (2) in its own byte order */
		return len >= 4 && (p[0] == 2 || p[3] == 2) ? 4 : -1;
	case DLT_LOOP:
		return len >= 4 && p[3] == 2 ? 4 : -1;
	case DLT_RAW:
		return len >= 1 && (p[0] >> 4) == 4 ? 0 : -1;
	default:
		return -1;
	}
}

/* The UDP payload of one captured frame (NULL when it is not a whole, unfragmented one). */
static const unsigned char *
udp_payload(int linktype, const unsigned char *p, size_t caplen, size_t *len)
{
	long off = ipv4_offset(linktype, p, caplen);
	size_t ihl, udp_len;
	const unsigned char *ip;

	if (off < 0 || caplen < (size_t)off + 20)
		return NULL;
	ip = p + off;
	ihl = (size_t)(ip[0] & 0x0f) * 4;
	/* protocol 17 (UDP); more-fragments clear and offset 0 */
	if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != 17 || (ip[6] & 0x3f) != 0 || ip[7] != 0)
		return NULL;
	if (caplen < (size_t)off + ihl + 8)
		return NULL;
	udp_len = (size_t)ip[ihl + 4] << 8 | ip[ihl + 5];
	if (udp_len < 8 || caplen < (size_t)off + ihl + udp_len)
		return NULL;
	*len = udp_len - 8;
	return ip + ihl + 8;
}

/* The length of an RTP header (RFC 3550 5.1, 5.3.1), or 0 when pkt is not RTP version 2. */
static size_t
rtp_header_len(const unsigned char *pkt, size_t len)
{
	size_t hl;

	if (len < RTP_MIN_HEADER || (pkt[0] >> 6) != 2)
		return 0;
	hl = RTP_MIN_HEADER + 4 * (size_t)(pkt[0] & 0x0f);
	if (pkt[0] & 0x10) {
		if (len < hl + 4)
			return 0;
		hl += 4 + 4 * ((size_t)pkt[hl + 2] << 8 | pkt[hl + 3]);
	}
	return hl <= len ? hl : 0;
}

static short
g711_linear(int pt, unsigned char c)
{
	return pt == PT_PCMU ? ulaw_to_linear(c) : alaw_to_linear(c);
}

/*
 * Whether a G.711 payload looks like the audio these tests send (silence, tones, speech) rather
 * than random bytes, which is what SRTP ciphertext is. Random code words decode to loud, white
 * noise: its spectral flatness (geometric over arithmetic mean of the power spectrum) is about
 * 0.56, e^-gamma for a periodogram, and stayed above 0.44 in trials of 160 bytes. A tone's is near
 * 0 at any frequency, low-passed noise like speech stays under 0.25, and silence is quiet. So:
 * quiet (RMS under 100), or flatter than 0.3 nowhere (a Hann-windowed DFT, DC and Nyquist left
 * out).
 */
static int
looks_like_g711(int pt, const unsigned char *p, size_t n)
{
	double x[MAX_AUDIO], e = 0.0, re, im, pw, sum_log = 0.0, sum = 0.0;
	size_t i, k, bins;

	if (n < 8)
		return 0;
	if (n > MAX_AUDIO)
		n = MAX_AUDIO;
	for (i = 0; i < n; i++) {
		x[i] = g711_linear(pt, p[i]);
		e += x[i] * x[i];
	}
	if (e / (double)n < 100.0 * 100.0)
		return 1;
	for (i = 0; i < n; i++)
		x[i] *= 0.5 - 0.5 * cos(2.0 * M_PI * (double)i / (double)(n - 1));
	bins = n / 2 - 1;
	for (k = 1; k <= bins; k++) {
		re = im = 0.0;
		for (i = 0; i < n; i++) {
			re += x[i] * cos(2.0 * M_PI * (double)(k * i) / (double)n);
			im += x[i] * sin(2.0 * M_PI * (double)(k * i) / (double)n);
		}
		pw = re * re + im * im + 1e-9;
		sum_log += log(pw);
		sum += pw;
	}
	return exp(sum_log / (double)bins) / (sum / (double)bins) < 0.3;
}

static void
note_ssrc(struct tally *t, uint32_t ssrc)
{
	size_t i;

	for (i = 0; i < t->nssrc; i++)
		if (t->ssrc[i] == ssrc)
			return;
	if (t->nssrc < MAX_SSRCS)
		t->ssrc[t->nssrc++] = ssrc;
}

static int CHECK
write_g711(SNDFILE *wav, int pt, const unsigned char *p, size_t n)
{
	short pcm[1024];
	size_t i, k;

	for (i = 0; i < n; i += k) {
		for (k = 0; k < sizeof(pcm) / sizeof(pcm[0]) && i + k < n; k++)
			pcm[k] =
			        pt == PT_PCMU ? ulaw_to_linear(p[i + k]) : alaw_to_linear(p[i + k]);
		if (sf_write_short(wav, pcm, (sf_count_t)k) != (sf_count_t)k) {
			fprintf(stderr, "srtp_decrypt: writing the WAV: %s\n", sf_strerror(wav));
			return -1;
		}
	}
	return 0;
}

/* One selected datagram: count it, unprotect it unless plain, and decode its audio. */
static int CHECK
one_packet(const struct opts *o, srtp_t session, struct tally *t, SNDFILE *wav,
           const unsigned char *udp, size_t len)
{
	unsigned char buf[2048 + SRTP_MAX_TRAILER_LEN];
	size_t hl, tag = o->plain ? 0 : o->suite->tag_len;
	int n = (int)len, pt, audio;
	srtp_err_status_t st;

	t->packets++;
	/* RTCP (RFC 3550 6.4): version 2, then the packet type and the sender's SSRC in 8 bytes */
	hl = o->rtcp ? (len >= 8 && (udp[0] >> 6) == 2 ? 8 : 0) : rtp_header_len(udp, len);
	if (len > sizeof(buf) - SRTP_MAX_TRAILER_LEN || hl == 0) {
		t->failed++;
		return 0;
	}
	pt = o->rtcp ? udp[1] : udp[1] & 0x7f;
	t->pt_seen[pt] = 1;
	udp += o->rtcp ? 4 : 8;
	note_ssrc(t,
	          (uint32_t)udp[0] << 24 | (uint32_t)udp[1] << 16 | (uint32_t)udp[2] << 8 | udp[3]);
	udp -= o->rtcp ? 4 : 8;
	audio = !o->rtcp && (pt == PT_PCMU || pt == PT_PCMA) && len >= hl + tag + AUDIO_MIN;
	if (audio) {
		t->audio++;
		if (looks_like_g711(pt, udp + hl, len - hl - tag))
			t->g711_like++;
	}
	memcpy(buf, udp, len);
	if (!o->plain) {
		st = o->rtcp ? srtp_unprotect_rtcp(session, buf, &n)
		             : srtp_unprotect(session, buf, &n);
		if (st != srtp_err_status_ok) {
			t->failed++;
			return 0;
		}
	}
	t->decrypted++;
	if (!audio || (size_t)n < hl)
		return 0;
	if (looks_like_g711(pt, buf + hl, (size_t)n - hl))
		t->decoded_g711_like++;
	return wav != NULL ? write_g711(wav, pt, buf + hl, (size_t)n - hl) : 0;
}

static void
print_tally(const struct tally *t)
{
	const char *sep = "";
	int pt;

	printf("{\"packets\": %lu, \"decrypted\": %lu, \"failed\": %lu, \"payload_types\": [",
	       t->packets, t->decrypted, t->failed);
	for (pt = 0; pt < 256; pt++) {
		if (t->pt_seen[pt]) {
			printf("%s%d", sep, pt);
			sep = ", ";
		}
	}
	printf("], \"ssrcs\": %zu, \"audio_packets\": %lu, \"g711_like\": %lu, "
	       "\"decoded_g711_like\": %lu}\n",
	       t->nssrc, t->audio, t->g711_like, t->decoded_g711_like);
}

int
main(int argc, char **argv)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	unsigned char key[SRTP_MAX_KEY_LEN];
	struct bpf_program prog;
	struct pcap_pkthdr *hdr;
	struct tally tally;
	struct opts o;
	srtp_policy_t policy;
	srtp_t session = NULL;
	SNDFILE *wav = NULL;
	SF_INFO info;
	pcap_t *pc = NULL;
	const unsigned char *frame, *udp;
	char filter[64];
	size_t len;
	int have_prog = 0, srtp_up = 0, linktype, rc, r = 2;

	memset(&tally, 0, sizeof(tally));
	memset(&policy, 0, sizeof(policy));
	if (parse_args(argc, argv, &o) != 0) {
		usage();
		goto out;
	}
	if (!o.plain) {
		rc = decode_key(o.key_b64, key, o.suite->key_len);
		OPENSSL_cleanse(o.key_b64, strlen(o.key_b64));
		if (rc != 0)
			goto out;
		if (srtp_init() != srtp_err_status_ok) {
			fprintf(stderr, "srtp_decrypt: srtp_init failed\n");
			goto out;
		}
		srtp_up = 1;
		o.suite->rtp(&policy.rtp);
		o.suite->rtcp(&policy.rtcp);
		policy.ssrc.type = ssrc_any_inbound;
		policy.key = key;
		policy.window_size = 1024;
		if (srtp_create(&session, &policy) != srtp_err_status_ok) {
			fprintf(stderr, "srtp_decrypt: srtp_create failed\n");
			session = NULL;
			goto out;
		}
	}
	if ((pc = pcap_open_offline(o.pcap, errbuf)) == NULL) {
		fprintf(stderr, "srtp_decrypt: %s\n", errbuf);
		goto out;
	}
	/* The port is the sender's unless --dst; IPv4 only, as udp_payload reads. */
	snprintf(filter, sizeof(filter), "ip and udp %s port %ld", o.dst ? "dst" : "src", o.port);
	if (pcap_compile(pc, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		fprintf(stderr, "srtp_decrypt: %s: %s\n", filter, pcap_geterr(pc));
		goto out;
	}
	have_prog = 1;
	if (pcap_setfilter(pc, &prog) != 0) {
		fprintf(stderr, "srtp_decrypt: %s: %s\n", filter, pcap_geterr(pc));
		goto out;
	}
	if (o.wav != NULL) {
		memset(&info, 0, sizeof(info));
		info.samplerate = 8000;
		info.channels = 1;
		info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
		if ((wav = sf_open(o.wav, SFM_WRITE, &info)) == NULL) {
			fprintf(stderr, "srtp_decrypt: %s: %s\n", o.wav, sf_strerror(NULL));
			goto out;
		}
	}
	linktype = pcap_datalink(pc);
	while ((rc = pcap_next_ex(pc, &hdr, &frame)) == 1) {
		if ((udp = udp_payload(linktype, frame, hdr->caplen, &len)) == NULL)
			continue;
		if (one_packet(&o, session, &tally, wav, udp, len) != 0)
			goto out;
	}
	if (rc == PCAP_ERROR) {
		fprintf(stderr, "srtp_decrypt: %s: %s\n", o.pcap, pcap_geterr(pc));
		goto out;
	}
	print_tally(&tally);
	r = tally.packets > 0 && tally.failed == 0 ? 0 : 1;
out:
	OPENSSL_cleanse(key, sizeof(key));
	if (wav != NULL && sf_close(wav) != 0 && r != 2) {
		fprintf(stderr, "srtp_decrypt: closing %s failed\n", o.wav);
		r = 2;
	}
	if (have_prog)
		pcap_freecode(&prog);
	if (pc != NULL)
		pcap_close(pc);
	if (session != NULL)
		(void)srtp_dealloc(session);
	if (srtp_up)
		(void)srtp_shutdown();
	return r;
}
