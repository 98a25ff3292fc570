/* struct cc_cert: a certificate and its Exchange properties, all computed with OpenSSL. */
#include <ctype.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certcore/cert.h"
#include "internal.h"

struct cc_cert {
	/* holders: the store that loaded it, selections, daemons that serve with it
	 * (cc_cert_up_ref); the last cc_cert_free frees it. Atomic: umd hands certificates to
	 * other threads. */
	atomic_int refs;
	X509 *x;
	STACK_OF(X509) * chain;
	EVP_PKEY *key;
	char thumb[CC_THUMB_LEN + 1];
	char *subject;
	char *issuer;
	char **domains;
	size_t ndomains;
	time_t not_before;
	time_t not_after;
	char *serial;
	int key_bits;
	char *key_alg;
	bool self_issued; /* issuer == subject */
	bool self_sig_ok; /* its own key verifies its signature */
	unsigned services;
	bool exportable;
	char *friendly_name;
	char *made_by;
	/* Set by cc_store_verify_all: the full trust model's answer, which supersedes ours. */
	bool verified;
	enum cc_status v_status;
	enum cc_root_ca_type v_root;
	char *v_reason;
};

/* Exchange's CN-and-SAN host matching (README, "certctl": select). */
#define HOST_FLAGS (X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_ALWAYS_CHECK_SUBJECT)

struct cc_cert *
cc_cert_up_ref(struct cc_cert *c)
{
	if (c != NULL)
		atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
	return c;
}

void
cc_cert_free(struct cc_cert *c)
{
	size_t i;

	if (c == NULL)
		return;
	/* the previous count: 1 means this was the last reference */
	if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
		return;
	X509_free(c->x);
	sk_X509_pop_free(c->chain, X509_free);
	EVP_PKEY_free(c->key);
	free(c->subject);
	free(c->issuer);
	for (i = 0; i < c->ndomains; i++)
		free(c->domains[i]);
	free(c->domains);
	free(c->serial);
	free(c->key_alg);
	free(c->friendly_name);
	free(c->made_by);
	free(c->v_reason);
	free(c);
}

enum cc_err
cc_name_rfc2253(const X509_NAME *n, char **out)
{
	BIO *b = NULL;
	BUF_MEM *m;
	enum cc_err r = CC_ERR_CRYPTO;

	*out = NULL;
	if ((b = BIO_new(BIO_s_mem())) == NULL) {
		r = cc_seterr_ssl(CC_ERR_NOMEM, "BIO_new");
		goto out;
	}
	if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) < 0) {
		r = cc_seterr_ssl(CC_ERR_CRYPTO, "printing a distinguished name");
		goto out;
	}
	BIO_get_mem_ptr(b, &m);
	if ((*out = strndup(m->data, m->length)) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "name");
		goto out;
	}
	r = CC_OK;
out:
	BIO_free(b);
	return r;
}

