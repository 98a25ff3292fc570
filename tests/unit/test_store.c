/*
 * store.c: the store directory. Layout and modes, add/find/enable/remove, bad entries reported
 * as problems while the rest loads, state records, concurrent writers (processes), and crash
 * safety at every fault step the store code calls and under SIGKILL.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include "certcore/cert.h"
#include "certcore/error.h"
#include "certcore/selfsigned.h"
#include "certcore/services.h"
#include "certcore/store.h"
#include "internal.h"
#include "meta.h"
#include "testutil.h"

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
	f->dir = tu_tmpdir();
	pathf(f->path, "%s/store", f->dir);
	CU_ASSERT_EQUAL_FATAL(cc_store_open(f->path, CC_STORE_CREATE, &f->s), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_store_problem_count(f->s), 0);
}

static void
fx_close(struct fx *f)
{
	cc_store_free(f->s);
	f->s = NULL;
	tu_rmrf(f->dir);
	free(f->dir);
	f->dir = NULL;
}

/* Replaces f->s with a fresh open of the store (no CREATE). */
static void
fx_reopen(struct fx *f)
{
	cc_store_free(f->s);
	f->s = NULL;
	CU_ASSERT_EQUAL_FATAL(cc_store_open(f->path, 0, &f->s), CC_OK);
}

static void
dump_problems(const struct cc_store *s)
{
	size_t i;

	for (i = 0; i < cc_store_problem_count(s); i++)
		fprintf(stderr, "\n    problem: %s: %s", cc_store_problem_path(s, i),
		        cc_store_problem_reason(s, i));
}

static void
make_ec(X509 **x, EVP_PKEY **k)
{
	struct tu_cert_spec spec;
	static const char *const sans[] = {"mail.example.test", NULL};

	memset(&spec, 0, sizeof(spec));
	spec.cn = "mail.example.test";
	spec.sans = sans;
	spec.key = "ec256";
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

/* Adds a fresh EC certificate with its key; x/k (may be NULL) receive them, else freed. */
static void
add_ec(struct cc_store *s, unsigned services, const char *name, char thumb[CC_THUMB_LEN + 1],
       X509 **xo, EVP_PKEY **ko)
{
	struct cc_meta m = {services, false, name, NULL};
	X509 *x;
	EVP_PKEY *k;
	enum cc_err r;

	make_ec(&x, &k);
	r = cc_store_add(s, x, NULL, k, &m, thumb);
	if (r != CC_OK)
		fprintf(stderr, "\n  cc_store_add: %s: %s\n", cc_strerror(r), cc_errdetail());
	CU_ASSERT_EQUAL_FATAL(r, CC_OK);
	CU_ASSERT_EQUAL_FATAL(strlen(thumb), CC_THUMB_LEN);
	if (xo != NULL)
		*xo = x;
	else
		X509_free(x);
	if (ko != NULL)
		*ko = k;
	else
		EVP_PKEY_free(k);
}

static bool
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static unsigned
mode_of(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return 0xffffffffu;
	return (unsigned)(st.st_mode & 07777);
}

/* Index of the one problem whose path contains `part` (-1: none); fails if there are two. */
static long
problem_index(const struct cc_store *s, const char *part)
{
	size_t i;
	long found = -1;

	for (i = 0; i < cc_store_problem_count(s); i++) {
		if (strstr(cc_store_problem_path(s, i), part) == NULL)
			continue;
		CU_ASSERT_EQUAL(found, -1); /* one bad file, one problem */
		found = (long)i;
	}
	return found;
}

/* There is a problem naming `part`, whose reason contains `why` (any case). */
static void
expect_problem(const struct cc_store *s, const char *part, const char *why)
{
	long i = problem_index(s, part);

	CU_ASSERT(i >= 0);
	if (i < 0) {
		fprintf(stderr, "\n  no problem names %s", part);
		dump_problems(s);
		return;
	}
	CU_ASSERT(strlen(cc_store_problem_reason(s, (size_t)i)) > 0);
	if (why != NULL && strcasestr(cc_store_problem_reason(s, (size_t)i), why) == NULL) {
		CU_FAIL("problem reason does not say why");
		fprintf(stderr, "\n  reason for %s lacks \"%s\": %s", part, why,
		        cc_store_problem_reason(s, (size_t)i));
	}
}

/* Counts writers' temporaries (".NAME.tmp.XXXX") in the store's folders. */
static int
tmp_files(const char *store)
{
	static const char *const dirs[] = {"certs", "keys", "meta", "state", "requests", "crl"};
	char p[PATH_MAX];
	DIR *d;
	struct dirent *de;
	size_t i;
	int n = 0;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		pathf(p, "%s/%s", store, dirs[i]);
		if ((d = opendir(p)) == NULL)
			continue;
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] == '.' && strstr(de->d_name, ".tmp.") != NULL)
				n++;
		closedir(d);
	}
	return n;
}

/* Counts the plain entries of store/sub. */
static int
entries(const char *store, const char *sub)
{
	char p[PATH_MAX];
	DIR *d;
	struct dirent *de;
	int n = 0;

	pathf(p, "%s/%s", store, sub);
	if ((d = opendir(p)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
plant(const struct fx *f, const char *rel, const void *data, size_t len, unsigned mode)
{
	char p[PATH_MAX];

	pathf(p, "%s/%s", f->path, rel);
	tu_write_file(p, data, len, mode);
}

/* The certificate is loaded, with its key, and the services it was added with. */
static void
expect_loaded(const struct cc_store *s, const char *thumb, bool with_key, unsigned services)
{
	struct cc_cert *c = NULL;

	CU_ASSERT_EQUAL(cc_store_find(s, thumb, &c), CC_OK);
	if (c == NULL) {
		fprintf(stderr, "\n  %s not loaded", thumb);
		dump_problems(s);
		return;
	}
	CU_ASSERT_EQUAL(cc_cert_has_private_key(c), with_key);
	CU_ASSERT_EQUAL(cc_cert_key(c) != NULL, with_key);
	CU_ASSERT_EQUAL(cc_cert_services(c), services);
}

static void
expect_absent(const struct cc_store *s, const char *thumb)
{
	struct cc_cert *c = (struct cc_cert *)1;

	CU_ASSERT_EQUAL(cc_store_find(s, thumb, &c), CC_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NULL(c);
}

/* ---- layout and opening ------------------------------------------------------------------ */

static void
test_create_layout(void)
{
	static const char *const dirs[] = {"",
	                                   "certs",
	                                   "keys",
	                                   "meta",
	                                   "requests",
	                                   "trust",
	                                   "trust/registry",
	                                   "trust/enterprise",
	                                   "trust/grouppolicy",
	                                   "crl",
	                                   "state"};
	char *dir = tu_tmpdir();
	char path[PATH_MAX], p[PATH_MAX];
	struct cc_store *s = NULL;
	struct stat st;
	mode_t old;
	size_t i;

	/* umask 0: the modes must come from the code, not from a friendly umask. */
	old = umask(0);
	pathf(path, "%s/var/lib/umedge/store", dir);
	CU_ASSERT_EQUAL_FATAL(cc_store_open(path, CC_STORE_CREATE, &s), CC_OK);
	umask(old);
	CU_ASSERT_EQUAL(cc_store_count(s), 0);
	CU_ASSERT_EQUAL(cc_store_problem_count(s), 0);
	CU_ASSERT_STRING_EQUAL(cc_store_path(s), path);
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		pathf(p, "%s/%s", path, dirs[i]);
		CU_ASSERT_EQUAL_FATAL(lstat(p, &st), 0);
		CU_ASSERT_TRUE(S_ISDIR(st.st_mode));
		CU_ASSERT_EQUAL(st.st_mode & 07777, 0700);
		if ((st.st_mode & 07777) != 0700)
			fprintf(stderr, "\n  %s has mode %04o", p, (unsigned)(st.st_mode & 07777));
	}
	cc_store_free(s);

	/* Opening again with CREATE keeps what is there; a trailing slash is the same store. */
	pathf(p, "%s/", path);
	CU_ASSERT_EQUAL_FATAL(cc_store_open(p, CC_STORE_CREATE, &s), CC_OK);
	CU_ASSERT_STRING_EQUAL(cc_store_path(s), path);
	CU_ASSERT_EQUAL(cc_store_problem_count(s), 0);
	cc_store_free(s);
	tu_rmrf(dir);
	free(dir);
}

/*
 * cc_store_discard removes what its open made while nothing is in it: a new store with its
 * parents, the layout made in an empty top directory (the directory stays); never a store that
 * was there, nor one another writer has put something in.
 */
static void
test_discard_new_store(void)
{
	char *dir = tu_tmpdir();
	char path[PATH_MAX], top[PATH_MAX], p[PATH_MAX], thumb[CC_THUMB_LEN + 1];
	struct cc_store *s = NULL, *s2 = NULL;
	int fd;

	/* A store and two parents made: all gone, the lock file too. */
	pathf(top, "%s/a", dir);
	pathf(path, "%s/a/b/store", dir);
	CU_ASSERT_EQUAL_FATAL(cc_store_open(path, CC_STORE_CREATE, &s), CC_OK);
	CU_ASSERT_TRUE(cc_store_created(s));
	CU_ASSERT_EQUAL(cc_store_state_set(s, "x", NULL, NULL, 0), CC_OK); /* takes the lock */
	pathf(p, "%s/state/x.ini", path);
	CU_ASSERT_EQUAL(unlink(p), 0);
	cc_store_discard(s);
	CU_ASSERT_FALSE(exists(top));
	CU_ASSERT_EQUAL(entries(dir, ""), 0);

	/* A top directory that was there, empty: the layout goes, the directory stays. */
	CU_ASSERT_EQUAL_FATAL(mkdir(top, 0700), 0);
	CU_ASSERT_EQUAL_FATAL(cc_store_open(top, CC_STORE_CREATE, &s), CC_OK);
	CU_ASSERT_FALSE(cc_store_created(s));
	cc_store_discard(s);
	CU_ASSERT_TRUE(exists(top));
	CU_ASSERT_EQUAL(entries(top, ""), 0);

	/* Another writer put a certificate in meanwhile: everything stays. */
	CU_ASSERT_EQUAL_FATAL(cc_store_open(path, CC_STORE_CREATE, &s), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_store_open(path, 0, &s2), CC_OK);
	add_ec(s2, CC_SVC_SMTP, NULL, thumb, NULL, NULL);
	cc_store_free(s2);
	cc_store_discard(s);
	pathf(p, "%s/certs/%s.pem", path, thumb);
	CU_ASSERT_TRUE(exists(p));
	pathf(p, "%s/trust/registry", path);
	CU_ASSERT_TRUE(exists(p));

	/* A store that was there: discarding a handle on it is freeing it. */
	CU_ASSERT_EQUAL_FATAL(cc_store_open(path, CC_STORE_CREATE, &s), CC_OK);
	CU_ASSERT_FALSE(cc_store_created(s));
	cc_store_discard(s);
	CU_ASSERT_EQUAL_FATAL(cc_store_open(path, 0, &s), CC_OK);
	CU_ASSERT_EQUAL(cc_store_count(s), 1);
	cc_store_free(s);

	/* A failed open leaves nothing it made: a file where the store's folder would be. */
	pathf(path, "%s/c/store", dir);
	pathf(top, "%s/c", dir);
	CU_ASSERT_EQUAL_FATAL(cc_store_open(path, CC_STORE_CREATE, &s), CC_OK);
	cc_store_discard(s);
	CU_ASSERT_FALSE(exists(top));
	CU_ASSERT_EQUAL_FATAL(mkdir(top, 0700), 0);
	CU_ASSERT_EQUAL_FATAL(mkdir(path, 0700), 0);
	pathf(p, "%s/keys", path);
	CU_ASSERT_FATAL((fd = open(p, O_WRONLY | O_CREAT, 0600)) != -1);
	close(fd);
	CU_ASSERT_NOT_EQUAL(cc_store_open(path, CC_STORE_CREATE, &s), CC_OK);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_EQUAL(entries(path, ""), 1); /* the file only: certs/ made before it is gone */

	/* The store's directory cannot be made (a name too long): the parents made for it go. */
	{
		char longname[300];

		memset(longname, 'x', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		pathf(path, "%s/d/e/%s", dir, longname);
		pathf(top, "%s/d", dir);
		CU_ASSERT_NOT_EQUAL(cc_store_open(path, CC_STORE_CREATE, &s), CC_OK);
		CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "File name too long"));
		CU_ASSERT_FALSE(exists(top));
	}

	cc_store_discard(NULL);
	CU_ASSERT_FALSE(cc_store_created(NULL));
	tu_rmrf(dir);
	free(dir);
}

static void
test_open_missing(void)
{
	char *dir = tu_tmpdir();
	char path[PATH_MAX], p[PATH_MAX];
	struct cc_store *s = (struct cc_store *)1;
	enum cc_err r;

	pathf(path, "%s/no-store-here", dir);
	r = cc_store_open(path, 0, &s);
	CU_ASSERT_NOT_EQUAL(r, CC_OK);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "no-store-here"));
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), strerror(ENOENT)));
	CU_ASSERT_FALSE(exists(path)); /* nothing was created */

	/* A directory without the layout is not a store either. */
	pathf(p, "%s/empty", dir);
	CU_ASSERT_EQUAL_FATAL(mkdir(p, 0700), 0);
	s = (struct cc_store *)1;
	CU_ASSERT_NOT_EQUAL(cc_store_open(p, 0, &s), CC_OK);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT(strlen(cc_errdetail()) > 0);

	/* A file where the store should be, with or without CREATE. */
	pathf(p, "%s/file", dir);
	tu_write_file(p, "x", 1, 0600);
	s = (struct cc_store *)1;
	CU_ASSERT_NOT_EQUAL(cc_store_open(p, 0, &s), CC_OK);
	CU_ASSERT_PTR_NULL(s);
	s = (struct cc_store *)1;
	CU_ASSERT_NOT_EQUAL(cc_store_open(p, CC_STORE_CREATE, &s), CC_OK);
	CU_ASSERT_PTR_NULL(s);

	s = (struct cc_store *)1;
	CU_ASSERT_EQUAL(cc_store_open("", CC_STORE_CREATE, &s), CC_ERR_INVAL);
	CU_ASSERT_PTR_NULL(s);
	s = (struct cc_store *)1;
	CU_ASSERT_EQUAL(cc_store_open(NULL, 0, &s), CC_ERR_INVAL);
	CU_ASSERT_PTR_NULL(s);
	tu_rmrf(dir);
	free(dir);
}

