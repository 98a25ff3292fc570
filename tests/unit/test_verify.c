/*
 * verify.c: the Status of a certificate from its chain, the trusted roots, the CRLs and the
 * clock. Each Status and its negative cases (Valid; DateInvalid for an expired or not yet valid
 * leaf and an expired intermediate; Untrusted; Revoked for a leaf and for an intermediate;
 * Unknown; Invalid for a bad signature, a CA:FALSE issuer and a tampered
 * self-signed certificate), which status wins when several apply, the chain as built with each
 * certificate's own status, RootCAType by folder, OpenSSL's words in the reason, the clock in
 * opts.now, nothing cached, and cc_store_verify_all recording the answer in each certificate.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "certcore/cert.h"
#include "certcore/error.h"
#include "certcore/services.h"
#include "certcore/store.h"
#include "certcore/trust.h"
#include "certcore/verify.h"
#include "testutil.h"

#define DAY  86400L
#define YEAR (365 * DAY)

/* ---- fixture: a store and a PKI (root, intermediate), made afresh for each test ----------- */

struct fx {
	char *dir;
	char path[PATH_MAX];
	struct cc_store *s;
	X509 *root, *inter;
	EVP_PKEY *rk, *ik;
	time_t now;
	struct cc_verify_opts o;
};

static void __attribute__((format(printf, 2, 3))) pathf(char buf[PATH_MAX], const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, PATH_MAX, fmt, ap);
	va_end(ap);
	CU_ASSERT_FATAL(n > 0 && n < PATH_MAX);
}

/* What the intermediate looks like: its validity and whether it is a CA. */
struct inter_spec {
	long not_before_offset;
	long not_after_offset;
	bool not_ca;
};

static void
fx_open_with(struct fx *f, const struct inter_spec *is)
{
	struct tu_cert_spec spec;

	memset(f, 0, sizeof(*f));
	unsetenv("UMEDGE_CA_BUNDLE");
	f->now = time(NULL);
	f->dir = tu_tmpdir();
	pathf(f->path, "%s/store", f->dir);
	CU_ASSERT_EQUAL_FATAL(cc_store_open(f->path, CC_STORE_CREATE, &f->s), CC_OK);

	memset(&spec, 0, sizeof(spec));
	spec.cn = "Verify Test Root";
	spec.key = "ec256";
	spec.ca = true;
	spec.eku = "";
	spec.base = f->now;
	spec.not_before_offset = -30 * DAY;
	spec.not_after_offset = 10 * YEAR;
	tu_make_cert(&spec, &f->root, &f->rk);
	spec.cn = "Verify Test Intermediate";
	spec.issuer = f->root;
	spec.issuer_key = f->rk;
	spec.serial = 0x1000;
	spec.not_before_offset = is && is->not_before_offset ? is->not_before_offset : -30 * DAY;
	spec.not_after_offset = is && is->not_after_offset ? is->not_after_offset : 5 * YEAR;
	spec.ca = !(is && is->not_ca);
	tu_make_cert(&spec, &f->inter, &f->ik);

	memset(&f->o, 0, sizeof(f->o));
	f->o.bundle = "";
	f->o.offline = true;
}

static void
fx_open(struct fx *f)
{
	fx_open_with(f, NULL);
}

static void
fx_close(struct fx *f)
{
	cc_store_free(f->s);
	X509_free(f->root);
	X509_free(f->inter);
	EVP_PKEY_free(f->rk);
	EVP_PKEY_free(f->ik);
	tu_rmrf(f->dir);
	free(f->dir);
	memset(f, 0, sizeof(*f));
}

static void
trust_root(struct fx *f, enum cc_root_ca_type type)
{
	CU_ASSERT_EQUAL_FATAL(cc_store_trust_add(f->s, f->root, type, NULL), CC_OK);
}

/* Writes a CRL of `issuer` revoking the given serials to crl/NAME. */
static void
put_crl(struct fx *f, const char *name, X509 *issuer, EVP_PKEY *key, const long *serials, size_t n)
{
	X509_CRL *crl = tu_make_crl(issuer, key, serials, n, -3600, 7 * DAY);
	char p[PATH_MAX];

	pathf(p, "%s/crl/%s", f->path, name);
	tu_write_crl(p, crl, true);
	X509_CRL_free(crl);
}

/* Both CRLs, nothing revoked. */
static void
put_crls(struct fx *f)
{
	put_crl(f, "root.crl", f->root, f->rk, NULL, 0);
	put_crl(f, "inter.crl", f->inter, f->ik, NULL, 0);
}

/* The leaf a test needs. Zero fields: issued by the intermediate, valid -1 day .. +1 year. */
struct leaf_spec {
	const char *cn;
	long serial;
	long not_before_offset;
	long not_after_offset;
	const char *crl_url;
	EVP_PKEY *sign_with; /* NULL: the issuer's key */
	bool self_signed;
	bool no_chain; /* stored without the intermediate */
	bool chain_with_root;
};

