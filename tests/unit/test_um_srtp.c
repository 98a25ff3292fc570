/*
 * SRTP and SRTCP with libsrtp2 (um/src/media/srtp.c): every suite, and what must be refused; and
 * the OpenSSL types it registers (srtp_ossl.c): RFC known answers, and packets byte for byte the
 * same as stock libsrtp2's, checked in a fresh process of this program that never registers them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <srtp2/srtp.h>

#include "media/rtp.h"
#include "media/srtp.h"
#include "media/srtp_ossl.h"
#include "testutil.h"

static void
keys(enum um_srtp_suite suite, struct um_sdes *a, struct um_sdes *b)
{
	CU_ASSERT_TRUE_FATAL(um_sdes_new_key(suite, a));
	CU_ASSERT_TRUE_FATAL(um_sdes_new_key(suite, b));
}

static size_t
rtp(uint8_t *buf, uint16_t seq)
{
	struct um_rtp h = {.pt = 0, .seq = seq, .ts = seq * 160u, .ssrc = 0x11223344};

	um_rtp_header(buf, &h);
	memset(buf + UM_RTP_HEADER, 0x55, 160);
	return UM_RTP_HEADER + 160;
}

/* The sender's context protects with its tx key; the receiver's rx key is that same key. */
static void
roundtrip(enum um_srtp_suite suite)
{
	struct um_sdes ka, kb;
	struct um_srtp *a = NULL, *b = NULL;
	uint8_t buf[256], copy[256];
	size_t len, clen;

	keys(suite, &ka, &kb);
	CU_ASSERT_EQUAL_FATAL(um_srtp_new(&ka, &kb, &a), UM_OK); /* a sends with ka */
	CU_ASSERT_EQUAL_FATAL(um_srtp_new(&kb, &ka, &b), UM_OK); /* b receives with ka */
	len = rtp(buf, 100);
	CU_ASSERT_EQUAL(um_srtp_protect(a, buf, &len, sizeof(buf)), UM_SRTP_OK);
	CU_ASSERT(len > UM_RTP_HEADER + 160);
	CU_ASSERT_NOT_EQUAL(buf[UM_RTP_HEADER], 0x55); /* the payload is encrypted */
	memcpy(copy, buf, len);
	clen = len;
	CU_ASSERT_EQUAL(um_srtp_unprotect(b, buf, &len), UM_SRTP_OK);
	CU_ASSERT_EQUAL(len, UM_RTP_HEADER + 160);
	CU_ASSERT_EQUAL(buf[UM_RTP_HEADER + 5], 0x55);
	/* The same packet again: a replay. */
	CU_ASSERT_EQUAL(um_srtp_unprotect(b, copy, &clen), UM_SRTP_REPLAY);
	/* A flipped bit: authentication fails. */
	len = rtp(buf, 101);
	CU_ASSERT_EQUAL(um_srtp_protect(a, buf, &len, sizeof(buf)), UM_SRTP_OK);
	buf[UM_RTP_HEADER + 3] ^= 0x01;
	CU_ASSERT_EQUAL(um_srtp_unprotect(b, buf, &len), UM_SRTP_AUTH);
	/* The wrong key: umd's own key checking what the gateway sends. */
	len = rtp(buf, 102);
	CU_ASSERT_EQUAL(um_srtp_protect(a, buf, &len, sizeof(buf)), UM_SRTP_OK);
	CU_ASSERT_EQUAL(um_srtp_unprotect(a, buf, &len), UM_SRTP_AUTH);
	/* SRTCP: a minimal receiver report. */
	memset(buf, 0, 8);
	buf[0] = 0x80;
	buf[1] = 201;
	buf[3] = 1;
	buf[4] = 0x11;
	len = 8;
	CU_ASSERT_EQUAL(um_srtp_protect_rtcp(a, buf, &len, sizeof(buf)), UM_SRTP_OK);
	CU_ASSERT(len > 8);
	CU_ASSERT_EQUAL(um_srtp_unprotect_rtcp(b, buf, &len), UM_SRTP_OK);
	CU_ASSERT_EQUAL(len, 8);
	/* Too short to be anything, and no room to protect. */
	len = 4;
	CU_ASSERT_EQUAL(um_srtp_unprotect(b, buf, &len), UM_SRTP_BAD);
	len = rtp(buf, 103);
	CU_ASSERT_EQUAL(um_srtp_protect(a, buf, &len, len + 4), UM_SRTP_BAD);
	um_srtp_free(a);
	um_srtp_free(b);
	um_sdes_wipe(&ka);
	um_sdes_wipe(&kb);
}

