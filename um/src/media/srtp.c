/* SRTP for one call with libsrtp2 (srtp.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <srtp2/srtp.h>

#include "srtp.h"
#include "srtp_ossl.h"

struct um_srtp {
	srtp_t tx, rx;
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static srtp_err_status_t init_status = srtp_err_status_fail;

static void
global_init(void)
{
	init_status = srtp_init();
	/*
	 * OpenSSL's AES-CM and HMAC-SHA1 in place of the NSS ones Debian builds libsrtp2 with, when
	 * this libsrtp2 is the release they were checked against and they pass its self-tests
	 * (srtp_ossl.h). Otherwise libsrtp2 keeps its own: um_srtp_openssl_refused() says why.
	 */
	if (init_status == srtp_err_status_ok && um_srtp_use_openssl() != UM_OK)
		return;
}

enum um_err
um_srtp_global_init(void)
{
	pthread_once(&once, global_init);
	if (init_status != srtp_err_status_ok)
		return um_seterr(UM_ERR_MEDIA, "libsrtp2 did not start (srtp_init: error %d)",
		                 (int)init_status);
	return UM_OK;
}

static bool
set_suite(srtp_policy_t *p, enum um_srtp_suite suite)
{
	switch (suite) {
	case UM_SRTP_AES_CM_128_HMAC_SHA1_80:
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtcp);
		return true;
	case UM_SRTP_AES_CM_128_HMAC_SHA1_32:
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&p->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtcp);
		return true;
	case UM_SRTP_AEAD_AES_128_GCM:
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtcp);
		return true;
	case UM_SRTP_AEAD_AES_256_GCM:
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&p->rtp);
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&p->rtcp);
		return true;
	default:
		return false;
	}
}

static enum um_err
make(srtp_t *out, const struct um_sdes *k, srtp_ssrc_type_t type)
{
	unsigned char key[UM_SRTP_MAX_KEY];
	srtp_policy_t p;
	srtp_err_status_t st;
	enum um_err r = UM_ERR_MEDIA;

	memset(&p, 0, sizeof(p));
	if (k->key_len != um_srtp_key_len(k->suite) || !set_suite(&p, k->suite)) {
		r = um_seterr(UM_ERR_MEDIA, "SRTP: no key of a supported suite");
		goto out;
	}
	memcpy(key, k->key, k->key_len);
	p.ssrc.type = type;
	p.key = key;
	/* RFC 3711 section 3.3.2: a window of at least 64; wider takes more reordering. */
	p.window_size = 1024;
	p.allow_repeat_tx = 0;
	if ((st = srtp_create(out, &p)) != srtp_err_status_ok) {
		*out = NULL;
		r = um_seterr(UM_ERR_MEDIA, "SRTP: srtp_create failed (libsrtp2 error %d)",
		              (int)st);
		goto out;
	}
	r = UM_OK;
out:
	OPENSSL_cleanse(key, sizeof(key));
	return r;
}

enum um_err
um_srtp_new(const struct um_sdes *tx, const struct um_sdes *rx, struct um_srtp **out)
{
	struct um_srtp *s = NULL;
	enum um_err r;

	*out = NULL;
	if ((r = um_srtp_global_init()) != UM_OK)
		return r;
	if (tx->suite != rx->suite)
		return um_seterr(UM_ERR_MEDIA, "SRTP: the two directions' suites differ");
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return um_seterr(UM_ERR_NOMEM, "SRTP context");
	if ((r = make(&s->tx, tx, ssrc_any_outbound)) != UM_OK ||
	    (r = make(&s->rx, rx, ssrc_any_inbound)) != UM_OK) {
		um_srtp_free(s);
		return r;
	}
	*out = s;
	return UM_OK;
}

void
um_srtp_free(struct um_srtp *s)
{
	if (s == NULL)
		return;
	/* srtp_dealloc zeroes the session keys before freeing them (srtp.c, srtp_stream_dealloc).
	 */
	if (s->tx != NULL)
		srtp_dealloc(s->tx);
	if (s->rx != NULL)
		srtp_dealloc(s->rx);
	free(s);
}

static enum um_srtp_result
result(srtp_err_status_t st)
{
	switch (st) {
	case srtp_err_status_ok:
		return UM_SRTP_OK;
	case srtp_err_status_auth_fail:
		return UM_SRTP_AUTH;
	case srtp_err_status_replay_fail:
	case srtp_err_status_replay_old:
		return UM_SRTP_REPLAY;
	default:
		return UM_SRTP_BAD;
	}
}

enum um_srtp_result
um_srtp_protect(struct um_srtp *s, uint8_t *buf, size_t *len, size_t cap)
{
	int n = (int)*len;
	enum um_srtp_result r;

	if (*len > 65536 || cap < *len + UM_SRTP_OVERHEAD)
		return UM_SRTP_BAD;
	if ((r = result(srtp_protect(s->tx, buf, &n))) == UM_SRTP_OK)
		*len = (size_t)n;
	return r;
}

enum um_srtp_result
um_srtp_protect_rtcp(struct um_srtp *s, uint8_t *buf, size_t *len, size_t cap)
{
	int n = (int)*len;
	enum um_srtp_result r;

	if (*len > 65536 || cap < *len + UM_SRTP_OVERHEAD)
		return UM_SRTP_BAD;
	if ((r = result(srtp_protect_rtcp(s->tx, buf, &n))) == UM_SRTP_OK)
		*len = (size_t)n;
	return r;
}

enum um_srtp_result
um_srtp_unprotect(struct um_srtp *s, uint8_t *buf, size_t *len)
{
	int n = (int)*len;
	enum um_srtp_result r;

	/* libsrtp reads a fixed RTP header before it checks the length of the rest. */
	if (*len < 12 || *len > 65536)
		return UM_SRTP_BAD;
	if ((r = result(srtp_unprotect(s->rx, buf, &n))) == UM_SRTP_OK)
		*len = (size_t)n;
	return r;
}

enum um_srtp_result
um_srtp_unprotect_rtcp(struct um_srtp *s, uint8_t *buf, size_t *len)
{
	int n = (int)*len;
	enum um_srtp_result r;

	if (*len < 8 || *len > 65536)
		return UM_SRTP_BAD;
	if ((r = result(srtp_unprotect_rtcp(s->rx, buf, &n))) == UM_SRTP_OK)
		*len = (size_t)n;
	return r;
}
