/*
 * trust.c: the trust folders of a store (registry, enterprise, grouppolicy) and the bundle
 * (ThirdParty). Root types parsed; only self-signed CA certificates added; add, list and
 * remove; each root's type is the folder holding it; bad files are problems, not failures.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

#define DAY 86400L

/* ---- helpers ---------------------------------------------------------------------------- */

struct fx {
	char *dir;           /* temporary directory, removed at the end */
	char path[PATH_MAX]; /* the store: dir/store */
	struct cc_store *s;
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
	memset(f, 0, sizeof(*f));
	unsetenv("UMEDGE_CA_BUNDLE");
	f->dir = tu_tmpdir();
	pathf(f->path, "%s/store", f->dir);
	CU_ASSERT_EQUAL_FATAL(cc_store_open(f->path, CC_STORE_CREATE, &f->s), CC_OK);
}

static void
fx_close(struct fx *f)
{
	cc_store_free(f->s);
	tu_rmrf(f->dir);
	free(f->dir);
	memset(f, 0, sizeof(*f));
}

/* A self-signed CA root (EC P-256). */
static void
make_root(const char *cn, X509 **x, EVP_PKEY **k)
{
	struct tu_cert_spec spec;

	memset(&spec, 0, sizeof(spec));
	spec.cn = cn;
	spec.key = "ec256";
	spec.ca = true;
	spec.eku = "";
	spec.not_before_offset = -DAY;
	spec.not_after_offset = 3650 * DAY;
	tu_make_cert(&spec, x, k);
}

/* A leaf issued by `issuer`. */
static void
make_leaf(const char *cn, X509 *issuer, EVP_PKEY *issuer_key, X509 **x, EVP_PKEY **k)
{
	struct tu_cert_spec spec;
	const char *sans[] = {cn, NULL};

	memset(&spec, 0, sizeof(spec));
	spec.cn = cn;
	spec.sans = sans;
	spec.key = "ec256";
	spec.issuer = issuer;
	spec.issuer_key = issuer_key;
	spec.not_before_offset = -3600;
	tu_make_cert(&spec, x, k);
}

static void
thumb_of(X509 *x, char thumb[CC_THUMB_LEN + 1])
{
	struct cc_cert *c = NULL;

	CU_ASSERT_EQUAL_FATAL(cc_cert_new(x, NULL, NULL, NULL, &c), CC_OK);
	memcpy(thumb, cc_cert_thumbprint(c), CC_THUMB_LEN + 1);
	cc_cert_free(c);
}

/* Thumbprint in lower case with colons, as a person might paste it. */
static void
messy_thumb(const char *thumb, char out[3 * CC_THUMB_LEN])
{
	size_t i, o = 0;

	for (i = 0; i < CC_THUMB_LEN; i++) {
		if (i > 0 && i % 2 == 0)
			out[o++] = ':';
		out[o++] = (char)(thumb[i] >= 'A' && thumb[i] <= 'F' ? thumb[i] - 'A' + 'a'
		                                                     : thumb[i]);
	}
	out[o] = '\0';
}

static bool
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static bool
root_file(const struct fx *f, const char *folder, const char *thumb)
{
	char p[PATH_MAX];

	pathf(p, "%s/trust/%s/%s.pem", f->path, folder, thumb);
	return exists(p);
}

/* Number of plain entries in a trust folder. */
static int
folder_entries(const struct fx *f, const char *folder)
{
	char cmd[PATH_MAX + 64];
	char p[PATH_MAX];
	int n = 0;
	FILE *pp;

	pathf(p, "%s/trust/%s", f->path, folder);
	snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", p);
	if ((pp = popen(cmd, "r")) == NULL)
		return -1;
	if (fscanf(pp, "%d", &n) != 1)
		n = -1;
	pclose(pp);
	return n;
}

