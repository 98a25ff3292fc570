/* The replicator's process state: store and source connection (replicator.c). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "edgesync/replicator.h"
#include "es_testutil.h"
#include "replicator_impl.h"

static char *dir;

static struct es_config *
config(const char *url, const char *pwfile)
{
	char text[1024], *p;
	struct es_config *c = NULL;

	snprintf(text, sizeof(text),
	         "[edgesync]\nstore = %s/store\ntimeout = 2\n\n[source]\nurl = %s\n"
	         "bind_dn = cn=admin,dc=corp,dc=test\nbind_password_file = %s\n"
	         "subscriptions = cn=Edge Subscriptions,dc=corp,dc=test\n",
	         dir, url, pwfile);
	p = es_tu_file(dir, "rep.conf", text);
	CU_ASSERT_FATAL(es_config_load(p, &c) == ES_OK);
	free(p);
	return c;
}

static void
test_store_opened(void)
{
	struct es_config *c = config("ldaps://127.0.0.1:1", "/none");
	struct cc_store *s = NULL;
	struct stat st;
	char path[512];

	CU_ASSERT_EQUAL_FATAL(es_replicator_open_store(c, &s), ES_OK);
	snprintf(path, sizeof(path), "%s/store", dir);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0700);
	cc_store_free(s);
	es_config_free(c);
}

static void
test_refusals(void)
{
	char url[64], *pw = es_tu_file(dir, "pw", "secret\n"), *open_pw;
	struct es_config *c;
	struct es_replicator *rep = (struct es_replicator *)1;

	/* the source is down */
	snprintf(url, sizeof(url), "ldaps://127.0.0.1:%d", tu_free_port());
	c = config(url, pw);
	CU_ASSERT_EQUAL(es_replicator_open(c, NULL, &rep), ES_ERR_CONNECT);
	CU_ASSERT_PTR_NULL(rep);
	es_config_free(c);
	/* a password file others can read is refused before any connection */
	open_pw = es_tu_file(dir, "pw-open", "secret\n");
	tu_write_file(open_pw, "secret\n", 7, 0644);
	c = config(url, open_pw);
	CU_ASSERT_EQUAL(es_replicator_open(c, NULL, &rep), ES_ERR_IO);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "chmod 600"));
	es_config_free(c);
	/* a configuration without [source] */
	c = config(url, pw);
	c->has_source = false;
	CU_ASSERT_EQUAL(es_replicator_open(c, NULL, &rep), ES_ERR_CONFIG);
	es_config_free(c);
	es_replicator_free(NULL);
	free(pw);
	free(open_pw);
}

static void
test_stopping(void)
{
	struct es_replicator rep;
	volatile sig_atomic_t flag = 0;

	memset(&rep, 0, sizeof(rep));
	CU_ASSERT(!es_replicator_stopping(&rep));
	rep.stop = &flag;
	CU_ASSERT(!es_replicator_stopping(&rep));
	flag = 1;
	CU_ASSERT(es_replicator_stopping(&rep));
}

int
main(void)
{
	CU_TestInfo tests[] = {
	        {"the store is made 0700", test_store_opened},
	        {"source down, unsafe password file, no [source]", test_refusals},
	        {"the stop flag", test_stopping},
	        CU_TEST_INFO_NULL,
	};
	int r;

	dir = tu_tmpdir();
	r = tu_run("es_replicator", tests);
	tu_rmrf(dir);
	free(dir);
	return r;
}
