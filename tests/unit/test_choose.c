/*
 * choose.c: the one rule every daemon runs with (select, keep a merely expired certificate in
 * use, else create self-signed), with its negative cases: a revoked certificate in use is
 * dropped (never kept), an expired one that is not in use is not kept, an expired one gives way
 * to an eligible one, the host's FQDN when none is given, a certificate to create that would
 * not serve the service. And selfsigned.c's automatic renewal: only a daemon's own certificate
 * near its end, for a year, with its key type and marker.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "certcore/choose.h"
#include "certcore/selfsigned.h"
#include "certcore/services.h"
#include "certcore/store.h"
#include "certcore/trust.h"
#include "testutil.h"

#define DAY 86400L

struct fx {
	char *dir;
	char path[PATH_MAX];
	struct cc_store *s;
	X509 *root;
	EVP_PKEY *rk;
	struct cc_verify_opts o;
};

static void
fx_open(struct fx *f)
{
	struct tu_cert_spec spec;

	memset(f, 0, sizeof(*f));
	unsetenv("UMEDGE_CA_BUNDLE");
	f->dir = tu_tmpdir();
	CU_ASSERT_FATAL(snprintf(f->path, sizeof(f->path), "%s/store", f->dir) <
	                (int)sizeof(f->path));
	CU_ASSERT_EQUAL_FATAL(cc_store_open(f->path, CC_STORE_CREATE, &f->s), CC_OK);
	memset(&spec, 0, sizeof(spec));
	spec.key = "ec256";
	spec.ca = true;
	spec.eku = "";
	spec.not_before_offset = -30 * DAY;
	spec.not_after_offset = 3650 * DAY;
	spec.cn = "Choose Test Root";
	tu_make_cert(&spec, &f->root, &f->rk);
	CU_ASSERT_EQUAL_FATAL(cc_store_trust_add(f->s, f->root, CC_ROOT_ENTERPRISE, NULL), CC_OK);
	memset(&f->o, 0, sizeof(f->o));
	f->o.bundle = "";
	f->o.offline = true;
}

static void
fx_close(struct fx *f)
{
	cc_store_free(f->s);
	X509_free(f->root);
	EVP_PKEY_free(f->rk);
	tu_rmrf(f->dir);
	free(f->dir);
}

/* The root's CRL in crl/, revoking `serial` (0: nothing). */
static void
put_crl(struct fx *f, long serial)
{
	char p[PATH_MAX + 16];
	X509_CRL *crl = tu_make_crl(f->root, f->rk, &serial, serial ? 1 : 0, -3600, 7 * DAY);

	CU_ASSERT_FATAL(snprintf(p, sizeof(p), "%s/crl/root.crl", f->path) < (int)sizeof(p));
	tu_write_crl(p, crl, true);
	X509_CRL_free(crl);
}

/* A certificate issued by the root for um.example.test, UM enabled. */
static void
add_issued(struct fx *f, long serial, char thumb[CC_THUMB_LEN + 1])
{
	static const char *const sans[] = {"um.example.test", NULL};
	struct tu_cert_spec spec;
	struct cc_meta meta = {CC_SVC_UM, false, NULL, NULL};
	X509 *x;
	EVP_PKEY *k;

	memset(&spec, 0, sizeof(spec));
	spec.cn = "um.example.test";
	spec.sans = sans;
	spec.key = "ec256";
	spec.serial = serial;
	spec.not_before_offset = -DAY;
	spec.not_after_offset = 90 * DAY;
	spec.issuer = f->root;
	spec.issuer_key = f->rk;
	tu_make_cert(&spec, &x, &k);
	CU_ASSERT_EQUAL_FATAL(cc_store_add(f->s, x, NULL, k, &meta, thumb), CC_OK);
	X509_free(x);
	EVP_PKEY_free(k);
}

/* A self-signed certificate made at `now` for `days`. */
static void
add_self(struct fx *f, const char *dom, unsigned services, const char *made_by, const char *key,
         time_t now, int days, char thumb[CC_THUMB_LEN + 1])
{
	const char *doms[1] = {dom};
	struct cc_new_params p;

	memset(&p, 0, sizeof(p));
	p.domains = doms;
	p.ndomains = 1;
	p.services = services;
	CU_ASSERT_EQUAL_FATAL(cc_key_type_parse(key, &p.key_type), CC_OK);
	p.now = now;
	p.days = days;
	p.made_by = made_by;
	CU_ASSERT_EQUAL_FATAL(cc_store_new_self_signed(f->s, &p, thumb), CC_OK);
}

