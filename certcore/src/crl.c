/* CRLs for revocation checking: local files, the fetched cache, HTTP and LDAP distribution
 * points (RFC 5280 section 4.2.1.13). OpenSSL checks a CRL given to it but never fetches one. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include <ldap.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/http.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "crl.h"
#include "internal.h"

#define MAX_CRL         (8 * 1024 * 1024)
#define DEFAULT_TIMEOUT 10

void
cc_crl_lookup_clear(struct crl_lookup *l)
{
	X509_CRL_free(l->crl);
	free(l->location);
	free(l->issuer);
	free(l->error);
	memset(l, 0, sizeof(*l));
}

static time_t
asn1_to_time(const ASN1_TIME *t)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

static const char another_ca[] = "issued by another CA";

const char *
cc_crl_unusable(X509_CRL *crl, X509 *issuer, time_t now)
{
	EVP_PKEY *pub = X509_get0_pubkey(issuer);
	const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);

	if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0)
		return another_ca;
	if (pub == NULL || X509_CRL_verify(crl, pub) != 1) {
		ERR_clear_error();
		return "not signed with the issuer's key";
	}
	if (asn1_to_time(X509_CRL_get0_lastUpdate(crl)) > now)
		return "not yet valid (thisUpdate in the future)";
	if (next != NULL && asn1_to_time(next) <= now)
		return "stale (past its nextUpdate)";
	return NULL;
}

static enum cc_err
set_str(char **dst, const char *s)
{
	free(*dst);
	if ((*dst = strdup(s ? s : "")) == NULL)
		return cc_seterr(CC_ERR_NOMEM, "CRL lookup");
	return CC_OK;
}

static char *
name_text(const X509_NAME *n)
{
	char *s = NULL;

	if (cc_name_rfc2253(n, &s) != CC_OK)
		ERR_clear_error();
	return s;
}

/* Adopts `crl` as the answer. */
static enum cc_err
take(struct crl_lookup *l, X509_CRL *crl, enum cc_crl_source src, const char *where)
{
	X509_CRL_free(l->crl);
	l->crl = crl;
	l->source = src;
	l->this_update = asn1_to_time(X509_CRL_get0_lastUpdate(crl));
	l->next_update = asn1_to_time(X509_CRL_get0_nextUpdate(crl));
	free(l->issuer);
	l->issuer = name_text(X509_CRL_get_issuer(crl));
	if (l->issuer == NULL)
		return cc_seterr(CC_ERR_NOMEM, "CRL issuer");
	return set_str(&l->location, where) == CC_OK ? set_str(&l->error, "") : CC_ERR_NOMEM;
}

STACK_OF(X509_CRL) * cc_crl_read(const unsigned char *buf, size_t len)
{
	STACK_OF(X509_CRL) *sk = sk_X509_CRL_new_null();
	X509_CRL *crl;
	BIO *b;
	const unsigned char *p = buf;

	if (sk == NULL)
		return NULL;
	if (memmem(buf, len, "-----BEGIN", 10) != NULL) {
		if ((b = BIO_new_mem_buf(buf, (int)len)) != NULL) {
			while ((crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL)) != NULL)
				if (!sk_X509_CRL_push(sk, crl))
					X509_CRL_free(crl);
			BIO_free(b);
		}
	} else if ((crl = d2i_X509_CRL(NULL, &p, (long)len)) != NULL) {
		if (!sk_X509_CRL_push(sk, crl))
			X509_CRL_free(crl);
	}
	ERR_clear_error();
	if (sk_X509_CRL_num(sk) == 0) {
		sk_X509_CRL_free(sk);
		return NULL;
	}
	return sk;
}

/*
 * The freshest usable CRL of `issuer` in crl/. The first CRL in the issuer's name that had to be
 * refused (stale, not yet valid, a bad signature) is remembered for the message in `refused`:
 * "no CRL in the store" would be wrong when there is one.
 */
