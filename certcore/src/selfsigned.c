/* Self-signed certificates and renewal (New-ExchangeCertificate without -GenerateRequest). */
#include <ctype.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ldap.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certcore/selfsigned.h"
#include "internal.h"
#include "meta.h"

#define DEFAULT_DAYS 365 /* Exchange 2007's self-signed certificates lasted one year */
#define MAX_DAYS     (100 * 366)
#define MAX_DOMAINS  256

static const struct {
	enum cc_key_type t;
	const char *name;
	const char *alias;
} key_types[] = {
        {CC_KEY_RSA_2048, "rsa2048", "rsa"}, {CC_KEY_RSA_1024, "rsa1024", NULL},
        {CC_KEY_RSA_4096, "rsa4096", NULL},  {CC_KEY_EC_P256, "ec256", "p-256"},
        {CC_KEY_EC_P384, "ec384", "p-384"},
};

enum cc_err
cc_key_type_parse(const char *s, enum cc_key_type *out)
{
	size_t i;

	for (i = 0; s != NULL && i < sizeof(key_types) / sizeof(key_types[0]); i++) {
		if (strcasecmp(s, key_types[i].name) == 0 ||
		    (key_types[i].alias && strcasecmp(s, key_types[i].alias) == 0)) {
			*out = key_types[i].t;
			return CC_OK;
		}
	}
	return cc_seterr(CC_ERR_INVAL,
	                 "unknown key type \"%.32s\" (rsa2048, rsa1024, rsa4096, ec256, ec384)",
	                 s ? s : "");
}

const char *
cc_key_type_name(enum cc_key_type t)
{
	size_t i;

	for (i = 0; i < sizeof(key_types) / sizeof(key_types[0]); i++)
		if (key_types[i].t == t)
			return key_types[i].name;
	return "unknown";
}

enum cc_err
cc_key_generate(enum cc_key_type t, EVP_PKEY **out)
{
	EVP_PKEY *k = NULL;

	*out = NULL;
	switch (t) {
	case CC_KEY_RSA_1024:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
		break;
	case CC_KEY_RSA_2048:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		break;
	case CC_KEY_RSA_4096:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
		break;
	case CC_KEY_EC_P256:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case CC_KEY_EC_P384:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		break;
	default:
		return cc_seterr(CC_ERR_INVAL, "unknown key type");
	}
	if (k == NULL)
		return cc_seterr_ssl(CC_ERR_CRYPTO, "generating a %s key", cc_key_type_name(t));
	*out = k;
	return CC_OK;
}

/* The key type a clone must have: the same algorithm and size as the original's key. */
static enum cc_err
key_type_of(EVP_PKEY *pub, enum cc_key_type *out)
{
	char group[64];
	size_t glen = 0;
	int bits = EVP_PKEY_get_bits(pub);

	if (EVP_PKEY_is_a(pub, "RSA")) {
		if (bits == 1024 || bits == 2048 || bits == 4096) {
			*out = bits == 1024   ? CC_KEY_RSA_1024
			       : bits == 2048 ? CC_KEY_RSA_2048
			                      : CC_KEY_RSA_4096;
			return CC_OK;
		}
		return cc_seterr(CC_ERR_INVAL, "cannot renew an RSA-%d key (1024, 2048, 4096)",
		                 bits);
	}
	if (EVP_PKEY_is_a(pub, "EC") &&
	    EVP_PKEY_get_group_name(pub, group, sizeof(group), &glen) == 1) {
		if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0) {
			*out = CC_KEY_EC_P256;
			return CC_OK;
		}
		if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0) {
			*out = CC_KEY_EC_P384;
			return CC_OK;
		}
	}
	ERR_clear_error();
	return cc_seterr(CC_ERR_INVAL, "cannot renew a %s key",
	                 EVP_PKEY_get0_type_name(pub) ? EVP_PKEY_get0_type_name(pub) : "unknown");
}

static enum cc_err
check_domain(const char *d)
{
	if (!cc_dns_name_valid(d))
		return cc_seterr(CC_ERR_INVAL, "\"%.64s\" is not a valid DNS name", d);
	return CC_OK;
}

