/*
 * /healthz and /metrics over HTTP with libmicrohttpd, in its own polling thread. The limits that
 * keep it from starving umd, and keep slow clients from starving it, are explained in http.h.
 *
 * libmicrohttpd 0.9.75 (Debian 12) has an inactivity timeout but no deadline per request, and
 * no call that closes a connection from outside. So the deadline is kept here: the connection
 * notifications (MHD_OPTION_NOTIFY_CONNECTION) track every connection with the time it was
 * accepted, a thread of its own (the reaper) shuts down the socket of any past its deadline,
 * and the accept policy callback shuts down the oldest when all slots are taken. A connection
 * carries one request (every answer is queued on the handler's first call, before any body is
 * read, and libmicrohttpd then answers "Connection: close"), so its deadline is its request's.
 *
 * shutdown(2), never close(2): the descriptor stays libmicrohttpd's, its next read sees the end
 * of the stream, and it closes the connection itself, through its usual path and notification.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "http.h"

/*
 * libmicrohttpd's own limit: the slots of http.h and room for the connections that were shut
 * down and that its thread has not closed yet (it accepts up to 10 at a time between two
 * clean-ups). When it is reached anyway, new connections wait in the listen queue a moment.
 */
#define MHD_LIMIT (UM_HTTP_CONNECTION_LIMIT + 16)
/* The reaper sleeps until the next deadline, at most this long. */
#define REAPER_MAX_SLEEP_MS 1000

#define TEXT_PLAIN   "text/plain; charset=utf-8"
#define PROM_TEXT    "text/plain; version=0.0.4; charset=utf-8"
#define ADDR_TEXTMAX (INET6_ADDRSTRLEN + 16)

/*
 * A connection as the deadline sees it: libmicrohttpd's socket_context, from its
 * MHD_CONNECTION_NOTIFY_STARTED to its MHD_CONNECTION_NOTIFY_CLOSED. libmicrohttpd closes the
 * socket only after CLOSED returns, and CLOSED takes conns_lock: under that lock `fd` is always
 * this connection's own socket, never a number the system gave to another file since.
 */
struct conn {
	struct conn *prev, *next;
	int fd;
	int64_t since_ms; /* CLOCK_MONOTONIC: when it was accepted */
	bool closing;     /* shut down here; libmicrohttpd has not closed it yet */
	bool requested;   /* its request was read whole: it is being answered */
};

struct um_http {
	struct MHD_Daemon *daemon;
	struct um_metrics *metrics; /* borrowed */
	unsigned port;

	/* The connections and the reaper (see the top of this file), under conns_lock. */
	pthread_mutex_t conns_lock;
	pthread_cond_t wake; /* the reaper's sleep; signalled to stop it */
	struct conn *head;
	bool stopping;
	pthread_t reaper;
	atomic_uint conns; /* connections not closing (written under conns_lock) */
	atomic_uint peak;

	/*
	 * What libmicrohttpd says while it starts (its bind error, for one), kept for the failure
	 * detail. Its later messages (a client over its limit, a time-out) are routine here and go
	 * nowhere: umd's log is one line per event, and the library's default logger would write
	 * free text to stderr.
	 */
	pthread_mutex_t lock;
	bool starting;
	char startlog[512];
};

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct um_http *h = cls;
	size_t used;

	pthread_mutex_lock(&h->lock);
	if (h->starting) {
		used = strlen(h->startlog);
		if (used > 0 && used + 2 < sizeof(h->startlog)) {
			memcpy(h->startlog + used, "; ", 3);
			used += 2;
		}
		vsnprintf(h->startlog + used, sizeof(h->startlog) - used, fmt, ap);
		used = strlen(h->startlog);
		while (used > 0 && (h->startlog[used - 1] == '\n' || h->startlog[used - 1] == ' '))
			h->startlog[--used] = '\0';
	}
	pthread_mutex_unlock(&h->lock);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Under conns_lock: ends k's request now (see the top of this file for why shutdown). */