static struct cc_trust *
load(const struct fx *f, const char *bundle)
{
	struct cc_trust *t = NULL;
	enum cc_err r = cc_trust_load(f->s, bundle, &t);

	if (r != CC_OK)
		fprintf(stderr, "\n  cc_trust_load: %s: %s", cc_strerror(r), cc_errdetail());
	CU_ASSERT_EQUAL_FATAL(r, CC_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	return t;
}

static void
dump_problems(const struct cc_trust *t)
{
	size_t i;

	for (i = 0; i < cc_trust_problem_count(t); i++)
		fprintf(stderr, "\n    trust problem: %s", cc_trust_problem(t, i));
}

/* Index of the one problem naming `part` (-1: none). */
static long
problem_naming(const struct cc_trust *t, const char *part)
{
	size_t i;
	long found = -1;

	for (i = 0; i < cc_trust_problem_count(t); i++) {
		if (strstr(cc_trust_problem(t, i), part) == NULL)
			continue;
		CU_ASSERT_EQUAL(found, -1);
		found = (long)i;
	}
	return found;
}

/* "PATH: reason": the problem names the file first and says something after it. */
static void
expect_problem(const struct cc_trust *t, const char *path, const char *why)
{
	long i = problem_naming(t, path);
	const char *p;

	CU_ASSERT(i >= 0);
	if (i < 0) {
		fprintf(stderr, "\n  no trust problem names %s", path);
		dump_problems(t);
		return;
	}
	p = cc_trust_problem(t, (size_t)i);
	CU_ASSERT_EQUAL(strncmp(p, path, strlen(path)), 0);
	CU_ASSERT_EQUAL(strncmp(p + strlen(path), ": ", 2), 0);
	CU_ASSERT(strlen(p) > strlen(path) + 2);
	if (why != NULL && strcasestr(p, why) == NULL) {
		CU_FAIL("trust problem does not say why");
		fprintf(stderr, "\n  \"%s\" lacks \"%s\"", p, why);
	}
}

/* The trust snapshot holds `x` once, with type `type`. */
static void
expect_root(const struct cc_trust *t, X509 *x, enum cc_root_ca_type type)
{
	size_t i, n = 0;

	for (i = 0; i < cc_trust_count(t); i++) {
		if (X509_cmp(cc_trust_cert(t, i), x) != 0)
			continue;
		n++;
		CU_ASSERT_EQUAL(cc_trust_type(t, i), type);
	}
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(cc_trust_type_of(t, x), type);
	if (cc_trust_type_of(t, x) != type)
		fprintf(stderr, "\n  root is %s, expected %s",
		        cc_root_ca_type_name(cc_trust_type_of(t, x)), cc_root_ca_type_name(type));
}

/* ---- cc_root_ca_type_parse ------------------------------------------------------------- */

static void
test_type_parse(void)
{
	static const struct {
		const char *in;
		enum cc_root_ca_type want;
	} good[] = {
	        {"registry", CC_ROOT_REGISTRY},        {"Registry", CC_ROOT_REGISTRY},
	        {"REGISTRY", CC_ROOT_REGISTRY},        {"enterprise", CC_ROOT_ENTERPRISE},
	        {"Enterprise", CC_ROOT_ENTERPRISE},    {"grouppolicy", CC_ROOT_GROUP_POLICY},
	        {"GroupPolicy", CC_ROOT_GROUP_POLICY}, {"GROUPPOLICY", CC_ROOT_GROUP_POLICY},
	};
	/* ThirdParty comes from the system bundle, never from a store folder. */
	static const char *const bad[] = {
	        "thirdparty",   "ThirdParty", "None",    "Unknown",     "",
	        "registry ",    " registry",  "registr", "enterprises", "group policy",
	        "group-policy", "1"};
	enum cc_root_ca_type t;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		t = CC_ROOT_UNKNOWN;
		CU_ASSERT_EQUAL(cc_root_ca_type_parse(good[i].in, &t), CC_OK);
		CU_ASSERT_EQUAL(t, good[i].want);
		if (t != good[i].want)
			fprintf(stderr, "\n  \"%s\" parsed as %s", good[i].in,
			        cc_root_ca_type_name(t));
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = CC_ROOT_NONE;
		CU_ASSERT_EQUAL(cc_root_ca_type_parse(bad[i], &t), CC_ERR_INVAL);
		CU_ASSERT_EQUAL(t, CC_ROOT_NONE); /* untouched on failure */
		CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "registry, enterprise, grouppolicy"));
		if (t != CC_ROOT_NONE)
			fprintf(stderr, "\n  \"%s\" was accepted", bad[i]);
	}
	t = CC_ROOT_NONE;
	CU_ASSERT_EQUAL(cc_root_ca_type_parse(NULL, &t), CC_ERR_INVAL);
	CU_ASSERT_EQUAL(t, CC_ROOT_NONE);
}

