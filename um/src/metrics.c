/*
 * umd's counters and gauges, and their rendering in the Prometheus text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "seam.h"

#define DAY 86400

enum method { M_INVITE, M_ACK, M_BYE, M_CANCEL, M_OPTIONS, M_OTHER, M__MAX };

static const char *const method_names[M__MAX] = {
        [M_INVITE] = "INVITE", [M_ACK] = "ACK",         [M_BYE] = "BYE",
        [M_CANCEL] = "CANCEL", [M_OPTIONS] = "OPTIONS", [M_OTHER] = "other",
};

static long long
mono_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *const fail_names[UM_FAIL__MAX] = {
        [UM_FAIL_PROTOCOL] = "protocol",
        [UM_FAIL_CERTIFICATE] = "certificate",
        [UM_FAIL_PEER_REJECTED] = "peer_rejected",
        [UM_FAIL_OTHER] = "other",
};

struct cert_slot {
	char service[UM_METRICS_SERVICE_MAX + 1];
	char thumbprint[UM_METRICS_THUMBPRINT_MAX + 1];
	time_t not_after;
};

struct um_metrics {
	/*
	 * Each counter is independent of the others and only ever read for display, so relaxed
	 * ordering is enough: a scrape may see one counter a moment ahead of another, never a torn
	 * or lost update.
	 */
	atomic_ullong handshakes_ok;
	atomic_ullong handshake_failures[UM_FAIL__MAX];
	atomic_ullong peer_rejections;
	atomic_ullong options_fast;
	atomic_ullong requests[M__MAX];
	atomic_ullong responses[6]; /* 1xx .. 6xx */
	atomic_llong open_connections;
	atomic_llong active_dialogs;
	atomic_llong active_calls;
	atomic_ullong media[UM_MC__MAX];
	atomic_ullong smtp_submitted;
	atomic_ullong smtp_failures[UM_SR__MAX][2]; /* [reason][permanent] */
	atomic_llong smtp_queue, smtp_oldest;
	atomic_llong heartbeat_ms; /* CLOCK_MONOTONIC of the last heartbeat */
	atomic_int stall_limit_s;  /* 0: no heartbeat check */

	pthread_mutex_t lock; /* guards what follows */
	struct cert_slot certs[UM_METRICS_MAX_SERVICES];
	size_t ncerts;
	bool healthy;
	char why[UM_METRICS_WHY_MAX + 1];
};

enum um_err
um_metrics_new(struct um_metrics **out)
{
	struct um_metrics *m = NULL;
	enum um_err r = UM_ERR_NOMEM;
	size_t i;

	if (out == NULL)
		return um_seterr(UM_ERR_INVAL, "um_metrics_new: no out-parameter");
	*out = NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		r = um_seterr(UM_ERR_NOMEM, "allocating the metrics");
		goto out;
	}
	atomic_init(&m->handshakes_ok, 0);
	for (i = 0; i < UM_FAIL__MAX; i++)
		atomic_init(&m->handshake_failures[i], 0);
	atomic_init(&m->peer_rejections, 0);
	atomic_init(&m->options_fast, 0);
	for (i = 0; i < M__MAX; i++)
		atomic_init(&m->requests[i], 0);
	for (i = 0; i < 6; i++)
		atomic_init(&m->responses[i], 0);
	atomic_init(&m->open_connections, 0);
	atomic_init(&m->active_dialogs, 0);
	atomic_init(&m->heartbeat_ms, mono_ms());
	atomic_init(&m->stall_limit_s, 0);
	if (pthread_mutex_init(&m->lock, NULL) != 0) {
		r = um_seterr(UM_ERR_NOMEM, "initialising the metrics lock");
		goto out;
	}
	/* Not healthy until umd says so: a probe must not see "ok" before the listener is up. */
	m->healthy = false;
	snprintf(m->why, sizeof(m->why), "starting");
	*out = m;
	m = NULL;
	r = UM_OK;
