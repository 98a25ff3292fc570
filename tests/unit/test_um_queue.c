/* The submission queue over the spool's folders (um/src/voicemail/queue.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "voicemail/queue.h"

static char *dir;

static void
path(char *buf, size_t len, const char *folder, const char *id, const char *ext)
{
	snprintf(buf, len, "%s/%s/%s%s", dir, folder, id, ext);
}

static bool
exists(const char *folder, const char *id, const char *ext)
{
	char p[512];

	path(p, sizeof(p), folder, id, ext);
	return access(p, F_OK) == 0;
}

/* A committed message in `folder`: ID.wav, then ID.json. */
static void
put(const char *folder, const char *id, const char *started)
{
	char p[512], json[512];

	path(p, sizeof(p), folder, id, ".wav");
	tu_write_file(p, "RIFF....WAVE", 12, 0600);
	snprintf(json, sizeof(json),
	         "{\"id\": \"%s\", \"call_id\": \"c1\", \"from\": \"<sip:1002@gw>\", "
	         "\"to\": \"sip:1001@um\", \"gateway\": \"gw1\", \"started\": \"%s\", "
	         "\"seconds\": 3.5, \"media\": \"RTP\", \"truncated\": false, "
	         "\"um_thumbprint\": null}",
	         id, started);
	path(p, sizeof(p), folder, id, ".json");
	tu_write_file(p, json, strlen(json), 0600);
}

static struct um_queue *
setup(void)
{
	static const char *const f[] = {"tmp", "new", "sent", "failed"};
	struct um_queue *q = NULL;
	char p[512];
	size_t i;

	dir = tu_tmpdir();
	for (i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, f[i]);
		CU_ASSERT_EQUAL_FATAL(mkdir(p, 0700), 0);
	}
	CU_ASSERT_EQUAL_FATAL(um_queue_open(dir, &q), UM_OK);
	return q;
}

static void
teardown(struct um_queue *q)
{
	um_queue_free(q);
	tu_rmrf(dir);
	free(dir);
}

static void
test_list_and_record(void)
{
	struct um_queue *q = setup();
	struct um_qmsg *v = NULL, m;
	size_t n = 0;

	put("new", "20261202T071600Z-00000002", "2026-12-02T07:16:00Z");
	put("new", "20261202T071500Z-00000001", "2026-12-02T07:15:00Z");
	/* Not messages: a WAV without its JSON (a commit under way), dot files, odd names. */
	{
		char p[512];

		path(p, sizeof(p), "new", "20261202T071700Z-00000003", ".wav");
		tu_write_file(p, "x", 1, 0600);
		path(p, sizeof(p), "new", ".20261202T071500Z-00000001", ".json.123");
		tu_write_file(p, "{", 1, 0600);
		path(p, sizeof(p), "new", "bad name", ".json");
		tu_write_file(p, "{}", 2, 0600);
	}
	CU_ASSERT_EQUAL_FATAL(um_queue_list(q, UM_Q_NEW, NULL, NULL, &v, &n), UM_OK);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_STRING_EQUAL(v[0].id, "20261202T071500Z-00000001");
	CU_ASSERT_STRING_EQUAL(v[0].to, "sip:1001@um");
	CU_ASSERT_EQUAL(v[0].started, 1796195700);
	CU_ASSERT_EQUAL(v[0].attempts, 0);
	CU_ASSERT_STRING_EQUAL(um_qmsg_state(&v[0], 1796195700), "queued");
	/* A record written and read back. */
	v[0].attempts = 2;
	v[0].last_attempt = 1796195760;
	v[0].next_attempt = 1796195880;
	v[0].last_error = strdup("the hub answered RCPT: 451 4.3.0 later");
	v[0].message_id = strdup("<20261202T071500Z-00000001@um1>");
	CU_ASSERT_EQUAL(um_queue_save(q, &v[0]), UM_OK);
	CU_ASSERT_EQUAL_FATAL(um_queue_get(q, "20261202T071500Z-00000001", &m), UM_OK);
	CU_ASSERT_EQUAL(m.attempts, 2);
	CU_ASSERT_EQUAL(m.next_attempt, 1796195880);
	CU_ASSERT_STRING_EQUAL(m.last_error, "the hub answered RCPT: 451 4.3.0 later");
	CU_ASSERT_STRING_EQUAL(m.message_id, "<20261202T071500Z-00000001@um1>");
	CU_ASSERT_STRING_EQUAL(um_qmsg_state(&m, 1796195800), "deferred");
	CU_ASSERT_STRING_EQUAL(um_qmsg_state(&m, 1796195900), "queued");
	um_qmsg_clear(&m);
	um_qmsg_free_all(v, n);
	/* Not found, and names that are not IDs. */
	CU_ASSERT_EQUAL(um_queue_get(q, "20991202T071500Z-00000009", &m), UM_ERR_NOTFOUND);
	CU_ASSERT_EQUAL(um_queue_get(q, "../new/x", &m), UM_ERR_INVAL);
	CU_ASSERT_EQUAL(um_queue_get(q, ".hidden", &m), UM_ERR_INVAL);
	CU_ASSERT_EQUAL(um_queue_get(q, "", &m), UM_ERR_INVAL);
	teardown(q);
}

