/*
 * Certificates in and out of the store (Import-ExchangeCertificate, Export-ExchangeCertificate
 * -BinaryEncoded): reading PEM, DER, PKCS#7 and PKCS#12 with OpenSSL's own parsers, telling the
 * leaf from its chain, and writing PKCS#12 with modern algorithms.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certcore/request.h"
#include "internal.h"
#include "meta.h"

#define MAX_IMPORT (16 * 1024 * 1024) /* far above any real certificate bundle */

static bool
has(const unsigned char *buf, size_t len, const char *s)
{
	return memmem(buf, len, s, strlen(s)) != NULL;
}

/* Moves the certificates of a PKCS#7 SignedData (RFC 2315 section 9.1, a .p7b) onto `certs`. */
static enum cc_err
from_pkcs7(PKCS7 *p7, STACK_OF(X509) * certs)
{
	STACK_OF(X509) * in;
	int i;

	if (!PKCS7_type_is_signed(p7))
		return cc_seterr(CC_ERR_PARSE, "PKCS#7 input is %s, not signedData (a .p7b chain)",
		                 OBJ_nid2ln(OBJ_obj2nid(p7->type)));
	in = p7->d.sign != NULL ? p7->d.sign->cert : NULL;
	if (in == NULL || sk_X509_num(in) == 0)
		return cc_seterr(CC_ERR_PARSE, "the PKCS#7 input holds no certificates");
	for (i = 0; i < sk_X509_num(in); i++) {
		if (!X509_up_ref(sk_X509_value(in, i)))
			return cc_seterr_ssl(CC_ERR_CRYPTO, "X509_up_ref");
		if (!sk_X509_push(certs, sk_X509_value(in, i))) {
			X509_free(sk_X509_value(in, i));
			return cc_seterr_ssl(CC_ERR_NOMEM, "certificates");
		}
	}
	return CC_OK;
}

static enum cc_err
read_pem(const unsigned char *buf, size_t len, STACK_OF(X509) * certs)
{
	BIO *b = NULL;
	PKCS7 *p7 = NULL;
	X509 *x = NULL;
	unsigned long e;
	enum cc_err r = CC_ERR_PARSE;

	if ((b = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		r = cc_seterr_ssl(CC_ERR_NOMEM, "BIO_new_mem_buf");
		goto out;
	}
	if (has(buf, len, "-----BEGIN PKCS7-----")) {
		if ((p7 = PEM_read_bio_PKCS7(b, NULL, NULL, NULL)) == NULL) {
			r = cc_seterr_ssl(CC_ERR_PARSE, "PEM PKCS#7 chain");
			goto out;
		}
		r = from_pkcs7(p7, certs);
		goto out;
	}
	if (!has(buf, len, "-----BEGIN CERTIFICATE-----") &&
	    !has(buf, len, "-----BEGIN X509 CERTIFICATE-----") &&
	    has(buf, len, "CERTIFICATE REQUEST-----")) {
		r = cc_seterr(CC_ERR_PARSE,
		              "this is a certificate request, not a certificate: have "
		              "the CA issue it, then import what the CA returns");
		goto out;
	}
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (!sk_X509_push(certs, x)) {
			r = cc_seterr_ssl(CC_ERR_NOMEM, "certificates");
			goto out;
		}
		x = NULL;
	}
	/* The end of the input is the normal way out of the loop; anything else is not. */
	e = ERR_peek_last_error();
	if (sk_X509_num(certs) == 0) {
		r = cc_seterr_ssl(CC_ERR_PARSE, "no certificate in the PEM input");
		goto out;
	}
	if (e != 0 && ERR_GET_REASON(e) != PEM_R_NO_START_LINE) {
		r = cc_seterr_ssl(CC_ERR_PARSE, "PEM certificate %d", sk_X509_num(certs) + 1);
		goto out;
	}
	ERR_clear_error();
	r = CC_OK;
out:
	X509_free(x);
	PKCS7_free(p7);
	BIO_free(b);
	return r;
}

