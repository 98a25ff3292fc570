/*
 * edgesync's key holder (keyholder.c, keyserve.c, keyproto.c, over certcore's keyproc.c): a real
 * holder process forked on a store made here. It opens an envelope for a recipient's thumbprint
 * and the password comes back; the thumbprint of a certificate that is no recipient, or of none
 * in the store, is refused with the holder's reason; garbage, a malformed header, an unknown
 * request and a request longer than the holder takes are refused and the holder goes on; as the
 * store's key source it gives stand-ins that say "has a key", and a key file it cannot read is
 * the store's problem with its reason. Confined, the holder reads the store and nothing else (a
 * file beside the store, /etc/passwd), through EDGESYNC_TEST_OPEN. Killed, the next request says
 * the holder is gone (ES_ERR_KEYHOLDER) and es_keyholder_ended says how.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/landlock.h>

#include "certcore/keyproc.h"
#include "certcore/store.h"
#include "edgesync/credential.h"
#include "edgesync/keyholder.h"
#include "edgesync/keyproto.h"
#include "edgesync/keyserve.h"
#include "edgesync/secret.h"
#include "es_testutil.h"

static X509 *x1, *x2, *x3;
static EVP_PKEY *k1, *k2, *k3;

struct fx {
	char *dir;
	char store[1024];
	char t1[CC_THUMB_LEN + 1], t2[CC_THUMB_LEN + 1];
	struct es_keyholder *kh;
	struct cc_store *s; /* the store as the replicator sees it: stand-in keys */
};

/* A store with x1 (k1) and x2 (k2), its holder, and the store opened through the holder. */
static void
fx_open(struct fx *f)
{
	struct cc_meta meta = {0, false, NULL, NULL};
	struct cc_store *s = NULL;

	memset(f, 0, sizeof(*f));
	f->dir = tu_tmpdir();
	snprintf(f->store, sizeof(f->store), "%s/store", f->dir);
	CU_ASSERT_FATAL(cc_store_open(f->store, CC_STORE_CREATE, &s) == CC_OK);
	CU_ASSERT_FATAL(cc_store_add(s, x1, NULL, k1, &meta, f->t1) == CC_OK);
	CU_ASSERT_FATAL(cc_store_add(s, x2, NULL, k2, &meta, f->t2) == CC_OK);
	cc_store_free(s);
	CU_ASSERT_EQUAL_FATAL(es_keyholder_start(f->store, NULL, &f->kh), ES_OK);
	cc_store_set_key_source(es_keyholder_key, f->kh);
	CU_ASSERT_FATAL(cc_store_open(f->store, 0, &f->s) == CC_OK);
}

static void
fx_close(struct fx *f)
{
	cc_store_free(f->s);
	cc_store_set_key_source(NULL, NULL);
	es_keyholder_stop(f->kh);
	tu_rmrf(f->dir);
	free(f->dir);
}

static unsigned char *
seal(const char *pw, X509 *to, size_t *len)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	unsigned char *der = NULL;

	sk_X509_push(sk, to);
	CU_ASSERT_EQUAL_FATAL(es_credential_seal(pw, sk, &der, len), ES_OK);
	sk_X509_free(sk);
	return der;
}

static struct cc_cert *
cert_of(struct fx *f, const char *thumb)
{
	struct cc_cert *c = NULL;

	CU_ASSERT_FATAL(cc_store_find(f->s, thumb, &c) == CC_OK);
	return c;
}