static enum cc_err
from_folder(struct cc_store *s, X509 *issuer, time_t now, struct crl_lookup *l, char **refused)
{
	struct cc_dir cd = {-1, NULL};
	char *p = NULL;
	unsigned char *buf = NULL;
	size_t len;
	DIR *d = NULL;
	struct dirent *de;
	STACK_OF(X509_CRL) *sk = NULL;
	X509_CRL *crl;
	const char *why;
	int i;
	enum cc_err r = CC_ERR_NOMEM;

	/* No folder: nothing cached. A link or another user's folder: refused, not read. */
	if ((r = cc_store_dir(s, "crl", &cd)) != CC_OK) {
		if (r == CC_ERR_NOT_FOUND)
			r = CC_OK;
		goto out;
	}
	if ((d = cc_dir_opendir(&cd)) == NULL) {
		r = CC_OK; /* unreadable: nothing cached, as a missing folder */
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		free(p);
		free(buf);
		buf = NULL;
		sk_X509_CRL_pop_free(sk, X509_CRL_free);
		sk = NULL;
		if ((p = cc_aprintf("%s/%s", cd.path, de->d_name)) == NULL) {
			r = cc_seterr(CC_ERR_NOMEM, "path");
			goto out;
		}
		if (cc_file_read_at(cd.fd, cd.path, de->d_name, MAX_CRL, &buf, &len, NULL) != CC_OK)
			continue;
		if ((sk = cc_crl_read(buf, len)) == NULL)
			continue;
		for (i = 0; i < sk_X509_CRL_num(sk); i++) {
			crl = sk_X509_CRL_value(sk, i);
			why = cc_crl_unusable(crl, issuer, now);
			if (why != NULL) {
				if (why != another_ca && *refused == NULL)
					*refused = cc_aprintf("%s is %s", p, why);
				continue;
			}
			/* The newest of several good ones. */
			if (l->crl != NULL &&
			    asn1_to_time(X509_CRL_get0_lastUpdate(crl)) <= l->this_update)
				continue;
			if (!X509_CRL_up_ref(crl)) {
				r = cc_seterr_ssl(CC_ERR_NOMEM, "X509_CRL_up_ref");
				goto out;
			}
			if ((r = take(l, crl,
			              strncmp(de->d_name, "fetched-", 8) == 0 ? CC_CRL_CACHE
			                                                      : CC_CRL_FILE,
			              p)) != CC_OK)
				goto out;
		}
	}
	r = CC_OK;
out:
	sk_X509_CRL_pop_free(sk, X509_CRL_free);
	if (d != NULL)
		closedir(d);
	cc_dir_close(&cd);
	free(p);
	free(buf);
	return r;
}

/*
 * HTTP: OSSL_HTTP_get (through o->proxy when given), the body read whole, at most MAX_CRL bytes,
 * within `timeout` seconds. OpenSSL is not asked to expect ASN.1 (X509_CRL_load_http does):
 * it would refuse a body that is not DER ("missing asn1 encoding"), and small CAs serve their
 * CRL as PEM. The bytes are read as files in crl/ are, by cc_crl_read. NULL with the reason
 * recorded (cc_errdetail) when nothing usable came.
 */
