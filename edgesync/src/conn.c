/*
 * LDAP connections with libldap: PKI-checked (the source) or key-pinned (edges, direct trust).
 *
 * Every handle gets its own TLS context (options set on the handle, then LDAP_OPT_X_TLS_NEWCTX),
 * so a pin set for one edge never leaks into another connection of the process.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include "edgesync/conn.h"
#include "edgesync/progress.h"
#include "internal.h"

struct es_conn {
	LDAP *ld;
	char *url;
	int timeout;
	struct es_progress *progress; /* borrowed; may be NULL */
};

LDAP *
es_conn_ld(const struct es_conn *c)
{
	return c->ld;
}

void
es_conn_set_progress(struct es_conn *c, struct es_progress *p)
{
	c->progress = p;
}

struct es_progress *
es_conn_progress(const struct es_conn *c)
{
	return c->progress;
}

const char *
es_conn_url(const struct es_conn *c)
{
	return c->url;
}

int
es_conn_timeout(const struct es_conn *c)
{
	return c->timeout;
}

void
es_conn_close(struct es_conn *c)
{
	if (c == NULL)
		return;
	if (c->ld != NULL)
		ldap_unbind_ext(c->ld, NULL, NULL);
	free(c->url);
	free(c);
}

enum scheme { SCHEME_LDAPS, SCHEME_LDAP, SCHEME_LDAPI };

static enum es_err
url_scheme(const char *url, enum scheme *out)
{
	LDAPURLDesc *u = NULL;
	enum es_err r = ES_OK;

	if (url == NULL || ldap_url_parse(url, &u) != LDAP_URL_SUCCESS)
		return es_seterr(ES_ERR_INVAL, "\"%s\" is not an LDAP URL", url ? url : "");
	if (strcasecmp(u->lud_scheme, "ldaps") == 0)
		*out = SCHEME_LDAPS;
	else if (strcasecmp(u->lud_scheme, "ldap") == 0)
		*out = SCHEME_LDAP;
	else if (strcasecmp(u->lud_scheme, "ldapi") == 0)
		*out = SCHEME_LDAPI;
	else
		r = es_seterr(ES_ERR_INVAL, "%s: scheme %s is not ldaps, ldap or ldapi", url,
		              u->lud_scheme);
	ldap_free_urldesc(u);
	return r;
}

/*
 * The client certificate and key of `o`, in memory, as DER (tls_g.c: gnutls_x509_crt_list_import
 * and gnutls_x509_privkey_import of LDAP_OPT_X_TLS_CERT / LDAP_OPT_X_TLS_KEY): no file is
 * written or read for them. Our DER copy of the key is wiped here.
 */
static enum es_err
set_client_cert(LDAP *ld, const struct es_conn_opts *o)
{
	enum es_err r = ES_ERR_CRYPTO;
	unsigned char *cder = NULL, *kder = NULL;
	int clen, klen = 0;
	struct berval bv;

	if (o->client_key == NULL)
		return es_seterr(ES_ERR_INVAL, "%s: a client certificate without its key", o->url);
	if ((clen = i2d_X509(o->client_cert, &cder)) <= 0) {
		r = es_seterr_ssl(ES_ERR_CRYPTO, "%s: encoding the client certificate", o->url);
		goto out;
	}
	/* the traditional form (PKCS#1 for RSA, SEC1 for EC), which GnuTLS's DER import reads */
	if ((klen = i2d_PrivateKey(o->client_key, &kder)) <= 0) {
		r = es_seterr_ssl(ES_ERR_CRYPTO,
		                  "%s: the client certificate's private key cannot be exported to "
		                  "libldap",
		                  o->url);
		goto out;
	}
	bv.bv_val = (char *)cder;
	bv.bv_len = (ber_len_t)clen;
	if (ldap_set_option(ld, LDAP_OPT_X_TLS_CERT, &bv) != LDAP_OPT_SUCCESS) {
		r = es_seterr(ES_ERR_CONNECT, "%s: libldap refused the client certificate", o->url);
		goto out;
	}
	bv.bv_val = (char *)kder;
	bv.bv_len = (ber_len_t)klen;
	if (ldap_set_option(ld, LDAP_OPT_X_TLS_KEY, &bv) != LDAP_OPT_SUCCESS) {
		r = es_seterr(ES_ERR_CONNECT, "%s: libldap refused the client key", o->url);
		goto out;
	}
	r = ES_OK;
out:
	OPENSSL_free(cder);
	if (kder != NULL)
		OPENSSL_clear_free(kder, (size_t)klen);
	return r;
}

