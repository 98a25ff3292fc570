/*
 * libsrtp2's AES-ICM and HMAC-SHA1 on OpenSSL EVP (srtp_ossl.h). Modelled on libsrtp 2.5.0's own
 * OpenSSL back ends (crypto/cipher/aes_icm_ossl.c, crypto/hash/hmac_ossl.c), which Debian does not
 * build: one EVP context per key, made when libsrtp2 allocates the cipher or the MAC and kept for
 * every packet.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <srtp2/srtp.h>

#include "srtp_ossl.h"

/* RFC 3711 section 4.1.1: the master salt is 112 bits; the counter's low 16 bits count blocks. */
#define SALT_LEN     14
#define BLOCK        16
#define SHA1_LEN     20
#define MAX_HMAC_KEY 128 /* SRTP's is 20 (RFC 3711 section 4.2.1); RFC 2202's longest, 80 */

/* What libsrtp2 keeps in srtp_cipher_t.state. */
struct icm {
	EVP_CIPHER_CTX *ctx;
	size_t key_size;             /* 16 or 32: the AES key before the salt */
	unsigned char offset[BLOCK]; /* the salt, shifted left 16 bits (RFC 3711 section 4.1.1) */
	size_t left;                 /* keystream bytes before the counter's low 16 bits wrap */
};

struct hmac {
	EVP_MAC_CTX *ctx;
};

static const srtp_cipher_type_t icm_128, icm_256;
static const srtp_auth_type_t hmac_sha1;

static char refused[256] = "um_srtp_use_openssl has not run";
static bool registered;

static srtp_err_status_t
icm_alloc(srtp_cipher_t **cp, const srtp_cipher_type_t *type, size_t key_size)
{
	srtp_cipher_t *c = NULL;
	struct icm *s = NULL;

	*cp = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL || (s = calloc(1, sizeof(*s))) == NULL ||
	    (s->ctx = EVP_CIPHER_CTX_new()) == NULL) {
		free(s);
		free(c);
		return srtp_err_status_alloc_fail;
	}
	s->key_size = key_size;
	c->type = type;
	c->state = s;
	c->key_len = (int)(key_size + SALT_LEN);
	/* srtp.c picks the IV format and the AEAD path by algorithm and type->id. */
	c->algorithm = type->id;
	*cp = c;
	return srtp_err_status_ok;
}

static srtp_err_status_t
icm_128_alloc(srtp_cipher_pointer_t *cp, int key_len, int tag_len)
{
	(void)tag_len;
	if (key_len != SRTP_AES_ICM_128_KEY_LEN_WSALT)
		return srtp_err_status_bad_param;
	return icm_alloc(cp, &icm_128, SRTP_AES_128_KEY_LEN);
}

static srtp_err_status_t
icm_256_alloc(srtp_cipher_pointer_t *cp, int key_len, int tag_len)
{
	(void)tag_len;
	if (key_len != SRTP_AES_ICM_256_KEY_LEN_WSALT)
		return srtp_err_status_bad_param;
	return icm_alloc(cp, &icm_256, SRTP_AES_256_KEY_LEN);
}

static srtp_err_status_t
icm_dealloc(srtp_cipher_pointer_t c)
{
	struct icm *s;

	if (c == NULL)
		return srtp_err_status_bad_param;
	if ((s = c->state) != NULL) {
		/* EVP_CIPHER_CTX_free cleanses the key schedule; the salt is ours to wipe. */
		EVP_CIPHER_CTX_free(s->ctx);
		OPENSSL_cleanse(s, sizeof(*s));
		free(s);
	}
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
	return srtp_err_status_ok;
}

/* `key` is the AES key then the 14-byte salt (srtp.c, srtp_stream_init_keys). */
static srtp_err_status_t
icm_init(void *state, const uint8_t *key)
{
	struct icm *s = state;
	const EVP_CIPHER *evp =
	        s->key_size == SRTP_AES_256_KEY_LEN ? EVP_aes_256_ctr() : EVP_aes_128_ctr();

	memset(s->offset, 0, sizeof(s->offset));
	memcpy(s->offset, key + s->key_size, SALT_LEN);
	s->left = 0;
	if (EVP_CIPHER_CTX_reset(s->ctx) != 1 ||
	    EVP_EncryptInit_ex(s->ctx, evp, NULL, key, NULL) != 1)
		return srtp_err_status_init_fail;
	return srtp_err_status_ok;
}