/*
 * The cost of reading a PKCS#12 lies in its key derivations (RFC 7292 appendix B, RFC 8018
 * section 5.2), and the file chooses their iteration counts: one seen in review had 2^31-1 in its
 * MAC and import ran until it was killed. Each count is checked before its derivation runs, against
 * CC_PKCS12_MAX_ITER, and the sum of a file's counts against CC_PKCS12_MAX_ITER_TOTAL.
 */
struct p12_walk {
	const char *pw;         /* the password the MAC verified (NULL: none at all) */
	uint64_t charged;       /* iterations counted so far */
	bool dry;               /* count only: derive and decrypt nothing */
	EVP_PKEY *key;          /* the first key bag's, as PKCS12_parse keeps the first */
	STACK_OF(X509) * certs; /* the caller's */
};

/* Counts `iter` iterations for `what` ("MAC asks"): refused past either limit. */
static enum cc_err
charge(struct p12_walk *w, uint64_t iter, const char *what)
{
	unsigned long long n = iter, before = w->charged;

	if (iter > CC_PKCS12_MAX_ITER)
		return cc_seterr(CC_ERR_LIMIT,
		                 "the PKCS#12 file's %s for %llu iterations, more than the %d "
		                 "certcore accepts (OpenSSL writes 2048, certctl export %d); "
		                 "refused before deriving any key from it",
		                 what, n, CC_PKCS12_MAX_ITER, CC_PKCS12_ITER);
	if (w->charged + iter > CC_PKCS12_MAX_ITER_TOTAL)
		return cc_seterr(CC_ERR_LIMIT,
		                 "the PKCS#12 file asks for more than %d iterations in all: its %s "
		                 "for %llu after %llu already; refused before deriving that key",
		                 CC_PKCS12_MAX_ITER_TOTAL, what, n, before);
	w->charged += iter;
	return CC_OK;
}

/* An iteration count (RFC 7292 appendix B.4 and RFC 8018 leave it positive); absent means 1. */
static enum cc_err
iter_value(const ASN1_INTEGER *ai, const char *what, uint64_t *iter)
{
	*iter = 1;
	if (ai != NULL && ASN1_INTEGER_get_uint64(iter, ai) != 1)
		return cc_seterr_ssl(CC_ERR_PARSE, "the PKCS#12 file's %s iteration count", what);
	return CC_OK;
}

/*
 * The iteration count of a password-based encryption: PBEPARAM's for PKCS#12's own PBEs and
 * PKCS#5 v1.5 (RFC 7292 appendix C, RFC 8018 appendix A.3); PBKDF2PARAM's under PBES2 (RFC 8018
 * appendix A.4). PBES2 with another key derivation (scrypt) is refused: its cost is not an
 * iteration count, and no PKCS#12 writer uses it.
 */
static enum cc_err
pbe_iterations(const X509_ALGOR *alg, const char *what, uint64_t *iter)
{
	PBE2PARAM *pbe2 = NULL;
	PBKDF2PARAM *kdf = NULL;
	PBEPARAM *pbe = NULL;
	char name[80];
	int nid;
	enum cc_err r = CC_ERR_PARSE;

	*iter = 0;
	if (alg == NULL || alg->algorithm == NULL) {
		r = cc_seterr(CC_ERR_PARSE, "the PKCS#12 file's %s: no encryption algorithm", what);
		goto out;
	}
	nid = OBJ_obj2nid(alg->algorithm);
	OBJ_obj2txt(name, sizeof(name), alg->algorithm, 0);
	if (nid == NID_pbes2) {
		if ((pbe2 = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM), alg->parameter)) ==
		    NULL) {
			r = cc_seterr_ssl(CC_ERR_PARSE, "the PKCS#12 file's %s: PBES2 parameters",
			                  what);
			goto out;
		}
		if (OBJ_obj2nid(pbe2->keyfunc->algorithm) != NID_id_pbkdf2) {
			OBJ_obj2txt(name, sizeof(name), pbe2->keyfunc->algorithm, 0);
			r = cc_seterr(CC_ERR_PARSE,
			              "the PKCS#12 file's %s: key derivation %s is not accepted "
			              "(PBKDF2 only, whose cost is its iteration count)",
			              what, name);
			goto out;
		}
		if ((kdf = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM),
		                                     pbe2->keyfunc->parameter)) == NULL) {
			r = cc_seterr_ssl(CC_ERR_PARSE, "the PKCS#12 file's %s: PBKDF2 parameters",
			                  what);
			goto out;
		}
		r = iter_value(kdf->iter, what, iter);
	} else if (EVP_PBE_find(EVP_PBE_TYPE_OUTER, nid, NULL, NULL, NULL) == 1) {
		if ((pbe = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBEPARAM), alg->parameter)) ==
		    NULL) {
			r = cc_seterr_ssl(CC_ERR_PARSE, "the PKCS#12 file's %s: %s parameters",
			                  what, name);
			goto out;
		}
		r = iter_value(pbe->iter, what, iter);
	} else {
		r = cc_seterr(CC_ERR_PARSE,
		              "the PKCS#12 file's %s: %s is not a password-based encryption", what,
		              name);
	}
