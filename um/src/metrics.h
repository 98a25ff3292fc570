/*
 * struct um_metrics: what umd counts for /metrics and /healthz (http.c).
 *
 * The SIP thread updates it, the HTTP thread reads it; every function but um_metrics_new and
 * um_metrics_free may be called from any thread at any time. Counters and gauges are C11 atomics
 * (lock-free on the platforms we build for); the certificates in use and the health state are
 * strings and sit behind a mutex.
 *
 * Ownership: um_metrics_new() returns an owned object released with um_metrics_free() (NULL is a
 * no-op), after every thread that uses it (the HTTP server included) has stopped. Strings passed
 * in are copied.
 */
#ifndef UM_METRICS_H
#define UM_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "error.h"

/* Services a metrics object can report a certificate for (certcore knows six). */
#define UM_METRICS_MAX_SERVICES 8
/* Longest service name and thumbprint kept (a SHA-1 thumbprint is 40, SHA-256 would be 64). */
#define UM_METRICS_SERVICE_MAX    15
#define UM_METRICS_THUMBPRINT_MAX 64
/* Longest health reason kept; a longer one is cut. */
#define UM_METRICS_WHY_MAX 255

/* Why a TLS handshake failed: the `reason` label of umd_tls_handshake_failures_total. */
enum um_fail_class {
	UM_FAIL_PROTOCOL,      /* "protocol": not TLS, version or ciphers refused, bad records */
	UM_FAIL_CERTIFICATE,   /* "certificate": the peer's certificate is missing or did not verify
	                        */
	UM_FAIL_PEER_REJECTED, /* "peer_rejected": verified, but no gateway entry accepts it */
	UM_FAIL_OTHER,         /* "other": time-outs, resets, our own errors */
	UM_FAIL__MAX
};

/* The media thread's counters (media/, voicemail/): what /metrics shows as umd_media_*. */
enum um_media_counter {
	UM_MC_PACKETS_IN,  /* RTP packets accepted (after SRTP and the source check) */
	UM_MC_PACKETS_OUT, /* RTP packets sent */
	UM_MC_SRTP_AUTH,   /* SRTP/SRTCP packets that failed authentication */
	UM_MC_SRTP_REPLAY, /* SRTP/SRTCP packets refused as replays */
	UM_MC_SOURCE,      /* packets from an address that is not the call's */
	UM_MC_MALFORMED,   /* datagrams that are not RTP */
	UM_MC_LOST,        /* packets lost (RFC 3550 A.3: expected minus received) */
	UM_MC_LATE,        /* packets that came after their place was written */
	UM_MC_RECORDED_MS, /* milliseconds of voice messages recorded */
	UM_MC_MESSAGES,    /* voice messages committed to the spool */
	UM_MC_CALLS_BUSY,  /* calls refused with 503: max_calls or no free media port */
	UM_MC__MAX
};

/* Why a submission did not go through: the `reason` label of umd_smtp_failures_total. */
enum um_smtp_reason {
	UM_SR_CONNECT,   /* "connect": the hub could not be reached */
	UM_SR_TLS,       /* "tls": STARTTLS missing or the TLS session failed */
	UM_SR_HUB,       /* "hub_verify": the hub's certificate did not verify or match its pin */
	UM_SR_TEMPORARY, /* "temporary": a 4xx reply */
	UM_SR_REFUSED,   /* "refused": a 5xx reply that only defers (policy, sender) */
	UM_SR_RECIPIENT, /* "recipient": a 5xx for the recipient or message: failed at once */
	UM_SR_DIRECTORY, /* "directory": the recipient could not be looked up */
	UM_SR_NO_RECIPIENT, /* "no_recipient": the number maps to no one, no fallback */
	UM_SR_EXPIRED,      /* "expired": queued longer than max_queue_days */
	UM_SR_SPOOL,        /* "spool": the message's files could not be read or moved */
	UM_SR_OTHER,        /* "other" */
	UM_SR__MAX
};

struct um_metrics;

/* A new object: every counter 0, no certificate, not healthy ("starting"). */
enum um_err um_metrics_new(struct um_metrics **out) UM_WUR;
void um_metrics_free(struct um_metrics *m);

/* The label value of a class ("protocol", ...); "other" for a value out of range. */
const char *um_fail_class_name(enum um_fail_class c);

/* A TLS handshake completed. */
void um_metrics_handshake_ok(struct um_metrics *m);
/*
 * A TLS handshake failed (event 1020, or 1021 for UM_FAIL_PEER_REJECTED). A class out of range
 * counts as UM_FAIL_OTHER. UM_FAIL_PEER_REJECTED also counts a peer rejection: one call per
 * event, do not call um_metrics_peer_rejected as well.
 */
