/* umd's SMTP client identity (um/src/voicemail/smtpid.c) on a real store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certcore/events.h"
#include "certcore/log.h"
#include "certcore/select.h"
#include "certcore/selfsigned.h"
#include "certcore/services.h"
#include "certcore/store.h"
#include "testutil.h"
#include "voicemail/smtpid.h"

static char *dir, logbuf[65536];
static FILE *logfp;
static struct cc_log *log_;

static void
setup(void)
{
	dir = tu_tmpdir();
	memset(logbuf, 0, sizeof(logbuf));
	logfp = fmemopen(logbuf, sizeof(logbuf) - 1, "w");
	CU_ASSERT_EQUAL_FATAL(cc_log_new(CC_LOG_JSON, logfp, "umd", false, &log_), CC_OK);
}

static void
teardown(void)
{
	cc_log_free(log_);
	fclose(logfp);
	tu_rmrf(dir);
	free(dir);
}

static int
count(const char *needle)
{
	const char *p = logbuf;
	int n = 0;

	fflush(logfp);
	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p++;
	}
	return n;
}

/* An empty store: a self-signed certificate for the FQDN, SMTP enabled, made and used. */
static void
test_creates(void)
{
	struct um_smtp_identity *id = NULL;
	struct um_smtp_snapshot snap;
	struct cc_store *s = NULL;
	struct cc_cert *c = NULL;
	time_t now = time(NULL);

	setup();
	CU_ASSERT_EQUAL_FATAL(
	        um_smtp_identity_start(dir, "um1.example.test", 30, log_, NULL, now, &id), UM_OK);
	CU_ASSERT_EQUAL(count("\"event_id\":1002"), 1);
	CU_ASSERT_EQUAL(count("\"event_id\":1000"), 1);
	CU_ASSERT_EQUAL_FATAL(um_smtp_identity_get(id, &snap), UM_OK);
	CU_ASSERT_PTR_NOT_NULL(snap.cert);
	CU_ASSERT_PTR_NOT_NULL(snap.key);
	CU_ASSERT_PTR_NOT_NULL(snap.trust);
	CU_ASSERT_EQUAL(X509_check_private_key(snap.cert, snap.key), 1);
	CU_ASSERT_EQUAL_FATAL(cc_store_open(dir, 0, &s), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_store_find(s, snap.thumb, &c), CC_OK);
	CU_ASSERT(cc_cert_services(c) & CC_SVC_SMTP);
	CU_ASSERT(cc_cert_matches_host(c, "um1.example.test"));
	CU_ASSERT(cc_cert_matches_host(c, "um1"));
	cc_store_free(s);
	/* Nothing changed: the same generation, nothing logged again, nothing made. */
	{
		uint64_t g = um_smtp_identity_generation(id);

		CU_ASSERT_EQUAL(um_smtp_identity_refresh(id, now), UM_OK);
		CU_ASSERT_EQUAL(um_smtp_identity_generation(id), g);
		CU_ASSERT_EQUAL(count("\"event_id\":1002"), 1);
		CU_ASSERT_EQUAL(count("\"event_id\":1001"), 0);
	}
	um_smtp_snapshot_clear(&snap);
	um_smtp_identity_free(id);
	teardown();
}

/* An administrator's certificate enabled for SMTP later is taken at the next refresh. */
static void
test_changes(void)
{
	struct um_smtp_identity *id = NULL;
	struct um_smtp_snapshot a, b;
	struct cc_store *s = NULL;
	struct cc_new_params p;
	const char *doms[] = {"um1.example.test"};
	char thumb[CC_THUMB_LEN + 1];
	time_t now = time(NULL);
	uint64_t g;

	setup();
	CU_ASSERT_EQUAL_FATAL(
	        um_smtp_identity_start(dir, "um1.example.test", 30, log_, NULL, now, &id), UM_OK);
	CU_ASSERT_EQUAL_FATAL(um_smtp_identity_get(id, &a), UM_OK);
	g = um_smtp_identity_generation(id);
	/* Newer (NotBefore a minute on) and SMTP: it ranks first. */
	memset(&p, 0, sizeof(p));
	p.domains = doms;
	p.ndomains = 1;
	p.services = CC_SVC_SMTP;
	p.key_type = CC_KEY_EC_P256;
	p.now = now + 60;
	CU_ASSERT_EQUAL_FATAL(cc_store_open(dir, 0, &s), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_store_new_self_signed(s, &p, thumb), CC_OK);
	cc_store_free(s);
	CU_ASSERT_EQUAL(um_smtp_identity_refresh(id, now + 120), UM_OK);
	CU_ASSERT_NOT_EQUAL(um_smtp_identity_generation(id), g);
	CU_ASSERT_EQUAL_FATAL(um_smtp_identity_get(id, &b), UM_OK);
	CU_ASSERT_STRING_EQUAL(b.thumb, thumb);
	CU_ASSERT_STRING_NOT_EQUAL(a.thumb, b.thumb);
	CU_ASSERT_EQUAL(count("\"event_id\":1001"), 1);
	CU_ASSERT(strstr(logbuf, "\"service\":\"SMTP\"") != NULL);
	/* The old snapshot stays usable: its references are the caller's. */
	CU_ASSERT_EQUAL(X509_check_private_key(a.cert, a.key), 1);
	um_smtp_snapshot_clear(&a);
	um_smtp_snapshot_clear(&b);
	um_smtp_snapshot_clear(NULL);
	um_smtp_identity_free(id);
	um_smtp_identity_free(NULL);
	teardown();
}

/* A store that cannot be made: the reason, no object. */
static void
test_bad_store(void)
{
	struct um_smtp_identity *id = NULL;
	char p[512];

	setup();
	snprintf(p, sizeof(p), "%s/file", dir);
	tu_write_file(p, "x", 1, 0600);
	snprintf(p, sizeof(p), "%s/file/store", dir);
	CU_ASSERT_EQUAL(
	        um_smtp_identity_start(p, "um1.example.test", 30, log_, NULL, time(NULL), &id),
	        UM_ERR_CERTCORE);
	CU_ASSERT_PTR_NULL(id);
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), "store"));
	/* certcore's code and its words, not only "no usable certificate" */
	CU_ASSERT_NOT_EQUAL(um_errcc(), CC_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), cc_strerror(um_errcc())));
	teardown();
}

static CU_TestInfo tests[] = {
        {"an empty store: a self-signed SMTP certificate", test_creates},
        {"a better certificate is taken at refresh", test_changes},
        {"a store that cannot be made", test_bad_store},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("um_smtpid", tests);
}