out:
	PBE2PARAM_free(pbe2);
	PBKDF2PARAM_free(kdf);
	PBEPARAM_free(pbe);
	return r;
}

/*
 * The MAC's count (RFC 7292 section 4), `runs` times: a password that may be empty is tried
 * both ways. Its key comes from PKCS#12's derivation with a digest; PBMAC1 (RFC 9579), whose
 * count sits in PBKDF2 parameters, is refused rather than derived unchecked.
 */
static enum cc_err
charge_mac(struct p12_walk *w, const PKCS12 *p12, int runs)
{
	const X509_ALGOR *macalg = NULL;
	const ASN1_INTEGER *ai = NULL;
	uint64_t iter;
	char name[80];
	enum cc_err r = CC_OK;
	int i;

	if (!PKCS12_mac_present(p12))
		return CC_OK;
	PKCS12_get0_mac(NULL, &macalg, NULL, &ai, p12);
	if (macalg == NULL || EVP_get_digestbyobj(macalg->algorithm) == NULL) {
		name[0] = '\0';
		if (macalg != NULL)
			OBJ_obj2txt(name, sizeof(name), macalg->algorithm, 0);
		return cc_seterr(CC_ERR_PARSE,
		                 "the PKCS#12 file's MAC algorithm %s is not accepted", name);
	}
	if ((r = iter_value(ai, "MAC", &iter)) != CC_OK)
		return r;
	for (i = 0; i < runs && r == CC_OK; i++)
		r = charge(w, iter, "MAC asks");
	return r;
}

static enum cc_err walk_bags(struct p12_walk *w, const STACK_OF(PKCS12_SAFEBAG) * bags,
                             bool counted);

/*
 * One bag (RFC 7292 section 4.2), read as PKCS12_parse reads it (crypto/pkcs12/p12_kiss.c): the
 * first key, every X.509 certificate with its friendlyName as its alias, nested safe contents,
 * nothing else. `counted`: a shrouded key's count was charged by the dry walk.
 */