/* Makes the leaf, adds it to the store, returns its thumbprint; x (may be NULL) gets it. */
static void
add_leaf(struct fx *f, const struct leaf_spec *ls, char thumb[CC_THUMB_LEN + 1], X509 **xo)
{
	struct tu_cert_spec spec;
	const char *sans[] = {ls->cn, NULL};
	struct cc_meta meta = {CC_SVC_SMTP | CC_SVC_UM, false, NULL, NULL};
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509 *x;
	EVP_PKEY *k;
	enum cc_err r;

	memset(&spec, 0, sizeof(spec));
	spec.cn = ls->cn;
	spec.sans = sans;
	spec.key = "ec256";
	spec.serial = ls->serial;
	spec.base = f->now;
	spec.not_before_offset = ls->not_before_offset ? ls->not_before_offset : -DAY;
	spec.not_after_offset = ls->not_after_offset ? ls->not_after_offset : YEAR;
	spec.crl_url = ls->crl_url;
	if (!ls->self_signed) {
		spec.issuer = f->inter;
		spec.issuer_key = ls->sign_with ? ls->sign_with : f->ik;
	}
	tu_make_cert(&spec, &x, &k);
	CU_ASSERT_FATAL(chain != NULL);
	if (!ls->self_signed && !ls->no_chain)
		CU_ASSERT_FATAL(sk_X509_push(chain, f->inter) > 0);
	if (ls->chain_with_root)
		CU_ASSERT_FATAL(sk_X509_push(chain, f->root) > 0);
	r = cc_store_add(f->s, x, chain, k, &meta, thumb);
	if (r != CC_OK)
		fprintf(stderr, "\n  cc_store_add: %s: %s", cc_strerror(r), cc_errdetail());
	CU_ASSERT_EQUAL_FATAL(r, CC_OK);
	sk_X509_free(chain);
	EVP_PKEY_free(k);
	if (xo != NULL)
		*xo = x;
	else
		X509_free(x);
}