/* Tries the attribute type as typed, upper-cased and lower-cased ("cn", "CN", "street"). */
static ASN1_OBJECT *
attr_object(const char *type)
{
	char buf[64];
	ASN1_OBJECT *o;
	size_t i, n = strlen(type);

	if (n == 0 || n >= sizeof(buf))
		return NULL;
	/* A spelling that fails queues OpenSSL errors a later, unrelated failure would report. */
	ERR_set_mark();
	if ((o = OBJ_txt2obj(type, 0)) == NULL) {
		for (i = 0; i <= n; i++)
			buf[i] = (char)toupper((unsigned char)type[i]);
		o = OBJ_txt2obj(buf, 0);
	}
	if (o == NULL) {
		for (i = 0; i <= n; i++)
			buf[i] = (char)tolower((unsigned char)type[i]);
		o = OBJ_txt2obj(buf, 0);
	}
	ERR_pop_to_mark();
	return o;
}

enum cc_err
cc_x500_parse(const char *s, X509_NAME **out)
{
	LDAPDN dn = NULL;
	X509_NAME *name = NULL;
	ASN1_OBJECT *obj = NULL;
	char type[64];
	int rc, i, j;
	enum cc_err r = CC_ERR_PARSE;

	*out = NULL;
	if (s == NULL || *s == '\0') {
		r = cc_seterr(CC_ERR_PARSE, "empty subject");
		goto out;
	}
	/* RFC 4514 syntax and escaping, read by libldap; the RDN order is kept as written. */
	if ((rc = ldap_str2dn(s, &dn, LDAP_DN_FORMAT_LDAPV3)) != LDAP_SUCCESS || dn == NULL) {
		r = cc_seterr(CC_ERR_PARSE, "subject \"%.128s\": %s", s, ldap_err2string(rc));
		goto out;
	}
	if ((name = X509_NAME_new()) == NULL) {
		r = cc_seterr_ssl(CC_ERR_NOMEM, "X509_NAME_new");
		goto out;
	}
	for (i = 0; dn[i] != NULL; i++) {
		for (j = 0; dn[i][j] != NULL; j++) {
			LDAPAVA *ava = dn[i][j];

			if (ava->la_flags & LDAP_AVA_BINARY) {
				r = cc_seterr(CC_ERR_PARSE,
				              "subject \"%.128s\": #hex values are not supported",
				              s);
				goto out;
			}
			if (ava->la_attr.bv_len >= sizeof(type)) {
				r = cc_seterr(CC_ERR_PARSE, "subject: attribute type too long");
				goto out;
			}
			memcpy(type, ava->la_attr.bv_val, ava->la_attr.bv_len);
			type[ava->la_attr.bv_len] = '\0';
			/*
			 * "cn=a\\00b": a NUL would make the name read differently to C code. An
			 * empty value ("cn=") comes with no buffer at all, which memchr must not
			 * see.
			 */
			if (ava->la_value.bv_len > 0 &&
			    memchr(ava->la_value.bv_val, '\0', ava->la_value.bv_len) != NULL) {
				r = cc_seterr(CC_ERR_PARSE, "subject: value of %s holds a NUL",
				              type);
				goto out;
			}
			if ((obj = attr_object(type)) == NULL) {
				ERR_clear_error();
				r = cc_seterr(CC_ERR_PARSE,
				              "subject: unknown attribute type \"%s\"", type);
				goto out;
			}
			/* set 0 opens a new RDN; -1 adds to it (a multi-valued RDN, "a=1+b=2"). */
			if (X509_NAME_add_entry_by_OBJ(name, obj, MBSTRING_UTF8,
			                               (const unsigned char *)ava->la_value.bv_val,
			                               (int)ava->la_value.bv_len, -1,
			                               j == 0 ? 0 : -1) != 1) {
				r = cc_seterr_ssl(CC_ERR_PARSE, "subject: value of %s", type);
				goto out;
			}
			ASN1_OBJECT_free(obj);
			obj = NULL;
		}
	}
	if (X509_NAME_entry_count(name) == 0) {
		r = cc_seterr(CC_ERR_PARSE, "empty subject");
		goto out;
	}
	*out = name;
	name = NULL;
	r = CC_OK;
out:
	ASN1_OBJECT_free(obj);
	X509_NAME_free(name);
	if (dn != NULL)
		ldap_dnfree(dn);
	return r;
}