static enum cc_err
walk_bag(struct p12_walk *w, const PKCS12_SAFEBAG *bag, bool counted)
{
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	const X509_SIG *sig;
	const X509_ALGOR *alg = NULL;
	X509 *x = NULL;
	char *name = NULL;
	uint64_t iter;
	enum cc_err r = CC_OK;

	switch (PKCS12_SAFEBAG_get_nid(bag)) {
	case NID_keyBag:
		if (w->dry || w->key != NULL)
			break;
		if ((w->key = EVP_PKCS82PKEY(PKCS12_SAFEBAG_get0_p8inf(bag))) == NULL)
			r = cc_seterr_ssl(CC_ERR_PARSE, "the PKCS#12 file's private key");
		break;
	case NID_pkcs8ShroudedKeyBag:
		if (w->key != NULL)
			break;
		if (!counted) {
			if ((sig = PKCS12_SAFEBAG_get0_pkcs8(bag)) != NULL)
				X509_SIG_get0(sig, &alg, NULL);
			if ((r = pbe_iterations(alg, "private key", &iter)) != CC_OK ||
			    (r = charge(w, iter, "private key asks")) != CC_OK)
				break;
		}
		if (w->dry)
			break;
		if ((p8 = PKCS12_decrypt_skey(bag, w->pw, -1)) == NULL) {
			r = cc_seterr_ssl(CC_ERR_PARSE,
			                  "decrypting the PKCS#12 file's private key");
			break;
		}
		if ((w->key = EVP_PKCS82PKEY(p8)) == NULL)
			r = cc_seterr_ssl(CC_ERR_PARSE, "the PKCS#12 file's private key");
		break;
	case NID_certBag:
		if (w->dry || PKCS12_SAFEBAG_get_bag_nid(bag) != NID_x509Certificate)
			break;
		if ((x = PKCS12_SAFEBAG_get1_cert(bag)) == NULL) {
			r = cc_seterr_ssl(CC_ERR_PARSE, "a certificate of the PKCS#12 file");
			break;
		}
		if ((name = PKCS12_get_friendlyname((PKCS12_SAFEBAG *)bag)) != NULL &&
		    X509_alias_set1(x, (const unsigned char *)name, -1) != 1) {
			r = cc_seterr_ssl(CC_ERR_NOMEM, "friendly name");
			break;
		}
		if (!sk_X509_push(w->certs, x)) {
			r = cc_seterr_ssl(CC_ERR_NOMEM, "certificates");
			break;
		}
		x = NULL;
		break;
	case NID_safeContentsBag:
		/* Nesting is bounded by the ASN.1 decoder, which read it all with the file. */
		r = walk_bags(w, PKCS12_SAFEBAG_get0_safes(bag), counted);
		break;
	default:
		break; /* CRL and secret bags: nothing to import */
	}
	PKCS8_PRIV_KEY_INFO_free(p8);
	X509_free(x);
	OPENSSL_free(name);
	return r;
}

static enum cc_err
walk_bags(struct p12_walk *w, const STACK_OF(PKCS12_SAFEBAG) * bags, bool counted)
{
	enum cc_err r = CC_OK;
	int i;

	for (i = 0; i < sk_PKCS12_SAFEBAG_num(bags) && r == CC_OK; i++)
		r = walk_bag(w, sk_PKCS12_SAFEBAG_value(bags, i), counted);
	return r;
}

/*
 * The authenticated safe's contents (RFC 7292 section 5.1): plain data, or data encrypted under
 * the password. Dry, it counts what can be seen without decrypting: each encrypted part's count
 * and the shrouded keys in plain parts. Then, for real, it decrypts each encrypted part (counted
 * already) and counts the shrouded keys found inside before deriving their keys.
 */
static enum cc_err
walk_safes(struct p12_walk *w, STACK_OF(PKCS7) * safes)
{
	STACK_OF(PKCS12_SAFEBAG) *bags = NULL;
	PKCS7 *p7;
	uint64_t iter;
	enum cc_err r = CC_OK;
	int i;

	for (i = 0; i < sk_PKCS7_num(safes) && r == CC_OK; i++) {
		p7 = sk_PKCS7_value(safes, i);
		switch (OBJ_obj2nid(p7->type)) {
		case NID_pkcs7_data:
			if ((bags = PKCS12_unpack_p7data(p7)) == NULL) {
				r = cc_seterr_ssl(CC_ERR_PARSE, "reading the PKCS#12 file");
				break;
			}
			r = walk_bags(w, bags, !w->dry);
			break;
		case NID_pkcs7_encrypted:
			if (w->dry) {
				if (p7->d.encrypted == NULL || p7->d.encrypted->enc_data == NULL) {
					r = cc_seterr(CC_ERR_PARSE, "the PKCS#12 file's encrypted "
					                            "certificates: no content");
					break;
				}
				if ((r = pbe_iterations(p7->d.encrypted->enc_data->algorithm,
				                        "encrypted certificates", &iter)) == CC_OK)
					r = charge(w, iter, "encrypted certificates ask");
				break;
			}
			if ((bags = PKCS12_unpack_p7encdata(p7, w->pw, -1)) == NULL) {
				r = cc_seterr_ssl(CC_ERR_PARSE,
				                  "decrypting the PKCS#12 file's certificates");
				break;
			}
			r = walk_bags(w, bags, false);
			break;
		default:
			break; /* PKCS12_parse skips other content types too */
		}
		sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
		bags = NULL;
	}
	return r;
}