/* Verifies a stored certificate (found afresh: adds reload the store). */
static struct cc_verify *
verify_opts(struct fx *f, const char *thumb, const struct cc_verify_opts *o)
{
	struct cc_cert *c = NULL;
	struct cc_verify *v = NULL;
	enum cc_err r;

	CU_ASSERT_EQUAL_FATAL(cc_store_find(f->s, thumb, &c), CC_OK);
	r = cc_store_verify(f->s, c, o, &v);
	if (r != CC_OK)
		fprintf(stderr, "\n  cc_store_verify: %s: %s", cc_strerror(r), cc_errdetail());
	CU_ASSERT_EQUAL_FATAL(r, CC_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	return v;
}

static struct cc_verify *
verify(struct fx *f, const char *thumb)
{
	return verify_opts(f, thumb, &f->o);
}

static void
expect_status(const struct cc_verify *v, enum cc_status want)
{
	size_t i;

	CU_ASSERT_EQUAL(cc_verify_status(v), want);
	if (cc_verify_status(v) == want)
		return;
	fprintf(stderr, "\n  status %s (expected %s): %s", cc_status_name(cc_verify_status(v)),
	        cc_status_name(want), cc_verify_reason(v));
	for (i = 0; i < cc_verify_chain_count(v); i++)
		fprintf(stderr, "\n    [%zu] %s %s", i,
		        cc_status_name(cc_verify_chain_status(v, i)), cc_verify_chain_reason(v, i));
	for (i = 0; i < cc_verify_crl_count(v); i++)
		fprintf(stderr, "\n    crl[%zu] %s %s", i, cc_verify_crl(v, i)->location,
		        cc_verify_crl(v, i)->error);
}

static void
expect_has(const char *text, const char *part)
{
	CU_ASSERT_PTR_NOT_NULL(strstr(text, part));
	if (strstr(text, part) == NULL)
		fprintf(stderr, "\n  \"%s\" lacks \"%s\"", text, part);
}

/* The chain as built: these certificates, leaf first, with these statuses. */
static void
expect_chain(const struct cc_verify *v, X509 *const *certs, const enum cc_status *st, size_t n)
{
	size_t i;

	CU_ASSERT_EQUAL(cc_verify_chain_count(v), n);
	if (cc_verify_chain_count(v) != n) {
		fprintf(stderr, "\n  chain of %zu, expected %zu", cc_verify_chain_count(v), n);
		return;
	}
	for (i = 0; i < n; i++) {
		CU_ASSERT_EQUAL(X509_cmp(cc_verify_chain_cert(v, i), certs[i]), 0);
		CU_ASSERT_EQUAL(cc_verify_chain_status(v, i), st[i]);
		if (cc_verify_chain_status(v, i) != st[i])
			fprintf(stderr, "\n  chain[%zu] is %s (expected %s): %s", i,
			        cc_status_name(cc_verify_chain_status(v, i)), cc_status_name(st[i]),
			        cc_verify_chain_reason(v, i));
		/* A reason exactly when not Valid. */
		CU_ASSERT_EQUAL(*cc_verify_chain_reason(v, i) == '\0', st[i] == CC_STATUS_VALID);
	}
	CU_ASSERT_PTR_NULL(cc_verify_chain_cert(v, n));
	CU_ASSERT_EQUAL(cc_verify_chain_status(v, n), CC_STATUS_UNKNOWN);
	CU_ASSERT_STRING_EQUAL(cc_verify_chain_reason(v, n), "");
}

/* ---- Valid --------------------------------------------------------------------------------- */

static void
test_valid(void)
{
	struct fx f;
	struct leaf_spec ls = {.cn = "valid.example.test"};
	char thumb[CC_THUMB_LEN + 1];
	X509 *leaf;
	struct cc_verify *v;
	const struct cc_crl_info *ci;
	X509 *chain[3];
	const enum cc_status ok[3] = {CC_STATUS_VALID, CC_STATUS_VALID, CC_STATUS_VALID};

	fx_open(&f);
	trust_root(&f, CC_ROOT_ENTERPRISE);
	put_crls(&f);
	add_leaf(&f, &ls, thumb, &leaf);
	v = verify(&f, thumb);
	expect_status(v, CC_STATUS_VALID);
	CU_ASSERT_STRING_EQUAL(cc_verify_reason(v), "");
	CU_ASSERT_EQUAL(cc_verify_root_type(v), CC_ROOT_ENTERPRISE);
	chain[0] = leaf;
	chain[1] = f.inter;
	chain[2] = f.root;
	expect_chain(v, chain, ok, 3);
	/* One CRL per certificate below the root, each from a file and good. */
	CU_ASSERT_EQUAL_FATAL(cc_verify_crl_count(v), 2);
	ci = cc_verify_crl(v, 0);
	CU_ASSERT_TRUE(ci->ok);
	CU_ASSERT_EQUAL(ci->source, CC_CRL_FILE);
	expect_has(ci->location, "/crl/inter.crl");
	expect_has(ci->for_subject, "CN=valid.example.test");
	CU_ASSERT_STRING_EQUAL(ci->issuer, "CN=Verify Test Intermediate");
	CU_ASSERT(ci->this_update <= f.now && ci->next_update > f.now);
	ci = cc_verify_crl(v, 1);
	CU_ASSERT_TRUE(ci->ok);
	expect_has(ci->location, "/crl/root.crl");
	CU_ASSERT_STRING_EQUAL(ci->for_subject, "CN=Verify Test Intermediate");
	CU_ASSERT_STRING_EQUAL(ci->issuer, "CN=Verify Test Root");
	cc_verify_free(v);
	cc_verify_free(NULL);

	X509_free(leaf);
	fx_close(&f);
}

/* ---- DateInvalid --------------------------------------------------------------------------- */

static void
test_expired_leaf(void)
{
	struct fx f;
	struct leaf_spec ls = {.cn = "expired.example.test",
	                       .not_before_offset = -60 * DAY,
	                       .not_after_offset = -DAY};
	char thumb[CC_THUMB_LEN + 1];
	X509 *leaf;
	struct cc_verify *v;
	X509 *chain[3];
	const enum cc_status st[3] = {CC_STATUS_DATE_INVALID, CC_STATUS_VALID, CC_STATUS_VALID};

	fx_open(&f);
	trust_root(&f, CC_ROOT_ENTERPRISE);
	put_crls(&f);
	add_leaf(&f, &ls, thumb, &leaf);
	v = verify(&f, thumb);
	expect_status(v, CC_STATUS_DATE_INVALID);
	expect_has(cc_verify_reason(v), "certificate has expired");
	expect_has(cc_verify_reason(v), "expired.example.test");
	chain[0] = leaf;
	chain[1] = f.inter;
	chain[2] = f.root;
	expect_chain(v, chain, st, 3);
	expect_has(cc_verify_chain_reason(v, 0), "certificate has expired");
	/* The chain reaches a trusted root: its type is known. */
	CU_ASSERT_EQUAL(cc_verify_root_type(v), CC_ROOT_ENTERPRISE);
	cc_verify_free(v);
	X509_free(leaf);
	fx_close(&f);
}

static void
test_not_yet_valid_leaf(void)
{
	struct fx f;
	struct leaf_spec ls = {.cn = "future.example.test", .not_before_offset = DAY};
	char thumb[CC_THUMB_LEN + 1];
	struct cc_verify *v;

	fx_open(&f);
	trust_root(&f, CC_ROOT_ENTERPRISE);
	put_crls(&f);
	add_leaf(&f, &ls, thumb, NULL);
	v = verify(&f, thumb);
	expect_status(v, CC_STATUS_DATE_INVALID);
	expect_has(cc_verify_reason(v), "certificate is not yet valid");
	CU_ASSERT_EQUAL(cc_verify_chain_status(v, 0), CC_STATUS_DATE_INVALID);
	CU_ASSERT_EQUAL(cc_verify_chain_status(v, 1), CC_STATUS_VALID);
	cc_verify_free(v);
	fx_close(&f);
}

static void
test_expired_intermediate(void)
{
	struct fx f;
	struct inter_spec is = {.not_before_offset = -2 * YEAR, .not_after_offset = -DAY};
	struct leaf_spec ls = {.cn = "under-expired-ca.example.test"};
	char thumb[CC_THUMB_LEN + 1];
	X509 *leaf;
	struct cc_verify *v;
	X509 *chain[3];
	const enum cc_status st[3] = {CC_STATUS_VALID, CC_STATUS_DATE_INVALID, CC_STATUS_VALID};

	fx_open_with(&f, &is);
	trust_root(&f, CC_ROOT_ENTERPRISE);
	put_crls(&f);
	add_leaf(&f, &ls, thumb, &leaf);
	v = verify(&f, thumb);
	expect_status(v, CC_STATUS_DATE_INVALID);
	expect_has(cc_verify_reason(v), "certificate has expired");
	expect_has(cc_verify_reason(v), "Verify Test Intermediate"); /* the one concerned */
	chain[0] = leaf;
	chain[1] = f.inter;
	chain[2] = f.root;
	expect_chain(v, chain, st, 3);
	cc_verify_free(v);
	X509_free(leaf);
	fx_close(&f);
}

/* ---- Untrusted ----------------------------------------------------------------------------- */

static void
test_untrusted(void)
{
	struct fx f;
	struct leaf_spec ls = {.cn = "stranger.example.test"};
	struct leaf_spec with_root = {.cn = "stranger2.example.test", .chain_with_root = true};
	struct leaf_spec no_chain = {.cn = "orphan.example.test", .no_chain = true};
	char thumb[CC_THUMB_LEN + 1], t2[CC_THUMB_LEN + 1], t3[CC_THUMB_LEN + 1];
	struct cc_verify *v;

	fx_open(&f);
	put_crls(&f);
	add_leaf(&f, &ls, thumb, NULL);
	add_leaf(&f, &with_root, t2, NULL);

	/* The root in no folder (and no bundle). */
	v = verify(&f, thumb);
	expect_status(v, CC_STATUS_UNTRUSTED);
	expect_has(cc_verify_reason(v), "unable to get local issuer certificate");
	CU_ASSERT_NOT_EQUAL(cc_verify_root_type(v), CC_ROOT_ENTERPRISE);
	CU_ASSERT_NOT_EQUAL(cc_verify_root_type(v), CC_ROOT_NONE);
	CU_ASSERT_EQUAL(cc_verify_chain_count(v), 2); /* leaf, intermediate: no further */
	cc_verify_free(v);

	/* The root in the stored chain is not a trusted root for that. */
	v = verify(&f, t2);
	expect_status(v, CC_STATUS_UNTRUSTED);
	expect_has(cc_verify_reason(v), "self-signed certificate in certificate chain");
	cc_verify_free(v);

	/* With the root trusted, each is Valid: the test above failed for the right reason. */
	trust_root(&f, CC_ROOT_REGISTRY);
	v = verify(&f, thumb);
	expect_status(v, CC_STATUS_VALID);
	CU_ASSERT_EQUAL(cc_verify_root_type(v), CC_ROOT_REGISTRY);
	cc_verify_free(v);
	v = verify(&f, t2);
	expect_status(v, CC_STATUS_VALID);
	cc_verify_free(v);

	/* A missing intermediate breaks the path to the trusted root. */
	add_leaf(&f, &no_chain, t3, NULL);
	v = verify(&f, t3);
	expect_status(v, CC_STATUS_UNTRUSTED);
	expect_has(cc_verify_reason(v), "unable to get local issuer certificate");
	CU_ASSERT_EQUAL(cc_verify_chain_count(v), 1);
	cc_verify_free(v);
	fx_close(&f);
}

/* ---- Revoked ------------------------------------------------------------------------------- */

static void
test_revoked_leaf(void)
{
	struct fx f;
	struct leaf_spec ls = {.cn = "revoked.example.test", .serial = 0x3001};
	long revoked = 0x3001, other = 0x3002;
	char thumb[CC_THUMB_LEN + 1];
	X509 *leaf;
	struct cc_verify *v;
	X509 *chain[3];
	const enum cc_status st[3] = {CC_STATUS_REVOKED, CC_STATUS_VALID, CC_STATUS_VALID};

	fx_open(&f);
	trust_root(&f, CC_ROOT_ENTERPRISE);
	put_crl(&f, "root.crl", f.root, f.rk, NULL, 0);
	/* Another serial revoked: this leaf is Valid. */
	put_crl(&f, "inter.crl", f.inter, f.ik, &other, 1);
	add_leaf(&f, &ls, thumb, &leaf);
	v = verify(&f, thumb);
	expect_status(v, CC_STATUS_VALID);
	cc_verify_free(v);

	put_crl(&f, "inter.crl", f.inter, f.ik, &revoked, 1);
	v = verify(&f, thumb);
	expect_status(v, CC_STATUS_REVOKED);
	expect_has(cc_verify_reason(v), "certificate revoked");
	expect_has(cc_verify_reason(v), "revoked.example.test");
	chain[0] = leaf;
	chain[1] = f.inter;
	chain[2] = f.root;
	expect_chain(v, chain, st, 3);
	expect_has(cc_verify_chain_reason(v, 0), "certificate revoked");
	CU_ASSERT_EQUAL(cc_verify_root_type(v), CC_ROOT_ENTERPRISE);
	cc_verify_free(v);
	X509_free(leaf);
	fx_close(&f);
}

static void
test_revoked_intermediate(void)
{
	struct fx f;
	struct leaf_spec ls = {.cn = "under-revoked-ca.example.test"};
	long inter_serial = 0x1000;
	char thumb[CC_THUMB_LEN + 1];
	struct cc_verify *v;

	fx_open(&f);
	trust_root(&f, CC_ROOT_ENTERPRISE);
	put_crl(&f, "root.crl", f.root, f.rk, &inter_serial, 1);
	put_crl(&f, "inter.crl", f.inter, f.ik, NULL, 0);
	add_leaf(&f, &ls, thumb, NULL);
	v = verify(&f, thumb);
	/* Revoked describes the leaf itself; a revoked issuer makes the leaf Invalid (the seed). */
	expect_status(v, CC_STATUS_INVALID);
	expect_has(cc_verify_reason(v), "an issuer in the path: certificate revoked");
	expect_has(cc_verify_reason(v), "Verify Test Intermediate");
	CU_ASSERT_EQUAL(cc_verify_chain_status(v, 1), CC_STATUS_REVOKED);
	CU_ASSERT_NOT_EQUAL(cc_verify_chain_status(v, 0), CC_STATUS_REVOKED);
	cc_verify_free(v);
	fx_close(&f);
}

/* ---- Unknown ---------------------------------------------------------------- */

static void
test_revocation_check_failure(void)
{
	struct fx f;
	struct leaf_spec ls = {.cn = "nocrl.example.test"};
	char thumb[CC_THUMB_LEN + 1], url[128];
	struct cc_verify *v;
	const struct cc_crl_info *ci;

	fx_open(&f);
	trust_root(&f, CC_ROOT_ENTERPRISE);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/inter.crl", tu_free_port());
	ls.crl_url = url;
	put_crl(&f, "root.crl", f.root, f.rk, NULL, 0);
	add_leaf(&f, &ls, thumb, NULL);
	v = verify(&f, thumb);
	expect_status(v, CC_STATUS_UNKNOWN);
	expect_has(cc_verify_reason(v), "offline");
	expect_has(cc_verify_reason(v), url);
	CU_ASSERT_EQUAL(cc_verify_chain_status(v, 0), CC_STATUS_UNKNOWN);
	CU_ASSERT_EQUAL(cc_verify_chain_status(v, 1), CC_STATUS_VALID);
	CU_ASSERT_EQUAL(cc_verify_root_type(v), CC_ROOT_ENTERPRISE);
	CU_ASSERT_EQUAL_FATAL(cc_verify_crl_count(v), 2);
	ci = cc_verify_crl(v, 0);
	CU_ASSERT_FALSE(ci->ok);
	CU_ASSERT_EQUAL(ci->source, CC_CRL_NONE);
	CU_ASSERT_STRING_EQUAL(ci->location, "");
	expect_has(ci->error, "offline");
	CU_ASSERT_TRUE(cc_verify_crl(v, 1)->ok);
	cc_verify_free(v);

	/* The root's CRL missing instead: the intermediate fails the check. */
	put_crl(&f, "inter.crl", f.inter, f.ik, NULL, 0);
	v = verify(&f, thumb);
	expect_status(v, CC_STATUS_VALID);
	cc_verify_free(v);
	{
		char p[PATH_MAX];

		pathf(p, "%s/crl/root.crl", f.path);
		CU_ASSERT_EQUAL_FATAL(unlink(p), 0);
	}
	v = verify(&f, thumb);
	expect_status(v, CC_STATUS_UNKNOWN);
	CU_ASSERT_EQUAL(cc_verify_chain_status(v, 1), CC_STATUS_UNKNOWN);
	expect_has(cc_verify_reason(v), "Verify Test Intermediate");
	cc_verify_free(v);
	fx_close(&f);
}

/* ---- Invalid ------------------------------------------------------------------------------- */

static void
test_invalid_signature(void)
{
	struct fx f;
	EVP_PKEY *wrong = tu_make_key("ec256");
	struct leaf_spec ls = {.cn = "forged.example.test", .sign_with = wrong};
	char thumb[CC_THUMB_LEN + 1];
	struct cc_verify *v;

	fx_open(&f);
	trust_root(&f, CC_ROOT_ENTERPRISE);
	put_crls(&f);
	add_leaf(&f, &ls, thumb, NULL);
	v = verify(&f, thumb);
	expect_status(v, CC_STATUS_INVALID);
	expect_has(cc_verify_reason(v), "certificate signature failure");
	CU_ASSERT_EQUAL(cc_verify_chain_status(v, 0), CC_STATUS_INVALID);
	cc_verify_free(v);
	EVP_PKEY_free(wrong);
	fx_close(&f);
}

static void
test_invalid_issuer_not_ca(void)
{
	struct fx f;
	struct inter_spec is = {.not_ca = true};
	struct leaf_spec ls = {.cn = "under-not-a-ca.example.test"};
	char thumb[CC_THUMB_LEN + 1];
	struct cc_verify *v;

	fx_open_with(&f, &is);
	trust_root(&f, CC_ROOT_ENTERPRISE);
	put_crls(&f);
	add_leaf(&f, &ls, thumb, NULL);
	v = verify(&f, thumb);
	expect_status(v, CC_STATUS_INVALID);
	expect_has(cc_verify_reason(v), "invalid CA certificate");
	expect_has(cc_verify_reason(v), "Verify Test Intermediate");
	CU_ASSERT_EQUAL(cc_verify_chain_status(v, 1), CC_STATUS_INVALID);
	cc_verify_free(v);
	fx_close(&f);
}

/* A self-signed certificate whose signature was tampered with is Invalid, not Untrusted. */
static void
test_invalid_tampered_self_signed(void)
{
	struct fx f;
	struct tu_cert_spec spec;
	struct cc_meta meta = {CC_SVC_UM, false, NULL, NULL};
	X509 *x, *bad;
	EVP_PKEY *k;
	unsigned char *der = NULL;
	const unsigned char *p;
	char thumb[CC_THUMB_LEN + 1];
	struct cc_verify *v;
	int len;

	fx_open(&f);
	memset(&spec, 0, sizeof(spec));
	spec.cn = "tampered.example.test";
	spec.key = "ec256";
	tu_make_cert(&spec, &x, &k);
	len = i2d_X509(x, &der);
	CU_ASSERT_FATAL(len > 10);
	der[len - 3] ^= 0x01; /* inside the signature value */
	p = der;
	bad = d2i_X509(NULL, &p, len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bad);
	CU_ASSERT_EQUAL_FATAL(cc_store_add(f.s, bad, NULL, k, &meta, thumb), CC_OK);
	v = verify(&f, thumb);
	expect_status(v, CC_STATUS_INVALID);
	expect_has(cc_verify_reason(v), "certificate signature failure");
	CU_ASSERT_EQUAL(cc_verify_root_type(v), CC_ROOT_UNKNOWN);
	cc_verify_free(v);
	OPENSSL_free(der);
	X509_free(x);
	X509_free(bad);
	EVP_PKEY_free(k);
	fx_close(&f);
}

/* ---- precedence ---------------------------------------------------------------------------- */

static void
test_precedence(void)
{
	struct fx f;
	long serial = 0x3101;
	struct leaf_spec revoked_expired = {.cn = "revexp.example.test",
	                                    .serial = 0x3101,
	                                    .not_before_offset = -60 * DAY,
	                                    .not_after_offset = -DAY};
	struct leaf_spec expired_nocrl = {.cn = "expnocrl.example.test",
	                                  .not_before_offset = -60 * DAY,
	                                  .not_after_offset = -DAY};
	struct leaf_spec untrusted_expired = {.cn = "untexp.example.test",
	                                      .not_before_offset = -60 * DAY,
	                                      .not_after_offset = -DAY};
	char t1[CC_THUMB_LEN + 1], t2[CC_THUMB_LEN + 1], t3[CC_THUMB_LEN + 1];
	struct cc_verify *v;
	char p[PATH_MAX];

	/* Revoked and expired: Revoked. */
	fx_open(&f);
	trust_root(&f, CC_ROOT_ENTERPRISE);
	put_crl(&f, "root.crl", f.root, f.rk, NULL, 0);
	put_crl(&f, "inter.crl", f.inter, f.ik, &serial, 1);
	add_leaf(&f, &revoked_expired, t1, NULL);
	v = verify(&f, t1);
	expect_status(v, CC_STATUS_REVOKED);
	expect_has(cc_verify_reason(v), "certificate revoked");
	/* The leaf's own status is the most serious of its two. */
	CU_ASSERT_EQUAL(cc_verify_chain_status(v, 0), CC_STATUS_REVOKED);
	cc_verify_free(v);

	/* Expired and no CRL: DateInvalid. */
	pathf(p, "%s/crl/inter.crl", f.path);
	CU_ASSERT_EQUAL_FATAL(unlink(p), 0);
	add_leaf(&f, &expired_nocrl, t2, NULL);
	v = verify(&f, t2);
	expect_status(v, CC_STATUS_DATE_INVALID);
	expect_has(cc_verify_reason(v), "certificate has expired");
	cc_verify_free(v);
	fx_close(&f);

	/* Untrusted and expired: Untrusted. */
	fx_open(&f);
	put_crls(&f);
	add_leaf(&f, &untrusted_expired, t3, NULL);
	v = verify(&f, t3);
	expect_status(v, CC_STATUS_UNTRUSTED);
	expect_has(cc_verify_reason(v), "unable to get local issuer certificate");
	/* The expiry is still recorded on the leaf itself. */
	CU_ASSERT_EQUAL(cc_verify_chain_status(v, 0), CC_STATUS_DATE_INVALID);
	cc_verify_free(v);
	fx_close(&f);
}

/* ---- RootCAType ---------------------------------------------------------------------------- */

static void
test_root_type_per_folder(void)
{
	static const enum cc_root_ca_type types[] = {CC_ROOT_REGISTRY, CC_ROOT_ENTERPRISE,
	                                             CC_ROOT_GROUP_POLICY};
	struct fx f;
	struct leaf_spec ls = {.cn = "typed.example.test"};
	struct cc_verify_opts o;
	char thumb[CC_THUMB_LEN + 1], bundle[PATH_MAX], rt[CC_THUMB_LEN + 1];
	struct cc_verify *v;
	char *pem;
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		fx_open(&f);
		trust_root(&f, types[i]);
		put_crls(&f);
		add_leaf(&f, &ls, thumb, NULL);
		v = verify(&f, thumb);
		expect_status(v, CC_STATUS_VALID);
		CU_ASSERT_EQUAL(cc_verify_root_type(v), types[i]);
		cc_verify_free(v);
		fx_close(&f);
	}

	/* The root in a bundle file: ThirdParty; in a folder too: the folder's type. */
	fx_open(&f);
	put_crls(&f);
	add_leaf(&f, &ls, thumb, NULL);
	pem = tu_cert_pem(f.root);
	pathf(bundle, "%s/bundle.crt", f.dir);
	tu_write_file(bundle, pem, strlen(pem), 0644);
	free(pem);
	o = f.o;
	o.bundle = bundle;
	v = verify_opts(&f, thumb, &o);
	expect_status(v, CC_STATUS_VALID);
	CU_ASSERT_EQUAL(cc_verify_root_type(v), CC_ROOT_THIRD_PARTY);
	cc_verify_free(v);
	CU_ASSERT_EQUAL_FATAL(cc_store_trust_add(f.s, f.root, CC_ROOT_GROUP_POLICY, rt), CC_OK);
	v = verify_opts(&f, thumb, &o);
	CU_ASSERT_EQUAL(cc_verify_root_type(v), CC_ROOT_GROUP_POLICY);
	cc_verify_free(v);
	/* Without the bundle (and the folder emptied), Untrusted. */
	CU_ASSERT_EQUAL_FATAL(cc_store_trust_remove(f.s, rt), CC_OK);
	v = verify(&f, thumb);
	expect_status(v, CC_STATUS_UNTRUSTED);
	cc_verify_free(v);
	fx_close(&f);
}

