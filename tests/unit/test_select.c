/*
 * select.c: eligibility for TLS and the order of candidates. Each eligibility rule and its
 * negative case (EKU, RSA size at the 1024-bit boundary, other key types, a missing or
 * password-protected key, a status other than Valid), the service and FQDN filters (wildcards
 * cover one label), the SMTP order (CA-issued first, then newest NotBefore), the UM order (CA
 * longest, CA shorter, self-signed longest, self-signed shortest), ties by thumbprint, and the
 * JSON view parsed back with jansson.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certcore/cert.h"
#include "certcore/error.h"
#include "certcore/select.h"
#include "certcore/selfsigned.h"
#include "certcore/services.h"
#include "certcore/store.h"
#include "certcore/trust.h"
#include "certcore/verify.h"
#include "testutil.h"

#define DAY 86400L

/* ---- fixture: a store trusting a root (with its CRL), an intermediate without a CRL, and a
 * root nobody trusts -------------------------------------------------------------------------- */

struct fx {
	char *dir;
	char path[PATH_MAX];
	struct cc_store *s;
	X509 *root, *inter, *stranger;
	EVP_PKEY *rk, *ik, *sk;
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

static void
fx_open(struct fx *f)
{
	struct tu_cert_spec spec;
	X509_CRL *crl;
	char p[PATH_MAX];

	memset(f, 0, sizeof(*f));
	unsetenv("UMEDGE_CA_BUNDLE");
	f->now = time(NULL);
	f->dir = tu_tmpdir();
	pathf(f->path, "%s/store", f->dir);
	CU_ASSERT_EQUAL_FATAL(cc_store_open(f->path, CC_STORE_CREATE, &f->s), CC_OK);

	memset(&spec, 0, sizeof(spec));
	spec.key = "ec256";
	spec.ca = true;
	spec.eku = "";
	spec.base = f->now;
	spec.not_before_offset = -30 * DAY;
	spec.not_after_offset = 3650 * DAY;
	spec.cn = "Select Test Root";
	tu_make_cert(&spec, &f->root, &f->rk);
	spec.cn = "Select Test Stranger Root";
	tu_make_cert(&spec, &f->stranger, &f->sk);
	spec.cn = "Select Test Intermediate";
	spec.issuer = f->root;
	spec.issuer_key = f->rk;
	tu_make_cert(&spec, &f->inter, &f->ik);
	CU_ASSERT_EQUAL_FATAL(cc_store_trust_add(f->s, f->root, CC_ROOT_ENTERPRISE, NULL), CC_OK);
	crl = tu_make_crl(f->root, f->rk, NULL, 0, -3600, 7 * DAY);
	pathf(p, "%s/crl/root.crl", f->path);
	tu_write_crl(p, crl, true);
	X509_CRL_free(crl);

	memset(&f->o, 0, sizeof(f->o));
	f->o.bundle = "";
	f->o.offline = true;
}

static void
fx_close(struct fx *f)
{
	cc_store_free(f->s);
	X509_free(f->root);
	X509_free(f->inter);
	X509_free(f->stranger);
	EVP_PKEY_free(f->rk);
	EVP_PKEY_free(f->ik);
	EVP_PKEY_free(f->sk);
	tu_rmrf(f->dir);
	free(f->dir);
	memset(f, 0, sizeof(*f));
}

enum issuer { BY_ROOT, SELF, BY_INTER, BY_STRANGER };

/* A certificate for a test. Zero fields: issued by the trusted root, EC P-256, default EKU,
 * valid from a day ago for a year, CN "um.example.test", with its key, services UM and SMTP. */
struct c_spec {
	const char *cn;
	const char *const *sans;
	enum issuer by;
	const char *key;
	const char *eku;
	long nb, na;
	unsigned services;
	bool no_services;
	bool no_key;
	bool password_key;
	long serial;
};

static void
add(struct fx *f, const struct c_spec *cs, char thumb[CC_THUMB_LEN + 1])
{
	struct tu_cert_spec spec;
	struct cc_meta meta = {0, false, NULL, NULL};
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509 *x;
	EVP_PKEY *k;
	enum cc_err r;

	memset(&spec, 0, sizeof(spec));
	spec.cn = cs->cn ? cs->cn : "um.example.test";
	spec.sans = cs->sans;
	spec.key = cs->key ? cs->key : "ec256";
	spec.eku = cs->eku;
	spec.base = f->now;
	spec.not_before_offset = cs->nb ? cs->nb : -DAY;
	spec.not_after_offset = cs->na ? cs->na : 365 * DAY;
	spec.serial = cs->serial;
	switch (cs->by) {
	case BY_ROOT:
		spec.issuer = f->root;
		spec.issuer_key = f->rk;
		break;
	case BY_INTER:
		spec.issuer = f->inter;
		spec.issuer_key = f->ik;
		break;
	case BY_STRANGER:
		spec.issuer = f->stranger;
		spec.issuer_key = f->sk;
		break;
	case SELF:
		break;
	}
	tu_make_cert(&spec, &x, &k);
	CU_ASSERT_FATAL(chain != NULL);
	if (cs->by == BY_INTER)
		CU_ASSERT_FATAL(sk_X509_push(chain, f->inter) > 0);
	meta.services = cs->no_services ? 0 : cs->services ? cs->services : CC_SVC_UM | CC_SVC_SMTP;
	r = cc_store_add(f->s, x, chain, cs->no_key || cs->password_key ? NULL : k, &meta, thumb);
	if (r != CC_OK)
		fprintf(stderr, "\n  cc_store_add: %s: %s", cc_strerror(r), cc_errdetail());
	CU_ASSERT_EQUAL_FATAL(r, CC_OK);
	if (cs->password_key) {
		char p[PATH_MAX];
		char *pem = tu_key_pem_encrypted(k, "secret");

		pathf(p, "%s/keys/%s.key", f->path, thumb);
		tu_write_file(p, pem, strlen(pem), 0600);
		free(pem);
		CU_ASSERT_EQUAL_FATAL(cc_store_reload(f->s), CC_OK);
	}
	sk_X509_free(chain);
	X509_free(x);
	EVP_PKEY_free(k);
}

static struct cc_selection *
sel_new(struct fx *f, enum cc_service svc, const char *fqdn)
{
	struct cc_selection *sel = NULL;
	enum cc_err r = cc_store_select(f->s, svc, fqdn, &f->o, &sel);

	if (r != CC_OK)
		fprintf(stderr, "\n  cc_store_select: %s: %s", cc_strerror(r), cc_errdetail());
	CU_ASSERT_EQUAL_FATAL(r, CC_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sel);
	return sel;
}

static void
dump(const struct cc_selection *sel)
{
	size_t i;

	for (i = 0; i < cc_selection_candidate_count(sel); i++)
		fprintf(stderr, "\n    candidate %s %s",
		        cc_cert_thumbprint(cc_selection_candidate(sel, i)),
		        cc_cert_subject(cc_selection_candidate(sel, i)));
	for (i = 0; i < cc_selection_rejected_count(sel); i++)
		fprintf(stderr, "\n    rejected %s: %s",
		        cc_cert_thumbprint(cc_selection_rejected(sel, i)),
		        cc_selection_rejected_reason(sel, i));
}

/* Position of a thumbprint among the candidates, -1 if not one. */
static long
cand_pos(const struct cc_selection *sel, const char *thumb)
{
	size_t i;

	for (i = 0; i < cc_selection_candidate_count(sel); i++)
		if (strcmp(cc_cert_thumbprint(cc_selection_candidate(sel, i)), thumb) == 0)
			return (long)i;
	return -1;
}

/* The reason a thumbprint was rejected, NULL if it was not. */
static const char *
rejected_why(const struct cc_selection *sel, const char *thumb)
{
	size_t i;

	for (i = 0; i < cc_selection_rejected_count(sel); i++)
		if (strcmp(cc_cert_thumbprint(cc_selection_rejected(sel, i)), thumb) == 0)
			return cc_selection_rejected_reason(sel, i);
	return NULL;
}

static void
expect_candidate(const struct cc_selection *sel, const char *thumb)
{
	CU_ASSERT(cand_pos(sel, thumb) >= 0);
	CU_ASSERT_PTR_NULL(rejected_why(sel, thumb));
	if (cand_pos(sel, thumb) < 0) {
		fprintf(stderr, "\n  %s is not a candidate: %s", thumb,
		        rejected_why(sel, thumb) ? rejected_why(sel, thumb) : "(not listed)");
	}
}

/* Rejected, and the reason contains `part`. */
static void
expect_rejected(const struct cc_selection *sel, const char *thumb, const char *part)
{
	const char *why = rejected_why(sel, thumb);

	CU_ASSERT_PTR_NOT_NULL(why);
	CU_ASSERT_EQUAL(cand_pos(sel, thumb), -1);
	if (why == NULL) {
		fprintf(stderr, "\n  %s was not rejected (wanted \"%s\")", thumb, part);
		return;
	}
	CU_ASSERT_PTR_NOT_NULL(strstr(why, part));
	if (strstr(why, part) == NULL)
		fprintf(stderr, "\n  reason \"%s\" lacks \"%s\"", why, part);
}

/* The candidates are exactly these, in this order; the first is the one selected. */
static void
expect_order(const struct cc_selection *sel, const char *const *thumbs, size_t n)
{
	size_t i;
	bool ok = cc_selection_candidate_count(sel) == n;

	CU_ASSERT_EQUAL(cc_selection_candidate_count(sel), n);
	for (i = 0; ok && i < n; i++) {
		CU_ASSERT_STRING_EQUAL(cc_cert_thumbprint(cc_selection_candidate(sel, i)),
		                       thumbs[i]);
		if (strcmp(cc_cert_thumbprint(cc_selection_candidate(sel, i)), thumbs[i]) != 0)
			ok = false;
	}
	if (!ok) {
		fprintf(stderr, "\n  expected order:");
		for (i = 0; i < n; i++)
			fprintf(stderr, " %s", thumbs[i]);
		dump(sel);
	}
	if (n > 0) {
		CU_ASSERT_PTR_EQUAL(cc_selection_selected(sel), cc_selection_candidate(sel, 0));
	} else {
		CU_ASSERT_PTR_NULL(cc_selection_selected(sel));
	}
}

/* A self-signed Ed25519 certificate: neither RSA nor EC. */
static void
make_ed25519(const char *cn, X509 **xo, EVP_PKEY **ko)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	X509 *x = X509_new();
	X509_NAME *n;