out:
	free(m);
	return r;
}

void
um_metrics_free(struct um_metrics *m)
{
	if (m == NULL)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m);
}

const char *
um_fail_class_name(enum um_fail_class c)
{
	if ((unsigned)c >= UM_FAIL__MAX)
		c = UM_FAIL_OTHER;
	return fail_names[c];
}

static void
bump(atomic_ullong *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static unsigned long long
get(const atomic_ullong *c)
{
	return atomic_load_explicit((atomic_ullong *)c, memory_order_relaxed);
}

static long long
get_gauge(const atomic_llong *g)
{
	return atomic_load_explicit((atomic_llong *)g, memory_order_relaxed);
}

void
um_metrics_handshake_ok(struct um_metrics *m)
{
	if (m != NULL)
		bump(&m->handshakes_ok);
}

void
um_metrics_handshake_failed(struct um_metrics *m, enum um_fail_class c)
{
	if (m == NULL)
		return;
	if ((unsigned)c >= UM_FAIL__MAX)
		c = UM_FAIL_OTHER;
	bump(&m->handshake_failures[c]);
	if (c == UM_FAIL_PEER_REJECTED)
		bump(&m->peer_rejections);
}

void
um_metrics_peer_rejected(struct um_metrics *m)
{
	if (m != NULL)
		bump(&m->peer_rejections);
}

void
um_metrics_request(struct um_metrics *m, const char *method)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < M_OTHER; i++) {
		/* RFC 3261 section 7.1: method names are case-sensitive. */
		if (method != NULL && strcmp(method, method_names[i]) == 0)
			break;
	}
	bump(&m->requests[i]);
}

void
um_metrics_options_fast(struct um_metrics *m)
{
	if (m == NULL)
		return;
	bump(&m->requests[M_OPTIONS]);
	bump(&m->responses[1]);
	bump(&m->options_fast);
}

void
um_metrics_response(struct um_metrics *m, int status)
{
	if (m == NULL || status < 100 || status > 699)
		return;
	bump(&m->responses[status / 100 - 1]);
}

void
um_metrics_conn(struct um_metrics *m, int delta)
{
	if (m != NULL)
		atomic_fetch_add_explicit(&m->open_connections, delta, memory_order_relaxed);
}

void
um_metrics_dialogs(struct um_metrics *m, int delta)
{
	if (m != NULL)
		atomic_fetch_add_explicit(&m->active_dialogs, delta, memory_order_relaxed);
}

void
um_metrics_calls(struct um_metrics *m, int delta)
{
	if (m != NULL)
		atomic_fetch_add_explicit(&m->active_calls, delta, memory_order_relaxed);
}

void
um_metrics_media(struct um_metrics *m, enum um_media_counter c, unsigned long long n)
{
	if (m != NULL && (unsigned)c < UM_MC__MAX && n > 0)
		atomic_fetch_add_explicit(&m->media[c], n, memory_order_relaxed);
}

static const char *const smtp_reason_names[UM_SR__MAX] = {
        [UM_SR_CONNECT] = "connect",     [UM_SR_TLS] = "tls",
        [UM_SR_HUB] = "hub_verify",      [UM_SR_TEMPORARY] = "temporary",
        [UM_SR_REFUSED] = "refused",     [UM_SR_RECIPIENT] = "recipient",
        [UM_SR_DIRECTORY] = "directory", [UM_SR_NO_RECIPIENT] = "no_recipient",
        [UM_SR_EXPIRED] = "expired",     [UM_SR_SPOOL] = "spool",
        [UM_SR_OTHER] = "other",
};

const char *
um_smtp_reason_name(enum um_smtp_reason r)
{
	return (unsigned)r < UM_SR__MAX ? smtp_reason_names[r] : "other";
}

void
um_metrics_smtp_submitted(struct um_metrics *m)
{
	if (m != NULL)
		atomic_fetch_add_explicit(&m->smtp_submitted, 1, memory_order_relaxed);
}