/* ---- add, find, files ------------------------------------------------------------------- */

static void
colon_form(const char *thumb, char *out)
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

static void
test_add_find_count(void)
{
	struct fx f;
	char t[3][CC_THUMB_LEN + 1], lower[CC_THUMB_LEN + 1], colons[3 * CC_THUMB_LEN];
	struct cc_meta m = {CC_SVC_UM | CC_SVC_SMTP, true, "Zertifikat für UM; #1", NULL};
	struct cc_cert *c;
	X509 *x;
	EVP_PKEY *k;
	size_t i;
	int pass;

	fx_open(&f);
	make_ec(&x, &k);
	CU_ASSERT_EQUAL_FATAL(cc_store_add(f.s, x, NULL, k, &m, t[0]), CC_OK);
	CU_ASSERT_EQUAL(cc_store_count(f.s), 1);
	X509_free(x);
	EVP_PKEY_free(k);
	add_ec(f.s, CC_SVC_IIS, NULL, t[1], NULL, NULL);
	/* No key and no meta: loaded without a key, with the defaults. */
	make_ec(&x, &k);
	CU_ASSERT_EQUAL_FATAL(cc_store_add(f.s, x, NULL, NULL, NULL, t[2]), CC_OK);
	X509_free(x);
	EVP_PKEY_free(k);

	for (pass = 0; pass < 2; pass++) { /* as added, then from a fresh open */
		CU_ASSERT_EQUAL(cc_store_count(f.s), 3);
		CU_ASSERT_EQUAL(cc_store_problem_count(f.s), 0);
		CU_ASSERT_PTR_NULL(cc_store_cert(f.s, 3));
		/* Thumbprint order. */
		for (i = 1; i < cc_store_count(f.s); i++)
			CU_ASSERT(strcmp(cc_cert_thumbprint(cc_store_cert(f.s, i - 1)),
			                 cc_cert_thumbprint(cc_store_cert(f.s, i))) < 0);
		CU_ASSERT_EQUAL_FATAL(cc_store_find(f.s, t[0], &c), CC_OK);
		CU_ASSERT_STRING_EQUAL(cc_cert_thumbprint(c), t[0]);
		CU_ASSERT_TRUE(cc_cert_has_private_key(c));
		CU_ASSERT_EQUAL(cc_cert_services(c), CC_SVC_UM | CC_SVC_SMTP);
		CU_ASSERT_TRUE(cc_cert_exportable(c));
		CU_ASSERT_STRING_EQUAL(cc_cert_friendly_name(c), "Zertifikat für UM; #1");
		expect_loaded(f.s, t[1], true, CC_SVC_IIS);
		CU_ASSERT_EQUAL_FATAL(cc_store_find(f.s, t[2], &c), CC_OK);
		CU_ASSERT_FALSE(cc_cert_has_private_key(c));
		CU_ASSERT_EQUAL(cc_cert_services(c), 0);
		CU_ASSERT_FALSE(cc_cert_exportable(c));
		CU_ASSERT_STRING_EQUAL(cc_cert_friendly_name(c), "");
		/* Lower case, and colons as certificate viewers print it. */
		for (i = 0; i < 3; i++) {
			colon_form(t[i], colons);
			CU_ASSERT_EQUAL(cc_store_find(f.s, colons, &c), CC_OK);
			CU_ASSERT(c != NULL && strcmp(cc_cert_thumbprint(c), t[i]) == 0);
			memcpy(lower, t[i], sizeof(lower));
			for (char *p = lower; *p; p++)
				if (*p >= 'A' && *p <= 'F')
					*p = (char)(*p - 'A' + 'a');
			CU_ASSERT_EQUAL(cc_store_find(f.s, lower, &c), CC_OK);
			CU_ASSERT(c != NULL && strcmp(cc_cert_thumbprint(c), t[i]) == 0);
		}
		/* Absent, and not a thumbprint at all. */
		expect_absent(f.s, "0000000000000000000000000000000000000000");
		c = (struct cc_cert *)1;
		CU_ASSERT_EQUAL(cc_store_find(f.s, "not-a-thumbprint", &c), CC_ERR_INVAL);
		CU_ASSERT_PTR_NULL(c);
		CU_ASSERT_NOT_EQUAL(cc_store_find(f.s, "", &c), CC_OK);
		CU_ASSERT_NOT_EQUAL(cc_store_find(f.s, t[0] + 1, &c), CC_OK); /* 39 digits */
		fx_reopen(&f);
	}
	fx_close(&f);
}

static void
test_key_and_cert_files(void)
{
	struct fx f;
	char t[CC_THUMB_LEN + 1], p[PATH_MAX], *text;
	X509 *x, *xr;
	EVP_PKEY *k, *kr;
	BIO *b;

	fx_open(&f);
	add_ec(f.s, CC_SVC_UM, "files", t, &x, &k);
	/* keys/THUMB.key: 0600, unencrypted PKCS#8 of the very key. */
	pathf(p, "%s/keys/%s.key", f.path, t);
	CU_ASSERT_EQUAL(mode_of(p), 0600);
	text = tu_read_file(p, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_EQUAL(strncmp(text, "-----BEGIN PRIVATE KEY-----\n", 28), 0);
	CU_ASSERT_PTR_NULL(strstr(text, "ENCRYPTED"));
	b = BIO_new_mem_buf(text, -1);
	kr = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	CU_ASSERT_PTR_NOT_NULL(kr);
	CU_ASSERT_EQUAL(EVP_PKEY_eq(kr, k), 1);
	EVP_PKEY_free(kr);
	BIO_free(b);
	free(text);
	/* certs/THUMB.pem: the certificate. */
	pathf(p, "%s/certs/%s.pem", f.path, t);
	text = tu_read_file(p, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_EQUAL(strncmp(text, "-----BEGIN CERTIFICATE-----\n", 28), 0);
	b = BIO_new_mem_buf(text, -1);
	xr = PEM_read_bio_X509(b, NULL, NULL, NULL);
	CU_ASSERT(xr != NULL && X509_cmp(xr, x) == 0);
	X509_free(xr);
	BIO_free(b);
	free(text);
	/* meta/THUMB.ini exists and parses to what was added. */
	pathf(p, "%s/meta/%s.ini", f.path, t);
	text = tu_read_file(p, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	{
		struct meta_file mf;

		CU_ASSERT_EQUAL_FATAL(cc_meta_parse(text, &mf), CC_OK);
		CU_ASSERT_EQUAL(mf.services, CC_SVC_UM);
		CU_ASSERT_STRING_EQUAL(mf.friendly_name, "files");
		cc_meta_clear(&mf);
	}
	free(text);
	CU_ASSERT_EQUAL(entries(f.path, "certs"), 1);
	CU_ASSERT_EQUAL(entries(f.path, "keys"), 1);
	CU_ASSERT_EQUAL(entries(f.path, "meta"), 1);
	X509_free(x);
	EVP_PKEY_free(k);
	fx_close(&f);
}

static void
test_add_with_chain(void)
{
	struct fx f;
	struct tu_cert_spec spec;
	X509 *ca, *leaf;
	EVP_PKEY *cak, *leafk;
	STACK_OF(X509) *chain = sk_X509_new_null();
	char t[CC_THUMB_LEN + 1], p[PATH_MAX], *text;
	struct cc_cert *c;

	memset(&spec, 0, sizeof(spec));
	spec.cn = "Test Root";
	spec.key = "ec256";
	spec.ca = true;
	tu_make_cert(&spec, &ca, &cak);
	memset(&spec, 0, sizeof(spec));
	spec.cn = "um.example.test";
	spec.key = "ec256";
	spec.issuer = ca;
	spec.issuer_key = cak;
	tu_make_cert(&spec, &leaf, &leafk);
	CU_ASSERT_FATAL(chain != NULL && sk_X509_push(chain, ca) == 1);
	fx_open(&f);
	CU_ASSERT_EQUAL_FATAL(cc_store_add(f.s, leaf, chain, leafk, NULL, t), CC_OK);
	fx_reopen(&f);
	CU_ASSERT_EQUAL_FATAL(cc_store_find(f.s, t, &c), CC_OK);
	CU_ASSERT_EQUAL(X509_cmp(cc_cert_x509(c), leaf), 0);
	CU_ASSERT_EQUAL(sk_X509_num(cc_cert_chain(c)), 1);
	CU_ASSERT_TRUE(cc_cert_has_private_key(c));
	/* Leaf first, then the chain. */
	pathf(p, "%s/certs/%s.pem", f.path, t);
	text = tu_read_file(p, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NOT_NULL(strstr(strstr(text, "-----END CERTIFICATE-----") + 1,
	                              "-----BEGIN CERTIFICATE-----"));
	free(text);
	/* The CA itself is not a store entry. */
	CU_ASSERT_EQUAL(cc_store_count(f.s), 1);
	fx_close(&f);
	sk_X509_free(chain);
	X509_free(ca);
	X509_free(leaf);
	EVP_PKEY_free(cak);
	EVP_PKEY_free(leafk);
}

struct snap {
	char *data[3];
	ino_t ino[3];
};

static void
snapshot(const char *store, const char *t, struct snap *sn)
{
	static const char *const part[][2] = {{"certs", "pem"}, {"keys", "key"}, {"meta", "ini"}};
	char p[PATH_MAX];
	struct stat st;
	size_t i;

	for (i = 0; i < 3; i++) {
		pathf(p, "%s/%s/%s.%s", store, part[i][0], t, part[i][1]);
		sn->data[i] = tu_read_file(p, NULL);
		sn->ino[i] = stat(p, &st) == 0 ? st.st_ino : 0;
	}
}

static void
snap_equal_free(struct snap *a, struct snap *b)
{
	size_t i;

	for (i = 0; i < 3; i++) {
		CU_ASSERT(a->data[i] != NULL && b->data[i] != NULL &&
		          strcmp(a->data[i], b->data[i]) == 0);
		CU_ASSERT_EQUAL(a->ino[i], b->ino[i]); /* not even rewritten */
		free(a->data[i]);
		free(b->data[i]);
	}
}

static void
test_add_duplicate(void)
{
	struct fx f;
	char t[CC_THUMB_LEN + 1], t2[CC_THUMB_LEN + 1] = "junk";
	struct cc_meta other = {CC_SVC_SMTP, true, "other", NULL};
	struct snap before, after;
	X509 *x;
	EVP_PKEY *k;

	fx_open(&f);
	add_ec(f.s, CC_SVC_UM, "first", t, &x, &k);
	snapshot(f.path, t, &before);
	CU_ASSERT_EQUAL(cc_store_add(f.s, x, NULL, k, &other, t2), CC_ERR_EXISTS);
	CU_ASSERT_STRING_EQUAL(t2, "");
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), t));
	CU_ASSERT_EQUAL(cc_store_add(f.s, x, NULL, NULL, NULL, NULL), CC_ERR_EXISTS);
	snapshot(f.path, t, &after);
	snap_equal_free(&before, &after);
	CU_ASSERT_EQUAL(cc_store_count(f.s), 1);
	expect_loaded(f.s, t, true, CC_SVC_UM);
	fx_reopen(&f);
	CU_ASSERT_EQUAL(cc_store_count(f.s), 1);
	CU_ASSERT_EQUAL(cc_store_problem_count(f.s), 0);
	expect_loaded(f.s, t, true, CC_SVC_UM);
	CU_ASSERT_EQUAL(tmp_files(f.path), 0);
	X509_free(x);
	EVP_PKEY_free(k);
	fx_close(&f);
}

static void
test_add_refused_writes_nothing(void)
{
	struct fx f;
	char t[CC_THUMB_LEN + 1], t2[CC_THUMB_LEN + 1] = "junk", badname[80];
	struct cc_meta bad = {CC_SVC_UM, false, badname, NULL};
	X509 *x1, *x2;
	EVP_PKEY *k1, *k2;

	fx_open(&f);
	add_ec(f.s, CC_SVC_UM, NULL, t, NULL, NULL);
	make_ec(&x1, &k1);
	make_ec(&x2, &k2);
	/* Another certificate's key. */
	CU_ASSERT_EQUAL(cc_store_add(f.s, x1, NULL, k2, NULL, t2), CC_ERR_KEY_MISMATCH);
	CU_ASSERT_STRING_EQUAL(t2, "");
	/* A friendly name the meta file cannot hold. */
	snprintf(badname, sizeof(badname), "two\nlines");
	CU_ASSERT_EQUAL(cc_store_add(f.s, x1, NULL, k1, &bad, NULL), CC_ERR_INVAL);
	memset(badname, 'n', 65);
	badname[65] = '\0';
	CU_ASSERT_EQUAL(cc_store_add(f.s, x1, NULL, k1, &bad, NULL), CC_ERR_INVAL);
	CU_ASSERT_EQUAL(cc_store_add(f.s, NULL, NULL, k1, NULL, NULL), CC_ERR_INVAL);
	CU_ASSERT_EQUAL(entries(f.path, "certs"), 1);
	CU_ASSERT_EQUAL(entries(f.path, "keys"), 1);
	CU_ASSERT_EQUAL(entries(f.path, "meta"), 1);
	CU_ASSERT_EQUAL(tmp_files(f.path), 0);
	CU_ASSERT_EQUAL(cc_store_count(f.s), 1);
	fx_reopen(&f);
	CU_ASSERT_EQUAL(cc_store_count(f.s), 1);
	CU_ASSERT_EQUAL(cc_store_problem_count(f.s), 0);
	X509_free(x1);
	X509_free(x2);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	fx_close(&f);
}

/*
 * A write that fails part way (the file size limit stops the certificate, after the key and the
 * meta were written) leaves no key or meta behind: nothing to report as an orphan, no private key
 * lying about for a certificate that is not in the store.
 */
static void
test_add_failure_cleans_up(void)
{
	struct fx f;
	char t[CC_THUMB_LEN + 1], p[PATH_MAX], *cpem, *kpem;
	struct cc_meta m = {CC_SVC_UM, false, "half", NULL};
	struct rlimit rl;
	X509 *x;
	EVP_PKEY *k;
	pid_t pid;
	int status = 0, which;

	fx_open(&f);
	add_ec(f.s, CC_SVC_SMTP, NULL, t, NULL, NULL);
	for (which = 0; which < 2; which++) { /* 0: the certificate fails, 1: the key fails */
		make_ec(&x, &k);
		cpem = tu_cert_pem(x);
		kpem = tu_key_pem(k);
		CU_ASSERT_FATAL(strlen(kpem) + 64 < strlen(cpem));
		rl.rlim_cur = rl.rlim_max = which == 0 ? strlen(cpem) - 1 : strlen(kpem) / 2;
		pid = fork();
		CU_ASSERT_FATAL(pid != -1);
		if (pid == 0) {
			struct cc_store *cs;

			signal(SIGXFSZ, SIG_IGN);
			if (setrlimit(RLIMIT_FSIZE, &rl) != 0 ||
			    cc_store_open(f.path, 0, &cs) != CC_OK)
				_exit(100);
			_exit(cc_store_add(cs, x, NULL, k, &m, NULL) == CC_OK ? 0 : 1);
		}
		CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
		CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1);
		thumb_of(x, p);
		memcpy(t, p, CC_THUMB_LEN + 1);
		pathf(p, "%s/certs/%s.pem", f.path, t);
		CU_ASSERT_FALSE(exists(p));
		pathf(p, "%s/keys/%s.key", f.path, t);
		CU_ASSERT_FALSE(exists(p));
		pathf(p, "%s/meta/%s.ini", f.path, t);
		CU_ASSERT_FALSE(exists(p));
		CU_ASSERT_EQUAL(tmp_files(f.path), 0);
		fx_reopen(&f);
		CU_ASSERT_EQUAL(cc_store_count(f.s), 1);
		CU_ASSERT_EQUAL(cc_store_problem_count(f.s), 0);
		dump_problems(f.s);
		/* And the same add, without the limit, works. */
		CU_ASSERT_EQUAL(cc_store_add(f.s, x, NULL, k, &m, NULL), CC_OK);
		expect_loaded(f.s, t, true, CC_SVC_UM);
		CU_ASSERT_EQUAL(cc_store_remove(f.s, t), CC_OK);
		free(cpem);
		free(kpem);
		X509_free(x);
		EVP_PKEY_free(k);
	}
	fx_close(&f);
}