/*
 * One handle, connected. `pin` NULL with `pinned` true: TLS that accepts any certificate (the
 * probe that reads what an edge presents; it is never bound). `pin` NULL and `pinned` false: the
 * PKI check.
 */
static enum es_err
attempt(const struct es_conn_opts *o, bool pinned, const struct es_pin *pin, LDAP **out)
{
	enum es_err r = ES_ERR_CONNECT;
	LDAP *ld = NULL;
	enum scheme sch = SCHEME_LDAPS;
	int v = LDAP_VERSION3, rc, req, zero = 0, min = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
	int timeout = o->timeout > 0 ? o->timeout : 30;
	struct timeval tv = {timeout, 0};
	char pintext[ES_PIN_TEXT_LEN + 1];

	*out = NULL;
	if ((r = url_scheme(o->url, &sch)) != ES_OK)
		return r;
	if ((rc = ldap_initialize(&ld, o->url)) != LDAP_SUCCESS) {
		r = es_seterr_ldap(ES_ERR_INVAL, NULL, rc, "%s", o->url);
		goto out;
	}
	if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_RESTART, LDAP_OPT_ON) != LDAP_OPT_SUCCESS) {
		r = es_seterr(ES_ERR_CONNECT, "%s: setting connection options", o->url);
		goto out;
	}
	if (sch != SCHEME_LDAPI) {
		/* with a pin the key is the trust: chains and host names are not checked (ALLOW
		 * still makes GnuTLS demand a certificate, which the pin check needs) */
		req = pinned ? LDAP_OPT_X_TLS_ALLOW : LDAP_OPT_X_TLS_DEMAND;
		if (ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &req) != LDAP_OPT_SUCCESS ||
		    ldap_set_option(ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &min) != LDAP_OPT_SUCCESS) {
			r = es_seterr(ES_ERR_CONNECT, "%s: setting TLS options", o->url);
			goto out;
		}
		if (pin != NULL &&
		    ldap_set_option(ld, LDAP_OPT_X_TLS_PEERKEY_HASH, es_pin_format(pin, pintext)) !=
		            LDAP_OPT_SUCCESS) {
			r = es_seterr(ES_ERR_CONNECT, "%s: libldap refused the key pin", o->url);
			goto out;
		}
		if (!pinned && o->ca_file != NULL &&
		    ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, o->ca_file) !=
		            LDAP_OPT_SUCCESS) {
			r = es_seterr(ES_ERR_CONNECT, "%s: CA file %s", o->url, o->ca_file);
			goto out;
		}
		if (!pinned && o->client_cert != NULL && (r = set_client_cert(ld, o)) != ES_OK)
			goto out;
		rc = ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero);
		if (!pinned && o->client_cert != NULL) {
			/* the context holds the key now (tls_g.c imports it at NEWCTX); libldap's
			 * copy of the DER goes (it frees it without wiping: nothing we can do) */
			(void)ldap_set_option(ld, LDAP_OPT_X_TLS_KEY, NULL);
			(void)ldap_set_option(ld, LDAP_OPT_X_TLS_CERT, NULL);
		}
		if (rc != LDAP_OPT_SUCCESS) {
			r = es_seterr_ldap(ES_ERR_CONNECT, ld, rc, "%s: TLS context%s", o->url,
			                   o->client_cert != NULL && !pinned
			                           ? " (with the client certificate)"
			                           : "");
			goto out;
		}
	}
	if (sch == SCHEME_LDAP)
		rc = ldap_start_tls_s(ld, NULL, NULL);
	else
		rc = ldap_connect(ld);
	if (rc != LDAP_SUCCESS) {
		r = es_seterr_ldap(ES_ERR_CONNECT, ld, rc, "%s%s", o->url,
		                   sch == SCHEME_LDAP ? " (StartTLS)" : "");
		goto out;
	}
	*out = ld;
	ld = NULL;
	r = ES_OK;