	CU_ASSERT_FATAL(k != NULL && x != NULL);
	n = X509_get_subject_name(x);
	CU_ASSERT_FATAL(X509_set_version(x, X509_VERSION_3) == 1 &&
	                ASN1_INTEGER_set(X509_get_serialNumber(x), 77) == 1 &&
	                X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	                                           (const unsigned char *)cn, -1, -1, 0) == 1 &&
	                X509_set_issuer_name(x, n) == 1 &&
	                X509_gmtime_adj(X509_getm_notBefore(x), -DAY) != NULL &&
	                X509_gmtime_adj(X509_getm_notAfter(x), 365 * DAY) != NULL &&
	                X509_set_pubkey(x, k) == 1 && X509_sign(x, k, NULL) > 0);
	*xo = x;
	*ko = k;
}

/* ---- eligibility ------------------------------------------------------------------------ */

static void
test_eku(void)
{
	struct fx f;
	struct c_spec both = {.eku = NULL}, server = {.eku = "serverAuth"},
	              client = {.eku = "clientAuth"}, none = {.eku = ""},
	              email = {.eku = "emailProtection,codeSigning"};
	char tb[CC_THUMB_LEN + 1], ts[CC_THUMB_LEN + 1], tc[CC_THUMB_LEN + 1], tn[CC_THUMB_LEN + 1],
	        te[CC_THUMB_LEN + 1];
	struct cc_selection *sel;

	fx_open(&f);
	add(&f, &both, tb);
	add(&f, &server, ts);
	add(&f, &client, tc);
	add(&f, &none, tn);
	add(&f, &email, te);
	sel = sel_new(&f, CC_SVC_UM, "");
	expect_candidate(sel, tb);
	expect_candidate(sel, ts);
	expect_candidate(sel, tn); /* no EKU: any purpose */
	expect_rejected(sel, tc, "extended key usage lacks serverAuth");
	expect_rejected(sel, te, "extended key usage lacks serverAuth");
	CU_ASSERT_EQUAL(cc_selection_candidate_count(sel), 3);
	CU_ASSERT_EQUAL(cc_selection_rejected_count(sel), 2);
	cc_selection_free(sel);
	fx_close(&f);
}