/* ---- bad entries: each a problem naming its file; the good certificate still loads --------- */

static void
bad_setup(struct fx *f, char good[CC_THUMB_LEN + 1])
{
	fx_open(f);
	add_ec(f->s, CC_SVC_UM, "good", good, NULL, NULL);
}

/* Reopens and checks that the good certificate loaded whole. */
static void
bad_reopen(struct fx *f, const char *good)
{
	fx_reopen(f);
	expect_loaded(f->s, good, true, CC_SVC_UM);
}

static void
test_bad_corrupt_pem(void)
{
	static const char junk[] = "-----BEGIN CERTIFICATE-----\nMIIBnotbase64!!\n"
	                           "-----END CERTIFICATE-----\n";
	static const char name[] = "0123456789ABCDEF0123456789ABCDEF01234567.pem";
	struct fx f;
	char good[CC_THUMB_LEN + 1], rel[PATH_MAX];

	bad_setup(&f, good);
	pathf(rel, "certs/%s", name);
	plant(&f, rel, junk, sizeof(junk) - 1, 0644);
	bad_reopen(&f, good);
	CU_ASSERT_EQUAL(cc_store_count(f.s), 1);
	CU_ASSERT_EQUAL(cc_store_problem_count(f.s), 1);
	expect_problem(f.s, name, "certificate");
	/* Not even PEM: random bytes, and an empty file. */
	plant(&f, rel, "\x30\x82\x01\x00garbage", 12, 0644);
	bad_reopen(&f, good);
	CU_ASSERT_EQUAL(cc_store_problem_count(f.s), 1);
	expect_problem(f.s, name, NULL);
	plant(&f, rel, "", 0, 0644);
	bad_reopen(&f, good);
	CU_ASSERT_EQUAL(cc_store_problem_count(f.s), 1);
	expect_problem(f.s, name, NULL);
	CU_ASSERT_EQUAL(cc_store_count(f.s), 1);
	fx_close(&f);
}

static void
test_bad_truncated_pem(void)
{
	struct fx f;
	char good[CC_THUMB_LEN + 1], t[CC_THUMB_LEN + 1], rel[PATH_MAX], *pem;
	X509 *x;
	EVP_PKEY *k;
	size_t cut;

	bad_setup(&f, good);
	make_ec(&x, &k);
	thumb_of(x, t);
	pem = tu_cert_pem(x);
	pathf(rel, "certs/%s.pem", t);
	for (cut = 0; cut < 3; cut++) {
		/* Half the file; all but the END line; all but the last byte of base64. */
		size_t len = cut == 0   ? strlen(pem) / 2
		             : cut == 1 ? (size_t)(strstr(pem, "-----END") - pem)
		                        : (size_t)(strstr(pem, "\n-----END") - pem - 1);
		plant(&f, rel, pem, len, 0644);
		bad_reopen(&f, good);
		CU_ASSERT_EQUAL(cc_store_count(f.s), 1);
		CU_ASSERT_EQUAL(cc_store_problem_count(f.s), 1);
		expect_problem(f.s, t, "certificate");
		expect_absent(f.s, t);
	}
	free(pem);
	X509_free(x);
	EVP_PKEY_free(k);
	fx_close(&f);
}