/* A self-signed certificate is its own anchor: RootCAType None, dates only. */
static void
test_self_signed(void)
{
	struct fx f;
	struct leaf_spec good = {.cn = "self.example.test", .self_signed = true};
	struct leaf_spec old = {.cn = "oldself.example.test",
	                        .self_signed = true,
	                        .not_before_offset = -60 * DAY,
	                        .not_after_offset = -DAY};
	char t1[CC_THUMB_LEN + 1], t2[CC_THUMB_LEN + 1];
	struct cc_verify *v;
	X509 *x;
	struct cc_cert *c = NULL;

	fx_open(&f);
	add_leaf(&f, &good, t1, &x);
	add_leaf(&f, &old, t2, NULL);
	v = verify(&f, t1);
	expect_status(v, CC_STATUS_VALID);
	CU_ASSERT_EQUAL(cc_verify_root_type(v), CC_ROOT_NONE);
	CU_ASSERT_EQUAL(cc_verify_chain_count(v), 1);
	CU_ASSERT_EQUAL(X509_cmp(cc_verify_chain_cert(v, 0), x), 0);
	CU_ASSERT_EQUAL(cc_verify_crl_count(v), 0); /* no CRL asked of anyone */
	cc_verify_free(v);
	/* opts NULL: defaults; a self-signed certificate needs neither roots nor network. */
	CU_ASSERT_EQUAL_FATAL(cc_store_find(f.s, t1, &c), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_store_verify(f.s, c, NULL, &v), CC_OK);
	expect_status(v, CC_STATUS_VALID);
	cc_verify_free(v);

	v = verify(&f, t2);
	expect_status(v, CC_STATUS_DATE_INVALID);
	CU_ASSERT_EQUAL(cc_verify_root_type(v), CC_ROOT_NONE);
	expect_has(cc_verify_reason(v), "expired");
	CU_ASSERT_EQUAL(cc_verify_chain_status(v, 0), CC_STATUS_DATE_INVALID);
	cc_verify_free(v);
	X509_free(x);
	fx_close(&f);
}