static void
test_decrypt(void)
{
	struct fx f;
	unsigned char *der;
	size_t len;
	char *pw = NULL;

	fx_open(&f);
	/* the stand-ins: a key is there (for the selection), its private half is not */
	CU_ASSERT_TRUE(cc_cert_has_private_key(cert_of(&f, f.t1)));
	CU_ASSERT_TRUE(cc_cert_has_private_key(cert_of(&f, f.t2)));
	der = seal("held-Passw0rd", x1, &len);
	CU_ASSERT_EQUAL(es_keyholder_decrypt(f.kh, der, len, cert_of(&f, f.t1), &pw), ES_OK);
	CU_ASSERT_STRING_EQUAL(pw ? pw : "", "held-Passw0rd");
	es_secret_free(pw);
	pw = NULL;
	/* through the credential's search: only the recipient is asked */
	CU_ASSERT_EQUAL(es_credential_open_via(der, len, f.s, es_keyholder_decrypt, f.kh, &pw),
	                ES_OK);
	CU_ASSERT_STRING_EQUAL(pw ? pw : "", "held-Passw0rd");
	es_secret_free(pw);
	/* this process cannot open it with what it holds */
	pw = NULL;
	CU_ASSERT_EQUAL(es_credential_open(der, len, f.s, &pw), ES_ERR_CREDENTIAL);
	CU_ASSERT_PTR_NULL(pw);
	OPENSSL_free(der);
	fx_close(&f);
}

static void
test_wrong_thumbprint(void)
{
	struct fx f;
	struct cc_cert *c3 = NULL;
	struct cc_meta meta = {0, false, NULL, NULL};
	unsigned char *der;
	size_t len;
	char *pw = NULL;

	fx_open(&f);
	der = seal("for-x1-only", x1, &len);
	/* x2 is in the store with its key, but no recipient */
	CU_ASSERT_EQUAL(es_keyholder_decrypt(f.kh, der, len, cert_of(&f, f.t2), &pw),
	                ES_ERR_CREDENTIAL);
	CU_ASSERT_PTR_NULL(pw);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "the envelope is not opened"));
	/* x3 is not in the holder's store at all */
	CU_ASSERT_FATAL(cc_cert_new(x3, NULL, k3, &meta, &c3) == CC_OK);
	CU_ASSERT_EQUAL(es_keyholder_decrypt(f.kh, der, len, c3, &pw), ES_ERR_CREDENTIAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "no such certificate in the store"));
	/* too long for the holder: refused before it is sent */
	CU_ASSERT_EQUAL(
	        es_keyholder_decrypt(f.kh, der, ES_KEYP_ENVELOPE_MAX + 1, cert_of(&f, f.t1), &pw),
	        ES_ERR_CREDENTIAL);
	cc_cert_free(c3);
	OPENSSL_free(der);
	fx_close(&f);
}

static int
serve(int fd, void *arg)
{
	return es_keyserve_run(fd, arg, NULL);
}

/* Sends raw bytes; CC_ERR_CRYPTO (refused) expected, with `why` in the reason. */
static void
refused(struct cc_keyproc *kp, const void *buf, size_t len, const char *why)
{
	enum cc_err ce = cc_keyproc_call(kp, buf, len, NULL, 0, NULL, NULL);

	CU_ASSERT_EQUAL(ce, CC_ERR_CRYPTO);
	if (strstr(cc_errdetail(), why) == NULL) {
		fprintf(stderr, "\n    want \"%s\", got \"%s\"\n", why, cc_errdetail());
		CU_FAIL("reason");
	}
}

