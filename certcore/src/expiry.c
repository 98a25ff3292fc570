/* The expiry clock: a pure decision plus the state that makes it once a UTC day. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certcore/events.h"
#include "certcore/expiry.h"
#include "certcore/services.h"
#include "internal.h"

#define DAY 86400

static int64_t
utc_day(time_t t)
{
	/* Floor division: days before 1970 stay distinct. */
	int64_t v = (int64_t)t;

	return v >= 0 ? v / DAY : -((-v + DAY - 1) / DAY);
}

void
cc_expiry_decide(time_t not_after, const struct cc_expiry_state *last, time_t now,
                 struct cc_expiry_decision *out)
{
	int64_t left = (int64_t)not_after - (int64_t)now;

	out->event = CC_EXPIRY_NONE;
	out->day = utc_day(now);
	out->days = 0;
	if (left >= 0 && left > (int64_t)CC_EXPIRY_WARN_DAYS * DAY)
		return; /* more than 30 days left: nothing to say */
	if (last != NULL && last->last_day >= out->day)
		return; /* already logged today (or a clock that went back) */
	/*
	 * Days are counted in UTC calendar days, like the events themselves: the count falls by
	 * exactly one from one day's event to the next.
	 */
	if (now <= not_after) {
		out->event = CC_EXPIRY_EXPIRING;
		out->days = (long)(utc_day(not_after) - out->day);
	} else {
		out->event = CC_EXPIRY_EXPIRED;
		out->days = (long)(out->day - utc_day(not_after));
	}
}

static enum cc_err
state_name(const char *thumb, char name[CC_THUMB_LEN + 8])
{
	char t[CC_THUMB_LEN + 1];
	enum cc_err r;

	if ((r = cc_thumbprint_normalize(thumb, t)) != CC_OK)
		return r;
	snprintf(name, CC_THUMB_LEN + 8, "expiry-%s", t);
	return CC_OK;
}

enum cc_err
cc_expiry_state_load(struct cc_store *s, const char *thumb, struct cc_expiry_state *out)
{
	char name[CC_THUMB_LEN + 8], val[32], *end;
	long long v;
	enum cc_err r;

	out->last_day = -1;
	if ((r = state_name(thumb, name)) != CC_OK)
		return r;
	r = cc_store_state_get(s, name, "last_day", val, sizeof(val));
	if (r == CC_ERR_NOT_FOUND)
		return CC_OK;
	if (r != CC_OK)
		return r;
	v = strtoll(val, &end, 10);
	if (end == val || *end != '\0')
		return cc_seterr(CC_ERR_STATE, "state %s: last_day \"%s\" is not a number", name,
		                 val);
	out->last_day = (int64_t)v;
	return CC_OK;
}

enum cc_err
cc_expiry_state_save(struct cc_store *s, const char *thumb, const struct cc_expiry_state *st)
{
	char name[CC_THUMB_LEN + 8], val[32];
	const char *keys[] = {"last_day"};
	const char *vals[] = {val};
	enum cc_err r;

	if ((r = state_name(thumb, name)) != CC_OK)
		return r;
	snprintf(val, sizeof(val), "%" PRId64, st->last_day);
	return cc_store_state_set(s, name, keys, vals, 1);
}

enum cc_err
cc_expiry_tick(struct cc_store *s, const struct cc_cert *c, const char *service, struct cc_log *log,
               time_t now, enum cc_expiry_event *logged)
{
	struct cc_expiry_state st;
	struct cc_expiry_decision d;
	struct cc_field f[4];
	char na[32];
	enum cc_err r;

	if (logged != NULL)
		*logged = CC_EXPIRY_NONE;
	if ((r = cc_expiry_state_load(s, cc_cert_thumbprint(c), &st)) != CC_OK)
		return r;
	cc_expiry_decide(cc_cert_not_after(c), &st, now, &d);
	if (d.event == CC_EXPIRY_NONE)
		return CC_OK;
	/* Remember first: a crash between the two loses at most one line, never doubles one. */
	st.last_day = d.day;
	if ((r = cc_expiry_state_save(s, cc_cert_thumbprint(c), &st)) != CC_OK)
		return r;
	f[0] = CC_FSTR("service", service);
	f[1] = CC_FSTR("thumbprint", cc_cert_thumbprint(c));
	f[2] = CC_FINT(d.event == CC_EXPIRY_EXPIRING ? "days_left" : "days_expired", d.days);
	f[3] = CC_FSTR("not_after", cc_time_iso8601(cc_cert_not_after(c), na));
	if (log != NULL)
		cc_log_event(log, d.event == CC_EXPIRY_EXPIRING ? CC_LOG_WARNING : CC_LOG_ERROR,
		             d.event == CC_EXPIRY_EXPIRING ? CC_EV_CERTIFICATE_EXPIRING
		                                           : CC_EV_CERTIFICATE_EXPIRED,
		             f, 4);
	if (logged != NULL)
		*logged = d.event;
	return CC_OK;
}
