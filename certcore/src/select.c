/* Eligibility for TLS and the selection rules (certcore/select.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/x509v3.h>

#include "certcore/format.h"
#include "certcore/selfsigned.h"
#include "certcore/select.h"
#include "internal.h"

#define MIN_RSA_BITS 1024

struct rejected {
	struct cc_cert *c;
	char *reason;
};

struct cc_selection {
	enum cc_service service;
	char *fqdn;
	time_t now;
	struct cc_cert **cand;
	size_t ncand;
	struct rejected *rej;
	size_t nrej;
};

void
cc_selection_free(struct cc_selection *sel)
{
	size_t i;

	if (sel == NULL)
		return;
	for (i = 0; i < sel->ncand; i++)
		cc_cert_free(sel->cand[i]);
	for (i = 0; i < sel->nrej; i++) {
		cc_cert_free(sel->rej[i].c);
		free(sel->rej[i].reason);
	}
	free(sel->rej);
	free(sel->cand);
	free(sel->fqdn);
	free(sel);
}

/* The store's own word on this certificate's key file, when loading it failed. */
static const char *
key_problem(const struct cc_store *s, const struct cc_cert *c)
{
	char suffix[CC_THUMB_LEN + 16];
	size_t i, n, sl;
	const char *p;

	snprintf(suffix, sizeof(suffix), "/keys/%s.key", cc_cert_thumbprint(c));
	sl = strlen(suffix);
	for (i = 0; i < cc_store_problem_count(s); i++) {
		p = cc_store_problem_path(s, i);
		n = strlen(p);
		if (n >= sl && strcmp(p + n - sl, suffix) == 0)
			return cc_store_problem_reason(s, i);
	}
	return NULL;
}

const char *
cc_cert_unusable_reason(const struct cc_store *s, const struct cc_cert *c, char *buf, size_t len)
{
	X509 *x = cc_cert_x509(c);
	const char *kp;

	/* EKU: serverAuth, or no EKU at all (any purpose), as Exchange and RFC 5280 4.2.1.12. */
	if ((X509_get_extension_flags(x) & EXFLAG_XKUSAGE) &&
	    !(X509_get_extended_key_usage(x) & XKU_SSL_SERVER)) {
		snprintf(buf, len, "extended key usage lacks serverAuth");
		return buf;
	}
	if (strcmp(cc_cert_key_algorithm(c), "RSA") == 0) {
		if (cc_cert_key_bits(c) < MIN_RSA_BITS) {
			snprintf(buf, len, "RSA key of %d bits (at least %d needed)",
			         cc_cert_key_bits(c), MIN_RSA_BITS);
			return buf;
		}
	} else if (strcmp(cc_cert_key_algorithm(c), "EC") != 0) {
		snprintf(buf, len, "%s keys are not used for TLS here", cc_cert_key_algorithm(c));
		return buf;
	}
	if (!cc_cert_has_private_key(c)) {
		kp = key_problem(s, c);
		snprintf(buf, len, "no usable private key%s%s", kp ? ": " : "", kp ? kp : "");
		return buf;
	}
	return NULL;
}

const char *
cc_cert_ineligible_reason(const struct cc_store *s, const struct cc_cert *c, char *buf, size_t len)
{
	const char *why = NULL;
	enum cc_status st;

	if (cc_cert_unusable_reason(s, c, buf, len) != NULL)
		return buf;
	st = cc_cert_status(c, 0, &why);
	if (st != CC_STATUS_VALID) {
		snprintf(buf, len, "status %s%s%s", cc_status_name(st), why && *why ? ": " : "",
		         why ? why : "");
		return buf;
	}
	return NULL;
}

/* The orders of the README ("certctl": select); qsort_r comparator over candidates, `arg` the
 * service. */
static int
cmp_candidates(const void *a, const void *b, void *arg)
{
	enum cc_service service = *(const enum cc_service *)arg;
	const struct cc_cert *x = *(struct cc_cert *const *)a, *y = *(struct cc_cert *const *)b;
	bool xs = cc_cert_is_self_signed(x), ys = cc_cert_is_self_signed(y);
	time_t tx, ty;

	if (xs != ys)
		return xs ? 1 : -1; /* CA-issued first */
	if (service == CC_SVC_UM) {
		tx = cc_cert_not_after(x);
		ty = cc_cert_not_after(y);
	} else {
		tx = cc_cert_not_before(x);
		ty = cc_cert_not_before(y);
	}
	if (tx != ty)
		return tx > ty ? -1 : 1; /* latest first */
	return strcmp(cc_cert_thumbprint(x), cc_cert_thumbprint(y));
}

static enum cc_err
reject(struct cc_selection *sel, struct cc_cert *c, const char *reason)
{
	struct rejected *nr;

	if ((nr = realloc(sel->rej, (sel->nrej + 1) * sizeof(*nr))) == NULL)
		return cc_seterr(CC_ERR_NOMEM, "selection");
	sel->rej = nr;
	if ((nr[sel->nrej].reason = strdup(reason)) == NULL)
		return cc_seterr(CC_ERR_NOMEM, "selection");
	nr[sel->nrej].c = cc_cert_up_ref(c);
	sel->nrej++;
	return CC_OK;
}