/* ---- the clock, no cache, verify_all ------------------------------------------------------- */

static void
test_now_moves_the_clock(void)
{
	struct fx f;
	struct leaf_spec ls = {.cn = "clock.example.test", .not_before_offset = -3600};
	char thumb[CC_THUMB_LEN + 1];
	struct cc_verify_opts o;
	struct cc_verify *v;

	fx_open(&f);
	trust_root(&f, CC_ROOT_ENTERPRISE);
	put_crls(&f);
	add_leaf(&f, &ls, thumb, NULL);
	o = f.o;
	o.now = f.now;
	v = verify_opts(&f, thumb, &o);
	expect_status(v, CC_STATUS_VALID);
	cc_verify_free(v);

	o.now = f.now + 2 * YEAR;
	v = verify_opts(&f, thumb, &o);
	expect_status(v, CC_STATUS_DATE_INVALID);
	expect_has(cc_verify_reason(v), "certificate has expired");
	CU_ASSERT_EQUAL(cc_verify_chain_status(v, 0), CC_STATUS_DATE_INVALID);
	cc_verify_free(v);

	o.now = f.now - 2 * DAY;
	v = verify_opts(&f, thumb, &o);
	expect_status(v, CC_STATUS_DATE_INVALID);
	expect_has(cc_verify_reason(v), "certificate is not yet valid");
	cc_verify_free(v);

	/* At now + 8 days the leaf is fine but the CRLs (nextUpdate + 7 days) are stale. */
	o.now = f.now + 8 * DAY;
	v = verify_opts(&f, thumb, &o);
	expect_status(v, CC_STATUS_UNKNOWN);
	expect_has(cc_verify_reason(v), "stale");
	cc_verify_free(v);
	fx_close(&f);
}