static void
shut(struct um_http *h, struct conn *k)
{
	(void)shutdown(k->fd, SHUT_RDWR);
	k->closing = true;
	atomic_fetch_sub(&h->conns, 1);
}

/*
 * Tracks each connection from its start to its close. One that cannot be tracked (no memory)
 * would have no deadline: it is shut down at once.
 */
static void
notify(void *cls, struct MHD_Connection *c, void **socket_context,
       enum MHD_ConnectionNotificationCode toe)
{
	struct um_http *h = cls;
	const union MHD_ConnectionInfo *info;
	struct conn *k;
	unsigned now, peak;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		*socket_context = NULL;
		if ((info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD)) == NULL)
			return;
		if ((k = calloc(1, sizeof(*k))) == NULL) {
			(void)shutdown(info->connect_fd, SHUT_RDWR);
			return;
		}
		k->fd = info->connect_fd;
		k->since_ms = now_ms();
		pthread_mutex_lock(&h->conns_lock);
		k->next = h->head;
		if (h->head != NULL)
			h->head->prev = k;
		h->head = k;
		now = atomic_fetch_add(&h->conns, 1) + 1;
		peak = atomic_load(&h->peak);
		while (now > peak && !atomic_compare_exchange_weak(&h->peak, &peak, now))
			;
		pthread_mutex_unlock(&h->conns_lock);
		*socket_context = k;
	} else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		if ((k = *socket_context) == NULL)
			return;
		pthread_mutex_lock(&h->conns_lock);
		if (k->prev != NULL)
			k->prev->next = k->next;
		else
			h->head = k->next;
		if (k->next != NULL)
			k->next->prev = k->prev;
		if (!k->closing)
			atomic_fetch_sub(&h->conns, 1);
		pthread_mutex_unlock(&h->conns_lock);
		free(k);
		*socket_context = NULL;
	}
}

/*
 * Called by libmicrohttpd for each connection it accepts, before it counts it (and after its
 * per-address limit). With every slot taken, the connection whose deadline comes first makes
 * room, rather than the new one waiting in the listen queue behind connections that may never
 * finish a request.
 */
/* How long a new connection is spared by accept_policy while its request comes, in ms. */
#define UM_HTTP_GRACE_MS 500

static enum MHD_Result
accept_policy(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct um_http *h = cls;
	struct conn *k, *oldest = NULL;

	(void)addr;
	(void)addrlen;
	pthread_mutex_lock(&h->conns_lock);
	if (atomic_load(&h->conns) >= UM_HTTP_CONNECTION_LIMIT) {
		/*
		 * Which one goes: the oldest that has not sent a whole request and has had the
		 * time to (UM_HTTP_GRACE_MS); else the oldest without a whole request; else the
		 * oldest. A connection being answered (a probe), or one just accepted whose request
		 * is on its way, is not cycled out by a burst of slow connections, each shut one
		 * reconnecting at once.
		 */
		int64_t now = now_ms();
		int pass;

		for (pass = 0; pass < 3 && oldest == NULL; pass++)
			for (k = h->head; k != NULL; k = k->next) {
				if (k->closing || (pass < 2 && k->requested) ||
				    (pass < 1 && now - k->since_ms < UM_HTTP_GRACE_MS))
					continue;
				if (oldest == NULL || k->since_ms < oldest->since_ms)
					oldest = k;
			}
		if (oldest != NULL)
			shut(h, oldest);
	}
	pthread_mutex_unlock(&h->conns_lock);
	return MHD_YES;
}