/* The counter is the salt XOR the IV libsrtp2 built (RFC 3711 section 4.1.1). */
static srtp_err_status_t
icm_set_iv(void *state, uint8_t *iv, srtp_cipher_direction_t dir)
{
	struct icm *s = state;
	unsigned char ctr[BLOCK];
	srtp_err_status_t st = srtp_err_status_cipher_fail;
	int i;

	(void)dir;
	for (i = 0; i < BLOCK; i++)
		ctr[i] = s->offset[i] ^ iv[i];
	s->left = (0x10000u - ((size_t)ctr[14] << 8 | ctr[15])) * BLOCK;
	if (EVP_EncryptInit_ex(s->ctx, NULL, NULL, NULL, ctr) == 1)
		st = srtp_err_status_ok;
	OPENSSL_cleanse(ctr, sizeof(ctr));
	return st;
}

/*
 * Encryption and decryption are the same XOR with the keystream. OpenSSL's counter carries into
 * the salt bytes where libsrtp2's (and NSS's, ulCounterBits 16) does not: more than the low 16
 * bits can count is refused as they refuse it, though SRTP never asks (2^16 blocks a packet).
 */
static srtp_err_status_t
icm_crypt(void *state, uint8_t *buf, unsigned int *len)
{
	struct icm *s = state;
	int n = 0;

	if (*len > INT_MAX || *len > s->left)
		return srtp_err_status_terminus;
	if (EVP_EncryptUpdate(s->ctx, buf, &n, buf, (int)*len) != 1 || (unsigned int)n != *len)
		return srtp_err_status_cipher_fail;
	s->left -= *len;
	return srtp_err_status_ok;
}

static srtp_err_status_t
hmac_alloc(srtp_auth_pointer_t *ap, int key_len, int out_len)
{
	srtp_auth_t *a = NULL;
	struct hmac *s = NULL;
	EVP_MAC *mac = NULL;
	srtp_err_status_t st = srtp_err_status_alloc_fail;

	*ap = NULL;
	if (key_len < 0 || key_len > MAX_HMAC_KEY || out_len < 0 || out_len > SHA1_LEN)
		return srtp_err_status_bad_param;
	if ((a = calloc(1, sizeof(*a))) == NULL || (s = calloc(1, sizeof(*s))) == NULL ||
	    (mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL)) == NULL ||
	    (s->ctx = EVP_MAC_CTX_new(mac)) == NULL)
		goto out;
	a->type = &hmac_sha1;
	a->state = s;
	a->out_len = out_len;
	a->key_len = key_len;
	a->prefix_len = 0;
	*ap = a;
	a = NULL;
	s = NULL;
	st = srtp_err_status_ok;
out:
	EVP_MAC_free(mac); /* the context holds its own reference */
	free(s);
	free(a);
	return st;
}

static srtp_err_status_t
hmac_dealloc(srtp_auth_pointer_t a)
{
	struct hmac *s;

	if (a == NULL)
		return srtp_err_status_bad_param;
	if ((s = a->state) != NULL) {
		/* EVP_MAC_CTX_free cleanses the keyed state. */
		EVP_MAC_CTX_free(s->ctx);
		free(s);
	}
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
	return srtp_err_status_ok;
}

static srtp_err_status_t
hmac_init(void *state, const uint8_t *key, int key_len)
{
	struct hmac *s = state;
	char digest[] = "SHA1";
	OSSL_PARAM params[] = {
	        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
	        OSSL_PARAM_construct_end(),
	};

	if (key_len < 0 || EVP_MAC_init(s->ctx, key, (size_t)key_len, params) != 1)
		return srtp_err_status_auth_fail;
	return srtp_err_status_ok;
}

/* A new message with the same key: OpenSSL 3.0.3 and later (UM_SRTP_OSSL_OPENSSL). */
static srtp_err_status_t
hmac_start(void *state)
{
	struct hmac *s = state;

	if (EVP_MAC_init(s->ctx, NULL, 0, NULL) != 1)
		return srtp_err_status_auth_fail;
	return srtp_err_status_ok;
}

static srtp_err_status_t
hmac_update(void *state, const uint8_t *buf, int len)
{
	struct hmac *s = state;

	if (len < 0 || EVP_MAC_update(s->ctx, buf, (size_t)len) != 1)
		return srtp_err_status_auth_fail;
	return srtp_err_status_ok;
}