static void
test_never_cached(void)
{
	struct fx f;
	struct leaf_spec ls = {.cn = "fresh.example.test", .serial = 0x3201};
	long serial = 0x3201;
	char thumb[CC_THUMB_LEN + 1], rt[CC_THUMB_LEN + 1];
	struct cc_verify *v;

	fx_open(&f);
	CU_ASSERT_EQUAL_FATAL(cc_store_trust_add(f.s, f.root, CC_ROOT_ENTERPRISE, rt), CC_OK);
	put_crls(&f);
	add_leaf(&f, &ls, thumb, NULL);
	v = verify(&f, thumb);
	expect_status(v, CC_STATUS_VALID);
	cc_verify_free(v);

	/* The root removed: the very next verification says Untrusted. */
	CU_ASSERT_EQUAL_FATAL(cc_store_trust_remove(f.s, rt), CC_OK);
	v = verify(&f, thumb);
	expect_status(v, CC_STATUS_UNTRUSTED);
	cc_verify_free(v);

	/* Back, in another folder. */
	trust_root(&f, CC_ROOT_GROUP_POLICY);
	v = verify(&f, thumb);
	expect_status(v, CC_STATUS_VALID);
	CU_ASSERT_EQUAL(cc_verify_root_type(v), CC_ROOT_GROUP_POLICY);
	cc_verify_free(v);

	/* A new CRL counts at once too. */
	put_crl(&f, "inter.crl", f.inter, f.ik, &serial, 1);
	v = verify(&f, thumb);
	expect_status(v, CC_STATUS_REVOKED);
	cc_verify_free(v);
	fx_close(&f);
}