static void
test_bad_name_mismatch(void)
{
	static const char wrong[] = "FEDCBA9876543210FEDCBA9876543210FEDCBA98";
	struct fx f;
	char good[CC_THUMB_LEN + 1], t[CC_THUMB_LEN + 1], rel[PATH_MAX], *pem;
	X509 *x;
	EVP_PKEY *k;

	bad_setup(&f, good);
	make_ec(&x, &k);
	thumb_of(x, t);
	pem = tu_cert_pem(x);
	pathf(rel, "certs/%s.pem", wrong);
	plant(&f, rel, pem, strlen(pem), 0644);
	bad_reopen(&f, good);
	CU_ASSERT_EQUAL(cc_store_count(f.s), 1);
	CU_ASSERT_EQUAL(cc_store_problem_count(f.s), 1);
	expect_problem(f.s, wrong, "thumbprint");
	expect_absent(f.s, t);
	expect_absent(f.s, wrong);
	free(pem);
	fx_close(&f);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void
test_bad_orphans(void)
{
	struct fx f;
	char good[CC_THUMB_LEN + 1], t[CC_THUMB_LEN + 1], rel[PATH_MAX], *kpem;
	struct cc_meta m = {CC_SVC_UM, false, NULL, NULL};
	char *meta;
	X509 *x;
	EVP_PKEY *k;

	bad_setup(&f, good);
	make_ec(&x, &k);
	thumb_of(x, t);
	kpem = tu_key_pem(k);
	pathf(rel, "keys/%s.key", t);
	plant(&f, rel, kpem, strlen(kpem), 0600);
	bad_reopen(&f, good);
	CU_ASSERT_EQUAL(cc_store_count(f.s), 1);
	CU_ASSERT_EQUAL(cc_store_problem_count(f.s), 1);
	expect_problem(f.s, rel, "without a certificate");
	expect_absent(f.s, t);
	/* Meta without a certificate, too. */
	CU_ASSERT_EQUAL_FATAL(cc_meta_render(&m, &meta), CC_OK);
	pathf(rel, "meta/%s.ini", t);
	plant(&f, rel, meta, strlen(meta), 0600);
	free(meta);
	bad_reopen(&f, good);
	CU_ASSERT_EQUAL(cc_store_problem_count(f.s), 2);
	expect_problem(f.s, rel, "without a certificate");
	expect_absent(f.s, t);
	free(kpem);
	X509_free(x);
	EVP_PKEY_free(k);
	fx_close(&f);
}

/* Adds a second certificate without a key, then plants `keytext` as its key file. */
static void
with_planted_key(struct fx *f, const char *keytext, unsigned mode, char t[CC_THUMB_LEN + 1],
                 char rel[PATH_MAX], X509 **xo, EVP_PKEY **ko)
{
	struct cc_meta m = {CC_SVC_SMTP, false, "planted", NULL};

	make_ec(xo, ko);
	CU_ASSERT_EQUAL_FATAL(cc_store_add(f->s, *xo, NULL, NULL, &m, t), CC_OK);
	pathf(rel, "keys/%s.key", t);
	plant(f, rel, keytext, strlen(keytext), mode);
}

static void
test_bad_key_mismatch(void)
{
	struct fx f;
	char good[CC_THUMB_LEN + 1], t[CC_THUMB_LEN + 1], rel[PATH_MAX], *kpem;
	EVP_PKEY *other = tu_make_key("ec256");
	X509 *x;
	EVP_PKEY *k;

	bad_setup(&f, good);
	kpem = tu_key_pem(other);
	with_planted_key(&f, kpem, 0600, t, rel, &x, &k);
	bad_reopen(&f, good);
	CU_ASSERT_EQUAL(cc_store_count(f.s), 2);
	expect_loaded(f.s, t, false, CC_SVC_SMTP);
	CU_ASSERT_EQUAL(cc_store_problem_count(f.s), 1);
	expect_problem(f.s, rel, "does not match");
	free(kpem);
	EVP_PKEY_free(other);
	X509_free(x);
	EVP_PKEY_free(k);
	fx_close(&f);
}

static void
test_bad_key_password(void)
{
	struct fx f;
	char good[CC_THUMB_LEN + 1], t[CC_THUMB_LEN + 1], rel[PATH_MAX], *kpem;
	X509 *x;
	EVP_PKEY *k;

	bad_setup(&f, good);
	/* The right key, but under a password: not usable unattended. */
	with_planted_key(&f, "placeholder", 0600, t, rel, &x, &k);
	kpem = tu_key_pem_encrypted(k, "secret");
	plant(&f, rel, kpem, strlen(kpem), 0600);
	bad_reopen(&f, good);
	CU_ASSERT_EQUAL(cc_store_count(f.s), 2);
	expect_loaded(f.s, t, false, CC_SVC_SMTP);
	CU_ASSERT_EQUAL(cc_store_problem_count(f.s), 1);
	expect_problem(f.s, rel, "password");
	/* A key file that is not a key at all. */
	plant(&f, rel, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", 57, 0600);
	bad_reopen(&f, good);
	expect_loaded(f.s, t, false, CC_SVC_SMTP);
	CU_ASSERT_EQUAL(cc_store_problem_count(f.s), 1);
	expect_problem(f.s, rel, NULL);
	free(kpem);
	X509_free(x);
	EVP_PKEY_free(k);
	fx_close(&f);
}

static void
test_bad_key_mode(void)
{
	static const unsigned open_modes[] = {0644, 0640, 0604, 0660, 0666};
	struct fx f;
	char good[CC_THUMB_LEN + 1], t[CC_THUMB_LEN + 1], p[PATH_MAX], rel[PATH_MAX];
	size_t i;

	bad_setup(&f, good);
	add_ec(f.s, CC_SVC_SMTP, NULL, t, NULL, NULL);
	pathf(rel, "keys/%s.key", t);
	pathf(p, "%s/%s", f.path, rel);
	for (i = 0; i < sizeof(open_modes) / sizeof(open_modes[0]); i++) {
		CU_ASSERT_EQUAL_FATAL(chmod(p, open_modes[i]), 0);
		bad_reopen(&f, good);
		expect_loaded(f.s, t, false, CC_SVC_SMTP);
		CU_ASSERT_EQUAL(cc_store_problem_count(f.s), 1);
		expect_problem(f.s, rel, "mode");
	}
	/* Owner read-only is fine. */
	CU_ASSERT_EQUAL_FATAL(chmod(p, 0400), 0);
	bad_reopen(&f, good);
	expect_loaded(f.s, t, true, CC_SVC_SMTP);
	CU_ASSERT_EQUAL(cc_store_problem_count(f.s), 0);
	fx_close(&f);
}

static void
test_bad_meta(void)
{
	static const char *const garbage[] = {
	        "\x01\x02 this is { not ini\n",
	        "[certificate]\nservices = UM, TELNET\n",
	        "[certificate]\nexportable = maybe\n",
	        "[certificate]\nfriendly_name = %G1\n",
	};
	struct fx f;
	char good[CC_THUMB_LEN + 1], t[CC_THUMB_LEN + 1], rel[PATH_MAX];
	struct cc_meta m = {CC_SVC_SMTP | CC_SVC_IMAP, true, "has meta", NULL};
	struct cc_cert *c;
	X509 *x;
	EVP_PKEY *k;
	size_t i;

	bad_setup(&f, good);
	make_ec(&x, &k);
	CU_ASSERT_EQUAL_FATAL(cc_store_add(f.s, x, NULL, k, &m, t), CC_OK);
	pathf(rel, "meta/%s.ini", t);
	for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		plant(&f, rel, garbage[i], strlen(garbage[i]), 0600);
		bad_reopen(&f, good);
		CU_ASSERT_EQUAL(cc_store_count(f.s), 2);
		CU_ASSERT_EQUAL(cc_store_problem_count(f.s), 1);
		expect_problem(f.s, rel, "meta");
		/* Loaded, with its key, and the defaults in place of the unreadable meta. */
		CU_ASSERT_EQUAL_FATAL(cc_store_find(f.s, t, &c), CC_OK);
		CU_ASSERT_TRUE(cc_cert_has_private_key(c));
		CU_ASSERT_EQUAL(cc_cert_services(c), 0);
		CU_ASSERT_FALSE(cc_cert_exportable(c));
		CU_ASSERT_STRING_EQUAL(cc_cert_friendly_name(c), "");
	}
	X509_free(x);
	EVP_PKEY_free(k);
	fx_close(&f);
}

static void
test_bad_stray_names(void)
{
	static const char *const strays[] = {
	        "certs/README.txt",
	        "certs/0123456789abcdef0123456789abcdef01234567.pem", /* lower case */
	        "certs/0123456789ABCDEF0123456789ABCDEF0123456.pem",  /* 39 digits */
	        "certs/0123456789ABCDEF0123456789ABCDEF01234567.crt",
	        "certs/0123456789ABCDEF0123456789ABCDEF01234567.PEM",
	        "keys/notes.txt",
	        "keys/0123456789ABCDEF0123456789ABCDEF01234567.pem",
	        "meta/0123456789ABCDEF0123456789ABCDEF0123456G.ini",
	};
	struct fx f;
	char good[CC_THUMB_LEN + 1];
	size_t i;

	bad_setup(&f, good);
	for (i = 0; i < sizeof(strays) / sizeof(strays[0]); i++)
		plant(&f, strays[i], "stray\n", 6, 0600);
	bad_reopen(&f, good);
	CU_ASSERT_EQUAL(cc_store_count(f.s), 1);
	CU_ASSERT_EQUAL(cc_store_problem_count(f.s), sizeof(strays) / sizeof(strays[0]));
	for (i = 0; i < sizeof(strays) / sizeof(strays[0]); i++)
		expect_problem(f.s, strays[i], "unexpected");
	fx_close(&f);
}

static void
test_bad_store_mode(void)
{
	struct fx f;
	char good[CC_THUMB_LEN + 1];
	long i;

	bad_setup(&f, good);
	CU_ASSERT_EQUAL_FATAL(chmod(f.path, 0755), 0);
	bad_reopen(&f, good);
	CU_ASSERT_EQUAL(cc_store_problem_count(f.s), 1);
	i = problem_index(f.s, f.path);
	CU_ASSERT(i >= 0);
	if (i >= 0) {
		CU_ASSERT_STRING_EQUAL(cc_store_problem_path(f.s, (size_t)i), f.path);
		CU_ASSERT_PTR_NOT_NULL(strstr(cc_store_problem_reason(f.s, (size_t)i), "0755"));
	}
	CU_ASSERT_EQUAL_FATAL(chmod(f.path, 0700), 0);
	bad_reopen(&f, good);
	CU_ASSERT_EQUAL(cc_store_problem_count(f.s), 0);
	fx_close(&f);
}

/* Symlinks and a FIFO where files belong: refused as problems, and loading never hangs. */
static void
test_bad_special_files(void)
{
	struct fx f;
	char good[CC_THUMB_LEN + 1], t[CC_THUMB_LEN + 1], p[PATH_MAX], rel[PATH_MAX];
	char target[PATH_MAX], fifo[PATH_MAX], *kpem;
	X509 *x;
	EVP_PKEY *k;
	pid_t pid;
	int status = 0;

	bad_setup(&f, good);
	/* A symlinked key (pointing at the right key, outside the store). */
	with_planted_key(&f, "placeholder", 0600, t, rel, &x, &k);
	kpem = tu_key_pem(k);
	pathf(target, "%s/outside.key", f.dir);
	tu_write_file(target, kpem, strlen(kpem), 0600);
	pathf(p, "%s/%s", f.path, rel);
	CU_ASSERT_EQUAL_FATAL(unlink(p), 0);
	CU_ASSERT_EQUAL_FATAL(symlink(target, p), 0);
	bad_reopen(&f, good);
	expect_loaded(f.s, t, false, CC_SVC_SMTP);
	CU_ASSERT_EQUAL(cc_store_problem_count(f.s), 1);
	expect_problem(f.s, rel, NULL);
	/* A dangling one is not "no key": something is there that is not a key file. */
	CU_ASSERT_EQUAL_FATAL(unlink(p), 0);
	pathf(target, "%s/nowhere.key", f.dir);
	CU_ASSERT_EQUAL_FATAL(symlink(target, p), 0);
	bad_reopen(&f, good);
	expect_loaded(f.s, t, false, CC_SVC_SMTP);
	CU_ASSERT_EQUAL(cc_store_problem_count(f.s), 1);
	expect_problem(f.s, rel, NULL);
	CU_ASSERT_EQUAL_FATAL(unlink(p), 0);

	/* A FIFO named as a certificate: opened in a child with an alarm, so a hang shows. */
	pathf(fifo, "%s/certs/0123456789ABCDEF0123456789ABCDEF01234567.pem", f.path);
	CU_ASSERT_EQUAL_FATAL(mkfifo(fifo, 0600), 0);
	pid = fork();
	CU_ASSERT_FATAL(pid != -1);
	if (pid == 0) {
		struct cc_store *cs;

		alarm(10);
		if (cc_store_open(f.path, 0, &cs) != CC_OK)
			_exit(2);
		if (cc_store_count(cs) != 2 || cc_store_problem_count(cs) != 1 ||
		    strstr(cc_store_problem_path(cs, 0), "0123456789ABCDEF") == NULL)
			_exit(3);
		_exit(0);
	}
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT_TRUE(WIFEXITED(status));
	CU_ASSERT_EQUAL(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
	if (WIFSIGNALED(status))
		fprintf(stderr, "\n  loader killed by signal %d (hung on a FIFO)",
		        WTERMSIG(status));
	free(kpem);
	X509_free(x);
	EVP_PKEY_free(k);
	fx_close(&f);
}

/* Every kind of bad entry at once: each reported once, the good certificate unharmed. */
static void
test_bad_all_at_once(void)
{
	struct fx f;
	char good[CC_THUMB_LEN + 1], t1[CC_THUMB_LEN + 1], t2[CC_THUMB_LEN + 1];
	char t3[CC_THUMB_LEN + 1], rel1[PATH_MAX], rel2[PATH_MAX], rel[PATH_MAX], *kpem, *epem;
	X509 *x1, *x2, *x3;
	EVP_PKEY *k1, *k2, *k3;

	bad_setup(&f, good);
	make_ec(&x3, &k3);
	thumb_of(x3, t3);
	kpem = tu_key_pem(k3);
	with_planted_key(&f, kpem, 0600, t1, rel1, &x1, &k1); /* mismatching key */
	with_planted_key(&f, "x", 0600, t2, rel2, &x2, &k2);
	epem = tu_key_pem_encrypted(k2, "pw");
	plant(&f, rel2, epem, strlen(epem), 0600); /* password-protected key */
	pathf(rel, "keys/%s.key", t3);
	plant(&f, rel, kpem, strlen(kpem), 0600); /* key without certificate */
	plant(&f, "certs/stray.pem", "x", 1, 0644);
	plant(&f, "certs/0123456789ABCDEF0123456789ABCDEF01234567.pem", "junk", 4, 0644);
	CU_ASSERT_EQUAL_FATAL(chmod(f.path, 0750), 0);
	bad_reopen(&f, good);
	CU_ASSERT_EQUAL(cc_store_count(f.s), 3);
	expect_loaded(f.s, t1, false, CC_SVC_SMTP);
	expect_loaded(f.s, t2, false, CC_SVC_SMTP);
	expect_problem(f.s, rel1, "match");
	expect_problem(f.s, rel2, "password");
	expect_problem(f.s, rel, "without");
	expect_problem(f.s, "certs/stray.pem", "unexpected");
	expect_problem(f.s, "0123456789ABCDEF0123456789ABCDEF01234567.pem", NULL);
	CU_ASSERT_EQUAL(cc_store_problem_count(f.s), 6);
	free(kpem);
	free(epem);
	X509_free(x1);
	X509_free(x2);
	X509_free(x3);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k3);
	fx_close(&f);
}

/* ---- folders: never followed through a link, never another user's -------------- */

/* Moves store/`folder` aside to `aside` and puts a symbolic link to `target` in its place. */
static void
link_folder(const struct fx *f, const char *folder, const char *target, char aside[PATH_MAX])
{
	char p[PATH_MAX];

	pathf(p, "%s/%s", f->path, folder);
	pathf(aside, "%s/aside", f->dir);
	CU_ASSERT_EQUAL_FATAL(rename(p, aside), 0);
	CU_ASSERT_EQUAL_FATAL(symlink(target, p), 0);
}

static void
unlink_folder(const struct fx *f, const char *folder, const char *aside)
{
	char p[PATH_MAX];

	pathf(p, "%s/%s", f->path, folder);
	CU_ASSERT_EQUAL_FATAL(unlink(p), 0);
	CU_ASSERT_EQUAL_FATAL(rename(aside, p), 0);
}

/* cc_store_open fails with CC_ERR_PERM, the detail containing `want` and `why`. */
static void
expect_open_refused(const char *path, int flags, const char *want, const char *why)
{
	struct cc_store *s = (struct cc_store *)1;

	CU_ASSERT_EQUAL(cc_store_open(path, flags, &s), CC_ERR_PERM);
	CU_ASSERT_PTR_NULL(s);
	if (s != NULL && s != (struct cc_store *)1)
		cc_store_free(s);
	if (strstr(cc_errdetail(), want) == NULL || strstr(cc_errdetail(), why) == NULL) {
		CU_FAIL("the refusal does not name the folder and why");
		fprintf(stderr, "\n  want \"%s\" and \"%s\" in: %s", want, why, cc_errdetail());
	}
}

/*
 * A folder of the store replaced by a symbolic link to another directory: nothing is written,
 * read or removed through it, by a handle opened before or after; opening the store is refused
 * with an error naming the folder. The other directory holds a file named as the store's key.
 */
static void
test_folder_link_refused(void)
{
	static const char *const folders[] = {"certs",
	                                      "keys",
	                                      "meta",
	                                      "requests",
	                                      "trust",
	                                      "trust/registry",
	                                      "trust/enterprise",
	                                      "trust/grouppolicy",
	                                      "crl",
	                                      "state"};
	static const char victim_text[] = "not the store's\n";
	const char *keys[] = {"k"}, *vals[] = {"v"};
	struct fx f;
	char t[CC_THUMB_LEN + 1], t2[CC_THUMB_LEN + 1], other[PATH_MAX], victim[PATH_MAX];
	char aside[PATH_MAX], p[PATH_MAX], *text;
	X509 *x;
	EVP_PKEY *k;
	size_t i, len = 0;

	fx_open(&f);
	add_ec(f.s, CC_SVC_UM, "kept", t, NULL, NULL);
	pathf(other, "%s/other", f.dir);
	CU_ASSERT_EQUAL_FATAL(mkdir(other, 0700), 0);
	pathf(victim, "%s/%s.key", other, t);
	tu_write_file(victim, victim_text, strlen(victim_text), 0600);

	/* keys/ made a link under a handle that is already open: remove and add are refused. */
	link_folder(&f, "keys", other, aside);
	CU_ASSERT_EQUAL(cc_store_remove(f.s, t), CC_ERR_PERM);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "/keys"));
	make_ec(&x, &k);
	CU_ASSERT_EQUAL(cc_store_add(f.s, x, NULL, k, NULL, t2), CC_ERR_PERM);
	CU_ASSERT_EQUAL(cc_store_state_set(f.s, "x", keys, vals, 1), CC_ERR_PERM);
	CU_ASSERT_EQUAL(entries(f.dir, "other"), 1);
	text = tu_read_file(victim, &len);
	CU_ASSERT_PTR_NOT_NULL(text);
	CU_ASSERT(text != NULL && strcmp(text, victim_text) == 0);
	free(text);
	/* The certificate was not removed half way either. */
	pathf(p, "%s/certs/%s.pem", f.path, t);
	CU_ASSERT_TRUE(exists(p));
	/* Opening it is refused, naming the folder, with or without CREATE. */
	expect_open_refused(f.path, 0, "/keys", "symbolic link");
	expect_open_refused(f.path, CC_STORE_CREATE, "/keys", "symbolic link");
	unlink_folder(&f, "keys", aside);
	fx_reopen(&f);
	expect_loaded(f.s, t, true, CC_SVC_UM);
	CU_ASSERT_EQUAL(cc_store_problem_count(f.s), 0);

	/* Every folder of the layout alike. */
	for (i = 0; i < sizeof(folders) / sizeof(folders[0]); i++) {
		link_folder(&f, folders[i], other, aside);
		pathf(p, "/%s", folders[i]);
		expect_open_refused(f.path, 0, p, "symbolic link");
		unlink_folder(&f, folders[i], aside);
	}
	/* The store itself as a link. */
	pathf(p, "%s/link", f.dir);
	CU_ASSERT_EQUAL_FATAL(symlink(f.path, p), 0);
	expect_open_refused(p, 0, p, "symbolic link");
	expect_open_refused(p, CC_STORE_CREATE, p, "symbolic link");

	CU_ASSERT_EQUAL(entries(f.dir, "other"), 1);
	text = tu_read_file(victim, &len);
	CU_ASSERT(text != NULL && strcmp(text, victim_text) == 0);
	free(text);
	fx_reopen(&f);
	CU_ASSERT_EQUAL(cc_store_remove(f.s, t), CC_OK);
	CU_ASSERT_EQUAL(cc_store_add(f.s, x, NULL, k, NULL, t2), CC_OK);
	X509_free(x);
	EVP_PKEY_free(k);
	fx_close(&f);
}