static void
test_garbage_refused(void)
{
	struct fx f;
	struct cc_keyproc *kp = NULL;
	struct es_keyp_req req;
	unsigned char *big;
	size_t bigsz = ES_KEYP_REQ_MAX + 1;

	fx_open(&f);
	CU_ASSERT_FATAL(cc_keyproc_start("test-keys", 10, serve, f.store, &kp) == CC_OK);
	refused(kp, "junk", 4, "request shorter than its header");
	memset(&req, 0, sizeof(req));
	req.op = ES_KEYP_LOAD;
	memcpy(req.thumb, f.t1, CC_THUMB_LEN);
	CU_ASSERT_EQUAL(cc_keyproc_call(kp, &req, sizeof(req), NULL, 0, NULL, NULL), CC_OK);
	req.op = 9;
	refused(kp, &req, sizeof(req), "unknown request 9");
	req.op = ES_KEYP_LOAD;
	req.thumb[0] = 'a';
	refused(kp, &req, sizeof(req), "not a thumbprint");
	memcpy(req.thumb, f.t1, CC_THUMB_LEN);
	req.len = 7;
	refused(kp, &req, sizeof(req), "request length 7, 0 bytes follow");
	req.len = 0;
	req.pad[1] = 1;
	refused(kp, &req, sizeof(req), "padding not zero");
	req.pad[1] = 0;
	req.op = ES_KEYP_DECRYPT;
	refused(kp, &req, sizeof(req), "envelope of 0 bytes");
	/* longer than any request: refused unread */
	big = calloc(1, bigsz);
	CU_ASSERT_FATAL(big != NULL);
	req.len = (uint32_t)(bigsz - sizeof(req));
	memcpy(big, &req, sizeof(req));
	refused(kp, big, bigsz, "request too long");
	/* a DECRYPT of garbage for a key it has */
	req.len = 100;
	memset(big + sizeof(req), 0x30, 100);
	memcpy(big, &req, sizeof(req));
	refused(kp, big, sizeof(req) + 100, "the envelope is not opened");
	free(big);
	/* still there */
	req.op = ES_KEYP_LOAD;
	req.len = 0;
	CU_ASSERT_EQUAL(cc_keyproc_call(kp, &req, sizeof(req), NULL, 0, NULL, NULL), CC_OK);
	CU_ASSERT_FALSE(cc_keyproc_gone(kp));
	cc_keyproc_stop(kp);
	fx_close(&f);
}

static void
test_unreadable_key_is_a_problem(void)
{
	struct fx f;
	struct cc_meta meta = {0, false, NULL, NULL};
	struct cc_store *w = NULL, *s = NULL;
	struct cc_cert *c = NULL;
	char t3[CC_THUMB_LEN + 1], path[2048];
	size_t i;
	bool found = false;

	fx_open(&f);
	/* a writer without the holder (no key source) adds x3, then its key file is spoilt */
	cc_store_set_key_source(NULL, NULL);
	CU_ASSERT_FATAL(cc_store_open(f.store, 0, &w) == CC_OK);
	CU_ASSERT_FATAL(cc_store_add(w, x3, NULL, k3, &meta, t3) == CC_OK);
	cc_store_free(w);
	snprintf(path, sizeof(path), "%s/keys/%s.key", f.store, t3);
	tu_write_file(path, "not a key\n", 10, 0600);
	cc_store_set_key_source(es_keyholder_key, f.kh);
	CU_ASSERT_FATAL(cc_store_open(f.store, 0, &s) == CC_OK);
	CU_ASSERT_FATAL(cc_store_find(s, t3, &c) == CC_OK);
	CU_ASSERT_FALSE(cc_cert_has_private_key(c));
	for (i = 0; i < cc_store_problem_count(s); i++)
		if (strstr(cc_store_problem_path(s, i), t3) != NULL &&
		    strstr(cc_store_problem_reason(s, i), "no usable private key") != NULL)
			found = true;
	CU_ASSERT_TRUE(found);
	cc_store_free(s);
	fx_close(&f);
}