out:
	if (ld != NULL)
		ldap_unbind_ext(ld, NULL, NULL);
	return r;
}

/* Connects without a pin and reads the key the server presents; the handle is never bound. */
static enum es_err
probe(const struct es_conn_opts *o, struct es_pin *presented)
{
	enum es_err r;
	LDAP *ld = NULL;
	struct berval der = {0, NULL};
	int rc;

	if ((r = attempt(o, true, NULL, &ld)) != ES_OK)
		return r;
	rc = ldap_get_option(ld, LDAP_OPT_X_TLS_PEERCERT, &der);
	if (rc != LDAP_OPT_SUCCESS || der.bv_val == NULL) {
		r = es_seterr(ES_ERR_CONNECT, "%s: no peer certificate", o->url);
		goto out;
	}
	r = es_pin_from_der((const unsigned char *)der.bv_val, der.bv_len, presented);
out:
	ber_memfree(der.bv_val);
	/* ldap_destroy closes without an Unbind request: the edge sees a handshake, nothing more */
	ldap_destroy(ld);
	return r;
}

enum es_err
es_conn_open(const struct es_conn_opts *o, struct es_conn **out, struct es_pin *presented,
             bool *have_presented)
{
	enum es_err r = ES_ERR_CONNECT;
	struct es_conn *c = NULL;
	struct es_pin seen;
	LDAP *ld = NULL;
	char first[1024] = "";
	size_t i;

	*out = NULL;
	if (have_presented != NULL)
		*have_presented = false;
	if (o->npins == 0) {
		if ((r = attempt(o, false, NULL, &ld)) != ES_OK)
			goto out;
	} else {
		/* Fail closed: the state is a mismatch until a pinned key is seen. libldap takes
		 * one pin per handle, so each pinned key gets its own handshake. */
		r = ES_ERR_PIN_MISMATCH;
		for (i = 0; i < o->npins && ld == NULL; i++) {
			if (attempt(o, true, &o->pins[i], &ld) != ES_OK && first[0] == '\0')
				snprintf(first, sizeof(first), "%s", es_errdetail());
		}
		if (ld == NULL) {
			if ((r = probe(o, &seen)) != ES_OK) {
				/* not even an unpinned handshake: the edge is down or not TLS */
				r = es_seterr(ES_ERR_CONNECT, "%s",
				              first[0] ? first : es_errdetail());
				goto out;
			}
			for (i = 0; i < o->npins; i++)
				if (es_pin_equal(&seen, &o->pins[i]))
					break;
			if (i < o->npins) {
				r = es_seterr(
				        ES_ERR_CONNECT,
				        "%s: the edge presented a pinned key only on the second "
				        "connection (did it just switch certificates?): %s",
				        o->url, first);
				goto out;
			}
			if (presented != NULL)
				*presented = seen;
			if (have_presented != NULL)
				*have_presented = true;
			r = es_seterr(ES_ERR_PIN_MISMATCH,
			              "%s presents a key that matches none of the %zu pinned "
			              "certificates",
			              o->url, o->npins);
			goto out;
		}
	}
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->url = strdup(o->url)) == NULL) {
		r = es_seterr(ES_ERR_NOMEM, "connection");
		goto out;
	}
	c->ld = ld;
	ld = NULL;
	c->timeout = o->timeout > 0 ? o->timeout : 30;
	*out = c;
	c = NULL;
	r = ES_OK;
out:
	if (ld != NULL)
		ldap_unbind_ext(ld, NULL, NULL);
	es_conn_close(c);
	return r;
}

static struct timeval
tv_of(const struct es_conn *c)
{
	struct timeval tv = {c->timeout, 0};

	return tv;
}

/*
 * Whether a response control carries a value. libldap's control parsers hand the value to
 * liblber's ber_init unchecked, and liblber 2.5 asserts on a NULL buffer: a response control
 * without a value (RFC 2696 and the password policy draft require one), from a broken or
 * hostile server, would abort edgesync.
 */
static bool
has_value(const LDAPControl *ctrl)
{
	return ctrl->ldctl_value.bv_val != NULL && ctrl->ldctl_value.bv_len > 0;
}

