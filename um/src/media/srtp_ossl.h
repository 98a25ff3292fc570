/*
 * OpenSSL's AES-CTR and HMAC-SHA1 as libsrtp2's AES-128-ICM, AES-256-ICM and HMAC-SHA1, through
 * libsrtp2's srtp_replace_cipher_type() and srtp_replace_auth_type(). Debian 12's libsrtp2 is
 * built on NSS, which makes and destroys a crypto context per packet (9-12 us a protect at 500
 * calls, against under 1 us with an EVP context kept per key). AES-GCM stays libsrtp2's own; its
 * key derivation is AES-CM (RFC 7714 section 11), so it goes through these types too.
 *
 * The types fill srtp_cipher_t and srtp_auth_t, structures libsrtp2 declares in cipher.h and
 * auth.h but does not promise to keep: they are registered only on the libsrtp2 release they were
 * checked against (2.5.x), with OpenSSL 3.0.3 or later (EVP_MAC_init re-keys a context without the
 * key from then on), and only when libsrtp2's own self-tests of them pass: RFC 3711 appendix B.2
 * and RFC 6188 section 7.1 keystreams, RFC 2202 HMAC-SHA1 cases, and (srtp_replace_*_type runs
 * them) the test data of the types they replace.
 */
#ifndef UM_MEDIA_SRTP_OSSL_H
#define UM_MEDIA_SRTP_OSSL_H

#include <srtp2/auth.h>
#include <srtp2/cipher.h>

#include "error.h"

/* The libsrtp2 release the types are checked against, as srtp_get_version() gives it. */
#define UM_SRTP_OSSL_LIBSRTP 0x02050000u
/* The first OpenSSL whose EVP_MAC_init takes a NULL key to restart with the same one. */
#define UM_SRTP_OSSL_OPENSSL 0x30000030ul

/*
 * Registers the types. Once, after srtp_init() and before any srtp_create(), on one thread (as
 * um_srtp_global_init does). UM_OK: libsrtp2 uses them from now on. UM_ERR_MEDIA, the reason in
 * um_errdetail() and in um_srtp_openssl_refused(): libsrtp2 keeps its own (a refusal from
 * srtp_replace_auth_type after the ciphers were replaced leaves those ciphers, each having passed
 * the same tests).
 */
enum um_err um_srtp_use_openssl(void) UM_WUR;

/*
 * NULL once um_srtp_use_openssl() has registered the types; otherwise why not, for the caller to
 * log once. Static storage, written only by um_srtp_use_openssl: read it after that returned.
 */
const char *um_srtp_openssl_refused(void);

/* The version rule um_srtp_use_openssl applies first (srtp_get_version(), OpenSSL_version_num()).
 */
enum um_err um_srtp_openssl_check(unsigned int srtp_version, unsigned long openssl_version) UM_WUR;

/*
 * The types themselves (static storage), for libsrtp2's srtp_cipher_type_test() and
 * srtp_auth_type_test(): SRTP_AES_ICM_128 or SRTP_AES_ICM_256, NULL for any other id.
 */
const srtp_cipher_type_t *um_srtp_openssl_cipher(srtp_cipher_type_id_t id);
const srtp_auth_type_t *um_srtp_openssl_hmac_sha1(void);

#endif