/* ---- cc_store_trust_add refusals -------------------------------------------------------- */

static void
test_add_refuses_non_roots(void)
{
	struct fx f;
	struct tu_cert_spec spec;
	X509 *root, *leaf, *inter, *notca;
	EVP_PKEY *rk, *lk, *ik, *nk;
	char thumb[CC_THUMB_LEN + 1];

	fx_open(&f);
	make_root("Refusal Root", &root, &rk);
	make_leaf("leaf.example.test", root, rk, &leaf, &lk);

	/* A leaf issued by a CA is not a trust anchor. */
	memset(thumb, 'x', sizeof(thumb));
	CU_ASSERT_EQUAL(cc_store_trust_add(f.s, leaf, CC_ROOT_ENTERPRISE, thumb), CC_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "not a self-signed root"));
	CU_ASSERT_EQUAL(thumb[0], '\0');

	/* Nor is an intermediate CA: CA:TRUE, but issued by another. */
	memset(&spec, 0, sizeof(spec));
	spec.cn = "Refusal Intermediate";
	spec.key = "ec256";
	spec.ca = true;
	spec.issuer = root;
	spec.issuer_key = rk;
	tu_make_cert(&spec, &inter, &ik);
	CU_ASSERT_EQUAL(cc_store_trust_add(f.s, inter, CC_ROOT_REGISTRY, NULL), CC_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "not a self-signed root"));

	/* Self-signed but basicConstraints CA:FALSE: a self-signed server certificate. */
	memset(&spec, 0, sizeof(spec));
	spec.cn = "selfsigned.example.test";
	spec.key = "ec256";
	tu_make_cert(&spec, &notca, &nk);
	CU_ASSERT_EQUAL(cc_store_trust_add(f.s, notca, CC_ROOT_GROUP_POLICY, thumb), CC_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "CA:FALSE"));
	CU_ASSERT_EQUAL(thumb[0], '\0');

	/* A good root, but to a folder that does not exist: ThirdParty is the bundle's. */
	CU_ASSERT_EQUAL(cc_store_trust_add(f.s, root, CC_ROOT_THIRD_PARTY, NULL), CC_ERR_INVAL);
	CU_ASSERT_EQUAL(cc_store_trust_add(f.s, root, CC_ROOT_NONE, NULL), CC_ERR_INVAL);
	CU_ASSERT_EQUAL(cc_store_trust_add(f.s, root, CC_ROOT_UNKNOWN, NULL), CC_ERR_INVAL);
	CU_ASSERT_EQUAL(cc_store_trust_add(f.s, root, (enum cc_root_ca_type)99, NULL),
	                CC_ERR_INVAL);

	/* Nothing refused was written. */
	CU_ASSERT_EQUAL(folder_entries(&f, "registry"), 0);
	CU_ASSERT_EQUAL(folder_entries(&f, "enterprise"), 0);
	CU_ASSERT_EQUAL(folder_entries(&f, "grouppolicy"), 0);

	/* The same root is taken where it belongs. */
	CU_ASSERT_EQUAL(cc_store_trust_add(f.s, root, CC_ROOT_ENTERPRISE, thumb), CC_OK);
	CU_ASSERT_EQUAL(strlen(thumb), CC_THUMB_LEN);
	CU_ASSERT_EQUAL(folder_entries(&f, "enterprise"), 1);

	X509_free(root);
	X509_free(leaf);
	X509_free(inter);
	X509_free(notca);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(lk);
	EVP_PKEY_free(ik);
	EVP_PKEY_free(nk);
	fx_close(&f);
}

/* ---- add, list, remove ------------------------------------------------------------------ */