static void
test_verify_all_records(void)
{
	struct fx f;
	long serial = 0x3302;
	struct leaf_spec good = {.cn = "good.example.test", .serial = 0x3301};
	struct leaf_spec revoked = {.cn = "revoked.example.test", .serial = 0x3302};
	struct leaf_spec expired = {.cn = "expired.example.test",
	                            .serial = 0x3303,
	                            .not_before_offset = -60 * DAY,
	                            .not_after_offset = -DAY};
	struct leaf_spec self = {.cn = "self.example.test", .self_signed = true};
	char tg[CC_THUMB_LEN + 1], tr[CC_THUMB_LEN + 1], te[CC_THUMB_LEN + 1], ts[CC_THUMB_LEN + 1];
	struct cc_cert *c;
	const char *why;

	fx_open(&f);
	trust_root(&f, CC_ROOT_ENTERPRISE);
	put_crl(&f, "root.crl", f.root, f.rk, NULL, 0);
	put_crl(&f, "inter.crl", f.inter, f.ik, &serial, 1);
	add_leaf(&f, &good, tg, NULL);
	add_leaf(&f, &revoked, tr, NULL);
	add_leaf(&f, &expired, te, NULL);
	add_leaf(&f, &self, ts, NULL);

	/* Before: the store-less approximation (a CA-issued certificate is Unknown). */
	CU_ASSERT_EQUAL_FATAL(cc_store_find(f.s, tg, &c), CC_OK);
	CU_ASSERT_EQUAL(cc_cert_status(c, f.now, NULL), CC_STATUS_UNKNOWN);
	CU_ASSERT_EQUAL(cc_cert_root_ca_type(c), CC_ROOT_UNKNOWN);

	CU_ASSERT_EQUAL_FATAL(cc_store_verify_all(f.s, &f.o), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_store_find(f.s, tg, &c), CC_OK);
	CU_ASSERT_EQUAL(cc_cert_status(c, f.now, &why), CC_STATUS_VALID);
	CU_ASSERT_STRING_EQUAL(why, "");
	CU_ASSERT_EQUAL(cc_cert_root_ca_type(c), CC_ROOT_ENTERPRISE);
	CU_ASSERT_EQUAL_FATAL(cc_store_find(f.s, tr, &c), CC_OK);
	CU_ASSERT_EQUAL(cc_cert_status(c, f.now, &why), CC_STATUS_REVOKED);
	expect_has(why, "certificate revoked");
	CU_ASSERT_EQUAL(cc_cert_root_ca_type(c), CC_ROOT_ENTERPRISE);
	CU_ASSERT_EQUAL_FATAL(cc_store_find(f.s, te, &c), CC_OK);
	CU_ASSERT_EQUAL(cc_cert_status(c, f.now, &why), CC_STATUS_DATE_INVALID);
	expect_has(why, "certificate has expired");
	CU_ASSERT_EQUAL_FATAL(cc_store_find(f.s, ts, &c), CC_OK);
	CU_ASSERT_EQUAL(cc_cert_status(c, f.now, NULL), CC_STATUS_VALID);
	CU_ASSERT_EQUAL(cc_cert_root_ca_type(c), CC_ROOT_NONE);

	/* Recorded until the next reload, which forgets it. */
	CU_ASSERT_EQUAL_FATAL(cc_store_reload(f.s), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_store_find(f.s, tr, &c), CC_OK);
	CU_ASSERT_EQUAL(cc_cert_status(c, f.now, NULL), CC_STATUS_UNKNOWN);

	/* An empty store verifies without complaint. */
	CU_ASSERT_EQUAL(cc_store_remove(f.s, tg), CC_OK);
	CU_ASSERT_EQUAL(cc_store_remove(f.s, tr), CC_OK);
	CU_ASSERT_EQUAL(cc_store_remove(f.s, te), CC_OK);
	CU_ASSERT_EQUAL(cc_store_remove(f.s, ts), CC_OK);
	CU_ASSERT_EQUAL(cc_store_count(f.s), 0);
	CU_ASSERT_EQUAL(cc_store_verify_all(f.s, &f.o), CC_OK);
	fx_close(&f);
}