bool
cc_dns_name_valid(const char *d)
{
	size_t len = strlen(d), label = 0, i;
	const char *p = d;

	if (len == 0 || len > 253)
		return false;
	if (strncmp(p, "*.", 2) == 0)
		p += 2;
	for (i = 0; p[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (ch == '.') {
			if (label == 0 || p[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((ch < 0x80 && isalnum(ch)) || (ch == '-' && label > 0)) || ++label > 63)
			return false;
	}
	return label != 0 && p[i - 1] != '-';
}

/* `ascii_only` for a SAN dNSName, an IA5String (RFC 5280 section 4.2.1.6); a CN may be UTF-8. */
static enum cc_err
add_domain(struct cc_cert *c, const unsigned char *s, size_t len, bool ascii_only)
{
	char **nd;
	size_t i;

	/*
	 * An embedded NUL would make the name mean something else to C string code, a control
	 * character would forge lines in what certctl prints, and a byte above 0x7f in an
	 * IA5String is no host name (nor the UTF-8 JSON carries): such a name names no domain.
	 */
	if (len == 0)
		return CC_OK;
	for (i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] == 0x7f || (ascii_only && s[i] > 0x7f))
			return CC_OK;
	for (i = 0; i < c->ndomains; i++)
		if (strlen(c->domains[i]) == len &&
		    strncasecmp(c->domains[i], (const char *)s, len) == 0)
			return CC_OK;
	if ((nd = realloc(c->domains, (c->ndomains + 1) * sizeof(*nd))) == NULL)
		return cc_seterr(CC_ERR_NOMEM, "domains");
	c->domains = nd;
	if ((nd[c->ndomains] = strndup((const char *)s, len)) == NULL)
		return cc_seterr(CC_ERR_NOMEM, "domains");
	c->ndomains++;
	return CC_OK;
}

static enum cc_err
collect_domains(struct cc_cert *c)
{
	const X509_NAME *n = X509_get_subject_name(c->x);
	GENERAL_NAMES *gens = NULL;
	unsigned char *utf8 = NULL;
	int idx = -1, len, i;
	enum cc_err r = CC_ERR_CRYPTO;

	while ((idx = X509_NAME_get_index_by_NID(n, NID_commonName, idx)) >= 0) {
		X509_NAME_ENTRY *e = X509_NAME_get_entry(n, idx);

		if ((len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e))) < 0) {
			ERR_clear_error();
			continue; /* an undecodable CN names no domain */
		}
		/*
		 * CertificateDomains holds DNS names: a CN that is no host name ("CN=Contoso
		 * Mail") names no domain, as Exchange showed it.
		 */
		r = memchr(utf8, '\0', (size_t)len) == NULL && cc_dns_name_valid((char *)utf8)
		            ? add_domain(c, utf8, (size_t)len, false)
		            : CC_OK;
		OPENSSL_free(utf8);
		utf8 = NULL;
		if (r != CC_OK)
			goto out;
	}
	gens = X509_get_ext_d2i(c->x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type != GEN_DNS)
			continue;
		r = add_domain(c, ASN1_STRING_get0_data(g->d.dNSName),
		               (size_t)ASN1_STRING_length(g->d.dNSName), true);
		if (r != CC_OK)
			goto out;
	}
	ERR_clear_error(); /* a missing SAN extension leaves nothing worth reporting */
	r = CC_OK;
out:
	GENERAL_NAMES_free(gens);
	return r;
}

static enum cc_err
asn1_time(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return cc_seterr_ssl(CC_ERR_PARSE, "certificate validity time");
	*out = timegm(&tm);
	return CC_OK;
}

enum cc_err
cc_hex_upper(const unsigned char *p, size_t n, const char *prefix, char **out)
{
	char *hex = NULL;
	size_t hexlen = 0, plen = strlen(prefix);

	*out = NULL;
	if ((hex = malloc(plen + 2 * n + 3)) == NULL)
		return cc_seterr(CC_ERR_NOMEM, "hex");
	memcpy(hex, prefix, plen);
	if (n == 0) {
		memcpy(hex + plen, "00", 3);
	} else if (!OPENSSL_buf2hexstr_ex(hex + plen, 2 * n + 1, &hexlen, p, n, '\0')) {
		free(hex);
		return cc_seterr_ssl(CC_ERR_CRYPTO, "hex encoding");
	}
	*out = hex;
	return CC_OK;
}

