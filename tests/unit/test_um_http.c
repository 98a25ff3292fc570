/*
 * umd's HTTP endpoint (um/src/http.c), driven over real sockets on loopback: /healthz,
 * /metrics (checked line by line against the exposition format), 404, 405, listen errors, the
 * connection limits under 300 idle connections, and the request deadline under slow clients
 * (a trickle attack).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "metrics.h"
#include "testutil.h"

/* Only a bound on a test that has gone wrong; no assertion depends on how fast anything is. */
#define WAIT_SECONDS 120

struct reply {
	int status;
	char *head; /* status line and headers */
	char *body;
	size_t body_len;
};

static void
reply_free(struct reply *r)
{
	free(r->head);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* A TCP connection to dst:port (dst "127.0.0.1" or "::1"), from source address src (or any). */
static int
dial(const char *src, const char *dst, unsigned port)
{
	struct sockaddr_storage a, b;
	struct timeval tv = {.tv_sec = WAIT_SECONDS};
	bool v6 = strchr(dst, ':') != NULL;
	socklen_t len = v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	int fd;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	if (v6) {
		((struct sockaddr_in6 *)&a)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&a)->sin6_port = htons((uint16_t)port);
		CU_ASSERT_FATAL(inet_pton(AF_INET6, dst, &((struct sockaddr_in6 *)&a)->sin6_addr) ==
		                1);
	} else {
		((struct sockaddr_in *)&a)->sin_family = AF_INET;
		((struct sockaddr_in *)&a)->sin_port = htons((uint16_t)port);
		CU_ASSERT_FATAL(inet_pton(AF_INET, dst, &((struct sockaddr_in *)&a)->sin_addr) ==
		                1);
	}
	fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (src != NULL) {
		((struct sockaddr_in *)&b)->sin_family = AF_INET;
		CU_ASSERT_FATAL(inet_pton(AF_INET, src, &((struct sockaddr_in *)&b)->sin_addr) ==
		                1);
		CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&b, sizeof(struct sockaddr_in)) == 0);
	}
	if (connect(fd, (struct sockaddr *)&a, len) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Sends `request` as it is and reads the reply until the server closes (every request here says
 * "Connection: close"). Splits status, head and body; checks Content-Length against the body.
 * Returns false when the connection failed or closed with no reply.
 */
static bool
exchange(const char *src, const char *dst, unsigned port, const char *request, bool head_only,
         struct reply *r)
{
	char *buf = NULL, *sep, *cl;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd;

	memset(r, 0, sizeof(*r));
	if ((fd = dial(src, dst, port)) < 0)
		return false;
	if (send(fd, request, strlen(request), MSG_NOSIGNAL) != (ssize_t)strlen(request)) {
		close(fd);
		return false;
	}
	for (;;) {
		if (cap - len < 4096) {
			cap = cap * 2 + 8192;
			buf = realloc(buf, cap);
			CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (buf == NULL || len == 0) {
		free(buf);
		return false;
	}
	buf[len] = '\0';
	if ((sep = strstr(buf, "\r\n\r\n")) == NULL) {
		free(buf);
		return false;
	}
	*sep = '\0';
	r->head = strdup(buf);
	r->body_len = len - (size_t)(sep + 4 - buf);
	r->body = malloc(r->body_len + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r->head);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r->body);
	memcpy(r->body, sep + 4, r->body_len);
	r->body[r->body_len] = '\0';
	free(buf);
	CU_ASSERT_EQUAL(strncmp(r->head, "HTTP/1.1 ", 9), 0);
	r->status = atoi(r->head + 9);
	if (!head_only && (cl = strcasestr(r->head, "\r\nContent-Length:")) != NULL)
		CU_ASSERT_EQUAL(strtoul(cl + 17, NULL, 10), r->body_len);
	return true;
}

static bool
get(unsigned port, const char *path, struct reply *r)
{
	char req[256];

	snprintf(req, sizeof(req),
	         "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
	return exchange(NULL, "127.0.0.1", port, req, false, r);
}

/* The value of header `name` (case-insensitive), copied into out; false when absent. */
static bool
header(const struct reply *r, const char *name, char *out, size_t len)
{
	const char *p = r->head;
	size_t n = strlen(name);

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			p += n + 1;
			p += strspn(p, " \t");
			snprintf(out, len, "%.*s", (int)strcspn(p, "\r\n"), p);
			return true;
		}
	}
	return false;
}

static struct um_metrics *
fresh_metrics(void)
{
	struct um_metrics *m = NULL;

	CU_ASSERT_EQUAL_FATAL(um_metrics_new(&m), UM_OK);
	return m;
}

static struct um_http *
serve(const char *listen, struct um_metrics *m)
{
	struct um_http *h = NULL;
	enum um_err r = um_http_start(listen, m, &h);

	if (r != UM_OK)
		fprintf(stderr, "um_http_start(%s): %s: %s\n", listen, um_strerror(r),
		        um_errdetail());
	CU_ASSERT_EQUAL_FATAL(r, UM_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_FATAL(um_http_port(h) > 0);
	return h;
}

/*
 * The exposition format 0.0.4, parsed as a scraper would: # HELP and # TYPE lines, samples with
 * escaped label values. Any deviation fails the test.
 */
#define MAX_SERIES 128
#define MAX_LABELS 4

struct series {
	char name[128];
	size_t nlabels;
	char key[MAX_LABELS][64];
	char value_of[MAX_LABELS][256]; /* unescaped */
	double value;
};

struct exposition {
	size_t n;
	struct series s[MAX_SERIES];
};

static bool
is_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || !(s[0] == '_' || s[0] == ':' || (s[0] >= 'a' && s[0] <= 'z') ||
	                (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	for (i = 1; i < n; i++) {
		if (!(s[i] == '_' || s[i] == ':' || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	}
	return true;
}

/* Parses one sample line into s; false (with a message) when it is malformed. */
static bool
parse_sample(const char *line, struct series *s)
{
	const char *p = line, *q;
	size_t n = strcspn(p, "{ "), o;
	char *end;

	memset(s, 0, sizeof(*s));
	if (!is_name(p, n) || n >= sizeof(s->name))
		return false;
	memcpy(s->name, p, n);
	p += n;
	if (*p == '{') {
		p++;
		while (*p != '}') {
			if (s->nlabels == MAX_LABELS)
				return false;
			q = strchr(p, '=');
			if (q == NULL || !is_name(p, (size_t)(q - p)) || q[1] != '"' ||
			    (size_t)(q - p) >= sizeof(s->key[0]))
				return false;
			memcpy(s->key[s->nlabels], p, (size_t)(q - p));
			/* A value: any characters but \ " and newline, which come escaped. */
			for (p = q + 2, o = 0; *p != '"'; p++) {
				if (*p == '\0' || *p == '\n' || o + 1 >= sizeof(s->value_of[0]))
					return false;
				if (*p == '\\') {
					p++;
					if (*p == 'n')
						s->value_of[s->nlabels][o++] = '\n';
					else if (*p == '\\' || *p == '"')
						s->value_of[s->nlabels][o++] = *p;
					else
						return false;
				} else {
					s->value_of[s->nlabels][o++] = *p;
				}
			}
			s->nlabels++;
			p++;
			if (*p == ',')
				p++;
			else if (*p != '}')
				return false;
		}
		p++;
	}
	if (*p != ' ')
		return false;
	p++;
	errno = 0;
	s->value = strtod(p, &end);
	/* No timestamp: the value ends the line. */
	return end != p && *end == '\0' && errno == 0;
}

static void
parse_exposition(const char *text, struct exposition *e)
{
	char *copy = strdup(text), *line, *next, typed[128] = "", helped[128] = "";
	char seen_types[64][128];
	size_t nseen = 0, i, n;
	bool ok;

	CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
	e->n = 0;
	CU_ASSERT(strlen(text) > 0 && text[strlen(text) - 1] == '\n');
	for (line = copy; *line != '\0'; line = next) {
		next = strchr(line, '\n');
		CU_ASSERT_PTR_NOT_NULL_FATAL(next);
		*next++ = '\0';
		ok = true;
		if (strncmp(line, "# HELP ", 7) == 0) {
			n = strcspn(line + 7, " ");
			ok = is_name(line + 7, n) && line[7 + n] == ' ' && n < sizeof(helped);
			if (ok)
				snprintf(helped, sizeof(helped), "%.*s", (int)n, line + 7);
		} else if (strncmp(line, "# TYPE ", 7) == 0) {
			n = strcspn(line + 7, " ");
			ok = is_name(line + 7, n) && n < sizeof(typed) &&
			     (strcmp(line + 7 + n, " counter") == 0 ||
			      strcmp(line + 7 + n, " gauge") == 0);
			if (ok)
				snprintf(typed, sizeof(typed), "%.*s", (int)n, line + 7);
			/* One TYPE line per name, after its HELP. */
			ok = ok && strcmp(typed, helped) == 0;
			for (i = 0; ok && i < nseen; i++)
				ok = strcmp(seen_types[i], typed) != 0;
			if (ok && nseen < 64)
				snprintf(seen_types[nseen++], sizeof(seen_types[0]), "%s", typed);
		} else if (line[0] == '#' || line[0] == '\0') {
			ok = false; /* we write no other comments and no blank lines */
		} else {
			CU_ASSERT_FATAL(e->n < MAX_SERIES);
			ok = parse_sample(line, &e->s[e->n]);
			/* Every sample belongs to the family whose # TYPE came last. */
			ok = ok && strcmp(e->s[e->n].name, typed) == 0;
			if (ok)
				e->n++;
		}
		CU_ASSERT(ok);
		if (!ok)
			fprintf(stderr, "bad exposition line: \"%s\"\n", line);
	}
	free(copy);
}

/* The value of a series, by name and (optionally) one label; -1e9 when absent. */
static double
value(const struct exposition *e, const char *name, const char *key, const char *val)
{
	size_t i, j;

	for (i = 0; i < e->n; i++) {
		if (strcmp(e->s[i].name, name) != 0)
			continue;
		if (key == NULL && e->s[i].nlabels == 0)
			return e->s[i].value;
		for (j = 0; key != NULL && j < e->s[i].nlabels; j++) {
			if (strcmp(e->s[i].key[j], key) == 0 &&
			    strcmp(e->s[i].value_of[j], val) == 0)
				return e->s[i].value;
		}
	}
	return -1e9;
}

static void
scrape(unsigned port, struct exposition *e)
{
	struct reply r;
	char type[128];

	CU_ASSERT_FATAL(get(port, "/metrics", &r));
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_FATAL(header(&r, "Content-Type", type, sizeof(type)));
	CU_ASSERT_EQUAL(strncmp(type, "text/plain; version=0.0.4", 25), 0);
	parse_exposition(r.body, e);
	reply_free(&r);
}

static void
test_healthz(void)
{
	struct um_metrics *m = fresh_metrics();
	struct um_http *h = serve("127.0.0.1:0", m);
	struct reply r;
	char type[128];

	/* Before umd says it is up: 503 with the reason. */
	CU_ASSERT_FATAL(get(um_http_port(h), "/healthz", &r));
	CU_ASSERT_EQUAL(r.status, 503);
	CU_ASSERT_STRING_EQUAL(r.body, "starting\n");
	reply_free(&r);

	um_metrics_set_healthy(m, true, NULL);
	CU_ASSERT_FATAL(get(um_http_port(h), "/healthz", &r));
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(r.body, "ok\n");
	CU_ASSERT(header(&r, "Content-Type", type, sizeof(type)) &&
	          strncmp(type, "text/plain", 10) == 0);
	CU_ASSERT(header(&r, "Cache-Control", type, sizeof(type)) && strcmp(type, "no-store") == 0);
	reply_free(&r);

	um_metrics_set_healthy(m, false, "certificate store unreadable: /var/lib/umedge/store");
	CU_ASSERT_FATAL(get(um_http_port(h), "/healthz", &r));
	CU_ASSERT_EQUAL(r.status, 503);
	CU_ASSERT_STRING_EQUAL(r.body, "certificate store unreadable: /var/lib/umedge/store\n");
	reply_free(&r);

	/* One request per connection, even when the client would keep it (the request deadline
	 * counts from the accept, http.h). */
	CU_ASSERT_FATAL(exchange(NULL, "127.0.0.1", um_http_port(h),
	                         "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", false, &r));
	CU_ASSERT_EQUAL(r.status, 503);
	CU_ASSERT(header(&r, "Connection", type, sizeof(type)) && strcasecmp(type, "close") == 0);
	reply_free(&r);

	/* A query string does not change the resource. */
	um_metrics_set_healthy(m, true, NULL);
	CU_ASSERT_FATAL(get(um_http_port(h), "/healthz?verbose=1", &r));
	CU_ASSERT_EQUAL(r.status, 200);
	reply_free(&r);

	um_http_stop(h);
	um_metrics_free(m);
}

static void
test_metrics(void)
{
	static const char odd[] = "AB\\CD\"EF\nGH";
	struct um_metrics *m = fresh_metrics();
	struct um_http *h = serve("127.0.0.1:0", m);
	struct exposition *e = calloc(1, sizeof(*e));
	time_t not_after = time(NULL) + 20 * 86400 + 3600;
	double days;

	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	scrape(um_http_port(h), e);
	CU_ASSERT(e->n > 20);
	CU_ASSERT_EQUAL(value(e, "umd_up", NULL, NULL), 0);
	CU_ASSERT_EQUAL(value(e, "umd_sip_requests_total", "method", "INVITE"), 0);
	CU_ASSERT_EQUAL(value(e, "umd_tls_handshakes_total", NULL, NULL), 0);

	/* Counters move with the calls the SIP thread makes. */
	um_metrics_set_healthy(m, true, NULL);
	um_metrics_handshake_ok(m);
	um_metrics_handshake_failed(m, UM_FAIL_CERTIFICATE);
	um_metrics_request(m, "INVITE");
	um_metrics_request(m, "INVITE");
	um_metrics_request(m, "SUBSCRIBE");
	um_metrics_response(m, 488);
	um_metrics_conn(m, 3);
	um_metrics_dialogs(m, 1);
	/* A label value with every character the format escapes survives the round trip. */
	CU_ASSERT_EQUAL(um_metrics_set_cert(m, "UM", odd, not_after), UM_OK);
	scrape(um_http_port(h), e);
	CU_ASSERT_EQUAL(value(e, "umd_up", NULL, NULL), 1);
	CU_ASSERT_EQUAL(value(e, "umd_tls_handshakes_total", NULL, NULL), 1);
	CU_ASSERT_EQUAL(value(e, "umd_tls_handshake_failures_total", "reason", "certificate"), 1);
	CU_ASSERT_EQUAL(value(e, "umd_tls_handshake_failures_total", "reason", "protocol"), 0);
	CU_ASSERT_EQUAL(value(e, "umd_sip_requests_total", "method", "INVITE"), 2);
	CU_ASSERT_EQUAL(value(e, "umd_sip_requests_total", "method", "other"), 1);
	CU_ASSERT_EQUAL(value(e, "umd_sip_responses_total", "class", "4xx"), 1);
	CU_ASSERT_EQUAL(value(e, "umd_open_connections", NULL, NULL), 3);
	CU_ASSERT_EQUAL(value(e, "umd_active_dialogs", NULL, NULL), 1);
	CU_ASSERT_EQUAL(value(e, "umd_certificate_not_after_seconds", "thumbprint", odd),
	                (double)not_after);
	CU_ASSERT_EQUAL(value(e, "umd_certificate_not_after_seconds", "service", "UM"),
	                (double)not_after);
	/* 20 days and an hour ahead: 20 or 21 UTC calendar days, depending on the hour now. */
	days = value(e, "umd_certificate_days_left", "thumbprint", odd);
	CU_ASSERT(days == 20 || days == 21);

	um_metrics_request(m, "INVITE");
	scrape(um_http_port(h), e);
	CU_ASSERT_EQUAL(value(e, "umd_sip_requests_total", "method", "INVITE"), 3);

	free(e);
	um_http_stop(h);
	um_metrics_free(m);
}

static void
test_not_found(void)
{
	static const char *const paths[] = {"/",         "/nope",    "/healthz/",
	                                    "/metricsx", "/HEALTHZ", "/healthz/../metrics"};
	struct um_metrics *m = fresh_metrics();
	struct um_http *h = serve("127.0.0.1:0", m);
	struct reply r;
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		CU_ASSERT_FATAL(get(um_http_port(h), paths[i], &r));
		CU_ASSERT_EQUAL(r.status, 404);
		reply_free(&r);
	}
	um_http_stop(h);
	um_metrics_free(m);
}

static void
test_method_not_allowed(void)
{
	struct um_metrics *m = fresh_metrics();
	struct um_http *h = serve("127.0.0.1:0", m);
	unsigned port = um_http_port(h);
	struct reply r;
	char allow[64];

	/* A POST with a body: refused without reading it. */
	CU_ASSERT_FATAL(
	        exchange(NULL, "127.0.0.1", port,
	                 "POST /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
	                 "Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
	                 false, &r));
	CU_ASSERT_EQUAL(r.status, 405);
	CU_ASSERT(header(&r, "Allow", allow, sizeof(allow)) && strcmp(allow, "GET") == 0);
	reply_free(&r);

	CU_ASSERT_FATAL(exchange(NULL, "127.0.0.1", port,
	                         "DELETE /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	                         false, &r));
	CU_ASSERT_EQUAL(r.status, 405);
	CU_ASSERT(header(&r, "Allow", allow, sizeof(allow)) && strcmp(allow, "GET") == 0);
	reply_free(&r);

	CU_ASSERT_FATAL(exchange(NULL, "127.0.0.1", port,
	                         "HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	                         true, &r));
	CU_ASSERT_EQUAL(r.status, 405);
	CU_ASSERT_EQUAL(r.body_len, 0);
	reply_free(&r);

	/* An unknown path is 404 whatever the method. */
	CU_ASSERT_FATAL(exchange(NULL, "127.0.0.1", port,
	                         "POST /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	                         "Content-Length: 0\r\n\r\n",
	                         false, &r));
	CU_ASSERT_EQUAL(r.status, 404);
	reply_free(&r);

	/* Still serving after all that. */
	CU_ASSERT_FATAL(get(port, "/metrics", &r));
	CU_ASSERT_EQUAL(r.status, 200);
	reply_free(&r);
	um_http_stop(h);
	um_metrics_free(m);
}

static void
test_bad_listen(void)
{
	static const char *const bad[] = {
	        "",
	        "127.0.0.1",
	        "127.0.0.1:",
	        ":9561",
	        "127.0.0.1:65536",
	        "127.0.0.1:123456",
	        "127.0.0.1:95a1",
	        "127.0.0.1:-1",
	        "127.0.0.1: 9561",
	        "localhost:9561",
	        "999.0.0.1:9561",
	        "127.1:9561",
	        "::1:9561",
	        "[::1]9561",
	        "[::1",
	        "[127.0.0.1]:9561",
	        "[]:9561",
	        "[::1]:",
	};
	static char sentinel; /* what *out holds before the call: it must come back NULL */
	struct um_metrics *m = fresh_metrics();
	struct um_http *h;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		h = (struct um_http *)&sentinel;
		CU_ASSERT_EQUAL(um_http_start(bad[i], m, &h), UM_ERR_CONFIG);
		CU_ASSERT_PTR_NULL(h);
		/* The message names what was written. */
		CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), bad[i]));
		if (strstr(um_errdetail(), bad[i]) == NULL)
			fprintf(stderr, "\"%s\": %s\n", bad[i], um_errdetail());
	}
	CU_ASSERT_EQUAL(um_http_start(NULL, m, &h), UM_ERR_CONFIG);
	CU_ASSERT_PTR_NULL(h);
	CU_ASSERT_EQUAL(um_http_start("127.0.0.1:0", NULL, &h), UM_ERR_INVAL);
	CU_ASSERT_PTR_NULL(h);
	CU_ASSERT_EQUAL(um_http_start("127.0.0.1:0", m, NULL), UM_ERR_INVAL);
	um_http_stop(NULL);
	CU_ASSERT_EQUAL(um_http_port(NULL), 0);
	um_metrics_free(m);
}

/* A second server on a port in use, or on an address this host does not have, says why. */
static void
test_bind_errors(void)
{
	struct um_metrics *m = fresh_metrics();
	struct um_http *h = serve("127.0.0.1:0", m), *h2 = NULL;
	char listen[64];
	struct reply r;

	snprintf(listen, sizeof(listen), "127.0.0.1:%u", um_http_port(h));
	CU_ASSERT_EQUAL(um_http_start(listen, m, &h2), UM_ERR_IO);
	CU_ASSERT_PTR_NULL(h2);
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), listen));
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), strerror(EADDRINUSE)));
	fprintf(stderr, "  (port in use: %s) ", um_errdetail());
	/* The first server is unharmed. */
	CU_ASSERT_FATAL(get(um_http_port(h), "/metrics", &r));
	CU_ASSERT_EQUAL(r.status, 200);
	reply_free(&r);

	/* 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never this host's. */
	CU_ASSERT_EQUAL(um_http_start("192.0.2.1:9561", m, &h2), UM_ERR_IO);
	CU_ASSERT_PTR_NULL(h2);
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), "192.0.2.1:9561"));
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), strerror(EADDRNOTAVAIL)));

	um_http_stop(h);
	/* Once stopped the port is free again (SO_REUSEADDR: no wait for TIME_WAIT). */
	CU_ASSERT_EQUAL(um_http_start(listen, m, &h2), UM_OK);
	um_http_stop(h2);
	um_metrics_free(m);
}

