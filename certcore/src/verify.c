/* Certificate status (certcore/verify.h): OpenSSL's chain building and checks, CRLs from crl.c,
 * and the mapping of OpenSSL's verification errors onto Exchange's Status values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include "certcore/trust.h"
#include "certcore/verify.h"
#include "crl.h"
#include "internal.h"

struct link {
	X509 *x;
	enum cc_status status;
	char *reason;
};

struct cc_verify {
	enum cc_status status;
	char *reason;
	enum cc_root_ca_type root;
	struct link *chain;
	size_t nchain;
	struct crl_lookup *crls;
	struct cc_crl_info *infos;
	char **subjects;
	size_t ncrls;
};

/* Most serious first: the order in which statuses win over each other. */
static int
severity(enum cc_status s)
{
	switch (s) {
	case CC_STATUS_INVALID:
		return 6;
	case CC_STATUS_REVOKED:
		return 5;
	case CC_STATUS_UNTRUSTED:
		return 4;
	case CC_STATUS_DATE_INVALID:
		return 3;
	case CC_STATUS_UNKNOWN:
		return 2;
	default:
		return 0;
	}
}

/* OpenSSL's verification errors (x509_vfy.h) as Exchange's Status values. */
static enum cc_status
map_error(int e)
{
	switch (e) {
	case X509_V_OK:
		return CC_STATUS_VALID;
	case X509_V_ERR_CERT_NOT_YET_VALID:
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
	case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
		return CC_STATUS_DATE_INVALID;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_UNTRUSTED:
	case X509_V_ERR_CERT_REJECTED:
		return CC_STATUS_UNTRUSTED;
	case X509_V_ERR_CERT_REVOKED:
		return CC_STATUS_REVOKED;
	case X509_V_ERR_UNABLE_TO_GET_CRL:
	case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
	case X509_V_ERR_CRL_HAS_EXPIRED:
	case X509_V_ERR_CRL_NOT_YET_VALID:
	case X509_V_ERR_CRL_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
	case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
	case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
	case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
	case X509_V_ERR_DIFFERENT_CRL_SCOPE:
	case X509_V_ERR_CRL_PATH_VALIDATION_ERROR:
		/* Exchange 2007's word for "revocation could not be checked"; the detail says why.
		 */
		return CC_STATUS_UNKNOWN;
	default:
		/* Bad signatures, broken chains, CA:FALSE issuers, unusable keys, ... */
		return CC_STATUS_INVALID;
	}
}

struct collect {
	struct cc_verify *v;
	int errors[32];
	int depths[32];
	int n;
};

static int collect_idx = -1;
static CRYPTO_ONCE collect_once = CRYPTO_ONCE_STATIC_INIT;

static void
collect_init(void)
{
	collect_idx = X509_STORE_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/* Records every error instead of stopping at the first, so each certificate gets its status. */
static int
verify_cb(int ok, X509_STORE_CTX *ctx)
{
	struct collect *c;
	if (ok)
		return 1;
	c = X509_STORE_CTX_get_ex_data(ctx, collect_idx);
	if (c != NULL && c->n < (int)(sizeof(c->errors) / sizeof(c->errors[0]))) {
		c->errors[c->n] = X509_STORE_CTX_get_error(ctx);
		c->depths[c->n] = X509_STORE_CTX_get_error_depth(ctx);
		c->n++;
	}
	return 1;
}

void
cc_verify_free(struct cc_verify *v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < v->nchain; i++) {
		X509_free(v->chain[i].x);
		free(v->chain[i].reason);
	}
	free(v->chain);
	for (i = 0; i < v->ncrls; i++) {
		cc_crl_lookup_clear(&v->crls[i]);
		free(v->subjects[i]);
	}
	free(v->crls);
	free(v->infos);
	free(v->subjects);
	free(v->reason);
	free(v);
}

static char *
subject_text(X509 *x)
{
	char *s = NULL;

	if (cc_name_rfc2253(X509_get_subject_name(x), &s) != CC_OK)
		ERR_clear_error();
	return s;
}

/*
 * The leaf's status for a problem `st` (OpenSSL's error `e`) found at `depth` of its path. The
 * seed's Revoked and Untrusted describe the leaf itself; a revoked, invalid or explicitly
 * untrusted certificate further up the path makes the leaf Invalid. A path that reaches no
 * trusted root (no issuer found, a self-signed root nobody trusts) stays the leaf's Untrusted,
 * wherever OpenSSL noticed it.
 */