static enum cc_err
compute(struct cc_cert *c)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	const ASN1_INTEGER *sn;
	EVP_PKEY *pub;
	char *t = NULL;
	const char *alg;
	enum cc_err r = CC_ERR_CRYPTO;

	if (X509_digest(c->x, EVP_sha1(), md, &mdlen) != 1 || mdlen != 20) {
		r = cc_seterr_ssl(CC_ERR_CRYPTO, "certificate SHA-1 thumbprint");
		goto out;
	}
	if ((r = cc_hex_upper(md, mdlen, "", &t)) != CC_OK)
		goto out;
	memcpy(c->thumb, t, CC_THUMB_LEN + 1);
	if ((r = cc_name_rfc2253(X509_get_subject_name(c->x), &c->subject)) != CC_OK ||
	    (r = cc_name_rfc2253(X509_get_issuer_name(c->x), &c->issuer)) != CC_OK ||
	    (r = collect_domains(c)) != CC_OK ||
	    (r = asn1_time(X509_get0_notBefore(c->x), &c->not_before)) != CC_OK ||
	    (r = asn1_time(X509_get0_notAfter(c->x), &c->not_after)) != CC_OK)
		goto out;
	/* As openssl x509 -serial prints it: the magnitude's octets in upper-case hex. */
	sn = X509_get0_serialNumber(c->x);
	if ((r = cc_hex_upper(ASN1_STRING_get0_data(sn), (size_t)ASN1_STRING_length(sn),
	                      ASN1_STRING_type(sn) == V_ASN1_NEG_INTEGER ? "-" : "", &c->serial)) !=
	    CC_OK)
		goto out;
	if ((pub = X509_get0_pubkey(c->x)) == NULL) {
		r = cc_seterr_ssl(CC_ERR_PARSE, "certificate public key");
		goto out;
	}
	c->key_bits = EVP_PKEY_get_bits(pub);
	alg = EVP_PKEY_get0_type_name(pub);
	if ((c->key_alg = strdup(alg ? alg : "unknown")) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "key algorithm");
		goto out;
	}
	/*
	 * Self-issued is issuer == subject (RFC 5280 section 3.3), not OpenSSL's EXFLAG_SS, which
	 * also wants the key ids and the signature algorithm to fit the key: a certificate naming
	 * itself as issuer but signed with another key or algorithm must come out Invalid, not
	 * pass for CA-issued (which selection prefers).
	 */
	c->self_issued = (X509_get_extension_flags(c->x) & EXFLAG_SI) != 0;
	c->self_sig_ok = c->self_issued && X509_verify(c->x, pub) == 1;
	ERR_clear_error();
	r = CC_OK;
out:
	free(t);
	return r;
}

enum cc_err
cc_cert_new(X509 *x, STACK_OF(X509) * chain, EVP_PKEY *key, const struct cc_meta *meta,
            struct cc_cert **out)
{
	struct cc_cert *c = NULL;
	enum cc_err r = CC_ERR_NOMEM;

	*out = NULL;
	if (x == NULL) {
		r = cc_seterr(CC_ERR_INVAL, "no certificate");
		goto out;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "certificate");
		goto out;
	}
	atomic_init(&c->refs, 1);
	if (!X509_up_ref(x)) {
		r = cc_seterr_ssl(CC_ERR_CRYPTO, "X509_up_ref");
		goto out;
	}
	c->x = x;
	c->chain = chain != NULL ? X509_chain_up_ref(chain) : sk_X509_new_null();
	if (c->chain == NULL) {
		r = cc_seterr_ssl(CC_ERR_NOMEM, "certificate chain");
		goto out;
	}
	if ((r = compute(c)) != CC_OK)
		goto out;
	if (key != NULL) {
		if (X509_check_private_key(x, key) != 1) {
			r = cc_seterr_ssl(CC_ERR_KEY_MISMATCH, "private key does not match %s",
			                  c->thumb);
			goto out;
		}
		if (!EVP_PKEY_up_ref(key)) {
			r = cc_seterr_ssl(CC_ERR_CRYPTO, "EVP_PKEY_up_ref");
			goto out;
		}
		c->key = key;
	}
	if (meta != NULL) {
		c->services = meta->services;
		c->exportable = meta->exportable;
		if (meta->friendly_name != NULL &&
		    (c->friendly_name = strdup(meta->friendly_name)) == NULL) {
			r = cc_seterr(CC_ERR_NOMEM, "friendly name");
			goto out;
		}
		if (meta->made_by != NULL && *meta->made_by != '\0' &&
		    (c->made_by = strdup(meta->made_by)) == NULL) {
			r = cc_seterr(CC_ERR_NOMEM, "made_by");
			goto out;
		}
	}
	*out = c;
	c = NULL;
	r = CC_OK;
out:
	cc_cert_free(c);
	return r;
}