/* It listens on the address written and no other. */
static void
test_exact_address(void)
{
	struct um_metrics *m = fresh_metrics();
	struct um_http *h = serve("127.0.0.1:0", m);
	struct reply r;
	int fd;

	fd = dial(NULL, "127.0.0.2", um_http_port(h));
	CU_ASSERT_EQUAL(fd, -1);
	if (fd >= 0)
		close(fd);
	fd = dial(NULL, "::1", um_http_port(h));
	CU_ASSERT_EQUAL(fd, -1);
	if (fd >= 0)
		close(fd);
	um_http_stop(h);

	/* IPv6, in brackets, IPV6_V6ONLY: not reachable over IPv4. */
	h = serve("[::1]:0", m);
	um_metrics_set_healthy(m, true, NULL);
	CU_ASSERT_FATAL(exchange(
	        NULL, "::1", um_http_port(h),
	        "GET /healthz HTTP/1.1\r\nHost: [::1]\r\nConnection: close\r\n\r\n", false, &r));
	CU_ASSERT_EQUAL(r.status, 200);
	reply_free(&r);
	fd = dial(NULL, "127.0.0.1", um_http_port(h));
	CU_ASSERT_EQUAL(fd, -1);
	if (fd >= 0)
		close(fd);
	um_http_stop(h);
	um_metrics_free(m);
}

