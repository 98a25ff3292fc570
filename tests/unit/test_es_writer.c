/* Pipelined writes (writer.c): the failure paths that need no directory; the directory's side
 * is in tests/integration/edgesync_*.sh. */
#include <stdlib.h>
#include <string.h>

#include "edgesync/writer.h"
#include "es_testutil.h"
#include "testhook.h"

static char *dir, *cert_path, *key_path, url[64];
static X509 *srv;
static EVP_PKEY *srv_key;

static struct es_conn *
connect_to_server(void)
{
	struct es_pin pin = es_tu_pin(srv);
	struct es_conn_opts o = {url, 1, NULL, &pin, 1, NULL, NULL};
	struct es_conn *c = NULL;

	CU_ASSERT_FATAL(es_conn_open(&o, &c, NULL, NULL) == ES_OK);
	return c;
}

#ifdef UMEDGE_TEST_HOOKS
static long seen_hook;

static void
hook(long confirmed)
{
	seen_hook = confirmed;
}
#endif

static void
test_no_answer(void)
{
	struct es_conn *c = connect_to_server();
	struct es_writer *w = NULL;
	struct es_entry *e = NULL;
	const struct es_writer_stats *st;

#ifdef UMEDGE_TEST_HOOKS
	es_writer_test_hook = hook;
#endif
	CU_ASSERT_EQUAL_FATAL(es_writer_new(c, 4, &w), ES_OK);
	CU_ASSERT_FATAL(es_entry_new("cn=a,dc=edge1,dc=test", "k", &e) == ES_OK);
	CU_ASSERT_FATAL(es_entry_add_value(e, "cn", "a", 1) == ES_OK);
	/* sent without waiting */
	CU_ASSERT_EQUAL(es_writer_add(w, e), ES_OK);
	CU_ASSERT_EQUAL(es_writer_delete(w, "cn=b,dc=edge1,dc=test"), ES_OK);
	st = es_writer_stats(w);
	CU_ASSERT_EQUAL(st->sent, 2);
	CU_ASSERT_EQUAL(st->outstanding_max, 2);
	/* nothing confirms them: the cycle fails, nothing is counted as done */
	CU_ASSERT_EQUAL(es_writer_finish(w), ES_ERR_CONNECT);
	CU_ASSERT_EQUAL(st->added + st->modified + st->deleted, 0);
#ifdef UMEDGE_TEST_HOOKS
	CU_ASSERT_EQUAL(seen_hook, 0);
#endif
	/* after a failure nothing more is sent */
	CU_ASSERT_NOT_EQUAL(es_writer_delete(w, "cn=c,dc=edge1,dc=test"), ES_OK);
	CU_ASSERT_EQUAL(st->sent, 2);
	es_writer_free(w);
	es_writer_free(NULL);
	es_entry_free(e);
	es_conn_close(c);
#ifdef UMEDGE_TEST_HOOKS
	es_writer_test_hook = NULL;
#endif
}

static void
test_window(void)
{
	struct es_conn *c = connect_to_server();
	struct es_writer *w = NULL;
	int i;

	/* a full window waits for a result before sending more: here none comes */
	CU_ASSERT_EQUAL_FATAL(es_writer_new(c, 3, &w), ES_OK);
	for (i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(es_writer_delete(w, "cn=x,dc=edge1,dc=test"), ES_OK);
	CU_ASSERT_EQUAL(es_writer_stats(w)->outstanding_max, 3);
	CU_ASSERT_EQUAL(es_writer_delete(w, "cn=y,dc=edge1,dc=test"), ES_ERR_CONNECT);
	CU_ASSERT_EQUAL(es_writer_stats(w)->sent, 3);
	es_writer_free(w);
	es_conn_close(c);
}

int
main(void)
{
	CU_TestInfo tests[] = {
	        {"writes nobody confirms fail the cycle", test_no_answer},
	        {"the window bounds writes in flight", test_window},
	        CU_TEST_INFO_NULL,
	};
	int port, r;
	pid_t server;

	dir = tu_tmpdir();
	es_tu_cert("edge.example.test", &srv, &srv_key);
	es_tu_write_pair(dir, "srv", srv, srv_key, &cert_path, &key_path);
	server = es_tu_server_start(cert_path, key_path, &port);
	snprintf(url, sizeof(url), "ldaps://127.0.0.1:%d", port);
	r = tu_run("es_writer", tests);
	es_tu_server_stop(server);
	X509_free(srv);
	EVP_PKEY_free(srv_key);
	free(cert_path);
	free(key_path);
	tu_rmrf(dir);
	free(dir);
	return r;
}