enum cc_err
cc_cert_new_from_bytes(const unsigned char *buf, size_t len, struct cc_cert **out)
{
	BIO *b = NULL;
	X509 *x = NULL, *extra = NULL;
	STACK_OF(X509) *chain = NULL;
	const unsigned char *p = buf;
	enum cc_err r = CC_ERR_PARSE;

	*out = NULL;
	if (buf == NULL || len == 0 || len > INT32_MAX) {
		r = cc_seterr(CC_ERR_PARSE, "empty certificate input");
		goto out;
	}
	if ((chain = sk_X509_new_null()) == NULL) {
		r = cc_seterr_ssl(CC_ERR_NOMEM, "chain");
		goto out;
	}
	if (memmem(buf, len, "-----BEGIN", 10) != NULL) {
		if ((b = BIO_new_mem_buf(buf, (int)len)) == NULL) {
			r = cc_seterr_ssl(CC_ERR_NOMEM, "BIO_new_mem_buf");
			goto out;
		}
		if ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL) {
			r = cc_seterr_ssl(CC_ERR_PARSE, "PEM certificate");
			goto out;
		}
		while ((extra = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
			if (!sk_X509_push(chain, extra)) {
				r = cc_seterr_ssl(CC_ERR_NOMEM, "chain");
				goto out;
			}
			extra = NULL;
		}
		/* The end of the input is the normal way out of the loop; anything else is not. */
		if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE &&
		    ERR_peek_last_error() != 0) {
			r = cc_seterr_ssl(CC_ERR_PARSE, "PEM certificate chain");
			goto out;
		}
		ERR_clear_error();
	} else {
		if ((x = d2i_X509(NULL, &p, (long)len)) == NULL) {
			r = cc_seterr_ssl(CC_ERR_PARSE, "DER certificate");
			goto out;
		}
		if (p != buf + len) {
			r = cc_seterr(CC_ERR_PARSE, "DER certificate: %zu trailing bytes",
			              (size_t)(buf + len - p));
			goto out;
		}
	}
	r = cc_cert_new(x, chain, NULL, NULL, out);
out:
	X509_free(extra);
	X509_free(x);
	sk_X509_pop_free(chain, X509_free);
	BIO_free(b);
	return r;
}

const char *
cc_cert_thumbprint(const struct cc_cert *c)
{
	return c->thumb;
}

const char *
cc_cert_subject(const struct cc_cert *c)
{
	return c->subject;
}

const char *
cc_cert_issuer(const struct cc_cert *c)
{
	return c->issuer;
}

size_t
cc_cert_domain_count(const struct cc_cert *c)
{
	return c->ndomains;
}

const char *
cc_cert_domain(const struct cc_cert *c, size_t i)
{
	return i < c->ndomains ? c->domains[i] : NULL;
}

time_t
cc_cert_not_before(const struct cc_cert *c)
{
	return c->not_before;
}

time_t
cc_cert_not_after(const struct cc_cert *c)
{
	return c->not_after;
}

const char *
cc_cert_serial(const struct cc_cert *c)
{
	return c->serial;
}

int
cc_cert_key_bits(const struct cc_cert *c)
{
	return c->key_bits;
}

const char *
cc_cert_key_algorithm(const struct cc_cert *c)
{
	return c->key_alg;
}

bool
cc_cert_has_private_key(const struct cc_cert *c)
{
	return c->key != NULL;
}

bool
cc_cert_is_self_signed(const struct cc_cert *c)
{
	return c->self_issued && c->self_sig_ok;
}

unsigned
cc_cert_services(const struct cc_cert *c)
{
	return c->services;
}

bool
cc_cert_exportable(const struct cc_cert *c)
{
	return c->exportable;
}

const char *
cc_cert_friendly_name(const struct cc_cert *c)
{
	return c->friendly_name ? c->friendly_name : "";
}

const char *
cc_cert_made_by(const struct cc_cert *c)
{
	return c->made_by ? c->made_by : "";
}

X509 *
cc_cert_x509(const struct cc_cert *c)
{
	return c->x;
}

STACK_OF(X509) * cc_cert_chain(const struct cc_cert *c)
{
	return c->chain;
}

EVP_PKEY *
cc_cert_key(const struct cc_cert *c)
{
	return c->key;
}

int
cc_cert_validity_days(const struct cc_cert *c)
{
	return (int)((c->not_after - c->not_before + 86399) / 86400);
}

enum cc_status
cc_cert_status(const struct cc_cert *c, time_t now, const char **reason)
{
	const char *dummy;

	if (reason == NULL)
		reason = &dummy;
	*reason = "";
	if (c->verified) {
		*reason = c->v_reason ? c->v_reason : "";
		return c->v_status;
	}
	if (c->self_issued && !c->self_sig_ok) {
		*reason = "self-signed certificate's signature does not verify";
		return CC_STATUS_INVALID;
	}
	if (now < c->not_before) {
		*reason = "certificate is not yet valid";
		return CC_STATUS_DATE_INVALID;
	}
	if (now > c->not_after) {
		*reason = "certificate has expired";
		return CC_STATUS_DATE_INVALID;
	}
	if (!c->self_issued) {
		*reason = "CA-issued: chain not checked (no trust model yet)";
		return CC_STATUS_UNKNOWN;
	}
	return CC_STATUS_VALID;
}