void
um_metrics_smtp_failure(struct um_metrics *m, enum um_smtp_reason r, bool permanent)
{
	if (m == NULL)
		return;
	if ((unsigned)r >= UM_SR__MAX)
		r = UM_SR_OTHER;
	atomic_fetch_add_explicit(&m->smtp_failures[r][permanent ? 1 : 0], 1, memory_order_relaxed);
}

void
um_metrics_smtp_queue(struct um_metrics *m, long long messages, long long oldest_seconds)
{
	if (m == NULL)
		return;
	atomic_store_explicit(&m->smtp_queue, messages, memory_order_relaxed);
	atomic_store_explicit(&m->smtp_oldest, oldest_seconds, memory_order_relaxed);
}

enum um_err
um_metrics_set_cert(struct um_metrics *m, const char *service, const char *thumbprint,
                    time_t not_after)
{
	enum um_err r = UM_ERR_INVAL;
	bool clear = thumbprint == NULL || *thumbprint == '\0';
	size_t i;

	if (m == NULL || service == NULL || *service == '\0')
		return um_seterr(UM_ERR_INVAL, "metrics: a certificate needs a service name");
	if (strlen(service) > UM_METRICS_SERVICE_MAX)
		return um_seterr(UM_ERR_INVAL, "metrics: service name longer than %d characters",
		                 UM_METRICS_SERVICE_MAX);
	if (!clear && strlen(thumbprint) > UM_METRICS_THUMBPRINT_MAX)
		return um_seterr(UM_ERR_INVAL,
		                 "metrics: thumbprint of %s longer than %d characters", service,
		                 UM_METRICS_THUMBPRINT_MAX);

	pthread_mutex_lock(&m->lock);
	for (i = 0; i < m->ncerts; i++) {
		if (strcmp(m->certs[i].service, service) == 0)
			break;
	}
	if (clear) {
		if (i < m->ncerts) {
			memmove(&m->certs[i], &m->certs[i + 1],
			        (m->ncerts - i - 1) * sizeof(m->certs[0]));
			m->ncerts--;
		}
		r = UM_OK;
		goto out;
	}
	if (i == m->ncerts) {
		if (m->ncerts == UM_METRICS_MAX_SERVICES) {
			r = um_seterr(UM_ERR_INVAL, "metrics: more than %d services",
			              UM_METRICS_MAX_SERVICES);
			goto out;
		}
		snprintf(m->certs[i].service, sizeof(m->certs[i].service), "%s", service);
		m->ncerts++;
	}
	snprintf(m->certs[i].thumbprint, sizeof(m->certs[i].thumbprint), "%s", thumbprint);
	m->certs[i].not_after = not_after;
	r = UM_OK;
out:
	pthread_mutex_unlock(&m->lock);
	return r;
}

void
um_metrics_set_healthy(struct um_metrics *m, bool healthy, const char *why)
{
	if (m == NULL)
		return;
	pthread_mutex_lock(&m->lock);
	m->healthy = healthy;
	if (healthy)
		m->why[0] = '\0';
	else
		snprintf(m->why, sizeof(m->why), "%s", why != NULL && *why ? why : "not healthy");
	pthread_mutex_unlock(&m->lock);
}

void
um_metrics_heartbeat(struct um_metrics *m)
{
	if (m != NULL)
		atomic_store_explicit(&m->heartbeat_ms, mono_ms(), memory_order_relaxed);
}

void
um_metrics_set_stall_limit(struct um_metrics *m, int seconds)
{
	if (m != NULL)
		atomic_store_explicit(&m->stall_limit_s, seconds > 0 ? seconds : 0,
		                      memory_order_relaxed);
}

long long
um_metrics_heartbeat_age_ms(const struct um_metrics *m)
{
	long long age;

	if (m == NULL)
		return -1;
	age = mono_ms() -
	      atomic_load_explicit((atomic_llong *)&m->heartbeat_ms, memory_order_relaxed);
	return age > 0 ? age : 0;
}