/* Opens n idle connections from `src` (each connect succeeds: the kernel queues it). */
static void
open_idle(int *fds, size_t n, const char *src, unsigned port)
{
	size_t i;

	for (i = 0; i < n; i++) {
		fds[i] = dial(src, "127.0.0.1", port);
		CU_ASSERT_FATAL(fds[i] >= 0);
	}
}

/*
 * Waits until at least `want` of the connections have been closed by the server (read gives
 * EOF or a reset); closed ones get -1. Returns how many are closed.
 */
static size_t
wait_closed(int *fds, size_t n, size_t want)
{
	struct pollfd *p = calloc(n, sizeof(*p));
	time_t deadline = time(NULL) + WAIT_SECONDS;
	size_t closed = 0, i;
	char c;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	for (i = 0; i < n; i++)
		closed += fds[i] < 0;
	while (closed < want && time(NULL) < deadline) {
		for (i = 0; i < n; i++) {
			p[i].fd = fds[i];
			p[i].events = POLLIN;
		}
		if (poll(p, n, 1000) <= 0)
			continue;
		for (i = 0; i < n; i++) {
			if (fds[i] < 0 || p[i].revents == 0)
				continue;
			if (recv(fds[i], &c, 1, MSG_DONTWAIT) <= 0) {
				close(fds[i]);
				fds[i] = -1;
				closed++;
			}
		}
	}
	free(p);
	return closed;
}

