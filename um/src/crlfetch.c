/* Gateways' CRLs fetched off the SIP thread (crlfetch.h). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "certcore/cert.h"
#include "certcore/events.h"
#include "certcore/store.h"
#include "certcore/verify.h"
#include "crlfetch.h"

#define MAX_PAIRS     128  /* distinct (issuer, distribution points) pairs remembered */
#define MAX_QUEUE     16   /* pairs waiting for the fetcher at once */
#define RETRY_SECONDS 300  /* a pair is not tried again sooner than this after an attempt */
#define REFRESH_LEAD  3600 /* refresh at most this long before nextUpdate ... */

/* One (issuer, distribution points) pair; all but the certificates guarded by the mutex. */
struct pair {
	unsigned char key[SHA256_DIGEST_LENGTH];
	X509 *subject, *issuer; /* copies; read by the fetcher thread only after creation */
	bool queued;
	unsigned long seq;   /* queue order */
	time_t last_attempt; /* 0: never tried */
	bool ok;             /* the last attempt fetched a CRL */
	time_t this_update;  /* of the last CRL fetched; 0: none yet */
	time_t next_update;
};

struct um_crlfetch {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool stop;
	struct pair *pairs[MAX_PAIRS];
	size_t npairs, nqueued;
	unsigned long seq;
	bool full_warned;
	atomic_bool news;
	char *store, *proxy;
	int timeout;
	struct cc_log *log;
};

/* SHA-256 of the issuer's name and the subject's distribution points; false when it has none. */
static bool
pair_key(X509 *subject, X509 *issuer, unsigned char key[SHA256_DIGEST_LENGTH])
{
	int i = X509_get_ext_by_NID(subject, NID_crl_distribution_points, -1);
	const ASN1_OCTET_STRING *dp;
	unsigned char *name = NULL;
	EVP_MD_CTX *md = NULL;
	unsigned int len = 0;
	int nlen;
	bool ok = false;

	if (i < 0 || (dp = X509_EXTENSION_get_data(X509_get_ext(subject, i))) == NULL)
		goto out;
	if ((nlen = i2d_X509_NAME(X509_get_subject_name(issuer), &name)) <= 0 ||
	    (md = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, name, (size_t)nlen) != 1 ||
	    EVP_DigestUpdate(md, ASN1_STRING_get0_data(dp), (size_t)ASN1_STRING_length(dp)) != 1 ||
	    EVP_DigestFinal_ex(md, key, &len) != 1)
		goto out;
	ok = true;
out:
	OPENSSL_free(name);
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return ok;
}

static void
pair_free(struct pair *p)
{
	if (p == NULL)
		return;
	X509_free(p->subject);
	X509_free(p->issuer);
	free(p);
}

/* Called with the mutex held. */
static void
enqueue(struct um_crlfetch *f, struct pair *p)
{
	p->queued = true;
	p->seq = ++f->seq;
	f->nqueued++;
	pthread_cond_signal(&f->cv);
}

bool
um_crlfetch_want(struct um_crlfetch *f, X509 *subject, X509 *issuer, time_t now)
{
	unsigned char key[SHA256_DIGEST_LENGTH];
	struct pair *p = NULL;
	bool queued = false;
	size_t i;

	if (f == NULL || subject == NULL || issuer == NULL || !pair_key(subject, issuer, key))
		return false;
	pthread_mutex_lock(&f->mu);
	for (i = 0; i < f->npairs; i++)
		if (memcmp(f->pairs[i]->key, key, sizeof(key)) == 0)
			p = f->pairs[i];
	if (p == NULL) {
		if (f->npairs == MAX_PAIRS) {
			if (!f->full_warned)
				cc_log_message(
				        f->log, CC_LOG_WARNING,
				        "CRL fetch: %d CAs known already; CRLs of further CAs "
				        "are not fetched (put them in the store's crl/)",
				        MAX_PAIRS);
			f->full_warned = true;
			goto out;
		}
		/* Copies: the fetcher thread must not share the handshake's certificates. */
		if ((p = calloc(1, sizeof(*p))) == NULL ||
		    (p->subject = X509_dup(subject)) == NULL ||
		    (p->issuer = X509_dup(issuer)) == NULL) {
			pair_free(p);
			ERR_clear_error();
			goto out;
		}
		memcpy(p->key, key, sizeof(key));
		f->pairs[f->npairs++] = p;
	}
	if (p->queued || (p->last_attempt != 0 && now - p->last_attempt < RETRY_SECONDS) ||
	    f->nqueued >= MAX_QUEUE)
		goto out;
	enqueue(f, p);
	queued = true;
out:
	pthread_mutex_unlock(&f->mu);
	return queued;
}

