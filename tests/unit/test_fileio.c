/*
 * fileio.c: atomic writes (exact mode, replace by rename, no temporary left behind, errno text on
 * failure) and bounded reads (size limit, regular files only, no symlinks, NUL termination).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "certcore/fileio.h"
#include "internal.h"
#include "testutil.h"

/* Writes `text` as the file `name` of `dir` with `mode`. */
static void
write_at(const char *dir, const char *name, const char *text, unsigned mode)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	tu_write_file(p, text, strlen(text), mode);
}

static void __attribute__((format(printf, 2, 3))) pathf(char buf[PATH_MAX], const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, PATH_MAX, fmt, ap);
	va_end(ap);
	CU_ASSERT_FATAL(n > 0 && n < PATH_MAX);
}

/* Number of entries in a directory other than "." and ".."; `tmp` counts writers' temporaries. */
static int
count_entries(const char *dir, int *tmp)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (tmp != NULL)
		*tmp = 0;
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		n++;
		if (tmp != NULL && de->d_name[0] == '.' && strstr(de->d_name, ".tmp.") != NULL)
			(*tmp)++;
	}
	closedir(d);
	return n;
}

static unsigned
mode_of(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return 0xffffffffu;
	return (unsigned)(st.st_mode & 07777);
}

static void
test_write_exact_mode(void)
{
	static const mode_t umasks[] = {077, 000, 022, 027};
	static const mode_t modes[] = {0600, 0644, 0640, 0400};
	char *dir = tu_tmpdir();
	char p[PATH_MAX];
	mode_t old = umask(022);
	size_t i, j;

	for (i = 0; i < sizeof(umasks) / sizeof(umasks[0]); i++) {
		for (j = 0; j < sizeof(modes) / sizeof(modes[0]); j++) {
			umask(umasks[i]);
			pathf(p, "%s/f-%zu-%zu", dir, i, j);
			CU_ASSERT_EQUAL(cc_file_write_atomic(p, "x", 1, modes[j]), CC_OK);
			CU_ASSERT_EQUAL(mode_of(p), (unsigned)modes[j]);
			if (mode_of(p) != (unsigned)modes[j])
				fprintf(stderr, "\n  umask %03o mode %04o: got %04o\n",
				        (unsigned)umasks[i], (unsigned)modes[j], mode_of(p));
		}
	}
	umask(old);
	tu_rmrf(dir);
	free(dir);
}

static void
test_write_replaces_atomically(void)
{
	char *dir = tu_tmpdir(), *got;
	char p[PATH_MAX], hlink[PATH_MAX];
	struct stat before, after;
	size_t len;

	pathf(p, "%s/file", dir);
	pathf(hlink, "%s/hardlink", dir);
	CU_ASSERT_EQUAL_FATAL(cc_file_write_atomic(p, "old", 3, 0644), CC_OK);
	CU_ASSERT_EQUAL_FATAL(stat(p, &before), 0);
	CU_ASSERT_EQUAL_FATAL(link(p, hlink), 0);
	CU_ASSERT_EQUAL(cc_file_write_atomic(p, "new content", 11, 0600), CC_OK);
	got = tu_read_file(p, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	CU_ASSERT_EQUAL(len, 11);
	CU_ASSERT_STRING_EQUAL(got, "new content");
	free(got);
	/* A new file took the name: the old inode (still reachable by the link) was not written. */
	CU_ASSERT_EQUAL_FATAL(stat(p, &after), 0);
	CU_ASSERT_NOT_EQUAL(before.st_ino, after.st_ino);
	CU_ASSERT_EQUAL(mode_of(p), 0600);
	got = tu_read_file(hlink, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	CU_ASSERT_STRING_EQUAL(got, "old");
	free(got);
	/* Shorter content replaces longer content entirely. */
	CU_ASSERT_EQUAL(cc_file_write_atomic(p, "z", 1, 0600), CC_OK);
	got = tu_read_file(p, &len);
	CU_ASSERT_EQUAL(len, 1);
	free(got);
	CU_ASSERT_EQUAL(count_entries(dir, NULL), 2);
	tu_rmrf(dir);
	free(dir);
}

/* A symlink planted at the path is replaced, never written through. */
static void
test_write_does_not_follow_symlink(void)
{
	char *dir = tu_tmpdir(), *got;
	char p[PATH_MAX], target[PATH_MAX];
	struct stat st;

	pathf(p, "%s/file", dir);
	pathf(target, "%s/target", dir);
	tu_write_file(target, "target", 6, 0644);
	CU_ASSERT_EQUAL_FATAL(symlink(target, p), 0);
	CU_ASSERT_EQUAL(cc_file_write_atomic(p, "secret", 6, 0600), CC_OK);
	CU_ASSERT_EQUAL_FATAL(lstat(p, &st), 0);
	CU_ASSERT_TRUE(S_ISREG(st.st_mode));
	got = tu_read_file(target, NULL);
	CU_ASSERT_STRING_EQUAL(got, "target");
	free(got);
	tu_rmrf(dir);
	free(dir);
}

static void
test_write_missing_directory(void)
{
	char *dir = tu_tmpdir();
	char p[PATH_MAX];
	enum cc_err r;

	pathf(p, "%s/no-such-dir/file", dir);
	r = cc_file_write_atomic(p, "data", 4, 0600);
	CU_ASSERT_EQUAL(r, CC_ERR_IO);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), strerror(ENOENT)));
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "no-such-dir"));
	CU_ASSERT_EQUAL(count_entries(dir, NULL), 0);
	tu_rmrf(dir);
	free(dir);
}

