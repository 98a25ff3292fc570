/*
 * umd's small HTTP endpoint (libmicrohttpd, its own thread): GET /healthz and GET /metrics.
 *
 *   GET /healthz  200 "ok\n" when um_metrics_healthy(), else 503 with the reason
 *   GET /metrics  200 text/plain; version=0.0.4, um_metrics_render() at the time of the request
 *   other paths   404;  other methods on those two paths: 405 with "Allow: GET"
 *
 * It must not become a way to starve umd, whose file descriptors serve SIP: it holds at most
 * UM_HTTP_CONNECTION_LIMIT connections, at most UM_HTTP_PER_IP_LIMIT from one client address
 * (further connections from that address are accepted and closed at once, so they do not queue
 * in front of other clients).
 *
 * Nor may slow clients starve it, for /healthz is the orchestrator's liveness probe (a trickle
 * attack: 25 addresses x 8 connections, each sending a header line every 4 s, kept it unreachable,
 * for an inactivity timeout never fired). So:
 *
 *   - each request has an absolute deadline: a connection (which carries one request: every
 *     answer says "Connection: close") is closed UM_HTTP_REQUEST_SECONDS after it was
 *     accepted, whatever it sends meanwhile (as HAProxy's "timeout http-request" and Apache's
 *     mod_reqtimeout do);
 *   - when all UM_HTTP_CONNECTION_LIMIT slots are taken, a new connection is not left in the
 *     listen queue behind them: the connection whose deadline comes first (the oldest) is
 *     closed to make room. A probe sends its whole request at once and is answered as soon as it
 *     is accepted; to keep it out, a client would have to open connections faster than the
 *     endpoint serves one request.
 *
 * UM_HTTP_TIMEOUT_SECONDS, libmicrohttpd's inactivity timeout, stays as a second line.
 */
#ifndef UM_HTTP_H
#define UM_HTTP_H

#include "error.h"
#include "metrics.h"

#define UM_HTTP_CONNECTION_LIMIT 64
#define UM_HTTP_PER_IP_LIMIT     8
#define UM_HTTP_REQUEST_SECONDS  5
#define UM_HTTP_TIMEOUT_SECONDS  10

struct um_http;

/*
 * Serves on exactly the address `listen` names: "127.0.0.1:9561" or "[::1]:9561" (a numeric
 * IPv4 address, or an IPv6 address in brackets, then a port; port 0 takes any free port, which
 * um_http_port() tells). `m` is borrowed and must outlive the server. On success *out is owned,
 * released with um_http_stop(). A malformed `listen` fails with UM_ERR_CONFIG; an address that
 * cannot be bound (in use, not on this host) with UM_ERR_IO; um_errdetail() names the address
 * and the system's reason.
 */
enum um_err um_http_start(const char *listen, struct um_metrics *m, struct um_http **out) UM_WUR;

/* Stops serving (closes every connection, joins the thread) and frees h. NULL is a no-op. */
void um_http_stop(struct um_http *h);

/* The port it listens on (the one chosen when `listen` said port 0). */
unsigned um_http_port(const struct um_http *h);

/*
 * Connections it holds now, and the most it ever held at once, not counting those it has
 * already decided to close (deadline passed, or made room for a newer one) and that
 * libmicrohttpd has not let go yet (tests, diagnostics).
 */
unsigned um_http_connections(const struct um_http *h);
unsigned um_http_connections_peak(const struct um_http *h);

#endif