static void
test_aes_cm_80(void)
{
	roundtrip(UM_SRTP_AES_CM_128_HMAC_SHA1_80);
}

static void
test_aes_cm_32(void)
{
	roundtrip(UM_SRTP_AES_CM_128_HMAC_SHA1_32);
}

static void
test_gcm_128(void)
{
	roundtrip(UM_SRTP_AEAD_AES_128_GCM);
}

static void
test_gcm_256(void)
{
	roundtrip(UM_SRTP_AEAD_AES_256_GCM);
}

static void
test_refused(void)
{
	struct um_sdes a, b;
	struct um_srtp *s = NULL;

	keys(UM_SRTP_AES_CM_128_HMAC_SHA1_80, &a, &b);
	b.suite = UM_SRTP_AEAD_AES_256_GCM; /* the two directions' suites differ */
	CU_ASSERT_NOT_EQUAL(um_srtp_new(&a, &b, &s), UM_OK);
	CU_ASSERT_PTR_NULL(s);
	b.suite = UM_SRTP_AES_CM_128_HMAC_SHA1_80;
	b.key_len = 16; /* a key of the wrong length */
	CU_ASSERT_NOT_EQUAL(um_srtp_new(&a, &b, &s), UM_OK);
	a.suite = b.suite = UM_SRTP_NONE;
	CU_ASSERT_NOT_EQUAL(um_srtp_new(&a, &b, &s), UM_OK);
	um_srtp_free(NULL);
}

/* libsrtp2 2.5.x and OpenSSL 3.0.3 or later only; the version rule fails closed. */
static void
test_openssl_versions(void)
{
	CU_ASSERT_EQUAL(um_srtp_openssl_check(0x02050000u, 0x30000130ul), UM_OK);
	CU_ASSERT_EQUAL(um_srtp_openssl_check(0x02050002u, 0x30000030ul), UM_OK);
	CU_ASSERT_EQUAL(um_srtp_openssl_check(0x02040000u, 0x30000130ul), UM_ERR_MEDIA);
	CU_ASSERT_EQUAL(um_srtp_openssl_check(0x02060000u, 0x30000130ul), UM_ERR_MEDIA);
	CU_ASSERT_EQUAL(um_srtp_openssl_check(0x03000000u, 0x30000130ul), UM_ERR_MEDIA);
	CU_ASSERT_EQUAL(um_srtp_openssl_check(0, 0x30000130ul), UM_ERR_MEDIA); /* not a release */
	CU_ASSERT_EQUAL(um_srtp_openssl_check(0x02050000u, 0x30000020ul), UM_ERR_MEDIA);
	CU_ASSERT_EQUAL(um_srtp_openssl_check(0x02050000u, 0x1010117ful), UM_ERR_MEDIA);
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), "OpenSSL"));
	CU_ASSERT_PTR_NULL(um_srtp_openssl_cipher(SRTP_AES_GCM_128));
}

/* On the libsrtp2 it was checked against the types are in use; on any other, refused. */
static void
test_openssl_registered(void)
{
	CU_ASSERT_EQUAL_FATAL(um_srtp_global_init(), UM_OK);
	if ((srtp_get_version() & 0xffff0000u) == UM_SRTP_OSSL_LIBSRTP &&
	    OpenSSL_version_num() >= UM_SRTP_OSSL_OPENSSL) {
		CU_ASSERT_PTR_NULL(um_srtp_openssl_refused());
	} else {
		CU_ASSERT_PTR_NOT_NULL(um_srtp_openssl_refused());
	}
}