#ifdef UMEDGE_TEST_HOOKS /* EDGESYNC_TEST_OPEN (src/testhook.c) */
static int
landlock_abi(void)
{
	return (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
}

static void
test_holder_confined(void)
{
	struct fx f;
	char out[2048], other[2048], key[2048], env[8192], want[4096], *text;
	int saved, fd;
	size_t len = 0;
	unsigned char *der;
	char *pw = NULL;

	fx_open(&f);
	snprintf(out, sizeof(out), "%s/holder.err", f.dir);
	snprintf(other, sizeof(other), "%s/edgesync.conf", f.dir); /* beside the store */
	tu_write_file(other, "[edgesync]\n", 11, 0600);
	snprintf(key, sizeof(key), "%s/keys/%s.key", f.store, f.t1);
	snprintf(env, sizeof(env), "%s:%s:/etc/passwd", key, other);
	/* a holder of its own whose stderr is a file (the fork inherits it), told what to try */
	es_keyholder_stop(f.kh);
	fflush(stderr);
	saved = dup(2);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CU_ASSERT_FATAL(saved != -1 && fd != -1);
	dup2(fd, 2);
	close(fd);
	setenv("EDGESYNC_TEST_OPEN", env, 1);
	CU_ASSERT_EQUAL_FATAL(es_keyholder_start(f.store, NULL, &f.kh), ES_OK);
	unsetenv("EDGESYNC_TEST_OPEN");
	dup2(saved, 2);
	close(saved);
	cc_store_set_key_source(es_keyholder_key, f.kh);
	/* it confines itself at its first request: this one, which it still answers */
	der = seal("confined", x1, &len);
	CU_ASSERT_EQUAL(es_keyholder_decrypt(f.kh, der, len, cert_of(&f, f.t1), &pw), ES_OK);
	es_secret_free(pw);
	OPENSSL_free(der);
	text = tu_read_file(out, &len);
	CU_ASSERT_FATAL(text != NULL);
	if (landlock_abi() < 2) {
		fprintf(stderr, "\n    (no usable Landlock here: the holder is not confined)\n");
	} else {
		snprintf(want, sizeof(want), "test open (key holder) %s: ok", key);
		CU_ASSERT_PTR_NOT_NULL(strstr(text, want));
		snprintf(want, sizeof(want),
		         "test open (key holder) %s: refused (Permission denied)", other);
		CU_ASSERT_PTR_NOT_NULL(strstr(text, want));
		CU_ASSERT_PTR_NOT_NULL(strstr(
		        text, "test open (key holder) /etc/passwd: refused (Permission denied)"));
	}
	free(text);
	fx_close(&f);
}

#endif

static void
test_killed_holder(void)
{
	struct fx f;
	unsigned char *der;
	size_t len;
	char *pw = NULL, why[64] = "";
	int i;

	fx_open(&f);
	der = seal("never-seen", x1, &len);
	CU_ASSERT_FALSE(es_keyholder_gone(f.kh));
	CU_ASSERT_EQUAL_FATAL(kill(es_keyholder_pid(f.kh), SIGKILL), 0);
	for (i = 0; i < 500 && !es_keyholder_ended(f.kh, why, sizeof(why)); i++)
		usleep(10000);
	CU_ASSERT_STRING_EQUAL(why, "killed by signal 9");
	CU_ASSERT_EQUAL(es_keyholder_decrypt(f.kh, der, len, cert_of(&f, f.t1), &pw),
	                ES_ERR_KEYHOLDER);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "is gone"));
	CU_ASSERT_PTR_NULL(pw);
	CU_ASSERT_TRUE(es_keyholder_gone(f.kh));
	/* through the credential's search: the holder's loss ends it, it is not "no key" */
	CU_ASSERT_EQUAL(es_credential_open_via(der, len, f.s, es_keyholder_decrypt, f.kh, &pw),
	                ES_ERR_KEYHOLDER);
	OPENSSL_free(der);
	fx_close(&f);
}

static CU_TestInfo tests[] = {
        {"the holder opens an envelope for its recipient's thumbprint", test_decrypt},
        {"a thumbprint that is no recipient, or not in the store, is refused",
         test_wrong_thumbprint},
        {"garbage, bad headers and a too long request are refused; the holder goes on",
         test_garbage_refused},
        {"a key file the holder cannot read is the store's problem, with its reason",
         test_unreadable_key_is_a_problem},
#ifdef UMEDGE_TEST_HOOKS /* EDGESYNC_TEST_OPEN says what the holder can open */
        {"the holder reads the store and nothing else", test_holder_confined},
#endif
        {"a killed holder: ES_ERR_KEYHOLDER, and how it ended", test_killed_holder},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	int r;

	es_tu_cert("replicator one", &x1, &k1);
	es_tu_cert("replicator two", &x2, &k2);
	es_tu_cert("not in the store", &x3, &k3);
	r = tu_run("es_keyholder", tests);
	X509_free(x1);
	X509_free(x2);
	X509_free(x3);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k3);
	return r;
}