/* A selection holds its own references: it outlives the store's reload and the removal of the
 * certificates it names (ASan: no use after free). */
static void
test_outlives_reload(void)
{
	struct fx f;
	struct c_spec self = {.by = SELF}, rejected = {.eku = "clientAuth"};
	char ts[CC_THUMB_LEN + 1], tr[CC_THUMB_LEN + 1];
	struct cc_selection *sel;

	fx_open(&f);
	add(&f, &self, ts);
	add(&f, &rejected, tr);
	sel = sel_new(&f, CC_SVC_UM, "");
	CU_ASSERT_EQUAL_FATAL(cc_store_reload(f.s), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_store_remove(f.s, ts), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_store_remove(f.s, tr), CC_OK);
	CU_ASSERT_EQUAL(cc_store_count(f.s), 0);
	CU_ASSERT_STRING_EQUAL(cc_cert_thumbprint(cc_selection_selected(sel)), ts);
	CU_ASSERT_STRING_EQUAL(cc_cert_thumbprint(cc_selection_rejected(sel, 0)), tr);
	cc_selection_free(sel);
	fx_close(&f);
}

static void
test_key_size_and_type(void)
{
	struct fx f;
	struct c_spec r512 = {.by = SELF, .key = "rsa512"}, r1024 = {.by = SELF, .key = "rsa1024"},
	              r2048 = {.key = "rsa2048"}, ec384 = {.key = "ec384"};
	char t512[CC_THUMB_LEN + 1], t1024[CC_THUMB_LEN + 1], t2048[CC_THUMB_LEN + 1],
	        t384[CC_THUMB_LEN + 1], ted[CC_THUMB_LEN + 1], buf[256];
	struct cc_meta meta = {CC_SVC_UM, false, NULL, NULL};
	struct cc_selection *sel;
	struct cc_cert *c = NULL;
	X509 *x;
	EVP_PKEY *k;

	fx_open(&f);
	add(&f, &r512, t512);
	add(&f, &r1024, t1024);
	add(&f, &r2048, t2048);
	add(&f, &ec384, t384);
	make_ed25519("um.example.test", &x, &k);
	CU_ASSERT_EQUAL_FATAL(cc_store_add(f.s, x, NULL, k, &meta, ted), CC_OK);
	X509_free(x);
	EVP_PKEY_free(k);

	sel = sel_new(&f, CC_SVC_UM, "");
	expect_rejected(sel, t512, "RSA key of 512 bits (at least 1024 needed)");
	expect_candidate(sel, t1024); /* the boundary itself is eligible */
	expect_candidate(sel, t2048);
	expect_candidate(sel, t384);
	expect_rejected(sel, ted, "keys are not used for TLS here");

	/* The same answers from cc_cert_ineligible_reason (statuses were recorded). */
	CU_ASSERT_EQUAL_FATAL(cc_store_find(f.s, t1024, &c), CC_OK);
	CU_ASSERT_PTR_NULL(cc_cert_ineligible_reason(f.s, c, buf, sizeof(buf)));
	CU_ASSERT_EQUAL_FATAL(cc_store_find(f.s, t512, &c), CC_OK);
	CU_ASSERT_PTR_EQUAL(cc_cert_ineligible_reason(f.s, c, buf, sizeof(buf)), buf);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "512 bits"));
	cc_selection_free(sel);
	fx_close(&f);
}