static void
um_params(struct cc_new_params *p, const char *const *doms)
{
	memset(p, 0, sizeof(*p));
	p->domains = doms;
	p->ndomains = 1;
	p->services = CC_SVC_UM;
	p->made_by = "umd";
}

static void
test_selected(void)
{
	static const char *const doms[] = {"um.example.test"};
	struct fx f;
	struct cc_choice ch;
	struct cc_new_params p;
	char t[CC_THUMB_LEN + 1];

	fx_open(&f);
	put_crl(&f, 0);
	add_issued(&f, 0x100, t);
	um_params(&p, doms);
	CU_ASSERT_EQUAL_FATAL(cc_store_select_or_create(f.s, CC_SVC_UM, "um.example.test", &f.o, t,
	                                                &p, NULL, &ch),
	                      CC_OK);
	CU_ASSERT_EQUAL(ch.how, CC_CHOSE_SELECTED);
	CU_ASSERT_STRING_EQUAL(cc_cert_thumbprint(ch.cert), t);
	CU_ASSERT_STRING_EQUAL(ch.in_use_reason, "");
	CU_ASSERT_EQUAL(cc_store_count(f.s), 1);
	cc_cert_free(ch.cert);
	fx_close(&f);
}

static void
test_none_and_created(void)
{
	static const char *const doms[] = {"mail.example.test"};
	struct fx f;
	struct cc_choice ch;
	struct cc_new_params p;

	fx_open(&f);
	CU_ASSERT_EQUAL_FATAL(cc_store_select_or_create(f.s, CC_SVC_SMTP, "mail.example.test", &f.o,
	                                                NULL, NULL, NULL, &ch),
	                      CC_OK);
	CU_ASSERT_EQUAL(ch.how, CC_CHOSE_NONE);
	CU_ASSERT_PTR_NULL(ch.cert);
	/* Any service: SMTP, marked as made by its daemon. */
	um_params(&p, doms);
	p.services = CC_SVC_SMTP;
	cc_cert_free(ch.cert);
	CU_ASSERT_EQUAL_FATAL(cc_store_select_or_create(f.s, CC_SVC_SMTP, "mail.example.test", &f.o,
	                                                NULL, &p, NULL, &ch),
	                      CC_OK);
	CU_ASSERT_EQUAL_FATAL(ch.how, CC_CHOSE_CREATED);
	CU_ASSERT_EQUAL(cc_cert_services(ch.cert), CC_SVC_SMTP);
	CU_ASSERT_STRING_EQUAL(cc_cert_made_by(ch.cert), "umd");
	/* The marker is a property of the store: it survives a reload. */
	CU_ASSERT_EQUAL_FATAL(cc_store_reload(f.s), CC_OK);
	CU_ASSERT_STRING_EQUAL(cc_cert_made_by(cc_store_cert(f.s, 0)), "umd");
	/* Next time it is selected, not made again. */
	cc_cert_free(ch.cert);
	CU_ASSERT_EQUAL_FATAL(cc_store_select_or_create(f.s, CC_SVC_SMTP, "mail.example.test", &f.o,
	                                                NULL, &p, NULL, &ch),
	                      CC_OK);
	CU_ASSERT_EQUAL(ch.how, CC_CHOSE_SELECTED);
	CU_ASSERT_EQUAL(cc_store_count(f.s), 1);
	cc_cert_free(ch.cert);
	fx_close(&f);
}

/* A revoked certificate in use is dropped at once, never kept. */
static void
test_revoked_in_use_dropped(void)
{
	static const char *const doms[] = {"um.example.test"};
	struct fx f;
	struct cc_choice ch;
	struct cc_new_params p;
	char t[CC_THUMB_LEN + 1];

	fx_open(&f);
	put_crl(&f, 0x200);
	add_issued(&f, 0x200, t);
	um_params(&p, doms);
	CU_ASSERT_EQUAL_FATAL(cc_store_select_or_create(f.s, CC_SVC_UM, "um.example.test", &f.o, t,
	                                                &p, NULL, &ch),
	                      CC_OK);
	CU_ASSERT_EQUAL_FATAL(ch.how, CC_CHOSE_CREATED);
	CU_ASSERT_STRING_NOT_EQUAL(cc_cert_thumbprint(ch.cert), t);
	CU_ASSERT_PTR_NOT_NULL(strstr(ch.in_use_reason, "Revoked"));
	cc_cert_free(ch.cert);
	fx_close(&f);
}

