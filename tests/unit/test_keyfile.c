/*
 * certcore/src/keyfile.c: a store's keys/ on its own. A key written is 0600 and reads back; a
 * second write of the same name is refused and leaves the first; a key file open to others, a
 * password-protected one, one that is no key and a missing one read as no key, with the store's
 * reason; a keys/ that is a link, or writable by others, is refused; a name that is not a
 * thumbprint is refused; removing takes the file (and a missing one is no error).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "certcore/keyfile.h"
#include "testutil.h"

#define T1 "0123456789ABCDEF0123456789ABCDEF01234567"
#define T2 "89ABCDEF0123456789ABCDEF0123456789ABCDEF"

static void
test_write_read_remove(void)
{
	struct tu_cert_spec spec = {.cn = "k.example.test", .key = "ec256"};
	char *dir = tu_tmpdir(), path[4200], why[512];
	struct cc_keydir *k = NULL;
	EVP_PKEY *key = NULL, *other = NULL, *back = NULL;
	X509 *x = NULL, *y = NULL;
	struct stat st;

	tu_make_cert(&spec, &x, &key);
	tu_make_cert(&spec, &y, &other);
	CU_ASSERT_FATAL(tu_sh("mkdir -m 700 -p '%s/store/keys'", dir) == 0);
	snprintf(path, sizeof(path), "%s/store", dir);
	CU_ASSERT_FATAL(cc_keydir_open(path, &k) == CC_OK);
	CU_ASSERT_EQUAL(cc_keydir_write(k, T1, key), CC_OK);
	snprintf(path, sizeof(path), "%s/store/keys/%s.key", dir, T1);
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	/* Never over an existing file: the first stays. */
	CU_ASSERT_EQUAL(cc_keydir_write(k, T1, other), CC_ERR_EXISTS);
	CU_ASSERT_EQUAL(cc_keydir_read(k, T1, &back, why, sizeof(why)), CC_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(back);
	CU_ASSERT_EQUAL(EVP_PKEY_eq(back, key), 1);
	EVP_PKEY_free(back);
	back = NULL;
	/* Not a thumbprint: refused, nothing read or written. */
	CU_ASSERT_EQUAL(cc_keydir_write(k, "../x", key), CC_ERR_INVAL);
	CU_ASSERT_EQUAL(cc_keydir_read(k, "../../etc/passwd", &back, why, sizeof(why)), CC_OK);
	CU_ASSERT_PTR_NULL(back);
	/* Missing, open to others, not a key: no key, with a reason. */
	CU_ASSERT_EQUAL(cc_keydir_read(k, T2, &back, why, sizeof(why)), CC_OK);
	CU_ASSERT_PTR_NULL(back);
	CU_ASSERT_NOT_EQUAL(why[0], '\0');
	CU_ASSERT_EQUAL_FATAL(chmod(path, 0644), 0);
	CU_ASSERT_EQUAL(cc_keydir_read(k, T1, &back, why, sizeof(why)), CC_OK);
	CU_ASSERT_PTR_NULL(back);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "open to group or others"));
	CU_ASSERT_EQUAL_FATAL(chmod(path, 0600), 0);
	snprintf(path, sizeof(path), "%s/store/keys/%s.key", dir, T2);
	tu_write_file(path, "not a key\n", 10, 0600);
	CU_ASSERT_EQUAL(cc_keydir_read(k, T2, &back, why, sizeof(why)), CC_OK);
	CU_ASSERT_PTR_NULL(back);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "not a readable private key"));
	/* Removed, and removing again is no error. */
	CU_ASSERT_EQUAL(cc_keydir_remove(k, T2), CC_OK);
	CU_ASSERT_NOT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(cc_keydir_remove(k, T2), CC_OK);
	CU_ASSERT_EQUAL(cc_keydir_remove(k, "nope"), CC_ERR_INVAL);
	cc_keydir_free(k);
	ERR_clear_error();
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
	X509_free(x);
	X509_free(y);
	tu_rmrf(dir);
	free(dir);
}

static void
test_password_protected(void)
{
	struct tu_cert_spec spec = {.cn = "k.example.test", .key = "ec256"};
	char *dir = tu_tmpdir(), path[4200], why[512];
	struct cc_keydir *k = NULL;
	EVP_PKEY *key = NULL, *back = NULL;
	X509 *x = NULL;
	FILE *f;

	tu_make_cert(&spec, &x, &key);
	CU_ASSERT_FATAL(tu_sh("mkdir -m 700 -p '%s/store/keys'", dir) == 0);
	snprintf(path, sizeof(path), "%s/store/keys/%s.key", dir, T1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f = fopen(path, "w"));
	CU_ASSERT_FATAL(PEM_write_PKCS8PrivateKey(f, key, EVP_aes_128_cbc(), NULL, 0, NULL,
	                                          (void *)"secret") == 1);
	fclose(f);
	CU_ASSERT_FATAL(chmod(path, 0600) == 0);
	snprintf(path, sizeof(path), "%s/store", dir);
	CU_ASSERT_FATAL(cc_keydir_open(path, &k) == CC_OK);
	CU_ASSERT_EQUAL(cc_keydir_read(k, T1, &back, why, sizeof(why)), CC_OK);
	CU_ASSERT_PTR_NULL(back);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "password protected"));
	cc_keydir_free(k);
	ERR_clear_error();
	EVP_PKEY_free(key);
	X509_free(x);
	tu_rmrf(dir);
	free(dir);
}

static void
test_unsafe_folder_refused(void)
{
	char *dir = tu_tmpdir(), path[4200];
	struct cc_keydir *k = NULL;

	/* keys/ a link to a folder elsewhere; then a keys/ others may write to. */
	CU_ASSERT_FATAL(tu_sh("mkdir -m 700 -p '%s/store' '%s/elsewhere' && ln -s '%s/elsewhere' "
	                      "'%s/store/keys'",
	                      dir, dir, dir, dir) == 0);
	snprintf(path, sizeof(path), "%s/store", dir);
	CU_ASSERT_EQUAL(cc_keydir_open(path, &k), CC_ERR_PERM);
	CU_ASSERT_PTR_NULL(k);
	CU_ASSERT_FATAL(tu_sh("rm '%s/store/keys' && mkdir -m 777 '%s/store/keys' && chmod 777 "
	                      "'%s/store/keys'",
	                      dir, dir, dir) == 0);
	CU_ASSERT_EQUAL(cc_keydir_open(path, &k), CC_ERR_PERM);
	CU_ASSERT_PTR_NULL(k);
	snprintf(path, sizeof(path), "%s/no-store", dir);
	CU_ASSERT_NOT_EQUAL(cc_keydir_open(path, &k), CC_OK);
	tu_rmrf(dir);
	free(dir);
}

static CU_TestInfo tests[] = {
        {"written 0600 once, read back, refused names, unusable files, removed",
         test_write_read_remove},
        {"a password-protected key file reads as no key", test_password_protected},
        {"keys/ as a link or writable by others is refused", test_unsafe_folder_refused},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("keyfile", tests);
}