static void
close_all(int *fds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

/*
 * 300 idle connections from one address: it keeps UM_HTTP_PER_IP_LIMIT of them and closes the
 * rest at once; /healthz from another address is answered meanwhile; the idle ones it kept are
 * closed for idleness, after which the first address is served again.
 */
#define IDLE 300

static void
test_idle_one_address(void)
{
	struct um_metrics *m = fresh_metrics();
	struct um_http *h = serve("127.0.0.1:0", m);
	unsigned port = um_http_port(h);
	int fds[IDLE], i;
	struct reply r;
	bool ok = false;

	um_metrics_set_healthy(m, true, NULL);
	open_idle(fds, IDLE, "127.0.0.1", port);
	/* Those over the per-address limit are refused (accepted and closed), not queued. */
	CU_ASSERT_EQUAL(wait_closed(fds, IDLE, IDLE - UM_HTTP_PER_IP_LIMIT),
	                IDLE - UM_HTTP_PER_IP_LIMIT);
	CU_ASSERT(um_http_connections_peak(h) <= UM_HTTP_PER_IP_LIMIT);

	/* Another client is served while the idle ones hold their slots. */
	CU_ASSERT_FATAL(exchange("127.0.0.2", "127.0.0.1", port,
	                         "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	                         false, &r));
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(r.body, "ok\n");
	reply_free(&r);

	/* Idle connections do not keep their slots: the server closes every one. */
	CU_ASSERT_EQUAL(wait_closed(fds, IDLE, IDLE), IDLE);
	/* At most: the idle ones it kept, and the other address's request. */
	CU_ASSERT(um_http_connections_peak(h) <= UM_HTTP_PER_IP_LIMIT + 1);
	/*
	 * The client sees a close before libmicrohttpd's thread gives the address's slot back: on a
	 * loaded machine the first request may still find the address at its limit (and be
	 * closed). It is served within a few tries.
	 */
	for (i = 0; i < 50 && !(ok = get(port, "/healthz", &r)); i++)
		usleep(100 * 1000);
	CU_ASSERT_FATAL(ok);
	CU_ASSERT_EQUAL(r.status, 200);
	reply_free(&r);
	close_all(fds, IDLE);
	um_http_stop(h);
	um_metrics_free(m);
}

/*
 * Idle connections from many addresses: it never holds more than UM_HTTP_CONNECTION_LIMIT; a
 * /healthz that arrives while it is full is answered at once (the oldest connection makes room),
 * not once the idle ones have been closed.
 */
#define SOURCES (UM_HTTP_CONNECTION_LIMIT / UM_HTTP_PER_IP_LIMIT + 1)

static void
test_idle_total_limit(void)
{
	struct um_metrics *m = fresh_metrics();
	struct um_http *h = serve("127.0.0.1:0", m);
	unsigned port = um_http_port(h);
	int fds[SOURCES * UM_HTTP_PER_IP_LIMIT];
	time_t deadline = time(NULL) + WAIT_SECONDS;
	char src[32];
	struct reply r;
	size_t i;

	um_metrics_set_healthy(m, true, NULL);
	for (i = 0; i < SOURCES; i++) {
		snprintf(src, sizeof(src), "127.0.1.%zu", i + 1);
		open_idle(fds + i * UM_HTTP_PER_IP_LIMIT, UM_HTTP_PER_IP_LIMIT, src, port);
	}
	while (um_http_connections(h) < UM_HTTP_CONNECTION_LIMIT && time(NULL) < deadline)
		usleep(10000);
	CU_ASSERT_EQUAL(um_http_connections(h), UM_HTTP_CONNECTION_LIMIT);

	/* Those past the limit made room as they came: the first ones opened were closed. */
	CU_ASSERT(wait_closed(fds, UM_HTTP_PER_IP_LIMIT, 1) >= 1);
	CU_ASSERT_FATAL(exchange("127.0.2.1", "127.0.0.1", port,
	                         "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	                         false, &r));
	CU_ASSERT_EQUAL(r.status, 200);
	reply_free(&r);
	CU_ASSERT(um_http_connections_peak(h) <= UM_HTTP_CONNECTION_LIMIT);
	close_all(fds, sizeof(fds) / sizeof(fds[0]));
	um_http_stop(h);
	um_metrics_free(m);
}

/*
 * Slow clients: connections that never finish their request but are never idle either, each
 * sending a header line every second. An inactivity timeout never closes them; the request's
 * deadline does.
 */
#define TRICKLE_SECONDS 60 /* how long the trickle lasts at most: past every deadline */

struct trickle {
	pthread_t thread;
	pthread_mutex_t lock;
	bool stop;
	int *fds;
	size_t n;
	size_t reconnects; /* reopen what the server closes, from the same address */
	unsigned port;
	char (*src)[32];
};

/* Opens connection i and sends a request line, never its end. */
static void
trickle_open(struct trickle *t, size_t i)
{
	static const char line[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n";

	t->fds[i] = dial(t->src[i], "127.0.0.1", t->port);
	if (t->fds[i] >= 0 && send(t->fds[i], line, sizeof(line) - 1, MSG_NOSIGNAL) < 0) {
		close(t->fds[i]);
		t->fds[i] = -1;
	}
}

static void *
trickle_run(void *arg)
{
	struct trickle *t = arg;
	time_t end = time(NULL) + TRICKLE_SECONDS;
	unsigned tick = 0;
	char hdr[64], c;
	size_t i;
	bool stop = false;

	while (!stop && time(NULL) < end) {
		tick++;
		for (i = 0; i < t->n; i++) {
			/* a connection the server closed: reopened, as an attacker would */
			if (t->fds[i] >= 0 && recv(t->fds[i], &c, 1, MSG_DONTWAIT) == 0) {
				close(t->fds[i]);
				t->fds[i] = -1;
			}
			if (t->fds[i] < 0) {
				pthread_mutex_lock(&t->lock);
				t->reconnects++;
				pthread_mutex_unlock(&t->lock);
				trickle_open(t, i);
				continue;
			}
			snprintf(hdr, sizeof(hdr), "X-Trickle-%u: %u\r\n", tick, tick);
			if (send(t->fds[i], hdr, strlen(hdr), MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
			    errno != EAGAIN) {
				close(t->fds[i]);
				t->fds[i] = -1;
			}
		}
		usleep(1000 * 1000);
		pthread_mutex_lock(&t->lock);
		stop = t->stop;
		pthread_mutex_unlock(&t->lock);
	}
	return NULL;
}

/* `nsrc` addresses 127.0.3.1... with `per` connections each. */
static void
trickle_start(struct trickle *t, unsigned port, size_t nsrc, size_t per)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	t->n = nsrc * per;
	t->port = port;
	t->fds = calloc(t->n, sizeof(*t->fds));
	t->src = calloc(t->n, sizeof(*t->src));
	CU_ASSERT_PTR_NOT_NULL_FATAL(t->fds);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t->src);
	CU_ASSERT_FATAL(pthread_mutex_init(&t->lock, NULL) == 0);
	for (i = 0; i < t->n; i++) {
		snprintf(t->src[i], sizeof(t->src[i]), "127.0.3.%zu", i / per + 1);
		trickle_open(t, i);
	}
	CU_ASSERT_FATAL(pthread_create(&t->thread, NULL, trickle_run, t) == 0);
}

/* Stops it; returns how many connections it had to reopen. */
static size_t
trickle_stop(struct trickle *t)
{
	size_t reconnects;

	pthread_mutex_lock(&t->lock);
	t->stop = true;
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->thread, NULL);
	reconnects = t->reconnects;
	close_all(t->fds, t->n);
	pthread_mutex_destroy(&t->lock);
	free(t->fds);
	free(t->src);
	return reconnects;
}

/* One slow client alone: closed by the deadline, though it sends something every second. */
static void
test_trickle_deadline(void)
{
	struct um_metrics *m = fresh_metrics();
	struct um_http *h = serve("127.0.0.1:0", m);
	struct trickle t;
	time_t end;
	size_t reconnects = 0;

	trickle_start(&t, um_http_port(h), 1, 1);
	/* the trickler reopens what the server closes: waiting for one reopening is enough */
	for (end = time(NULL) + TRICKLE_SECONDS; time(NULL) < end && reconnects == 0;) {
		usleep(200 * 1000);
		pthread_mutex_lock(&t.lock);
		reconnects = t.reconnects;
		pthread_mutex_unlock(&t.lock);
	}
	CU_ASSERT(trickle_stop(&t) >= 1);
	um_http_stop(h);
	um_metrics_free(m);
}

/*
 * The trickle attack: 25 addresses x 8 connections, each sending a header line every second (and
 * reopened when closed), more than the endpoint has slots. /healthz from another address is
 * answered while it lasts. Before the deadline and the room-making on accept, the probe waited
 * in the listen queue for as long as the attack went on; its bound here (30 s, half of the
 * attack) only keeps a failing run short.
 */
#define ATTACK_SOURCES 25

static void
test_trickle_attack(void)
{
	struct um_metrics *m = fresh_metrics();
	struct um_http *h = serve("127.0.0.1:0", m);
	unsigned port = um_http_port(h);
	struct timeval tv = {.tv_sec = 30};
	struct trickle t;
	struct reply r;
	const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	char buf[4096];
	size_t len = 0, i;
	ssize_t n;
	int fd;

	um_metrics_set_healthy(m, true, NULL);
	trickle_start(&t, port, ATTACK_SOURCES, UM_HTTP_PER_IP_LIMIT);
	/* the slots are all taken before the probe comes */
	for (i = 0; i < 500 && um_http_connections(h) < UM_HTTP_CONNECTION_LIMIT; i++)
		usleep(10 * 1000);
	CU_ASSERT_EQUAL(um_http_connections(h), UM_HTTP_CONNECTION_LIMIT);
	for (i = 0; i < 3; i++) {
		fd = dial("127.0.2.1", "127.0.0.1", port);
		CU_ASSERT_FATAL(fd >= 0);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		CU_ASSERT_FATAL(send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) ==
		                (ssize_t)(sizeof(req) - 1));
		for (len = 0; len < sizeof(buf) - 1 &&
		              (n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0)) > 0;)
			len += (size_t)n;
		buf[len] = '\0';
		close(fd);
		CU_ASSERT(strncmp(buf, "HTTP/1.1 200 ", 13) == 0 && strstr(buf, "\r\n\r\nok\n"));
		if (strncmp(buf, "HTTP/1.1 200 ", 13) != 0)
			fprintf(stderr, "probe %zu during the attack: \"%.60s\"\n", i, buf);
		usleep(1000 * 1000);
	}
	CU_ASSERT(um_http_connections_peak(h) <= UM_HTTP_CONNECTION_LIMIT);
	trickle_stop(&t);
	/* and afterwards, of course */
	CU_ASSERT_FATAL(get(port, "/healthz", &r));
	CU_ASSERT_EQUAL(r.status, 200);
	reply_free(&r);
	um_http_stop(h);
	um_metrics_free(m);
}

static CU_TestInfo tests[] = {
        {"GET /healthz: 503 with the reason, then 200 ok", test_healthz},
        {"GET /metrics parses and its counters move", test_metrics},
        {"other paths: 404", test_not_found},
        {"other methods: 405 with Allow: GET", test_method_not_allowed},
        {"malformed listen addresses refused with the reason", test_bad_listen},
        {"port in use, address not here: the system's reason", test_bind_errors},
        {"bound to exactly the address written (IPv4, IPv6)", test_exact_address},
        {"300 idle connections from one address", test_idle_one_address},
        {"idle connections from many addresses: the total limit", test_idle_total_limit},
        {"a slow request is closed at its deadline, though never idle", test_trickle_deadline},
        {"25 x 8 slow connections: /healthz still answered", test_trickle_attack},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("um_http", tests);
}
