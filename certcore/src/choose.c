/* The certificate a service runs with: select, keep a merely expired one, or create (choose.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certcore/choose.h"
#include "certcore/events.h"
#include "certcore/select.h"
#include "internal.h"

/*
 * True when `c`, the certificate in use, may stay in use although not eligible: enabled for the
 * service, naming the FQDN, usable for TLS, and not Valid only because its NotAfter has passed.
 */
static bool
merely_expired(const struct cc_store *s, const struct cc_cert *c, enum cc_service service,
               const char *fqdn, time_t now)
{
	char buf[256];
	const char *why = NULL;

	return (cc_cert_services(c) & service) && (!*fqdn || cc_cert_matches_host(c, fqdn)) &&
	       cc_cert_unusable_reason(s, c, buf, sizeof(buf)) == NULL &&
	       cc_cert_status(c, now, &why) == CC_STATUS_DATE_INVALID && cc_cert_not_after(c) < now;
}

static void
log_created(struct cc_log *log, enum cc_service service, const struct cc_cert *c)
{
	char when[32], domains[512];
	size_t i;
	int off = 0;

	if (log == NULL)
		return;
	domains[0] = '\0';
	for (i = 0; i < cc_cert_domain_count(c) && off >= 0 && (size_t)off < sizeof(domains); i++)
		off += snprintf(domains + off, sizeof(domains) - (size_t)off, "%s%s", i ? "," : "",
		                cc_cert_domain(c, i));
	{
		struct cc_field f[] = {
		        CC_FSTR("service", cc_service_name(service)),
		        CC_FSTR("thumbprint", cc_cert_thumbprint(c)),
		        CC_FSTR("domains", domains),
		        CC_FSTR("not_after", cc_time_iso8601(cc_cert_not_after(c), when)),
		};

		cc_log_event(log, CC_LOG_INFO, CC_EV_SELF_SIGNED_CERTIFICATE_CREATED, f,
		             sizeof(f) / sizeof(f[0]));
	}
}

void
cc_log_cert_in_use(struct cc_log *log, const char *service, const struct cc_cert *cert)
{
	char when[32];
	struct cc_field f[] = {
	        CC_FSTR("service", service),
	        CC_FSTR("thumbprint", cc_cert_thumbprint(cert)),
	        CC_FSTR("issuer", cc_cert_issuer(cert)),
	        CC_FSTR("serial", cc_cert_serial(cert)),
	        CC_FSTR("not_after", cc_time_iso8601(cc_cert_not_after(cert), when)),
	};

	if (log != NULL)
		cc_log_event(log, CC_LOG_INFO, CC_EV_CERTIFICATE_IN_USE, f,
		             sizeof(f) / sizeof(f[0]));
}

void
cc_log_cert_changed(struct cc_log *log, const char *service, const char *old_thumbprint,
                    const struct cc_cert *cert, const char *reason)
{
	struct cc_field f[] = {
	        CC_FSTR("service", service),
	        CC_FSTR("old_thumbprint", old_thumbprint),
	        CC_FSTR("thumbprint", cc_cert_thumbprint(cert)),
	        CC_FSTR("issuer", cc_cert_issuer(cert)),
	        CC_FSTR("serial", cc_cert_serial(cert)),
	        CC_FSTR("reason", reason),
	};

	if (log != NULL)
		cc_log_event(log, CC_LOG_INFO, CC_EV_CERTIFICATE_CHANGED, f,
		             sizeof(f) / sizeof(f[0]));
}

/* Makes the self-signed certificate and checks that it is what the service asked for. */
static enum cc_err
create_one(struct cc_store *s, enum cc_service service, const char *fqdn,
           const struct cc_new_params *create, struct cc_log *log, struct cc_cert **out)
{
	char thumb[CC_THUMB_LEN + 1];
	struct cc_cert *c;
	enum cc_err r;

	*out = NULL;
	if (!(create->services & service))
		return cc_seterr(CC_ERR_INVAL, "the certificate to create is not enabled for %s",
		                 cc_service_name(service));
	if ((r = cc_store_new_self_signed(s, create, thumb)) != CC_OK ||
	    (r = cc_store_find(s, thumb, &c)) != CC_OK)
		return r;
	if (*fqdn && !cc_cert_matches_host(c, fqdn)) {
		/* Never leave a certificate behind that the next start would make again. */
		if (cc_store_remove(s, thumb) != CC_OK)
			return cc_seterr(
			        CC_ERR_INVAL,
			        "the self-signed certificate %s does not name %s, and removing "
			        "it failed: %s",
			        thumb, fqdn, cc_errdetail());
		return cc_seterr(CC_ERR_INVAL,
		                 "the self-signed certificate to create does not name %s", fqdn);
	}
	log_created(log, service, c);
	*out = cc_cert_up_ref(c);
	return CC_OK;
}

enum cc_err
cc_store_select_or_create(struct cc_store *s, enum cc_service service, const char *fqdn,
                          const struct cc_verify_opts *opts, const char *in_use,
                          const struct cc_new_params *create, struct cc_log *log,
                          struct cc_choice *out)
{
	struct cc_selection *sel = NULL;
	struct cc_cert *cur = NULL;
	char *name = NULL, t[CC_THUMB_LEN + 1];
	time_t now = opts != NULL && opts->now ? opts->now : time(NULL);
	size_t i;
	enum cc_err r;

	memset(out, 0, sizeof(*out));
	out->how = CC_CHOSE_NONE;
	/* cc_store_select holds the rule for no FQDN; its answer names the one it used. */
	if ((r = cc_store_select(s, service, fqdn, opts, &sel)) != CC_OK)
		goto out;
	if ((name = strdup(cc_selection_fqdn(sel) ? cc_selection_fqdn(sel) : "")) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "selection");
		goto out;
	}
	fqdn = name;
	if (in_use != NULL && *in_use != '\0') {
		if (cc_thumbprint_normalize(in_use, t) != CC_OK ||
		    cc_store_find(s, t, &cur) != CC_OK) {
			cur = NULL;
			snprintf(out->in_use_reason, sizeof(out->in_use_reason),
			         "%s is no longer in the store", in_use);
		}
		for (i = 0; cur != NULL && i < cc_selection_rejected_count(sel); i++)
			if (cc_selection_rejected(sel, i) == cur)
				snprintf(out->in_use_reason, sizeof(out->in_use_reason), "%s",
				         cc_selection_rejected_reason(sel, i));
	}
	if (cc_selection_selected(sel) != NULL) {
		out->cert = cc_cert_up_ref(cc_selection_selected(sel));
		out->how = CC_CHOSE_SELECTED;
		if (out->cert == cur)
			out->in_use_reason[0] = '\0';
	} else if (cur != NULL && merely_expired(s, cur, service, fqdn, now)) {
		out->cert = cc_cert_up_ref(cur);
		out->how = CC_CHOSE_KEPT_EXPIRED;
		out->in_use_reason[0] = '\0';
	} else if (create != NULL) {
		if ((r = create_one(s, service, fqdn, create, log, &out->cert)) != CC_OK)
			goto out;
		out->how = CC_CHOSE_CREATED;
	}
	r = CC_OK;
out:
	cc_selection_free(sel);
	free(name);
	return r;
}
