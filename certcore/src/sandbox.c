/* Landlock for the key custody of umd and edgesync (certcore/sandbox.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/landlock.h>

#include "certcore/sandbox.h"
#include "internal.h"

/* Reading files, and moving them between folders (which would escape the rules otherwise). */
#define HANDLED   (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_REFER)
#define MAX_PATHS 64

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

/* Grants reading (and, for a folder, moves inside it) beneath `path`; others are skipped. */
static enum cc_err
grant(int rfd, const char *path)
{
	struct landlock_path_beneath_attr pb;
	struct stat st;
	enum cc_err r = CC_OK;
	int fd;

	if ((fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return CC_OK; /* gone meanwhile */
	if (fstat(fd, &st) == -1) {
		r = cc_seterr(CC_ERR_IO, "sandbox: fstat %s: %s", path, strerror(errno));
		goto out;
	}
	memset(&pb, 0, sizeof(pb));
	pb.parent_fd = fd;
	if (S_ISDIR(st.st_mode))
		pb.allowed_access = HANDLED;
	else if (S_ISREG(st.st_mode))
		pb.allowed_access = LANDLOCK_ACCESS_FS_READ_FILE;
	else
		goto out; /* a link is judged where it leads; sockets and devices are not read */
	if (ll_add(rfd, &pb) == -1)
		r = cc_seterr(CC_ERR_IO, "sandbox: landlock_add_rule %s: %s", path,
		              strerror(errno));
out:
	close(fd);
	return r;
}

/* Every entry of the folder `dir` but those in `skip`. */
static enum cc_err
grant_entries(int rfd, const char *dir, char *const *skip, size_t nskip)
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
		r = grant(rfd, path);
	}
	closedir(d);
	return r;
}

enum cc_err
cc_sandbox_hide(const char *const *dirs, size_t n, enum cc_sandbox_result *res, int *abi)
{
	struct landlock_ruleset_attr attr;
	char *hidden[MAX_PATHS], *up[MAX_PATHS * 16], *p, *slash;
	size_t nh = 0, nup = 0, i;
	int v, rfd = -1;
	enum cc_err r = CC_ERR_NOMEM;

	*res = CC_SANDBOX_UNAVAILABLE;
	*abi = 0;
	if (n > MAX_PATHS)
		return cc_seterr(CC_ERR_INVAL, "sandbox: too many folders");
	if ((v = ll_create(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)) < 0)
		return CC_OK; /* ENOSYS, EOPNOTSUPP: not built in, or switched off at boot */
	*abi = v;
	if (v < 2)
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
	attr.handled_access_fs = HANDLED;
	if ((rfd = ll_create(&attr, sizeof(attr), 0)) == -1) {
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
		if ((r = grant_entries(rfd, up[i], skip, ns)) != CC_OK)
			goto out;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 || ll_restrict(rfd) == -1) {
		r = cc_seterr(CC_ERR_IO, "sandbox: landlock_restrict_self: %s", strerror(errno));
		goto out;
	}
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

/*
 * The rights of later ABIs, which Debian 12's <linux/landlock.h> (ABI 2) does not name: the
 * values are the kernel's (include/uapi/linux/landlock.h), fixed by its ABI.
 */
#define FS_ABI2      ((LANDLOCK_ACCESS_FS_REFER << 1) - 1) /* every right of ABI 1 and 2 */
#define FS_TRUNCATE  (1ULL << 14)                          /* ABI 3 */
#define FS_IOCTL_DEV (1ULL << 15)                          /* ABI 5 */
#define NET_BIND_TCP (1ULL << 0)                           /* ABI 4 */
#define NET_CONNECT  (1ULL << 1)                           /* ABI 4 */

/* struct landlock_ruleset_attr as of ABI 4: handled_access_fs, then handled_access_net. */
struct ruleset_attr4 {
	__u64 fs;
	__u64 net;
};

enum cc_err
cc_sandbox_confine(const char *const *dirs, size_t n, enum cc_sandbox_result *res, int *abi)
{
	struct ruleset_attr4 attr;
	struct landlock_path_beneath_attr pb;
	size_t size = sizeof(attr.fs), i;
	int v, rfd = -1, fd;
	enum cc_err r = CC_ERR_IO;

	*res = CC_SANDBOX_UNAVAILABLE;
	*abi = 0;
	if ((v = ll_create(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)) < 0)
		return CC_OK;
	*abi = v;
	if (v < 2)
		return CC_OK; /* as cc_sandbox_hide: one floor for both */
	memset(&attr, 0, sizeof(attr));
	attr.fs = FS_ABI2 | (v >= 3 ? FS_TRUNCATE : 0) | (v >= 5 ? FS_IOCTL_DEV : 0);
	if (v >= 4) {
		attr.net = NET_BIND_TCP | NET_CONNECT;
		size = sizeof(attr);
	}
	if ((rfd = ll_create((const struct landlock_ruleset_attr *)(const void *)&attr, size, 0)) ==
	    -1) {
		r = cc_seterr(CC_ERR_IO, "sandbox: landlock_create_ruleset: %s", strerror(errno));
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((fd = open(dirs[i], O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1) {
			r = cc_seterr(CC_ERR_IO, "sandbox: %s: %s", dirs[i], strerror(errno));
			goto out;
		}
		memset(&pb, 0, sizeof(pb));
		pb.parent_fd = fd;
		pb.allowed_access = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
		if (ll_add(rfd, &pb) == -1) {
			r = cc_seterr(CC_ERR_IO, "sandbox: landlock_add_rule %s: %s", dirs[i],
			              strerror(errno));
			close(fd);
			goto out;
		}
		close(fd);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 || ll_restrict(rfd) == -1) {
		r = cc_seterr(CC_ERR_IO, "sandbox: landlock_restrict_self: %s", strerror(errno));
		goto out;
	}
	*res = CC_SANDBOX_ENFORCED;
	r = CC_OK;
out:
	if (rfd != -1)
		close(rfd);
	return r;
}