bool
um_metrics_healthy(const struct um_metrics *m, char *why, size_t len)
{
	/* The lock is not part of the value: taking it does not change what a reader sees. */
	struct um_metrics *w = (struct um_metrics *)m;
	long long age;
	int limit;
	bool healthy;

	if (m == NULL) {
		if (why != NULL && len > 0)
			snprintf(why, len, "no metrics");
		return false;
	}
	pthread_mutex_lock(&w->lock);
	healthy = w->healthy;
	if (why != NULL && len > 0)
		snprintf(why, len, "%s", healthy ? "" : w->why);
	pthread_mutex_unlock(&w->lock);
	limit = atomic_load_explicit(&w->stall_limit_s, memory_order_relaxed);
	if (healthy && limit > 0 && (age = um_metrics_heartbeat_age_ms(m)) > limit * 1000LL) {
		healthy = false;
		if (why != NULL && len > 0)
			snprintf(why, len,
			         "SIP loop stalled: no heartbeat for %lld.%01lld s (limit %d s)",
			         age / 1000, age % 1000 / 100, limit);
	}
	return healthy;
}

/* UTC day number (days since 1970-01-01), floored, as certcore's expiry clock counts days. */
static int64_t
utc_day(time_t t)
{
	int64_t v = (int64_t)t;

	return v >= 0 ? v / DAY : -((-v + DAY - 1) / DAY);
}