static void
test_no_temporary_left(void)
{
	char *dir = tu_tmpdir(), *big;
	char p[PATH_MAX], sub[PATH_MAX], inner[PATH_MAX];
	size_t len = 1024 * 1024 + 17, got_len = 0;
	int tmp;
	unsigned char *got = NULL;
	enum cc_err r;

	/* Success, with a large body. */
	big = malloc(len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, 'b', len);
	pathf(p, "%s/big", dir);
	CU_ASSERT_EQUAL(cc_file_write_atomic(p, big, len, 0600), CC_OK);
	CU_ASSERT_EQUAL(count_entries(dir, &tmp), 1);
	CU_ASSERT_EQUAL(tmp, 0);
	CU_ASSERT_EQUAL(cc_file_read(p, len, &got, &got_len, NULL), CC_OK);
	CU_ASSERT_EQUAL(got_len, len);
	CU_ASSERT(got != NULL && memcmp(got, big, len) == 0);
	free(got);
	free(big);

	/* Failure at the rename (the name is a directory): the temporary is removed. */
	pathf(sub, "%s/sub", dir);
	pathf(inner, "%s/sub/inner", dir);
	CU_ASSERT_EQUAL_FATAL(mkdir(sub, 0700), 0);
	tu_write_file(inner, "keep", 4, 0600);
	r = cc_file_write_atomic(sub, "data", 4, 0600);
	CU_ASSERT_EQUAL(r, CC_ERR_IO);
	CU_ASSERT(strlen(cc_errdetail()) > 0);
	CU_ASSERT_EQUAL(count_entries(dir, &tmp), 2);
	CU_ASSERT_EQUAL(tmp, 0);
	CU_ASSERT_EQUAL(count_entries(sub, NULL), 1);
	tu_rmrf(dir);
	free(dir);
}