static enum cc_status
leaf_status(enum cc_status st, int e, size_t depth)
{
	if (depth == 0)
		return st;
	if (st == CC_STATUS_REVOKED ||
	    (st == CC_STATUS_UNTRUSTED &&
	     (e == X509_V_ERR_CERT_UNTRUSTED || e == X509_V_ERR_CERT_REJECTED)))
		return CC_STATUS_INVALID;
	return st;
}

/*
 * Raises a certificate's status to `st` and the overall one to `overall` when more serious.
 */
static enum cc_err
note(struct cc_verify *v, size_t depth, enum cc_status st, enum cc_status overall, const char *why)
{
	char *subj = NULL, *reason;

	if (depth < v->nchain && severity(st) > severity(v->chain[depth].status)) {
		if ((reason = strdup(why)) == NULL)
			return cc_seterr(CC_ERR_NOMEM, "verify");
		free(v->chain[depth].reason);
		v->chain[depth].reason = reason;
		v->chain[depth].status = st;
	}
	if (severity(overall) > severity(v->status)) {
		subj = depth < v->nchain ? subject_text(v->chain[depth].x) : NULL;
		reason = cc_aprintf("%s%s (%s)", overall != st ? "an issuer in the path: " : "",
		                    why, subj ? subj : "certificate");
		free(subj);
		if (reason == NULL)
			return cc_seterr(CC_ERR_NOMEM, "verify");
		free(v->reason);
		v->reason = reason;
		v->status = overall;
	}
	return CC_OK;
}

/*
 * One run of X509_verify_cert. Fills the chain on the first run; records every error.
 * `crls` NULL: no revocation checking.
 */
static enum cc_err
run(struct cc_verify *v, X509_STORE *store, const struct cc_cert *c, time_t now,
    STACK_OF(X509_CRL) * crls, bool first)
{
	X509_STORE_CTX *ctx = NULL;
	STACK_OF(X509) *chain = NULL;
	struct collect col;
	int i;
	enum cc_err r = CC_ERR_CRYPTO;

	memset(&col, 0, sizeof(col));
	col.v = v;
	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, store, cc_cert_x509(c), cc_cert_chain(c)) != 1) {
		r = cc_seterr_ssl(CC_ERR_CRYPTO, "X509_STORE_CTX_init");
		goto out;
	}
	X509_STORE_CTX_set_time(ctx, 0, now);
	/*
	 * OpenSSL does not check a self-signed certificate's own signature unless asked: a
	 * self-issued certificate whose signature was tampered with is Invalid, not Untrusted.
	 */
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_CHECK_SS_SIGNATURE);
	X509_STORE_CTX_set_verify_cb(ctx, verify_cb);
	if (X509_STORE_CTX_set_ex_data(ctx, collect_idx, &col) != 1) {
		r = cc_seterr_ssl(CC_ERR_CRYPTO, "X509_STORE_CTX_set_ex_data");
		goto out;
	}
	if (crls != NULL) {
		X509_STORE_CTX_set0_crls(ctx, crls);
		X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
	}
	/* The callback accepts every error, so the result says little; the errors say all. */
	(void)X509_verify_cert(ctx);
	ERR_clear_error();
	if (first) {
		if ((chain = X509_STORE_CTX_get1_chain(ctx)) == NULL ||
		    (v->chain = calloc((size_t)sk_X509_num(chain), sizeof(*v->chain))) == NULL) {
			r = cc_seterr(CC_ERR_NOMEM, "chain");
			goto out;
		}
		for (i = 0; i < sk_X509_num(chain); i++) {
			v->chain[i].x = sk_X509_value(chain, i);
			v->chain[i].status = CC_STATUS_VALID;
		}
		v->nchain = (size_t)sk_X509_num(chain);
		sk_X509_free(chain); /* the references moved into v->chain */
		chain = NULL;
	}
	for (i = 0; i < col.n; i++) {
		/* The first run has no CRLs: OpenSSL asks for none, so nothing is lost. */
		enum cc_status st = map_error(col.errors[i]);

		if ((r = note(v, (size_t)col.depths[i], st,
		              leaf_status(st, col.errors[i], (size_t)col.depths[i]),
		              X509_verify_cert_error_string(col.errors[i]))) != CC_OK)
			goto out;
	}
	r = CC_OK;
out:
	sk_X509_pop_free(chain, X509_free);
	X509_STORE_CTX_free(ctx);
	return r;
}