/*
 * A CRL is refreshed from half its validity before nextUpdate, at most REFRESH_LEAD before it
 * (RFC 5280 section 5.1.2.5: a new CRL is issued on or before nextUpdate), once a pass, and
 * after a failed attempt not before RETRY_SECONDS.
 */
void
um_crlfetch_refresh(struct um_crlfetch *f, time_t now)
{
	struct pair *p;
	time_t lead;
	size_t i;

	if (f == NULL)
		return;
	pthread_mutex_lock(&f->mu);
	for (i = 0; i < f->npairs && f->nqueued < MAX_QUEUE; i++) {
		p = f->pairs[i];
		if (p->queued || p->next_update == 0)
			continue;
		lead = (p->next_update - p->this_update) / 2;
		if (lead > REFRESH_LEAD)
			lead = REFRESH_LEAD;
		if (now < p->next_update - lead ||
		    now - p->last_attempt < (p->ok ? 60 : RETRY_SECONDS))
			continue;
		enqueue(f, p);
	}
	pthread_mutex_unlock(&f->mu);
}

bool
um_crlfetch_take_news(struct um_crlfetch *f)
{
	return f != NULL && atomic_exchange(&f->news, false);
}

/* CrlFetchFailed; the pair is not tried again for RETRY_SECONDS (um_crlfetch_refresh). */
static void
fetch_failed(struct um_crlfetch *f, const char *url, const char *issuer, const char *subject,
             const char *reason)
{
	struct cc_field fl[] = {
	        CC_FSTR("url", url),
	        CC_FSTR("issuer", issuer),
	        CC_FSTR("subject", subject),
	        CC_FSTR("reason", reason),
	        CC_FINT("retry_seconds", RETRY_SECONDS),
	};

	cc_log_event(f->log, CC_LOG_WARNING, CC_EV_CRL_FETCH_FAILED, fl, 5);
}

static void
fetch_one(struct um_crlfetch *f, struct cc_store **s, struct pair *p)
{
	struct cc_verify_opts o;
	struct cc_crl_fetch_result res;
	char subj[256], issuer[256], nu[32], why[1200];
	enum cc_err r;

	memset(&res, 0, sizeof(res));
	X509_NAME_oneline(X509_get_subject_name(p->subject), subj, sizeof(subj));
	X509_NAME_oneline(X509_get_subject_name(p->issuer), issuer, sizeof(issuer));
	if (*s == NULL && (r = cc_store_open(f->store, 0, s)) != CC_OK) {
		snprintf(why, sizeof(why), "opening the store: %s: %s", cc_strerror(r),
		         cc_errdetail());
		fetch_failed(f, NULL, issuer, subj, why);
		goto done;
	}
	memset(&o, 0, sizeof(o));
	o.timeout = f->timeout;
	o.proxy = f->proxy;
	if ((r = cc_crl_fetch(*s, p->subject, p->issuer, &o, &res)) != CC_OK) {
		snprintf(why, sizeof(why), "%s: %s", cc_strerror(r), cc_errdetail());
		fetch_failed(f, NULL, issuer, subj, why);
		goto done;
	}
	if (res.ok) {
		struct cc_field fl[] = {
		        CC_FSTR("url", res.url),
		        CC_FSTR("issuer", res.issuer),
		        CC_FSTR("next_update",
		                res.next_update ? cc_time_iso8601(res.next_update, nu) : NULL),
		        CC_FSTR("subject", subj),
		};

		cc_log_event(f->log, CC_LOG_INFO, CC_EV_CRL_FETCHED, fl, 4);
	} else {
		fetch_failed(f, NULL, res.issuer, subj, res.error);
	}
done:
	pthread_mutex_lock(&f->mu);
	p->last_attempt = time(NULL);
	p->ok = res.ok;
	if (res.ok) {
		p->this_update = res.this_update;
		p->next_update = res.next_update;
	}
	pthread_mutex_unlock(&f->mu);
	if (res.ok)
		atomic_store(&f->news, true);
	cc_crl_fetch_result_clear(&res);
}