static void
test_write_empty_and_relative(void)
{
	char *dir = tu_tmpdir();
	char p[PATH_MAX], cwd[PATH_MAX];
	struct stat st;

	pathf(p, "%s/empty", dir);
	CU_ASSERT_EQUAL(cc_file_write_atomic(p, "", 0, 0600), CC_OK);
	CU_ASSERT_EQUAL(stat(p, &st), 0);
	CU_ASSERT_EQUAL(st.st_size, 0);

	/* A bare name is written in the current directory. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(cwd, sizeof(cwd)));
	CU_ASSERT_EQUAL_FATAL(chdir(dir), 0);
	CU_ASSERT_EQUAL(cc_file_write_atomic("relative", "rel", 3, 0644), CC_OK);
	CU_ASSERT_EQUAL(mode_of("relative"), 0644);
	CU_ASSERT_EQUAL_FATAL(chdir(cwd), 0);
	pathf(p, "%s/relative", dir);
	CU_ASSERT_EQUAL(stat(p, &st), 0);
	CU_ASSERT_EQUAL(count_entries(dir, NULL), 2);
	tu_rmrf(dir);
	free(dir);
}

/* What the store's crash tests rely on: the steps are reached, in order, at the right moment. */
static char hook_target[PATH_MAX];
static char hook_dir[PATH_MAX];
static char hook_log[256];
static int hook_target_existed;
static int hook_tmp_seen;

static void
record_step(const char *step)
{
	size_t n = strlen(hook_log);
	int tmp = 0;

	snprintf(hook_log + n, sizeof(hook_log) - n, "%s%s", n ? "," : "", step);
	if (strcmp(step, "before-rename") == 0) {
		hook_target_existed = access(hook_target, F_OK) == 0;
		(void)count_entries(hook_dir, &tmp);
		hook_tmp_seen = tmp;
	}
}

static void
test_write_fault_steps(void)
{
	char *dir = tu_tmpdir(), *got;
	char data[1000];

	memset(data, 'd', sizeof(data));
	snprintf(hook_dir, sizeof(hook_dir), "%s", dir);
	pathf(hook_target, "%s/file", dir);
	hook_log[0] = '\0';
	cc_store_fault_hook = record_step;
	CU_ASSERT_EQUAL(cc_file_write_atomic(hook_target, data, sizeof(data), 0600), CC_OK);
	cc_store_fault_hook = NULL;
	/* "partial-write" must be reachable, or a crash test of it tests nothing. */
	CU_ASSERT_STRING_EQUAL(hook_log, "partial-write,before-rename");
	CU_ASSERT_FALSE(hook_target_existed);
	CU_ASSERT_EQUAL(hook_tmp_seen, 1);
	got = tu_read_file(hook_target, NULL);
	CU_ASSERT(got != NULL && strlen(got) == sizeof(data));
	free(got);
	tu_rmrf(dir);
	free(dir);
}

static void
test_read_content(void)
{
	char *dir = tu_tmpdir();
	char p[PATH_MAX];
	static const char data[] = "abc\0def\n";
	unsigned char *buf = NULL;
	size_t len = 99;
	mode_t mode = 0;

	pathf(p, "%s/f", dir);
	tu_write_file(p, data, sizeof(data) - 1, 0640);
	CU_ASSERT_EQUAL_FATAL(cc_file_read(p, 4096, &buf, &len, &mode), CC_OK);
	CU_ASSERT_EQUAL(len, sizeof(data) - 1);
	CU_ASSERT_EQUAL(memcmp(buf, data, sizeof(data) - 1), 0);
	CU_ASSERT_EQUAL(buf[len], '\0');
	CU_ASSERT_TRUE(S_ISREG(mode));
	CU_ASSERT_EQUAL(mode & 07777, 0640);
	free(buf);

	/* mode_out may be NULL; an empty file is an empty, terminated buffer. */
	tu_write_file(p, "", 0, 0600);
	CU_ASSERT_EQUAL_FATAL(cc_file_read(p, 0, &buf, &len, NULL), CC_OK);
	CU_ASSERT_PTR_NOT_NULL(buf);
	CU_ASSERT_EQUAL(len, 0);
	if (buf != NULL)
		CU_ASSERT_EQUAL(buf[0], '\0');
	free(buf);
	tu_rmrf(dir);
	free(dir);
}

static void
test_read_max_size(void)
{
	char *dir = tu_tmpdir();
	char p[PATH_MAX], data[100];
	unsigned char *buf = (unsigned char *)"sentinel";
	size_t len = 99;

	memset(data, 'm', sizeof(data));
	pathf(p, "%s/f", dir);
	tu_write_file(p, data, sizeof(data), 0600);
	CU_ASSERT_EQUAL(cc_file_read(p, sizeof(data) - 1, &buf, &len, NULL), CC_ERR_PARSE);
	CU_ASSERT_PTR_NULL(buf);
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT(strlen(cc_errdetail()) > 0);
	CU_ASSERT_EQUAL(cc_file_read(p, 0, &buf, &len, NULL), CC_ERR_PARSE);
	CU_ASSERT_PTR_NULL(buf);
	/* Exactly the limit is fine. */
	CU_ASSERT_EQUAL_FATAL(cc_file_read(p, sizeof(data), &buf, &len, NULL), CC_OK);
	CU_ASSERT_EQUAL(len, sizeof(data));
	free(buf);
	tu_rmrf(dir);
	free(dir);
}

static void
test_read_refusals(void)
{
	char *dir = tu_tmpdir();
	char p[PATH_MAX], target[PATH_MAX], sub[PATH_MAX];
	unsigned char *buf = (unsigned char *)"sentinel";
	size_t len = 99;
	enum cc_err r;

	/* Missing. */
	pathf(p, "%s/missing", dir);
	CU_ASSERT_EQUAL(cc_file_read(p, 4096, &buf, &len, NULL), CC_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NULL(buf);
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "missing"));

	/* A directory. */
	pathf(sub, "%s/sub", dir);
	CU_ASSERT_EQUAL_FATAL(mkdir(sub, 0700), 0);
	buf = (unsigned char *)"sentinel";
	r = cc_file_read(sub, 4096, &buf, &len, NULL);
	CU_ASSERT_NOT_EQUAL(r, CC_OK);
	CU_ASSERT_NOT_EQUAL(r, CC_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NULL(buf);

	/* A symlink to a good file, and one to the directory: neither followed. */
	pathf(target, "%s/target", dir);
	tu_write_file(target, "data", 4, 0600);
	pathf(p, "%s/link", dir);
	CU_ASSERT_EQUAL_FATAL(symlink(target, p), 0);
	buf = (unsigned char *)"sentinel";
	r = cc_file_read(p, 4096, &buf, &len, NULL);
	CU_ASSERT_NOT_EQUAL(r, CC_OK);
	CU_ASSERT_PTR_NULL(buf);
	CU_ASSERT(strlen(cc_errdetail()) > 0);
	if (r == CC_OK)
		free(buf);
	pathf(p, "%s/dirlink", dir);
	CU_ASSERT_EQUAL_FATAL(symlink(sub, p), 0);
	buf = (unsigned char *)"sentinel";
	CU_ASSERT_NOT_EQUAL(cc_file_read(p, 4096, &buf, &len, NULL), CC_OK);
	CU_ASSERT_PTR_NULL(buf);
	/* A dangling symlink is not "missing": something is there that is not ours. */
	pathf(target, "%s/nowhere", dir);
	pathf(p, "%s/dangling", dir);
	CU_ASSERT_EQUAL_FATAL(symlink(target, p), 0);
	CU_ASSERT_NOT_EQUAL(cc_file_read(p, 4096, &buf, &len, NULL), CC_OK);
	tu_rmrf(dir);
	free(dir);
}

/* A FIFO where a file is expected is refused at once: opening it must not wait for a writer. */
static void
test_read_fifo_does_not_block(void)
{
	char *dir = tu_tmpdir();
	char p[PATH_MAX];
	unsigned char *buf = NULL;
	size_t len = 0;
	pid_t pid;
	int status = 0;

	pathf(p, "%s/fifo", dir);
	CU_ASSERT_EQUAL_FATAL(mkfifo(p, 0600), 0);
	pid = fork();
	CU_ASSERT_FATAL(pid != -1);
	if (pid == 0) {
		alarm(5);
		_exit(cc_file_read(p, 4096, &buf, &len, NULL) == CC_OK ? 1 : 0);
	}
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT_TRUE(WIFEXITED(status));
	CU_ASSERT_EQUAL(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
	if (WIFSIGNALED(status))
		fprintf(stderr, "\n  reader killed by signal %d (hung on the FIFO)\n",
		        WTERMSIG(status));
	tu_rmrf(dir);
	free(dir);
}

static void
test_remove(void)
{
	char *dir = tu_tmpdir();
	char p[PATH_MAX], sub[PATH_MAX];

	pathf(p, "%s/missing", dir);
	CU_ASSERT_EQUAL(cc_file_remove(p), CC_OK);
	pathf(p, "%s/file", dir);
	tu_write_file(p, "x", 1, 0600);
	CU_ASSERT_EQUAL(cc_file_remove(p), CC_OK);
	CU_ASSERT_NOT_EQUAL(access(p, F_OK), 0);
	CU_ASSERT_EQUAL(cc_file_remove(p), CC_OK);
	/* Not a file: an error with the reason, and the directory stays. */
	pathf(sub, "%s/sub", dir);
	CU_ASSERT_EQUAL_FATAL(mkdir(sub, 0700), 0);
	CU_ASSERT_EQUAL(cc_file_remove(sub), CC_ERR_IO);
	CU_ASSERT(strlen(cc_errdetail()) > 0);
	CU_ASSERT_EQUAL(access(sub, F_OK), 0);
	/* Missing directory of a missing file: nothing to remove. */
	pathf(p, "%s/nodir/file", dir);
	CU_ASSERT_EQUAL(cc_file_remove(p), CC_OK);
	tu_rmrf(dir);
	free(dir);
}

/*
 * The *_at calls work in the directory a descriptor holds: that directory replaced by a link
 * afterwards (an attack on a store folder) redirects nothing. Names are one component.
 */
static void
test_at_stays_in_its_directory(void)
{
	static const char *const bad_names[] = {"", ".", "..", "a/b", "../x", "/abs"};
	char *dir = tu_tmpdir();
	char d[PATH_MAX], aside[PATH_MAX], other[PATH_MAX], p[PATH_MAX];
	unsigned char *buf = NULL;
	size_t len = 0, i;
	mode_t mode = 0;
	int fd, tmp;

	pathf(d, "%s/folder", dir);
	pathf(aside, "%s/aside", dir);
	pathf(other, "%s/other", dir);
	CU_ASSERT_EQUAL_FATAL(mkdir(d, 0700), 0);
	CU_ASSERT_EQUAL_FATAL(mkdir(other, 0700), 0);
	fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CU_ASSERT_FATAL(fd != -1);
	CU_ASSERT_EQUAL(cc_file_write_atomic_at(fd, d, "f", "one", 3, 0600), CC_OK);
	/* The folder moves aside and a link to another directory takes its name. */
	CU_ASSERT_EQUAL_FATAL(rename(d, aside), 0);
	CU_ASSERT_EQUAL_FATAL(symlink(other, d), 0);
	CU_ASSERT_EQUAL(cc_file_write_atomic_at(fd, d, "g", "two", 3, 0640), CC_OK);
	CU_ASSERT_EQUAL(cc_file_read_at(fd, d, "f", 64, &buf, &len, &mode), CC_OK);
	CU_ASSERT(buf != NULL && len == 3 && memcmp(buf, "one", 3) == 0);
	CU_ASSERT_EQUAL(mode & 07777, 0600);
	free(buf);
	CU_ASSERT_EQUAL(cc_file_remove_at(fd, d, "f"), CC_OK);
	CU_ASSERT_EQUAL(cc_file_remove_at(fd, d, "f"), CC_OK); /* missing: fine */
	CU_ASSERT_EQUAL(count_entries(other, NULL), 0);
	CU_ASSERT_EQUAL(count_entries(aside, &tmp), 1);
	CU_ASSERT_EQUAL(tmp, 0);
	pathf(p, "%s/g", aside);
	CU_ASSERT_EQUAL(mode_of(p), 0640);
	/* Missing file: CC_ERR_NOT_FOUND naming DIR/NAME. */
	CU_ASSERT_EQUAL(cc_file_read_at(fd, d, "none", 64, &buf, &len, NULL), CC_ERR_NOT_FOUND);
	pathf(p, "%s/none", d);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), p));
	/* A link inside is not followed either. */
	pathf(p, "%s/link", aside);
	CU_ASSERT_EQUAL_FATAL(symlink("g", p), 0);
	CU_ASSERT_NOT_EQUAL(cc_file_read_at(fd, d, "link", 64, &buf, &len, NULL), CC_OK);
	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		CU_ASSERT_EQUAL(cc_file_write_atomic_at(fd, d, bad_names[i], "x", 1, 0600),
		                CC_ERR_INVAL);
		CU_ASSERT_EQUAL(cc_file_read_at(fd, d, bad_names[i], 64, &buf, &len, NULL),
		                CC_ERR_INVAL);
		CU_ASSERT_EQUAL(cc_file_remove_at(fd, d, bad_names[i]), CC_ERR_INVAL);
	}
	CU_ASSERT_EQUAL(count_entries(other, NULL), 0);
	close(fd);
	tu_rmrf(dir);
	free(dir);
}