/*
 * PKCS12_parse, step by step with the same OpenSSL calls, so that every count is checked before
 * its key is derived: first all that the file shows unencrypted (the MAC, each encrypted part,
 * the shrouded keys beside them), then the MAC is verified, then each part is decrypted, a key
 * inside one checked before it is.
 */
static enum cc_err
read_pkcs12(PKCS12 *p12, const char *password, STACK_OF(X509) * certs, EVP_PKEY **key_out)
{
	const char *pw = password != NULL ? password : "";
	STACK_OF(PKCS7) *safes = NULL;
	struct p12_walk w;
	enum cc_err r = CC_ERR_PARSE;

	memset(&w, 0, sizeof(w));
	w.certs = certs;
	w.dry = true;
	ERR_clear_error();
	if ((r = charge_mac(&w, p12, *pw == '\0' ? 2 : 1)) != CC_OK)
		goto out;
	if ((safes = PKCS12_unpack_authsafes(p12)) == NULL) {
		r = cc_seterr_ssl(CC_ERR_PARSE, "reading the PKCS#12 file");
		goto out;
	}
	if ((r = walk_safes(&w, safes)) != CC_OK)
		goto out;
	/*
	 * The MAC is checked first so that a wrong password is named as such (PKCS12_verify_mac
	 * fails without queuing an error when only the password is wrong). No password may mean an
	 * empty one or none at all (RFC 7292 appendix B.1): try both, as PKCS12_parse does.
	 */
	if (PKCS12_mac_present(p12) && PKCS12_verify_mac(p12, pw, -1) != 1) {
		if (*pw == '\0' && ERR_peek_error() == 0 && PKCS12_verify_mac(p12, NULL, 0) == 1) {
			pw = NULL;
		} else if (ERR_peek_error() == 0) {
			r = cc_seterr(
			        CC_ERR_PASSWORD,
			        "the PKCS#12 file's MAC does not verify with %s: the password is "
			        "wrong (or the file was altered)",
			        *pw ? "the password given" : "an empty password");
			goto out;
		} else {
			r = cc_seterr_ssl(CC_ERR_PARSE, "verifying the PKCS#12 MAC");
			goto out;
		}
	}
	w.pw = pw;
	w.dry = false;
	if ((r = walk_safes(&w, safes)) != CC_OK)
		goto out;
	if (sk_X509_num(certs) == 0) {
		r = cc_seterr(CC_ERR_PARSE, "the PKCS#12 file holds no certificate");
		goto out;
	}
	*key_out = w.key;
	w.key = NULL;
	r = CC_OK;
out:
	EVP_PKEY_free(w.key);
	sk_PKCS7_pop_free(safes, PKCS7_free);
	return r;
}

/*
 * DER: a certificate, a PKCS#7 ContentInfo and a PFX are all SEQUENCEs; what the first element
 * is tells them apart (a SEQUENCE: the tbsCertificate, RFC 5280 section 4.1; an OBJECT
 * IDENTIFIER: the contentType, RFC 2315 section 7; an INTEGER: the PFX version, RFC 7292
 * section 4). The headers are read with ASN1_get_object; the parser of the type found then
 * reads the whole input and reports its own reason for a corrupt or truncated one.
 */