static srtp_err_status_t
hmac_compute(void *state, const uint8_t *buf, int len, int tag_len, uint8_t *tag)
{
	struct hmac *s = state;
	unsigned char out[EVP_MAX_MD_SIZE];
	size_t n = 0;
	srtp_err_status_t st = srtp_err_status_auth_fail;

	if (len < 0 || tag_len < 0 || tag_len > SHA1_LEN)
		return srtp_err_status_bad_param;
	if (EVP_MAC_update(s->ctx, buf, (size_t)len) != 1 ||
	    EVP_MAC_final(s->ctx, out, &n, sizeof(out)) != 1 || n != SHA1_LEN)
		goto out;
	memcpy(tag, out, (size_t)tag_len);
	st = srtp_err_status_ok;
out:
	OPENSSL_cleanse(out, sizeof(out));
	return st;
}

/*
 * Known answers libsrtp2 checks before it takes a type (srtp_cipher_type_self_test,
 * srtp_auth_type_self_test). RFC 3711 appendix B.2: the keystream from counter 0 and from 0xfeff.
 */
static const uint8_t b2_key[30] = {
        0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f,
        0x3c, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd,
};
static const uint8_t zeros[48];
static uint8_t iv_0[16];
static uint8_t iv_feff[16] = {[14] = 0xfe, [15] = 0xff};
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
static const srtp_cipher_test_case_t b2_feff = {
        30, b2_key, iv_feff, 48, zeros, 48, b2_ks_feff, 0, NULL, 0, NULL,
};
static const srtp_cipher_test_case_t b2_0 = {
        30, b2_key, iv_0, 48, zeros, 48, b2_ks_0, 0, NULL, 0, &b2_feff,
};

/* RFC 6188 section 7.1: AES-256 counter mode, counter 0. */
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
static const srtp_cipher_test_case_t r6188 = {
        46, r6188_key, iv_0, 48, zeros, 48, r6188_ks, 0, NULL, 0, NULL,
};

/* RFC 2202 section 3, cases 1, 2 and 6 (a 4-byte key, and one longer than SHA-1's block). */
static const uint8_t r2202_1_key[20] = {
        0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
        0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
};
static const uint8_t r2202_1_tag[20] = {
        0xb6, 0x17, 0x31, 0x86, 0x55, 0x05, 0x72, 0x64, 0xe2, 0x8b,
        0xc0, 0xb6, 0xfb, 0x37, 0x8c, 0x8e, 0xf1, 0x46, 0xbe, 0x00,
};
static const uint8_t r2202_2_tag[20] = {
        0xef, 0xfc, 0xdf, 0x6a, 0xe5, 0xeb, 0x2f, 0xa2, 0xd2, 0x74,
        0x16, 0xd5, 0xf1, 0x84, 0xdf, 0x9c, 0x25, 0x9a, 0x7c, 0x79,
};
static const uint8_t r2202_6_key[80] = {
        0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
        0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
        0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
        0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
        0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
        0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
};
static const uint8_t r2202_6_tag[20] = {
        0xaa, 0x4a, 0xe5, 0xe1, 0x52, 0x72, 0xd0, 0x0e, 0x95, 0x70,
        0x56, 0x37, 0xce, 0x8a, 0x3b, 0x55, 0xed, 0x40, 0x21, 0x12,
};
static const char r2202_6_data[] = "Test Using Larger Than Block-Size Key - Hash Key First";
static const srtp_auth_test_case_t r2202_6 = {
        80,          r2202_6_key, sizeof(r2202_6_data) - 1, (const uint8_t *)r2202_6_data, 20,
        r2202_6_tag, NULL,
};
static const srtp_auth_test_case_t r2202_2 = {
        4,        (const uint8_t *)"Jefe",
        28,       (const uint8_t *)"what do ya want for nothing?",
        20,       r2202_2_tag,
        &r2202_6,
};
static const srtp_auth_test_case_t r2202_1 = {
        20, r2202_1_key, 8, (const uint8_t *)"Hi There", 20, r2202_1_tag, &r2202_2,
};

static const srtp_cipher_type_t icm_128 = {
        .alloc = icm_128_alloc,
        .dealloc = icm_dealloc,
        .init = icm_init,
        .encrypt = icm_crypt,
        .decrypt = icm_crypt,
        .set_iv = icm_set_iv,
        .description = "AES-128 counter mode (OpenSSL EVP, umd)",
        .test_data = &b2_0,
        .id = SRTP_AES_ICM_128,
};