static void
test_add_list_remove(void)
{
	struct fx f;
	X509 *reg, *ent, *gp, *other;
	EVP_PKEY *k1, *k2, *k3, *k4;
	char t_reg[CC_THUMB_LEN + 1], t_ent[CC_THUMB_LEN + 1], t_gp[CC_THUMB_LEN + 1];
	char want[CC_THUMB_LEN + 1], messy[3 * CC_THUMB_LEN];
	struct cc_trust *t;
	char *pem, *file;
	char p[PATH_MAX];
	size_t i;

	fx_open(&f);
	make_root("Registry Root", &reg, &k1);
	make_root("Enterprise Root", &ent, &k2);
	make_root("GroupPolicy Root", &gp, &k3);
	make_root("Never Added Root", &other, &k4);

	/* An empty store trusts nothing (and without a bundle, nothing at all). */
	t = load(&f, "");
	CU_ASSERT_EQUAL(cc_trust_count(t), 0);
	CU_ASSERT_EQUAL(cc_trust_problem_count(t), 0);
	CU_ASSERT_PTR_NULL(cc_trust_cert(t, 0));
	CU_ASSERT_EQUAL(cc_trust_type(t, 0), CC_ROOT_UNKNOWN);
	cc_trust_free(t);

	CU_ASSERT_EQUAL_FATAL(cc_store_trust_add(f.s, reg, CC_ROOT_REGISTRY, t_reg), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_store_trust_add(f.s, ent, CC_ROOT_ENTERPRISE, t_ent), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_store_trust_add(f.s, gp, CC_ROOT_GROUP_POLICY, t_gp), CC_OK);
	thumb_of(reg, want);
	CU_ASSERT_STRING_EQUAL(t_reg, want);
	thumb_of(ent, want);
	CU_ASSERT_STRING_EQUAL(t_ent, want);
	thumb_of(gp, want);
	CU_ASSERT_STRING_EQUAL(t_gp, want);

	/* Each in its folder, as THUMB.pem holding that certificate. */
	CU_ASSERT_TRUE(root_file(&f, "registry", t_reg));
	CU_ASSERT_TRUE(root_file(&f, "enterprise", t_ent));
	CU_ASSERT_TRUE(root_file(&f, "grouppolicy", t_gp));
	CU_ASSERT_FALSE(root_file(&f, "enterprise", t_reg));
	pathf(p, "%s/trust/enterprise/%s.pem", f.path, t_ent);
	file = tu_read_file(p, NULL);
	pem = tu_cert_pem(ent);
	CU_ASSERT_PTR_NOT_NULL_FATAL(file);
	CU_ASSERT_STRING_EQUAL(file, pem);
	free(file);
	free(pem);

	/* The list: every root once, typed by its folder; a root not added has no type. */
	t = load(&f, "");
	CU_ASSERT_EQUAL(cc_trust_count(t), 3);
	CU_ASSERT_EQUAL(cc_trust_problem_count(t), 0);
	expect_root(t, reg, CC_ROOT_REGISTRY);
	expect_root(t, ent, CC_ROOT_ENTERPRISE);
	expect_root(t, gp, CC_ROOT_GROUP_POLICY);
	CU_ASSERT_EQUAL(cc_trust_type_of(t, other), CC_ROOT_UNKNOWN);
	CU_ASSERT_EQUAL(cc_trust_type_of(t, NULL), CC_ROOT_UNKNOWN);
	for (i = 0; i < cc_trust_count(t); i++)
		CU_ASSERT_PTR_NOT_NULL(cc_trust_cert(t, i));
	CU_ASSERT_PTR_NULL(cc_trust_cert(t, 3));
	CU_ASSERT_EQUAL(cc_trust_type(t, 3), CC_ROOT_UNKNOWN);
	cc_trust_free(t);

	/* Adding again is idempotent. */
	CU_ASSERT_EQUAL(cc_store_trust_add(f.s, ent, CC_ROOT_ENTERPRISE, NULL), CC_OK);
	CU_ASSERT_EQUAL(folder_entries(&f, "enterprise"), 1);

	/* Remove takes a thumbprint as a person types it. */
	messy_thumb(t_ent, messy);
	CU_ASSERT_EQUAL(cc_store_trust_remove(f.s, messy), CC_OK);
	CU_ASSERT_FALSE(root_file(&f, "enterprise", t_ent));
	t = load(&f, "");
	CU_ASSERT_EQUAL(cc_trust_count(t), 2);
	CU_ASSERT_EQUAL(cc_trust_type_of(t, ent), CC_ROOT_UNKNOWN);
	expect_root(t, reg, CC_ROOT_REGISTRY);
	expect_root(t, gp, CC_ROOT_GROUP_POLICY);
	cc_trust_free(t);

	/* Removing what is not there: NOT_FOUND, naming it; a non-thumbprint: INVAL. */
	CU_ASSERT_EQUAL(cc_store_trust_remove(f.s, t_ent), CC_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), t_ent));
	thumb_of(other, want);
	CU_ASSERT_EQUAL(cc_store_trust_remove(f.s, want), CC_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(cc_store_trust_remove(f.s, "not a thumbprint"), CC_ERR_INVAL);
	CU_ASSERT_EQUAL(cc_store_trust_remove(f.s, ""), CC_ERR_INVAL);
	CU_ASSERT_EQUAL(cc_store_trust_remove(f.s, NULL), CC_ERR_INVAL);
	CU_ASSERT_TRUE(root_file(&f, "registry", t_reg));
	CU_ASSERT_TRUE(root_file(&f, "grouppolicy", t_gp));

	CU_ASSERT_EQUAL(cc_store_trust_remove(f.s, t_reg), CC_OK);
	CU_ASSERT_EQUAL(cc_store_trust_remove(f.s, t_gp), CC_OK);
	t = load(&f, "");
	CU_ASSERT_EQUAL(cc_trust_count(t), 0);
	cc_trust_free(t);

	X509_free(reg);
	X509_free(ent);
	X509_free(gp);
	X509_free(other);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k3);
	EVP_PKEY_free(k4);
	fx_close(&f);
}

