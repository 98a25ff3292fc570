/*
 * certcore/src/sandbox.c: Landlock for the key custody of umd and edgesync. Each case runs in
 * a forked child (the restriction cannot be undone): after cc_sandbox_hide the child cannot open
 * a key file, can read the store's other folders, its parents' other entries and /etc, a file
 * made later in certs/, can rename inside a readable folder but cannot move a key file out of
 * keys/; it cannot create, write, truncate, remove, link or rename anything under keys/ while it
 * still writes certs/; the parent, not restricted, still reads the key. Without Landlock the
 * cases say so and pass (the function reports it as unavailable). After cc_sandbox_confine
 * (CC_SANDBOX_READ: edgesync's holder) to keys/ the child reads a key file and lists keys/, and
 * can read no other file (a certificate beside keys/, a file beside the store, /etc/passwd),
 * write none (not even in keys/); with CC_SANDBOX_WRITE (umd's holder) it also makes, writes,
 * renames and removes files in keys/ and nothing elsewhere. Either way: no new socket of any
 * kind, no TCP connection (ABI 4), no signal outside (ABI 6), not dumpable, no new privileges.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "certcore/sandbox.h"
#include "testutil.h"

#define SKIP 77

struct fx {
	char *dir;
	char store[1024], keys[1536], requests[1536], key[2048], req_key[2048], cert[2048];
	char other[4096];
};

static void
fx_open(struct fx *x)
{
	x->dir = tu_tmpdir();
	snprintf(x->store, sizeof(x->store), "%s/store", x->dir);
	snprintf(x->keys, sizeof(x->keys), "%s/keys", x->store);
	snprintf(x->requests, sizeof(x->requests), "%s/requests", x->store);
	snprintf(x->key, sizeof(x->key), "%s/AB.key", x->keys);
	snprintf(x->req_key, sizeof(x->req_key), "%s/r.key", x->requests);
	snprintf(x->cert, sizeof(x->cert), "%s/certs/AB.pem", x->store);
	snprintf(x->other, sizeof(x->other), "%s/umd.conf", x->dir);
	CU_ASSERT_FATAL(tu_sh("mkdir -p '%s/certs' '%s' '%s'", x->store, x->keys, x->requests) ==
	                0);
	tu_write_file(x->key, "secret\n", 7, 0600);
	tu_write_file(x->req_key, "secret\n", 7, 0600);
	tu_write_file(x->cert, "public\n", 7, 0644);
	tu_write_file(x->other, "[umd]\n", 6, 0644);
}

static void
fx_close(struct fx *x)
{
	tu_rmrf(x->dir);
	free(x->dir);
}

static bool
readable(const char *path)
{
	char b[8];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool ok;

	if (fd == -1)
		return false;
	ok = read(fd, b, sizeof(b)) >= 0;
	close(fd);
	return ok;
}

/* The child: hides keys/ and requests/, then reports what it could and could not do. */
static int
child(struct fx *x)
{
	const char *hide[2] = {x->keys, x->requests};
	enum cc_sandbox_result res;
	char made[4096], moved[4096], renamed[4096];
	int abi, fails = 0, fd = -1;

	if (cc_sandbox_hide(hide, 2, &res, &abi) != CC_OK)
		return 100;
	if (res != CC_SANDBOX_ENFORCED)
		return SKIP;
	if (readable(x->key) || errno != EACCES)
		fails |= 1; /* the key file cannot be opened, and the kernel says why */
	if (readable(x->req_key))
		fails |= 2;
	if (!readable(x->cert) || !readable(x->other) || !readable("/etc/passwd"))
		fails |= 4;
	snprintf(made, sizeof(made), "%s/certs/new.pem", x->store);
	tu_write_file(made, "later\n", 6, 0644);
	if (!readable(made))
		fails |= 8;
	snprintf(renamed, sizeof(renamed), "%s/certs/renamed.pem", x->store);
	if (rename(made, renamed) != 0)
		fails |= 16;
	snprintf(moved, sizeof(moved), "%s/certs/AB.key", x->store);
	if (rename(x->key, moved) == 0 || (errno != EXDEV && errno != EACCES))
		fails |= 32; /* out of keys/ into a readable folder: refused */
	/* Nothing is written under keys/: no new file, no write to one, no removal, no link. */
	snprintf(made, sizeof(made), "%s/CD.key", x->keys);
	if ((fd = open(made, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) != -1 ||
	    errno != EACCES)
		fails |= 64;
	if (fd != -1)
		close(fd);
	if ((fd = open(x->key, O_WRONLY | O_CLOEXEC)) != -1 || errno != EACCES)
		fails |= 128;
	if (fd != -1)
		close(fd);
	if (truncate(x->key, 0) == 0 || unlink(x->key) == 0 || symlink("/etc/passwd", made) == 0 ||
	    mkdir(made, 0700) == 0 || rename(renamed, made) == 0)
		fails |= 256;
	/* ... while the store's other folders are still written (a certificate, state). */
	snprintf(made, sizeof(made), "%s/certs/written.pem", x->store);
	if ((fd = open(made, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) == -1 ||
	    write(fd, "x\n", 2) != 2 || unlink(renamed) != 0)
		fails |= 512;
	if (fd != -1)
		close(fd);
	return fails;
}

static int
run_child(struct fx *x)
{
	pid_t pid = fork();
	int st;

	if (pid == 0)
		_exit(child(x));
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_FATAL(waitpid(pid, &st, 0) == pid);
	CU_ASSERT_FATAL(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void
test_key_file_cannot_be_opened(void)
{
	struct fx x;
	int rc;

	fx_open(&x);
	rc = run_child(&x);
	if (rc == SKIP)
		fprintf(stderr,
		        "\n    (no usable Landlock here: the sandbox reports unavailable)\n");
	else
		CU_ASSERT_EQUAL(rc, 0);
	/* The parent is not restricted: the holder, forked before, reads the keys. */
	CU_ASSERT_TRUE(readable(x.key));
	fx_close(&x);
}

static void
test_missing_folder_refused(void)
{
	struct fx x;
	char nowhere[4096];
	const char *hide[1] = {nowhere};
	enum cc_sandbox_result res;
	int abi;
	pid_t pid;
	int st;

	fx_open(&x);
	snprintf(nowhere, sizeof(nowhere), "%s/no-such-store/keys", x.dir);
	pid = fork();
	if (pid == 0) {
		enum cc_err r = cc_sandbox_hide(hide, 1, &res, &abi);

		_exit(abi < 2 ? SKIP : r == CC_OK ? 1 : res == CC_SANDBOX_UNAVAILABLE ? 0 : 2);
	}
	CU_ASSERT_FATAL(waitpid(pid, &st, 0) == pid);
	CU_ASSERT_TRUE(WIFEXITED(st) && (WEXITSTATUS(st) == 0 || WEXITSTATUS(st) == SKIP));
	fx_close(&x);
}

/*
 * What every confinement takes away, whatever it grants: new privileges, dumping, new sockets
 * of any kind (seccomp, UDP and unix ones too), TCP through a socket made before (ABI 4, to the
 * listener on `port`), signals outside (ABI 6). Bits 256 and up of the children's status.
 */
static int
confined_common(int abi, int tcp, int port)
{
	struct sockaddr_in sin;
	int fails = 0, fd;

	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0 || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		fails |= 256;
	errno = 0;
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) != -1 || errno != EACCES ||
	    socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) != -1)
		fails |= 512;
	if (fd != -1)
		close(fd);
	if (abi >= 4) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)port);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		/* A TCP socket made before (none can be made after): Landlock refuses it. */
		if (tcp == -1 || connect(tcp, (struct sockaddr *)&sin, sizeof(sin)) == 0 ||
		    errno != EACCES)
			fails |= 1024;
	}
	if (abi >= 6 && (kill(getppid(), 0) == 0 || errno != EPERM))
		fails |= 2048;
	return fails;
}