/* Shuts down each connection at its deadline; sleeps until the next one. */
static void *
reaper(void *arg)
{
	struct um_http *h = arg;
	const int64_t limit = (int64_t)UM_HTTP_REQUEST_SECONDS * 1000;
	struct timespec until;
	struct conn *k;
	int64_t now, next;

	pthread_mutex_lock(&h->conns_lock);
	while (!h->stopping) {
		now = now_ms();
		next = now + REAPER_MAX_SLEEP_MS;
		for (k = h->head; k != NULL; k = k->next) {
			if (k->closing)
				continue;
			if (now - k->since_ms >= limit)
				shut(h, k);
			else if (k->since_ms + limit < next)
				next = k->since_ms + limit;
		}
		/* a connection that starts meanwhile has a later deadline than any here */
		until.tv_sec = (time_t)(next / 1000);
		until.tv_nsec = (long)(next % 1000) * 1000000;
		(void)pthread_cond_timedwait(&h->wake, &h->conns_lock, &until);
	}
	pthread_mutex_unlock(&h->conns_lock);
	return NULL;
}

/*
 * Adds the headers and queues `resp` (NULL: it could not be made, and libmicrohttpd closes the
 * connection). The response is released here either way.
 */
static enum MHD_Result
queue(struct MHD_Connection *c, unsigned status, const char *type, struct MHD_Response *resp,
      bool allow_get)
{
	enum MHD_Result ret = MHD_NO;

	if (resp == NULL)
		return MHD_NO;
	/* Health and metrics describe this instant: no cache may answer for us. */
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type) != MHD_YES ||
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES)
		goto out;
	/* RFC 9110 section 15.5.6: a 405 lists the methods the resource supports. */
	if (allow_get && MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET") != MHD_YES)
		goto out;
	ret = MHD_queue_response(c, status, resp);
out:
	MHD_destroy_response(resp);
	return ret;
}

/* A short text/plain answer; libmicrohttpd copies the text (its API takes it as non-const). */
static enum MHD_Result
respond(struct MHD_Connection *c, unsigned status, const char *text, bool allow_get)
{
	return queue(
	        c, status, TEXT_PLAIN,
	        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY),
	        allow_get);
}

static enum MHD_Result
healthz(struct um_http *h, struct MHD_Connection *c)
{
	char why[UM_METRICS_WHY_MAX + 1], body[UM_METRICS_WHY_MAX + 2];

	if (um_metrics_healthy(h->metrics, why, sizeof(why)))
		return respond(c, MHD_HTTP_OK, "ok\n", false);
	snprintf(body, sizeof(body), "%s\n", why);
	return respond(c, MHD_HTTP_SERVICE_UNAVAILABLE, body, false);
}

static enum MHD_Result
metrics(struct um_http *h, struct MHD_Connection *c)
{
	struct MHD_Response *resp;
	char *text = NULL, body[1200];

	if (um_metrics_render(h->metrics, time(NULL), &text) != UM_OK) {
		snprintf(body, sizeof(body), "cannot render the metrics: %s\n", um_errdetail());
		return respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR, body, false);
	}
	/* libmicrohttpd takes the text and free()s it with the response; not when it fails. */
	resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL)
		free(text);
	return queue(c, MHD_HTTP_OK, PROM_TEXT, resp, false);
}

/*
 * One call per request: every answer is decided from the request line, so it is queued on the
 * first call (headers read), and any body is never read.
 */
static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
       const char *version, const char *upload_data, size_t *upload_data_size, void **req_cls)
{
	struct um_http *h = cls;
	bool is_healthz = strcmp(url, "/healthz") == 0, is_metrics = strcmp(url, "/metrics") == 0;
	const union MHD_ConnectionInfo *info =
	        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn *k = info != NULL ? info->socket_context : NULL;

	if (k != NULL) {
		pthread_mutex_lock(&h->conns_lock);
		k->requested = true;
		pthread_mutex_unlock(&h->conns_lock);
	}
	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)req_cls;
	if (!is_healthz && !is_metrics)
		return respond(c, MHD_HTTP_NOT_FOUND, "not found\n", false);
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0)
		return respond(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n", true);
	return is_healthz ? healthz(h, c) : metrics(h, c);
}