/* The same root in two folders: listed once (the first folder wins), removed from both. */
static void
test_same_root_two_folders(void)
{
	struct fx f;
	X509 *root;
	EVP_PKEY *k;
	char thumb[CC_THUMB_LEN + 1];
	struct cc_trust *t;

	fx_open(&f);
	make_root("Twice Root", &root, &k);
	CU_ASSERT_EQUAL_FATAL(cc_store_trust_add(f.s, root, CC_ROOT_GROUP_POLICY, thumb), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_store_trust_add(f.s, root, CC_ROOT_REGISTRY, NULL), CC_OK);
	t = load(&f, "");
	CU_ASSERT_EQUAL(cc_trust_count(t), 1);
	expect_root(t, root, CC_ROOT_REGISTRY);
	cc_trust_free(t);

	CU_ASSERT_EQUAL(cc_store_trust_remove(f.s, thumb), CC_OK);
	CU_ASSERT_FALSE(root_file(&f, "registry", thumb));
	CU_ASSERT_FALSE(root_file(&f, "grouppolicy", thumb));
	t = load(&f, "");
	CU_ASSERT_EQUAL(cc_trust_count(t), 0);
	cc_trust_free(t);
	CU_ASSERT_EQUAL(cc_store_trust_remove(f.s, thumb), CC_ERR_NOT_FOUND);

	X509_free(root);
	EVP_PKEY_free(k);
	fx_close(&f);
}

/* ---- the bundle: ThirdParty ------------------------------------------------------------- */