/* RFC 3711 appendix B.2: session key and salt, and the keystream from counter 0 and 0xfeff. */
static const uint8_t b2_key[30] = {
        0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f,
        0x3c, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd,
};
static const uint8_t b2_ks_0[48] = {
        0xe0, 0x3e, 0xad, 0x09, 0x35, 0xc9, 0x5e, 0x80, 0xe1, 0x66, 0xb1, 0x6d,
        0xd9, 0x2b, 0x4e, 0xb4, 0xd2, 0x35, 0x13, 0x16, 0x2b, 0x02, 0xd0, 0xf7,
        0x2a, 0x43, 0xa2, 0xfe, 0x4a, 0x5f, 0x97, 0xab, 0x41, 0xe9, 0x5b, 0x3b,
        0xb0, 0xa2, 0xe8, 0xdd, 0x47, 0x79, 0x01, 0xe4, 0xfc, 0xa8, 0x94, 0xc0,
};
static const uint8_t b2_ks_feff[48] = {
        0xec, 0x8c, 0xdf, 0x73, 0x98, 0x60, 0x7c, 0xb0, 0xf2, 0xd2, 0x16, 0x75,
        0xea, 0x9e, 0xa1, 0xe4, 0x36, 0x2b, 0x7c, 0x3c, 0x67, 0x73, 0x51, 0x63,
        0x18, 0xa0, 0x77, 0xd7, 0xfc, 0x50, 0x73, 0xae, 0x6a, 0x2c, 0xc3, 0x78,
        0x78, 0x89, 0x37, 0x4f, 0xbe, 0xb4, 0xc8, 0x1b, 0x17, 0xba, 0x6c, 0x44,
};
/* RFC 6188 section 7.1: AES-256 counter mode. */
static const uint8_t r6188_key[46] = {
        0x57, 0xf8, 0x2f, 0xe3, 0x61, 0x3f, 0xd1, 0x70, 0xa8, 0x5e, 0xc9, 0x3c,
        0x40, 0xb1, 0xf0, 0x92, 0x2e, 0xc4, 0xcb, 0x0d, 0xc0, 0x25, 0xb5, 0x82,
        0x72, 0x14, 0x7c, 0xc4, 0x38, 0x94, 0x4a, 0x98, 0xf0, 0xf1, 0xf2, 0xf3,
        0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd,
};
static const uint8_t r6188_ks[48] = {
        0x92, 0xbd, 0xd2, 0x8a, 0x93, 0xc3, 0xf5, 0x25, 0x11, 0xc6, 0x77, 0xd0,
        0x8b, 0x55, 0x15, 0xa4, 0x9d, 0xa7, 0x1b, 0x23, 0x78, 0xa8, 0x54, 0xf6,
        0x70, 0x50, 0x75, 0x6d, 0xed, 0x16, 0x5b, 0xac, 0x63, 0xc4, 0x86, 0x8b,
        0x70, 0x96, 0xd8, 0x84, 0x21, 0xb5, 0x63, 0xb8, 0xc9, 0x4c, 0x9a, 0x31,
};