/*
 * "a.b.c.d:port" or "[v6]:port", numeric only: the endpoint binds exactly the address written,
 * never whatever a name resolves to.
 */
static enum um_err
parse_listen(const char *listen, struct sockaddr_storage *ss, bool *v6, uint16_t *port_out)
{
	char host[ADDR_TEXTMAX];
	const char *h, *colon, *p;
	unsigned long port = 0;
	size_t hlen;

	memset(ss, 0, sizeof(*ss));
	*v6 = false;
	if (listen == NULL || *listen == '\0')
		return um_seterr(UM_ERR_CONFIG, "HTTP listen address is empty");
	if (listen[0] == '[') {
		h = listen + 1;
		if ((colon = strchr(h, ']')) == NULL || colon[1] != ':')
			return um_seterr(UM_ERR_CONFIG,
			                 "HTTP listen address \"%s\": write an IPv6 address as "
			                 "[address]:port",
			                 listen);
		hlen = (size_t)(colon - h);
		colon++;
		*v6 = true;
	} else {
		h = listen;
		if ((colon = strrchr(listen, ':')) == NULL)
			return um_seterr(UM_ERR_CONFIG,
			                 "HTTP listen address \"%s\": no port (write address:port)",
			                 listen);
		hlen = (size_t)(colon - h);
		if (memchr(h, ':', hlen) != NULL)
			return um_seterr(UM_ERR_CONFIG,
			                 "HTTP listen address \"%s\": write an IPv6 address in "
			                 "brackets, [address]:port",
			                 listen);
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return um_seterr(UM_ERR_CONFIG, "HTTP listen address \"%s\": no usable address",
		                 listen);
	memcpy(host, h, hlen);
	host[hlen] = '\0';

	p = colon + 1;
	if (*p == '\0' || strspn(p, "0123456789") != strlen(p) || strlen(p) > 5 ||
	    (port = strtoul(p, NULL, 10)) > 65535)
		return um_seterr(UM_ERR_CONFIG,
		                 "HTTP listen address \"%s\": the port must be a number from 0 to "
		                 "65535",
		                 listen);

	*port_out = (uint16_t)port;
	if (*v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return um_seterr(UM_ERR_CONFIG,
			                 "HTTP listen address \"%s\": \"%s\" is not a numeric IPv6 "
			                 "address",
			                 listen, host);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return um_seterr(UM_ERR_CONFIG,
			                 "HTTP listen address \"%s\": \"%s\" is not a numeric IPv4 "
			                 "address (an IPv6 address goes in brackets)",
			                 listen, host);
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
	}
	return UM_OK;
}

enum um_err
um_http_start(const char *listen, struct um_metrics *m, struct um_http **out)
{
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	struct um_http *h = NULL;
	pthread_condattr_t ca;
	enum um_err r = UM_ERR_INVAL;
	unsigned flags;
	uint16_t port = 0;
	bool v6, lock_made = false, conns_made = false;
	int saved, e;

	if (out == NULL)
		return um_seterr(UM_ERR_INVAL, "um_http_start: no out-parameter");
	*out = NULL;
	if (m == NULL) {
		r = um_seterr(UM_ERR_INVAL, "um_http_start: no metrics");
		goto out;
	}
	if ((r = parse_listen(listen, &ss, &v6, &port)) != UM_OK)
		goto out;
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		r = um_seterr(UM_ERR_NOMEM, "allocating the HTTP server");
		goto out;
	}
	h->metrics = m;
	atomic_init(&h->conns, 0);
	atomic_init(&h->peak, 0);
	if (pthread_mutex_init(&h->lock, NULL) != 0) {
		r = um_seterr(UM_ERR_NOMEM, "initialising the HTTP server lock");
		goto out;
	}
	lock_made = true;
	if (pthread_mutex_init(&h->conns_lock, NULL) != 0) {
		r = um_seterr(UM_ERR_NOMEM, "initialising the HTTP connection lock");
		goto out;
	}
	/* the reaper's sleep runs on the deadlines' clock, CLOCK_MONOTONIC */
	if ((e = pthread_condattr_init(&ca)) == 0) {
		if ((e = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)) == 0)
			e = pthread_cond_init(&h->wake, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (e != 0) {
		pthread_mutex_destroy(&h->conns_lock);
		r = um_seterr(UM_ERR_NOMEM, "initialising the HTTP deadline timer: %s",
		              strerror(e));
		goto out;
	}
	conns_made = true;
	h->starting = true;

	/* MHD_USE_AUTO picks epoll on Linux: no FD_SETSIZE ceiling on descriptor numbers. */
	flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	if (v6)
		flags |= MHD_USE_IPv6; /* the socket is AF_INET6 (and IPV6_V6ONLY) */
	errno = 0;
	h->daemon = MHD_start_daemon(
	        flags, port, accept_policy, h, handle, h,
	        /* First, so that complaints about the options below reach it too. */
	        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
	        /* Exactly the address written, not every address on `port`. */
	        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	        /* The limits of http.h: descriptors umd needs for SIP stay its own. */
	        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MHD_LIMIT,
	        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)UM_HTTP_PER_IP_LIMIT,
	        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)UM_HTTP_TIMEOUT_SECONDS,
	        /* Tracks each connection and its request's deadline. */
	        MHD_OPTION_NOTIFY_CONNECTION, notify, h, MHD_OPTION_END);
	saved = errno;
	pthread_mutex_lock(&h->lock);
	h->starting = false;
	pthread_mutex_unlock(&h->lock);
	if (h->daemon == NULL) {
		/* No thread runs once start failed: startlog is ours alone to read. */
		if (h->startlog[0] != '\0')
			r = um_seterr(UM_ERR_IO, "cannot serve HTTP on %s: %s", listen,
			              h->startlog);
		else if (saved != 0)
			r = um_seterr(UM_ERR_IO, "cannot serve HTTP on %s: %s", listen,
			              strerror(saved));
		else
			r = um_seterr(UM_ERR_IO,
			              "cannot serve HTTP on %s: libmicrohttpd gave no reason",
			              listen);
		goto out;
	}
	if ((e = pthread_create(&h->reaper, NULL, reaper, h)) != 0) {
		MHD_stop_daemon(h->daemon);
		r = um_seterr(UM_ERR_NOMEM, "cannot start the HTTP deadline thread: %s",
		              strerror(e));
		goto out;
	}
	info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info != NULL ? info->port : 0;
	*out = h;
	h = NULL;
	r = UM_OK;
out:
	if (h != NULL) {
		if (conns_made) {
			pthread_cond_destroy(&h->wake);
			pthread_mutex_destroy(&h->conns_lock);
		}
		if (lock_made)
			pthread_mutex_destroy(&h->lock);
		free(h);
	}
	return r;
}

void
um_http_stop(struct um_http *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->conns_lock);
	h->stopping = true;
	pthread_cond_signal(&h->wake);
	pthread_mutex_unlock(&h->conns_lock);
	pthread_join(h->reaper, NULL);
	/* closes every connection: each CLOSED notification frees its struct conn */
	MHD_stop_daemon(h->daemon);
	pthread_cond_destroy(&h->wake);
	pthread_mutex_destroy(&h->conns_lock);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

unsigned
um_http_port(const struct um_http *h)
{
	return h != NULL ? h->port : 0;
}

unsigned
um_http_connections(const struct um_http *h)
{
	return h != NULL ? atomic_load((atomic_uint *)&h->conns) : 0;
}

unsigned
um_http_connections_peak(const struct um_http *h)
{
	return h != NULL ? atomic_load((atomic_uint *)&h->peak) : 0;
}