static void
test_moves(void)
{
	struct um_queue *q = setup();
	struct um_qmsg m;
	char p[512], *text;

	put("new", "A1", "2026-12-02T07:15:00Z");
	put("new", "A2", "2026-12-02T07:15:00Z");
	put("new", "A3", "2026-12-02T07:15:00Z");
	/* To sent/: every file, ID.json last. */
	CU_ASSERT_EQUAL_FATAL(um_queue_get(q, "A1", &m), UM_OK);
	m.submitted = 1796195760;
	CU_ASSERT_EQUAL(um_queue_save(q, &m), UM_OK);
	CU_ASSERT_EQUAL(um_queue_move(q, &m, UM_Q_SENT, NULL, true), UM_OK);
	CU_ASSERT(exists("sent", "A1", ".wav") && exists("sent", "A1", ".json") &&
	          exists("sent", "A1", ".state"));
	CU_ASSERT(!exists("new", "A1", ".wav") && !exists("new", "A1", ".json"));
	um_qmsg_clear(&m);
	/* To failed/ with the reason. */
	CU_ASSERT_EQUAL_FATAL(um_queue_get(q, "A2", &m), UM_OK);
	CU_ASSERT_EQUAL(um_queue_move(q, &m, UM_Q_FAILED, "550 5.1.1 unknown", true), UM_OK);
	path(p, sizeof(p), "failed", "A2", ".error");
	text = tu_read_file(p, NULL);
	CU_ASSERT_STRING_EQUAL(text, "550 5.1.1 unknown\n");
	free(text);
	CU_ASSERT(exists("failed", "A2", ".wav") && exists("failed", "A2", ".json"));
	um_qmsg_clear(&m);
	/* sent_retention_days = 0: deleted. */
	CU_ASSERT_EQUAL_FATAL(um_queue_get(q, "A3", &m), UM_OK);
	CU_ASSERT_EQUAL(um_queue_move(q, &m, UM_Q_SENT, NULL, false), UM_OK);
	CU_ASSERT(!exists("new", "A3", ".json") && !exists("sent", "A3", ".json") &&
	          !exists("new", "A3", ".wav"));
	/* Only from new/. */
	m.where = UM_Q_SENT;
	CU_ASSERT_EQUAL(um_queue_move(q, &m, UM_Q_FAILED, "x", true), UM_ERR_INVAL);
	um_qmsg_clear(&m);
	teardown(q);
}

/* A move cut after the WAV's rename is completed by the next list; never sent again. */
static void
test_cut_move(void)
{
	struct um_queue *q = setup();
	struct um_qmsg *v = NULL;
	size_t n = 0;
	char a[512], b[512];

	put("new", "B1", "2026-12-02T07:15:00Z");
	path(a, sizeof(a), "new", "B1", ".wav");
	path(b, sizeof(b), "sent", "B1", ".wav");
	CU_ASSERT_EQUAL_FATAL(rename(a, b), 0);
	CU_ASSERT_EQUAL(um_queue_list(q, UM_Q_NEW, NULL, NULL, &v, &n), UM_OK);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT(exists("sent", "B1", ".json"));
	um_qmsg_free_all(v, n);
	/* A JSON whose WAV is nowhere stays, with wav_missing said. */
	put("new", "B2", "2026-12-02T07:15:00Z");
	path(a, sizeof(a), "new", "B2", ".wav");
	unlink(a);
	CU_ASSERT_EQUAL(um_queue_list(q, UM_Q_NEW, NULL, NULL, &v, &n), UM_OK);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT(v[0].wav_missing);
	um_qmsg_free_all(v, n);
	teardown(q);
}

static int warned;

static void
count_warn(void *arg, const char *msg)
{
	(void)arg;
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "C1.json"));
	warned++;
}