/*
 * A store whose directory or folders another user owns, or others may write to (either could
 * put a link in a folder's place), is refused with an error naming the folder.
 */
static void
test_folder_owner_refused(void)
{
	struct fx f;
	char t[CC_THUMB_LEN + 1], p[PATH_MAX];

	fx_open(&f);
	add_ec(f.s, CC_SVC_UM, "kept", t, NULL, NULL);
	pathf(p, "%s/meta", f.path);
	CU_ASSERT_EQUAL_FATAL(chmod(p, 0777), 0);
	expect_open_refused(f.path, 0, "/meta", "writable");
	CU_ASSERT_EQUAL(cc_store_remove(f.s, t), CC_ERR_PERM);
	CU_ASSERT_EQUAL_FATAL(chmod(p, 0700), 0);
	pathf(p, "%s/trust/enterprise", f.path);
	CU_ASSERT_EQUAL_FATAL(chmod(p, 0770), 0);
	expect_open_refused(f.path, 0, "/trust/enterprise", "writable");
	CU_ASSERT_EQUAL_FATAL(chmod(p, 0700), 0);
	CU_ASSERT_EQUAL_FATAL(chmod(f.path, 0730), 0);
	expect_open_refused(f.path, 0, f.path, "writable");
	CU_ASSERT_EQUAL_FATAL(chmod(f.path, 0700), 0);
	if (geteuid() == 0) {
		pathf(p, "%s/keys", f.path);
		CU_ASSERT_EQUAL_FATAL(chown(p, 4242, 4242), 0);
		expect_open_refused(f.path, 0, "/keys", "uid 4242");
		CU_ASSERT_EQUAL(cc_store_remove(f.s, t), CC_ERR_PERM);
		CU_ASSERT_EQUAL_FATAL(chown(p, 0, 0), 0);
		CU_ASSERT_EQUAL_FATAL(chown(f.path, 4242, 4242), 0);
		expect_open_refused(f.path, 0, f.path, "uid 4242");
		CU_ASSERT_EQUAL_FATAL(chown(f.path, 0, 0), 0);
	} else {
		fprintf(stderr, "\n  (not root: another user's folder cannot be made; skipped)");
	}
	fx_reopen(&f);
	expect_loaded(f.s, t, true, CC_SVC_UM);
	CU_ASSERT_EQUAL(cc_store_problem_count(f.s), 0);
	fx_close(&f);
}

/* ---- enable, remove, state ----------------------------------------------------------------- */