static void
test_bundle_third_party(void)
{
	struct fx f;
	X509 *b1, *b2, *both;
	EVP_PKEY *k1, *k2, *k3;
	char bundle[PATH_MAX], missing[PATH_MAX];
	char *p1, *p2, *p3, *all;
	struct cc_trust *t;
	X509_STORE *st = NULL;

	fx_open(&f);
	make_root("Bundle Root One", &b1, &k1);
	make_root("Bundle Root Two", &b2, &k2);
	make_root("Bundle And Enterprise Root", &both, &k3);
	p1 = tu_cert_pem(b1);
	p2 = tu_cert_pem(b2);
	p3 = tu_cert_pem(both);
	/* A bundle as ca-certificates writes it: PEM blocks, text between them. */
	CU_ASSERT_FATAL(asprintf(&all, "# one\n%s\n# two\n%s%s", p1, p2, p3) > 0);
	pathf(bundle, "%s/bundle.crt", f.dir);
	tu_write_file(bundle, all, strlen(all), 0644);

	t = load(&f, bundle);
	CU_ASSERT_EQUAL(cc_trust_count(t), 3);
	CU_ASSERT_EQUAL(cc_trust_problem_count(t), 0);
	expect_root(t, b1, CC_ROOT_THIRD_PARTY);
	expect_root(t, b2, CC_ROOT_THIRD_PARTY);
	expect_root(t, both, CC_ROOT_THIRD_PARTY);
	/* An X509_STORE holding each root. */
	CU_ASSERT_EQUAL(cc_trust_x509_store(t, &st), CC_OK);
	CU_ASSERT_PTR_NOT_NULL(st);
	if (st != NULL)
		CU_ASSERT_EQUAL(sk_X509_OBJECT_num(X509_STORE_get0_objects(st)), 3);
	X509_STORE_free(st);
	cc_trust_free(t);

	/* A root both in a store folder and in the bundle: the folder's type, listed once. */
	CU_ASSERT_EQUAL_FATAL(cc_store_trust_add(f.s, both, CC_ROOT_ENTERPRISE, NULL), CC_OK);
	t = load(&f, bundle);
	CU_ASSERT_EQUAL(cc_trust_count(t), 3);
	expect_root(t, both, CC_ROOT_ENTERPRISE);
	expect_root(t, b1, CC_ROOT_THIRD_PARTY);
	cc_trust_free(t);

	/* "" is no bundle; NULL is $UMEDGE_CA_BUNDLE. */
	t = load(&f, "");
	CU_ASSERT_EQUAL(cc_trust_count(t), 1);
	expect_root(t, both, CC_ROOT_ENTERPRISE);
	CU_ASSERT_EQUAL(cc_trust_type_of(t, b1), CC_ROOT_UNKNOWN);
	cc_trust_free(t);
	CU_ASSERT_EQUAL_FATAL(setenv("UMEDGE_CA_BUNDLE", bundle, 1), 0);
	t = load(&f, NULL);
	CU_ASSERT_EQUAL(cc_trust_count(t), 3);
	expect_root(t, b2, CC_ROOT_THIRD_PARTY);
	cc_trust_free(t);
	CU_ASSERT_EQUAL_FATAL(setenv("UMEDGE_CA_BUNDLE", "", 1), 0);
	t = load(&f, NULL);
	CU_ASSERT_EQUAL(cc_trust_count(t), 1);
	cc_trust_free(t);
	CU_ASSERT_EQUAL(unsetenv("UMEDGE_CA_BUNDLE"), 0);

	/* A bundle that is not there: a problem naming it, the store's roots still count. */
	pathf(missing, "%s/no-such-bundle.crt", f.dir);
	t = load(&f, missing);
	CU_ASSERT_EQUAL(cc_trust_count(t), 1);
	CU_ASSERT_EQUAL(cc_trust_problem_count(t), 1);
	expect_problem(t, missing, NULL);
	cc_trust_free(t);

	free(p1);
	free(p2);
	free(p3);
	free(all);
	X509_free(b1);
	X509_free(b2);
	X509_free(both);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k3);
	fx_close(&f);
}

/* ---- bad files ------------------------------------------------------------------------ */