static STACK_OF(X509_CRL) * fetch_http(const char *url, const struct cc_verify_opts *o, int timeout)
{
	STACK_OF(X509_CRL) *sk = NULL;
	BIO *resp;
	unsigned char *buf = NULL, *nb;
	size_t got = 0, cap = 0;
	time_t deadline = time(NULL) + timeout;
	int n;

	if ((resp = OSSL_HTTP_get(url, o->proxy, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, 0,
	                          MAX_CRL, timeout)) == NULL) {
		(void)cc_seterr_ssl(CC_ERR_IO, "%s", url);
		goto out;
	}
	/* The body is a stream on a non-blocking connection: wait for it up to the deadline. */
	for (;;) {
		if (got == cap) {
			if (cap > MAX_CRL) {
				(void)cc_seterr(CC_ERR_LIMIT, "%s: larger than %d bytes", url,
				                MAX_CRL);
				goto out;
			}
			cap = cap == 0 ? 64 * 1024 : 2 * cap;
			if ((nb = realloc(buf, cap)) == NULL) {
				(void)cc_seterr(CC_ERR_NOMEM, "%s", url);
				goto out;
			}
			buf = nb;
		}
		if ((n = BIO_read(resp, buf + got, (int)(cap - got))) > 0) {
			got += (size_t)n;
			continue;
		}
		if (!BIO_should_retry(resp)) {
			if (n < 0) {
				(void)cc_seterr_ssl(CC_ERR_IO, "%s: reading the body", url);
				goto out;
			}
			break; /* end of the body: the server closes (HTTP/1.0, no keep-alive) */
		}
		if (BIO_wait(resp, deadline, 100) <= 0) {
			(void)cc_seterr_ssl(CC_ERR_IO, "%s: no whole body within %d s", url,
			                    timeout);
			goto out;
		}
	}
	if (got > MAX_CRL) {
		(void)cc_seterr(CC_ERR_LIMIT, "%s: larger than %d bytes", url, MAX_CRL);
		goto out;
	}
	if (got == 0 || (sk = cc_crl_read(buf, got)) == NULL)
		(void)cc_seterr(CC_ERR_PARSE, "%s: the %zu bytes served are no CRL (DER or PEM)",
		                url, got);
out:
	BIO_free_all(resp);
	free(buf);
	ERR_clear_error();
	return sk;
}

/*
 * LDAP: the certificateRevocationList attribute of the entry the URL names (RFC 4516), DER as
 * RFC 4523 has it, or PEM as for HTTP.
 */
static STACK_OF(X509_CRL) * fetch_ldap(const char *url, int timeout, char *err, size_t errlen)
{
	LDAPURLDesc *lud = NULL;
	LDAP *ld = NULL;
	LDAPMessage *res = NULL, *e;
	BerElement *ber = NULL;
	struct berval **vals = NULL, cred = {0, NULL};
	struct timeval tv = {timeout, 0};
	char *uri = NULL, *attr;
	char *attrs[] = {"certificateRevocationList;binary", "certificateRevocationList", NULL};
	STACK_OF(X509_CRL) *crl = NULL;
	int rc, version = LDAP_VERSION3;

	if ((rc = ldap_url_parse(url, &lud)) != LDAP_URL_SUCCESS) {
		snprintf(err, errlen, "bad LDAP URL (code %d)", rc);
		goto out;
	}
	if ((uri = cc_aprintf("%s://%s:%d", lud->lud_scheme, lud->lud_host ? lud->lud_host : "",
	                      lud->lud_port)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if ((rc = ldap_initialize(&ld, uri)) != LDAP_SUCCESS) {
		snprintf(err, errlen, "%s", ldap_err2string(rc));
		goto out;
	}
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
	ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
	ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
	if (strncasecmp(url, "ldaps://", 8) == 0) {
		/*
		 * A CRL carries its issuer's signature, which cc_crl_unusable() checks: the channel
		 * needs no trust of its own (RFC 5280 section 5), and a CA's directory often has
		 * a certificate from that very CA, not yet trusted here.
		 */
		int allow = LDAP_OPT_X_TLS_ALLOW, newctx = 0;

		ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &allow);
		ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &newctx);
	}
	/* Anonymous: CRLs are public (RFC 4523 section 2.2). */
	if ((rc = ldap_sasl_bind_s(ld, NULL, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL)) !=
	    LDAP_SUCCESS) {
		snprintf(err, errlen, "bind: %s", ldap_err2string(rc));
		goto out;
	}
	if ((rc = ldap_search_ext_s(ld, lud->lud_dn ? lud->lud_dn : "", LDAP_SCOPE_BASE,
	                            "(objectClass=*)", lud->lud_attrs ? lud->lud_attrs : attrs, 0,
	                            NULL, NULL, &tv, 1, &res)) != LDAP_SUCCESS) {
		snprintf(err, errlen, "search: %s", ldap_err2string(rc));
		goto out;
	}
	if ((e = ldap_first_entry(ld, res)) == NULL) {
		snprintf(err, errlen, "no entry %s", lud->lud_dn ? lud->lud_dn : "");
		goto out;
	}
	for (attr = ldap_first_attribute(ld, e, &ber); attr != NULL && crl == NULL;
	     attr = ldap_next_attribute(ld, e, ber)) {
		if (strncasecmp(attr, "certificateRevocationList", 25) == 0 &&
		    (vals = ldap_get_values_len(ld, e, attr)) != NULL && vals[0] != NULL) {
			crl = cc_crl_read((const unsigned char *)vals[0]->bv_val,
			                  (size_t)vals[0]->bv_len);
			ldap_value_free_len(vals);
			vals = NULL;
		}
		ldap_memfree(attr);
	}
	if (crl == NULL)
		snprintf(err, errlen, "no certificateRevocationList in %s",
		         lud->lud_dn ? lud->lud_dn : "");
out:
	if (ber != NULL)
		ber_free(ber, 0);
	if (res != NULL)
		ldap_msgfree(res);
	if (ld != NULL)
		ldap_unbind_ext_s(ld, NULL, NULL);
	if (lud != NULL)
		ldap_free_urldesc(lud);
	free(uri);
	return crl;
}

