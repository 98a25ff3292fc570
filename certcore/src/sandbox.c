/* Landlock and seccomp for the key custody of umd and edgesync (certcore/sandbox.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>

#include "certcore/nodump.h"
#include "certcore/sandbox.h"
#include "internal.h"

/*
 * Debian 12's kernel headers are 6.1's (ABI 2): the rights and the ruleset fields of later ABIs
 * are defined here, with the values of the kernel's uapi linux/landlock.h, fixed by its ABI.
 */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14) /* ABI 3 */
#endif
#define FS_IOCTL_DEV        (1ULL << 15) /* ABI 5 */
#define NET_BIND_TCP        (1ULL << 0)  /* ABI 4 */
#define NET_CONNECT_TCP     (1ULL << 1)
#define SCOPE_ABSTRACT_UNIX (1ULL << 0) /* ABI 6 */
#define SCOPE_SIGNAL        (1ULL << 1)

/*
 * Reading files, moving entries between folders (which would escape the rules otherwise), and
 * every way of writing under a folder: writing a file, making an entry of any kind, removing
 * one (truncating from ABI 3: rights_for). Executing and listing are left alone.
 */
#define HIDE_RIGHTS                                                                                \
	(LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_WRITE_FILE | \
	 LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |                          \
	 LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |                              \
	 LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |                              \
	 LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |                            \
	 LANDLOCK_ACCESS_FS_MAKE_SYM)
/* The rights a rule on a file (not a folder) may carry. */
#define FILE_RIGHTS                                                                                \
	(LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE)
/* cc_sandbox_confine's grants beneath its folders. */
#define CONFINE_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define CONFINE_WRITE                                                                              \
	(LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG |                             \
	 LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE)
#define MAX_PATHS 64

/* struct landlock_ruleset_attr as of ABI 6; the kernel is given the part its ABI knows. */
struct ruleset_attr {
	__u64 handled_access_fs;
	__u64 handled_access_net; /* ABI 4 */
	__u64 scoped;             /* ABI 6 */
};

/* `rights` less what the kernel's ABI `v` does not know. */
static __u64
rights_for(int v, __u64 rights)
{
	if (v < 2)
		rights &= ~(__u64)LANDLOCK_ACCESS_FS_REFER;
	if (v < 3)
		rights &= ~(__u64)LANDLOCK_ACCESS_FS_TRUNCATE;
	if (v < 5)
		rights &= ~(__u64)FS_IOCTL_DEV;
	return rights;
}

static int
ll_create(const struct ruleset_attr *attr, size_t size, __u32 flags)
{
	return (int)syscall(SYS_landlock_create_ruleset, attr, size, flags);
}

/* The kernel's Landlock ABI, 0 when it has none (ENOSYS, EOPNOTSUPP: switched off at boot). */
static int
ll_abi(void)
{
	int v = ll_create(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	return v < 0 ? 0 : v;
}

/* A rule granting `rights` beneath the descriptor `fd` (`path` in messages). */
static enum cc_err
ll_add(int rfd, int fd, __u64 rights, const char *path)
{
	struct landlock_path_beneath_attr pb;

	memset(&pb, 0, sizeof(pb));
	pb.parent_fd = fd;
	pb.allowed_access = rights;
	if (syscall(SYS_landlock_add_rule, rfd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) == -1)
		return cc_seterr(CC_ERR_IO, "sandbox: landlock_add_rule %s: %s", path,
		                 strerror(errno));
	return CC_OK;
}

static enum cc_err
ll_restrict(int rfd)
{
	if (syscall(SYS_landlock_restrict_self, rfd, 0) == -1)
		return cc_seterr(CC_ERR_IO, "sandbox: landlock_restrict_self: %s", strerror(errno));
	return CC_OK;
}

static bool
in(char *const *set, size_t n, const char *p)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(set[i], p) == 0)
			return true;
	return false;
}

