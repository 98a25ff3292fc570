/* The subscription file: JSON both ways, strict checks, validity, 0600 (subfile.c). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "edgesync/secret.h"
#include "edgesync/subfile.h"
#include "es_testutil.h"

static char *dir;
static X509 *cert;
static EVP_PKEY *key;

static struct es_subfile
sample(void)
{
	struct es_subfile sf;

	memset(&sf, 0, sizeof(sf));
	sf.edge_name = "edge1";
	sf.fqdn = "edge1.example.test";
	sf.url = "ldaps://192.0.2.1:636";
	sf.base = "dc=edge1,dc=test";
	sf.bind_dn = "cn=edgesync,dc=edge1,dc=test";
	sf.bind_password = "0123456789abcdefABCDEF0123456789";
	sf.cert = cert;
	sf.effective = 1795863600;
	sf.minutes = 1440;
	return sf;
}

static char *
sample_json(void)
{
	struct es_subfile sf = sample();
	char *j = NULL;

	CU_ASSERT_FATAL(es_subfile_to_json(&sf, &j) == ES_OK);
	return j;
}

static void
test_round_trip(void)
{
	char *j = sample_json();
	struct es_subfile *back = NULL;

	CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"effective\": \"2026-11-28T11:00:00Z\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(j, "-----BEGIN CERTIFICATE-----"));
	CU_ASSERT_EQUAL_FATAL(es_subfile_parse(j, strlen(j), &back), ES_OK);
	CU_ASSERT_STRING_EQUAL(back->edge_name, "edge1");
	CU_ASSERT_STRING_EQUAL(back->bind_password, "0123456789abcdefABCDEF0123456789");
	CU_ASSERT_EQUAL(back->effective, 1795863600);
	CU_ASSERT_EQUAL(back->minutes, 1440);
	CU_ASSERT_EQUAL(X509_cmp(back->cert, cert), 0);
	es_subfile_free(back);
	es_subfile_free(NULL);
	es_secret_free(j);
}

static void
test_validity(void)
{
	struct es_subfile sf = sample();
	time_t t0 = sf.effective;

	CU_ASSERT_EQUAL(es_subfile_check_time(&sf, t0), ES_OK);
	CU_ASSERT_EQUAL(es_subfile_check_time(&sf, t0 + 1440 * 60 - 1), ES_OK);
	CU_ASSERT_EQUAL(es_subfile_check_time(&sf, t0 + 1440 * 60), ES_ERR_EXPIRED);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "expired at 2026-11-29T11:00:00Z"));
	CU_ASSERT_EQUAL(es_subfile_check_time(&sf, t0 + 86400 * 30), ES_ERR_EXPIRED);
	/* a little clock skew is allowed, a file from the future is not */
	CU_ASSERT_EQUAL(es_subfile_check_time(&sf, t0 - ES_SUBFILE_SKEW), ES_OK);
	CU_ASSERT_EQUAL(es_subfile_check_time(&sf, t0 - ES_SUBFILE_SKEW - 1), ES_ERR_EXPIRED);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "not effective before"));
}

/* The sample with one key set to a JSON value (NULL: removed); must be refused. */
static void
refused(const char *k, json_t *v, const char *why)
{
	char *j = sample_json(), *t;
	json_t *o = json_loads(j, 0, NULL);
	struct es_subfile *sf = (struct es_subfile *)1;

	if (v == NULL)
		json_object_del(o, k);
	else
		json_object_set_new(o, k, v);
	t = json_dumps(o, 0);
	CU_ASSERT_EQUAL(es_subfile_parse(t, strlen(t), &sf), ES_ERR_PARSE);
	CU_ASSERT_PTR_NULL(sf);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), why));
	if (strstr(es_errdetail(), why) == NULL)
		fprintf(stderr, "\n    %s: got %s\n", k, es_errdetail());
	free(t);
	json_decref(o);
	es_secret_free(j);
}

static void
test_refusals(void)
{
	struct es_subfile *sf = NULL;
	char *j = sample_json();

	refused("bind_dn", NULL, "no \"bind_dn\"");
	refused("bind_password", json_string(""), "not a non-empty string");
	refused("bind_password", json_integer(5), "not a non-empty string");
	refused("version", json_integer(2), "\"version\" is not 1");
	refused("version", json_string("1"), "\"version\" is not 1");
	refused("extra", json_true(), "unknown key \"extra\"");
	refused("edge_name", json_string("edge 1"), "edge name");
	refused("url", json_string("http://x/"), "is not ldaps:// or ldap://");
	refused("url", json_string("ldapi:///"), "is not ldaps:// or ldap://");
	refused("base", json_string("not a dn"), "base \"not a dn\" is not a DN");
	refused("certificate",
	        json_string("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
	        "not a PEM certificate");
	refused("effective", json_string("yesterday"), "is not YYYY-MM-DDTHH:MM:SSZ");
	refused("effective", json_string("2026-11-28T11:00:00+01:00"), "YYYY-MM-DDTHH:MM:SSZ");
	refused("duration_minutes", json_integer(0), "\"duration_minutes\" is not 1 to");
	refused("duration_minutes", json_integer(ES_SUBFILE_MAX_MINUTES + 1), "is not 1 to");
	refused("duration_minutes", json_string("60"), "is not 1 to");
	CU_ASSERT_EQUAL(es_subfile_parse(j, strlen(j) / 2, &sf), ES_ERR_PARSE);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "not JSON"));
	CU_ASSERT_EQUAL(es_subfile_parse("[1,2]", 5, &sf), ES_ERR_PARSE);
	CU_ASSERT_EQUAL(es_subfile_parse("{\"version\":1,\"version\":1}", 25, &sf), ES_ERR_PARSE);
	CU_ASSERT_EQUAL(es_subfile_parse("", 0, &sf), ES_ERR_PARSE);
	es_secret_free(j);
}

static void
test_write_read(void)
{
	struct es_subfile sf = sample(), *back = NULL;
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/edge1.sub", dir);
	CU_ASSERT_EQUAL_FATAL(es_subfile_write(path, &sf), ES_OK);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	CU_ASSERT_EQUAL(es_subfile_read(path, &back), ES_OK);
	CU_ASSERT_STRING_EQUAL(back->url, sf.url);
	es_subfile_free(back);
	CU_ASSERT_EQUAL(es_subfile_read("/nonexistent/x.sub", &back), ES_ERR_IO);
	snprintf(path, sizeof(path), "%s/bad.sub", dir);
	tu_write_file(path, "{", 1, 0600);
	CU_ASSERT_EQUAL(es_subfile_read(path, &back), ES_ERR_PARSE);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "bad.sub: subscription file: not JSON"));
	CU_ASSERT_EQUAL(es_subfile_write("/nonexistent/dir/x.sub", &sf), ES_ERR_IO);
}

int
main(void)
{
	CU_TestInfo tests[] = {
	        {"JSON both ways", test_round_trip},
	        {"validity window", test_validity},
	        {"malformed files are refused", test_refusals},
	        {"written 0600, read back", test_write_read},
	        CU_TEST_INFO_NULL,
	};
	int r;

	es_json_wipe_on_free();
	dir = tu_tmpdir();
	es_tu_cert("edge1.example.test", &cert, &key);
	r = tu_run("es_subfile", tests);
	X509_free(cert);
	EVP_PKEY_free(key);
	tu_rmrf(dir);
	free(dir);
	return r;
}