enum cc_root_ca_type
cc_cert_root_ca_type(const struct cc_cert *c)
{
	if (c->verified)
		return c->v_root;
	return cc_cert_is_self_signed(c) ? CC_ROOT_NONE : CC_ROOT_UNKNOWN;
}

bool
cc_cert_matches_host(const struct cc_cert *c, const char *fqdn)
{
	/*
	 * X509_check_host takes a leading '.' as "any subdomain of" and compares a '*' in the name
	 * literally: neither is a host name, so neither may match.
	 */
	if (fqdn == NULL || *fqdn == '\0' || *fqdn == '.' || strchr(fqdn, '*') != NULL)
		return false;
	return X509_check_host(c->x, fqdn, strlen(fqdn), HOST_FLAGS, NULL) == 1;
}

const char *
cc_status_name(enum cc_status s)
{
	static const char *const n[] = {
	        [CC_STATUS_VALID] = "Valid",
	        [CC_STATUS_UNKNOWN] = "Unknown",
	        [CC_STATUS_REVOKED] = "Revoked",
	        [CC_STATUS_DATE_INVALID] = "DateInvalid",
	        [CC_STATUS_UNTRUSTED] = "Untrusted",
	        [CC_STATUS_INVALID] = "Invalid",
	        [CC_STATUS_PENDING_REQUEST] = "PendingRequest",
	};

	return (unsigned)s < sizeof(n) / sizeof(n[0]) ? n[s] : "Unknown";
}

const char *
cc_root_ca_type_name(enum cc_root_ca_type t)
{
	static const char *const n[] = {
	        [CC_ROOT_NONE] = "None",
	        [CC_ROOT_REGISTRY] = "Registry",
	        [CC_ROOT_THIRD_PARTY] = "ThirdParty",
	        [CC_ROOT_GROUP_POLICY] = "GroupPolicy",
	        [CC_ROOT_ENTERPRISE] = "Enterprise",
	        [CC_ROOT_UNKNOWN] = "Unknown",
	};

	return (unsigned)t < sizeof(n) / sizeof(n[0]) ? n[t] : "Unknown";
}

enum cc_err
cc_thumbprint_normalize(const char *in, char out[CC_THUMB_LEN + 1])
{
	size_t n = 0;
	const char *p;
	static const char hex[] = "0123456789ABCDEF";

	out[0] = '\0';
	if (in == NULL)
		return cc_seterr(CC_ERR_INVAL, "no thumbprint");
	for (p = in; *p != '\0'; p++) {
		char ch = *p;

		if (ch == ':' || ch == ' ' || ch == '-' || ch == '\t')
			continue;
		if (ch >= 'a' && ch <= 'f')
			ch = (char)(ch - 'a' + 'A');
		if (strchr(hex, ch) == NULL || ch == '\0' || n == CC_THUMB_LEN) {
			out[0] = '\0'; /* no partial, unterminated thumbprint left behind */
			return cc_seterr(CC_ERR_INVAL,
			                 "\"%.80s\" is not a thumbprint (40 hexadecimal digits)",
			                 in);
		}
		out[n++] = ch;
	}
	if (n != CC_THUMB_LEN) {
		out[0] = '\0';
		return cc_seterr(CC_ERR_INVAL,
		                 "\"%.80s\" is not a thumbprint (40 hexadecimal digits)", in);
	}
	out[n] = '\0';
	return CC_OK;
}

const char *
cc_time_iso8601(time_t t, char buf[32])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, 32, "invalid-time");
	return buf;
}

void
cc_cert_set_verified(struct cc_cert *c, enum cc_status st, enum cc_root_ca_type root,
                     const char *reason)
{
	free(c->v_reason);
	c->v_reason = reason != NULL ? strdup(reason) : NULL;
	c->v_status = st;
	c->v_root = root;
	c->verified = true;
}
