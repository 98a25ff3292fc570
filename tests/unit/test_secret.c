/*
 * secret.c: password files, one rule for certctl and edgesync (a review found certctl took a 0644
 * file that edgesync refused). The first line; files others may read, links, directories,
 * empty first lines and NUL bytes refused; wiping.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "certcore/secret.h"
#include "testutil.h"

static char *dir;

static void __attribute__((format(printf, 2, 3))) pathf(char buf[PATH_MAX], const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, PATH_MAX, fmt, ap);
	va_end(ap);
	CU_ASSERT_FATAL(n > 0 && n < PATH_MAX);
}

/* Writes `text` (len bytes) to dir/name with `mode` and reads it back as a password. */
static enum cc_err
read_as(const char *name, const char *text, size_t len, unsigned mode, char **pw)
{
	char p[PATH_MAX];

	pathf(p, "%s/%s", dir, name);
	tu_write_file(p, text, len, mode);
	CU_ASSERT_EQUAL_FATAL(chmod(p, mode), 0);
	return cc_secret_read_file(p, pw);
}

static void
test_first_line(void)
{
	char *pw = NULL;

	CU_ASSERT_EQUAL(read_as("lf", "s3cret pass\nsecond\n", 19, 0600, &pw), CC_OK);
	CU_ASSERT_STRING_EQUAL(pw, "s3cret pass");
	cc_secret_free(pw);
	CU_ASSERT_EQUAL(read_as("crlf", "crlf\r\n", 6, 0400, &pw), CC_OK);
	CU_ASSERT_STRING_EQUAL(pw, "crlf");
	cc_secret_free(pw);
	CU_ASSERT_EQUAL(read_as("bare", "no newline", 10, 0600, &pw), CC_OK);
	CU_ASSERT_STRING_EQUAL(pw, "no newline");
	cc_secret_free(pw);
	cc_secret_free(NULL);
}

/* Every mode that lets the group or others in is refused, naming the file and its mode. */
static void
test_open_modes_refused(void)
{
	static const unsigned modes[] = {0644, 0640, 0604, 0660, 0606, 0610, 0601, 0620, 0602};
	char *pw = (char *)"unchanged", name[32], want[32];
	size_t i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		snprintf(name, sizeof(name), "pw%03o", modes[i]);
		CU_ASSERT_EQUAL(read_as(name, "secret\n", 7, modes[i], &pw), CC_ERR_PERM);
		CU_ASSERT_PTR_NULL(pw);
		snprintf(want, sizeof(want), "(mode %03o)", modes[i]);
		CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), want));
		CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), name));
		CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "chmod 600"));
	}
}

static void
test_bad_files_refused(void)
{
	char *pw = (char *)"unchanged", p[PATH_MAX], target[PATH_MAX];

	CU_ASSERT_EQUAL(read_as("empty", "\nsecret\n", 8, 0600, &pw), CC_ERR_PARSE);
	CU_ASSERT_PTR_NULL(pw);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "empty"));
	CU_ASSERT_EQUAL(read_as("nothing", "", 0, 0600, &pw), CC_ERR_PARSE);
	CU_ASSERT_EQUAL(read_as("nul", "se\0cret\n", 8, 0600, &pw), CC_ERR_PARSE);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "NUL"));
	CU_ASSERT_EQUAL(cc_secret_read_file("/nonexistent/pw", &pw), CC_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "/nonexistent/pw"));
	/* A directory, and a link to a good file: neither is read. */
	CU_ASSERT_NOT_EQUAL(cc_secret_read_file(dir, &pw), CC_OK);
	CU_ASSERT_PTR_NULL(pw);
	pathf(target, "%s/lf", dir);
	pathf(p, "%s/link", dir);
	CU_ASSERT_EQUAL_FATAL(symlink(target, p), 0);
	CU_ASSERT_NOT_EQUAL(cc_secret_read_file(p, &pw), CC_OK);
	CU_ASSERT_PTR_NULL(pw);
	/* Larger than any password: not read. */
	{
		char big[5000];

		memset(big, 'a', sizeof(big));
		CU_ASSERT_EQUAL(read_as("big", big, sizeof(big), 0600, &pw), CC_ERR_PARSE);
		CU_ASSERT_PTR_NULL(pw);
	}
}

int
main(void)
{
	CU_TestInfo tests[] = {
	        {"the first line of a 0600 or 0400 file", test_first_line},
	        {"a file its group or others may use is refused", test_open_modes_refused},
	        {"empty, NUL, missing, directory, link, oversized: refused",
	         test_bad_files_refused},
	        CU_TEST_INFO_NULL,
	};
	int r;

	dir = tu_tmpdir();
	r = tu_run("secret", tests);
	tu_rmrf(dir);
	free(dir);
	return r;
}