static void
test_enable(void)
{
	struct fx f;
	char t[CC_THUMB_LEN + 1], other[CC_THUMB_LEN + 1], lower[CC_THUMB_LEN + 1];
	struct cc_meta m = {CC_SVC_UM, true, "keep me; 100%", NULL};
	struct cc_cert *c;
	X509 *x;
	EVP_PKEY *k;
	size_t i;

	fx_open(&f);
	make_ec(&x, &k);
	CU_ASSERT_EQUAL_FATAL(cc_store_add(f.s, x, NULL, k, &m, t), CC_OK);
	add_ec(f.s, CC_SVC_IIS, NULL, other, NULL, NULL);
	CU_ASSERT_EQUAL(cc_store_enable(f.s, t, CC_SVC_SMTP), CC_OK);
	expect_loaded(f.s, t, true, CC_SVC_UM | CC_SVC_SMTP);
	/* Enabling what is on, or nothing, removes nothing. */
	CU_ASSERT_EQUAL(cc_store_enable(f.s, t, CC_SVC_UM), CC_OK);
	CU_ASSERT_EQUAL(cc_store_enable(f.s, t, 0), CC_OK);
	expect_loaded(f.s, t, true, CC_SVC_UM | CC_SVC_SMTP);
	/* Any thumbprint spelling. */
	for (i = 0; i <= CC_THUMB_LEN; i++)
		lower[i] = (char)(t[i] >= 'A' && t[i] <= 'F' ? t[i] - 'A' + 'a' : t[i]);
	CU_ASSERT_EQUAL(cc_store_enable(f.s, lower, CC_SVC_LDAP), CC_OK);
	fx_reopen(&f);
	expect_loaded(f.s, t, true, CC_SVC_UM | CC_SVC_SMTP | CC_SVC_LDAP);
	CU_ASSERT_EQUAL_FATAL(cc_store_find(f.s, t, &c), CC_OK);
	CU_ASSERT_TRUE(cc_cert_exportable(c));
	CU_ASSERT_STRING_EQUAL(cc_cert_friendly_name(c), "keep me; 100%");
	/* The other certificate is untouched. */
	expect_loaded(f.s, other, true, CC_SVC_IIS);
	CU_ASSERT_EQUAL(cc_store_problem_count(f.s), 0);
	/* Unknown and malformed thumbprints. */
	CU_ASSERT_EQUAL(cc_store_enable(f.s, "0000000000000000000000000000000000000000", CC_SVC_UM),
	                CC_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(cc_store_enable(f.s, "zz", CC_SVC_UM), CC_ERR_INVAL);
	CU_ASSERT_EQUAL(cc_store_count(f.s), 2);
	CU_ASSERT_EQUAL(entries(f.path, "meta"), 2);
	X509_free(x);
	EVP_PKEY_free(k);
	fx_close(&f);
}

static void
test_remove(void)
{
	struct fx f;
	char t[CC_THUMB_LEN + 1], keep[CC_THUMB_LEN + 1], state[64], p[PATH_MAX];
	const char *keys[] = {"last_day"}, *vals[] = {"20000"};
	char v[32];

	fx_open(&f);
	add_ec(f.s, CC_SVC_UM, "gone", t, NULL, NULL);
	add_ec(f.s, CC_SVC_SMTP, "kept", keep, NULL, NULL);
	snprintf(state, sizeof(state), "expiry-%s", t);
	CU_ASSERT_EQUAL_FATAL(cc_store_state_set(f.s, state, keys, vals, 1), CC_OK);
	snprintf(state, sizeof(state), "expiry-%s", keep);
	CU_ASSERT_EQUAL_FATAL(cc_store_state_set(f.s, state, keys, vals, 1), CC_OK);

	CU_ASSERT_EQUAL(cc_store_remove(f.s, t), CC_OK);
	expect_absent(f.s, t);
	CU_ASSERT_EQUAL(cc_store_count(f.s), 1);
	pathf(p, "%s/certs/%s.pem", f.path, t);
	CU_ASSERT_FALSE(exists(p));
	pathf(p, "%s/keys/%s.key", f.path, t);
	CU_ASSERT_FALSE(exists(p));
	pathf(p, "%s/meta/%s.ini", f.path, t);
	CU_ASSERT_FALSE(exists(p));
	pathf(p, "%s/state/expiry-%s.ini", f.path, t);
	CU_ASSERT_FALSE(exists(p));
	/* The other certificate and its state stay. */
	expect_loaded(f.s, keep, true, CC_SVC_SMTP);
	CU_ASSERT_EQUAL(cc_store_state_get(f.s, state, "last_day", v, sizeof(v)), CC_OK);
	CU_ASSERT_STRING_EQUAL(v, "20000");
	/* Again, and unknown, and malformed. */
	CU_ASSERT_EQUAL(cc_store_remove(f.s, t), CC_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(cc_store_remove(f.s, "0000000000000000000000000000000000000000"),
	                CC_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(cc_store_remove(f.s, "../../etc/passwd"), CC_ERR_INVAL);
	fx_reopen(&f);
	CU_ASSERT_EQUAL(cc_store_count(f.s), 1);
	CU_ASSERT_EQUAL(cc_store_problem_count(f.s), 0);
	/* A certificate without key or meta removes cleanly too. */
	{
		X509 *x;
		EVP_PKEY *k;

		make_ec(&x, &k);
		CU_ASSERT_EQUAL_FATAL(cc_store_add(f.s, x, NULL, NULL, NULL, t), CC_OK);
		CU_ASSERT_EQUAL(cc_store_remove(f.s, t), CC_OK);
		expect_absent(f.s, t);
		X509_free(x);
		EVP_PKEY_free(k);
	}
	CU_ASSERT_EQUAL(entries(f.path, "certs"), 1);
	CU_ASSERT_EQUAL(entries(f.path, "keys"), 1);
	CU_ASSERT_EQUAL(entries(f.path, "meta"), 1);
	fx_close(&f);
}

static void
test_state(void)
{
	static const char *const bad_names[] = {"../x", ".hidden", "a/b", "", "x y", "x\n", "/abs"};
	struct fx f;
	const char *keys[] = {"last_day", "note"}, *vals[] = {"20412", "a = b: c"};
	const char *k1[] = {"k"}, *v1[1];
	char v[64], p[PATH_MAX], longname[140];
	size_t i;

	fx_open(&f);
	/* Missing record, missing key. */
	CU_ASSERT_EQUAL(cc_store_state_get(f.s, "expiry-X", "last_day", v, sizeof(v)),
	                CC_ERR_NOT_FOUND);
	CU_ASSERT_STRING_EQUAL(v, "");
	CU_ASSERT_EQUAL_FATAL(cc_store_state_set(f.s, "expiry-X", keys, vals, 2), CC_OK);
	CU_ASSERT_EQUAL(cc_store_state_get(f.s, "expiry-X", "last_day", v, sizeof(v)), CC_OK);
	CU_ASSERT_STRING_EQUAL(v, "20412");
	CU_ASSERT_EQUAL(cc_store_state_get(f.s, "expiry-X", "note", v, sizeof(v)), CC_OK);
	CU_ASSERT_STRING_EQUAL(v, "a = b: c");
	CU_ASSERT_EQUAL(cc_store_state_get(f.s, "expiry-X", "nokey", v, sizeof(v)),
	                CC_ERR_NOT_FOUND);
	pathf(p, "%s/state/expiry-X.ini", f.path);
	CU_ASSERT_EQUAL(mode_of(p), 0600);
	/* A second store object sees it (it is on disk, not in memory). */
	{
		struct cc_store *s2;

		CU_ASSERT_EQUAL_FATAL(cc_store_open(f.path, 0, &s2), CC_OK);
		CU_ASSERT_EQUAL(cc_store_state_get(s2, "expiry-X", "last_day", v, sizeof(v)),
		                CC_OK);
		CU_ASSERT_STRING_EQUAL(v, "20412");
		cc_store_free(s2);
	}
	/* Setting replaces the record. */
	CU_ASSERT_EQUAL_FATAL(cc_store_state_set(f.s, "expiry-X", keys, vals, 1), CC_OK);
	CU_ASSERT_EQUAL(cc_store_state_get(f.s, "expiry-X", "note", v, sizeof(v)),
	                CC_ERR_NOT_FOUND);

	/* Bad names, for both directions; nothing is written anywhere. */
	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		CU_ASSERT_EQUAL(cc_store_state_set(f.s, bad_names[i], keys, vals, 1), CC_ERR_INVAL);
		CU_ASSERT_EQUAL(cc_store_state_get(f.s, bad_names[i], "last_day", v, sizeof(v)),
		                CC_ERR_INVAL);
	}
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CU_ASSERT_EQUAL(cc_store_state_set(f.s, longname, keys, vals, 1), CC_ERR_INVAL);
	CU_ASSERT_EQUAL(cc_store_state_set(f.s, NULL, keys, vals, 1), CC_ERR_INVAL);
	pathf(p, "%s/x.ini", f.path);
	CU_ASSERT_FALSE(exists(p));
	CU_ASSERT_EQUAL(entries(f.path, "state"), 1);

	/* Values and keys with line breaks or INI syntax are refused, and the record kept. */
	{
		static const char *const bad_vals[] = {"a\nb", "a\rb", "x\ninjected = 1", "end\n"};
		static const char *const bad_keys[] = {"k=v", "k\n", "injected = 1\nk", "k\r"};

		for (i = 0; i < sizeof(bad_vals) / sizeof(bad_vals[0]); i++) {
			v1[0] = bad_vals[i];
			CU_ASSERT_EQUAL(cc_store_state_set(f.s, "expiry-X", k1, v1, 1),
			                CC_ERR_INVAL);
		}
		for (i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
			v1[0] = "1";
			CU_ASSERT_EQUAL(cc_store_state_set(f.s, "expiry-X", &bad_keys[i], v1, 1),
			                CC_ERR_INVAL);
		}
		CU_ASSERT_EQUAL(cc_store_state_get(f.s, "expiry-X", "last_day", v, sizeof(v)),
		                CC_OK);
		CU_ASSERT_STRING_EQUAL(v, "20412");
		CU_ASSERT_EQUAL(cc_store_state_get(f.s, "expiry-X", "injected", v, sizeof(v)),
		                CC_ERR_NOT_FOUND);
	}
	CU_ASSERT_EQUAL(tmp_files(f.path), 0);
	fx_close(&f);
}

/* Whatever state_set accepts, state_get returns exactly; what it cannot keep it refuses. */
static void
test_state_roundtrip_or_refuse(void)
{
	struct fx f;
	char longval[300], v[400];
	const char *const cases[][2] = {
	        {"plain", "value"},   {"k", ""},
	        {"k", " padded "},    {"k", "tab\tin"},
	        {"a:b", "colon key"}, {"", "empty key"},
	        {" k", "blank key"},  {"k", "=starts"},
	        {"k", "[x]"},         {"k", "ü"},
	        {"k", longval},       {"k", "a ; b"},
	        {"k", "a;b"},         {"k", "#x"},
	        {"[s]", "1"},         {"#k", "1"},
	        {"a;b", "1"},         {"k", "x\tinjected = 1"},
	};
	size_t i;
	enum cc_err r;

	memset(longval, 'v', sizeof(longval) - 1);
	longval[sizeof(longval) - 1] = '\0';
	fx_open(&f);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *k[1] = {cases[i][0]}, *val[1] = {cases[i][1]};

		r = cc_store_state_set(f.s, "rt", k, val, 1);
		if (r != CC_OK) {
			CU_ASSERT_EQUAL(r, CC_ERR_INVAL);
			continue;
		}
		r = cc_store_state_get(f.s, "rt", cases[i][0], v, sizeof(v));
		CU_ASSERT_EQUAL(r, CC_OK);
		CU_ASSERT(r == CC_OK && strcmp(v, cases[i][1]) == 0);
		if (r != CC_OK || strcmp(v, cases[i][1]) != 0)
			fprintf(stderr, "\n  key \"%s\" value \"%.40s\" set, got back %d \"%.40s\"",
			        cases[i][0], cases[i][1], r, v);
	}
	/* A value that does not fit the caller's buffer is an error, not a silent cut. */
	{
		const char *k[1] = {"day"}, *val[1] = {"123456789"};

		CU_ASSERT_EQUAL_FATAL(cc_store_state_set(f.s, "rt", k, val, 1), CC_OK);
		CU_ASSERT_NOT_EQUAL(cc_store_state_get(f.s, "rt", "day", v, 4), CC_OK);
		CU_ASSERT_EQUAL(cc_store_state_get(f.s, "rt", "day", v, 10), CC_OK);
		CU_ASSERT_STRING_EQUAL(v, "123456789");
	}
	fx_close(&f);
}

/* ---- concurrent writers -------------------------------------------------------------------- */

#define WRITERS    4
#define PER_WRITER 5

static int
writer(const char *path, int id, const char *shared, int barrier)
{
	static const unsigned svc[WRITERS] = {CC_SVC_SMTP, CC_SVC_POP, CC_SVC_IMAP, CC_SVC_UM};
	struct cc_store *s;
	struct cc_new_params p;
	char domain[64], t[CC_THUMB_LEN + 1];
	const char *domains[1] = {domain};
	char c;
	int j;

	/* Everyone starts together. */
	while (read(barrier, &c, 1) == -1 && errno == EINTR)
		;
	if (cc_store_open(path, 0, &s) != CC_OK)
		return 10;
	for (j = 0; j < PER_WRITER; j++) {
		memset(&p, 0, sizeof(p));
		snprintf(domain, sizeof(domain), "w%d-%d.example.test", id, j);
		p.domains = domains;
		p.ndomains = 1;
		p.key_type = CC_KEY_EC_P256;
		p.services = CC_SVC_IIS;
		if (cc_store_new_self_signed(s, &p, t) != CC_OK) {
			fprintf(stderr, "writer %d: %s\n", id, cc_errdetail());
			return 20 + j;
		}
		/* Read-modify-write of one shared meta file, interleaved with the adds. */
		if (cc_store_enable(s, shared, svc[id]) != CC_OK) {
			fprintf(stderr, "writer %d: enable: %s\n", id, cc_errdetail());
			return 30 + j;
		}
	}
	cc_store_free(s);
	return 0;
}

static void
test_concurrent_writers(void)
{
	struct fx f;
	char shared[CC_THUMB_LEN + 1], want[64];
	int seen[WRITERS][PER_WRITER];
	pid_t pids[WRITERS];
	int fds[2], i, j, status;
	size_t n;

	fx_open(&f);
	add_ec(f.s, CC_SVC_NONE, "shared", shared, NULL, NULL);
	CU_ASSERT_EQUAL_FATAL(pipe(fds), 0);
	for (i = 0; i < WRITERS; i++) {
		pids[i] = fork();
		CU_ASSERT_FATAL(pids[i] != -1);
		if (pids[i] == 0) {
			close(fds[1]);
			_exit(writer(f.path, i, shared, fds[0]));
		}
	}
	close(fds[0]);
	close(fds[1]); /* EOF: go */
	for (i = 0; i < WRITERS; i++) {
		status = -1;
		CU_ASSERT_EQUAL(waitpid(pids[i], &status, 0), pids[i]);
		CU_ASSERT_TRUE(WIFEXITED(status));
		CU_ASSERT_EQUAL(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
	}
	fx_reopen(&f);
	CU_ASSERT_EQUAL(cc_store_count(f.s), WRITERS * PER_WRITER + 1);
	CU_ASSERT_EQUAL(cc_store_problem_count(f.s), 0);
	dump_problems(f.s);
	expect_loaded(f.s, shared, true, CC_SVC_SMTP | CC_SVC_POP | CC_SVC_IMAP | CC_SVC_UM);
	/* Each writer's certificates, once each, with their keys. */
	memset(seen, 0, sizeof(seen));
	for (n = 0; n < cc_store_count(f.s); n++) {
		struct cc_cert *c = cc_store_cert(f.s, n);

		CU_ASSERT_TRUE(cc_cert_has_private_key(c));
		for (i = 0; i < WRITERS; i++)
			for (j = 0; j < PER_WRITER; j++) {
				snprintf(want, sizeof(want), "w%d-%d.example.test", i, j);
				if (cc_cert_domain_count(c) > 0 &&
				    strcmp(cc_cert_domain(c, 0), want) == 0)
					seen[i][j]++;
			}
	}
	for (i = 0; i < WRITERS; i++)
		for (j = 0; j < PER_WRITER; j++)
			CU_ASSERT_EQUAL(seen[i][j], 1);
	CU_ASSERT_EQUAL(tmp_files(f.path), 0);
	fx_close(&f);
}

/* ---- crash safety -------------------------------------------------------------------------- */

static const char *crash_step;
static int crash_nth, crash_seen;

static void
crash_hook(const char *step)
{
	if (strcmp(step, crash_step) == 0 && ++crash_seen == crash_nth)
		_exit(3);
}

/* Runs add (or remove) in a child that dies at the nth call of `step`; returns its status. */
static int
crash_child(const char *path, const char *step, int nth, X509 *x, EVP_PKEY *k,
            const char *remove_thumb)
{
	struct cc_meta m = {CC_SVC_UM | CC_SVC_SMTP, false, "crash; test", NULL};
	pid_t pid;
	int status = -1;

	pid = fork();
	CU_ASSERT_FATAL(pid != -1);
	if (pid == 0) {
		struct cc_store *cs;
		enum cc_err r;

		crash_step = step;
		crash_nth = nth;
		crash_seen = 0;
		if (cc_store_open(path, 0, &cs) != CC_OK)
			_exit(10);
		cc_store_fault_hook = crash_hook;
		if (remove_thumb != NULL)
			r = cc_store_remove(cs, remove_thumb);
		else
			r = cc_store_add(cs, x, NULL, k, &m, NULL);
		_exit(r == CC_OK ? 0 : 11);
	}
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	return status;
}

/* Key and meta files of `t` that are on disk without its certificate are reported problems. */
static void
expect_orphans_reported(const struct fx *f, const char *t)
{
	char p[PATH_MAX], rel[PATH_MAX];

	pathf(p, "%s/certs/%s.pem", f->path, t);
	if (exists(p))
		return;
	pathf(rel, "keys/%s.key", t);
	pathf(p, "%s/%s", f->path, rel);
	if (exists(p))
		expect_problem(f->s, rel, "without");
	pathf(rel, "meta/%s.ini", t);
	pathf(p, "%s/%s", f->path, rel);
	if (exists(p))
		expect_problem(f->s, rel, "without");
}

static void
test_crash_during_add(void)
{
	static const struct {
		const char *step;
		int nth;        /* which call of the step: key, meta, certificate write */
		bool committed; /* the certificate's rename happened */
		bool mid_write; /* a temporary file is left */
	} cases[] = {
	        {"after-key", 1, false, false},    {"after-meta", 1, false, false},
	        {"after-cert", 1, true, false},    {"before-rename", 1, false, true},
	        {"before-rename", 2, false, true}, {"before-rename", 3, false, true},
	        {"partial-write", 1, false, true}, {"partial-write", 2, false, true},
	        {"partial-write", 3, false, true},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fx f;
		char prior[2][CC_THUMB_LEN + 1], t[CC_THUMB_LEN + 1], extra[CC_THUMB_LEN + 1];
		char p[PATH_MAX];
		struct cc_meta m = {CC_SVC_UM | CC_SVC_SMTP, false, "crash; test", NULL};
		struct cc_cert *c;
		X509 *x;
		EVP_PKEY *k;
		int status;
		enum cc_err r;

		fx_open(&f);
		add_ec(f.s, CC_SVC_UM, "prior 0", prior[0], NULL, NULL);
		add_ec(f.s, CC_SVC_IIS, "prior 1", prior[1], NULL, NULL);
		make_ec(&x, &k);
		thumb_of(x, t);
		status = crash_child(f.path, cases[i].step, cases[i].nth, x, k, NULL);
		/* The child died at the step: a step never reached would test nothing. */
		CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 3);
		if (!(WIFEXITED(status) && WEXITSTATUS(status) == 3))
			fprintf(stderr, "\n  %s #%d: child status %#x", cases[i].step, cases[i].nth,
			        status);

		fx_reopen(&f);
		expect_loaded(f.s, prior[0], true, CC_SVC_UM);
		expect_loaded(f.s, prior[1], true, CC_SVC_IIS);
		if (cases[i].committed) {
			/* Whole: certificate, key and meta. */
			expect_loaded(f.s, t, true, CC_SVC_UM | CC_SVC_SMTP);
			CU_ASSERT_EQUAL(cc_store_problem_count(f.s), 0);
		} else {
			expect_absent(f.s, t);
			CU_ASSERT_EQUAL(cc_store_count(f.s), 2);
			expect_orphans_reported(&f, t);
		}
		/* Every loaded certificate whose key file exists has its key. */
		for (size_t n = 0; n < cc_store_count(f.s); n++) {
			c = cc_store_cert(f.s, n);
			pathf(p, "%s/keys/%s.key", f.path, cc_cert_thumbprint(c));
			if (exists(p))
				CU_ASSERT_TRUE(cc_cert_has_private_key(c));
		}
		/* Only orphans are problems: nothing half-written is ever read. */
		for (size_t n = 0; n < cc_store_problem_count(f.s); n++)
			CU_ASSERT_PTR_NOT_NULL(strstr(cc_store_problem_reason(f.s, n), "without"));
		if (cases[i].mid_write)
			CU_ASSERT(tmp_files(f.path) > 0);

		/* The next writer sweeps temporaries; adding the same certificate again heals. */
		r = cc_store_add(f.s, x, NULL, k, &m, NULL);
		CU_ASSERT_EQUAL(r, cases[i].committed ? CC_ERR_EXISTS : CC_OK);
		CU_ASSERT_EQUAL(tmp_files(f.path), 0);
		add_ec(f.s, CC_SVC_POP, NULL, extra, NULL, NULL);
		CU_ASSERT_EQUAL(tmp_files(f.path), 0);
		fx_reopen(&f);
		CU_ASSERT_EQUAL(cc_store_count(f.s), 4);
		CU_ASSERT_EQUAL(cc_store_problem_count(f.s), 0);
		dump_problems(f.s);
		expect_loaded(f.s, t, true, CC_SVC_UM | CC_SVC_SMTP);
		CU_ASSERT_EQUAL_FATAL(cc_store_find(f.s, t, &c), CC_OK);
		CU_ASSERT_STRING_EQUAL(cc_cert_friendly_name(c), "crash; test");
		X509_free(x);
		EVP_PKEY_free(k);
		fx_close(&f);
	}
}

static void
test_crash_during_remove(void)
{
	struct fx f;
	char prior[2][CC_THUMB_LEN + 1], state[64], p[PATH_MAX], extra[CC_THUMB_LEN + 1];
	const char *keys[] = {"last_day"}, *vals[] = {"1"};
	int status;

	fx_open(&f);
	add_ec(f.s, CC_SVC_UM, "remove me", prior[0], NULL, NULL);
	add_ec(f.s, CC_SVC_IIS, "keep me", prior[1], NULL, NULL);
	snprintf(state, sizeof(state), "expiry-%s", prior[0]);
	CU_ASSERT_EQUAL_FATAL(cc_store_state_set(f.s, state, keys, vals, 1), CC_OK);
	status = crash_child(f.path, "after-cert-removed", 1, NULL, NULL, prior[0]);
	CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 3);

	fx_reopen(&f);
	/* Gone as a certificate (the commit point); never loaded without its key. */
	expect_absent(f.s, prior[0]);
	expect_loaded(f.s, prior[1], true, CC_SVC_IIS);
	CU_ASSERT_EQUAL(cc_store_count(f.s), 1);
	expect_orphans_reported(&f, prior[0]);
	/* Running the remove again finishes the job: the private key does not linger. */
	CU_ASSERT_EQUAL(cc_store_remove(f.s, prior[0]), CC_OK);
	pathf(p, "%s/keys/%s.key", f.path, prior[0]);
	CU_ASSERT_FALSE(exists(p));
	pathf(p, "%s/meta/%s.ini", f.path, prior[0]);
	CU_ASSERT_FALSE(exists(p));
	pathf(p, "%s/state/%s.ini", f.path, state);
	CU_ASSERT_FALSE(exists(p));
	CU_ASSERT_EQUAL(cc_store_remove(f.s, prior[0]), CC_ERR_NOT_FOUND);
	add_ec(f.s, CC_SVC_POP, NULL, extra, NULL, NULL);
	CU_ASSERT_EQUAL(tmp_files(f.path), 0);
	fx_reopen(&f);
	CU_ASSERT_EQUAL(cc_store_count(f.s), 2);
	CU_ASSERT_EQUAL(cc_store_problem_count(f.s), 0);
	dump_problems(f.s);
	fx_close(&f);
}