enum es_err
es_conn_bind(struct es_conn *c, const char *dn, const char *password)
{
	enum es_err r = ES_ERR_BIND;
	struct berval cred;
	LDAPControl *pp = NULL, *sctrls[2] = {NULL, NULL}, **rctrls = NULL;
	LDAPMessage *res = NULL;
	struct timeval tv = tv_of(c);
	int msgid, rc, err = LDAP_OTHER, i;
	ber_int_t expire = -1, grace = -1;
	LDAPPasswordPolicyError pperr = PP_noError;
	char *diag = NULL;

	cred.bv_val = (char *)password;
	cred.bv_len = strlen(password);
	if (ldap_create_passwordpolicy_control(c->ld, &pp) == LDAP_SUCCESS)
		sctrls[0] = pp;
	rc = ldap_sasl_bind(c->ld, dn, LDAP_SASL_SIMPLE, &cred, sctrls, NULL, &msgid);
	if (rc != LDAP_SUCCESS) {
		r = es_seterr_ldap(rc == LDAP_SERVER_DOWN ? ES_ERR_CONNECT : ES_ERR_BIND, c->ld, rc,
		                   "bind as %s", dn);
		goto out;
	}
	rc = ldap_result(c->ld, msgid, LDAP_MSG_ALL, &tv, &res);
	if (rc <= 0) {
		ldap_get_option(c->ld, LDAP_OPT_RESULT_CODE, &err);
		r = es_seterr_ldap(ES_ERR_CONNECT, c->ld, rc == 0 ? LDAP_TIMEOUT : err,
		                   "bind as %s", dn);
		goto out;
	}
	rc = ldap_parse_result(c->ld, res, &err, NULL, &diag, NULL, &rctrls, 0);
	if (rc != LDAP_SUCCESS) {
		r = es_seterr_ldap(ES_ERR_BIND, c->ld, rc, "bind as %s", dn);
		goto out;
	}
	for (i = 0; rctrls != NULL && rctrls[i] != NULL; i++)
		if (strcmp(rctrls[i]->ldctl_oid, LDAP_CONTROL_PASSWORDPOLICYRESPONSE) == 0 &&
		    has_value(rctrls[i]))
			(void)ldap_parse_passwordpolicy_control(c->ld, rctrls[i], &expire, &grace,
			                                        &pperr);
	if (err != LDAP_SUCCESS) {
		if (pperr != PP_noError)
			r = es_seterr(ES_ERR_BIND, "bind as %s: %s: %s", dn, ldap_err2string(err),
			              ldap_passwordpolicy_err2txt(pperr));
		else
			r = es_seterr(ES_ERR_BIND, "bind as %s: %s%s%s", dn, ldap_err2string(err),
			              diag && *diag ? ": " : "", diag ? diag : "");
		goto out;
	}
	r = ES_OK;
out:
	ldap_memfree(diag);
	ldap_controls_free(rctrls);
	ldap_msgfree(res);
	if (pp != NULL)
		ldap_control_free(pp);
	return r;
}

static enum es_err root_dse_values(struct es_conn *c, const char *attr, struct berval ***vals);

/* "GSS-SPNEGO GSSAPI NTLM" (owned; "" when the root DSE lists none), or NULL when the root DSE
 * could not be read. */
static char *
sasl_mechanisms(struct es_conn *c)
{
	struct berval **v = NULL;
	size_t i, n = 1;
	char *out, *p;

	if (root_dse_values(c, "supportedSASLMechanisms", &v) != ES_OK)
		return NULL;
	for (i = 0; v != NULL && v[i] != NULL; i++)
		n += v[i]->bv_len + 1;
	if ((out = p = calloc(1, n)) != NULL) {
		for (i = 0; v != NULL && v[i] != NULL; i++) {
			if (i > 0)
				*p++ = ' ';
			memcpy(p, v[i]->bv_val, v[i]->bv_len);
			p += v[i]->bv_len;
		}
		*p = '\0';
	}
	ldap_value_free_len(v);
	return out;
}