static void
test_private_key(void)
{
	struct fx f;
	struct c_spec with = {0}, without = {.no_key = true}, pw = {.password_key = true};
	char tw[CC_THUMB_LEN + 1], to[CC_THUMB_LEN + 1], tp[CC_THUMB_LEN + 1];
	struct cc_selection *sel;

	fx_open(&f);
	add(&f, &with, tw);
	add(&f, &without, to);
	add(&f, &pw, tp);
	sel = sel_new(&f, CC_SVC_UM, "");
	expect_candidate(sel, tw);
	expect_rejected(sel, to, "no usable private key");
	CU_ASSERT_STRING_EQUAL(rejected_why(sel, to) ? rejected_why(sel, to) : "",
	                       "no usable private key");
	/* The store's own word on the key file. */
	expect_rejected(sel, tp, "no usable private key: ");
	expect_rejected(sel, tp, "password protected");
	cc_selection_free(sel);
	fx_close(&f);
}

static void
test_status_not_valid(void)
{
	struct fx f;
	long serial = 0x4001;
	struct c_spec good = {.serial = 0x4000}, revoked = {.serial = 0x4001},
	              expired = {.by = SELF, .nb = -60 * DAY, .na = -DAY},
	              future = {.by = SELF, .nb = DAY, .na = 30 * DAY},
	              untrusted = {.by = BY_STRANGER}, nocrl = {.by = BY_INTER};
	char tg[CC_THUMB_LEN + 1], tr[CC_THUMB_LEN + 1], te[CC_THUMB_LEN + 1], tf[CC_THUMB_LEN + 1],
	        tu[CC_THUMB_LEN + 1], tn[CC_THUMB_LEN + 1], p[PATH_MAX];
	struct cc_selection *sel;
	X509_CRL *crl;

	fx_open(&f);
	crl = tu_make_crl(f.root, f.rk, &serial, 1, -60, 7 * DAY);
	pathf(p, "%s/crl/root.crl", f.path);
	tu_write_crl(p, crl, true);
	X509_CRL_free(crl);
	add(&f, &good, tg);
	add(&f, &revoked, tr);
	add(&f, &expired, te);
	add(&f, &future, tf);
	add(&f, &untrusted, tu);
	add(&f, &nocrl, tn);
	sel = sel_new(&f, CC_SVC_UM, "");
	expect_candidate(sel, tg);
	expect_rejected(sel, tr, "status Revoked: certificate revoked");
	expect_rejected(sel, te, "status DateInvalid");
	expect_rejected(sel, te, "expired");
	expect_rejected(sel, tf, "status DateInvalid");
	expect_rejected(sel, tu, "status Untrusted");
	expect_rejected(sel, tn, "status Unknown");
	CU_ASSERT_EQUAL(cc_selection_candidate_count(sel), 1);
	cc_selection_free(sel);
	fx_close(&f);
}