/*
 * A writer killed at random moments: the store always loads, and never a cert without its key.
 * The certificates are made beforehand, so the child spends its time writing, where the kills
 * matter, rather than generating keys.
 */
#define KILL_POOL 120

static void
test_sigkill_writer(void)
{
	struct fx f;
	char p[PATH_MAX], extra[CC_THUMB_LEN + 1];
	X509 *xs[KILL_POOL];
	EVP_PKEY *ks[KILL_POOL];
	size_t before = 0, n;
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	int iter, status, i;
	pid_t pid;

	for (i = 0; i < KILL_POOL; i++)
		make_ec(&xs[i], &ks[i]);
	fx_open(&f);
	fprintf(stderr, "(seed %u) ", seed);
	srand(seed);
	for (iter = 0; iter < 10; iter++) {
		pid = fork();
		CU_ASSERT_FATAL(pid != -1);
		if (pid == 0) {
			struct cc_store *cs;
			struct cc_meta m = {CC_SVC_UM, false, "killed", NULL};
			enum cc_err r;

			if (cc_store_open(f.path, 0, &cs) != CC_OK)
				_exit(10);
			for (i = 0;; i = (i + 1) % KILL_POOL) {
				r = cc_store_add(cs, xs[i], NULL, ks[i], &m, NULL);
				if (r != CC_OK && r != CC_ERR_EXISTS)
					_exit(11);
			}
		}
		usleep((useconds_t)(rand() % 50000));
		CU_ASSERT_EQUAL(kill(pid, SIGKILL), 0);
		CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
		CU_ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

		fx_reopen(&f);
		CU_ASSERT(cc_store_count(f.s) >= before);
		before = cc_store_count(f.s);
		for (n = 0; n < cc_store_count(f.s); n++) {
			struct cc_cert *c = cc_store_cert(f.s, n);

			pathf(p, "%s/keys/%s.key", f.path, cc_cert_thumbprint(c));
			if (exists(p))
				CU_ASSERT_TRUE(cc_cert_has_private_key(c));
			/* The writer always writes a key: a certificate never lands before it. */
			CU_ASSERT_TRUE(exists(p));
			CU_ASSERT_EQUAL(cc_cert_services(c), CC_SVC_UM);
			CU_ASSERT_STRING_EQUAL(cc_cert_friendly_name(c), "killed");
		}
		for (n = 0; n < cc_store_problem_count(f.s); n++)
			CU_ASSERT_PTR_NOT_NULL(strstr(cc_store_problem_reason(f.s, n), "without"));
	}
	add_ec(f.s, CC_SVC_UM, NULL, extra, NULL, NULL);
	CU_ASSERT_EQUAL(tmp_files(f.path), 0);
	fprintf(stderr, "(%zu certificates) ", cc_store_count(f.s));
	for (i = 0; i < KILL_POOL; i++) {
		X509_free(xs[i]);
		EVP_PKEY_free(ks[i]);
	}
	fx_close(&f);
}

/* ---- the view after a write ------------------------------------------------------------------ */

/* What a handle sees, as text: each certificate with its services and name, then each problem. */
static char *
view_of(const struct cc_store *s)
{
	char *all = strdup(""), *next;
	struct cc_cert *c;
	size_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(all);
	for (i = 0; i < cc_store_count(s); i++) {
		c = cc_store_cert(s, i);
		CU_ASSERT_FATAL(asprintf(&next, "%scert %s services=%u name=%s key=%d\n", all,
		                         cc_cert_thumbprint(c), cc_cert_services(c),
		                         cc_cert_friendly_name(c),
		                         (int)cc_cert_has_private_key(c)) > 0);
		free(all);
		all = next;
	}
	for (i = 0; i < cc_store_problem_count(s); i++) {
		CU_ASSERT_FATAL(asprintf(&next, "%sproblem %s: %s\n", all,
		                         cc_store_problem_path(s, i),
		                         cc_store_problem_reason(s, i)) > 0);
		free(all);
		all = next;
	}
	return all;
}

/* The handle's view equals what a fresh open of the same store sees. */
static void
expect_view_fresh(const struct cc_store *s, const char *path)
{
	struct cc_store *fresh = NULL;
	char *a, *b;

	CU_ASSERT_EQUAL_FATAL(cc_store_open(path, 0, &fresh), CC_OK);
	a = view_of(s);
	b = view_of(fresh);
	CU_ASSERT_STRING_EQUAL(a, b);
	if (strcmp(a, b) != 0)
		fprintf(stderr, "\n  view:\n%s  fresh open:\n%s", a, b);
	free(a);
	free(b);
	cc_store_free(fresh);
}

/*
 * A writer whose view is current reloads only the entry it wrote: after every kind of write the
 * view must still be exactly what a full load sees, problems included (an orphan key that the
 * new certificate adopts, a certificate whose key does not match, meta of a removed entry).
 */