enum es_err
es_conn_bind_external(struct es_conn *c)
{
	char why[1024], *mechs = NULL;
	enum es_err r;
	/* an empty initial response (RFC 4422 appendix A: no authorization identity, so the one
	 * the server derives from the transport is used); without one, Cyrus SASL in slapd answers
	 * saslBindInProgress with an empty challenge */
	struct berval none = {0, ""};
	int rc = ldap_sasl_bind_s(c->ld, NULL, "EXTERNAL", &none, NULL, NULL, NULL);

	if (rc == LDAP_SUCCESS)
		return ES_OK;
	r = es_seterr_ldap(rc == LDAP_SERVER_DOWN ? ES_ERR_CONNECT : ES_ERR_BIND, c->ld, rc,
	                   "SASL EXTERNAL bind on %s", c->url);
	if (rc == LDAP_SERVER_DOWN) {
		/* TLS 1.3: a client certificate the server refuses surfaces only here, as the
		 * connection closed after the handshake */
		snprintf(why, sizeof(why), "%s", es_errdetail());
		return es_seterr(r,
		                 "%s (the server closed the connection: it may not have taken the "
		                 "client certificate)",
		                 why);
	}
	snprintf(why, sizeof(why), "%s", es_errdetail());
	/* an anonymous read of the root DSE, to say whether the server offers EXTERNAL at all */
	mechs = sasl_mechanisms(c);
	if (mechs != NULL && strstr(mechs, "EXTERNAL") == NULL)
		r = es_seterr(
		        r, "%s; the server does not offer EXTERNAL (supportedSASLMechanisms: %s)",
		        why, mechs[0] ? mechs : "none");
	else
		r = es_seterr(r, "%s", why);
	free(mechs);
	return r;
}

enum es_err
es_conn_whoami(struct es_conn *c, char **out)
{
	struct berval *id = NULL;
	int rc;

	*out = NULL;
	rc = ldap_whoami_s(c->ld, &id, NULL, NULL);
	if (rc != LDAP_SUCCESS)
		return es_seterr_ldap(ES_ERR_LDAP, c->ld, rc, "Who am I? on %s", c->url);
	*out = id != NULL && id->bv_val != NULL ? strndup(id->bv_val, id->bv_len) : strdup("");
	ber_bvfree(id);
	return *out == NULL ? es_seterr(ES_ERR_NOMEM, "identity") : ES_OK;
}

static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static enum es_err
search_failed(struct es_conn *c, int rc, const char *base, const char *filter)
{
	if (rc == LDAP_NO_SUCH_OBJECT)
		return es_seterr_ldap(ES_ERR_NOT_FOUND, c->ld, rc, "search %s", base);
	return es_seterr_ldap(rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT ? ES_ERR_CONNECT
	                                                                   : ES_ERR_LDAP,
	                      c->ld, rc, "search %s %s", base, filter ? filter : "");
}

/*
 * One page: the search with the paging control (the server's cookie, empty for the first) and
 * `extra` controls. *res is the page (entries and result); *next the cookie for the next page,
 * empty when the server has no more (or ignored the control). Owned by the caller.
 */
static enum es_err
one_page(struct es_conn *c, const char *base, int scope, const char *filter, char **attrs,
         LDAPControl **extra, ber_int_t size, struct berval *cookie, double seconds,
         LDAPMessage **res, struct berval *next)
{
	LDAPControl *page = NULL, *sctrls[8], **rctrls = NULL, *resp;
	struct timeval tv;
	enum es_err r = ES_ERR_LDAP;
	ber_int_t estimate = 0;
	int rc, err = LDAP_OTHER;
	size_t n = 0, i;

	*res = NULL;
	next->bv_val = NULL;
	next->bv_len = 0;
	if (seconds < 1)
		seconds = 1;
	tv.tv_sec = (time_t)seconds;
	tv.tv_usec = 0;
	/* not critical: a server without paging answers in one piece (RFC 2696 section 3) */
	if ((rc = ldap_create_page_control(c->ld, size, cookie, 0, &page)) != LDAP_SUCCESS)
		return es_seterr_ldap(ES_ERR_NOMEM, c->ld, rc, "paged results control");
	sctrls[n++] = page;
	for (i = 0; extra != NULL && extra[i] != NULL && n < ES_NELEM(sctrls) - 1; i++)
		sctrls[n++] = extra[i];
	sctrls[n] = NULL;
	rc = ldap_search_ext_s(c->ld, base, scope, filter, attrs, 0, sctrls, NULL, &tv,
	                       LDAP_NO_LIMIT, res);
	if (rc != LDAP_SUCCESS) {
		/* sizeLimitExceeded, timeLimitExceeded, a dropped connection...: the page, and
		 * with it the whole search, is incomplete */
		r = search_failed(c, rc, base, filter);
		goto out;
	}
	rc = ldap_parse_result(c->ld, *res, &err, NULL, NULL, NULL, &rctrls, 0);
	if (rc != LDAP_SUCCESS || err != LDAP_SUCCESS) {
		r = search_failed(c, rc != LDAP_SUCCESS ? rc : err, base, filter);
		goto out;
	}
	if ((resp = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, rctrls, NULL)) != NULL) {
		if (!has_value(resp)) {
			r = es_seterr(ES_ERR_SOURCE,
			              "search %s: paged results response control without a value",
			              base);
			goto out;
		}
		rc = ldap_parse_pageresponse_control(c->ld, resp, &estimate, next);
		if (rc != LDAP_SUCCESS) {
			r = es_seterr_ldap(ES_ERR_SOURCE, c->ld, rc,
			                   "search %s: paged results response", base);
			goto out;
		}
	}
	r = ES_OK;