/*
 * Keys as keys/ and requests/ keep them: read back what cc_key_write_pem_at wrote; a key others
 * may read, a password-protected one, a file with no key and a missing one are each refused with
 * their own code, and the message says why without naming the file (the caller does).
 */
static void
test_key_read(void)
{
	char *dir = tu_tmpdir(), *pem;
	EVP_PKEY *k = tu_make_key("ec256"), *got = NULL;
	int fd = open(dir, O_RDONLY | O_DIRECTORY);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(cc_key_write_pem_at(fd, dir, "a.key", k), CC_OK);
	CU_ASSERT_EQUAL(cc_key_read_pem_at(fd, dir, "a.key", 65536, &got), CC_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	CU_ASSERT_EQUAL(EVP_PKEY_eq(got, k), 1);
	EVP_PKEY_free(got);
	/* open to others: not used */
	CU_ASSERT_EQUAL(fchmodat(fd, "a.key", 0644, 0), 0);
	CU_ASSERT_EQUAL(cc_key_read_pem_at(fd, dir, "a.key", 65536, &got), CC_ERR_PERM);
	CU_ASSERT_PTR_NULL(got);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "mode 0644"));
	CU_ASSERT_PTR_NULL(strstr(cc_errdetail(), "a.key"));
	/* asks for a password: none is tried */
	pem = tu_key_pem_encrypted(k, "secret");
	write_at(dir, "b.key", pem, 0600);
	free(pem);
	CU_ASSERT_EQUAL(cc_key_read_pem_at(fd, dir, "b.key", 65536, &got), CC_ERR_KEY_ENCRYPTED);
	CU_ASSERT_PTR_NULL(got);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "password protected"));
	/* no key in it: OpenSSL's reason; the queue left empty */
	write_at(dir, "c.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
	         0600);
	CU_ASSERT_EQUAL(cc_key_read_pem_at(fd, dir, "c.key", 65536, &got), CC_ERR_PARSE);
	CU_ASSERT_PTR_NULL(got);
	CU_ASSERT(strncmp(cc_errdetail(), "not a readable private key: ", 28) == 0);
	CU_ASSERT_EQUAL(ERR_peek_error(), 0);
	/* missing: cc_file_read_at's word */
	CU_ASSERT_EQUAL(cc_key_read_pem_at(fd, dir, "d.key", 65536, &got), CC_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NULL(got);
	close(fd);
	EVP_PKEY_free(k);
	tu_rmrf(dir);
	free(dir);
}

static CU_TestInfo tests[] = {
        {"write: exact mode whatever the umask", test_write_exact_mode},
        {"write: replaces by rename, old inode untouched", test_write_replaces_atomically},
        {"write: a symlink at the path is replaced, not followed",
         test_write_does_not_follow_symlink},
        {"write: missing directory fails with errno text", test_write_missing_directory},
        {"write: no temporary left after success or failure", test_no_temporary_left},
        {"write: empty file, relative path", test_write_empty_and_relative},
        {"write: fault steps reached in order", test_write_fault_steps},
        {"read: content, NUL termination, mode", test_read_content},
        {"read: maximum size enforced", test_read_max_size},
        {"read: missing, directory, symlinks refused", test_read_refusals},
        {"read: a FIFO is refused without blocking", test_read_fifo_does_not_block},
        {"remove: missing is fine, file removed, directory refused", test_remove},
        {"at: a directory descriptor, never redirected by a link; names one component",
         test_at_stays_in_its_directory},
        {"key: read back; open to others, password protected, no key, missing refused",
         test_key_read},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("fileio", tests);
}
