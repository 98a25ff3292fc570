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
 * in front of other clients), and closes a connection idle for UM_HTTP_TIMEOUT_SECONDS (so
 * whoever holds the slots without asking anything loses them). While the total limit is reached
 * new connections wait in the kernel's listen queue until a slot frees.
 */
#ifndef UM_HTTP_H
#define UM_HTTP_H

#include "error.h"
#include "metrics.h"

#define UM_HTTP_CONNECTION_LIMIT 64
#define UM_HTTP_PER_IP_LIMIT     8
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

/* Connections it holds now, and the most it ever held at once (tests, diagnostics). */
unsigned um_http_connections(const struct um_http *h);
unsigned um_http_connections_peak(const struct um_http *h);

#endif