out:
	ldap_controls_free(rctrls);
	ldap_control_free(page);
	if (r != ES_OK) {
		ldap_msgfree(*res);
		*res = NULL;
		ber_memfree(next->bv_val);
		next->bv_val = NULL;
		next->bv_len = 0;
	}
	return r;
}

/* A page of size 0 with the cookie: the server drops the rest of the search (RFC 2696 section
 * 3); a failure only leaves it to the server's own clean-up. */
static void
abandon_pages(struct es_conn *c, const char *base, int scope, const char *filter,
              struct berval *cookie)
{
	LDAPMessage *res = NULL;
	struct berval next = {0, NULL};
	char *attrs[] = {"1.1", NULL};

	if (one_page(c, base, scope, filter, attrs, NULL, 0, cookie, c->timeout, &res, &next) !=
	    ES_OK)
		return;
	ldap_msgfree(res);
	ber_memfree(next.bv_val);
}

enum es_err
es_conn_search(struct es_conn *c, const char *base, int scope, const char *filter, char **attrs,
               LDAPMessage **res)
{
	struct timeval tv = {c->timeout, 0};
	struct berval next = {0, NULL};
	enum es_err r;
	int rc;

	*res = NULL;
	if (scope == LDAP_SCOPE_BASE) {
		/* one entry at most: nothing a size limit could cut */
		rc = ldap_search_ext_s(c->ld, base, scope, filter, attrs, 0, NULL, NULL, &tv,
		                       LDAP_NO_LIMIT, res);
		if (rc == LDAP_SUCCESS)
			return ES_OK;
		ldap_msgfree(*res);
		*res = NULL;
		return search_failed(c, rc, base, filter);
	}
	if ((r = one_page(c, base, scope, filter, attrs, NULL, ES_CONN_PAGE_SIZE, NULL, c->timeout,
	                  res, &next)) != ES_OK)
		return r;
	if (next.bv_len > 0) {
		abandon_pages(c, base, scope, filter, &next);
		ber_memfree(next.bv_val);
		ldap_msgfree(*res);
		*res = NULL;
		return es_seterr(ES_ERR_LDAP, "search %s %s: more than %d entries", base,
		                 filter ? filter : "", ES_CONN_PAGE_SIZE);
	}
	ber_memfree(next.bv_val);
	return ES_OK;
}