static const srtp_cipher_type_t icm_256 = {
        .alloc = icm_256_alloc,
        .dealloc = icm_dealloc,
        .init = icm_init,
        .encrypt = icm_crypt,
        .decrypt = icm_crypt,
        .set_iv = icm_set_iv,
        .description = "AES-256 counter mode (OpenSSL EVP, umd)",
        .test_data = &r6188,
        .id = SRTP_AES_ICM_256,
};

static const srtp_auth_type_t hmac_sha1 = {
        .alloc = hmac_alloc,
        .dealloc = hmac_dealloc,
        .init = hmac_init,
        .compute = hmac_compute,
        .update = hmac_update,
        .start = hmac_start,
        .description = "HMAC-SHA1 (OpenSSL EVP_MAC, umd)",
        .test_data = &r2202_1,
        .id = SRTP_HMAC_SHA1,
};

const srtp_cipher_type_t *
um_srtp_openssl_cipher(srtp_cipher_type_id_t id)
{
	switch (id) {
	case SRTP_AES_ICM_128:
		return &icm_128;
	case SRTP_AES_ICM_256:
		return &icm_256;
	default:
		return NULL;
	}
}

const srtp_auth_type_t *
um_srtp_openssl_hmac_sha1(void)
{
	return &hmac_sha1;
}

const char *
um_srtp_openssl_refused(void)
{
	return registered ? NULL : refused;
}

enum um_err
um_srtp_openssl_check(unsigned int srtp_version, unsigned long openssl_version)
{
	/* srtp_get_version(): major << 24 | minor << 16 | micro; any 2.5.x. */
	if ((srtp_version & 0xffff0000u) != UM_SRTP_OSSL_LIBSRTP)
		return um_seterr(UM_ERR_MEDIA,
		                 "libsrtp2 %u.%u.%u is not 2.5, whose cipher and auth structures "
		                 "umd's OpenSSL types fill",
		                 srtp_version >> 24, (srtp_version >> 16) & 0xff,
		                 srtp_version & 0xffff);
	if (openssl_version < UM_SRTP_OSSL_OPENSSL)
		return um_seterr(
		        UM_ERR_MEDIA,
		        "OpenSSL %#lx is older than 3.0.3 (EVP_MAC_init cannot restart HMAC)",
		        openssl_version);
	return UM_OK;
}

/* libsrtp2's status, with OpenSSL's reason when it left one. */
static enum um_err
fail(const char *what, srtp_err_status_t st)
{
	unsigned long e = ERR_peek_last_error();
	const char *why = e != 0 ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return um_seterr(UM_ERR_MEDIA, "%s: libsrtp2 error %d%s%s", what, (int)st,
	                 why != NULL ? ", OpenSSL: " : "", why != NULL ? why : "");
}

enum um_err
um_srtp_use_openssl(void)
{
	srtp_err_status_t st;
	enum um_err r = UM_ERR_MEDIA;

	if ((r = um_srtp_openssl_check(srtp_get_version(), OpenSSL_version_num())) != UM_OK)
		goto out;
	r = UM_ERR_MEDIA;
	/* Each test before any replacement, so a failure leaves libsrtp2's types all in place. */
	if ((st = srtp_cipher_type_self_test(&icm_128)) != srtp_err_status_ok) {
		r = fail("AES-128-ICM self-test", st);
		goto out;
	}
	if ((st = srtp_cipher_type_self_test(&icm_256)) != srtp_err_status_ok) {
		r = fail("AES-256-ICM self-test", st);
		goto out;
	}
	if ((st = srtp_auth_type_self_test(&hmac_sha1)) != srtp_err_status_ok) {
		r = fail("HMAC-SHA1 self-test", st);
		goto out;
	}
	/* These run the self-test again, and the replaced type's own test data. */
	if ((st = srtp_replace_cipher_type(&icm_128, SRTP_AES_ICM_128)) != srtp_err_status_ok) {
		r = fail("AES-128-ICM refused by srtp_replace_cipher_type", st);
		goto out;
	}
	if ((st = srtp_replace_cipher_type(&icm_256, SRTP_AES_ICM_256)) != srtp_err_status_ok) {
		r = fail("AES-256-ICM refused by srtp_replace_cipher_type", st);
		goto out;
	}
	if ((st = srtp_replace_auth_type(&hmac_sha1, SRTP_HMAC_SHA1)) != srtp_err_status_ok) {
		r = fail("HMAC-SHA1 refused by srtp_replace_auth_type", st);
		goto out;
	}
	r = UM_OK;
out:
	registered = r == UM_OK;
	if (!registered)
		snprintf(refused, sizeof(refused), "%s", um_errdetail());
	return r;
}