/* An unreadable ID.json is left out and said; a broken record starts anew. */
static void
test_bad_files(void)
{
	struct um_queue *q = setup();
	struct um_qmsg *v = NULL;
	size_t n = 0;
	char p[512];

	put("new", "C1", "2026-12-02T07:15:00Z");
	path(p, sizeof(p), "new", "C1", ".json");
	tu_write_file(p, "{\"id\": ", 7, 0600);
	put("new", "C2", "2026-12-02T07:15:00Z");
	path(p, sizeof(p), "new", "C2", ".state");
	tu_write_file(p, "[1,2", 4, 0600);
	warned = 0;
	CU_ASSERT_EQUAL(um_queue_list(q, UM_Q_NEW, count_warn, NULL, &v, &n), UM_OK);
	CU_ASSERT_EQUAL(warned, 1);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_STRING_EQUAL(v[0].id, "C2");
	CU_ASSERT_EQUAL(v[0].attempts, 0);
	um_qmsg_free_all(v, n);
	/* A folder missing: the queue cannot open. */
	{
		struct um_queue *q2 = NULL;

		snprintf(p, sizeof(p), "%s/failed", dir);
		CU_ASSERT_EQUAL(rmdir(p), 0);
		CU_ASSERT_EQUAL(um_queue_open(dir, &q2), UM_ERR_SPOOL);
		CU_ASSERT_PTR_NULL(q2);
		CU_ASSERT_PTR_NOT_NULL(strstr(um_errdetail(), "failed"));
		CU_ASSERT_EQUAL(mkdir(p, 0700), 0);
	}
	teardown(q);
}

static void
test_retry_and_purge(void)
{
	struct um_queue *q = setup();
	struct um_qmsg m;
	size_t n = 0;

	put("new", "D1", "2026-12-02T07:15:00Z");
	CU_ASSERT_EQUAL(um_queue_retry(q, "D1"), UM_OK);
	CU_ASSERT(exists("new", "D1", ".retry"));
	CU_ASSERT_EQUAL_FATAL(um_queue_get(q, "D1", &m), UM_OK);
	CU_ASSERT(m.retry);
	um_qmsg_clear(&m);
	um_queue_retry_taken(q, "D1");
	CU_ASSERT(!exists("new", "D1", ".retry"));
	/* A failed message goes back to new/, its record reset. */
	put("failed", "D2", "2026-12-02T07:15:00Z");
	{
		char p[512];

		path(p, sizeof(p), "failed", "D2", ".error");
		tu_write_file(p, "x\n", 2, 0600);
		path(p, sizeof(p), "failed", "D2", ".state");
		tu_write_file(p, "{\"attempts\": 7, \"last_error\": \"550\"}", 36, 0600);
	}
	CU_ASSERT_EQUAL(um_queue_retry(q, "D2"), UM_OK);
	CU_ASSERT(exists("new", "D2", ".json") && exists("new", "D2", ".wav"));
	CU_ASSERT(!exists("failed", "D2", ".json") && !exists("failed", "D2", ".error"));
	CU_ASSERT_EQUAL_FATAL(um_queue_get(q, "D2", &m), UM_OK);
	CU_ASSERT_EQUAL(m.attempts, 0);
	CU_ASSERT_PTR_NULL(m.last_error);
	um_qmsg_clear(&m);
	/* A sent message is not retried; an unknown one is not found. */
	put("sent", "D3", "2026-12-02T07:15:00Z");
	CU_ASSERT_EQUAL(um_queue_retry(q, "D3"), UM_ERR_INVAL);
	CU_ASSERT_EQUAL(um_queue_retry(q, "D9"), UM_ERR_NOTFOUND);
	/* Retention: D3 (started 2026-12-02) is kept at 7 days, purged 8 days on. */
	CU_ASSERT_EQUAL(um_queue_purge_sent(q, 7, 1796195700 + 6 * 86400, &n), UM_OK);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(um_queue_purge_sent(q, 7, 1796195700 + 8 * 86400, &n), UM_OK);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT(!exists("sent", "D3", ".json") && !exists("sent", "D3", ".wav"));
	teardown(q);
}

static void
test_times(void)
{
	CU_ASSERT_EQUAL(um_queue_parse_time("2026-12-02T07:15:00Z"), 1796195700);
	CU_ASSERT_EQUAL(um_queue_parse_time("2026-12-02T07:15:00"), 0);
	CU_ASSERT_EQUAL(um_queue_parse_time("2026-12-02T07:15:00Zjunk"), 0);
	CU_ASSERT_EQUAL(um_queue_parse_time("yesterday"), 0);
	CU_ASSERT_EQUAL(um_queue_parse_time(NULL), 0);
}

static CU_TestInfo tests[] = {
        {"list, record saved and read", test_list_and_record},
        {"moves to sent/ and failed/, deletion", test_moves},
        {"a move cut short is completed", test_cut_move},
        {"unreadable files", test_bad_files},
        {"retry and the retention of sent/", test_retry_and_purge},
        {"times", test_times},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("um_queue", tests);
}