/* ---- service and FQDN --------------------------------------------------------------------- */

static void
test_service_not_enabled(void)
{
	struct fx f;
	struct c_spec smtp = {.services = CC_SVC_SMTP}, um = {.services = CC_SVC_UM},
	              none = {.no_services = true};
	char ts[CC_THUMB_LEN + 1], tu[CC_THUMB_LEN + 1], tn[CC_THUMB_LEN + 1];
	struct cc_selection *sel;

	fx_open(&f);
	add(&f, &smtp, ts);
	add(&f, &um, tu);
	add(&f, &none, tn);
	sel = sel_new(&f, CC_SVC_UM, "");
	expect_candidate(sel, tu);
	expect_rejected(sel, ts, "service UM is not enabled (enabled: SMTP)");
	expect_rejected(sel, tn, "service UM is not enabled (enabled: None)");
	cc_selection_free(sel);
	sel = sel_new(&f, CC_SVC_SMTP, "");
	expect_candidate(sel, ts);
	expect_rejected(sel, tu, "service SMTP is not enabled (enabled: UM)");
	cc_selection_free(sel);
	/* Nothing enabled for IMAP: nothing selected. */
	sel = sel_new(&f, CC_SVC_IMAP, "");
	CU_ASSERT_PTR_NULL(cc_selection_selected(sel));
	CU_ASSERT_EQUAL(cc_selection_candidate_count(sel), 0);
	CU_ASSERT_EQUAL(cc_selection_rejected_count(sel), 3);
	expect_rejected(sel, ts, "IMAP is not enabled");
	cc_selection_free(sel);
	fx_close(&f);
}

static json_t *
to_json(const struct cc_selection *sel)
{
	char *text = NULL;
	json_t *j;
	json_error_t err;

	CU_ASSERT_EQUAL_FATAL(cc_selection_to_json(sel, &text), CC_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	j = json_loads(text, 0, &err);
	if (j == NULL)
		fprintf(stderr, "\n  JSON does not parse: %s: %s", err.text, text);
	free(text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_FATAL(json_is_object(j));
	return j;
}

static void
test_fqdn(void)
{
	struct fx f;
	static const char *const sans[] = {"um.example.test", "um1.example.test", NULL};
	static const char *const other_san[] = {"other.example.test", NULL};
	struct c_spec named = {.cn = "um.example.test", .sans = sans},
	              wild = {.cn = "*.example.test"},
	              cn_and_san = {.cn = "cn-only.example.test", .sans = other_san};
	char tn[CC_THUMB_LEN + 1], tw[CC_THUMB_LEN + 1], tc[CC_THUMB_LEN + 1];
	struct cc_selection *sel;

	fx_open(&f);
	add(&f, &named, tn);
	add(&f, &wild, tw);
	add(&f, &cn_and_san, tc);

	sel = sel_new(&f, CC_SVC_UM, "um1.example.test");
	expect_candidate(sel, tn);
	expect_candidate(sel, tw);
	expect_rejected(sel, tc,
	                "um1.example.test is not in CertificateDomains "
	                "{cn-only.example.test, other.example.test}");
	cc_selection_free(sel);

	/* The wildcard covers one label only, and not the bare parent. */
	sel = sel_new(&f, CC_SVC_UM, "a.b.example.test");
	expect_rejected(sel, tw, "a.b.example.test is not in CertificateDomains {*.example.test}");
	expect_rejected(sel, tn, "not in CertificateDomains {um.example.test, um1.example.test}");
	CU_ASSERT_EQUAL(cc_selection_candidate_count(sel), 0);
	CU_ASSERT_PTR_NULL(cc_selection_selected(sel));
	cc_selection_free(sel);
	sel = sel_new(&f, CC_SVC_UM, "example.test");
	expect_rejected(sel, tw, "not in CertificateDomains");
	cc_selection_free(sel);

	/* Case does not matter; the CN counts even when there are SANs. */
	sel = sel_new(&f, CC_SVC_UM, "UM.Example.TEST");
	expect_candidate(sel, tn);
	expect_candidate(sel, tw);
	cc_selection_free(sel);
	sel = sel_new(&f, CC_SVC_UM, "cn-only.example.test");
	expect_candidate(sel, tc);
	expect_candidate(sel, tw);
	expect_rejected(sel, tn, "not in CertificateDomains");
	cc_selection_free(sel);

	/* "": any name, no host filter; the name used is none. */
	sel = sel_new(&f, CC_SVC_UM, "");
	CU_ASSERT_EQUAL(cc_selection_candidate_count(sel), 3);
	CU_ASSERT_PTR_NULL(cc_selection_fqdn(sel));
	cc_selection_free(sel);
	sel = sel_new(&f, CC_SVC_UM, "um1.example.test");
	CU_ASSERT_STRING_EQUAL(cc_selection_fqdn(sel), "um1.example.test");
	cc_selection_free(sel);

	/*
	 * NULL: the server's own FQDN, as certctl select without --fqdn and
	 * cc_store_select_or_create use it; the selection (and its JSON) names it.
	 */
	{
		char *host = NULL, *shortname = NULL, th[CC_THUMB_LEN + 1], want[512];
		struct c_spec mine;
		json_t *j;

		CU_ASSERT_EQUAL_FATAL(cc_host_names(&host, &shortname), CC_OK);
		memset(&mine, 0, sizeof(mine));
		mine.cn = host;
		add(&f, &mine, th);
		sel = sel_new(&f, CC_SVC_UM, NULL);
		CU_ASSERT_PTR_NOT_NULL_FATAL(cc_selection_fqdn(sel));
		CU_ASSERT_STRING_EQUAL(cc_selection_fqdn(sel), host);
		expect_candidate(sel, th);
		snprintf(want, sizeof(want), "%s is not in CertificateDomains", host);
		expect_rejected(sel, tn, want);
		j = to_json(sel);
		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "fqdn")), host);
		json_decref(j);
		cc_selection_free(sel);
		free(host);
		free(shortname);
	}
	fx_close(&f);
}

