/* umd gives up reading the store's private keys (sandbox.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdbool.h>
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

#include "keys/sandbox.h"

/*
 * Reading files, moving them between folders (which would escape the rules otherwise), and
 * every way of writing under a folder: writing or truncating a file (TRUNCATE from ABI 3),
 * making an entry of any kind, removing one. Executing and listing are left alone.
 */
#define HANDLED_2                                                                                  \
	(LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_WRITE_FILE | \
	 LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |                          \
	 LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |                              \
	 LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |                              \
	 LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |                            \
	 LANDLOCK_ACCESS_FS_MAKE_SYM)
#define FILE_RIGHTS (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE)
#define MAX_PATHS   64

/* What the ruleset handles, for the kernel's ABI (`handled` below). */
static __u64 handled;

/*
 * Debian 12's kernel headers are 6.1's: the rights and the ruleset fields of later ABIs are
 * defined here, with the values of the kernel's uapi linux/landlock.h.
 */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14) /* ABI 3 */
#endif
#define FS_IOCTL_DEV        (1ULL << 15) /* ABI 5 */
#define NET_BIND_TCP        (1ULL << 0)  /* ABI 4 */
#define NET_CONNECT_TCP     (1ULL << 1)
#define SCOPE_ABSTRACT_UNIX (1ULL << 0) /* ABI 6 */
#define SCOPE_SIGNAL        (1ULL << 1)

/* struct landlock_ruleset_attr as of ABI 6; the kernel is given the part its ABI knows. */
struct ruleset_attr {
	__u64 handled_access_fs;
	__u64 handled_access_net; /* ABI 4 */
	__u64 scoped;             /* ABI 6 */
};

/* Every file system right the kernel's ABI `v` knows. */
static __u64
fs_rights(int v)
{
	__u64 r = LANDLOCK_ACCESS_FS_EXECUTE | HANDLED_2;

	if (v < 2)
		r &= ~(__u64)LANDLOCK_ACCESS_FS_REFER;
	if (v >= 3)
		r |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (v >= 5)
		r |= FS_IOCTL_DEV;
	return r;
}

static int
ll_create(const struct landlock_ruleset_attr *attr, size_t size, __u32 flags)
{
	return (int)syscall(SYS_landlock_create_ruleset, attr, size, flags);
}

static int
ll_add(int fd, const struct landlock_path_beneath_attr *pb)
{
	return (int)syscall(SYS_landlock_add_rule, fd, LANDLOCK_RULE_PATH_BENEATH, pb, 0);
}

static int
ll_restrict(int fd)
{
	return (int)syscall(SYS_landlock_restrict_self, fd, 0);
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

/* Grants reading and writing beneath `path` (a folder or a file); others are skipped. */
static enum um_err
grant(int rfd, const char *path)
{
	struct landlock_path_beneath_attr pb;
	struct stat st;
	enum um_err r = UM_OK;
	int fd;

	if ((fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return UM_OK; /* gone meanwhile */
	if (fstat(fd, &st) == -1) {
		r = um_seterr(UM_ERR_IO, "sandbox: fstat %s: %s", path, strerror(errno));
		goto out;
	}
	memset(&pb, 0, sizeof(pb));
	pb.parent_fd = fd;
	if (S_ISDIR(st.st_mode))
		pb.allowed_access = handled;
	else if (S_ISREG(st.st_mode))
		pb.allowed_access = handled & (FILE_RIGHTS | LANDLOCK_ACCESS_FS_TRUNCATE);
	else
		goto out; /* a link is judged where it leads; sockets and devices are not read */
	if (ll_add(rfd, &pb) == -1)
		r = um_seterr(UM_ERR_IO, "sandbox: landlock_add_rule %s: %s", path,
		              strerror(errno));
out:
	close(fd);
	return r;
}

/* Every entry of the folder `dir` but those in `skip`. */
static enum um_err
grant_entries(int rfd, const char *dir, char *const *skip, size_t nskip)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	enum um_err r = UM_OK;

	if ((d = opendir(dir)) == NULL)
		return um_seterr(UM_ERR_IO, "sandbox: opendir %s: %s", dir, strerror(errno));
	while (r == UM_OK && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", strcmp(dir, "/") == 0 ? "" : dir,
		             de->d_name) >= (int)sizeof(path))
			continue; /* longer than any path: nothing umd opens */
		if (in(skip, nskip, path))
			continue;
		r = grant(rfd, path);
	}
	closedir(d);
	return r;
}