/* The keystream of `ct` with `key` from counter (salt XOR iv), asked for in two pieces. */
static void
keystream(srtp_cipher_type_id_t id, const uint8_t *key, int key_len, uint16_t ctr,
          const uint8_t *want)
{
	const srtp_cipher_type_t *ct = um_srtp_openssl_cipher(id);
	srtp_cipher_t *c = NULL;
	uint8_t iv[16] = {0}, buf[48] = {0};
	uint32_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ct);
	iv[14] = (uint8_t)(ctr >> 8);
	iv[15] = (uint8_t)ctr;
	CU_ASSERT_EQUAL_FATAL(srtp_cipher_type_alloc(ct, &c, key_len, 0), srtp_err_status_ok);
	CU_ASSERT_EQUAL(c->algorithm, (int)id);
	CU_ASSERT_EQUAL(c->key_len, key_len);
	CU_ASSERT_EQUAL(srtp_cipher_init(c, key), srtp_err_status_ok);
	CU_ASSERT_EQUAL(srtp_cipher_set_iv(c, iv, srtp_direction_encrypt), srtp_err_status_ok);
	n = 7;
	CU_ASSERT_EQUAL(srtp_cipher_encrypt(c, buf, &n), srtp_err_status_ok);
	n = sizeof(buf) - 7;
	CU_ASSERT_EQUAL(srtp_cipher_encrypt(c, buf + 7, &n), srtp_err_status_ok);
	CU_ASSERT_EQUAL(memcmp(buf, want, sizeof(buf)), 0);
	/* A new IV restarts the keystream. */
	memset(buf, 0, sizeof(buf));
	CU_ASSERT_EQUAL(srtp_cipher_set_iv(c, iv, srtp_direction_decrypt), srtp_err_status_ok);
	n = sizeof(buf);
	CU_ASSERT_EQUAL(srtp_cipher_encrypt(c, buf, &n), srtp_err_status_ok);
	CU_ASSERT_EQUAL(memcmp(buf, want, sizeof(buf)), 0);
	CU_ASSERT_EQUAL(srtp_cipher_dealloc(c), srtp_err_status_ok);
}

static void
test_openssl_aes_cm(void)
{
	uint8_t iv_0[16] = {0}, iv_feff[16] = {[14] = 0xfe, [15] = 0xff}, bad[48];
	static const uint8_t zeros[48];
	srtp_cipher_test_case_t feff = {30,         b2_key, iv_feff, 48, zeros, 48,
	                                b2_ks_feff, 0,      NULL,    0,  NULL};
	srtp_cipher_test_case_t b2 = {30, b2_key, iv_0, 48, zeros, 48, b2_ks_0, 0, NULL, 0, &feff};
	srtp_cipher_test_case_t r6188 = {46,       r6188_key, iv_0, 48, zeros, 48,
	                                 r6188_ks, 0,         NULL, 0,  NULL};
	srtp_cipher_t *c = NULL;
	uint8_t iv_wrap[16] = {[14] = 0xff, [15] = 0xfe}, buf[48] = {0};
	uint32_t n;

	keystream(SRTP_AES_ICM_128, b2_key, 30, 0, b2_ks_0);
	keystream(SRTP_AES_ICM_128, b2_key, 30, 0xfeff, b2_ks_feff);
	keystream(SRTP_AES_ICM_256, r6188_key, 46, 0, r6188_ks);
	/* The same, through libsrtp2's own test (encrypt, decrypt, then random round trips). */
	CU_ASSERT_EQUAL(srtp_cipher_type_test(um_srtp_openssl_cipher(SRTP_AES_ICM_128), &b2),
	                srtp_err_status_ok);
	CU_ASSERT_EQUAL(srtp_cipher_type_test(um_srtp_openssl_cipher(SRTP_AES_ICM_256), &r6188),
	                srtp_err_status_ok);
	CU_ASSERT_EQUAL(srtp_cipher_type_self_test(um_srtp_openssl_cipher(SRTP_AES_ICM_128)),
	                srtp_err_status_ok);
	CU_ASSERT_EQUAL(srtp_cipher_type_self_test(um_srtp_openssl_cipher(SRTP_AES_ICM_256)),
	                srtp_err_status_ok);
	/* A wrong answer fails: the test compares. */
	memcpy(bad, b2_ks_0, sizeof(bad));
	bad[47] ^= 1;
	b2.ciphertext = bad;
	CU_ASSERT_EQUAL(srtp_cipher_type_test(um_srtp_openssl_cipher(SRTP_AES_ICM_128), &b2),
	                srtp_err_status_algo_fail);
	/* Keys of another size, and the AES-128 vector given to AES-256. */
	CU_ASSERT_NOT_EQUAL(
	        srtp_cipher_type_alloc(um_srtp_openssl_cipher(SRTP_AES_ICM_128), &c, 46, 0),
	        srtp_err_status_ok);
	CU_ASSERT_NOT_EQUAL(
	        srtp_cipher_type_alloc(um_srtp_openssl_cipher(SRTP_AES_ICM_256), &c, 30, 0),
	        srtp_err_status_ok);
	CU_ASSERT_NOT_EQUAL(srtp_cipher_type_test(um_srtp_openssl_cipher(SRTP_AES_ICM_256), &feff),
	                    srtp_err_status_ok);
	/* The counter's low 16 bits never carry into the salt: from 0xfffe, two blocks and no more.
	 */
	CU_ASSERT_EQUAL_FATAL(
	        srtp_cipher_type_alloc(um_srtp_openssl_cipher(SRTP_AES_ICM_128), &c, 30, 0),
	        srtp_err_status_ok);
	CU_ASSERT_EQUAL(srtp_cipher_init(c, b2_key), srtp_err_status_ok);
	CU_ASSERT_EQUAL(srtp_cipher_set_iv(c, iv_wrap, srtp_direction_encrypt), srtp_err_status_ok);
	n = 33;
	CU_ASSERT_EQUAL(srtp_cipher_encrypt(c, buf, &n), srtp_err_status_terminus);
	n = 32;
	CU_ASSERT_EQUAL(srtp_cipher_encrypt(c, buf, &n), srtp_err_status_ok);
	n = 1;
	CU_ASSERT_EQUAL(srtp_cipher_encrypt(c, buf, &n), srtp_err_status_terminus);
	CU_ASSERT_EQUAL(srtp_cipher_dealloc(c), srtp_err_status_ok);
}

