/*
 * crl.c: finding the CRL for a certificate. Files in the store's crl/ folder (PEM and DER,
 * several in a file), used while fresh and correctly signed by the issuer; the newest of
 * several; the fetched cache; distribution points over HTTP (a small server forked here, on
 * loopback), through a proxy, and the failures: offline, a closed port, a server that never
 * answers, an unsupported scheme, LDAP to a closed port; and the memo that makes an unreachable
 * distribution point cost one timeout per pass, counted as connections, not as seconds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certcore/cert.h"
#include "certcore/error.h"
#include "certcore/services.h"
#include "certcore/store.h"
#include "certcore/trust.h"
#include "certcore/verify.h"
#include "crl.h"
#include "testutil.h"

#define DAY 86400L

/* ---- fixture: a store, a root (Enterprise), an intermediate ------------------------------ */

struct fx {
	char *dir;
	char path[PATH_MAX];
	struct cc_store *s;
	X509 *root, *inter;
	EVP_PKEY *rk, *ik;
	time_t now;
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
no_proxy_env(void)
{
	static const char *const vars[] = {"http_proxy",      "HTTP_PROXY", "https_proxy",
	                                   "HTTPS_PROXY",     "no_proxy",   "NO_PROXY",
	                                   "UMEDGE_CA_BUNDLE"};
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
}

static void
fx_open(struct fx *f)
{
	struct tu_cert_spec spec;

	memset(f, 0, sizeof(*f));
	no_proxy_env();
	f->now = time(NULL);
	f->dir = tu_tmpdir();
	pathf(f->path, "%s/store", f->dir);
	CU_ASSERT_EQUAL_FATAL(cc_store_open(f->path, CC_STORE_CREATE, &f->s), CC_OK);

	memset(&spec, 0, sizeof(spec));
	spec.cn = "CRL Test Root";
	spec.key = "ec256";
	spec.ca = true;
	spec.eku = "";
	spec.base = f->now;
	spec.not_before_offset = -30 * DAY;
	spec.not_after_offset = 3650 * DAY;
	tu_make_cert(&spec, &f->root, &f->rk);
	spec.cn = "CRL Test Intermediate";
	spec.issuer = f->root;
	spec.issuer_key = f->rk;
	spec.serial = 0x1000;
	spec.not_after_offset = 1825 * DAY;
	tu_make_cert(&spec, &f->inter, &f->ik);
	CU_ASSERT_EQUAL_FATAL(cc_store_trust_add(f->s, f->root, CC_ROOT_ENTERPRISE, NULL), CC_OK);
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

/* A leaf of the intermediate with a serial and (may be NULL) distribution points. */
static void
make_leaf(struct fx *f, const char *cn, long serial, const char *crl_url, X509 **x, EVP_PKEY **k)
{
	struct tu_cert_spec spec;
	const char *sans[] = {cn, NULL};

	memset(&spec, 0, sizeof(spec));
	spec.cn = cn;
	spec.sans = sans;
	spec.key = "ec256";
	spec.issuer = f->inter;
	spec.issuer_key = f->ik;
	spec.serial = serial;
	spec.crl_url = crl_url;
	spec.base = f->now;
	spec.not_before_offset = -DAY;
	tu_make_cert(&spec, x, k);
}

/* Adds a leaf (with the intermediate as its chain) to the store; returns it, borrowed. */
static struct cc_cert *
add_leaf(struct fx *f, X509 *x, EVP_PKEY *k)
{
	STACK_OF(X509) *chain = sk_X509_new_null();
	struct cc_meta meta = {CC_SVC_SMTP | CC_SVC_UM, false, NULL, NULL};
	char thumb[CC_THUMB_LEN + 1];
	struct cc_cert *c = NULL;
	enum cc_err r;

	CU_ASSERT_FATAL(chain != NULL && sk_X509_push(chain, f->inter) > 0);
	r = cc_store_add(f->s, x, chain, k, &meta, thumb);
	if (r != CC_OK)
		fprintf(stderr, "\n  cc_store_add: %s: %s", cc_strerror(r), cc_errdetail());
	CU_ASSERT_EQUAL_FATAL(r, CC_OK);
	sk_X509_free(chain);
	CU_ASSERT_EQUAL_FATAL(cc_store_find(f->s, thumb, &c), CC_OK);
	return c;
}

/* Writes crl/NAME (PEM or DER). */
static void
put_crl(struct fx *f, const char *name, X509_CRL *crl, bool pem)
{
	char p[PATH_MAX];

	pathf(p, "%s/crl/%s", f->path, name);
	tu_write_crl(p, crl, pem);
}

/* The root's CRL (nothing revoked), so that the intermediate's revocation is answered. */
static void
put_root_crl(struct fx *f)
{
	X509_CRL *crl = tu_make_crl(f->root, f->rk, NULL, 0, -3600, 7 * DAY);

	put_crl(f, "root.crl", crl, true);
	X509_CRL_free(crl);
}

static void
opts_offline(struct cc_verify_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->bundle = "";
	o->offline = true;
}

static void
opts_online(struct cc_verify_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->bundle = "";
	o->timeout = 1;
}

/* cc_crl_lookup for the leaf against the intermediate. */
static void
lookup(struct fx *f, X509 *leaf, const struct cc_verify_opts *o, time_t now, struct crl_memo *memo,
       struct crl_lookup *l)
{
	CU_ASSERT_EQUAL_FATAL(cc_crl_lookup(f->s, leaf, f->inter, o, now, memo, l), CC_OK);
}

static struct cc_verify *
verify(struct fx *f, const struct cc_cert *c, const struct cc_verify_opts *o)
{
	struct cc_verify *v = NULL;
	enum cc_err r = cc_store_verify(f->s, c, o, &v);

	if (r != CC_OK)
		fprintf(stderr, "\n  cc_store_verify: %s: %s", cc_strerror(r), cc_errdetail());
	CU_ASSERT_EQUAL_FATAL(r, CC_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	return v;
}

static void
expect_status(const struct cc_verify *v, enum cc_status want)
{
	CU_ASSERT_EQUAL(cc_verify_status(v), want);
	if (cc_verify_status(v) != want)
		fprintf(stderr, "\n  status %s (expected %s): %s",
		        cc_status_name(cc_verify_status(v)), cc_status_name(want),
		        cc_verify_reason(v));
}

static void
expect_has(const char *text, const char *part)
{
	CU_ASSERT_PTR_NOT_NULL(text);
	if (text == NULL)
		return;
	CU_ASSERT_PTR_NOT_NULL(strstr(text, part));
	if (strstr(text, part) == NULL)
		fprintf(stderr, "\n  \"%s\" lacks \"%s\"", text, part);
}

static time_t
crl_time(const ASN1_TIME *t)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

static double
seconds_since(const struct timeval *t0)
{
	struct timeval t1;

	gettimeofday(&t1, NULL);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_usec - t0->tv_usec) / 1e6;
}

/* ---- a small HTTP server on loopback (a child process) ----------------------------------- */

/* Connections waiting on a listener nobody serves (each one an attempt to fetch). */
static int
drain_connections(int fd)
{
	int c, n = 0;

	CU_ASSERT_FATAL(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0);
	while ((c = accept(fd, NULL, NULL)) != -1) {
		close(c);
		n++;
	}
	return n;
}

/* crl/fetched-SHA1(URL).crl, the cache file for a URL. */
static void
cache_path(const struct fx *f, const char *url, char p[PATH_MAX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	char hex[2 * EVP_MAX_MD_SIZE + 1];

	CU_ASSERT_FATAL(EVP_Digest(url, strlen(url), md, &mdlen, EVP_sha1(), NULL) == 1);
	for (i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02X", md[i]);
	pathf(p, "%s/crl/fetched-%s.crl", f->path, hex);
}

/* ---- files in crl/ --------------------------------------------------------------------- */

static void
test_file_pem_and_der(void)
{
	struct fx f;
	X509 *leaf;
	EVP_PKEY *lk;
	X509_CRL *crl;
	struct cc_verify_opts o;
	struct crl_lookup l;
	struct cc_verify *v;
	const struct cc_crl_info *ci;
	struct cc_cert *c;
	char p[PATH_MAX];
	int pem;

	for (pem = 1; pem >= 0; pem--) {
		fx_open(&f);
		put_root_crl(&f);
		make_leaf(&f, "file.example.test", 0x2001, NULL, &leaf, &lk);
		c = add_leaf(&f, leaf, lk);
		crl = tu_make_crl(f.inter, f.ik, NULL, 0, -3600, 7 * DAY);
		put_crl(&f, pem ? "inter.pem" : "inter.der", crl, pem);
		pathf(p, "%s/crl/%s", f.path, pem ? "inter.pem" : "inter.der");
		opts_offline(&o);

		lookup(&f, leaf, &o, f.now, NULL, &l);
		CU_ASSERT_PTR_NOT_NULL(l.crl);
		CU_ASSERT_EQUAL(l.source, CC_CRL_FILE);
		CU_ASSERT_STRING_EQUAL(l.location, p);
		CU_ASSERT_STRING_EQUAL(l.error, "");
		CU_ASSERT_STRING_EQUAL(l.issuer, "CN=CRL Test Intermediate");
		CU_ASSERT_EQUAL(l.this_update, crl_time(X509_CRL_get0_lastUpdate(crl)));
		CU_ASSERT_EQUAL(l.next_update, crl_time(X509_CRL_get0_nextUpdate(crl)));
		CU_ASSERT(l.next_update > f.now + 6 * DAY);
		if (l.crl != NULL)
			CU_ASSERT_EQUAL(X509_CRL_cmp(l.crl, crl), 0);
		cc_crl_lookup_clear(&l);
		CU_ASSERT_PTR_NULL(l.crl);

		/* End to end: Valid, and the CRL is reported as a file. */
		v = verify(&f, c, &o);
		expect_status(v, CC_STATUS_VALID);
		CU_ASSERT_EQUAL_FATAL(cc_verify_crl_count(v), 2);
		ci = cc_verify_crl(v, 0);
		CU_ASSERT_TRUE(ci->ok);
		CU_ASSERT_EQUAL(ci->source, CC_CRL_FILE);
		CU_ASSERT_STRING_EQUAL(ci->location, p);
		CU_ASSERT_STRING_EQUAL(ci->error, "");
		expect_has(ci->for_subject, "CN=file.example.test");
		CU_ASSERT_STRING_EQUAL(ci->issuer, "CN=CRL Test Intermediate");
		ci = cc_verify_crl(v, 1);
		CU_ASSERT_TRUE(ci->ok);
		expect_has(ci->location, "root.crl");
		CU_ASSERT_STRING_EQUAL(ci->issuer, "CN=CRL Test Root");
		CU_ASSERT_PTR_NULL(cc_verify_crl(v, 2));
		cc_verify_free(v);

		X509_CRL_free(crl);
		X509_free(leaf);
		EVP_PKEY_free(lk);
		fx_close(&f);
	}
}

/* One PEM file holding both CRLs answers for both issuers. */
static void
test_file_with_two_crls(void)
{
	struct fx f;
	X509 *leaf;
	EVP_PKEY *lk;
	X509_CRL *rc, *ic;
	struct cc_verify_opts o;
	struct cc_verify *v;
	struct cc_cert *c;
	char p[PATH_MAX];
	char *text;
	BIO *b;
	BUF_MEM *m;

	fx_open(&f);
	make_leaf(&f, "both.example.test", 0x2002, NULL, &leaf, &lk);
	c = add_leaf(&f, leaf, lk);
	rc = tu_make_crl(f.root, f.rk, NULL, 0, -3600, 7 * DAY);
	ic = tu_make_crl(f.inter, f.ik, NULL, 0, -3600, 7 * DAY);
	b = BIO_new(BIO_s_mem());
	CU_ASSERT_FATAL(b != NULL && PEM_write_bio_X509_CRL(b, rc) == 1 &&
	                PEM_write_bio_X509_CRL(b, ic) == 1);
	BIO_get_mem_ptr(b, &m);
	text = strndup(m->data, m->length);
	BIO_free(b);
	pathf(p, "%s/crl/all.pem", f.path);
	tu_write_file(p, text, strlen(text), 0644);
	free(text);
	opts_offline(&o);
	v = verify(&f, c, &o);
	expect_status(v, CC_STATUS_VALID);
	CU_ASSERT_EQUAL_FATAL(cc_verify_crl_count(v), 2);
	CU_ASSERT_STRING_EQUAL(cc_verify_crl(v, 0)->location, p);
	CU_ASSERT_STRING_EQUAL(cc_verify_crl(v, 1)->location, p);
	cc_verify_free(v);
	X509_CRL_free(rc);
	X509_CRL_free(ic);
	X509_free(leaf);
	EVP_PKEY_free(lk);
	fx_close(&f);
}

/* Past its nextUpdate a CRL is not used, and the reason says stale; before, it is. */
static void
test_stale_not_used(void)
{
	struct fx f;
	X509 *leaf;
	EVP_PKEY *lk;
	X509_CRL *crl;
	struct cc_verify_opts o;
	struct crl_lookup l;
	struct cc_verify *v;
	struct cc_cert *c;

	fx_open(&f);
	put_root_crl(&f);
	make_leaf(&f, "stale.example.test", 0x2003, NULL, &leaf, &lk);
	c = add_leaf(&f, leaf, lk);
	crl = tu_make_crl(f.inter, f.ik, NULL, 0, -8 * DAY, -3600);
	put_crl(&f, "inter-stale.crl", crl, false);
	opts_offline(&o);

	lookup(&f, leaf, &o, f.now, NULL, &l);
	CU_ASSERT_PTR_NULL(l.crl);
	CU_ASSERT_EQUAL(l.source, CC_CRL_NONE);
	expect_has(l.error, "stale");
	expect_has(l.error, "inter-stale.crl");
	cc_crl_lookup_clear(&l);

	/* Two hours ago it was fresh: `now` is the clock that counts. */
	lookup(&f, leaf, &o, f.now - 7200, NULL, &l);
	CU_ASSERT_PTR_NOT_NULL(l.crl);
	CU_ASSERT_EQUAL(l.source, CC_CRL_FILE);
	cc_crl_lookup_clear(&l);

	v = verify(&f, c, &o);
	expect_status(v, CC_STATUS_UNKNOWN);
	expect_has(cc_verify_reason(v), "stale");
	CU_ASSERT_EQUAL(cc_verify_chain_status(v, 0), CC_STATUS_UNKNOWN);
	CU_ASSERT_FALSE(cc_verify_crl(v, 0)->ok);
	expect_has(cc_verify_crl(v, 0)->error, "stale");
	cc_verify_free(v);

	X509_CRL_free(crl);
	/* A CRL whose thisUpdate is still to come is not used either. */
	crl = tu_make_crl(f.inter, f.ik, NULL, 0, 3600, 7 * DAY);
	put_crl(&f, "inter-stale.crl", crl, false);
	lookup(&f, leaf, &o, f.now, NULL, &l);
	CU_ASSERT_PTR_NULL(l.crl);
	expect_has(l.error, "not yet valid");
	cc_crl_lookup_clear(&l);

	X509_CRL_free(crl);
	X509_free(leaf);
	EVP_PKEY_free(lk);
	fx_close(&f);
}

/* A CRL with the issuer's name but signed by another key is not used, even when it revokes. */
static void
test_wrong_key_not_used(void)
{
	struct fx f;
	X509 *leaf;
	EVP_PKEY *lk, *other;
	X509_CRL *crl;
	struct cc_verify_opts o;
	struct crl_lookup l;
	struct cc_verify *v;
	struct cc_cert *c;
	long serial = 0x2004;

	fx_open(&f);
	put_root_crl(&f);
	make_leaf(&f, "forged.example.test", serial, NULL, &leaf, &lk);
	c = add_leaf(&f, leaf, lk);
	other = tu_make_key("ec256");
	crl = tu_make_crl(f.inter, other, &serial, 1, -3600, 7 * DAY);
	put_crl(&f, "forged.crl", crl, true);
	opts_offline(&o);

	lookup(&f, leaf, &o, f.now, NULL, &l);
	CU_ASSERT_PTR_NULL(l.crl);
	/* The reason names the file refused and why, not "no CRL in the store". */
	expect_has(l.error, "forged.crl");
	expect_has(l.error, "not signed with the issuer's key");
	CU_ASSERT_PTR_NULL(strstr(l.error, "no CRL"));
	cc_crl_lookup_clear(&l);

	v = verify(&f, c, &o);
	expect_status(v, CC_STATUS_UNKNOWN); /* not Revoked, not Valid */
	CU_ASSERT_FALSE(cc_verify_crl(v, 0)->ok);
	cc_verify_free(v);

	X509_CRL_free(crl);
	EVP_PKEY_free(other);
	X509_free(leaf);
	EVP_PKEY_free(lk);
	fx_close(&f);
}

/* A CRL from another CA, even one listing this serial, is ignored. */
static void
test_other_issuer_ignored(void)
{
	struct fx f;
	struct tu_cert_spec spec;
	X509 *leaf, *ca;
	EVP_PKEY *lk, *cak;
	X509_CRL *theirs, *ours, *renamed;
	struct cc_verify_opts o;
	struct crl_lookup l;
	struct cc_verify *v;
	struct cc_cert *c;
	long serial = 0x2005;

	fx_open(&f);
	put_root_crl(&f);
	make_leaf(&f, "other.example.test", serial, NULL, &leaf, &lk);
	c = add_leaf(&f, leaf, lk);
	memset(&spec, 0, sizeof(spec));
	spec.cn = "Some Other CA";
	spec.key = "ec256";
	spec.ca = true;
	tu_make_cert(&spec, &ca, &cak);
	theirs = tu_make_crl(ca, cak, &serial, 1, -60, 7 * DAY);
	put_crl(&f, "other-ca.crl", theirs, true);
	opts_offline(&o);

	/* Alone, it does not answer for the intermediate, and is not blamed for that. */
	lookup(&f, leaf, &o, f.now, NULL, &l);
	CU_ASSERT_PTR_NULL(l.crl);
	expect_has(l.error, "no CRL in the store");
	cc_crl_lookup_clear(&l);
	/* Nor does one in another CA's name signed with the intermediate's key (a renamed CA). */
	renamed = tu_make_crl(ca, f.ik, &serial, 1, -60, 7 * DAY);
	put_crl(&f, "renamed.crl", renamed, true);
	lookup(&f, leaf, &o, f.now, NULL, &l);
	CU_ASSERT_PTR_NULL(l.crl);
	cc_crl_lookup_clear(&l);
	v = verify(&f, c, &o);
	expect_status(v, CC_STATUS_UNKNOWN);
	cc_verify_free(v);

	/* Beside the intermediate's own CRL, the leaf stays Valid. */
	ours = tu_make_crl(f.inter, f.ik, NULL, 0, -3600, 7 * DAY);
	put_crl(&f, "inter.crl", ours, true);
	lookup(&f, leaf, &o, f.now, NULL, &l);
	CU_ASSERT_PTR_NOT_NULL(l.crl);
	expect_has(l.location, "inter.crl");
	CU_ASSERT_STRING_EQUAL(l.issuer, "CN=CRL Test Intermediate");
	cc_crl_lookup_clear(&l);
	v = verify(&f, c, &o);
	expect_status(v, CC_STATUS_VALID);
	cc_verify_free(v);

	X509_CRL_free(theirs);
	X509_CRL_free(ours);
	X509_CRL_free(renamed);
	X509_free(ca);
	EVP_PKEY_free(cak);
	X509_free(leaf);
	EVP_PKEY_free(lk);
	fx_close(&f);
}

/* Of two good CRLs, the newest (latest thisUpdate) is used, whichever file holds it. */
static void
test_newest_chosen(void)
{
	struct fx f;
	X509 *leaf;
	EVP_PKEY *lk;
	X509_CRL *older, *newer;
	struct cc_verify_opts o;
	struct crl_lookup l;
	struct cc_verify *v;
	struct cc_cert *c;
	long serial = 0x2006;
	int round;

	for (round = 0; round < 2; round++) {
		fx_open(&f);
		put_root_crl(&f);
		make_leaf(&f, "newest.example.test", serial, NULL, &leaf, &lk);
		c = add_leaf(&f, leaf, lk);
		/* Round 0: the newer CRL revokes the leaf. Round 1: only the older one does. */
		older = tu_make_crl(f.inter, f.ik, &serial, round == 1, -3 * DAY, 5 * DAY);
		newer = tu_make_crl(f.inter, f.ik, &serial, round == 0, -3600, 7 * DAY);
		/* Names in both orders, so neither directory order nor name picks the winner. */
		put_crl(&f, round ? "a.crl" : "z.crl", older, true);
		put_crl(&f, round ? "z.crl" : "a.crl", newer, false);
		opts_offline(&o);

		lookup(&f, leaf, &o, f.now, NULL, &l);
		CU_ASSERT_PTR_NOT_NULL_FATAL(l.crl);
		CU_ASSERT_EQUAL(X509_CRL_cmp(l.crl, newer), 0);
		CU_ASSERT_EQUAL(l.this_update, crl_time(X509_CRL_get0_lastUpdate(newer)));
		expect_has(l.location, round ? "z.crl" : "a.crl");
		cc_crl_lookup_clear(&l);

		v = verify(&f, c, &o);
		expect_status(v, round == 0 ? CC_STATUS_REVOKED : CC_STATUS_VALID);
		cc_verify_free(v);

		X509_CRL_free(older);
		X509_CRL_free(newer);
		X509_free(leaf);
		EVP_PKEY_free(lk);
		fx_close(&f);
	}
}

/* crl/fetched-*.crl is the cache of fetched CRLs: reported as such. */
static void
test_cache_source(void)
{
	struct fx f;
	X509 *leaf;
	EVP_PKEY *lk;
	X509_CRL *crl;
	struct cc_verify_opts o;
	struct crl_lookup l;
	struct cc_verify *v;
	struct cc_cert *c;

	fx_open(&f);
	put_root_crl(&f);
	make_leaf(&f, "cache.example.test", 0x2007, NULL, &leaf, &lk);
	c = add_leaf(&f, leaf, lk);
	crl = tu_make_crl(f.inter, f.ik, NULL, 0, -3600, 7 * DAY);
	put_crl(&f, "fetched-0123456789ABCDEF0123456789ABCDEF01234567.crl", crl, false);
	opts_offline(&o);
	lookup(&f, leaf, &o, f.now, NULL, &l);
	CU_ASSERT_PTR_NOT_NULL(l.crl);
	CU_ASSERT_EQUAL(l.source, CC_CRL_CACHE);
	expect_has(l.location, "/crl/fetched-0123456789ABCDEF");
	cc_crl_lookup_clear(&l);
	v = verify(&f, c, &o);
	expect_status(v, CC_STATUS_VALID);
	CU_ASSERT_EQUAL(cc_verify_crl(v, 0)->source, CC_CRL_CACHE);
	CU_ASSERT_STRING_EQUAL(cc_crl_source_name(cc_verify_crl(v, 0)->source), "cache");
	CU_ASSERT_EQUAL(cc_verify_crl(v, 1)->source, CC_CRL_FILE);
	cc_verify_free(v);

	X509_CRL_free(crl);
	X509_free(leaf);
	EVP_PKEY_free(lk);
	fx_close(&f);
}

/* Files that are not CRLs are skipped, not fatal. */
static void
test_garbage_files_skipped(void)
{
	struct fx f;
	X509 *leaf;
	EVP_PKEY *lk;
	X509_CRL *crl;
	struct cc_verify_opts o;
	struct crl_lookup l;
	char p[PATH_MAX];
	unsigned char *der;
	size_t len;

	fx_open(&f);
	make_leaf(&f, "garbage.example.test", 0x2008, NULL, &leaf, &lk);
	crl = tu_make_crl(f.inter, f.ik, NULL, 0, -3600, 7 * DAY);
	pathf(p, "%s/crl/junk.crl", f.path);
	tu_write_file(p, "junk", 4, 0644);
	pathf(p, "%s/crl/bad.pem", f.path);
	tu_write_file(p, "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n", 52, 0644);
	der = tu_crl_der(crl, &len);
	pathf(p, "%s/crl/truncated.der", f.path);
	tu_write_file(p, der, len / 2, 0644);
	OPENSSL_free(der);
	pathf(p, "%s/crl/subdir", f.path);
	CU_ASSERT_EQUAL_FATAL(mkdir(p, 0700), 0);
	opts_offline(&o);
	lookup(&f, leaf, &o, f.now, NULL, &l);
	CU_ASSERT_PTR_NULL(l.crl);
	expect_has(l.error, "no CRL");
	cc_crl_lookup_clear(&l);
	put_crl(&f, "good.crl", crl, false);
	lookup(&f, leaf, &o, f.now, NULL, &l);
	CU_ASSERT_PTR_NOT_NULL(l.crl);
	cc_crl_lookup_clear(&l);

	X509_CRL_free(crl);
	X509_free(leaf);
	EVP_PKEY_free(lk);
	fx_close(&f);
}

/* ---- distribution points: failures ------------------------------------------------------ */

static void
test_offline_no_crl(void)
{
	struct fx f;
	X509 *leaf, *bare;
	EVP_PKEY *lk, *bk;
	struct cc_verify_opts o;
	struct crl_lookup l;
	struct cc_verify *v;
	struct cc_cert *c;
	char url[128];

	fx_open(&f);
	put_root_crl(&f);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/inter.crl", tu_free_port());
	make_leaf(&f, "offline.example.test", 0x2101, url, &leaf, &lk);
	c = add_leaf(&f, leaf, lk);
	opts_offline(&o);

	lookup(&f, leaf, &o, f.now, NULL, &l);
	CU_ASSERT_PTR_NULL(l.crl);
	CU_ASSERT_EQUAL(l.source, CC_CRL_NONE);
	CU_ASSERT_STRING_EQUAL(l.location, "");
	expect_has(l.error, "offline");
	expect_has(l.error, url);
	CU_ASSERT_STRING_EQUAL(l.issuer, "CN=CRL Test Intermediate");
	cc_crl_lookup_clear(&l);

	v = verify(&f, c, &o);
	expect_status(v, CC_STATUS_UNKNOWN);
	expect_has(cc_verify_reason(v), "offline");
	expect_has(cc_verify_reason(v), "offline.example.test"); /* the certificate concerned */
	CU_ASSERT_EQUAL(cc_verify_chain_status(v, 0), CC_STATUS_UNKNOWN);
	expect_has(cc_verify_chain_reason(v, 0), "offline");
	CU_ASSERT_EQUAL(cc_verify_chain_status(v, 1), CC_STATUS_VALID);
	CU_ASSERT_FALSE(cc_verify_crl(v, 0)->ok);
	CU_ASSERT_EQUAL(cc_verify_crl(v, 0)->source, CC_CRL_NONE);
	CU_ASSERT_TRUE(cc_verify_crl(v, 1)->ok);
	cc_verify_free(v);

	/* No distribution point and nothing in crl/: said so. */
	make_leaf(&f, "bare.example.test", 0x2102, NULL, &bare, &bk);
	lookup(&f, bare, &o, f.now, NULL, &l);
	CU_ASSERT_PTR_NULL(l.crl);
	expect_has(l.error, "no CRL distribution point");
	cc_crl_lookup_clear(&l);

	X509_free(bare);
	EVP_PKEY_free(bk);
	X509_free(leaf);
	EVP_PKEY_free(lk);
	fx_close(&f);
}

static void
test_unreachable_http(void)
{
	struct fx f;
	X509 *leaf;
	EVP_PKEY *lk;
	struct cc_verify_opts o;
	struct crl_lookup l;
	struct cc_verify *v;
	struct cc_cert *c;
	char url[128], p[PATH_MAX];

	fx_open(&f);
	put_root_crl(&f);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/inter.crl", tu_free_port());
	make_leaf(&f, "down.example.test", 0x2103, url, &leaf, &lk);
	c = add_leaf(&f, leaf, lk);
	opts_online(&o);

	lookup(&f, leaf, &o, f.now, NULL, &l);
	CU_ASSERT_PTR_NULL(l.crl);
	expect_has(l.error, url);
	CU_ASSERT_PTR_NULL(strstr(l.error, "offline"));
	cc_crl_lookup_clear(&l);

	v = verify(&f, c, &o);
	expect_status(v, CC_STATUS_UNKNOWN);
	expect_has(cc_verify_reason(v), url);
	cc_verify_free(v);
	/* Nothing was cached for a failed fetch. */
	cache_path(&f, url, p);
	CU_ASSERT_EQUAL(access(p, F_OK), -1);

	X509_free(leaf);
	EVP_PKEY_free(lk);
	fx_close(&f);
}

static void
test_unsupported_and_ldap(void)
{
	struct fx f;
	X509 *ftp, *ldap, *both;
	EVP_PKEY *k1, *k2, *k3;
	struct cc_verify_opts o;
	struct crl_lookup l;
	struct cc_verify *v;
	struct cc_cert *c;
	char lurl[160], hurl[128], urls[300];

	fx_open(&f);
	put_root_crl(&f);
	opts_online(&o);

	make_leaf(&f, "ftp.example.test", 0x2201, "ftp://127.0.0.1/inter.crl", &ftp, &k1);
	c = add_leaf(&f, ftp, k1);
	lookup(&f, ftp, &o, f.now, NULL, &l);
	CU_ASSERT_PTR_NULL(l.crl);
	expect_has(l.error, "ftp://127.0.0.1/inter.crl");
	expect_has(l.error, "not supported");
	cc_crl_lookup_clear(&l);
	v = verify(&f, c, &o);
	expect_status(v, CC_STATUS_UNKNOWN);
	expect_has(cc_verify_reason(v), "not supported");
	cc_verify_free(v);

	snprintf(lurl, sizeof(lurl),
	         "ldap://127.0.0.1:%d/cn=CRL%%20Test%%20Intermediate%%2Cdc=test?"
	         "certificateRevocationList;binary",
	         tu_free_port());
	make_leaf(&f, "ldap.example.test", 0x2202, lurl, &ldap, &k2);
	lookup(&f, ldap, &o, f.now, NULL, &l);
	CU_ASSERT_PTR_NULL(l.crl);
	expect_has(l.error, lurl);
	CU_ASSERT(strlen(l.error) > strlen(lurl) + 2); /* and libldap's reason */
	CU_ASSERT_PTR_NULL(strstr(l.error, "not supported"));
	cc_crl_lookup_clear(&l);

	/* Every distribution point is tried; each failure is in the reason. */
	snprintf(hurl, sizeof(hurl), "http://127.0.0.1:%d/inter.crl", tu_free_port());
	snprintf(urls, sizeof(urls), "ftp://127.0.0.1/inter.crl %s", hurl);
	make_leaf(&f, "two.example.test", 0x2203, urls, &both, &k3);
	lookup(&f, both, &o, f.now, NULL, &l);
	CU_ASSERT_PTR_NULL(l.crl);
	expect_has(l.error, "ftp://127.0.0.1/inter.crl");
	expect_has(l.error, hurl);
	expect_has(l.error, "; ");
	cc_crl_lookup_clear(&l);

	X509_free(ftp);
	X509_free(ldap);
	X509_free(both);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k3);
	fx_close(&f);
}

/* ---- distribution points: fetches over HTTP --------------------------------------------- */

static void
test_http_fetch_and_cache(void)
{
	struct fx f;
	struct tu_crl_srv sv;
	X509 *leaf;
	EVP_PKEY *lk;
	X509_CRL *crl;
	struct cc_verify_opts o;
	struct cc_verify *v;
	struct cc_cert *c;
	char url[128], p[PATH_MAX], first[256];
	struct stat st;

	fx_open(&f);
	put_root_crl(&f);
	crl = tu_make_crl(f.inter, f.ik, NULL, 0, -3600, 7 * DAY);
	tu_crl_srv_start(&sv, f.dir, crl);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/inter.crl", sv.port);
	make_leaf(&f, "fetch.example.test", 0x2301, url, &leaf, &lk);
	c = add_leaf(&f, leaf, lk);
	opts_online(&o);
	o.timeout = 5;

	/* Offline: not fetched. */
	o.offline = true;
	v = verify(&f, c, &o);
	expect_status(v, CC_STATUS_UNKNOWN);
	cc_verify_free(v);
	CU_ASSERT_EQUAL(tu_crl_srv_requests(&sv, NULL, 0), 0);

	o.offline = false;
	v = verify(&f, c, &o);
	expect_status(v, CC_STATUS_VALID);
	CU_ASSERT_EQUAL_FATAL(cc_verify_crl_count(v), 2);
	CU_ASSERT_TRUE(cc_verify_crl(v, 0)->ok);
	CU_ASSERT_EQUAL(cc_verify_crl(v, 0)->source, CC_CRL_HTTP);
	CU_ASSERT_STRING_EQUAL(cc_crl_source_name(CC_CRL_HTTP), "http");
	CU_ASSERT_STRING_EQUAL(cc_verify_crl(v, 0)->location, url);
	CU_ASSERT_EQUAL(cc_verify_crl(v, 0)->next_update, crl_time(X509_CRL_get0_nextUpdate(crl)));
	cc_verify_free(v);
	CU_ASSERT_EQUAL(tu_crl_srv_requests(&sv, first, sizeof(first)), 1);
	CU_ASSERT_STRING_EQUAL(first, "GET /inter.crl HTTP/1.0");

	/* Kept as crl/fetched-SHA1(URL).crl, DER, the same CRL. */
	cache_path(&f, url, p);
	CU_ASSERT_EQUAL_FATAL(stat(p, &st), 0);
	{
		unsigned char *want, *got;
		size_t wl, gl;

		want = tu_crl_der(crl, &wl);
		got = (unsigned char *)tu_read_file(p, &gl);
		CU_ASSERT_EQUAL(gl, wl);
		if (got != NULL && gl == wl)
			CU_ASSERT_EQUAL(memcmp(got, want, wl), 0);
		free(got);
		OPENSSL_free(want);
	}

	/* While fresh, the cache answers: no new request, even online. */
	v = verify(&f, c, &o);
	expect_status(v, CC_STATUS_VALID);
	CU_ASSERT_EQUAL(cc_verify_crl(v, 0)->source, CC_CRL_CACHE);
	CU_ASSERT_STRING_EQUAL(cc_verify_crl(v, 0)->location, p);
	cc_verify_free(v);
	tu_crl_srv_stop(&sv);
	o.offline = true;
	v = verify(&f, c, &o);
	expect_status(v, CC_STATUS_VALID);
	CU_ASSERT_EQUAL(cc_verify_crl(v, 0)->source, CC_CRL_CACHE);
	cc_verify_free(v);
	CU_ASSERT_EQUAL(tu_crl_srv_requests(&sv, NULL, 0), 1);

	X509_CRL_free(crl);
	X509_free(leaf);
	EVP_PKEY_free(lk);
	fx_close(&f);
}

/* A stale cache is fetched again; a fetched CRL that is itself stale is refused. */
static void
test_http_stale(void)
{
	struct fx f;
	struct tu_crl_srv sv;
	X509 *leaf;
	EVP_PKEY *lk;
	X509_CRL *fresh, *stale;
	struct cc_verify_opts o;
	struct crl_lookup l;
	char url[128], p[PATH_MAX];
	int round;

	for (round = 0; round < 2; round++) {
		fx_open(&f);
		fresh = tu_make_crl(f.inter, f.ik, NULL, 0, -3600, 7 * DAY);
		stale = tu_make_crl(f.inter, f.ik, NULL, 0, -8 * DAY, -DAY);
		tu_crl_srv_start(&sv, f.dir, round == 0 ? fresh : stale);
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/inter.crl", sv.port);
		make_leaf(&f, "stalecache.example.test", 0x2302, url, &leaf, &lk);
		cache_path(&f, url, p);
		tu_write_crl(p, stale, false);
		opts_online(&o);
		o.timeout = 5;

		lookup(&f, leaf, &o, f.now, NULL, &l);
		CU_ASSERT_EQUAL(tu_crl_srv_requests(&sv, NULL, 0), 1);
		if (round == 0) {
			CU_ASSERT_PTR_NOT_NULL(l.crl);
			CU_ASSERT_EQUAL(l.source, CC_CRL_HTTP);
			if (l.crl != NULL)
				CU_ASSERT_EQUAL(X509_CRL_cmp(l.crl, fresh), 0);
		} else {
			CU_ASSERT_PTR_NULL(l.crl);
			expect_has(l.error, "stale");
			expect_has(l.error, url);
		}
		cc_crl_lookup_clear(&l);
		tu_crl_srv_stop(&sv);
		/* Round 0: the fresh one replaced the stale cache. */
		o.offline = true;
		lookup(&f, leaf, &o, f.now, NULL, &l);
		CU_ASSERT_EQUAL(l.crl != NULL, round == 0);
		CU_ASSERT_EQUAL(l.source, round == 0 ? CC_CRL_CACHE : CC_CRL_NONE);
		cc_crl_lookup_clear(&l);

		X509_CRL_free(fresh);
		X509_CRL_free(stale);
		X509_free(leaf);
		EVP_PKEY_free(lk);
		fx_close(&f);
	}
}

/* A fetched CRL that revokes the leaf makes it Revoked. */
static void
test_http_revoked(void)
{
	struct fx f;
	struct tu_crl_srv sv;
	X509 *leaf;
	EVP_PKEY *lk;
	X509_CRL *crl;
	struct cc_verify_opts o;
	struct cc_verify *v;
	struct cc_cert *c;
	char url[128];
	long serial = 0x2303;

	fx_open(&f);
	put_root_crl(&f);
	crl = tu_make_crl(f.inter, f.ik, &serial, 1, -3600, 7 * DAY);
	tu_crl_srv_start(&sv, f.dir, crl);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/inter.crl", sv.port);
	make_leaf(&f, "fetchrevoked.example.test", serial, url, &leaf, &lk);
	c = add_leaf(&f, leaf, lk);
	opts_online(&o);
	o.timeout = 5;
	v = verify(&f, c, &o);
	expect_status(v, CC_STATUS_REVOKED);
	expect_has(cc_verify_reason(v), "certificate revoked");
	cc_verify_free(v);
	tu_crl_srv_stop(&sv);

	X509_CRL_free(crl);
	X509_free(leaf);
	EVP_PKEY_free(lk);
	fx_close(&f);
}

/* A large CA's CRL (here about 200 KiB, past OpenSSL's 100 KiB default) is fetched whole. */
static void
test_http_large_crl(void)
{
	enum { NREV = 8000 };
	struct fx f;
	struct tu_crl_srv sv;
	X509 *leaf;
	EVP_PKEY *lk;
	X509_CRL *crl;
	struct cc_verify_opts o;
	struct crl_lookup l;
	char url[128];
	long *serials;
	size_t i, len;
	unsigned char *der;

	fx_open(&f);
	serials = calloc(NREV, sizeof(*serials));
	CU_ASSERT_PTR_NOT_NULL_FATAL(serials);
	for (i = 0; i < NREV; i++)
		serials[i] = 0x100000 + (long)i;
	crl = tu_make_crl(f.inter, f.ik, serials, NREV, -3600, 7 * DAY);
	der = tu_crl_der(crl, &len);
	OPENSSL_free(der);
	CU_ASSERT(len > 150 * 1024);
	tu_crl_srv_start(&sv, f.dir, crl);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/big.crl", sv.port);
	make_leaf(&f, "big.example.test", 0x100000 + NREV - 1, url, &leaf, &lk);
	opts_online(&o);
	o.timeout = 10;
	lookup(&f, leaf, &o, f.now, NULL, &l);
	CU_ASSERT_PTR_NOT_NULL(l.crl);
	CU_ASSERT_EQUAL(l.source, CC_CRL_HTTP);
	if (l.crl == NULL)
		fprintf(stderr, "\n  %zu-byte CRL not fetched: %s", len, l.error);
	else
		CU_ASSERT_EQUAL(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(l.crl)), NREV);
	cc_crl_lookup_clear(&l);
	tu_crl_srv_stop(&sv);

	free(serials);
	X509_CRL_free(crl);
	X509_free(leaf);
	EVP_PKEY_free(lk);
	fx_close(&f);
}

/* PEM text of `crl` (owned). */
static char *
crl_pem(X509_CRL *crl, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	CU_ASSERT_FATAL(b != NULL && PEM_write_bio_X509_CRL(b, crl) == 1);
	n = BIO_get_mem_data(b, &data);
	out = malloc((size_t)n + 1);
	CU_ASSERT_FATAL(out != NULL);
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	*len = (size_t)n;
	BIO_free(b);
	return out;
}

/*
 * A distribution point that serves PEM (small CAs do) is read as crl/ files are: one CRL, or
 * several of which the issuer's is taken, directly and through a proxy; cached as DER. What is
 * neither DER nor PEM is refused with the reason, naming the URL.
 */
static void
test_http_pem(void)
{
	struct fx f;
	struct tu_crl_srv sv;
	X509 *leaf;
	EVP_PKEY *lk;
	X509_CRL *crl, *other;
	struct cc_verify_opts o;
	struct cc_verify *v;
	struct cc_cert *c;
	struct crl_lookup l;
	char url[128], proxy[64], p[PATH_MAX], *pem, *pem2, *both;
	unsigned char *want, *got;
	size_t len, len2, wl, gl;
	long serial = 0x2305;
	int round;

	fx_open(&f);
	put_root_crl(&f);
	crl = tu_make_crl(f.inter, f.ik, &serial, 1, -3600, 7 * DAY);
	other = tu_make_crl(f.root, f.rk, NULL, 0, -3600, 7 * DAY);
	pem = crl_pem(crl, &len);
	tu_crl_srv_start_body(&sv, f.dir, pem, len);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/inter.crl", sv.port);
	make_leaf(&f, "pem.example.test", serial, url, &leaf, &lk);
	c = add_leaf(&f, leaf, lk);
	opts_online(&o);
	o.timeout = 5;
	v = verify(&f, c, &o);
	expect_status(v, CC_STATUS_REVOKED);
	CU_ASSERT_EQUAL_FATAL(cc_verify_crl_count(v), 2);
	CU_ASSERT_TRUE(cc_verify_crl(v, 0)->ok);
	CU_ASSERT_EQUAL(cc_verify_crl(v, 0)->source, CC_CRL_HTTP);
	cc_verify_free(v);
	CU_ASSERT_EQUAL(tu_crl_srv_requests(&sv, NULL, 0), 1);
	/* The cache holds it as DER, as for a DER distribution point. */
	cache_path(&f, url, p);
	want = tu_crl_der(crl, &wl);
	got = (unsigned char *)tu_read_file(p, &gl);
	CU_ASSERT_TRUE(got != NULL && gl == wl && memcmp(got, want, wl) == 0);
	free(got);
	OPENSSL_free(want);
	tu_crl_srv_stop(&sv);
	/* From here on each answer must come from the server, not the cache. */
	CU_ASSERT_EQUAL(unlink(p), 0);

	/* Another CA's CRL first, then the issuer's: the issuer's is taken; direct, then proxy. */
	pem2 = crl_pem(other, &len2);
	both = malloc(len + len2);
	CU_ASSERT_FATAL(both != NULL);
	memcpy(both, pem2, len2);
	memcpy(both + len2, pem, len);
	tu_crl_srv_start_body(&sv, f.dir, both, len + len2);
	for (round = 0; round < 2; round++) {
		if (round == 0) {
			snprintf(url, sizeof(url), "http://127.0.0.1:%d/both.crl", sv.port);
			o.proxy = NULL;
		} else {
			snprintf(url, sizeof(url), "http://127.0.0.1:%d/both.crl", tu_free_port());
			snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", sv.port);
			o.proxy = proxy;
		}
		X509_free(leaf);
		EVP_PKEY_free(lk);
		make_leaf(&f, "pem2.example.test", serial, url, &leaf, &lk);
		lookup(&f, leaf, &o, f.now, NULL, &l);
		CU_ASSERT_PTR_NOT_NULL(l.crl);
		CU_ASSERT_EQUAL(l.source, CC_CRL_HTTP);
		if (l.crl != NULL) {
			CU_ASSERT_EQUAL(X509_CRL_cmp(l.crl, crl), 0);
		} else {
			fprintf(stderr, "\n  round %d: %s", round, l.error);
		}
		cc_crl_lookup_clear(&l);
		cache_path(&f, url, p);
		CU_ASSERT_EQUAL(unlink(p), 0);
	}
	o.proxy = NULL;
	CU_ASSERT_EQUAL(tu_crl_srv_requests(&sv, NULL, 0), 3); /* one log: 1 + 2 */
	tu_crl_srv_stop(&sv);

	/* Only another CA's CRL: refused as such. */
	tu_crl_srv_start_body(&sv, f.dir, pem2, len2);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/other.crl", sv.port);
	X509_free(leaf);
	EVP_PKEY_free(lk);
	make_leaf(&f, "pem3.example.test", serial, url, &leaf, &lk);
	lookup(&f, leaf, &o, f.now, NULL, &l);
	CU_ASSERT_PTR_NULL(l.crl);
	expect_has(l.error, "issued by another CA");
	cc_crl_lookup_clear(&l);
	tu_crl_srv_stop(&sv);

	/* Neither DER nor PEM (an HTML error page with 200, a truncated PEM): refused. */
	for (round = 0; round < 2; round++) {
		if (round == 0)
			tu_crl_srv_start_body(&sv, f.dir, "<html>gone</html>\n", 18);
		else
			tu_crl_srv_start_body(&sv, f.dir, pem, len / 2);
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/bad.crl", sv.port);
		X509_free(leaf);
		EVP_PKEY_free(lk);
		make_leaf(&f, "pem4.example.test", serial, url, &leaf, &lk);
		lookup(&f, leaf, &o, f.now, NULL, &l);
		CU_ASSERT_PTR_NULL(l.crl);
		expect_has(l.error, url);
		expect_has(l.error, "no CRL (DER or PEM)");
		cc_crl_lookup_clear(&l);
		tu_crl_srv_stop(&sv);
	}

	free(pem);
	free(pem2);
	free(both);
	X509_CRL_free(crl);
	X509_CRL_free(other);
	X509_free(leaf);
	EVP_PKEY_free(lk);
	fx_close(&f);
}

/* opts.proxy: the request goes to the proxy, in absolute form. */
static void
test_http_proxy(void)
{
	struct fx f;
	struct tu_crl_srv sv;
	X509 *leaf;
	EVP_PKEY *lk;
	X509_CRL *crl;
	struct cc_verify_opts o;
	struct crl_lookup l;
	char url[128], proxy[64], first[256], want[200];

	fx_open(&f);
	crl = tu_make_crl(f.inter, f.ik, NULL, 0, -3600, 7 * DAY);
	tu_crl_srv_start(&sv, f.dir, crl);
	/* The distribution point itself is a closed port: only the proxy can answer. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/inter.crl", tu_free_port());
	snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", sv.port);
	make_leaf(&f, "proxy.example.test", 0x2304, url, &leaf, &lk);
	opts_online(&o);
	o.timeout = 5;
	o.proxy = proxy;
	lookup(&f, leaf, &o, f.now, NULL, &l);
	CU_ASSERT_PTR_NOT_NULL(l.crl);
	CU_ASSERT_EQUAL(l.source, CC_CRL_HTTP);
	CU_ASSERT_STRING_EQUAL(l.location, url);
	cc_crl_lookup_clear(&l);
	CU_ASSERT_EQUAL(tu_crl_srv_requests(&sv, first, sizeof(first)), 1);
	snprintf(want, sizeof(want), "GET %s HTTP/1.0", url);
	CU_ASSERT_STRING_EQUAL(first, want);
	tu_crl_srv_stop(&sv);

	X509_CRL_free(crl);
	X509_free(leaf);
	EVP_PKEY_free(lk);
	fx_close(&f);
}

/* ---- the memo: one attempt per unreachable distribution point per pass ------------------ */

static void
test_memo_one_attempt_per_pass(void)
{
	enum { N = 4 };
	struct fx f;
	X509 *leaf[N];
	EVP_PKEY *lk[N];
	struct cc_verify_opts o;
	struct cc_verify *v;
	struct cc_cert *c[N];
	char url[128], cn[64], thumbs[N][CC_THUMB_LEN + 1];
	const char *why;
	struct timeval t0;
	double secs;
	int i, fd, port, attempts;

	fx_open(&f);
	put_root_crl(&f);
	/* A server that accepts connections (the kernel does) and never answers one. */
	fd = tu_listen_loopback(&port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/silent.crl", port);
	for (i = 0; i < N; i++) {
		snprintf(cn, sizeof(cn), "memo%d.example.test", i);
		make_leaf(&f, cn, 0x2400 + i, url, &leaf[i], &lk[i]);
		c[i] = add_leaf(&f, leaf[i], lk[i]);
		memcpy(thumbs[i], cc_cert_thumbprint(c[i]), CC_THUMB_LEN + 1);
	}
	/* Each add reloads the store: find them again. */
	for (i = 0; i < N; i++)
		CU_ASSERT_EQUAL_FATAL(cc_store_find(f.s, thumbs[i], &c[i]), CC_OK);
	opts_online(&o);
	o.timeout = 1;

	/* Two separate verifications: two attempts (the counting works). */
	v = verify(&f, c[0], &o);
	expect_status(v, CC_STATUS_UNKNOWN);
	cc_verify_free(v);
	v = verify(&f, c[1], &o);
	expect_status(v, CC_STATUS_UNKNOWN);
	cc_verify_free(v);
	CU_ASSERT_EQUAL(drain_connections(fd), 2);

	/* One pass over N certificates with that distribution point: one attempt. */
	gettimeofday(&t0, NULL);
	CU_ASSERT_EQUAL_FATAL(cc_store_verify_all(f.s, &o), CC_OK);
	secs = seconds_since(&t0);
	attempts = drain_connections(fd);
	CU_ASSERT_EQUAL(attempts, 1);
	if (attempts != 1)
		fprintf(stderr, "\n  %d fetch attempts in one pass over %d certificates", attempts,
		        N);
	CU_ASSERT(secs < N - 1); /* loosely: about one timeout, not N */
	for (i = 0; i < N; i++) {
		struct cc_cert *sc = NULL;

		CU_ASSERT_EQUAL_FATAL(cc_store_find(f.s, thumbs[i], &sc), CC_OK);
		CU_ASSERT_EQUAL(cc_cert_status(sc, 0, &why), CC_STATUS_UNKNOWN);
		expect_has(why, url);
	}
	/* The next pass tries again: the memo lasts one pass. */
	CU_ASSERT_EQUAL_FATAL(cc_store_verify_all(f.s, &o), CC_OK);
	CU_ASSERT_EQUAL(drain_connections(fd), 1);

	/* The same through cc_crl_lookup: a shared memo, one attempt; none, one each. */
	{
		struct crl_memo memo;
		struct crl_lookup l1, l2;

		memset(&memo, 0, sizeof(memo));
		lookup(&f, leaf[0], &o, f.now, &memo, &l1);
		lookup(&f, leaf[1], &o, f.now, &memo, &l2);
		CU_ASSERT_EQUAL(drain_connections(fd), 1);
		CU_ASSERT_PTR_NULL(l1.crl);
		CU_ASSERT_PTR_NULL(l2.crl);
		CU_ASSERT_STRING_EQUAL(l1.error, l2.error);
		cc_crl_lookup_clear(&l1);
		cc_crl_lookup_clear(&l2);
		cc_crl_memo_clear(&memo);
		CU_ASSERT_EQUAL(memo.n, 0);
		cc_crl_memo_clear(NULL);
	}
	close(fd);

	for (i = 0; i < N; i++) {
		X509_free(leaf[i]);
		EVP_PKEY_free(lk[i]);
	}
	fx_close(&f);
}

/* ---- cc_crl_fetch: the public fetch, for daemons' fetcher threads ------------------------ */

struct fetch_job {
	struct fx *f;
	X509 *leaf;
	const struct cc_verify_opts *o;
	enum cc_err r;
	struct cc_crl_fetch_result res;
};

/* A thread with its own store handle, as umd's fetcher. */
static void *
fetch_thread(void *arg)
{
	struct fetch_job *j = arg;
	struct cc_store *s = NULL;

	j->r = cc_store_open(j->f->path, 0, &s);
	if (j->r == CC_OK)
		j->r = cc_crl_fetch(s, j->leaf, j->f->inter, j->o, &j->res);
	cc_store_free(s);
	OPENSSL_thread_stop();
	return NULL;
}

static void
test_fetch_public(void)
{
	struct fx f;
	struct tu_crl_srv sv;
	X509 *leaf, *bare;
	EVP_PKEY *lk, *bk;
	X509_CRL *crl, *old;
	struct cc_verify_opts o;
	struct cc_crl_fetch_result res;
	struct fetch_job job;
	pthread_t th;
	char url[128], p[PATH_MAX];
	struct stat st;

	fx_open(&f);
	crl = tu_make_crl(f.inter, f.ik, NULL, 0, -3600, 7 * DAY);
	tu_crl_srv_start(&sv, f.dir, crl);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/inter.crl", sv.port);
	make_leaf(&f, "pub.example.test", 0x2501, url, &leaf, &lk);
	make_leaf(&f, "bare.example.test", 0x2502, NULL, &bare, &bk);
	opts_online(&o);
	o.timeout = 5;

	/* A fresh CRL in crl/ already: fetched all the same (a refresh ahead of nextUpdate). */
	old = tu_make_crl(f.inter, f.ik, NULL, 0, -7200, 7 * DAY);
	put_crl(&f, "admin.crl", old, true);
	memset(&job, 0, sizeof(job));
	job.f = &f;
	job.leaf = leaf;
	job.o = &o;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, fetch_thread, &job), 0);
	CU_ASSERT_EQUAL_FATAL(pthread_join(th, NULL), 0);
	CU_ASSERT_EQUAL(job.r, CC_OK);
	CU_ASSERT_TRUE(job.res.ok);
	CU_ASSERT_EQUAL(job.res.source, CC_CRL_HTTP);
	if (job.res.url != NULL)
		CU_ASSERT_STRING_EQUAL(job.res.url, url);
	if (job.res.error != NULL)
		CU_ASSERT_STRING_EQUAL(job.res.error, "");
	expect_has(job.res.issuer, "CRL Test Intermediate");
	CU_ASSERT_EQUAL(job.res.next_update, crl_time(X509_CRL_get0_nextUpdate(crl)));
	CU_ASSERT_EQUAL(job.res.this_update, crl_time(X509_CRL_get0_lastUpdate(crl)));
	cc_crl_fetch_result_clear(&job.res);
	CU_ASSERT_PTR_NULL(job.res.url);
	CU_ASSERT_EQUAL(tu_crl_srv_requests(&sv, NULL, 0), 1);
	cache_path(&f, url, p);
	CU_ASSERT_EQUAL(stat(p, &st), 0);

	/* Fetched again on each call: the cache is the caller's to consult. */
	CU_ASSERT_EQUAL_FATAL(cc_crl_fetch(f.s, leaf, f.inter, &o, &res), CC_OK);
	CU_ASSERT_TRUE(res.ok);
	cc_crl_fetch_result_clear(&res);
	CU_ASSERT_EQUAL(tu_crl_srv_requests(&sv, NULL, 0), 2);

	/* Offline: nothing fetched, and said so. */
	o.offline = true;
	CU_ASSERT_EQUAL_FATAL(cc_crl_fetch(f.s, leaf, f.inter, &o, &res), CC_OK);
	CU_ASSERT_FALSE(res.ok);
	CU_ASSERT_EQUAL(res.source, CC_CRL_NONE);
	CU_ASSERT_STRING_EQUAL(res.url, "");
	expect_has(res.error, "offline");
	expect_has(res.error, url);
	cc_crl_fetch_result_clear(&res);
	CU_ASSERT_EQUAL(tu_crl_srv_requests(&sv, NULL, 0), 2);
	o.offline = false;

	/* No distribution point: nothing to fetch from, even with a CRL in crl/. */
	CU_ASSERT_EQUAL_FATAL(cc_crl_fetch(f.s, bare, f.inter, &o, &res), CC_OK);
	CU_ASSERT_FALSE(res.ok);
	expect_has(res.error, "no CRL distribution point");
	expect_has(res.issuer, "CRL Test Intermediate");
	cc_crl_fetch_result_clear(&res);

	/* The server gone: the failure names the URL. */
	tu_crl_srv_stop(&sv);
	o.timeout = 1;
	CU_ASSERT_EQUAL_FATAL(cc_crl_fetch(f.s, leaf, f.inter, &o, &res), CC_OK);
	CU_ASSERT_FALSE(res.ok);
	expect_has(res.error, url);
	cc_crl_fetch_result_clear(&res);

	/* A CRL of another issuer served: refused, not cached over the good one. */
	{
		X509_CRL *wrong = tu_make_crl(f.root, f.rk, NULL, 0, -3600, 7 * DAY);
		unsigned char *before, *after;
		size_t bl, al;

		before = (unsigned char *)tu_read_file(p, &bl);
		tu_crl_srv_start(&sv, f.dir, wrong);
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/inter.crl", sv.port);
		X509_free(leaf);
		EVP_PKEY_free(lk);
		make_leaf(&f, "pub.example.test", 0x2503, url, &leaf, &lk);
		o.timeout = 5;
		CU_ASSERT_EQUAL_FATAL(cc_crl_fetch(f.s, leaf, f.inter, &o, &res), CC_OK);
		CU_ASSERT_FALSE(res.ok);
		expect_has(res.error, "issued by another CA");
		cc_crl_fetch_result_clear(&res);
		tu_crl_srv_stop(&sv);
		after = (unsigned char *)tu_read_file(p, &al);
		CU_ASSERT(before != NULL && after != NULL && bl == al &&
		          memcmp(before, after, bl) == 0);
		free(before);
		free(after);
		X509_CRL_free(wrong);
	}
	cc_crl_fetch_result_clear(NULL);

	X509_CRL_free(crl);
	X509_CRL_free(old);
	X509_free(leaf);
	X509_free(bare);
	EVP_PKEY_free(lk);
	EVP_PKEY_free(bk);
	fx_close(&f);
}

/* ---- distribution points: what is read from a certificate -------------------------------- */

/* Adds a distribution point with one URI of `len` bytes (NUL allowed) to `x`. */
static void
add_uri_point(CRL_DIST_POINTS *dps, const char *uri, int len)
{
	DIST_POINT *dp = DIST_POINT_new();
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();

	CU_ASSERT_FATAL(dp != NULL && g != NULL && ia5 != NULL);
	CU_ASSERT_FATAL(ASN1_STRING_set(ia5, uri, len) == 1);
	GENERAL_NAME_set0_value(g, GEN_URI, ia5);
	CU_ASSERT_FATAL((dp->distpoint = DIST_POINT_NAME_new()) != NULL);
	dp->distpoint->type = 0;
	CU_ASSERT_FATAL((dp->distpoint->name.fullname = GENERAL_NAMES_new()) != NULL);
	CU_ASSERT_FATAL(sk_GENERAL_NAME_push(dp->distpoint->name.fullname, g) > 0);
	CU_ASSERT_FATAL(sk_DIST_POINT_push(dps, dp) > 0);
}

static void
test_urls_from_certificate(void)
{
	static const char nul_uri[] = "http://good.test/x.crl\0.evil.test";
	struct fx f;
	CRL_DIST_POINTS *dps;
	DIST_POINT *rel;
	X509 *x;
	EVP_PKEY *k;
	char **urls = NULL;

	fx_open(&f);
	/* Several URIs, in the certificate's order. */
	make_leaf(&f, "a.example.test", 7, "http://a.test/x.crl ldap://b.test/cn=x ftp://c.test/y",
	          &x, &k);
	CU_ASSERT_EQUAL_FATAL(cc_crl_urls(x, &urls), CC_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(urls);
	CU_ASSERT_STRING_EQUAL(urls[0], "http://a.test/x.crl");
	CU_ASSERT_STRING_EQUAL(urls[1], "ldap://b.test/cn=x");
	CU_ASSERT_STRING_EQUAL(urls[2], "ftp://c.test/y");
	CU_ASSERT_PTR_NULL(urls[3]);
	cc_crl_urls_free(urls);
	X509_free(x);
	EVP_PKEY_free(k);
	/* None: an empty list, not a failure. */
	make_leaf(&f, "b.example.test", 8, NULL, &x, &k);
	CU_ASSERT_EQUAL_FATAL(cc_crl_urls(x, &urls), CC_OK);
	CU_ASSERT_PTR_NULL(urls[0]);
	cc_crl_urls_free(urls);
	/*
	 * A URI with a NUL inside (what a C string would cut to "http://good.test/x.crl"), an
	 * empty one and a relative name are skipped; the good URI after them is kept.
	 */
	CU_ASSERT_FATAL((dps = CRL_DIST_POINTS_new()) != NULL);
	add_uri_point(dps, nul_uri, (int)sizeof(nul_uri) - 1);
	add_uri_point(dps, "", 0);
	CU_ASSERT_FATAL((rel = DIST_POINT_new()) != NULL);
	CU_ASSERT_FATAL((rel->distpoint = DIST_POINT_NAME_new()) != NULL);
	rel->distpoint->type = 1;
	CU_ASSERT_FATAL((rel->distpoint->name.relativename = sk_X509_NAME_ENTRY_new_null()) !=
	                NULL);
	CU_ASSERT_FATAL(sk_DIST_POINT_push(dps, rel) > 0);
	add_uri_point(dps, "http://after.test/z.crl", 23);
	CU_ASSERT_FATAL(X509_add1_ext_i2d(x, NID_crl_distribution_points, dps, 0, 0) == 1);
	CRL_DIST_POINTS_free(dps);
	CU_ASSERT_EQUAL_FATAL(cc_crl_urls(x, &urls), CC_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(urls[0]);
	CU_ASSERT_STRING_EQUAL(urls[0], "http://after.test/z.crl");
	CU_ASSERT_PTR_NULL(urls[1]);
	cc_crl_urls_free(urls);
	X509_free(x);
	EVP_PKEY_free(k);
	fx_close(&f);
}

static CU_TestInfo tests[] = {
        {"crl/ file, PEM and DER, used while fresh", test_file_pem_and_der},
        {"one PEM file with two CRLs answers for both", test_file_with_two_crls},
        {"stale (past nextUpdate) or not yet valid: not used, says stale", test_stale_not_used},
        {"signed by another key: not used, even when it revokes", test_wrong_key_not_used},
        {"another issuer's CRL is ignored", test_other_issuer_ignored},
        {"the newest of two good CRLs is chosen", test_newest_chosen},
        {"fetched-*.crl is the cache", test_cache_source},
        {"garbage in crl/ is skipped", test_garbage_files_skipped},
        {"offline, no CRL: Unknown saying offline", test_offline_no_crl},
        {"unreachable HTTP: Unknown naming the URL", test_unreachable_http},
        {"ftp:// unsupported; LDAP closed port; every point tried", test_unsupported_and_ldap},
        {"HTTP fetch, cached as fetched-SHA1(URL).crl, then from cache", test_http_fetch_and_cache},
        {"stale cache fetched again; stale fetched CRL refused", test_http_stale},
        {"a fetched CRL revokes", test_http_revoked},
        {"a CRL larger than 100 KiB is fetched", test_http_large_crl},
        {"through a proxy", test_http_proxy},
        {"a distribution point serving PEM, one CRL or several; not a CRL", test_http_pem},
        {"memo: one attempt per unreachable URL per pass", test_memo_one_attempt_per_pass},
        {"distribution point URIs: order, none, NUL inside, relative", test_urls_from_certificate},
        {"cc_crl_fetch: from a thread, past crl/, cached; offline, none, failures",
         test_fetch_public},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("crl", tests);
}