static enum cc_err
check_revocation(struct cc_store *s, struct cc_verify *v, X509_STORE *store,
                 const struct cc_cert *c, const struct cc_verify_opts *o, time_t now,
                 struct crl_memo *memo)
{
	STACK_OF(X509_CRL) *crls = NULL;
	size_t i, n;
	enum cc_err r = CC_ERR_NOMEM;

	/* Every certificate but the root (which no one above it can revoke). */
	n = v->nchain > 1 ? v->nchain - 1 : 0;
	if (n == 0)
		return CC_OK;
	if ((v->crls = calloc(n, sizeof(*v->crls))) == NULL ||
	    (v->infos = calloc(n, sizeof(*v->infos))) == NULL ||
	    (v->subjects = calloc(n, sizeof(*v->subjects))) == NULL ||
	    (crls = sk_X509_CRL_new_null()) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "CRLs");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((r = cc_crl_lookup(s, v->chain[i].x, v->chain[i + 1].x, o, now, memo,
		                       &v->crls[i])) != CC_OK)
			goto out;
		v->ncrls = i + 1;
		if ((v->subjects[i] = subject_text(v->chain[i].x)) == NULL) {
			r = cc_seterr(CC_ERR_NOMEM, "CRLs");
			goto out;
		}
		if (v->crls[i].crl == NULL) {
			if ((r = note(v, i, CC_STATUS_UNKNOWN, CC_STATUS_UNKNOWN,
			              v->crls[i].error)) != CC_OK)
				goto out;
			continue;
		}
		if (!X509_CRL_up_ref(v->crls[i].crl) || !sk_X509_CRL_push(crls, v->crls[i].crl)) {
			r = cc_seterr_ssl(CC_ERR_NOMEM, "CRLs");
			goto out;
		}
	}
	for (i = 0; i < v->ncrls; i++) {
		struct cc_crl_info *ci = &v->infos[i];

		ci->for_subject = v->subjects[i];
		ci->issuer = v->crls[i].issuer ? v->crls[i].issuer : "";
		ci->source = v->crls[i].source;
		ci->location = v->crls[i].location ? v->crls[i].location : "";
		ci->ok = v->crls[i].crl != NULL;
		ci->this_update = v->crls[i].this_update;
		ci->next_update = v->crls[i].next_update;
		ci->error = v->crls[i].error ? v->crls[i].error : "";
	}
	/*
	 * OpenSSL checks every CRL it is given (CRL_CHECK_ALL). With one missing, the others are
	 * still checked, so a revoked certificate is still reported as Revoked.
	 */
	r = run(v, store, c, now, crls, false);
out:
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	return r;
}

/*
 * `shared_t` and `shared_store` (both or neither) are the roots loaded once for a pass over the
 * whole store (cc_store_verify_all): reading the system bundle again for every certificate
 * cost some 35 ms each (tests/bench).
 */
static enum cc_err
verify_one(struct cc_store *s, const struct cc_cert *c, const struct cc_verify_opts *opts,
           struct crl_memo *memo, const struct cc_trust *shared_t, X509_STORE *shared_store,
           struct cc_verify **out)
{
	struct cc_verify_opts defaults;
	struct cc_verify *v = NULL;
	struct cc_trust *t = NULL;
	const struct cc_trust *tr;
	X509_STORE *store = NULL, *xst;
	time_t now;
	enum cc_err r = CC_ERR_NOMEM;