enum cc_err
cc_store_select(struct cc_store *s, enum cc_service service, const char *fqdn,
                const struct cc_verify_opts *opts, struct cc_selection **out)
{
	struct cc_selection *sel = NULL;
	struct cc_cert *c;
	const char *why;
	char buf[1024], svc[64], *shortname = NULL;
	size_t i, j, n;
	enum cc_err r = CC_ERR_NOMEM;

	*out = NULL;
	if (cc_service_name(service) == NULL) {
		r = cc_seterr(CC_ERR_INVAL, "select one service");
		goto out;
	}
	if ((sel = calloc(1, sizeof(*sel))) == NULL ||
	    (sel->cand = calloc(cc_store_count(s) + 1, sizeof(*sel->cand))) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "selection");
		goto out;
	}
	/*
	 * The one place of the rule: no FQDN is the server's own, as Exchange matched for a
	 * connector with none; "" is any name. sel->fqdn is the name used (NULL: any).
	 */
	if (fqdn == NULL) {
		if ((r = cc_host_names(&sel->fqdn, &shortname)) != CC_OK)
			goto out;
	} else if (*fqdn != '\0' && (sel->fqdn = strdup(fqdn)) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "selection");
		goto out;
	}
	fqdn = sel->fqdn;
	sel->service = service;
	if ((r = cc_store_verify_all(s, opts)) != CC_OK)
		goto out;
	n = cc_store_count(s);
	for (i = 0; i < n; i++) {
		c = cc_store_cert(s, i);
		why = NULL;
		if (!(cc_cert_services(c) & service)) {
			snprintf(buf, sizeof(buf), "service %s is not enabled (enabled: %s)",
			         cc_service_name(service),
			         cc_services_format(cc_cert_services(c), svc, sizeof(svc)));
			why = buf;
		} else if (fqdn != NULL && !cc_cert_matches_host(c, fqdn)) {
			int off = snprintf(buf, sizeof(buf), "%s is not in CertificateDomains {",
			                   fqdn);

			for (j = 0;
			     j < cc_cert_domain_count(c) && off > 0 && (size_t)off < sizeof(buf);
			     j++)
				off += snprintf(buf + off, sizeof(buf) - (size_t)off, "%s%s",
				                j ? ", " : "", cc_cert_domain(c, j));
			if (off > 0 && (size_t)off < sizeof(buf))
				snprintf(buf + off, sizeof(buf) - (size_t)off, "}");
			why = buf;
		} else {
			why = cc_cert_ineligible_reason(s, c, buf, sizeof(buf));
		}
		if (why != NULL) {
			if ((r = reject(sel, c, why)) != CC_OK)
				goto out;
			continue;
		}
		sel->cand[sel->ncand++] = cc_cert_up_ref(c);
	}
	qsort_r(sel->cand, sel->ncand, sizeof(*sel->cand), cmp_candidates, &service);
	*out = sel;
	sel = NULL;
	r = CC_OK;
out:
	free(shortname);
	cc_selection_free(sel);
	return r;
}

const char *
cc_selection_fqdn(const struct cc_selection *sel)
{
	return sel->fqdn;
}

struct cc_cert *
cc_selection_selected(const struct cc_selection *sel)
{
	return sel->ncand > 0 ? sel->cand[0] : NULL;
}

size_t
cc_selection_candidate_count(const struct cc_selection *sel)
{
	return sel->ncand;
}

struct cc_cert *
cc_selection_candidate(const struct cc_selection *sel, size_t i)
{
	return i < sel->ncand ? sel->cand[i] : NULL;
}

size_t
cc_selection_rejected_count(const struct cc_selection *sel)
{
	return sel->nrej;
}

struct cc_cert *
cc_selection_rejected(const struct cc_selection *sel, size_t i)
{
	return i < sel->nrej ? sel->rej[i].c : NULL;
}

const char *
cc_selection_rejected_reason(const struct cc_selection *sel, size_t i)
{
	return i < sel->nrej ? sel->rej[i].reason : NULL;
}

enum cc_err
cc_selection_to_json(const struct cc_selection *sel, char **out)
{
	json_t *o = NULL, *cand, *rej, *v;
	json_error_t jerr;
	char *text = NULL;
	size_t i;
	enum cc_err r = CC_ERR_NOMEM;

	*out = NULL;
	if ((o = json_object()) == NULL || (cand = json_array()) == NULL)
		goto nomem;
	json_object_set_new(o, "service", json_string(cc_service_name(sel->service)));
	json_object_set_new(o, "fqdn", sel->fqdn ? json_string(sel->fqdn) : json_null());
	json_object_set_new(o, "selected",
	                    sel->ncand ? json_string(cc_cert_thumbprint(sel->cand[0]))
	                               : json_null());
	json_object_set_new(o, "candidates", cand);
	for (i = 0; i < sel->ncand; i++) {
		if ((r = cc_cert_to_json(sel->cand[i], time(NULL), &text)) != CC_OK)
			goto out;
		if ((v = json_loads(text, 0, &jerr)) == NULL)
			goto nomem;
		free(text);
		text = NULL;
		json_array_append_new(cand, v);
	}
	if ((rej = json_array()) == NULL)
		goto nomem;
	json_object_set_new(o, "rejected", rej);
	for (i = 0; i < sel->nrej; i++) {
		v = json_pack("{s:s, s:s}", "Thumbprint", cc_cert_thumbprint(sel->rej[i].c),
		              "reason", sel->rej[i].reason);
		if (v == NULL)
			goto nomem;
		json_array_append_new(rej, v);
	}
	if ((*out = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL)
		goto nomem;
	r = CC_OK;
	goto out;
nomem:
	r = cc_seterr(CC_ERR_NOMEM, "selection JSON");
out:
	free(text);
	json_decref(o);
	return r;
}