/* Expired in use, nothing else: kept. Expired not in use: not kept. Another eligible: it wins. */
static void
test_expired(void)
{
	static const char *const doms[] = {"um.example.test"};
	struct fx f;
	struct cc_choice ch;
	struct cc_new_params p;
	char t[CC_THUMB_LEN + 1], other[CC_THUMB_LEN + 1];
	time_t now = time(NULL);

	fx_open(&f);
	add_self(&f, "um.example.test", CC_SVC_UM, "umd", "ec256", now - 40 * DAY, 30, t);
	um_params(&p, doms);
	CU_ASSERT_EQUAL_FATAL(cc_store_select_or_create(f.s, CC_SVC_UM, "um.example.test", &f.o, t,
	                                                &p, NULL, &ch),
	                      CC_OK);
	CU_ASSERT_EQUAL_FATAL(ch.how, CC_CHOSE_KEPT_EXPIRED);
	CU_ASSERT_STRING_EQUAL(cc_cert_thumbprint(ch.cert), t);
	CU_ASSERT_EQUAL(cc_store_count(f.s), 1);
	/* Not for another service or FQDN, and not when it is not the one in use. */
	cc_cert_free(ch.cert);
	CU_ASSERT_EQUAL_FATAL(cc_store_select_or_create(f.s, CC_SVC_UM, "um2.example.test", &f.o, t,
	                                                NULL, NULL, &ch),
	                      CC_OK);
	CU_ASSERT_EQUAL(ch.how, CC_CHOSE_NONE);
	cc_cert_free(ch.cert);
	CU_ASSERT_EQUAL_FATAL(cc_store_select_or_create(f.s, CC_SVC_UM, "um.example.test", &f.o,
	                                                NULL, NULL, NULL, &ch),
	                      CC_OK);
	CU_ASSERT_EQUAL(ch.how, CC_CHOSE_NONE);
	/* An eligible one appears: it wins, and the reason says DateInvalid. */
	add_self(&f, "um.example.test", CC_SVC_UM, NULL, "ec256", now, 30, other);
	cc_cert_free(ch.cert);
	CU_ASSERT_EQUAL_FATAL(cc_store_select_or_create(f.s, CC_SVC_UM, "um.example.test", &f.o, t,
	                                                &p, NULL, &ch),
	                      CC_OK);
	CU_ASSERT_EQUAL(ch.how, CC_CHOSE_SELECTED);
	CU_ASSERT_STRING_EQUAL(cc_cert_thumbprint(ch.cert), other);
	CU_ASSERT_PTR_NOT_NULL(strstr(ch.in_use_reason, "DateInvalid"));
	cc_cert_free(ch.cert);
	fx_close(&f);
}

/* No FQDN: the host's own; a certificate for another name is not chosen. */
static void
test_host_fqdn(void)
{
	struct fx f;
	struct cc_choice ch;
	struct cc_new_params p;
	char t[CC_THUMB_LEN + 1], *fqdn = NULL, *shortname = NULL;

	fx_open(&f);
	CU_ASSERT_EQUAL_FATAL(cc_host_names(&fqdn, &shortname), CC_OK);
	add_self(&f, "not-this-host.example.invalid", CC_SVC_LDAP, NULL, "ec256", 0, 365, t);
	memset(&p, 0, sizeof(p));
	p.services = CC_SVC_LDAP; /* no domains: the host's FQDN and short name */
	CU_ASSERT_EQUAL_FATAL(
	        cc_store_select_or_create(f.s, CC_SVC_LDAP, NULL, &f.o, NULL, &p, NULL, &ch),
	        CC_OK);
	CU_ASSERT_EQUAL_FATAL(ch.how, CC_CHOSE_CREATED);
	CU_ASSERT_TRUE(cc_cert_matches_host(ch.cert, fqdn));
	cc_cert_free(ch.cert);
	free(fqdn);
	free(shortname);
	fx_close(&f);
}