/* ---- order ------------------------------------------------------------------------------ */

static void
test_smtp_order(void)
{
	struct fx f;
	/* The newest NotBefore is self-signed: CA-issued still come first. */
	struct c_spec ca_old = {.nb = -10 * DAY}, ca_new = {.nb = -2 * DAY},
	              ss_newest = {.by = SELF, .nb = -3600}, ss_old = {.by = SELF, .nb = -5 * DAY};
	char a[CC_THUMB_LEN + 1], b[CC_THUMB_LEN + 1], c[CC_THUMB_LEN + 1], d[CC_THUMB_LEN + 1];
	const char *want[4];
	static const enum cc_service same_rule[] = {CC_SVC_SMTP, CC_SVC_POP, CC_SVC_IMAP,
	                                            CC_SVC_IIS, CC_SVC_LDAP};
	struct cc_selection *sel;
	size_t i;

	fx_open(&f);
	ca_old.services = ca_new.services = ss_newest.services = ss_old.services = CC_SVC_ALL;
	add(&f, &ca_old, a);
	add(&f, &ss_newest, c);
	add(&f, &ca_new, b);
	add(&f, &ss_old, d);
	want[0] = b;
	want[1] = a;
	want[2] = c;
	want[3] = d;
	for (i = 0; i < sizeof(same_rule) / sizeof(same_rule[0]); i++) {
		sel = sel_new(&f, same_rule[i], "um.example.test");
		expect_order(sel, want, 4);
		cc_selection_free(sel);
	}
	fx_close(&f);
}