/* A label value, escaped as the exposition format requires: \ as \\, " as \", newline as \n. */
static void
put_label_value(FILE *f, const char *v)
{
	for (; *v != '\0'; v++) {
		switch (*v) {
		case '\\':
			fputs("\\\\", f);
			break;
		case '"':
			fputs("\\\"", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		default:
			fputc(*v, f);
		}
	}
}

static void
family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
cert_sample(FILE *f, const char *name, const struct cert_slot *c, long long value)
{
	fprintf(f, "%s{service=\"", name);
	put_label_value(f, c->service);
	fputs("\",thumbprint=\"", f);
	put_label_value(f, c->thumbprint);
	fprintf(f, "\"} %lld\n", value);
}

enum um_err
um_metrics_render(const struct um_metrics *m, time_t now, char **out)
{
	struct um_metrics *w = (struct um_metrics *)m; /* for the lock only */
	struct cert_slot certs[UM_METRICS_MAX_SERVICES];
	enum um_err r = UM_ERR_NOMEM;
	char *buf = NULL;
	size_t len = 0, ncerts, i;
	long long age;
	bool healthy;
	FILE *f = NULL;

	if (out == NULL)
		return um_seterr(UM_ERR_INVAL, "um_metrics_render: no out-parameter");
	*out = NULL;
	if (m == NULL)
		return um_seterr(UM_ERR_INVAL, "um_metrics_render: no metrics");

	/* Copy what the lock guards, so no lock is held while formatting. */
	pthread_mutex_lock(&w->lock);
	ncerts = w->ncerts;
	memcpy(certs, w->certs, ncerts * sizeof(certs[0]));
	pthread_mutex_unlock(&w->lock);
	healthy = um_metrics_healthy(m, NULL, 0);
	age = um_metrics_heartbeat_age_ms(m);

	if ((f = open_memstream(&buf, &len)) == NULL) {
		r = um_seterr(UM_ERR_NOMEM, "metrics: open_memstream failed");
		goto out;
	}

	family(f, "umd_up", "gauge", "Whether umd is healthy (1) or not (0), as /healthz answers.");
	fprintf(f, "umd_up %d\n", healthy ? 1 : 0);

	family(f, "umd_sip_loop_heartbeat_age_seconds", "gauge",
	       "Seconds since the SIP loop's last one-second tick (/healthz fails past "
	       "stall_seconds).");
	fprintf(f, "umd_sip_loop_heartbeat_age_seconds %lld.%03lld\n", age / 1000, age % 1000);

	family(f, "umd_tls_handshakes_total", "counter", "TLS handshakes completed.");
	fprintf(f, "umd_tls_handshakes_total %llu\n", get(&m->handshakes_ok));

	family(f, "umd_tls_handshake_failures_total", "counter",
	       "TLS handshakes that failed, by reason class.");
	for (i = 0; i < UM_FAIL__MAX; i++)
		fprintf(f, "umd_tls_handshake_failures_total{reason=\"%s\"} %llu\n", fail_names[i],
		        get(&m->handshake_failures[i]));

	family(f, "umd_peer_rejections_total", "counter",
	       "Peers refused because no gateway entry accepts them (event 1021).");
	fprintf(f, "umd_peer_rejections_total %llu\n", get(&m->peer_rejections));

	family(f, "umd_sip_requests_total", "counter", "SIP requests received, by method.");
	for (i = 0; i < M__MAX; i++)
		fprintf(f, "umd_sip_requests_total{method=\"%s\"} %llu\n", method_names[i],
		        get(&m->requests[i]));

	family(f, "umd_sip_options_fast_total", "counter",
	       "OPTIONS keep-alives answered over TLS before sofia-sip read them (also counted in "
	       "umd_sip_requests_total and umd_sip_responses_total).");
	fprintf(f, "umd_sip_options_fast_total %llu\n", get(&m->options_fast));

	family(f, "umd_sip_responses_total", "counter", "SIP responses sent, by status class.");
	for (i = 0; i < 6; i++)
		fprintf(f, "umd_sip_responses_total{class=\"%zuxx\"} %llu\n", i + 1,
		        get(&m->responses[i]));

	family(f, "umd_open_connections", "gauge", "SIP connections open now.");
	fprintf(f, "umd_open_connections %lld\n", get_gauge(&m->open_connections));

	family(f, "umd_active_dialogs", "gauge", "SIP dialogs (calls) established now.");
	fprintf(f, "umd_active_dialogs %lld\n", get_gauge(&m->active_dialogs));

	family(f, "umd_active_calls", "gauge", "Calls with media now.");
	fprintf(f, "umd_active_calls %lld\n", get_gauge(&m->active_calls));

	family(f, "umd_media_packets_total", "counter", "RTP packets, by direction.");
	fprintf(f, "umd_media_packets_total{direction=\"in\"} %llu\n",
	        get(&m->media[UM_MC_PACKETS_IN]));
	fprintf(f, "umd_media_packets_total{direction=\"out\"} %llu\n",
	        get(&m->media[UM_MC_PACKETS_OUT]));

	family(f, "umd_srtp_failures_total", "counter",
	       "SRTP and SRTCP packets dropped, by the check they failed.");
	fprintf(f, "umd_srtp_failures_total{check=\"authentication\"} %llu\n",
	        get(&m->media[UM_MC_SRTP_AUTH]));
	fprintf(f, "umd_srtp_failures_total{check=\"replay\"} %llu\n",
	        get(&m->media[UM_MC_SRTP_REPLAY]));

	family(f, "umd_media_dropped_total", "counter",
	       "Datagrams on media ports dropped before SRTP, by reason.");
	fprintf(f, "umd_media_dropped_total{reason=\"source_address\"} %llu\n",
	        get(&m->media[UM_MC_SOURCE]));
	fprintf(f, "umd_media_dropped_total{reason=\"malformed\"} %llu\n",
	        get(&m->media[UM_MC_MALFORMED]));

	family(f, "umd_media_lost_packets_total", "counter",
	       "RTP packets the gateway sent that never came (RFC 3550 A.3).");
	fprintf(f, "umd_media_lost_packets_total %llu\n", get(&m->media[UM_MC_LOST]));

	family(f, "umd_media_late_packets_total", "counter",
	       "RTP packets that came after their place in the recording was written.");
	fprintf(f, "umd_media_late_packets_total %llu\n", get(&m->media[UM_MC_LATE]));

	family(f, "umd_recorded_seconds_total", "counter", "Seconds of voice messages recorded.");
	fprintf(f, "umd_recorded_seconds_total %llu.%03llu\n",
	        get(&m->media[UM_MC_RECORDED_MS]) / 1000, get(&m->media[UM_MC_RECORDED_MS]) % 1000);

	family(f, "umd_voice_messages_total", "counter", "Voice messages committed to the spool.");
	fprintf(f, "umd_voice_messages_total %llu\n", get(&m->media[UM_MC_MESSAGES]));

	family(f, "umd_calls_refused_busy_total", "counter",
	       "Calls refused with 503 (max_calls reached or no free media port).");
	fprintf(f, "umd_calls_refused_busy_total %llu\n", get(&m->media[UM_MC_CALLS_BUSY]));

	family(f, "umd_smtp_queue_messages", "gauge", "Voice messages waiting for submission.");
	fprintf(f, "umd_smtp_queue_messages %lld\n", get_gauge(&m->smtp_queue));
	family(f, "umd_smtp_oldest_message_age_seconds", "gauge",
	       "Age of the oldest voice message waiting for submission.");
	fprintf(f, "umd_smtp_oldest_message_age_seconds %lld\n", get_gauge(&m->smtp_oldest));
	family(f, "umd_smtp_submissions_total", "counter", "Voice messages the hub accepted.");
	fprintf(f, "umd_smtp_submissions_total %llu\n", get(&m->smtp_submitted));
	family(f, "umd_smtp_failures_total", "counter",
	       "Submissions that failed, by reason and outcome (deferred: queued again; failed: "
	       "moved to failed/).");
	for (i = 0; i < UM_SR__MAX; i++) {
		fprintf(f, "umd_smtp_failures_total{reason=\"%s\",outcome=\"deferred\"} %llu\n",
		        smtp_reason_names[i], get(&m->smtp_failures[i][0]));
		fprintf(f, "umd_smtp_failures_total{reason=\"%s\",outcome=\"failed\"} %llu\n",
		        smtp_reason_names[i], get(&m->smtp_failures[i][1]));
	}

	family(f, "umd_seam_hook_calls_total", "counter",
	       "Calls of the functions umd interposes for sofia-sip (um/src/seam.h), by symbol: "
	       "acted on (taken) or passed through untouched (passed).");
	for (i = 0; i < UM_SEAM__MAX; i++) {
		fprintf(f, "umd_seam_hook_calls_total{symbol=\"%s\",action=\"taken\"} %llu\n",
		        um_seam_symbol(i), (unsigned long long)um_seam_taken(i));
		fprintf(f, "umd_seam_hook_calls_total{symbol=\"%s\",action=\"passed\"} %llu\n",
		        um_seam_symbol(i), (unsigned long long)um_seam_passed(i));
	}

	family(f, "umd_certificate_not_after_seconds", "gauge",
	       "NotAfter of the certificate each service uses, in seconds since the epoch.");
	for (i = 0; i < ncerts; i++)
		cert_sample(f, "umd_certificate_not_after_seconds", &certs[i],
		            (long long)certs[i].not_after);

	family(f, "umd_certificate_days_left", "gauge",
	       "UTC calendar days until the certificate each service uses expires (negative: "
	       "expired).");
	for (i = 0; i < ncerts; i++)
		cert_sample(f, "umd_certificate_days_left", &certs[i],
		            (long long)(utc_day(certs[i].not_after) - utc_day(now)));

	if (ferror(f)) {
		r = um_seterr(UM_ERR_NOMEM, "metrics: writing the text failed");
		goto out;
	}
	if (fclose(f) != 0) {
		f = NULL;
		r = um_seterr(UM_ERR_NOMEM, "metrics: writing the text failed");
		goto out;
	}
	f = NULL;
	*out = buf;
	buf = NULL;
	r = UM_OK;
out:
	if (f != NULL)
		fclose(f);
	free(buf);
	return r;
}