/* A certificate to create that would not serve: refused, nothing left behind. */
static void
test_create_refused(void)
{
	static const char *const doms[] = {"other.example.test"};
	struct fx f;
	struct cc_choice ch;
	struct cc_new_params p;

	fx_open(&f);
	um_params(&p, doms);
	p.services = CC_SVC_SMTP;
	CU_ASSERT_EQUAL(cc_store_select_or_create(f.s, CC_SVC_UM, "other.example.test", &f.o, NULL,
	                                          &p, NULL, &ch),
	                CC_ERR_INVAL);
	p.services = CC_SVC_UM;
	cc_cert_free(ch.cert);
	CU_ASSERT_EQUAL(cc_store_select_or_create(f.s, CC_SVC_UM, "um.example.test", &f.o, NULL, &p,
	                                          NULL, &ch),
	                CC_ERR_INVAL);
	CU_ASSERT_EQUAL(cc_store_count(f.s), 0);
	cc_cert_free(ch.cert);
	fx_close(&f);
}

/* Only a daemon's own self-signed certificate near its end; a year; the key type kept. */
static void
test_auto_renew(void)
{
	struct fx f;
	char own[CC_THUMB_LEN + 1], admin[CC_THUMB_LEN + 1], far[CC_THUMB_LEN + 1],
	        other[CC_THUMB_LEN + 1], out[CC_THUMB_LEN + 1];
	struct cc_cert *c;
	bool renewed;
	time_t now = time(NULL);

	fx_open(&f);
	add_self(&f, "um.example.test", CC_SVC_UM, "umd", "ec384", now - 350 * DAY, 365, own);
	add_self(&f, "um.example.test", CC_SVC_UM, NULL, "ec256", now - 350 * DAY, 365, admin);
	add_self(&f, "um.example.test", CC_SVC_UM, "edgesync", "ec256", now - 350 * DAY, 365,
	         other);
	add_self(&f, "um.example.test", CC_SVC_UM, "umd", "ec256", now, 100, far);
	/* An administrator's, another daemon's, one far from its end: left alone. */
	CU_ASSERT_EQUAL(cc_store_auto_renew(f.s, admin, "umd", 30, now, out, &renewed), CC_OK);
	CU_ASSERT_FALSE(renewed);
	CU_ASSERT_EQUAL(cc_store_auto_renew(f.s, other, "umd", 30, now, out, &renewed), CC_OK);
	CU_ASSERT_FALSE(renewed);
	CU_ASSERT_EQUAL(cc_store_auto_renew(f.s, far, "umd", 30, now, out, &renewed), CC_OK);
	CU_ASSERT_FALSE(renewed);
	CU_ASSERT_EQUAL(cc_store_auto_renew(f.s, own, "umd", 0, now, out, &renewed), CC_OK);
	CU_ASSERT_FALSE(renewed);
	CU_ASSERT_EQUAL(cc_store_count(f.s), 4);
	/* Its own, 15 days left: a year from now, EC P-384 still, still marked. */
	CU_ASSERT_EQUAL_FATAL(cc_store_auto_renew(f.s, own, "umd", 30, now, out, &renewed), CC_OK);
	CU_ASSERT_TRUE_FATAL(renewed);
	CU_ASSERT_EQUAL_FATAL(cc_store_find(f.s, out, &c), CC_OK);
	CU_ASSERT_EQUAL(cc_cert_not_after(c) - cc_cert_not_before(c), 365 * DAY);
	CU_ASSERT_STRING_EQUAL(cc_cert_key_algorithm(c), "EC");
	CU_ASSERT_EQUAL(cc_cert_key_bits(c), 384);
	CU_ASSERT_STRING_EQUAL(cc_cert_made_by(c), "umd");
	CU_ASSERT_EQUAL(cc_cert_services(c), CC_SVC_UM);
	CU_ASSERT_EQUAL(cc_store_auto_renew(f.s, "0000000000000000000000000000000000000000", "umd",
	                                    30, now, out, &renewed),
	                CC_ERR_NOT_FOUND);
	fx_close(&f);
}