/* RFC 2202 section 3: HMAC-SHA1's seven cases (case 5 also truncated to 96 bits). */
struct hmac_case {
	uint8_t key[80];
	int key_len;
	uint8_t data[80];
	int data_len;
	const char *tag;
};

static void
hex(const char *s, uint8_t *out)
{
	size_t i;

	for (i = 0; s[2 * i] != '\0'; i++)
		CU_ASSERT_EQUAL(sscanf(s + 2 * i, "%2hhx", &out[i]), 1);
}

static void
fill(uint8_t *p, int n, uint8_t v)
{
	memset(p, v, (size_t)n);
}

static void
test_openssl_hmac_sha1(void)
{
	static struct hmac_case cases[7];
	const srtp_auth_type_t *at = um_srtp_openssl_hmac_sha1();
	srtp_auth_test_case_t tc[8];
	srtp_auth_t *a = NULL;
	uint8_t tags[8][20], tag[20];
	int i;

	fill(cases[0].key, cases[0].key_len = 20, 0x0b);
	memcpy(cases[0].data, "Hi There", cases[0].data_len = 8);
	cases[0].tag = "b617318655057264e28bc0b6fb378c8ef146be00";
	memcpy(cases[1].key, "Jefe", cases[1].key_len = 4);
	memcpy(cases[1].data, "what do ya want for nothing?", cases[1].data_len = 28);
	cases[1].tag = "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79";
	fill(cases[2].key, cases[2].key_len = 20, 0xaa);
	fill(cases[2].data, cases[2].data_len = 50, 0xdd);
	cases[2].tag = "125d7342b9ac11cd91a39af48aa17b4f63f175d3";
	for (i = 0; i < 25; i++)
		cases[3].key[i] = (uint8_t)(i + 1);
	cases[3].key_len = 25;
	fill(cases[3].data, cases[3].data_len = 50, 0xcd);
	cases[3].tag = "4c9007f4026250c6bc8414f9bf50c86c2d7235da";
	fill(cases[4].key, cases[4].key_len = 20, 0x0c);
	memcpy(cases[4].data, "Test With Truncation", cases[4].data_len = 20);
	cases[4].tag = "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04";
	fill(cases[5].key, cases[5].key_len = 80, 0xaa);
	memcpy(cases[5].data, "Test Using Larger Than Block-Size Key - Hash Key First",
	       cases[5].data_len = 54);
	cases[5].tag = "aa4ae5e15272d00e95705637ce8a3b55ed402112";
	fill(cases[6].key, cases[6].key_len = 80, 0xaa);
	memcpy(cases[6].data,
	       "Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data",
	       cases[6].data_len = 73);
	cases[6].tag = "e8e99d0f45237d786d6bbaa7965c7808bbff1a91";
	for (i = 0; i < 7; i++) {
		hex(cases[i].tag, tags[i]);
		tc[i] = (srtp_auth_test_case_t){cases[i].key_len, cases[i].key, cases[i].data_len,
		                                cases[i].data,    20,           tags[i],
		                                &tc[i + 1]};
	}
	/* Case 5 again, its tag truncated to 96 bits (SRTP's tags are 80 and 32). */
	tc[7] = tc[4];
	tc[7].tag_length_octets = 12;
	tc[7].next_test_case = NULL;
	CU_ASSERT_EQUAL(srtp_auth_type_test(at, tc), srtp_err_status_ok);
	CU_ASSERT_EQUAL(srtp_auth_type_self_test(at), srtp_err_status_ok);

	/* One context, many messages (start reuses the key, as srtp_protect does a packet), and a
	 * message given in pieces (update, then compute). */
	CU_ASSERT_EQUAL_FATAL(srtp_auth_type_alloc(at, &a, 20, 10), srtp_err_status_ok);
	CU_ASSERT_EQUAL(srtp_auth_get_prefix_length(a), 0);
	CU_ASSERT_EQUAL(srtp_auth_init(a, cases[2].key), srtp_err_status_ok);
	for (i = 0; i < 3; i++) {
		memset(tag, 0, sizeof(tag));
		CU_ASSERT_EQUAL(srtp_auth_start(a), srtp_err_status_ok);
		CU_ASSERT_EQUAL(srtp_auth_update(a, cases[2].data, 17), srtp_err_status_ok);
		CU_ASSERT_EQUAL(srtp_auth_compute(a, cases[2].data + 17, 33, tag),
		                srtp_err_status_ok);
		CU_ASSERT_EQUAL(memcmp(tag, tags[2], 10), 0);
		CU_ASSERT_EQUAL(tag[10], 0); /* out_len 10: no more written */
	}
	CU_ASSERT_EQUAL(srtp_auth_dealloc(a), srtp_err_status_ok);

	/* A wrong tag fails; a tag longer than SHA-1's is refused. */
	tags[0][19] ^= 1;
	tc[0].next_test_case = NULL;
	CU_ASSERT_EQUAL(srtp_auth_type_test(at, &tc[0]), srtp_err_status_algo_fail);
	CU_ASSERT_NOT_EQUAL(srtp_auth_type_alloc(at, &a, 20, 21), srtp_err_status_ok);
}