/* edgesync's holder's confinement (CC_SANDBOX_READ): keys/ read-only, nothing else. */
static int
readonly_child(struct fx *x, int port)
{
	const char *allow[1] = {x->keys};
	enum cc_sandbox_result res;
	char made[4096], moved[4096];
	int abi, fails, fd, tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	DIR *d;

	if (cc_sandbox_confine(allow, 1, CC_SANDBOX_READ, &res, &abi) != CC_OK)
		return 100;
	fails = confined_common(abi, tcp, port);
	if (res != CC_SANDBOX_ENFORCED)
		return fails ? fails : SKIP;
	if (!readable(x->key))
		fails |= 1;
	if ((d = opendir(x->keys)) == NULL)
		fails |= 2;
	else
		closedir(d);
	if (readable(x->cert) || readable(x->other) || readable("/etc/passwd") ||
	    readable(x->req_key))
		fails |= 4;
	if ((d = opendir(x->store)) != NULL) {
		closedir(d);
		fails |= 8;
	}
	snprintf(made, sizeof(made), "%s/new.key", x->keys);
	if ((fd = open(made, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) != -1 || errno != EACCES) {
		if (fd != -1)
			close(fd);
		fails |= 16;
	}
	if ((fd = open(x->key, O_WRONLY | O_CLOEXEC)) != -1) {
		close(fd);
		fails |= 32;
	}
	snprintf(moved, sizeof(moved), "%s/CD.key", x->keys);
	if (unlink(x->key) == 0 || rename(x->key, moved) == 0 || truncate(x->key, 0) == 0)
		fails |= 64;
	return fails;
}

/* A listener on loopback the confined children must not reach; its port in *port. */
static int
listener(int *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int lfd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(lfd != -1 && bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	                listen(lfd, 1) == 0 &&
	                getsockname(lfd, (struct sockaddr *)&sin, &len) == 0);
	*port = ntohs(sin.sin_port);
	return lfd;
}

/* Runs `fn` in a child confined by it; its status, SKIP reported as such. */
static void
run_confined(struct fx *x, int (*fn)(struct fx *, int))
{
	int port, lfd = listener(&port), st;
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn(x, port));
	CU_ASSERT_FATAL(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st));
	if (WEXITSTATUS(st) == SKIP)
		fprintf(stderr, "\n    (no usable Landlock here: only the prctl and seccomp part "
		                "is checked)\n");
	else
		CU_ASSERT_EQUAL(WEXITSTATUS(st), 0);
	close(lfd);
}

