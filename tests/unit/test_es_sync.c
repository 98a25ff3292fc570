/* One cycle (sync.c): the rotation rule, and the refusal of an edge with another key, logged
 * with both pins and with nothing but handshakes sent. The whole cycle against real
 * directories is in tests/integration/edgesync_sync.sh and edgesync_ha.sh. */
#include <stdlib.h>
#include <string.h>

#include "edgesync/sync.h"
#include "es_testutil.h"
#include "replicator_impl.h"

static void
test_rotation_due(void)
{
	struct es_subscription s;
	time_t t0 = 1795863600;

	memset(&s, 0, sizeof(s));
	s.start = t0;
	s.minutes = 60;
	CU_ASSERT(!es_sync_rotation_due(&s, t0));
	CU_ASSERT(!es_sync_rotation_due(&s, t0 + 1799));
	CU_ASSERT(es_sync_rotation_due(&s, t0 + 1800)); /* half the lifetime */
	CU_ASSERT(es_sync_rotation_due(&s, t0 + 86400));
	/* the last rotation counts, not the subscription */
	s.cred_time = t0 + 3000;
	CU_ASSERT(!es_sync_rotation_due(&s, t0 + 3000 + 1799));
	CU_ASSERT(es_sync_rotation_due(&s, t0 + 3000 + 1800));
	/* no known lifetime: never */
	s.minutes = 0;
	CU_ASSERT(!es_sync_rotation_due(&s, t0 + 86400 * 365));
	s.minutes = 60;
	s.start = s.cred_time = 0;
	CU_ASSERT(!es_sync_rotation_due(&s, t0));
}

static void
test_pin_mismatch_logged(void)
{
	char *dir = tu_tmpdir(), *cp, *kp, url[64], *conf, text[512];
	X509 *srv, *pinned;
	EVP_PKEY *srv_key, *pinned_key;
	struct es_pin pin;
	struct es_subscription s;
	struct es_replicator rep;
	struct es_config *cfg = NULL;
	struct es_conn *c = (struct es_conn *)1;
	struct es_tu_log l;
	char want[160], pbuf[ES_PIN_TEXT_LEN + 1];
	pid_t server;
	int port;

	es_tu_cert("edge1.example.test", &srv, &srv_key);
	es_tu_cert("edge1.example.test", &pinned, &pinned_key);
	es_tu_write_pair(dir, "srv", srv, srv_key, &cp, &kp);
	server = es_tu_server_start(cp, kp, &port);
	snprintf(url, sizeof(url), "ldaps://127.0.0.1:%d", port);
	snprintf(text, sizeof(text),
	         "[edgesync]\nstore = %s/store\ntimeout = 2\n[source]\nurl = ldaps://x\n"
	         "bind_dn = cn=a\nbind_password_file = /x\nsubscriptions = cn=s\n",
	         dir);
	conf = es_tu_file(dir, "c.conf", text);
	CU_ASSERT_FATAL(es_config_load(conf, &cfg) == ES_OK);
	es_tu_log_open(&l, CC_LOG_TEXT);
	memset(&rep, 0, sizeof(rep));
	rep.cfg = cfg;
	rep.log = l.log;
	memset(&s, 0, sizeof(s));
	s.name = "edge1";
	s.url = url;
	s.bind_dn = "cn=edgesync,dc=edge1,dc=test";
	pin = es_tu_pin(pinned);
	s.pins = &pin;
	s.ncerts = 1;
	CU_ASSERT_EQUAL(es_sync_connect_edge(&rep, &s, true, ES_ROTATE_DUE, &c),
	                ES_ERR_PIN_MISMATCH);
	CU_ASSERT_PTR_NULL(c);
	snprintf(want, sizeof(want), "2002 EdgeCertificatePinMismatch edge=edge1 expected=\"%s\"",
	         es_pin_format(&pin, pbuf));
	CU_ASSERT_PTR_NOT_NULL(strstr(es_tu_log_text(&l), want));
	pin = es_tu_pin(srv);
	snprintf(want, sizeof(want), "presented=\"%s\"", es_pin_format(&pin, pbuf));
	CU_ASSERT_PTR_NOT_NULL(strstr(es_tu_log_text(&l), want));
	/* edgesync test connects the same way but logs nothing */
	pin = es_tu_pin(pinned);
	es_tu_log_close(&l);
	es_tu_log_open(&l, CC_LOG_TEXT);
	rep.log = l.log;
	CU_ASSERT_EQUAL(es_sync_connect_edge(&rep, &s, false, ES_ROTATE_NEVER, &c),
	                ES_ERR_PIN_MISMATCH);
	CU_ASSERT_STRING_EQUAL(es_tu_log_text(&l), "");
	es_tu_log_close(&l);
	es_tu_server_stop(server);
	es_config_free(cfg);
	X509_free(srv);
	X509_free(pinned);
	EVP_PKEY_free(srv_key);
	EVP_PKEY_free(pinned_key);
	free(cp);
	free(kp);
	free(conf);
	tu_rmrf(dir);
	free(dir);
}

int
main(void)
{
	CU_TestInfo tests[] = {
	        {"when a password is rotated", test_rotation_due},
	        {"an edge with another key is refused and logged (2002)", test_pin_mismatch_logged},
	        CU_TEST_INFO_NULL,
	};
	return tu_run("es_sync", tests);
}