/* Keeps a fetched CRL in crl/fetched-SHA1(URL).crl (DER) until its nextUpdate. */
static void
cache_crl(struct cc_store *s, const char *url, X509_CRL *crl)
{
	unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned int mdlen = 0, i;
	char hex[2 * EVP_MAX_MD_SIZE + 1], *name = NULL;
	struct cc_dir cd = {-1, NULL};
	int len;

	if (EVP_Digest(url, strlen(url), md, &mdlen, EVP_sha1(), NULL) != 1) {
		ERR_clear_error();
		return;
	}
	for (i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02X", md[i]);
	if ((len = i2d_X509_CRL(crl, &der)) <= 0) {
		ERR_clear_error();
		return;
	}
	/* A cache that cannot be written (crl/ missing, a link, ...) only costs a fetch next time.
	 */
	if ((name = cc_aprintf("fetched-%s.crl", hex)) != NULL &&
	    cc_store_dir(s, "crl", &cd) == CC_OK &&
	    cc_file_write_atomic_at(cd.fd, cd.path, name, der, (size_t)len, 0644) != CC_OK)
		ERR_clear_error();
	cc_dir_close(&cd);
	free(name);
	OPENSSL_free(der);
}

void
cc_crl_memo_clear(struct crl_memo *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++) {
		free(m->urls[i]);
		free(m->errors[i]);
	}
	free(m->urls);
	free(m->errors);
	memset(m, 0, sizeof(*m));
}

static const char *
memo_find(const struct crl_memo *m, const char *url)
{
	size_t i;

	for (i = 0; m != NULL && i < m->n; i++)
		if (strcmp(m->urls[i], url) == 0)
			return m->errors[i];
	return NULL;
}

/* Remembering is best effort: without memory the next certificate simply tries again. */
static void
memo_add(struct crl_memo *m, const char *url, const char *err)
{
	char **nu, **ne;

	if (m == NULL)
		return;
	if ((nu = realloc(m->urls, (m->n + 1) * sizeof(*nu))) == NULL)
		return;
	m->urls = nu;
	if ((ne = realloc(m->errors, (m->n + 1) * sizeof(*ne))) == NULL)
		return;
	m->errors = ne;
	nu[m->n] = strdup(url);
	ne[m->n] = strdup(err);
	if (nu[m->n] == NULL || ne[m->n] == NULL) {
		free(nu[m->n]);
		free(ne[m->n]);
		return;
	}
	m->n++;
}