void um_metrics_handshake_failed(struct um_metrics *m, enum um_fail_class c);
/*
 * A peer refused outside a TLS handshake (event 1021): a connection or request from an address
 * or certificate that no gateway entry accepts, in any mode. umd_peer_rejections_total counts
 * these and the handshake failures of class peer_rejected.
 */
void um_metrics_peer_rejected(struct um_metrics *m);

/*
 * A SIP request received. Method names are case-sensitive (RFC 3261 section 7.1): INVITE, ACK,
 * BYE, CANCEL and OPTIONS have their own series; anything else, NULL included, is "other".
 */
void um_metrics_request(struct um_metrics *m, const char *method);
/*
 * A keep-alive OPTIONS answered 200 by the TLS fast path (optfast.h): one request, one 2xx, and
 * one in umd_sip_options_fast_total.
 */
void um_metrics_options_fast(struct um_metrics *m);
/* A SIP response umd sent, counted by class (1xx .. 6xx). A status outside 100..699 is ignored. */
void um_metrics_response(struct um_metrics *m, int status);

/* Gauges: add delta (+1 on open or dialog start, -1 on close or end). */
void um_metrics_conn(struct um_metrics *m, int delta);
void um_metrics_dialogs(struct um_metrics *m, int delta);
/* Calls with media now (umd_active_calls); any thread. */
void um_metrics_calls(struct um_metrics *m, int delta);
/* A voice message the hub took (250). */
void um_metrics_smtp_submitted(struct um_metrics *m);
/* A submission that failed: deferred (it stays queued) or failed (moved to failed/). */
void um_metrics_smtp_failure(struct um_metrics *m, enum um_smtp_reason r, bool permanent);
/* The queue now: messages in new/ and the age of the oldest (seconds, 0 when empty). */
void um_metrics_smtp_queue(struct um_metrics *m, long long messages, long long oldest_seconds);
/* The label of a reason ("connect", ...); "other" out of range. */
const char *um_smtp_reason_name(enum um_smtp_reason r);
/* Adds to a media counter; any thread (relaxed atomics). */
void um_metrics_media(struct um_metrics *m, enum um_media_counter c, unsigned long long n);

/*
 * The certificate `service` ("UM") uses now: its thumbprint and NotAfter. Replaces the previous
 * one of the service. A NULL or empty thumbprint removes the service's entry (no certificate in
 * use, as in unsecured mode). UM_ERR_INVAL for a NULL or empty service, a service or thumbprint
 * longer than the limits above, or a service beyond UM_METRICS_MAX_SERVICES.
 */
enum um_err um_metrics_set_cert(struct um_metrics *m, const char *service, const char *thumbprint,
                                time_t not_after) UM_WUR;

/*
 * What /healthz says: healthy answers 200 "ok"; not healthy answers 503 with `why` (NULL: a
 * generic reason), cut at UM_METRICS_WHY_MAX bytes. umd_up follows it.
 */
void um_metrics_set_healthy(struct um_metrics *m, bool healthy, const char *why);
/*
 * The health state; when not healthy the reason is copied to why (NUL-terminated, cut to len).
 * Healthy also needs a recent heartbeat when a stall limit is set (below).
 */
bool um_metrics_healthy(const struct um_metrics *m, char *why, size_t len);

/*
 * The SIP loop's heartbeat. The loop is one thread (sofia-sip's su_root) and /healthz is
 * answered from another (libmicrohttpd's): umd's one-second tick calls um_metrics_heartbeat, and
 * once a stall limit is set, a heartbeat older than it makes /healthz answer 503 ("SIP loop
 * stalled: ..."), so a loop that hangs (a blocking call, a livelock) is seen from outside.
 * Times are CLOCK_MONOTONIC: a clock step is not a stall. um_metrics_new counts as a heartbeat.
 */
void um_metrics_heartbeat(struct um_metrics *m);
/* The stall limit in seconds; 0 (the default) switches the check off. */
void um_metrics_set_stall_limit(struct um_metrics *m, int seconds);
/* Milliseconds since the last heartbeat; -1 for NULL. */
long long um_metrics_heartbeat_age_ms(const struct um_metrics *m);

/*
 * Renders every metric in the Prometheus text exposition format 0.0.4 (a # HELP and a # TYPE
 * line before each family's samples; label values escaped: backslash, double quote, newline).
 * Days left are counted at `now` in UTC calendar days, as the CertificateExpiring event's
 * days_left (negative: the days since it expired, CertificateExpired's days_expired).
 * On success *out is an owned NUL-terminated string (free()); on failure it is NULL.
 */
enum um_err um_metrics_render(const struct um_metrics *m, time_t now, char **out) UM_WUR;

#endif