/*
 * Stock libsrtp2 against the OpenSSL types. SRTP is deterministic: the same key, SSRC, sequence
 * numbers and SRTCP index give the same bytes. A fresh process of this program ("--stock": never
 * calls um_srtp_global_init, so nothing is registered) protects the packets below and unprotects
 * ours; here they must be byte for byte what um_srtp made, and unprotect.
 */
#define STOCK_PACKETS 4 /* RTP seq 1000..1002, then one SRTCP receiver report */

static size_t
stock_packet(int i, uint8_t *buf)
{
	size_t len;

	if (i == STOCK_PACKETS - 1) {
		memset(buf, 0, 8);
		buf[0] = 0x80;
		buf[1] = 201;
		buf[3] = 1;
		buf[4] = 0x11;
		return 8;
	}
	len = rtp(buf, (uint16_t)(1000 + i));
	buf[UM_RTP_HEADER + i] = (uint8_t)i;
	return len;
}

static bool
write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, b, n)) < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		b += w;
		n -= (size_t)w;
	}
	return true;
}

static bool
read_all(int fd, void *p, size_t n)
{
	uint8_t *b = p;
	ssize_t r;

	while (n > 0) {
		if ((r = read(fd, b, n)) < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		b += r;
		n -= (size_t)r;
	}
	return true;
}

/* Stdin: the suite, the key, then our protected packets (a 16-bit length before each). Stdout:
 * stock libsrtp2's protected packets, then one byte a packet of ours: 1 if it unprotected to the
 * plaintext. */
static int
stock_main(void)
{
	uint8_t suite, key[UM_SRTP_MAX_KEY], buf[256], want[256];
	uint16_t n;
	srtp_policy_t p;
	srtp_t tx = NULL, rx = NULL;
	int i, len;
	size_t wlen;

	if (srtp_init() != srtp_err_status_ok || !read_all(0, &suite, 1) ||
	    !read_all(0, key, um_srtp_key_len(suite)))
		return 2;
	memset(&p, 0, sizeof(p));
	/* The policies srtp.c sets (RFC 4568 section 6.2.2: SRTCP keeps 80 bits). */
	switch (suite) {
	case UM_SRTP_AES_CM_128_HMAC_SHA1_80:
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
		break;
	case UM_SRTP_AES_CM_128_HMAC_SHA1_32:
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&p.rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
		break;
	case UM_SRTP_AEAD_AES_128_GCM:
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtcp);
		break;
	case UM_SRTP_AEAD_AES_256_GCM:
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&p.rtp);
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&p.rtcp);
		break;
	default:
		return 2;
	}
	p.key = key;
	p.window_size = 1024;
	p.ssrc.type = ssrc_any_outbound;
	if (srtp_create(&tx, &p) != srtp_err_status_ok)
		return 3;
	p.ssrc.type = ssrc_any_inbound;
	if (srtp_create(&rx, &p) != srtp_err_status_ok)
		return 3;
	for (i = 0; i < STOCK_PACKETS; i++) {
		len = (int)stock_packet(i, buf);
		if ((i < STOCK_PACKETS - 1
		             ? srtp_protect(tx, buf, &len)
		             : srtp_protect_rtcp(tx, buf, &len)) != srtp_err_status_ok)
			return 4;
		n = (uint16_t)len;
		if (!write_all(1, &n, sizeof(n)) || !write_all(1, buf, (size_t)len))
			return 5;
	}
	for (i = 0; i < STOCK_PACKETS; i++) {
		uint8_t ok;

		if (!read_all(0, &n, sizeof(n)) || n > sizeof(buf) || !read_all(0, buf, n))
			return 5;
		len = n;
		wlen = stock_packet(i, want);
		ok = (i < STOCK_PACKETS - 1
		              ? srtp_unprotect(rx, buf, &len)
		              : srtp_unprotect_rtcp(rx, buf, &len)) == srtp_err_status_ok &&
		     (size_t)len == wlen && memcmp(buf, want, wlen) == 0;
		if (!write_all(1, &ok, 1))
			return 5;
	}
	srtp_dealloc(tx);
	srtp_dealloc(rx);
	OPENSSL_cleanse(key, sizeof(key));
	return srtp_shutdown() == srtp_err_status_ok ? 0 : 6;
}