static void
test_um_order(void)
{
	struct fx f;
	/* NotBefore in the opposite order to NotAfter, so the SMTP rule would answer otherwise. */
	struct c_spec ca_long = {.nb = -3 * DAY, .na = 400 * DAY},
	              ca_short = {.nb = -3600, .na = 30 * DAY},
	              ss_long = {.by = SELF, .nb = -2 * 3600, .na = 800 * DAY},
	              ss_short = {.by = SELF, .nb = -3 * 3600, .na = 60 * DAY};
	char a[CC_THUMB_LEN + 1], b[CC_THUMB_LEN + 1], c[CC_THUMB_LEN + 1], d[CC_THUMB_LEN + 1];
	const char *um[4], *smtp[4];
	struct cc_selection *sel;

	fx_open(&f);
	add(&f, &ss_short, d);
	add(&f, &ca_short, b);
	add(&f, &ss_long, c);
	add(&f, &ca_long, a);
	um[0] = a; /* CA-issued, longest */
	um[1] = b; /* CA-issued, shorter */
	um[2] = c; /* self-signed, longest (longer than either CA-issued one) */
	um[3] = d; /* self-signed, shortest */
	sel = sel_new(&f, CC_SVC_UM, "um.example.test");
	expect_order(sel, um, 4);
	CU_ASSERT_STRING_EQUAL(cc_cert_thumbprint(cc_selection_selected(sel)), a);
	cc_selection_free(sel);
	smtp[0] = b;
	smtp[1] = a;
	smtp[2] = c;
	smtp[3] = d;
	sel = sel_new(&f, CC_SVC_SMTP, "um.example.test");
	expect_order(sel, smtp, 4);
	cc_selection_free(sel);
	fx_close(&f);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void
test_ties_by_thumbprint(void)
{
	struct fx f;
	/* Same base time and offsets: the same NotBefore and NotAfter to the second. */
	struct c_spec s1 = {.by = SELF, .cn = "tie.example.test"},
	              s2 = {.by = SELF, .cn = "tie.example.test"},
	              s3 = {.by = SELF, .cn = "tie.example.test"}, ca1 = {.cn = "tie.example.test"},
	              ca2 = {.cn = "tie.example.test"};
	char t[5][CC_THUMB_LEN + 1];
	const char *want[5];
	struct cc_selection *sel;
	struct cc_cert *x, *y;
	int pass, i;

	fx_open(&f);
	add(&f, &s1, t[0]);
	add(&f, &s2, t[1]);
	add(&f, &s3, t[2]);
	add(&f, &ca1, t[3]);
	add(&f, &ca2, t[4]);
	/* CA-issued first, each group in thumbprint order. */
	want[0] = t[3];
	want[1] = t[4];
	for (i = 0; i < 3; i++)
		want[2 + i] = t[i];
	qsort(want, 2, sizeof(want[0]), cmp_str);
	qsort(want + 2, 3, sizeof(want[0]), cmp_str);
	for (pass = 0; pass < 2; pass++) {
		sel = sel_new(&f, pass ? CC_SVC_SMTP : CC_SVC_UM, "tie.example.test");
		expect_order(sel, want, 5);
		/* The tie really is one: same dates. */
		x = cc_selection_candidate(sel, 2);
		y = cc_selection_candidate(sel, 4);
		CU_ASSERT_FATAL(x != NULL && y != NULL);
		CU_ASSERT_EQUAL(cc_cert_not_before(x), cc_cert_not_before(y));
		CU_ASSERT_EQUAL(cc_cert_not_after(x), cc_cert_not_after(y));
		cc_selection_free(sel);
	}
	fx_close(&f);
}

/* ---- JSON, no certificates, bad arguments -------------------------------------------------- */

static const char *const props[] = {
        "Thumbprint", "Subject",      "Issuer",        "CertificateDomains",   "NotBefore",
        "NotAfter",   "SerialNumber", "PublicKeySize", "HasPrivateKey",        "IsSelfSigned",
        "RootCAType", "Services",     "Status",        "PrivateKeyExportable", "FriendlyName"};

static void
test_json(void)
{
	struct fx f;
	struct c_spec ca = {.na = 400 * DAY}, ss = {.by = SELF},
	              smtp_only = {.services = CC_SVC_SMTP}, client = {.eku = "clientAuth"};
	char tca[CC_THUMB_LEN + 1], tss[CC_THUMB_LEN + 1], tsm[CC_THUMB_LEN + 1],
	        tcl[CC_THUMB_LEN + 1];
	struct cc_selection *sel;
	json_t *j, *cand, *rej, *o, *v;
	size_t i, k;

	fx_open(&f);
	add(&f, &ca, tca);
	add(&f, &ss, tss);
	add(&f, &smtp_only, tsm);
	add(&f, &client, tcl);
	sel = sel_new(&f, CC_SVC_UM, "um.example.test");
	j = to_json(sel);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "service")), "UM");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "fqdn")), "um.example.test");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "selected")), tca);
	CU_ASSERT_EQUAL(json_object_size(j), 5);

	cand = json_object_get(j, "candidates");
	CU_ASSERT_FATAL(json_is_array(cand));
	CU_ASSERT_EQUAL_FATAL(json_array_size(cand), cc_selection_candidate_count(sel));
	CU_ASSERT_EQUAL(json_array_size(cand), 2);
	for (i = 0; i < json_array_size(cand); i++) {
		o = json_array_get(cand, i);
		CU_ASSERT_FATAL(json_is_object(o));
		/* Full property objects, as certctl get prints them. */
		for (k = 0; k < sizeof(props) / sizeof(props[0]); k++) {
			CU_ASSERT_PTR_NOT_NULL(json_object_get(o, props[k]));
			if (json_object_get(o, props[k]) == NULL)
				fprintf(stderr, "\n  candidate %zu lacks %s", i, props[k]);
		}
		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "Thumbprint")),
		                       cc_cert_thumbprint(cc_selection_candidate(sel, i)));
		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "Status")), "Valid");
		CU_ASSERT_TRUE(json_is_true(json_object_get(o, "HasPrivateKey")));
	}
	/* The selected one first; its RootCAType is the folder's, the self-signed one None. */
	o = json_array_get(cand, 0);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "Thumbprint")), tca);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "RootCAType")), "Enterprise");
	CU_ASSERT_TRUE(json_is_false(json_object_get(o, "IsSelfSigned")));
	o = json_array_get(cand, 1);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "Thumbprint")), tss);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "RootCAType")), "None");

	rej = json_object_get(j, "rejected");
	CU_ASSERT_FATAL(json_is_array(rej));
	CU_ASSERT_EQUAL_FATAL(json_array_size(rej), cc_selection_rejected_count(sel));
	CU_ASSERT_EQUAL(json_array_size(rej), 2);
	for (i = 0; i < json_array_size(rej); i++) {
		o = json_array_get(rej, i);
		CU_ASSERT_FATAL(json_is_object(o));
		CU_ASSERT_EQUAL(json_object_size(o), 2);
		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "Thumbprint")),
		                       cc_cert_thumbprint(cc_selection_rejected(sel, i)));
		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "reason")),
		                       cc_selection_rejected_reason(sel, i));
		v = json_object_get(o, "Thumbprint");
		if (strcmp(json_string_value(v), tsm) == 0) {
			CU_ASSERT_PTR_NOT_NULL(
			        strstr(json_string_value(json_object_get(o, "reason")),
			               "UM is not enabled"));
		} else {
			CU_ASSERT_STRING_EQUAL(json_string_value(v), tcl);
		}
	}
	json_decref(j);
	cc_selection_free(sel);

	/* Any name (""): null; nothing eligible: selected null, candidates []. */
	sel = sel_new(&f, CC_SVC_POP, "");
	j = to_json(sel);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "service")), "POP");
	CU_ASSERT_TRUE(json_is_null(json_object_get(j, "fqdn")));
	CU_ASSERT_TRUE(json_is_null(json_object_get(j, "selected")));
	CU_ASSERT_TRUE(json_is_array(json_object_get(j, "candidates")));
	CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "candidates")), 0);
	CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "rejected")), 4);
	json_decref(j);
	cc_selection_free(sel);
	fx_close(&f);
}