static void
test_confine_keys_only(void)
{
	struct fx x;

	fx_open(&x);
	run_confined(&x, readonly_child);
	/* the parent is not confined */
	CU_ASSERT_TRUE(readable(x.cert));
	CU_ASSERT_TRUE(readable(x.key));
	fx_close(&x);
}

/*
 * umd's holder's confinement (CC_SANDBOX_WRITE): it reads, writes, renames and removes under
 * keys/, and nothing else: not /etc/passwd, not the configuration beside the store, not certs/
 * (read or write), not requests/.
 */
static int
writer_child(struct fx *x, int port)
{
	const char *allow[1] = {x->keys};
	enum cc_sandbox_result res;
	char made[4096], moved[4096];
	int abi, fails, fd, tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (cc_sandbox_confine(allow, 1, CC_SANDBOX_WRITE, &res, &abi) != CC_OK)
		return 100;
	fails = confined_common(abi, tcp, port);
	if (res != CC_SANDBOX_ENFORCED)
		return fails ? fails : SKIP;
	if (!readable(x->key))
		fails |= 1;
	snprintf(made, sizeof(made), "%s/.new.key.tmp", x->keys);
	snprintf(moved, sizeof(moved), "%s/CD.key", x->keys);
	if ((fd = open(made, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1 ||
	    write(fd, "k\n", 2) != 2 || fsync(fd) != 0 || rename(made, moved) != 0 ||
	    !readable(moved) || unlink(moved) != 0)
		fails |= 2;
	if (fd != -1)
		close(fd);
	if (readable("/etc/passwd") || errno != EACCES || readable(x->other) || readable(x->cert) ||
	    readable(x->req_key))
		fails |= 4;
	snprintf(made, sizeof(made), "%s/certs/new.pem", x->store);
	if ((fd = open(made, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) != -1 || errno != EACCES)
		fails |= 8;
	if (fd != -1)
		close(fd);
	/* Files only: no folder, link or move out of keys/. */
	snprintf(made, sizeof(made), "%s/sub", x->keys);
	snprintf(moved, sizeof(moved), "%s/certs/AB.key", x->store);
	if (mkdir(made, 0700) == 0 || symlink("/etc/passwd", made) == 0 ||
	    rename(x->key, moved) == 0)
		fails |= 16;
	return fails;
}

static void
test_holder_confined(void)
{
	struct fx x;

	fx_open(&x);
	run_confined(&x, writer_child);
	CU_ASSERT_TRUE(readable(x.key)); /* not moved, not removed */
	fx_close(&x);
}

/* Confined to no folder (umd's holder when the store's keys/ could not be opened). */
static int
nowhere_child(struct fx *x, int port)
{
	enum cc_sandbox_result res;
	int abi, fails, tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (cc_sandbox_confine(NULL, 0, CC_SANDBOX_WRITE, &res, &abi) != CC_OK)
		return 100;
	fails = confined_common(abi, tcp, port);
	if (res != CC_SANDBOX_ENFORCED)
		return fails ? fails : SKIP;
	if (readable(x->key) || readable(x->cert) || readable("/etc/passwd"))
		fails |= 1;
	return fails;
}

static void
test_confine_nowhere(void)
{
	struct fx x;

	fx_open(&x);
	run_confined(&x, nowhere_child);
	fx_close(&x);
}

static void
test_confine_missing_folder_refused(void)
{
	struct fx x;
	char nowhere[4096];
	const char *allow[1] = {nowhere};
	enum cc_sandbox_result res;
	int abi, st;
	pid_t pid;

	fx_open(&x);
	snprintf(nowhere, sizeof(nowhere), "%s/no-such-store/keys", x.dir);
	pid = fork();
	if (pid == 0) {
		enum cc_err r = cc_sandbox_confine(allow, 1, CC_SANDBOX_READ, &res, &abi);

		_exit(abi < 1 ? SKIP : r == CC_OK ? 1 : res == CC_SANDBOX_UNAVAILABLE ? 0 : 2);
	}
	CU_ASSERT_FATAL(waitpid(pid, &st, 0) == pid);
	CU_ASSERT_TRUE(WIFEXITED(st) && (WEXITSTATUS(st) == 0 || WEXITSTATUS(st) == SKIP));
	fx_close(&x);
}

/* Where a new file would be refused once keys/ and requests/ are hidden; no sandbox needed. */
static void
test_hide_refuses(void)
{
	struct fx x;
	const char *hide[2];
	char p[4096];

	fx_open(&x);
	hide[0] = x.keys;
	hide[1] = x.requests;
	/* On the way: the folder holding the store, the store itself, /. */
	snprintf(p, sizeof(p), "%s/e1.ldif", x.dir);
	CU_ASSERT_TRUE(cc_sandbox_hide_refuses(hide, 2, p));
	snprintf(p, sizeof(p), "%s/new", x.store);
	CU_ASSERT_TRUE(cc_sandbox_hide_refuses(hide, 2, p));
	CU_ASSERT_TRUE(cc_sandbox_hide_refuses(hide, 2, "/e1.ldif"));
	/* Hidden, and a relative path resolved like any other. */
	snprintf(p, sizeof(p), "%s/CD.key", x.keys);
	CU_ASSERT_TRUE(cc_sandbox_hide_refuses(hide, 2, p));
	snprintf(p, sizeof(p), "%s/store/certs/../requests/r2.key", x.dir);
	CU_ASSERT_TRUE(cc_sandbox_hide_refuses(hide, 2, p));
	/* Beside the way: certs/, a sibling of the store's folder, a folder named like keys. */
	snprintf(p, sizeof(p), "%s/certs/new.pem", x.store);
	CU_ASSERT_FALSE(cc_sandbox_hide_refuses(hide, 2, p));
	CU_ASSERT_FATAL(tu_sh("mkdir -p '%s/seeds' '%s/keysx'", x.dir, x.store) == 0);
	snprintf(p, sizeof(p), "%s/seeds/e1.ldif", x.dir);
	CU_ASSERT_FALSE(cc_sandbox_hide_refuses(hide, 2, p));
	snprintf(p, sizeof(p), "%s/keysx/a", x.store);
	CU_ASSERT_FALSE(cc_sandbox_hide_refuses(hide, 2, p));
	/* A folder that does not exist: not judged (the write fails with its own reason). */
	snprintf(p, sizeof(p), "%s/no-such/e1.ldif", x.dir);
	CU_ASSERT_FALSE(cc_sandbox_hide_refuses(hide, 2, p));
	fx_close(&x);
}

static CU_TestInfo tests[] = {
        {"after cc_sandbox_hide keys/ can be neither read nor written, the rest can",
         test_key_file_cannot_be_opened},
        {"a folder that does not exist is an error, nothing enforced", test_missing_folder_refused},
        {"where cc_sandbox_hide refuses a new file", test_hide_refuses},
        {"confine, read only: keys/ read, nothing written, no socket, not dumpable",
         test_confine_keys_only},
        {"confine, write: keys/ read and written, nothing else, no socket, not dumpable",
         test_holder_confined},
        {"confine to no folder: nothing can be read", test_confine_nowhere},
        {"confine: a folder that does not exist is an error", test_confine_missing_folder_refused},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("sandbox", tests);
}