static void
same_as_stock(enum um_srtp_suite suite)
{
	struct um_sdes k;
	struct um_srtp *s = NULL;
	uint8_t ours[STOCK_PACKETS][256], theirs[256], want[256], ok, sb = (uint8_t)suite;
	size_t len[STOCK_PACKETS], l;
	uint16_t n;
	int in[2], out[2], i, status = -1;
	pid_t pid;

	CU_ASSERT_TRUE_FATAL(um_sdes_new_key(suite, &k));
	CU_ASSERT_EQUAL_FATAL(um_srtp_new(&k, &k, &s), UM_OK);
	for (i = 0; i < STOCK_PACKETS; i++) {
		len[i] = stock_packet(i, ours[i]);
		CU_ASSERT_EQUAL_FATAL(
		        i < STOCK_PACKETS - 1
		                ? um_srtp_protect(s, ours[i], &len[i], sizeof(ours[i]))
		                : um_srtp_protect_rtcp(s, ours[i], &len[i], sizeof(ours[i])),
		        UM_SRTP_OK);
	}
	CU_ASSERT_EQUAL_FATAL(pipe(in), 0);
	CU_ASSERT_EQUAL_FATAL(pipe(out), 0);
	CU_ASSERT_FATAL((pid = fork()) >= 0);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		execl("/proc/self/exe", "test_um_srtp", "--stock", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	CU_ASSERT_TRUE(write_all(in[1], &sb, 1) && write_all(in[1], k.key, k.key_len));
	for (i = 0; i < STOCK_PACKETS; i++) {
		n = (uint16_t)len[i];
		CU_ASSERT_TRUE(write_all(in[1], &n, sizeof(n)) &&
		               write_all(in[1], ours[i], len[i]));
	}
	close(in[1]);
	for (i = 0; i < STOCK_PACKETS; i++) {
		CU_ASSERT_TRUE_FATAL(read_all(out[0], &n, sizeof(n)) && n <= sizeof(theirs) &&
		                     read_all(out[0], theirs, n));
		/* Stock libsrtp2 made exactly the bytes the OpenSSL types made. */
		CU_ASSERT_EQUAL(n, len[i]);
		CU_ASSERT_EQUAL(memcmp(theirs, ours[i], n), 0);
		/* And what stock libsrtp2 protected, um_srtp unprotects. */
		l = n;
		CU_ASSERT_EQUAL(i < STOCK_PACKETS - 1 ? um_srtp_unprotect(s, theirs, &l)
		                                      : um_srtp_unprotect_rtcp(s, theirs, &l),
		                UM_SRTP_OK);
		CU_ASSERT_EQUAL(l, stock_packet(i, want));
		CU_ASSERT_EQUAL(memcmp(theirs, want, l), 0);
	}
	for (i = 0; i < STOCK_PACKETS; i++) {
		/* What um_srtp protected, stock libsrtp2 unprotected. */
		CU_ASSERT_TRUE(read_all(out[0], &ok, 1) && ok == 1);
	}
	close(out[0]);
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	um_srtp_free(s);
	um_sdes_wipe(&k);
}

static void
test_stock_aes_cm_80(void)
{
	same_as_stock(UM_SRTP_AES_CM_128_HMAC_SHA1_80);
}

static void
test_stock_aes_cm_32(void)
{
	same_as_stock(UM_SRTP_AES_CM_128_HMAC_SHA1_32);
}

static void
test_stock_gcm_128(void)
{
	same_as_stock(UM_SRTP_AEAD_AES_128_GCM);
}

static void
test_stock_gcm_256(void)
{
	same_as_stock(UM_SRTP_AEAD_AES_256_GCM);
}

static CU_TestInfo tests[] = {
        {"OpenSSL types: version rule", test_openssl_versions},
        {"OpenSSL types: registered", test_openssl_registered},
        {"AES_CM_128_HMAC_SHA1_80", test_aes_cm_80},
        {"AES_CM_128_HMAC_SHA1_32", test_aes_cm_32},
        {"AEAD_AES_128_GCM", test_gcm_128},
        {"AEAD_AES_256_GCM", test_gcm_256},
        {"keys refused", test_refused},
        {"OpenSSL AES-CM: RFC 3711 B.2, RFC 6188 7.1", test_openssl_aes_cm},
        {"OpenSSL HMAC-SHA1: RFC 2202", test_openssl_hmac_sha1},
        {"same bytes as stock libsrtp2: AES_CM_128_HMAC_SHA1_80", test_stock_aes_cm_80},
        {"same bytes as stock libsrtp2: AES_CM_128_HMAC_SHA1_32", test_stock_aes_cm_32},
        {"same bytes as stock libsrtp2: AEAD_AES_128_GCM", test_stock_gcm_128},
        {"same bytes as stock libsrtp2: AEAD_AES_256_GCM", test_stock_gcm_256},
        CU_TEST_INFO_NULL,
};

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--stock") == 0)
		return stock_main();
	return tu_run("um_srtp", tests);
}