	*out = NULL;
	if (opts == NULL) {
		memset(&defaults, 0, sizeof(defaults));
		opts = &defaults;
	}
	now = opts->now ? opts->now : time(NULL);
	if (!CRYPTO_THREAD_run_once(&collect_once, collect_init) || collect_idx < 0) {
		r = cc_seterr_ssl(CC_ERR_CRYPTO, "X509_STORE_CTX_get_ex_new_index");
		goto out;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL || (v->reason = strdup("")) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "verify");
		goto out;
	}
	v->status = CC_STATUS_VALID;
	v->root = CC_ROOT_UNKNOWN;
	if (cc_cert_is_self_signed(c)) {
		/* A self-signed certificate is its own anchor (RootCAType None): dates only. */
		const char *why = "";
		enum cc_status st = cc_cert_status(c, now, &why);

		if ((v->chain = calloc(1, sizeof(*v->chain))) == NULL ||
		    !X509_up_ref(cc_cert_x509(c))) {
			r = cc_seterr(CC_ERR_NOMEM, "verify");
			goto out;
		}
		v->chain[0].x = cc_cert_x509(c);
		v->chain[0].status = CC_STATUS_VALID;
		v->nchain = 1;
		v->root = CC_ROOT_NONE;
		if (st != CC_STATUS_VALID && (r = note(v, 0, st, st, why)) != CC_OK)
			goto out;
		*out = v;
		v = NULL;
		r = CC_OK;
		goto out;
	}
	if (shared_t != NULL && shared_store != NULL) {
		tr = shared_t;
		xst = shared_store;
	} else {
		if ((r = cc_trust_load(s, opts->bundle, &t)) != CC_OK ||
		    (r = cc_trust_x509_store(t, &store)) != CC_OK)
			goto out;
		tr = t;
		xst = store;
	}
	if ((r = run(v, xst, c, now, NULL, true)) != CC_OK)
		goto out;
	if (v->status == CC_STATUS_VALID || v->status == CC_STATUS_DATE_INVALID) {
		/* A chain that reaches a trusted root: its anchor's folder, and its revocation. */
		v->root = cc_trust_type_of(tr, v->nchain ? v->chain[v->nchain - 1].x : NULL);
		if ((r = check_revocation(s, v, xst, c, opts, now, memo)) != CC_OK)
			goto out;
	}
	*out = v;
	v = NULL;
	r = CC_OK;
out:
	X509_STORE_free(store);
	cc_trust_free(t);
	cc_verify_free(v);
	return r;
}

enum cc_err
cc_store_verify(struct cc_store *s, const struct cc_cert *c, const struct cc_verify_opts *opts,
                struct cc_verify **out)
{
	return verify_one(s, c, opts, NULL, NULL, NULL, out);
}

enum cc_status
cc_verify_status(const struct cc_verify *v)
{
	return v->status;
}

const char *
cc_verify_reason(const struct cc_verify *v)
{
	return v->reason;
}

enum cc_root_ca_type
cc_verify_root_type(const struct cc_verify *v)
{
	return v->root;
}

size_t
cc_verify_chain_count(const struct cc_verify *v)
{
	return v->nchain;
}

X509 *
cc_verify_chain_cert(const struct cc_verify *v, size_t i)
{
	return i < v->nchain ? v->chain[i].x : NULL;
}

enum cc_status
cc_verify_chain_status(const struct cc_verify *v, size_t i)
{
	return i < v->nchain ? v->chain[i].status : CC_STATUS_UNKNOWN;
}

const char *
cc_verify_chain_reason(const struct cc_verify *v, size_t i)
{
	return i < v->nchain && v->chain[i].reason ? v->chain[i].reason : "";
}

size_t
cc_verify_crl_count(const struct cc_verify *v)
{
	return v->ncrls;
}

const struct cc_crl_info *
cc_verify_crl(const struct cc_verify *v, size_t i)
{
	return i < v->ncrls ? &v->infos[i] : NULL;
}

const char *
cc_crl_source_name(enum cc_crl_source s)
{
	switch (s) {
	case CC_CRL_FILE:
		return "file";
	case CC_CRL_CACHE:
		return "cache";
	case CC_CRL_HTTP:
		return "http";
	case CC_CRL_LDAP:
		return "ldap";
	default:
		return "none";
	}
}

enum cc_err
cc_store_verify_all(struct cc_store *s, const struct cc_verify_opts *opts)
{
	struct cc_verify *v = NULL;
	struct cc_cert *c;
	struct cc_trust *t = NULL;
	X509_STORE *store = NULL;
	struct crl_memo memo;
	size_t i;
	enum cc_err r = CC_OK;

	memset(&memo, 0, sizeof(memo));
	for (i = 0; i < cc_store_count(s); i++) {
		c = cc_store_cert(s, i);
		/* The roots once for the whole pass, when a certificate needs them. */
		if (t == NULL && !cc_cert_is_self_signed(c) &&
		    ((r = cc_trust_load(s, opts ? opts->bundle : NULL, &t)) != CC_OK ||
		     (r = cc_trust_x509_store(t, &store)) != CC_OK))
			break;
		if ((r = verify_one(s, c, opts, &memo, t, store, &v)) != CC_OK)
			break;
		cc_cert_set_verified(c, cc_verify_status(v), cc_verify_root_type(v),
		                     cc_verify_reason(v));
		cc_verify_free(v);
		v = NULL;
	}
	X509_STORE_free(store);
	cc_trust_free(t);
	cc_crl_memo_clear(&memo);
	return r;
}