enum es_err
es_conn_search_each(struct es_conn *c, const char *base, int scope, const char *filter,
                    char **attrs, LDAPControl **ctrls, es_conn_entry_fn fn, void *arg)
{
	LDAPMessage *res = NULL, *m;
	struct berval cookie = {0, NULL}, next = {0, NULL};
	double deadline = mono_now() + (double)c->timeout * ES_CONN_CONTENT_FACTOR, left;
	enum es_err r;

	for (;;) {
		left = deadline - mono_now();
		if (left <= 0) {
			r = es_seterr(ES_ERR_CONNECT,
			              "search %s %s: no complete answer within %d s", base,
			              filter ? filter : "", c->timeout * ES_CONN_CONTENT_FACTOR);
			goto out;
		}
		if ((r = one_page(c, base, scope, filter, attrs, ctrls, ES_CONN_PAGE_SIZE,
		                  cookie.bv_len > 0 ? &cookie : NULL, left, &res, &next)) != ES_OK)
			goto out;
		for (m = ldap_first_entry(c->ld, res); m != NULL; m = ldap_next_entry(c->ld, m)) {
			if ((r = fn(c->ld, m, arg)) != ES_OK)
				goto out;
			es_progress_read(c->progress, 1);
		}
		ldap_msgfree(res);
		res = NULL;
		ber_memfree(cookie.bv_val);
		cookie = next;
		next.bv_val = NULL;
		next.bv_len = 0;
		if (cookie.bv_len == 0)
			break;
	}
	r = ES_OK;
out:
	/* stopped between pages (the callback failed): the server may drop the rest */
	if (r != ES_OK && next.bv_len > 0)
		abandon_pages(c, base, scope, filter, &next);
	ldap_msgfree(res);
	ber_memfree(cookie.bv_val);
	ber_memfree(next.bv_val);
	return r;
}

static enum es_err
op_result(struct es_conn *c, int rc, const char *what, const char *dn, int *rc_out)
{
	if (rc_out != NULL)
		*rc_out = rc;
	if (rc == LDAP_SUCCESS)
		return ES_OK;
	return es_seterr_ldap(rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT ? ES_ERR_CONNECT
	                                                                   : ES_ERR_LDAP,
	                      c->ld, rc, "%s %s", what, dn);
}

enum es_err
es_conn_modify(struct es_conn *c, const char *dn, LDAPMod **mods, int *rc)
{
	return op_result(c, ldap_modify_ext_s(c->ld, dn, mods, NULL, NULL), "modify", dn, rc);
}

enum es_err
es_conn_add(struct es_conn *c, const char *dn, LDAPMod **mods, int *rc)
{
	return op_result(c, ldap_add_ext_s(c->ld, dn, mods, NULL, NULL), "add", dn, rc);
}

enum es_err
es_conn_delete(struct es_conn *c, const char *dn, int *rc)
{
	return op_result(c, ldap_delete_ext_s(c->ld, dn, NULL, NULL), "delete", dn, rc);
}

static enum es_err
root_dse_values(struct es_conn *c, const char *attr, struct berval ***vals)
{
	char *attrs[] = {(char *)attr, NULL};
	LDAPMessage *res = NULL, *e;
	enum es_err r;

	*vals = NULL;
	if ((r = es_conn_search(c, "", LDAP_SCOPE_BASE, "(objectClass=*)", attrs, &res)) != ES_OK)
		return r;
	if ((e = ldap_first_entry(c->ld, res)) != NULL)
		*vals = ldap_get_values_len(c->ld, e, attr);
	ldap_msgfree(res);
	return ES_OK;
}

enum es_err
es_conn_naming_context(struct es_conn *c, char **out)
{
	struct berval **v = NULL;
	enum es_err r;

	*out = NULL;
	if ((r = root_dse_values(c, "namingContexts", &v)) != ES_OK)
		return r;
	if (v == NULL || v[0] == NULL) {
		ldap_value_free_len(v);
		return es_seterr(ES_ERR_NOT_FOUND, "%s names no namingContexts; set [source] base",
		                 c->url);
	}
	*out = strndup(v[0]->bv_val, v[0]->bv_len);
	ldap_value_free_len(v);
	return *out == NULL ? es_seterr(ES_ERR_NOMEM, "naming context") : ES_OK;
}

enum es_err
es_conn_supports_control(struct es_conn *c, const char *oid, bool *out)
{
	struct berval **v = NULL;
	enum es_err r;
	size_t i;

	*out = false;
	if ((r = root_dse_values(c, "supportedControl", &v)) != ES_OK)
		return r;
	for (i = 0; v != NULL && v[i] != NULL; i++)
		if (v[i]->bv_len == strlen(oid) && memcmp(v[i]->bv_val, oid, v[i]->bv_len) == 0)
			*out = true;
	ldap_value_free_len(v);
	return ES_OK;
}

enum es_err
es_conn_supports_sync(struct es_conn *c, bool *out)
{
	return es_conn_supports_control(c, LDAP_CONTROL_SYNC, out);
}