void
cc_crl_urls_free(char **urls)
{
	size_t i;

	for (i = 0; urls != NULL && urls[i] != NULL; i++)
		free(urls[i]);
	free(urls);
}

enum cc_err
cc_crl_urls(X509 *subject, char ***out)
{
	STACK_OF(DIST_POINT) * dps;
	GENERAL_NAMES *names;
	GENERAL_NAME *g;
	char **urls, **nu;
	size_t n = 0;
	int i, j, len;

	*out = NULL;
	if ((urls = calloc(1, sizeof(*urls))) == NULL)
		return cc_seterr(CC_ERR_NOMEM, "CRL distribution points");
	dps = X509_get_ext_d2i(subject, NID_crl_distribution_points, NULL, NULL);
	ERR_clear_error();
	for (i = 0; dps != NULL && i < sk_DIST_POINT_num(dps); i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(dps, i);

		if (dp->distpoint == NULL || dp->distpoint->type != 0)
			continue; /* only full names (URIs) can be fetched */
		names = dp->distpoint->name.fullname;
		for (j = 0; j < sk_GENERAL_NAME_num(names); j++) {
			g = sk_GENERAL_NAME_value(names, j);
			if (g->type != GEN_URI)
				continue;
			len = ASN1_STRING_length(g->d.uniformResourceIdentifier);
			/* A NUL inside would make the URL fetched another than the one signed. */
			if (len <= 0 ||
			    memchr(ASN1_STRING_get0_data(g->d.uniformResourceIdentifier), '\0',
			           (size_t)len) != NULL)
				continue;
			if ((nu = realloc(urls, (n + 2) * sizeof(*urls))) == NULL)
				goto nomem;
			urls = nu;
			urls[n + 1] = NULL;
			if ((urls[n] = strndup((const char *)ASN1_STRING_get0_data(
			                               g->d.uniformResourceIdentifier),
			                       (size_t)len)) == NULL)
				goto nomem;
			n++;
		}
	}
	CRL_DIST_POINTS_free(dps);
	*out = urls;
	return CC_OK;
nomem:
	CRL_DIST_POINTS_free(dps);
	cc_crl_urls_free(urls);
	return cc_seterr(CC_ERR_NOMEM, "CRL distribution points");
}

/* cc_crl_lookup, and with `folder` false cc_crl_fetch: the distribution points only. */
static enum cc_err
find(struct cc_store *s, X509 *subject, X509 *issuer, const struct cc_verify_opts *o, time_t now,
     struct crl_memo *memo, bool folder, struct crl_lookup *l)
{
	char **urls = NULL;
	char *refused = NULL, *errs = NULL, *next;
	char err[512];
	STACK_OF(X509_CRL) *sk = NULL;
	X509_CRL *crl;
	const char *why, *url;
	int i, j, timeout = o->timeout > 0 ? o->timeout : DEFAULT_TIMEOUT;
	bool http;
	enum cc_err r;