static void
test_no_certificates(void)
{
	struct fx f;
	struct cc_selection *sel;
	json_t *j;

	fx_open(&f);
	sel = sel_new(&f, CC_SVC_UM, "um.example.test");
	CU_ASSERT_PTR_NULL(cc_selection_selected(sel));
	CU_ASSERT_EQUAL(cc_selection_candidate_count(sel), 0);
	CU_ASSERT_EQUAL(cc_selection_rejected_count(sel), 0);
	CU_ASSERT_PTR_NULL(cc_selection_candidate(sel, 0));
	CU_ASSERT_PTR_NULL(cc_selection_rejected(sel, 0));
	CU_ASSERT_PTR_NULL(cc_selection_rejected_reason(sel, 0));
	j = to_json(sel);
	CU_ASSERT_TRUE(json_is_null(json_object_get(j, "selected")));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "fqdn")), "um.example.test");
	CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "candidates")), 0);
	CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "rejected")), 0);
	json_decref(j);
	cc_selection_free(sel);
	cc_selection_free(NULL);
	fx_close(&f);
}

static void
test_one_service(void)
{
	struct fx f;
	struct cc_selection *sel = (struct cc_selection *)1;

	fx_open(&f);
	CU_ASSERT_EQUAL(cc_store_select(f.s, CC_SVC_NONE, NULL, &f.o, &sel), CC_ERR_INVAL);
	CU_ASSERT_PTR_NULL(sel);
	sel = (struct cc_selection *)1;
	CU_ASSERT_EQUAL(cc_store_select(f.s, CC_SVC_UM | CC_SVC_SMTP, NULL, &f.o, &sel),
	                CC_ERR_INVAL);
	CU_ASSERT_PTR_NULL(sel);
	CU_ASSERT_EQUAL(cc_store_select(f.s, (enum cc_service)(1 << 9), NULL, &f.o, &sel),
	                CC_ERR_INVAL);
	CU_ASSERT_EQUAL(cc_store_select(f.s, CC_SVC_ALL, NULL, &f.o, &sel), CC_ERR_INVAL);
	fx_close(&f);
}

static CU_TestInfo tests[] = {
        {"EKU: serverAuth or none eligible; clientAuth only not", test_eku},
        {"a selection outlives a reload of its store", test_outlives_reload},
        {"keys: RSA 512 no, 1024 yes (boundary), EC yes, Ed25519 no", test_key_size_and_type},
        {"private key: missing, password protected (store's word)", test_private_key},
        {"status not Valid: Revoked, DateInvalid, Untrusted, RCF", test_status_not_valid},
        {"service not enabled", test_service_not_enabled},
        {"FQDN: SAN, CN with SANs, wildcard one label, case", test_fqdn},
        {"SMTP/POP/IMAP/IIS/LDAP: CA-issued first, newest NotBefore", test_smtp_order},
        {"UM: CA longest, CA shorter, self-signed longest, shortest", test_um_order},
        {"ties broken by thumbprint", test_ties_by_thumbprint},
        {"JSON: service, fqdn, selected, candidates, rejected", test_json},
        {"no certificates: nothing selected", test_no_certificates},
        {"one service bit at a time", test_one_service},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("select", tests);
}