static void
test_source_names(void)
{
	CU_ASSERT_STRING_EQUAL(cc_crl_source_name(CC_CRL_NONE), "none");
	CU_ASSERT_STRING_EQUAL(cc_crl_source_name(CC_CRL_FILE), "file");
	CU_ASSERT_STRING_EQUAL(cc_crl_source_name(CC_CRL_CACHE), "cache");
	CU_ASSERT_STRING_EQUAL(cc_crl_source_name(CC_CRL_HTTP), "http");
	CU_ASSERT_STRING_EQUAL(cc_crl_source_name(CC_CRL_LDAP), "ldap");
	CU_ASSERT_STRING_EQUAL(cc_crl_source_name((enum cc_crl_source)42), "none");
}

static CU_TestInfo tests[] = {
        {"Valid: trusted root, intermediate, both CRLs; the chain", test_valid},
        {"DateInvalid: expired leaf", test_expired_leaf},
        {"DateInvalid: leaf not yet valid", test_not_yet_valid_leaf},
        {"DateInvalid: expired intermediate", test_expired_intermediate},
        {"Untrusted: root in no folder, root in chain, no intermediate", test_untrusted},
        {"Revoked: leaf in the intermediate's CRL (not another serial)", test_revoked_leaf},
        {"Invalid: intermediate in the root's CRL (Revoked is the leaf's own)",
         test_revoked_intermediate},
        {"Unknown: leaf's or intermediate's CRL missing", test_revocation_check_failure},
        {"Invalid: signed by another key", test_invalid_signature},
        {"Invalid: issuer CA:FALSE", test_invalid_issuer_not_ca},
        {"Invalid: tampered self-signed certificate", test_invalid_tampered_self_signed},
        {"precedence: Revoked > Untrusted > DateInvalid > Unknown", test_precedence},
        {"RootCAType per folder, ThirdParty from the bundle", test_root_type_per_folder},
        {"self-signed: None, dates only", test_self_signed},
        {"opts.now moves the clock", test_now_moves_the_clock},
        {"never cached: trust removal and a new CRL count at once", test_never_cached},
        {"verify_all records status and RootCAType until reload", test_verify_all_records},
        {"CRL source names", test_source_names},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("verify", tests);
}