	memset(l, 0, sizeof(*l));
	if (folder && ((r = from_folder(s, issuer, now, l, &refused)) != CC_OK || l->crl != NULL))
		goto out;
	if ((errs = strdup(refused ? refused : "")) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "CRL lookup");
		goto out;
	}
	if ((r = cc_crl_urls(subject, &urls)) != CC_OK)
		goto out;
	for (i = 0; urls[i] != NULL && l->crl == NULL; i++) {
		url = urls[i];
		http = strncasecmp(url, "http://", 7) == 0;
		err[0] = '\0';
		crl = NULL;
		if (memo_find(memo, url) != NULL) {
			snprintf(err, sizeof(err), "%s", memo_find(memo, url));
		} else if (o->offline) {
			snprintf(err, sizeof(err), "%s: not fetched (offline)", url);
		} else if (http) {
			if ((sk = fetch_http(url, o, timeout)) == NULL)
				snprintf(err, sizeof(err), "%s", cc_errdetail());
		} else if (strncasecmp(url, "ldap://", 7) == 0 ||
		           strncasecmp(url, "ldaps://", 8) == 0) {
			char lerr[256];

			lerr[0] = '\0';
			if ((sk = fetch_ldap(url, timeout, lerr, sizeof(lerr))) == NULL)
				snprintf(err, sizeof(err), "%s: %s", url, lerr);
		} else {
			snprintf(err, sizeof(err), "%s: scheme not supported", url);
		}
		/* The first usable CRL served; else the first one's reason. */
		for (j = 0; sk != NULL && j < sk_X509_CRL_num(sk) && crl == NULL; j++) {
			why = cc_crl_unusable(sk_X509_CRL_value(sk, j), issuer, now);
			if (why == NULL)
				crl = sk_X509_CRL_delete(sk, j);
			else if (j == 0)
				snprintf(err, sizeof(err), "%s: fetched CRL is %s", url, why);
		}
		sk_X509_CRL_pop_free(sk, X509_CRL_free);
		sk = NULL;
		if (crl != NULL) {
			cache_crl(s, url, crl);
			if ((r = take(l, crl, http ? CC_CRL_HTTP : CC_CRL_LDAP, url)) != CC_OK)
				goto out;
			continue;
		}
		if (memo_find(memo, url) == NULL)
			memo_add(memo, url, err);
		next = cc_aprintf("%s%s%s", errs, *errs ? "; " : "", err);
		if (next == NULL) {
			r = cc_seterr(CC_ERR_NOMEM, "CRL lookup");
			goto out;
		}
		free(errs);
		errs = next;
	}
	if (l->crl == NULL) {
		if (*errs == '\0') {
			free(errs);
			errs = strdup(folder ? "no CRL in the store and no CRL distribution point "
			                       "to fetch one"
			                     : "no CRL distribution point to fetch one from");
		}
		if ((r = set_str(&l->error, errs)) != CC_OK ||
		    (r = set_str(&l->location, "")) != CC_OK)
			goto out;
		if (l->issuer == NULL &&
		    (l->issuer = name_text(X509_get_subject_name(issuer))) == NULL) {
			r = cc_seterr(CC_ERR_NOMEM, "CRL issuer");
			goto out;
		}
	}
	r = CC_OK;
out:
	cc_crl_urls_free(urls);
	free(refused);
	free(errs);
	return r;
}

enum cc_err
cc_crl_lookup(struct cc_store *s, X509 *subject, X509 *issuer, const struct cc_verify_opts *o,
              time_t now, struct crl_memo *memo, struct crl_lookup *l)
{
	return find(s, subject, issuer, o, now, memo, true, l);
}

void
cc_crl_fetch_result_clear(struct cc_crl_fetch_result *r)
{
	if (r == NULL)
		return;
	free(r->url);
	free(r->issuer);
	free(r->error);
	memset(r, 0, sizeof(*r));
}

enum cc_err
cc_crl_fetch(struct cc_store *s, X509 *subject, X509 *issuer, const struct cc_verify_opts *opts,
             struct cc_crl_fetch_result *out)
{
	struct cc_verify_opts dflt;
	struct crl_lookup l;
	enum cc_err r;

	memset(out, 0, sizeof(*out));
	memset(&dflt, 0, sizeof(dflt));
	if (opts == NULL)
		opts = &dflt;
	if ((r = find(s, subject, issuer, opts, opts->now ? opts->now : time(NULL), NULL, false,
	              &l)) != CC_OK)
		goto out;
	/* The lookup's strings are handed over: nothing to copy, nothing to fail. */
	out->ok = l.crl != NULL;
	out->source = l.crl != NULL ? l.source : CC_CRL_NONE;
	out->url = l.location;
	out->issuer = l.issuer;
	out->error = l.error;
	out->this_update = l.this_update;
	out->next_update = l.next_update;
	l.location = l.issuer = l.error = NULL;
	r = CC_OK;
out:
	cc_crl_lookup_clear(&l);
	return r;
}