static void *
run(void *arg)
{
	struct um_crlfetch *f = arg;
	struct cc_store *s = NULL;
	struct pair *next;
	size_t i;

	pthread_mutex_lock(&f->mu);
	while (!f->stop) {
		next = NULL;
		for (i = 0; i < f->npairs; i++)
			if (f->pairs[i]->queued && (next == NULL || f->pairs[i]->seq < next->seq))
				next = f->pairs[i];
		if (next == NULL) {
			pthread_cond_wait(&f->cv, &f->mu);
			continue;
		}
		/*
		 * Off the queue, and its attempt counted from now: asked for again while it is
		 * fetched, it is not queued a second time (the retry check of um_crlfetch_want).
		 */
		next->queued = false;
		f->nqueued--;
		next->last_attempt = time(NULL);
		pthread_mutex_unlock(&f->mu);
		fetch_one(f, &s, next); /* pairs are freed only after the thread ends */
		pthread_mutex_lock(&f->mu);
	}
	pthread_mutex_unlock(&f->mu);
	cc_store_free(s);
	/* OpenSSL's per-thread state (its error queue), which LeakSanitizer would report. */
	OPENSSL_thread_stop();
	return NULL;
}

static void
fetcher_free(struct um_crlfetch *f)
{
	size_t i;

	for (i = 0; i < f->npairs; i++)
		pair_free(f->pairs[i]);
	free(f->store);
	free(f->proxy);
	free(f);
}

enum um_err
um_crlfetch_start(const char *store, const char *proxy, int timeout, struct cc_log *log,
                  struct um_crlfetch **out)
{
	struct um_crlfetch *f = NULL;
	bool mu = false, cv = false;
	enum um_err r = UM_ERR_NOMEM;

	*out = NULL;
	if ((f = calloc(1, sizeof(*f))) == NULL || (f->store = strdup(store)) == NULL ||
	    (proxy != NULL && (f->proxy = strdup(proxy)) == NULL)) {
		r = um_seterr(UM_ERR_NOMEM, "CRL fetcher");
		goto out;
	}
	f->timeout = timeout;
	f->log = log;
	atomic_init(&f->news, false);
	if (pthread_mutex_init(&f->mu, NULL) != 0) {
		r = um_seterr(UM_ERR_IO, "CRL fetcher: pthread_mutex_init failed");
		goto out;
	}
	mu = true;
	if (pthread_cond_init(&f->cv, NULL) != 0) {
		r = um_seterr(UM_ERR_IO, "CRL fetcher: pthread_cond_init failed");
		goto out;
	}
	cv = true;
	if (pthread_create(&f->thread, NULL, run, f) != 0) {
		r = um_seterr(UM_ERR_IO, "CRL fetcher: pthread_create failed");
		goto out;
	}
	*out = f;
	f = NULL;
	r = UM_OK;
out:
	if (f != NULL) {
		if (cv)
			pthread_cond_destroy(&f->cv);
		if (mu)
			pthread_mutex_destroy(&f->mu);
		fetcher_free(f);
	}
	return r;
}

void
um_crlfetch_stop(struct um_crlfetch *f)
{
	if (f == NULL)
		return;
	pthread_mutex_lock(&f->mu);
	f->stop = true;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	pthread_join(f->thread, NULL);
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	fetcher_free(f);
}