enum um_err
um_sandbox_hide(const char *const *dirs, size_t n, enum um_sandbox_result *res, int *abi)
{
	struct landlock_ruleset_attr attr;
	char *hidden[MAX_PATHS], *up[MAX_PATHS * 16], *p, *slash;
	size_t nh = 0, nup = 0, i;
	int v, rfd = -1;
	enum um_err r = UM_ERR_NOMEM;

	*res = UM_SANDBOX_UNAVAILABLE;
	*abi = 0;
	if (n > MAX_PATHS)
		return um_seterr(UM_ERR_INVAL, "sandbox: too many folders");
	if ((v = ll_create(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)) < 0)
		return UM_OK; /* ENOSYS, EOPNOTSUPP: not built in, or switched off at boot */
	*abi = v;
	if (v < 2)
		return UM_OK; /* ABI 1 forbids every move between folders: umd's spool moves */
	for (i = 0; i < n; i++) {
		if ((hidden[nh] = realpath(dirs[i], NULL)) == NULL) {
			r = um_seterr(UM_ERR_IO, "sandbox: %s: %s", dirs[i], strerror(errno));
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
				r = um_seterr(UM_ERR_NOMEM, "sandbox");
				goto out;
			}
			if (in(up, nup, p) || nup == sizeof(up) / sizeof(up[0])) {
				free(p);
				continue;
			}
			up[nup++] = p;
		}
	}
	handled = HANDLED_2 | (v >= 3 ? LANDLOCK_ACCESS_FS_TRUNCATE : 0);
	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = handled;
	if ((rfd = ll_create(&attr, sizeof(attr), 0)) == -1) {
		r = um_seterr(UM_ERR_IO, "sandbox: landlock_create_ruleset: %s", strerror(errno));
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
		if ((r = grant_entries(rfd, up[i], skip, ns)) != UM_OK)
			goto out;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 || ll_restrict(rfd) == -1) {
		r = um_seterr(UM_ERR_IO, "sandbox: landlock_restrict_self: %s", strerror(errno));
		goto out;
	}
	*res = UM_SANDBOX_ENFORCED;
	r = UM_OK;
out:
	if (rfd != -1)
		close(rfd);
	for (i = 0; i < nh; i++)
		free(hidden[i]);
	for (i = 0; i < nup; i++)
		free(up[i]);
	return r;
}

/*
 * No new socket of any kind (seccomp, socket(2) and socketpair(2) fail with EACCES): Landlock's
 * network rules cover TCP only. Other architectures' and x32's system calls are refused the
 * same way, so that no other number for socket(2) slips by.
 */
static enum um_err
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
		return um_seterr(UM_ERR_IO, "sandbox: seccomp: %s", strerror(errno));
#endif
	return UM_OK;
}

enum um_err
um_sandbox_confine(const char *keys, enum um_sandbox_result *res, int *abi)
{
	struct ruleset_attr attr;
	struct landlock_path_beneath_attr pb;
	size_t size;
	int v, rfd = -1, kfd = -1;
	enum um_err r = UM_ERR_IO;

	*res = UM_SANDBOX_UNAVAILABLE;
	*abi = 0;
	/* Whatever Landlock can do: no privileges gained by exec, no core, no ptrace by others. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		return um_seterr(UM_ERR_IO, "sandbox: prctl: %s", strerror(errno));
	if ((r = no_sockets()) != UM_OK)
		return r;
	if ((v = ll_create(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)) < 0)
		return UM_OK;
	*abi = v;
	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = fs_rights(v);
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
	if ((rfd = ll_create((const struct landlock_ruleset_attr *)(const void *)&attr, size, 0)) ==
	    -1) {
		r = um_seterr(UM_ERR_IO, "sandbox: landlock_create_ruleset: %s", strerror(errno));
		goto out;
	}
	if (keys != NULL) {
		if ((kfd = open(keys, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
			r = um_seterr(UM_ERR_IO, "sandbox: %s: %s", keys, strerror(errno));
			goto out;
		}
		/* keys/: read, list, and write by a new name renamed into place, or remove. */
		memset(&pb, 0, sizeof(pb));
		pb.parent_fd = kfd;
		pb.allowed_access = attr.handled_access_fs &
		                    (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
		                     LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG |
		                     LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE);
		if (ll_add(rfd, &pb) == -1) {
			r = um_seterr(UM_ERR_IO, "sandbox: landlock_add_rule %s: %s", keys,
			              strerror(errno));
			goto out;
		}
	}
	if (ll_restrict(rfd) == -1) {
		r = um_seterr(UM_ERR_IO, "sandbox: landlock_restrict_self: %s", strerror(errno));
		goto out;
	}
	*res = UM_SANDBOX_ENFORCED;
	r = UM_OK;
out:
	if (kfd != -1)
		close(kfd);
	if (rfd != -1)
		close(rfd);
	return r;
}