enum cc_err
cc_host_names(char **fqdn, char **shortname)
{
	char host[256];
	struct addrinfo hints, *ai = NULL;
	const char *canon;
	char *dot;
	enum cc_err r = CC_ERR_NOMEM;

	*fqdn = *shortname = NULL;
	if (gethostname(host, sizeof(host)) == -1) {
		r = cc_seterr_errno(CC_ERR_IO, "gethostname");
		goto out;
	}
	host[sizeof(host) - 1] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_CANONNAME;
	hints.ai_family = AF_UNSPEC;
	canon = host;
	if (getaddrinfo(host, NULL, &hints, &ai) == 0 && ai != NULL && ai->ai_canonname != NULL &&
	    strchr(ai->ai_canonname, '.') != NULL)
		canon = ai->ai_canonname;
	if ((*fqdn = strdup(canon)) == NULL || (*shortname = strdup(canon)) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "host name");
		goto out;
	}
	if ((dot = strchr(*shortname, '.')) != NULL)
		*dot = '\0';
	r = CC_OK;
out:
	if (ai != NULL)
		freeaddrinfo(ai);
	if (r != CC_OK) {
		free(*fqdn);
		free(*shortname);
		*fqdn = *shortname = NULL;
	}
	return r;
}

static enum cc_err
add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e;

	if ((e = X509V3_EXT_conf_nid(NULL, ctx, nid, value)) == NULL)
		return cc_seterr_ssl(CC_ERR_CRYPTO, "extension %s", OBJ_nid2sn(nid));
	if (X509_add_ext(x, e, -1) != 1) {
		X509_EXTENSION_free(e);
		return cc_seterr_ssl(CC_ERR_CRYPTO, "adding extension %s", OBJ_nid2sn(nid));
	}
	X509_EXTENSION_free(e);
	return CC_OK;
}

/* SAN built as GENERAL_NAMEs, not from a config string, so a name cannot inject syntax. */
static enum cc_err
add_san(X509 *x, const char *const *domains, size_t n)
{
	GENERAL_NAMES *gens = NULL;
	GENERAL_NAME *g = NULL;
	ASN1_IA5STRING *ia5 = NULL;
	size_t i;
	enum cc_err r = CC_ERR_CRYPTO;

	if ((gens = sk_GENERAL_NAME_new_null()) == NULL) {
		r = cc_seterr_ssl(CC_ERR_NOMEM, "SAN");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((g = GENERAL_NAME_new()) == NULL || (ia5 = ASN1_IA5STRING_new()) == NULL ||
		    !ASN1_STRING_set(ia5, domains[i], (int)strlen(domains[i]))) {
			r = cc_seterr_ssl(CC_ERR_NOMEM, "SAN");
			goto out;
		}
		GENERAL_NAME_set0_value(g, GEN_DNS, ia5);
		ia5 = NULL;
		if (!sk_GENERAL_NAME_push(gens, g)) {
			r = cc_seterr_ssl(CC_ERR_NOMEM, "SAN");
			goto out;
		}
		g = NULL;
	}
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) != 1) {
		r = cc_seterr_ssl(CC_ERR_CRYPTO, "adding subjectAltName");
		goto out;
	}
	r = CC_OK;
out:
	ASN1_IA5STRING_free(ia5);
	GENERAL_NAME_free(g);
	GENERAL_NAMES_free(gens);
	return r;
}