static enum cc_err
read_der(const unsigned char *buf, size_t len, const char *password, STACK_OF(X509) * certs,
         EVP_PKEY **key)
{
	const unsigned char *p = buf, *q;
	long olen = 0, ilen = 0;
	int tag = -1, cls = -1, itag = -1, icls = -1, ret;
	X509 *x = NULL;
	PKCS7 *p7 = NULL;
	PKCS12 *p12 = NULL;
	enum cc_err r = CC_ERR_PARSE;

	ret = ASN1_get_object(&p, &olen, &tag, &cls, (long)len);
	if (p == buf || tag != V_ASN1_SEQUENCE || cls != V_ASN1_UNIVERSAL ||
	    !(ret & V_ASN1_CONSTRUCTED)) {
		r = cc_seterr_ssl(CC_ERR_PARSE,
		                  "not PEM, and not DER (a certificate, PKCS#7 or PKCS#12)");
		goto out;
	}
	q = p;
	(void)ASN1_get_object(&q, &ilen, &itag, &icls, (long)len - (p - buf));
	if (q == p) {
		r = cc_seterr_ssl(CC_ERR_PARSE, "truncated DER input");
		goto out;
	}
	ERR_clear_error(); /* a length past the end is the parser's to report, below */
	if (icls != V_ASN1_UNIVERSAL)
		itag = -1;
	p = buf;
	switch (itag) {
	case V_ASN1_SEQUENCE:
		if ((x = d2i_X509(NULL, &p, (long)len)) == NULL) {
			r = cc_seterr_ssl(CC_ERR_PARSE, "DER certificate");
			goto out;
		}
		if (!sk_X509_push(certs, x)) {
			r = cc_seterr_ssl(CC_ERR_NOMEM, "certificates");
			goto out;
		}
		x = NULL;
		r = CC_OK;
		break;
	case V_ASN1_OBJECT:
		if ((p7 = d2i_PKCS7(NULL, &p, (long)len)) == NULL) {
			r = cc_seterr_ssl(CC_ERR_PARSE, "DER PKCS#7 chain");
			goto out;
		}
		r = from_pkcs7(p7, certs);
		break;
	case V_ASN1_INTEGER:
		if ((p12 = d2i_PKCS12(NULL, &p, (long)len)) == NULL) {
			r = cc_seterr_ssl(CC_ERR_PARSE, "PKCS#12");
			goto out;
		}
		r = read_pkcs12(p12, password, certs, key);
		break;
	default:
		r = cc_seterr(CC_ERR_PARSE, "DER input is not a certificate, PKCS#7 or PKCS#12");
		goto out;
	}
	if (r == CC_OK && p != buf + len) {
		r = cc_seterr(CC_ERR_PARSE, "%zu bytes after the end of the DER input",
		              (size_t)(buf + len - p));
		goto out;
	}
out:
	X509_free(x);
	PKCS7_free(p7);
	PKCS12_free(p12);
	return r;
}

enum cc_err
cc_import_read(const unsigned char *buf, size_t len, const char *password,
               STACK_OF(X509) * *certs_out, EVP_PKEY **key_out)
{
	STACK_OF(X509) *certs = NULL;
	EVP_PKEY *key = NULL;
	enum cc_err r = CC_ERR_PARSE;

	*certs_out = NULL;
	*key_out = NULL;
	if (buf == NULL || len == 0) {
		r = cc_seterr(CC_ERR_PARSE, "empty input");
		goto out;
	}
	if (len > MAX_IMPORT) {
		r = cc_seterr(CC_ERR_PARSE, "input of %zu bytes is too large", len);
		goto out;
	}
	if ((certs = sk_X509_new_null()) == NULL) {
		r = cc_seterr_ssl(CC_ERR_NOMEM, "certificates");
		goto out;
	}
	ERR_clear_error();
	if (has(buf, len, "-----BEGIN "))
		r = read_pem(buf, len, certs);
	else
		r = read_der(buf, len, password, certs, &key);
	if (r != CC_OK)
		goto out;
	*certs_out = certs;
	*key_out = key;
	certs = NULL;
	key = NULL;
	r = CC_OK;
out:
	sk_X509_pop_free(certs, X509_free);
	EVP_PKEY_free(key);
	return r;
}

/* True when `a` issued `b` (names, key ids, key usage: X509_check_issued) and is not `b`. */
static bool
issued(X509 *a, X509 *b)
{
	bool yes = X509_cmp(a, b) != 0 && X509_check_issued(a, b) == X509_V_OK;

	ERR_clear_error();
	return yes;
}

static bool
issued_another(STACK_OF(X509) * certs, X509 *c)
{
	int i;

	for (i = 0; i < sk_X509_num(certs); i++)
		if (issued(c, sk_X509_value(certs, i)))
			return true;
	return false;
}

