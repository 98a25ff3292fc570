/*
 * um/src/crlfetch.c: gateways' CRLs fetched on a thread of their own. A real fetcher thread, a
 * certcore store in a temporary directory and a forked HTTP distribution point: what is asked
 * for is fetched once into crl/, the news flag is raised once, one CA's gateways share a fetch,
 * nothing is tried again before the retry delay, a CRL is fetched again before its nextUpdate
 * and not long before, a failure is logged with the URL, and stopping does not wait for ever on
 * a distribution point that never answers. Waits poll (10 ms) with a generous limit; no time is
 * asserted.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "certcore/log.h"
#include "certcore/store.h"
#include "crlfetch.h"
#include "testutil.h"

#define DAY    86400L
#define RETRY  300 /* crlfetch.c RETRY_SECONDS */
#define WAIT_S 20  /* the longest any wait polls */

struct fx {
	char *dir;
	char store[4096];
	char logpath[4096];
	FILE *logf;
	struct cc_log *log;
	X509 *ca;
	EVP_PKEY *ca_key;
	struct um_crlfetch *f;
};

static void
fx_open(struct fx *x, int timeout)
{
	struct cc_store *s = NULL;
	struct tu_cert_spec spec;

	memset(x, 0, sizeof(*x));
	x->dir = tu_tmpdir();
	snprintf(x->store, sizeof(x->store), "%s/store", x->dir);
	snprintf(x->logpath, sizeof(x->logpath), "%s/umd.log", x->dir);
	CU_ASSERT_EQUAL_FATAL(cc_store_open(x->store, CC_STORE_CREATE, &s), CC_OK);
	cc_store_free(s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x->logf = fopen(x->logpath, "w"));
	setvbuf(x->logf, NULL, _IOLBF, 0);
	CU_ASSERT_EQUAL_FATAL(cc_log_new(CC_LOG_TEXT, x->logf, "umd", false, &x->log), CC_OK);
	memset(&spec, 0, sizeof(spec));
	spec.cn = "Gateway CA";
	spec.key = "ec256";
	spec.ca = true;
	tu_make_cert(&spec, &x->ca, &x->ca_key);
	CU_ASSERT_EQUAL_FATAL(um_crlfetch_start(x->store, NULL, timeout, x->log, &x->f), UM_OK);
}

static void
fx_close(struct fx *x)
{
	um_crlfetch_stop(x->f);
	cc_log_free(x->log);
	fclose(x->logf);
	X509_free(x->ca);
	EVP_PKEY_free(x->ca_key);
	tu_rmrf(x->dir);
	free(x->dir);
}

/* A gateway certificate of the CA, with the distribution point `url` (NULL: none). */
static X509 *
gateway(struct fx *x, const char *cn, const char *url)
{
	struct tu_cert_spec spec;
	const char *sans[] = {cn, NULL};
	X509 *c;
	EVP_PKEY *k;

	memset(&spec, 0, sizeof(spec));
	spec.cn = cn;
	spec.sans = sans;
	spec.key = "ec256";
	spec.issuer = x->ca;
	spec.issuer_key = x->ca_key;
	spec.crl_url = url;
	tu_make_cert(&spec, &c, &k);
	EVP_PKEY_free(k);
	return c;
}

/* Polls take_news until it says yes; false when WAIT_S passed. */
static bool
wait_news(struct fx *x)
{
	int i;

	for (i = 0; i < WAIT_S * 100; i++) {
		if (um_crlfetch_take_news(x->f))
			return true;
		usleep(10000);
	}
	return false;
}

/* Polls the log until it holds `text`; false when WAIT_S passed. */
static bool
wait_log(struct fx *x, const char *text)
{
	char *log;
	bool found;
	int i;

	for (i = 0; i < WAIT_S * 100; i++) {
		log = tu_read_file(x->logpath, NULL);
		found = log != NULL && strstr(log, text) != NULL;
		free(log);
		if (found)
			return true;
		usleep(10000);
	}
	return false;
}

