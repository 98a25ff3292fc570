/* Passwords: files, random passwords, wiping (secret.c). */
#include <stdlib.h>
#include <string.h>

#include "edgesync/secret.h"
#include "es_testutil.h"

static char *dir;

static void
test_random(void)
{
	char *a = NULL, *b = NULL;
	size_t i;

	CU_ASSERT_EQUAL_FATAL(es_secret_random(&a), ES_OK);
	CU_ASSERT_EQUAL_FATAL(es_secret_random(&b), ES_OK);
	CU_ASSERT_EQUAL(strlen(a), ES_PASSWORD_LEN);
	for (i = 0; a[i] != '\0'; i++)
		CU_ASSERT(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
		                 a[i]) != NULL);
	CU_ASSERT_STRING_NOT_EQUAL(a, b);
	es_secret_free(a);
	es_secret_free(b);
	es_secret_free(NULL);
}

static void
test_read_first_line(void)
{
	char *p = es_tu_file(dir, "pw1", "s3cret\nsecond line\n"), *pw = NULL;

	CU_ASSERT_EQUAL(es_secret_read_file(p, &pw), ES_OK);
	CU_ASSERT_STRING_EQUAL(pw, "s3cret");
	es_secret_free(pw);
	free(p);
	p = es_tu_file(dir, "pw2", "crlf\r\n");
	CU_ASSERT_EQUAL(es_secret_read_file(p, &pw), ES_OK);
	CU_ASSERT_STRING_EQUAL(pw, "crlf");
	es_secret_free(pw);
	free(p);
	p = es_tu_file(dir, "pw3", "no newline");
	CU_ASSERT_EQUAL(es_secret_read_file(p, &pw), ES_OK);
	CU_ASSERT_STRING_EQUAL(pw, "no newline");
	es_secret_free(pw);
	free(p);
}

static void
test_read_refused(void)
{
	char *p, *pw = (char *)"unchanged";

	p = es_tu_file(dir, "open", "secret\n");
	tu_write_file(p, "secret\n", 7, 0644);
	CU_ASSERT_EQUAL(es_secret_read_file(p, &pw), ES_ERR_IO);
	CU_ASSERT_PTR_NULL(pw);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "chmod 600"));
	free(p);
	p = es_tu_file(dir, "empty", "\nsecret\n");
	CU_ASSERT_EQUAL(es_secret_read_file(p, &pw), ES_ERR_IO);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "empty"));
	free(p);
	p = es_tu_file(dir, "nul", "a");
	tu_write_file(p, "se\0cret\n", 8, 0600);
	CU_ASSERT_EQUAL(es_secret_read_file(p, &pw), ES_ERR_IO);
	free(p);
	CU_ASSERT_EQUAL(es_secret_read_file("/nonexistent/pw", &pw), ES_ERR_IO);
	CU_ASSERT_PTR_NOT_NULL(strstr(es_errdetail(), "/nonexistent/pw"));
	/* a directory is not a password file */
	CU_ASSERT_EQUAL(es_secret_read_file(dir, &pw), ES_ERR_IO);
}

int
main(void)
{
	CU_TestInfo tests[] = {
	        {"random passwords", test_random},
	        {"the first line of a file", test_read_first_line},
	        {"unsafe, empty, missing files are refused", test_read_refused},
	        CU_TEST_INFO_NULL,
	};
	int r;

	dir = tu_tmpdir();
	r = tu_run("es_secret", tests);
	tu_rmrf(dir);
	free(dir);
	return r;
}
