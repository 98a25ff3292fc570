/*
 * The expiry clock (README, "Events"): from 30 days before NotAfter one CertificateExpiring event
 * per UTC day; after NotAfter one CertificateExpired per UTC day; never two for one certificate on
 * one UTC day, across restarts (the last logged day is kept in the store's state/).
 */
#ifndef CERTCORE_EXPIRY_H
#define CERTCORE_EXPIRY_H

#include <stdint.h>
#include <time.h>

#include "certcore/cert.h"
#include "certcore/error.h"
#include "certcore/log.h"
#include "certcore/store.h"

#define CC_EXPIRY_WARN_DAYS 30

enum cc_expiry_event { CC_EXPIRY_NONE, CC_EXPIRY_EXPIRING, CC_EXPIRY_EXPIRED };

struct cc_expiry_state {
	int64_t last_day; /* UTC day number (days since 1970-01-01) last logged; -1: never */
};

struct cc_expiry_decision {
	enum cc_expiry_event event;
	int64_t day; /* UTC day number of `now` */
	long days;   /* days_left or days_expired, in UTC calendar days */
};

/* The pure rule: what to log for a certificate ending at not_after, given the state, at now. */
void cc_expiry_decide(time_t not_after, const struct cc_expiry_state *last, time_t now,
                      struct cc_expiry_decision *out);

/* The state kept for a certificate (state/expiry-THUMB.ini); last_day -1 when none. */
enum cc_err cc_expiry_state_load(struct cc_store *s, const char *thumb,
                                 struct cc_expiry_state *out) CC_WUR;
enum cc_err cc_expiry_state_save(struct cc_store *s, const char *thumb,
                                 const struct cc_expiry_state *st) CC_WUR;

/*
 * Runs the clock once for a certificate used by `service`: decides, records the day in the store
 * before logging (so a crash can lose one event but never log two), and logs the event.
 * `logged` (may be NULL) receives the event logged.
 */
enum cc_err cc_expiry_tick(struct cc_store *s, const struct cc_cert *c, const char *service,
                           struct cc_log *log, time_t now, enum cc_expiry_event *logged) CC_WUR;

#endif