static void
test_view_after_own_writes(void)
{
	struct fx f;
	char t1[CC_THUMB_LEN + 1], t2[CC_THUMB_LEN + 1], t3[CC_THUMB_LEN + 1], p[PATH_MAX];
	char *kpem;
	struct cc_meta m = {CC_SVC_SMTP, false, "adopted", NULL};
	X509 *x, *x2;
	EVP_PKEY *k, *k2;
	int i;

	fx_open(&f);
	for (i = 0; i < 5; i++) {
		add_ec(f.s, CC_SVC_UM, "five", t1, NULL, NULL);
		expect_view_fresh(f.s, f.path);
	}
	/* A key left without its certificate (a crash), then the certificate added by the API. */
	make_ec(&x, &k);
	thumb_of(x, t2);
	kpem = tu_key_pem(k);
	pathf(p, "keys/%s.key", t2);
	plant(&f, p, kpem, strlen(kpem), 0600);
	free(kpem);
	fx_reopen(&f);
	CU_ASSERT_TRUE(problem_index(f.s, t2) >= 0);
	CU_ASSERT_EQUAL_FATAL(cc_store_add(f.s, x, NULL, k, &m, t2), CC_OK);
	CU_ASSERT_EQUAL(problem_index(f.s, t2), -1);
	expect_view_fresh(f.s, f.path);
	/* Enable and remove. */
	CU_ASSERT_EQUAL(cc_store_enable(f.s, t2, CC_SVC_IMAP), CC_OK);
	expect_view_fresh(f.s, f.path);
	expect_loaded(f.s, t2, true, CC_SVC_SMTP | CC_SVC_IMAP);
	CU_ASSERT_EQUAL(cc_store_remove(f.s, t1), CC_OK);
	expect_view_fresh(f.s, f.path);
	CU_ASSERT_EQUAL(cc_store_find(f.s, t1, &(struct cc_cert *){NULL}), CC_ERR_NOT_FOUND);
	/*
	 * A certificate deleted by hand leaves its key and meta as problems; removing the entry
	 * through the API clears the files and the problems.
	 */
	add_ec(f.s, CC_SVC_NONE, NULL, t3, &x2, &k2);
	pathf(p, "%s/certs/%s.pem", f.path, t3);
	CU_ASSERT_EQUAL(unlink(p), 0);
	CU_ASSERT_EQUAL(cc_store_reload(f.s), CC_OK);
	CU_ASSERT_EQUAL(cc_store_problem_count(f.s), 2);
	expect_view_fresh(f.s, f.path);
	CU_ASSERT_EQUAL(cc_store_remove(f.s, t3), CC_OK);
	expect_view_fresh(f.s, f.path);
	CU_ASSERT_EQUAL(cc_store_problem_count(f.s), 0);
	X509_free(x);
	EVP_PKEY_free(k);
	X509_free(x2);
	EVP_PKEY_free(k2);
	fx_close(&f);
}

/* Two handles on one store: each write through one is seen by the other's next write. */
static void
test_view_after_other_writers(void)
{
	struct fx f;
	struct cc_store *b = NULL;
	struct cc_cert *c;
	char ta[CC_THUMB_LEN + 1], tb[CC_THUMB_LEN + 1], tc[CC_THUMB_LEN + 1];

	fx_open(&f);
	CU_ASSERT_EQUAL_FATAL(cc_store_open(f.path, 0, &b), CC_OK);
	add_ec(f.s, CC_SVC_UM, "from a", ta, NULL, NULL);
	CU_ASSERT_EQUAL(cc_store_count(b), 0); /* b has not looked since */
	add_ec(b, CC_SVC_SMTP, "from b", tb, NULL, NULL);
	CU_ASSERT_EQUAL(cc_store_count(b), 2);
	CU_ASSERT_EQUAL(cc_store_find(b, ta, &c), CC_OK);
	expect_view_fresh(b, f.path);
	/* b enables a's certificate: a's next write sees the new services. */
	CU_ASSERT_EQUAL(cc_store_enable(b, ta, CC_SVC_POP), CC_OK);
	add_ec(f.s, CC_SVC_NONE, NULL, tc, NULL, NULL);
	expect_view_fresh(f.s, f.path);
	expect_loaded(f.s, ta, true, CC_SVC_UM | CC_SVC_POP);
	/* b removes a's certificate: a's enable of it fails as not found, not on a stale view. */
	CU_ASSERT_EQUAL(cc_store_remove(b, ta), CC_OK);
	CU_ASSERT_EQUAL(cc_store_enable(f.s, ta, CC_SVC_IMAP), CC_ERR_NOT_FOUND);
	expect_view_fresh(f.s, f.path);
	/* A write that touches no certificate (a state record) still makes others reload. */
	CU_ASSERT_EQUAL(cc_store_state_set(b, "expiry-x", (const char *const[]){"k"},
	                                   (const char *const[]){"v"}, 1),
	                CC_OK);
	CU_ASSERT_EQUAL(cc_store_remove(f.s, tc), CC_OK);
	expect_view_fresh(f.s, f.path);
	/* b still shows tc until it looks again: its next write does. */
	CU_ASSERT_EQUAL(cc_store_find(b, tc, &c), CC_OK);
	CU_ASSERT_EQUAL(cc_store_enable(b, tb, CC_SVC_IMAP), CC_OK);
	CU_ASSERT_EQUAL(cc_store_find(b, tc, &c), CC_ERR_NOT_FOUND);
	expect_view_fresh(b, f.path);
	cc_store_free(b);
	fx_close(&f);
}

/*
 * A writer that dies after taking the lock has already moved the generation on: the next
 * writer through another handle loads everything, so what the dead one wrote is seen.
 */
static void
test_view_after_dead_writer(void)
{
	struct fx f;
	char t[CC_THUMB_LEN + 1], tdead[CC_THUMB_LEN + 1];
	struct cc_cert *c;
	X509 *x;
	EVP_PKEY *k;
	int status;

	fx_open(&f);
	add_ec(f.s, CC_SVC_UM, NULL, t, NULL, NULL);
	make_ec(&x, &k);
	thumb_of(x, tdead);
	/* Dies right after its certificate is committed: the entry is in the store. */
	status = crash_child(f.path, "after-cert", 1, x, k, NULL);
	CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 3);
	add_ec(f.s, CC_SVC_UM, NULL, t, NULL, NULL);
	expect_view_fresh(f.s, f.path);
	CU_ASSERT_EQUAL(cc_store_find(f.s, tdead, &c), CC_OK);
	CU_ASSERT_EQUAL(cc_store_count(f.s), 3);
	/* Dies before committing: what it left are orphans, and this handle reports them. */
	X509_free(x);
	EVP_PKEY_free(k);
	make_ec(&x, &k);
	thumb_of(x, tdead);
	status = crash_child(f.path, "after-meta", 1, x, k, NULL);
	CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 3);
	add_ec(f.s, CC_SVC_UM, NULL, t, NULL, NULL);
	expect_view_fresh(f.s, f.path);
	CU_ASSERT_EQUAL(cc_store_problem_count(f.s), 2);
	X509_free(x);
	EVP_PKEY_free(k);
	fx_close(&f);
}

/* cc_store_set_key_source: what the source was asked, and what it answers. */
static struct {
	const char *path; /* the store, opened CC_STORE_NO_LOCK from inside the source */
	EVP_PKEY *give;   /* NULL: no key, with a reason */
	int asked;
	bool inner_opened; /* the inner open succeeded (a writer holds the lock then) */
	char thumb[CC_THUMB_LEN + 1];
} src;

static enum cc_err
source(void *arg, const char *thumb, X509 *x, EVP_PKEY **key, char *why, size_t len)
{
	struct cc_store *inner = NULL;

	(void)arg;
	src.asked++;
	snprintf(src.thumb, sizeof(src.thumb), "%s", thumb);
	CU_ASSERT_PTR_NOT_NULL(x);
	*key = NULL;
	if (src.path != NULL) {
		cc_store_set_key_source(NULL, NULL);
		src.inner_opened = cc_store_open(src.path, CC_STORE_NO_LOCK, &inner) == CC_OK;
		cc_store_free(inner);
		cc_store_set_key_source(source, NULL);
	}
	if (src.give == NULL) {
		snprintf(why, len, "held elsewhere, and refused");
		return CC_OK;
	}
	CU_ASSERT_FATAL(EVP_PKEY_up_ref(src.give) == 1);
	*key = src.give;
	return CC_OK;
}

static void
test_key_source(void)
{
	struct fx f;
	struct cc_cert *c = NULL;
	char thumb[CC_THUMB_LEN + 1], lock[PATH_MAX], kp[PATH_MAX];
	X509 *x = NULL;
	EVP_PKEY *k = NULL;

	fx_open(&f);
	pathf(lock, "%s/.lock", f.path);
	CU_ASSERT_EQUAL(access(lock, F_OK), 0); /* made with the store */
	memset(&src, 0, sizeof(src));
	src.path = f.path;
	cc_store_set_key_source(source, NULL);
	/* Asked from inside the writer's lock: a no-lock open does not wait for it. */
	add_ec(f.s, CC_SVC_UM, "held", thumb, &x, &k);
	CU_ASSERT_TRUE(src.asked >= 1);
	CU_ASSERT_TRUE(src.inner_opened);
	CU_ASSERT_STRING_EQUAL(src.thumb, thumb);
	/* The key file is not read: a file that is no key at all does not matter. */
	pathf(kp, "%s/keys/%s.key", f.path, thumb);
	tu_write_file(kp, "not a key", 9, 0600);
	src.path = NULL;
	src.give = k;
	fx_reopen(&f);
	CU_ASSERT_EQUAL_FATAL(cc_store_find(f.s, thumb, &c), CC_OK);
	CU_ASSERT_TRUE(cc_cert_has_private_key(c));
	CU_ASSERT_EQUAL(cc_store_problem_count(f.s), 0);
	/* No key: the source's reason is the key file's problem. */
	src.give = NULL;
	fx_reopen(&f);
	CU_ASSERT_EQUAL_FATAL(cc_store_find(f.s, thumb, &c), CC_OK);
	CU_ASSERT_FALSE(cc_cert_has_private_key(c));
	CU_ASSERT_TRUE_FATAL(cc_store_problem_count(f.s) == 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_store_problem_reason(f.s, 0), "held elsewhere"));
	/* No source again: the file is read, and is not a key. */
	cc_store_set_key_source(NULL, NULL);
	fx_reopen(&f);
	CU_ASSERT_EQUAL_FATAL(cc_store_find(f.s, thumb, &c), CC_OK);
	CU_ASSERT_FALSE(cc_cert_has_private_key(c));
	X509_free(x);
	EVP_PKEY_free(k);
	fx_close(&f);
}

static CU_TestInfo tests[] = {
        {"key source: keys/ not read, its reasons kept; a no-lock open inside a write; .lock made",
         test_key_source},
        {"create: layout, every folder 0700", test_create_layout},
        {"open: missing store or no layout fails with a reason", test_open_missing},
        {"discard: what a failed first write's open made goes, nothing else",
         test_discard_new_store},
        {"add/find/count; lower case and colons", test_add_find_count},
        {"files: key 0600 unencrypted PKCS#8, cert PEM, meta", test_key_and_cert_files},
        {"add: chain kept after the leaf", test_add_with_chain},
        {"add: duplicate is CC_ERR_EXISTS and changes nothing", test_add_duplicate},
        {"add: mismatched key or bad name writes nothing", test_add_refused_writes_nothing},
        {"add: a failed write leaves no key or meta", test_add_failure_cleans_up},
        {"bad: corrupt PEM", test_bad_corrupt_pem},
        {"bad: truncated PEM", test_bad_truncated_pem},
        {"bad: file name not the thumbprint", test_bad_name_mismatch},
        {"bad: key or meta without a certificate", test_bad_orphans},
        {"bad: key that does not match", test_bad_key_mismatch},
        {"bad: password-protected or unreadable key", test_bad_key_password},
        {"bad: key file open to others", test_bad_key_mode},
        {"bad: meta garbage, defaults used", test_bad_meta},
        {"bad: stray file names", test_bad_stray_names},
        {"bad: store directory 0755", test_bad_store_mode},
        {"bad: symlinks and a FIFO", test_bad_special_files},
        {"bad: all at once", test_bad_all_at_once},
        {"folders: a link in a folder's place is refused, nothing done through it",
         test_folder_link_refused},
        {"folders: another user's or others-writable folders are refused",
         test_folder_owner_refused},
        {"enable adds, never removes", test_enable},
        {"remove: cert, key, meta, state; unknown NOT_FOUND", test_remove},
        {"state: round trip, missing, bad names and values", test_state},
        {"state: what is accepted reads back exactly", test_state_roundtrip_or_refuse},
        {"concurrent writers (4 processes)", test_concurrent_writers},
        {"view after own writes equals a full load", test_view_after_own_writes},
        {"view after another handle's writes", test_view_after_other_writers},
        {"view after a writer died holding the lock", test_view_after_dead_writer},
        {"crash during add at every fault step", test_crash_during_add},
        {"crash during remove", test_crash_during_remove},
        {"writer killed with SIGKILL at random moments", test_sigkill_writer},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("store", tests);
}