/* Grants `handled` beneath `path` (a folder; a file gets its file rights); others skipped. */
static enum cc_err
grant(int rfd, const char *path, __u64 handled)
{
	struct stat st;
	enum cc_err r = CC_OK;
	int fd;

	if ((fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return CC_OK; /* gone meanwhile */
	if (fstat(fd, &st) == -1)
		r = cc_seterr(CC_ERR_IO, "sandbox: fstat %s: %s", path, strerror(errno));
	else if (S_ISDIR(st.st_mode))
		r = ll_add(rfd, fd, handled, path);
	else if (S_ISREG(st.st_mode))
		r = ll_add(rfd, fd, handled & FILE_RIGHTS, path);
	/* else a link is judged where it leads; sockets and devices are not read */
	close(fd);
	return r;
}

/* Every entry of the folder `dir` but those in `skip`. */
static enum cc_err
grant_entries(int rfd, const char *dir, char *const *skip, size_t nskip, __u64 handled)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	enum cc_err r = CC_OK;

	if ((d = opendir(dir)) == NULL)
		return cc_seterr(CC_ERR_IO, "sandbox: opendir %s: %s", dir, strerror(errno));
	while (r == CC_OK && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", strcmp(dir, "/") == 0 ? "" : dir,
		             de->d_name) >= (int)sizeof(path))
			continue; /* longer than any path: nothing opened here */
		if (in(skip, nskip, path))
			continue;
		r = grant(rfd, path, handled);
	}
	closedir(d);
	return r;
}

enum cc_err
cc_sandbox_hide(const char *const *dirs, size_t n, enum cc_sandbox_result *res, int *abi)
{
	struct ruleset_attr attr;
	char *hidden[MAX_PATHS], *up[MAX_PATHS * 16], *p, *slash;
	size_t nh = 0, nup = 0, i;
	int v, rfd = -1;
	enum cc_err r = CC_ERR_NOMEM;

	*res = CC_SANDBOX_UNAVAILABLE;
	*abi = 0;
	if (n > MAX_PATHS)
		return cc_seterr(CC_ERR_INVAL, "sandbox: too many folders");
	if ((*abi = v = ll_abi()) < 2)
		return CC_OK; /* ABI 1 forbids every move between folders: umd's spool moves */
	for (i = 0; i < n; i++) {
		if ((hidden[nh] = realpath(dirs[i], NULL)) == NULL) {
			r = cc_seterr(CC_ERR_IO, "sandbox: %s: %s", dirs[i], strerror(errno));
			goto out;
		}
		nh++;
	}
	/* The folders on the way: "/", "/var", "/var/lib", ... of each hidden one. */
	for (i = 0; i < nh; i++) {
		for (slash = hidden[i]; slash != NULL; slash = strchr(slash + 1, '/')) {
			if ((p = slash == hidden[i]
			                 ? strdup("/")
			                 : strndup(hidden[i], (size_t)(slash - hidden[i]))) ==
			    NULL) {
				r = cc_seterr(CC_ERR_NOMEM, "sandbox");
				goto out;
			}
			if (in(up, nup, p) || nup == sizeof(up) / sizeof(up[0])) {
				free(p);
				continue;
			}
			up[nup++] = p;
		}
	}
	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = rights_for(v, HIDE_RIGHTS | LANDLOCK_ACCESS_FS_TRUNCATE);
	if ((rfd = ll_create(&attr, sizeof(attr.handled_access_fs), 0)) == -1) {
		r = cc_seterr(CC_ERR_IO, "sandbox: landlock_create_ruleset: %s", strerror(errno));
		goto out;
	}
	for (i = 0; i < nup; i++) {
		/* Neither the hidden folders nor the way to them: their other entries only. */
		char *skip[MAX_PATHS * 17];
		size_t ns = 0, j;

		for (j = 0; j < nh; j++)
			skip[ns++] = hidden[j];
		for (j = 0; j < nup; j++)
			skip[ns++] = up[j];
		if ((r = grant_entries(rfd, up[i], skip, ns, attr.handled_access_fs)) != CC_OK)
			goto out;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		r = cc_seterr(CC_ERR_IO, "sandbox: prctl(PR_SET_NO_NEW_PRIVS): %s",
		              strerror(errno));
		goto out;
	}
	if ((r = ll_restrict(rfd)) != CC_OK)
		goto out;
	*res = CC_SANDBOX_ENFORCED;
	r = CC_OK;
out:
	if (rfd != -1)
		close(rfd);
	for (i = 0; i < nh; i++)
		free(hidden[i]);
	for (i = 0; i < nup; i++)
		free(up[i]);
	return r;
}

/* Whether the folder `a` is `b` or one of its ancestors (both resolved). */
static bool
on_way(const char *a, const char *b)
{
	size_t la = strlen(a);

	return strcmp(a, "/") == 0 || (strncmp(a, b, la) == 0 && (b[la] == '\0' || b[la] == '/'));
}