static void
test_bad_files_are_problems(void)
{
	struct fx f;
	X509 *root, *leaf;
	EVP_PKEY *rk, *lk;
	X509_CRL *crl;
	char thumb[CC_THUMB_LEN + 1], lthumb[CC_THUMB_LEN + 1];
	char junk[PATH_MAX], empty[PATH_MAX], sub[PATH_MAX], link[PATH_MAX], hidden[PATH_MAX];
	char target[PATH_MAX], crlpath[PATH_MAX], trunc[PATH_MAX];
	static const char garbage[] = "this is not a certificate\n\x01\x02\x03";
	struct cc_meta meta = {CC_SVC_SMTP, false, NULL, NULL};
	struct cc_verify_opts opts;
	struct cc_verify *v = NULL;
	struct cc_cert *c = NULL;
	struct cc_trust *t;
	char *pem;

	fx_open(&f);
	make_root("Good Root Among Junk", &root, &rk);
	CU_ASSERT_EQUAL_FATAL(cc_store_trust_add(f.s, root, CC_ROOT_ENTERPRISE, thumb), CC_OK);

	pathf(junk, "%s/trust/registry/junk.pem", f.path);
	tu_write_file(junk, garbage, sizeof(garbage) - 1, 0644);
	pathf(empty, "%s/trust/registry/empty.pem", f.path);
	tu_write_file(empty, "", 0, 0644);
	/* Half a PEM block. */
	pem = tu_cert_pem(root);
	pathf(trunc, "%s/trust/grouppolicy/truncated.pem", f.path);
	tu_write_file(trunc, pem, strlen(pem) / 2, 0644);
	free(pem);
	/* Not a regular file: a directory, and a symbolic link (never followed). */
	pathf(sub, "%s/trust/enterprise/subdir", f.path);
	CU_ASSERT_EQUAL_FATAL(mkdir(sub, 0700), 0);
	pathf(target, "%s/trust/enterprise/%s.pem", f.path, thumb);
	pathf(link, "%s/trust/grouppolicy/link.pem", f.path);
	CU_ASSERT_EQUAL_FATAL(symlink(target, link), 0);
	/* Dot files are not roots and not problems. */
	pathf(hidden, "%s/trust/registry/.hidden", f.path);
	tu_write_file(hidden, garbage, sizeof(garbage) - 1, 0644);

	t = load(&f, "");
	CU_ASSERT_EQUAL(cc_trust_count(t), 1);
	expect_root(t, root, CC_ROOT_ENTERPRISE);
	CU_ASSERT_EQUAL(cc_trust_problem_count(t), 5);
	if (cc_trust_problem_count(t) != 5)
		dump_problems(t);
	expect_problem(t, junk, "no certificate");
	expect_problem(t, empty, "no certificate");
	expect_problem(t, trunc, "no certificate");
	expect_problem(t, sub, "not a regular file");
	expect_problem(t, link, NULL);
	CU_ASSERT_EQUAL(problem_naming(t, ".hidden"), -1);
	CU_ASSERT_PTR_NULL(cc_trust_problem(t, 5));
	cc_trust_free(t);

	/* And verification still works with the good root. */
	make_leaf("amid.example.test", root, rk, &leaf, &lk);
	CU_ASSERT_EQUAL_FATAL(cc_store_add(f.s, leaf, NULL, lk, &meta, lthumb), CC_OK);
	crl = tu_make_crl(root, rk, NULL, 0, -3600, 7 * DAY);
	pathf(crlpath, "%s/crl/root.crl", f.path);
	tu_write_crl(crlpath, crl, true);
	CU_ASSERT_EQUAL_FATAL(cc_store_find(f.s, lthumb, &c), CC_OK);
	memset(&opts, 0, sizeof(opts));
	opts.bundle = "";
	opts.offline = true;
	CU_ASSERT_EQUAL_FATAL(cc_store_verify(f.s, c, &opts, &v), CC_OK);
	CU_ASSERT_EQUAL(cc_verify_status(v), CC_STATUS_VALID);
	CU_ASSERT_EQUAL(cc_verify_root_type(v), CC_ROOT_ENTERPRISE);
	if (cc_verify_status(v) != CC_STATUS_VALID)
		fprintf(stderr, "\n  status %s: %s", cc_status_name(cc_verify_status(v)),
		        cc_verify_reason(v));
	cc_verify_free(v);

	X509_CRL_free(crl);
	X509_free(root);
	X509_free(leaf);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(lk);
	fx_close(&f);
}

/* A snapshot does not change under the caller; the next load sees a change at once. */
static void
test_snapshot(void)
{
	struct fx f;
	X509 *root;
	EVP_PKEY *k;
	char thumb[CC_THUMB_LEN + 1];
	struct cc_trust *before, *after;

	fx_open(&f);
	make_root("Snapshot Root", &root, &k);
	before = load(&f, "");
	CU_ASSERT_EQUAL_FATAL(cc_store_trust_add(f.s, root, CC_ROOT_REGISTRY, thumb), CC_OK);
	after = load(&f, "");
	CU_ASSERT_EQUAL(cc_trust_count(before), 0);
	CU_ASSERT_EQUAL(cc_trust_count(after), 1);
	cc_trust_free(before);
	CU_ASSERT_EQUAL(cc_store_trust_remove(f.s, thumb), CC_OK);
	/* The snapshot keeps its own reference to the root. */
	CU_ASSERT_EQUAL(X509_cmp(cc_trust_cert(after, 0), root), 0);
	cc_trust_free(after);
	cc_trust_free(NULL);

	X509_free(root);
	EVP_PKEY_free(k);
	fx_close(&f);
}

static CU_TestInfo tests[] = {
        {"root type parse: folders in any case; ThirdParty and others refused", test_type_parse},
        {"add refuses a leaf, an intermediate, CA:FALSE and bad types", test_add_refuses_non_roots},
        {"add, list by folder, remove (any thumbprint form), NOT_FOUND", test_add_list_remove},
        {"the same root in two folders", test_same_root_two_folders},
        {"bundle roots are ThirdParty; folder wins; \"\", NULL and env", test_bundle_third_party},
        {"garbage, empty, truncated, directory, symlink: problems", test_bad_files_are_problems},
        {"a trust snapshot does not change; the next load does", test_snapshot},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("trust", tests);
}