/* The leaf of a set without a key; see cc_import_split. */
static enum cc_err
find_leaf(STACK_OF(X509) * certs, struct cc_store *s, X509 **leaf)
{
	X509 *only = NULL, *with_request = NULL, *c;
	int i, ncand = 0, nreq = 0;

	*leaf = NULL;
	for (i = 0; i < sk_X509_num(certs); i++) {
		c = sk_X509_value(certs, i);
		if (issued_another(certs, c))
			continue;
		/* The same certificate twice is one candidate. */
		if (only != NULL && X509_cmp(only, c) == 0)
			continue;
		ncand++;
		only = c;
		if (s != NULL && cc_store_has_request(s, X509_get0_pubkey(c))) {
			nreq++;
			with_request = c;
		}
	}
	if (ncand == 1) {
		*leaf = only;
		return CC_OK;
	}
	if (nreq == 1) {
		*leaf = with_request;
		return CC_OK;
	}
	if (ncand == 0)
		return cc_seterr(CC_ERR_PARSE, "every certificate of the input issued another one: "
		                               "no leaf");
	return cc_seterr(CC_ERR_PARSE,
	                 "the input holds %d certificates that issued none of the others and %s "
	                 "a pending request; cannot tell which is the leaf",
	                 ncand, nreq == 0 ? "none matches" : "several match");
}

enum cc_err
cc_import_split(STACK_OF(X509) * certs, EVP_PKEY *key, struct cc_store *s, X509 **leaf_out,
                STACK_OF(X509) * *chain_out)
{
	X509 *leaf = NULL, *cur, *c;
	STACK_OF(X509) *chain = NULL;
	int i, n = certs != NULL ? sk_X509_num(certs) : 0, steps;
	bool found;
	enum cc_err r = CC_ERR_PARSE;

	*leaf_out = NULL;
	*chain_out = NULL;
	if (n <= 0) {
		r = cc_seterr(CC_ERR_PARSE, "no certificate");
		goto out;
	}
	if (key != NULL) {
		for (i = 0; i < n && leaf == NULL; i++) {
			if (X509_check_private_key(sk_X509_value(certs, i), key) == 1)
				leaf = sk_X509_value(certs, i);
			ERR_clear_error();
		}
		if (leaf == NULL) {
			r = cc_seterr(CC_ERR_KEY_MISMATCH,
			              "no certificate of the input matches its private key");
			goto out;
		}
	} else if ((r = find_leaf(certs, s, &leaf)) != CC_OK) {
		goto out;
	}
	if ((chain = sk_X509_new_null()) == NULL) {
		r = cc_seterr_ssl(CC_ERR_NOMEM, "chain");
		goto out;
	}
	/* Up from the leaf, one issuer at a time; at most n steps, so a cycle cannot loop. */
	for (cur = leaf, steps = 0; steps < n; steps++) {
		found = false;
		for (i = 0; i < n && !found; i++) {
			c = sk_X509_value(certs, i);
			if (c == leaf || !issued(c, cur))
				continue;
			if (sk_X509_find(chain, c) >= 0)
				break; /* already in the chain: a cycle */
			if (!X509_up_ref(c) || !sk_X509_push(chain, c)) {
				r = cc_seterr_ssl(CC_ERR_NOMEM, "chain");
				goto out;
			}
			cur = c;
			found = true;
		}
		if (!found)
			break;
	}
	if (!X509_up_ref(leaf)) {
		r = cc_seterr_ssl(CC_ERR_CRYPTO, "X509_up_ref");
		goto out;
	}
	*leaf_out = leaf;
	*chain_out = chain;
	chain = NULL;
	r = CC_OK;
out:
	sk_X509_pop_free(chain, X509_free);
	return r;
}