bool
cc_sandbox_hide_refuses(const char *const *dirs, size_t n, const char *path)
{
	char *copy = strdup(path), *folder = NULL, *h;
	bool refused = false;
	size_t i;

	if (copy == NULL || (folder = realpath(dirname(copy), NULL)) == NULL)
		goto out;
	for (i = 0; i < n && !refused; i++) {
		if ((h = realpath(dirs[i], NULL)) == NULL)
			continue;
		/* On the way (cc_sandbox_hide grants only what existed there), or hidden. */
		refused = on_way(folder, h) || on_way(h, folder);
		free(h);
	}
out:
	free(copy);
	free(folder);
	return refused;
}

/*
 * No new socket of any kind (seccomp, socket(2) and socketpair(2) fail with EACCES): Landlock's
 * network rules cover TCP only. Other architectures' and x32's system calls are refused the
 * same way, so that no other number for socket(2) slips by.
 */
static enum cc_err
no_sockets(void)
{
#if defined(__x86_64__)
	struct sock_filter f[] = {
	        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
	        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EACCES),
	        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000U, 0, 1), /* x32 */
	        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EACCES),
	        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, 1, 0),
	        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_socketpair, 0, 1),
	        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EACCES),
	        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {(unsigned short)(sizeof(f) / sizeof(f[0])), f};

	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == -1)
		return cc_seterr(CC_ERR_IO, "sandbox: seccomp: %s", strerror(errno));
#endif
	return CC_OK;
}

enum cc_err
cc_sandbox_confine(const char *const *dirs, size_t n, unsigned grants, enum cc_sandbox_result *res,
                   int *abi)
{
	struct ruleset_attr attr;
	size_t size, i;
	__u64 allowed;
	int v, rfd = -1, fd;
	enum cc_err r;

	*res = CC_SANDBOX_UNAVAILABLE;
	*abi = 0;
	/* Whatever Landlock can do: no privileges gained by exec, no core, no ptrace by others. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return cc_seterr(CC_ERR_IO, "sandbox: prctl(PR_SET_NO_NEW_PRIVS): %s",
		                 strerror(errno));
	if ((r = cc_nodump()) != CC_OK || (r = no_sockets()) != CC_OK)
		return r;
	if ((*abi = v = ll_abi()) == 0)
		return CC_OK;
	/*
	 * Every right the ABI knows is handled; ABI 1 too (it cannot move a file between folders,
	 * which a confined holder never does; a rename within keys/ needs no REFER).
	 */
	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = rights_for(v, HIDE_RIGHTS | LANDLOCK_ACCESS_FS_EXECUTE |
	                                               LANDLOCK_ACCESS_FS_READ_DIR |
	                                               LANDLOCK_ACCESS_FS_TRUNCATE | FS_IOCTL_DEV);
	size = sizeof(attr.handled_access_fs);
	if (v >= 4) {
		/* No TCP listener and no TCP connection at all: no rule grants one. */
		attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP;
		size = offsetof(struct ruleset_attr, scoped);
	}
	if (v >= 6) {
		/* No abstract unix socket and no signal outside the holder itself. */
		attr.scoped = SCOPE_ABSTRACT_UNIX | SCOPE_SIGNAL;
		size = sizeof(attr);
	}
	if ((rfd = ll_create(&attr, size, 0)) == -1) {
		r = cc_seterr(CC_ERR_IO, "sandbox: landlock_create_ruleset: %s", strerror(errno));
		goto out;
	}
	allowed = attr.handled_access_fs &
	          (CONFINE_READ | ((grants & CC_SANDBOX_WRITE) ? CONFINE_WRITE : 0));
	for (i = 0; i < n; i++) {
		/* The folder itself, not where a link put in its place would lead. */
		if ((fd = open(dirs[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
			r = cc_seterr(CC_ERR_IO, "sandbox: %s: %s", dirs[i], strerror(errno));
			goto out;
		}
		r = ll_add(rfd, fd, allowed, dirs[i]);
		close(fd);
		if (r != CC_OK)
			goto out;
	}
	if ((r = ll_restrict(rfd)) != CC_OK)
		goto out;
	*res = CC_SANDBOX_ENFORCED;
	r = CC_OK;
out:
	if (rfd != -1)
		close(rfd);
	return r;
}
