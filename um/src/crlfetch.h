/*
 * Fetching gateways' CRLs from their distribution points, off the SIP thread.
 *
 * The SIP thread never waits on the network: when a handshake meets a gateway certificate whose
 * issuer's CRL is not at hand (none, or stale), tlshook.c's verify callback asks for it here
 * (um_crlfetch_want, which only takes a mutex held for queue operations), and a thread of its
 * own fetches it with certcore's cc_crl_fetch (a store handle of that thread's own, a timeout
 * per distribution point) into the store's crl/ cache, then raises a flag that the SIP
 * thread's one-second tick reads (um_crlfetch_take_news) to reload the CRLs of its trust store.
 *
 * What is asked for is one (issuer, distribution points) pair: gateways of one CA share it, so
 * it is fetched once. A pair is not tried again within RETRY_SECONDS of its last attempt (a
 * failed URL is not hammered; a CRL just fetched is not fetched again while the reload is on its
 * way), and at most MAX_QUEUE pairs wait at once. A fetched CRL is refreshed before its
 * nextUpdate (um_crlfetch_refresh, on umd's periodic pass). Each fetch is logged: its URL,
 * issuer and nextUpdate, or the URLs tried and why each failed.
 */
#ifndef UM_CRLFETCH_H
#define UM_CRLFETCH_H

#include <stdbool.h>
#include <time.h>

#include <openssl/x509.h>

#include "certcore/log.h"
#include "error.h"

#define UM_CRLFETCH_TIMEOUT 5 /* seconds per distribution point */

struct um_crlfetch;

/*
 * Starts the fetcher thread for the store at `store`; `proxy` (may be NULL: $http_proxy, if
 * set) is the HTTP proxy for fetches, `timeout` seconds per distribution point. Strings are
 * copied; `log` is borrowed and must outlive the fetcher (cc_log writes whole lines, from any
 * thread).
 */
enum um_err um_crlfetch_start(const char *store, const char *proxy, int timeout, struct cc_log *log,
                              struct um_crlfetch **out) UM_WUR;

/* Stops the thread (a fetch under way ends by its timeout), joins it and frees. NULL: no-op. */
void um_crlfetch_stop(struct um_crlfetch *f);

/*
 * Asks for the CRL of `issuer` that covers `subject` (both borrowed; copies are kept). Does
 * nothing for a certificate without distribution points, a pair queued or tried within
 * RETRY_SECONDS, or a full queue. Returns true when it queued a fetch. Never blocks on I/O.
 */
bool um_crlfetch_want(struct um_crlfetch *f, X509 *subject, X509 *issuer, time_t now);

/* Queues a refresh of each fetched CRL whose nextUpdate is near (see crlfetch.c). */
void um_crlfetch_refresh(struct um_crlfetch *f, time_t now);

/* True once after one or more CRLs were fetched: the caller reloads the CRLs it verifies with. */
bool um_crlfetch_take_news(struct um_crlfetch *f);

#endif