enum cc_err
cc_store_import(struct cc_store *s, STACK_OF(X509) * certs, EVP_PKEY *key,
                const struct cc_import_params *p, char thumb_out[CC_THUMB_LEN + 1],
                char id_out[CC_THUMB_LEN + 1])
{
	static const struct cc_import_params none = {0, false, NULL};
	X509 *leaf = NULL;
	STACK_OF(X509) *chain = NULL;
	struct cc_meta meta;
	const unsigned char *alias;
	char *name = NULL;
	int alen = 0;
	enum cc_err r;

	thumb_out[0] = '\0';
	if (id_out != NULL)
		id_out[0] = '\0';
	if (p == NULL)
		p = &none;
	if ((r = cc_import_split(certs, key, s, &leaf, &chain)) != CC_OK)
		goto out;
	if (key == NULL) {
		r = cc_store_complete_request(s, leaf, chain, p->services, p->friendly_name,
		                              thumb_out, id_out);
		goto out;
	}
	/* A PKCS#12 brings its own key; its friendlyName (RFC 7292 section 4.2) is the default. */
	if (p->friendly_name == NULL && (alias = X509_alias_get0(leaf, &alen)) != NULL &&
	    alen > 0) {
		if ((name = strndup((const char *)alias, (size_t)alen)) == NULL) {
			r = cc_seterr(CC_ERR_NOMEM, "friendly name");
			goto out;
		}
		if (strlen(name) != (size_t)alen || cc_meta_check_friendly_name(name) != CC_OK) {
			free(name); /* not one a store can keep: no name rather than a refusal */
			name = NULL;
		}
	}
	meta.services = p->services;
	meta.exportable = p->exportable;
	meta.friendly_name = p->friendly_name != NULL ? p->friendly_name : name;
	meta.made_by = NULL; /* imported: an administrator's */
	r = cc_store_add(s, leaf, chain, key, &meta, thumb_out);
out:
	free(name);
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	return r;
}

enum cc_err
cc_cert_export_pkcs12(const struct cc_cert *c, const char *password, unsigned char **out,
                      size_t *len)
{
	PKCS12 *p12 = NULL;
	unsigned char *der = NULL;
	const char *name;
	int n;
	enum cc_err r = CC_ERR_CRYPTO;

	*out = NULL;
	*len = 0;
	if (cc_cert_key(c) == NULL) {
		r = cc_seterr(CC_ERR_NO_KEY,
		              "certificate %s has no private key in the store; export its public "
		              "certificate instead",
		              cc_cert_thumbprint(c));
		goto out;
	}
	if (!cc_cert_exportable(c)) {
		r = cc_seterr(
		        CC_ERR_NO_EXPORT,
		        "certificate %s: its private key was not made exportable (--exportable "
		        "when it was created or imported), so it does not leave the store",
		        cc_cert_thumbprint(c));
		goto out;
	}
	if (password == NULL || *password == '\0') {
		r = cc_seterr(CC_ERR_INVAL, "a PKCS#12 export needs a password that is not empty");
		goto out;
	}
	name = *cc_cert_friendly_name(c) != '\0' ? cc_cert_friendly_name(c) : NULL;
	/*
	 * PBES2 with AES-256-CBC (PBKDF2-HMAC-SHA256, RFC 8018) for the key and the certificates,
	 * instead of PKCS#12's historic RC2-40 and 3DES. No MAC here (-1): it is added below with
	 * SHA-256, where PKCS12_create would use SHA-1.
	 */
	if ((p12 = PKCS12_create_ex(password, name, cc_cert_key(c), cc_cert_x509(c),
	                            sk_X509_num(cc_cert_chain(c)) > 0 ? cc_cert_chain(c) : NULL,
	                            NID_aes_256_cbc, NID_aes_256_cbc, CC_PKCS12_ITER, -1, 0, NULL,
	                            NULL)) == NULL) {
		r = cc_seterr_ssl(CC_ERR_CRYPTO, "making the PKCS#12");
		goto out;
	}
	if (PKCS12_set_mac(p12, password, -1, NULL, 0, CC_PKCS12_ITER, EVP_sha256()) != 1) {
		r = cc_seterr_ssl(CC_ERR_CRYPTO, "the PKCS#12 MAC");
		goto out;
	}
	if ((n = i2d_PKCS12(p12, &der)) <= 0) {
		r = cc_seterr_ssl(CC_ERR_CRYPTO, "encoding the PKCS#12");
		goto out;
	}
	*out = der;
	*len = (size_t)n;
	der = NULL;
	r = CC_OK;
out:
	OPENSSL_free(der);
	PKCS12_free(p12);
	return r;
}