static int
cached_crls(struct fx *x)
{
	char p[4200];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(p, sizeof(p), "%s/crl", x->store);
	if ((d = opendir(p)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		n += strncmp(de->d_name, "fetched-", 8) == 0;
	closedir(d);
	return n;
}

static void
test_fetch_once_shared_and_retried(void)
{
	struct fx x;
	struct tu_crl_srv sv;
	X509_CRL *crl;
	X509 *gw1, *gw2, *bare;
	char url[128], want[200], first[256];
	time_t now = time(NULL);

	fx_open(&x, 5);
	crl = tu_make_crl(x.ca, x.ca_key, NULL, 0, -3600, 7 * DAY);
	tu_crl_srv_start(&sv, x.dir, crl);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/gw.crl", sv.port);
	gw1 = gateway(&x, "gw1.example.test", url);
	gw2 = gateway(&x, "gw2.example.test", url);
	bare = gateway(&x, "gw3.example.test", NULL);

	/* Nothing to fetch without a distribution point, or without an issuer. */
	CU_ASSERT_FALSE(um_crlfetch_want(x.f, bare, x.ca, now));
	CU_ASSERT_FALSE(um_crlfetch_want(x.f, gw1, NULL, now));
	CU_ASSERT_FALSE(um_crlfetch_want(NULL, gw1, x.ca, now));

	CU_ASSERT_TRUE(um_crlfetch_want(x.f, gw1, x.ca, now));
	CU_ASSERT_TRUE_FATAL(wait_news(&x));
	CU_ASSERT_FALSE(um_crlfetch_take_news(x.f)); /* once */
	CU_ASSERT_EQUAL(tu_crl_srv_requests(&sv, first, sizeof(first)), 1);
	CU_ASSERT_STRING_EQUAL(first, "GET /gw.crl HTTP/1.0");
	CU_ASSERT_EQUAL(cached_crls(&x), 1);
	snprintf(want, sizeof(want), "1022 CrlFetched url=%s issuer=\"CN=Gateway CA\"", url);
	CU_ASSERT_TRUE(wait_log(&x, want));

	/* Asked again, or for another gateway of the same CA: not before the retry delay. */
	CU_ASSERT_FALSE(um_crlfetch_want(x.f, gw1, x.ca, now + 1));
	CU_ASSERT_FALSE(um_crlfetch_want(x.f, gw2, x.ca, now + 1));
	CU_ASSERT_FALSE(um_crlfetch_want(x.f, gw2, x.ca, now + RETRY - 10));
	/* After it: fetched again. */
	CU_ASSERT_TRUE(um_crlfetch_want(x.f, gw2, x.ca, time(NULL) + RETRY + 1));
	CU_ASSERT_TRUE(wait_news(&x));
	CU_ASSERT_EQUAL(tu_crl_srv_requests(&sv, NULL, 0), 2);
	CU_ASSERT_EQUAL(cached_crls(&x), 1); /* the same cache file, replaced */

	tu_crl_srv_stop(&sv);
	X509_CRL_free(crl);
	X509_free(gw1);
	X509_free(gw2);
	X509_free(bare);
	fx_close(&x);
}

/* A fetched CRL is fetched again from an hour before its nextUpdate (here: 7 days away). */
static void
test_refresh_before_next_update(void)
{
	struct fx x;
	struct tu_crl_srv sv;
	X509_CRL *crl;
	X509 *gw;
	char url[128];
	time_t now = time(NULL);

	fx_open(&x, 5);
	crl = tu_make_crl(x.ca, x.ca_key, NULL, 0, -3600, 7 * DAY);
	tu_crl_srv_start(&sv, x.dir, crl);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/gw.crl", sv.port);
	gw = gateway(&x, "gw1.example.test", url);
	/* Nothing fetched yet: nothing to refresh. */
	um_crlfetch_refresh(x.f, now);
	CU_ASSERT_TRUE(um_crlfetch_want(x.f, gw, x.ca, now));
	CU_ASSERT_TRUE_FATAL(wait_news(&x));
	CU_ASSERT_EQUAL(tu_crl_srv_requests(&sv, NULL, 0), 1);

	/* A minute later, and a day before nextUpdate: not due. */
	um_crlfetch_refresh(x.f, now + 61);
	um_crlfetch_refresh(x.f, now + 6 * DAY);
	usleep(500000);
	CU_ASSERT_FALSE(um_crlfetch_take_news(x.f));
	CU_ASSERT_EQUAL(tu_crl_srv_requests(&sv, NULL, 0), 1);
	/* Within the last hour before nextUpdate: fetched again. */
	um_crlfetch_refresh(x.f, now + 7 * DAY - 3600 + 10);
	CU_ASSERT_TRUE(wait_news(&x));
	CU_ASSERT_EQUAL(tu_crl_srv_requests(&sv, NULL, 0), 2);

	tu_crl_srv_stop(&sv);
	X509_CRL_free(crl);
	X509_free(gw);
	fx_close(&x);
}

/* Nothing listens at the distribution point: the failure is logged with the URL, no news. */
static void
test_failure_logged(void)
{
	struct fx x;
	X509 *gw;
	char url[128], want[200];
	time_t now = time(NULL);

	fx_open(&x, 1);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/gone.crl", tu_free_port());
	gw = gateway(&x, "gw1.example.test", url);
	CU_ASSERT_TRUE(um_crlfetch_want(x.f, gw, x.ca, now));
	snprintf(want, sizeof(want), "1023 CrlFetchFailed url=- issuer=\"CN=Gateway CA\"");
	CU_ASSERT_TRUE(wait_log(&x, want));
	CU_ASSERT_TRUE(wait_log(&x, url));
	CU_ASSERT_FALSE(um_crlfetch_take_news(x.f));
	CU_ASSERT_EQUAL(cached_crls(&x), 0);
	/* Not tried again at once. */
	CU_ASSERT_FALSE(um_crlfetch_want(x.f, gw, x.ca, time(NULL)));
	X509_free(gw);
	fx_close(&x);
}

/* A distribution point that accepts and never answers: stopping waits for the timeout only. */
static void
test_stop_during_silent_fetch(void)
{
	struct fx x;
	X509 *gw;
	char url[128];
	int fd, port;

	fx_open(&x, 2);
	fd = tu_listen_loopback(&port); /* never accepted: the connection waits in the backlog */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/silent.crl", port);
	gw = gateway(&x, "gw1.example.test", url);
	CU_ASSERT_TRUE(um_crlfetch_want(x.f, gw, x.ca, time(NULL)));
	usleep(300000);
	fx_close(&x); /* joins the thread: returns once the fetch timed out */
	close(fd);
	X509_free(gw);
}

static CU_TestInfo tests[] = {
        {"fetched once, news once, shared by one CA's gateways, retried after the delay",
         test_fetch_once_shared_and_retried},
        {"refreshed in the last hour before nextUpdate, not before",
         test_refresh_before_next_update},
        {"a distribution point down: logged with the URL, no news, not retried at once",
         test_failure_logged},
        {"stop while a fetch waits on a silent distribution point", test_stop_during_silent_fetch},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("um_crlfetch", tests);
}