static enum cc_err
random_serial(X509 *x)
{
	unsigned char b[16];
	BIGNUM *bn = NULL;
	enum cc_err r = CC_ERR_CRYPTO;

	/* RFC 5280 section 4.1.2.2: positive, at most 20 octets; CA/B asks for 64+ random bits. */
	do {
		if (RAND_bytes(b, sizeof(b)) != 1) {
			r = cc_seterr_ssl(CC_ERR_CRYPTO, "random serial");
			goto out;
		}
		b[0] &= 0x7f;
	} while (b[0] == 0);
	if ((bn = BN_bin2bn(b, sizeof(b), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL) {
		r = cc_seterr_ssl(CC_ERR_CRYPTO, "serial number");
		goto out;
	}
	r = CC_OK;
out:
	BN_free(bn);
	return r;
}

/*
 * A key for a certificate of the store: from the key maker when one is set (store.h: it signs
 * the certificate too, where the key is), else generated here.
 */
static enum cc_err
store_key(enum cc_key_type kt, EVP_PKEY **out)
{
	const struct cc_key_maker *m = cc_store_key_maker();
	char why[768] = "";
	enum cc_err r;

	*out = NULL;
	if (m == NULL)
		return cc_key_generate(kt, out);
	if ((r = m->make(m->arg, (int)kt, out, why, sizeof(why))) != CC_OK)
		return cc_seterr(r, "making a %s key: %s", cc_key_type_name(kt), why);
	return CC_OK;
}

/*
 * Builds and signs; `subject` (borrowed, may be NULL) overrides p->subject. `stored`: the key
 * is for the store (store_key), not for the caller alone (cc_selfsigned_create).
 */
static enum cc_err
build(const struct cc_new_params *p, const X509_NAME *subject, enum cc_key_type kt, bool stored,
      X509 **x_out, EVP_PKEY **key_out)
{
	X509 *x = NULL;
	EVP_PKEY *key = NULL;
	X509_NAME *name = NULL;
	X509V3_CTX ctx;
	char *fqdn = NULL, *shortname = NULL;
	const char *hostdoms[2];
	const char *const *domains = p->domains;
	size_t ndomains = p->ndomains, i;
	time_t now = p->now ? p->now : time(NULL);
	int days = p->days ? p->days : DEFAULT_DAYS;
	enum cc_err r = CC_ERR_CRYPTO;

	*x_out = NULL;
	*key_out = NULL;
	if (days < 1 || days > MAX_DAYS) {
		r = cc_seterr(CC_ERR_INVAL, "validity of %d days (1 to %d)", days, MAX_DAYS);
		goto out;
	}
	if (ndomains > MAX_DOMAINS) {
		r = cc_seterr(CC_ERR_INVAL, "more than %d domains", MAX_DOMAINS);
		goto out;
	}
	if ((r = cc_meta_check_friendly_name(p->friendly_name)) != CC_OK)
		goto out;
	if (ndomains == 0 && p->subject == NULL && subject == NULL) {
		/* No names at all: the host's FQDN and short name, as Exchange did. */
		if ((r = cc_host_names(&fqdn, &shortname)) != CC_OK)
			goto out;
		hostdoms[0] = fqdn;
		hostdoms[1] = shortname;
		domains = hostdoms;
		ndomains = strcmp(fqdn, shortname) == 0 ? 1 : 2;
	}
	for (i = 0; i < ndomains; i++)
		if ((r = check_domain(domains[i])) != CC_OK)
			goto out;
	if (subject == NULL && p->subject != NULL) {
		if ((r = cc_x500_parse(p->subject, &name)) != CC_OK)
			goto out;
		subject = name;
	}
	if (subject == NULL) {
		if (strlen(domains[0]) > 64) {
			r = cc_seterr(
			        CC_ERR_INVAL,
			        "\"%.64s...\" is longer than a CN may be (64); give --subject",
			        domains[0]);
			goto out;
		}
		if ((name = X509_NAME_new()) == NULL ||
		    X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
		                               (const unsigned char *)domains[0], -1, -1, 0) != 1) {
			r = cc_seterr_ssl(CC_ERR_CRYPTO, "subject CN");
			goto out;
		}
		subject = name;
	}
	if ((r = stored ? store_key(kt, &key) : cc_key_generate(kt, &key)) != CC_OK)
		goto out;
	if ((x = X509_new()) == NULL) {
		r = cc_seterr_ssl(CC_ERR_NOMEM, "X509_new");
		goto out;
	}
	if (X509_set_version(x, X509_VERSION_3) != 1 || (r = random_serial(x)) != CC_OK ||
	    X509_set_subject_name(x, subject) != 1 || X509_set_issuer_name(x, subject) != 1 ||
	    X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &now) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), days, 0, &now) == NULL ||
	    X509_set_pubkey(x, key) != 1) {
		r = cc_seterr_ssl(CC_ERR_CRYPTO, "building the certificate");
		goto out;
	}
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((r = add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE")) != CC_OK ||
	    (r = add_ext(x, &ctx, NID_key_usage,
	                 EVP_PKEY_is_a(key, "RSA") ? "critical,digitalSignature,keyEncipherment"
	                                           : "critical,digitalSignature,keyAgreement")) !=
	            CC_OK ||
	    (r = add_ext(x, &ctx, NID_ext_key_usage, "serverAuth,clientAuth")) != CC_OK ||
	    (r = add_ext(x, &ctx, NID_subject_key_identifier, "hash")) != CC_OK ||
	    (r = add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always")) != CC_OK)
		goto out;
	if (ndomains > 0 && (r = add_san(x, domains, ndomains)) != CC_OK)
		goto out;
	if (X509_sign(x, key, EVP_sha256()) <= 0) {
		r = cc_seterr_ssl(CC_ERR_CRYPTO, "signing the certificate");
		goto out;
	}
	*x_out = x;
	*key_out = key;
	x = NULL;
	key = NULL;
	r = CC_OK;
out:
	X509_free(x);
	EVP_PKEY_free(key);
	X509_NAME_free(name);
	free(fqdn);
	free(shortname);
	return r;
}

enum cc_err
cc_selfsigned_create(const struct cc_new_params *p, X509 **x_out, EVP_PKEY **key_out)
{
	return build(p, NULL, p->key_type, false, x_out, key_out);
}

static enum cc_err
store_new(struct cc_store *s, const struct cc_new_params *p, const X509_NAME *subject,
          enum cc_key_type kt, char thumb_out[CC_THUMB_LEN + 1])
{
	X509 *x = NULL;
	EVP_PKEY *key = NULL;
	struct cc_meta meta;
	enum cc_err r;

	if ((r = build(p, subject, kt, true, &x, &key)) != CC_OK)
		goto out;
	meta.services = p->services;
	meta.exportable = p->exportable;
	meta.friendly_name = p->friendly_name ? p->friendly_name : "umedge";
	meta.made_by = p->made_by;
	r = cc_store_add(s, x, NULL, key, &meta, thumb_out);
out:
	X509_free(x);
	EVP_PKEY_free(key);
	return r;
}

enum cc_err
cc_store_new_self_signed(struct cc_store *s, const struct cc_new_params *p,
                         char thumb_out[CC_THUMB_LEN + 1])
{
	return store_new(s, p, NULL, p->key_type, thumb_out);
}

enum cc_err
cc_store_renew(struct cc_store *s, const char *thumb, time_t now, char thumb_out[CC_THUMB_LEN + 1])
{
	struct cc_clone_params cp;

	memset(&cp, 0, sizeof(cp));
	cp.now = now;
	return cc_store_clone(s, thumb, &cp, thumb_out);
}

enum cc_err
cc_store_auto_renew(struct cc_store *s, const char *thumb, const char *who, int window_days,
                    time_t now, char thumb_out[CC_THUMB_LEN + 1], bool *renewed)
{
	struct cc_clone_params cp;
	struct cc_cert *c;
	enum cc_err r;

	*renewed = false;
	if (thumb_out != NULL)
		thumb_out[0] = '\0';
	if (who == NULL || *who == '\0')
		return cc_seterr(CC_ERR_INVAL, "automatic renewal needs the daemon's name");
	if ((r = cc_store_find(s, thumb, &c)) != CC_OK)
		return r;
	if (window_days <= 0 || !cc_cert_is_self_signed(c) ||
	    strcmp(cc_cert_made_by(c), who) != 0 ||
	    cc_cert_not_after(c) - now >= (time_t)window_days * 86400)
		return CC_OK;
	memset(&cp, 0, sizeof(cp));
	cp.now = now;
	cp.days = CC_AUTO_RENEW_DAYS;
	if ((r = cc_store_clone(s, thumb, &cp, thumb_out)) != CC_OK)
		return r;
	*renewed = true;
	return CC_OK;
}

enum cc_err
cc_store_clone(struct cc_store *s, const char *thumb, const struct cc_clone_params *cp,
               char thumb_out[CC_THUMB_LEN + 1])
{
	struct cc_cert *old;
	struct cc_new_params p;
	GENERAL_NAMES *gens = NULL;
	const char **domains = NULL;
	char **copies = NULL, *fname = NULL, *made_by = NULL;
	X509_NAME *subject = NULL;
	enum cc_key_type kt = CC_KEY_RSA_2048;
	size_t i, n = 0, ngens;
	enum cc_err r;

	if ((r = cc_store_find(s, thumb, &old)) != CC_OK)
		goto out;
	if ((r = key_type_of(X509_get0_pubkey(cc_cert_x509(old)), &kt)) != CC_OK)
		goto out;
	/*
	 * Copies, not borrows: adding the clone reloads the store, which frees `old`.
	 *
	 * The clone gets the original's SAN DNS names, not its CertificateDomains: those also hold
	 * the CN, which a subject may have made something that is no host name ("cn=Contoso
	 * Mail"), and the clone's domain check would refuse it. With the subject copied too, the
	 * clone's CertificateDomains come out the same.
	 */
	gens = X509_get_ext_d2i(cc_cert_x509(old), NID_subject_alt_name, NULL, NULL);
	ngens = gens != NULL ? (size_t)sk_GENERAL_NAME_num(gens) : 0;
	if ((domains = calloc(ngens + 1, sizeof(*domains))) == NULL ||
	    (copies = calloc(ngens + 1, sizeof(*copies))) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "domains");
		goto out;
	}
	for (i = 0; i < ngens; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, (int)i);
		const char *d;
		size_t dlen;

		if (g->type != GEN_DNS)
			continue;
		d = (const char *)ASN1_STRING_get0_data(g->d.dNSName);
		dlen = (size_t)ASN1_STRING_length(g->d.dNSName);
		/* Cut at a NUL, the name would be another one: refuse rather than clone it. */
		if (memchr(d, '\0', dlen) != NULL) {
			r = cc_seterr(CC_ERR_INVAL, "cannot renew: a SAN DNS name holds a NUL");
			goto out;
		}
		if ((copies[n] = strndup(d, dlen)) == NULL) {
			r = cc_seterr(CC_ERR_NOMEM, "domains");
			goto out;
		}
		domains[n] = copies[n];
		n++;
	}
	/* No name stays no name: NULL would give the clone the default "umedge". */
	if ((fname = strdup(cc_cert_friendly_name(old))) == NULL ||
	    (made_by = strdup(cc_cert_made_by(old))) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "friendly name");
		goto out;
	}
	if ((subject = X509_NAME_dup(X509_get_subject_name(cc_cert_x509(old)))) == NULL) {
		r = cc_seterr_ssl(CC_ERR_NOMEM, "subject");
		goto out;
	}
	memset(&p, 0, sizeof(p));
	p.domains = domains;
	p.ndomains = n;
	p.services = cp != NULL && cp->services ? cp->services : cc_cert_services(old);
	p.days = cp != NULL && cp->days ? cp->days : cc_cert_validity_days(old);
	p.exportable = cc_cert_exportable(old);
	p.friendly_name = fname;
	p.now = cp != NULL ? cp->now : 0;
	p.made_by = made_by;
	/* The subject is copied as a name, not re-parsed from text. */
	r = store_new(s, &p, subject, kt, thumb_out);
out:
	for (i = 0; copies != NULL && i < n; i++)
		free(copies[i]);
	free(copies);
	free(domains);
	free(fname);
	free(made_by);
	GENERAL_NAMES_free(gens);
	X509_NAME_free(subject);
	return r;
}