/* A clone with other services (New-ExchangeCertificate -Services on a piped certificate). */
static void
test_clone_services(void)
{
	struct fx f;
	struct cc_clone_params cp;
	char t[CC_THUMB_LEN + 1], out[CC_THUMB_LEN + 1];
	struct cc_cert *c;

	fx_open(&f);
	add_self(&f, "um.example.test", CC_SVC_UM, NULL, "rsa2048", 0, 90, t);
	memset(&cp, 0, sizeof(cp));
	cp.services = CC_SVC_SMTP | CC_SVC_IMAP;
	CU_ASSERT_EQUAL_FATAL(cc_store_clone(f.s, t, &cp, out), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_store_find(f.s, out, &c), CC_OK);
	CU_ASSERT_EQUAL(cc_cert_services(c), CC_SVC_SMTP | CC_SVC_IMAP);
	CU_ASSERT_EQUAL(cc_cert_validity_days(c), 90);
	CU_ASSERT_STRING_EQUAL(cc_cert_key_algorithm(c), "RSA");
	CU_ASSERT_STRING_EQUAL(cc_cert_made_by(c), "");
	fx_close(&f);
}

/* The events of the certificate a service runs with: 1000 and 1001, every field, as JSON. */
static void
test_in_use_and_changed_events(void)
{
	static const char *const doms[] = {"mail.example.test"};
	struct fx f;
	struct cc_new_params p;
	struct cc_log *log = NULL;
	struct cc_cert *c = NULL;
	char *buf = NULL, thumb[CC_THUMB_LEN + 1], want[512];
	size_t len = 0;
	FILE *out;

	fx_open(&f);
	um_params(&p, doms);
	CU_ASSERT_EQUAL_FATAL(cc_store_new_self_signed(f.s, &p, thumb), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_store_reload(f.s), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_store_find(f.s, thumb, &c), CC_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out = open_memstream(&buf, &len));
	CU_ASSERT_EQUAL_FATAL(cc_log_new(CC_LOG_JSON, out, "test", false, &log), CC_OK);
	cc_log_cert_in_use(log, "SMTP", c);
	cc_log_cert_changed(log, "UM", "00FF", c, "status Revoked: listed");
	cc_log_cert_changed(log, "LDAP", "00FF", c, NULL);
	/* no log: nothing, and no crash */
	cc_log_cert_in_use(NULL, "UM", c);
	cc_log_cert_changed(NULL, "UM", "00FF", c, NULL);
	cc_log_free(log);
	fclose(out);
	snprintf(want, sizeof(want),
	         "\"event_id\":1000,\"event\":\"CertificateInUse\",\"service\":\"SMTP\","
	         "\"thumbprint\":\"%s\",\"issuer\":\"CN=mail.example.test\",",
	         thumb);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"not_after\":\"20"));
	snprintf(want, sizeof(want),
	         "\"event_id\":1001,\"event\":\"CertificateChanged\",\"service\":\"UM\","
	         "\"old_thumbprint\":\"00FF\",\"thumbprint\":\"%s\",",
	         thumb);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"reason\":\"status Revoked: listed\"}"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"service\":\"LDAP\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"reason\":null}"));
	/* three lines: the calls without a log wrote nothing */
	CU_ASSERT_PTR_NOT_NULL(buf);
	if (buf != NULL) {
		size_t lines = 0;
		const char *q;

		for (q = buf; *q != '\0'; q++)
			lines += *q == '\n';
		CU_ASSERT_EQUAL(lines, 3);
	}
	free(buf);
	fx_close(&f);
}

int
main(void)
{
	static CU_TestInfo tests[] = {
	        {"selected: the eligible one", test_selected},
	        {"none eligible: nothing, or created for any service, marked",
	         test_none_and_created},
	        {"a revoked certificate in use is dropped, not kept", test_revoked_in_use_dropped},
	        {"expired in use: kept alone, not otherwise", test_expired},
	        {"no FQDN: the host's own", test_host_fqdn},
	        {"a certificate to create that would not serve: refused", test_create_refused},
	        {"auto renewal: only its own, near its end, a year, key type kept",
	         test_auto_renew},
	        {"clone with other services", test_clone_services},
	        {"CertificateInUse and CertificateChanged: every field",
	         test_in_use_and_changed_events},
	        CU_TEST_INFO_NULL,
	};

	return tu_run("choose", tests);
}
