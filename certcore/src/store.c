/* struct cc_store: the certificate store directory (layout in certcore/store.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "certcore/store.h"
#include "internal.h"
#include "meta.h"

#define MAX_FILE (1024 * 1024) /* no certificate, key or meta file is larger */

#define LAYOUT_COUNT 10 /* the folders of layout[] below */

/*
 * Every writer adds one to a generation counter kept in the lock file when it takes the lock.
 * A handle remembers the generation its view was loaded at: when a writer's lock finds the
 * counter where this handle left it, nobody else wrote since, and after its own write the
 * handle reloads only the entry it wrote (a bulk import is then linear, not quadratic).
 * Otherwise, or when the counter cannot be kept, it reloads the whole store as before.
 */
struct cc_store {
	char *path;
	int dirfd; /* the store's directory, opened once, not through a link */
	struct cc_cert **certs;
	size_t ncerts;
	struct cc_problem *problems;
	size_t nproblems;
	int lockfd;
	uint64_t gen;   /* the generation the view was loaded at (or this writer's own) */
	bool gen_known; /* false: the next write reloads everything */
	bool current;   /* under our lock: the view is that of the store as it is now */
	bool no_lock;   /* CC_STORE_NO_LOCK */
	/* What this open made with CC_STORE_CREATE, for cc_store_discard: */
	char **made_parents; /* directories above the store, outermost first */
	size_t nmade_parents;
	bool made_root;                 /* the store's own directory */
	bool made_folder[LAYOUT_COUNT]; /* each folder of the layout */
	bool made_lock;                 /* the lock file */
};

static const char *const layout[LAYOUT_COUNT] = {
        "certs",
        "keys",
        "meta",
        "requests",
        "trust",
        "trust/registry",
        "trust/enterprise",
        "trust/grouppolicy",
        "crl",
        "state",
};

/* cc_store_set_key_source: NULL reads keys/ itself. */
static struct {
	cc_key_source_fn fn;
	void *arg;
} key_source;

void
cc_store_set_key_source(cc_key_source_fn fn, void *arg)
{
	key_source.fn = fn;
	key_source.arg = arg;
}

/* cc_store_set_key_maker: none makes and writes keys here. */
static struct {
	bool set;
	struct cc_key_maker m;
} key_maker;

void
cc_store_set_key_maker(const struct cc_key_maker *m)
{
	key_maker.set = m != NULL;
	if (m != NULL)
		key_maker.m = *m;
}

const struct cc_key_maker *
cc_store_key_maker(void)
{
	return key_maker.set ? &key_maker.m : NULL;
}

/* Writes the key of a new entry: here, or by the key maker. */
static enum cc_err
write_key(const struct cc_dir *keys, const char *name, const char *thumb, X509 *x, EVP_PKEY *key)
{
	char why[768] = "";
	enum cc_err r;

	if (!key_maker.set)
		return cc_key_write_pem_at(keys->fd, keys->path, name, key);
	if ((r = key_maker.m.write(key_maker.m.arg, thumb, x, key, why, sizeof(why))) != CC_OK)
		return cc_seterr(r, "writing the private key of %s: %s", thumb, why);
	return CC_OK;
}

/* Takes back the key file of a failed add. */
static enum cc_err
remove_key(const struct cc_dir *keys, const char *name, const char *thumb)
{
	char why[768] = "";
	enum cc_err r;

	if (!key_maker.set)
		return cc_file_remove_at(keys->fd, keys->path, name);
	if ((r = key_maker.m.remove(key_maker.m.arg, thumb, why, sizeof(why))) != CC_OK)
		return cc_seterr(r, "removing the private key of %s: %s", thumb, why);
	return CC_OK;
}

static void
fault(const char *step)
{
	if (cc_store_fault_hook != NULL)
		cc_store_fault_hook(step);
}

/* ---- folders: opened without following links, and only when nobody else controls them ---- */

/*
 * Whether the directory open as `fd` may be the store (`what` "store") or one of its folders
 * ("store folder"): a directory of this user or of root, that neither its group nor others may
 * write to. Who can write to a folder can replace what is in it with a link; who owns it can
 * make it writable. (OpenSSH's safe_path asks the same of the directories above a key file.)
 */
static enum cc_err
check_owner(int fd, const char *what, const char *path)
{
	struct stat st;
	uid_t me = geteuid();

	if (fstat(fd, &st) == -1)
		return cc_seterr_errno(CC_ERR_IO, "stat %s", path);
	if (!S_ISDIR(st.st_mode))
		return cc_seterr(CC_ERR_IO, "%s %s is not a directory", what, path);
	if (st.st_uid != me && st.st_uid != 0)
		return cc_seterr(CC_ERR_PERM,
		                 "%s %s belongs to uid %u, not to this user (uid %u) or root: "
		                 "refused; run as the store's owner",
		                 what, path, (unsigned)st.st_uid, (unsigned)me);
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		return cc_seterr(CC_ERR_PERM,
		                 "%s %s is writable by its group or others (mode %04o): refused; "
		                 "chmod 700 it",
		                 what, path, (unsigned)(st.st_mode & 07777));
	return CC_OK;
}

enum cc_err
cc_open_folder(int parent, const char *name, const char *what, const char *path, int *fd)
{
	struct stat st;
	enum cc_err r;
	int e;

	if ((*fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		e = errno;
		if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
			return cc_seterr(CC_ERR_PERM,
			                 "%s %s is a symbolic link: refused; a store's folders are "
			                 "never followed through links",
			                 what, path);
		errno = e;
		return cc_seterr_errno(e == ENOENT ? CC_ERR_NOT_FOUND : CC_ERR_IO,
		                       "cannot open %s %s", what, path);
	}
	if ((r = check_owner(*fd, what, path)) != CC_OK) {
		close(*fd);
		*fd = -1;
	}
	return r;
}

enum cc_err
cc_store_dir(const struct cc_store *s, const char *folder, struct cc_dir *d)
{
	char *copy = NULL, *path = NULL, *part, *next, *longer;
	int parent = s->dirfd, fd;
	enum cc_err r = CC_ERR_NOMEM;

	d->fd = -1;
	d->path = NULL;
	if ((copy = strdup(folder)) == NULL || (path = strdup(s->path)) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "path");
		goto out;
	}
	/* One component at a time: O_NOFOLLOW only looks at the last one of a path. */
	for (part = copy; part != NULL; part = next) {
		if ((next = strchr(part, '/')) != NULL)
			*next++ = '\0';
		if ((longer = cc_aprintf("%s/%s", path, part)) == NULL) {
			r = cc_seterr(CC_ERR_NOMEM, "path");
			goto out;
		}
		free(path);
		path = longer;
		if ((r = cc_open_folder(parent, part, "store folder", path, &fd)) != CC_OK)
			goto out;
		if (parent != s->dirfd)
			close(parent);
		parent = fd;
	}
	d->fd = parent;
	d->path = path;
	parent = s->dirfd;
	path = NULL;
	r = CC_OK;
out:
	if (parent != s->dirfd)
		close(parent);
	free(copy);
	free(path);
	return r;
}

void
cc_dir_close(struct cc_dir *d)
{
	if (d->fd != -1)
		close(d->fd);
	d->fd = -1;
	free(d->path);
	d->path = NULL;
}

DIR *
cc_dir_opendir(const struct cc_dir *d)
{
	DIR *dir;
	int fd, e;

	if ((fd = openat(d->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return NULL;
	if ((dir = fdopendir(fd)) == NULL) {
		e = errno;
		close(fd);
		errno = e;
	}
	return dir;
}

/*
 * The store's directory passes check_owner, and every folder of the layout open_folder or is
 * missing (a store made before the folder existed; one that is needed fails where it is used).
 * Checked before a load and before a write, so that a store with a link or another user's folder
 * in it is refused as a whole, naming the folder, rather than half way through.
 */
static enum cc_err
check_layout(const struct cc_store *s)
{
	struct cc_dir d;
	size_t i;
	enum cc_err r;

	r = check_owner(s->dirfd, "store", s->path);
	for (i = 0; i < sizeof(layout) / sizeof(layout[0]) && r == CC_OK; i++) {
		r = cc_store_dir(s, layout[i], &d);
		cc_dir_close(&d);
		if (r == CC_ERR_NOT_FOUND)
			r = CC_OK;
	}
	return r;
}

/* certs/, keys/ and meta/: where the files of an entry are. */
struct entry_dirs {
	struct cc_dir certs, keys, meta;
};

static void
close_entry_dirs(struct entry_dirs *ed)
{
	cc_dir_close(&ed->certs);
	cc_dir_close(&ed->keys);
	cc_dir_close(&ed->meta);
}

static enum cc_err
open_entry_dirs(const struct cc_store *s, struct entry_dirs *ed)
{
	enum cc_err r;

	ed->certs.fd = ed->keys.fd = ed->meta.fd = -1;
	ed->certs.path = ed->keys.path = ed->meta.path = NULL;
	if ((r = cc_store_dir(s, "certs", &ed->certs)) != CC_OK ||
	    (r = cc_store_dir(s, "keys", &ed->keys)) != CC_OK ||
	    (r = cc_store_dir(s, "meta", &ed->meta)) != CC_OK)
		close_entry_dirs(ed);
	return r;
}

static void
clear_loaded(struct cc_store *s)
{
	size_t i;

	for (i = 0; i < s->ncerts; i++)
		cc_cert_free(s->certs[i]);
	free(s->certs);
	s->certs = NULL;
	s->ncerts = 0;
	cc_problems_free(s->problems, s->nproblems);
	s->problems = NULL;
	s->nproblems = 0;
}

void
cc_store_free(struct cc_store *s)
{
	size_t i;

	if (s == NULL)
		return;
	clear_loaded(s);
	for (i = 0; i < s->nmade_parents; i++)
		free(s->made_parents[i]);
	free(s->made_parents);
	if (s->lockfd != -1)
		close(s->lockfd);
	if (s->dirfd != -1)
		close(s->dirfd);
	free(s->path);
	free(s);
}

enum cc_err
cc_problem_add(struct cc_problem **v, size_t *n, const char *what, const char *path,
               const char *reason)
{
	struct cc_problem *nv;
	char *p = NULL, *why = NULL;

	if ((p = strdup(path)) == NULL || (why = strdup(reason)) == NULL ||
	    (nv = realloc(*v, (*n + 1) * sizeof(*nv))) == NULL) {
		free(p);
		free(why);
		return cc_seterr(CC_ERR_NOMEM, "%s", what);
	}
	*v = nv;
	nv[*n].path = p;
	nv[*n].reason = why;
	(*n)++;
	return CC_OK;
}

void
cc_problems_free(struct cc_problem *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++) {
		free(v[i].path);
		free(v[i].reason);
	}
	free(v);
}

/* Records a bad entry; out of memory while doing so is the only failure. */
static enum cc_err
add_problem(struct cc_store *s, const char *path, const char *reason)
{
	return cc_problem_add(&s->problems, &s->nproblems, "store problems", path, reason);
}

static bool
is_thumb_name(const char *name, const char *suffix)
{
	size_t i, sl = strlen(suffix);

	if (strlen(name) != CC_THUMB_LEN + sl || strcmp(name + CC_THUMB_LEN, suffix) != 0)
		return false;
	for (i = 0; i < CC_THUMB_LEN; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'A' && name[i] <= 'F')))
			return false;
	return true;
}

/*
 * Loads keys/THUMB.key (`name` of `keys`, `path` in problems). *key is NULL with a problem
 * recorded when it cannot be used (keyfile.c holds the rules).
 */
static enum cc_err
load_key(struct cc_store *s, const struct cc_dir *keys, const char *name, const char *path,
         EVP_PKEY **key)
{
	char reason[768];
	enum cc_err r;

	if ((r = cc_key_read_at(keys->fd, keys->path, name, key, reason, sizeof(reason))) != CC_OK)
		return r;
	return *key == NULL ? add_problem(s, path, reason) : CC_OK;
}

static enum cc_err
load_meta(struct cc_store *s, const struct cc_dir *meta, const char *name, const char *path,
          struct meta_file *m, bool *present)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	char reason[768];
	enum cc_err r;

	*present = false;
	memset(m, 0, sizeof(*m));
	r = cc_file_read_at(meta->fd, meta->path, name, MAX_FILE, &buf, &len, NULL);
	if (r == CC_ERR_NOT_FOUND) {
		r = CC_OK; /* no meta: defaults */
		goto out;
	}
	if (r != CC_OK) {
		if (r != CC_ERR_NOMEM)
			r = add_problem(s, path, cc_errdetail());
		goto out;
	}
	*present = true;
	if ((r = cc_meta_parse((const char *)buf, m)) != CC_OK) {
		snprintf(reason, sizeof(reason), "metadata ignored: %s", cc_errdetail());
		r = r == CC_ERR_NOMEM ? r : add_problem(s, path, reason);
		goto out;
	}
out:
	free(buf);
	return r;
}

static int
cmp_cert(const void *a, const void *b)
{
	const struct cc_cert *const *x = a, *const *y = b;

	return strcmp(cc_cert_thumbprint(*x), cc_cert_thumbprint(*y));
}

/* Loads one certs/THUMB.pem with its key and meta. Bad parts become problems. */
static enum cc_err
load_entry(struct cc_store *s, const struct entry_dirs *ed, const char *name)
{
	char thumb[CC_THUMB_LEN + 1], kname[CC_THUMB_LEN + 5], mname[CC_THUMB_LEN + 5];
	char *cpath = NULL, *kpath = NULL, *mpath = NULL;
	unsigned char *buf = NULL;
	size_t len = 0;
	struct cc_cert *parsed = NULL, *c = NULL, **nc;
	EVP_PKEY *key = NULL;
	struct meta_file mf;
	struct cc_meta meta;
	bool have_meta = false;
	struct stat st;
	char reason[768];
	enum cc_err r = CC_ERR_NOMEM;

	memset(&mf, 0, sizeof(mf));
	memcpy(thumb, name, CC_THUMB_LEN);
	thumb[CC_THUMB_LEN] = '\0';
	snprintf(kname, sizeof(kname), "%s.key", thumb);
	snprintf(mname, sizeof(mname), "%s.ini", thumb);
	cpath = cc_aprintf("%s/%s", ed->certs.path, name);
	kpath = cc_aprintf("%s/%s", ed->keys.path, kname);
	mpath = cc_aprintf("%s/%s", ed->meta.path, mname);
	if (cpath == NULL || kpath == NULL || mpath == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "paths");
		goto out;
	}
	if ((r = cc_file_read_at(ed->certs.fd, ed->certs.path, name, MAX_FILE, &buf, &len, NULL)) !=
	    CC_OK) {
		r = r == CC_ERR_NOMEM ? r : add_problem(s, cpath, cc_errdetail());
		goto out;
	}
	if ((r = cc_cert_new_from_bytes(buf, len, &parsed)) != CC_OK) {
		r = r == CC_ERR_NOMEM ? r : add_problem(s, cpath, cc_errdetail());
		goto out;
	}
	if (strcmp(cc_cert_thumbprint(parsed), thumb) != 0) {
		snprintf(reason, sizeof(reason),
		         "file name does not match the certificate's thumbprint %s; not loaded",
		         cc_cert_thumbprint(parsed));
		r = add_problem(s, cpath, reason);
		goto out;
	}
	/* Not following: a dangling link is not "no key" but a key file that cannot be used. */
	if (fstatat(ed->keys.fd, kname, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (key_source.fn != NULL) {
			reason[0] = '\0';
			r = key_source.fn(key_source.arg, thumb, cc_cert_x509(parsed), &key, reason,
			                  sizeof(reason));
			if (r != CC_OK)
				r = cc_seterr(CC_ERR_NOMEM, "the private key of %s", thumb);
			else if (key == NULL)
				r = add_problem(s, kpath,
				                *reason ? reason : "private key not available");
		} else {
			r = load_key(s, &ed->keys, kname, kpath, &key);
		}
		if (r != CC_OK)
			goto out;
	}
	if ((r = load_meta(s, &ed->meta, mname, mpath, &mf, &have_meta)) != CC_OK)
		goto out;
	meta.services = mf.services;
	meta.exportable = mf.exportable;
	meta.friendly_name = mf.friendly_name;
	meta.made_by = mf.made_by;
	r = cc_cert_new(cc_cert_x509(parsed), cc_cert_chain(parsed), key, &meta, &c);
	if (r == CC_ERR_KEY_MISMATCH) {
		r = add_problem(
		        s, kpath,
		        "private key does not match the certificate's public key; key not used");
		if (r != CC_OK)
			goto out;
		r = cc_cert_new(cc_cert_x509(parsed), cc_cert_chain(parsed), NULL, &meta, &c);
	}
	if (r != CC_OK)
		goto out;
	if ((nc = realloc(s->certs, (s->ncerts + 1) * sizeof(*nc))) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "store");
		goto out;
	}
	s->certs = nc;
	nc[s->ncerts++] = c;
	c = NULL;
	r = CC_OK;
out:
	cc_meta_clear(&mf);
	EVP_PKEY_free(key);
	cc_cert_free(parsed);
	cc_cert_free(c);
	free(buf);
	free(cpath);
	free(kpath);
	free(mpath);
	return r;
}

/* Reports the entries of `dir` (keys/ or meta/) whose certificate is gone. */
static enum cc_err
orphans(struct cc_store *s, const struct entry_dirs *ed, const struct cc_dir *dir,
        const char *suffix, const char *what)
{
	char *p = NULL, cname[CC_THUMB_LEN + 5];
	DIR *d = NULL;
	struct dirent *de;
	struct stat st;
	char reason[256];
	enum cc_err r = CC_ERR_NOMEM;

	if ((d = cc_dir_opendir(dir)) == NULL) {
		r = add_problem(s, dir->path, strerror(errno));
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		free(p);
		if ((p = cc_aprintf("%s/%s", dir->path, de->d_name)) == NULL) {
			r = cc_seterr(CC_ERR_NOMEM, "path");
			goto out;
		}
		if (!is_thumb_name(de->d_name, suffix)) {
			snprintf(reason, sizeof(reason), "unexpected file name (not THUMBPRINT%s)",
			         suffix);
			if ((r = add_problem(s, p, reason)) != CC_OK)
				goto out;
			continue;
		}
		snprintf(cname, sizeof(cname), "%.*s.pem", CC_THUMB_LEN, de->d_name);
		if (fstatat(ed->certs.fd, cname, &st, AT_SYMLINK_NOFOLLOW) == -1 &&
		    errno == ENOENT) {
			snprintf(reason, sizeof(reason), "%s without a certificate", what);
			if ((r = add_problem(s, p, reason)) != CC_OK)
				goto out;
		}
	}
	r = CC_OK;
out:
	if (d != NULL)
		closedir(d);
	free(p);
	return r;
}

/* The generation counter in the lock file (8 bytes, little-endian; an empty file is 0). */
static bool
read_gen(int fd, uint64_t *gen)
{
	unsigned char b[8];
	ssize_t n;
	int i;

	while ((n = pread(fd, b, sizeof(b), 0)) == -1 && errno == EINTR)
		;
	if (n == 0) {
		*gen = 0;
		return true;
	}
	if (n != (ssize_t)sizeof(b))
		return false;
	for (*gen = 0, i = 7; i >= 0; i--)
		*gen = *gen << 8 | b[i];
	return true;
}

static bool
write_gen(int fd, uint64_t gen)
{
	unsigned char b[8];
	ssize_t n;
	int i;

	for (i = 0; i < 8; i++)
		b[i] = (unsigned char)(gen >> (8 * i));
	while ((n = pwrite(fd, b, sizeof(b), 0)) == -1 && errno == EINTR)
		;
	return n == (ssize_t)sizeof(b);
}

static enum cc_err
reload_unlocked(struct cc_store *s)
{
	struct entry_dirs ed;
	char *p = NULL;
	DIR *d = NULL;
	struct dirent *de;
	struct stat st;
	char reason[256];
	enum cc_err r = CC_ERR_NOMEM;

	clear_loaded(s);
	ed.certs.fd = ed.keys.fd = ed.meta.fd = -1;
	ed.certs.path = ed.keys.path = ed.meta.path = NULL;
	if ((r = check_layout(s)) != CC_OK)
		goto out;
	if (fstat(s->dirfd, &st) == -1) {
		r = cc_seterr_errno(CC_ERR_IO, "store %s", s->path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(reason, sizeof(reason),
		         "store directory mode %04o is open to group or others (should be 0700)",
		         (unsigned)(st.st_mode & 07777));
		if ((r = add_problem(s, s->path, reason)) != CC_OK)
			goto out;
	}
	if ((r = open_entry_dirs(s, &ed)) != CC_OK)
		goto out;
	if ((d = cc_dir_opendir(&ed.certs)) == NULL) {
		r = cc_seterr_errno(CC_ERR_IO, "cannot read store %s", ed.certs.path);
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue; /* ".", "..", temporary files of writers */
		if (!is_thumb_name(de->d_name, ".pem")) {
			free(p);
			if ((p = cc_aprintf("%s/%s", ed.certs.path, de->d_name)) == NULL) {
				r = cc_seterr(CC_ERR_NOMEM, "path");
				goto out;
			}
			if ((r = add_problem(s, p, "unexpected file name (not THUMBPRINT.pem)")) !=
			    CC_OK)
				goto out;
			continue;
		}
		if ((r = load_entry(s, &ed, de->d_name)) != CC_OK)
			goto out;
	}
	if ((r = orphans(s, &ed, &ed.keys, ".key", "private key")) != CC_OK ||
	    (r = orphans(s, &ed, &ed.meta, ".ini", "metadata")) != CC_OK)
		goto out;
	if (s->ncerts > 1)
		qsort(s->certs, s->ncerts, sizeof(*s->certs), cmp_cert);
	r = CC_OK;
out:
	if (d != NULL)
		closedir(d);
	close_entry_dirs(&ed);
	free(p);
	return r;
}

/*
 * Readers take the lock shared while they scan, so they never see a writer's entry half made
 * (a key whose certificate is not renamed in yet) and report it as an orphan. A writer already
 * holds it exclusively and scans without taking it again.
 */
enum cc_err
cc_store_reload(struct cc_store *s)
{
	char *p = NULL;
	int fd = -1;
	enum cc_err r = CC_ERR_LOCK;

	if (s->lockfd != -1) {
		/* Our own exclusive lock: what is scanned now is the generation lock_store set. */
		r = reload_unlocked(s);
		s->current = r == CC_OK;
		s->gen_known = s->gen_known && r == CC_OK;
		return r;
	}
	if (s->no_lock) {
		s->gen_known = false;
		return reload_unlocked(s);
	}
	if ((p = cc_aprintf("%s/.lock", s->path)) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "path");
		goto out;
	}
	/* A store nobody has written to yet may have no lock file; there is then no writer. */
	if ((fd = openat(s->dirfd, ".lock", O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1 &&
	    errno != ENOENT) {
		r = cc_seterr_errno(CC_ERR_LOCK, "open %s", p);
		goto out;
	}
	while (fd != -1 && flock(fd, LOCK_SH) == -1) {
		if (errno != EINTR) {
			r = cc_seterr_errno(CC_ERR_LOCK, "flock %s", p);
			goto out;
		}
	}
	/* No lock file: no writer has been here, generation 0. */
	s->gen_known = fd == -1 || read_gen(fd, &s->gen);
	if (fd == -1)
		s->gen = 0;
	r = reload_unlocked(s);
	if (r != CC_OK)
		s->gen_known = false;
out:
	if (fd != -1)
		close(fd);
	free(p);
	return r;
}

/* Moves the entry load_entry() appended to its place in thumbprint order. */
static void
insert_last_sorted(struct cc_store *s)
{
	struct cc_cert *c = s->certs[s->ncerts - 1];
	size_t lo = 0, hi = s->ncerts - 1, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (cmp_cert(&s->certs[mid], &c) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(&s->certs[lo + 1], &s->certs[lo], (s->ncerts - 1 - lo) * sizeof(*s->certs));
	s->certs[lo] = c;
}

/* Drops problems recorded for `path`. */
static void
forget_problems(struct cc_store *s, const char *path)
{
	size_t i = 0;

	while (i < s->nproblems) {
		if (strcmp(s->problems[i].path, path) != 0) {
			i++;
			continue;
		}
		free(s->problems[i].path);
		free(s->problems[i].reason);
		memmove(&s->problems[i], &s->problems[i + 1],
		        (s->nproblems - i - 1) * sizeof(*s->problems));
		s->nproblems--;
	}
}

/*
 * After a write of entry `thumb` under the lock: when the view was current, only that entry is
 * loaded again (with what loading would say of its files); otherwise the whole store.
 */
static enum cc_err
refresh_entry(struct cc_store *s, const char *thumb)
{
	static const char *const suffixes[] = {".pem", ".key", ".ini"};
	struct entry_dirs ed;
	const struct cc_dir *dirs[3] = {&ed.certs, &ed.keys, &ed.meta};
	char *paths[3] = {NULL, NULL, NULL}, names[3][CC_THUMB_LEN + 5];
	struct stat st;
	bool present[3];
	size_t i;
	enum cc_err r = CC_OK;

	if (!s->current)
		return cc_store_reload(s);
	if ((r = open_entry_dirs(s, &ed)) != CC_OK)
		goto out;
	for (i = 0; i < 3; i++) {
		snprintf(names[i], sizeof(names[i]), "%s%s", thumb, suffixes[i]);
		if ((paths[i] = cc_aprintf("%s/%s", dirs[i]->path, names[i])) == NULL) {
			r = cc_seterr(CC_ERR_NOMEM, "path");
			goto out;
		}
		forget_problems(s, paths[i]);
		present[i] = fstatat(dirs[i]->fd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0;
	}
	for (i = 0; i < s->ncerts; i++) {
		if (strcmp(cc_cert_thumbprint(s->certs[i]), thumb) == 0) {
			cc_cert_free(s->certs[i]);
			memmove(&s->certs[i], &s->certs[i + 1],
			        (s->ncerts - i - 1) * sizeof(*s->certs));
			s->ncerts--;
			break;
		}
	}
	if (present[0]) {
		if ((r = load_entry(s, &ed, names[0])) != CC_OK)
			goto out;
	} else {
		if (present[1] &&
		    (r = add_problem(s, paths[1], "private key without a certificate")) != CC_OK)
			goto out;
		if (present[2] &&
		    (r = add_problem(s, paths[2], "metadata without a certificate")) != CC_OK)
			goto out;
	}
	if (present[0] && s->ncerts > 1)
		insert_last_sorted(s);
out:
	if (r != CC_OK)
		s->gen_known = s->current = false;
	close_entry_dirs(&ed);
	for (i = 0; i < 3; i++)
		free(paths[i]);
	return r;
}

/* Remembers a parent directory this open made, for cc_store_discard. */
static enum cc_err
note_parent(struct cc_store *s, const char *p)
{
	char **n;

	if ((n = realloc(s->made_parents, (s->nmade_parents + 1) * sizeof(*n))) == NULL)
		return cc_seterr(CC_ERR_NOMEM, "path");
	s->made_parents = n;
	if ((n[s->nmade_parents] = strdup(p)) == NULL)
		return cc_seterr(CC_ERR_NOMEM, "path");
	s->nmade_parents++;
	return CC_OK;
}

/* The store's directory, 0700, and its parents as mkdir -p would make them; notes what it made. */
static enum cc_err
create_root(struct cc_store *s)
{
	char *p = NULL, *slash;
	struct stat st;
	enum cc_err r = CC_ERR_NOMEM;

	if ((p = strdup(s->path)) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "path");
		goto out;
	}
	for (slash = strchr(p + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(p, 0755) == 0) {
			if ((r = note_parent(s, p)) != CC_OK)
				goto out;
		} else if (errno != EEXIST) {
			r = cc_seterr_errno(CC_ERR_IO, "mkdir %s", p);
			goto out;
		}
		*slash = '/';
	}
	if (mkdir(s->path, 0700) == 0) {
		s->made_root = true;
		r = CC_OK;
		goto out;
	}
	if (errno != EEXIST) {
		r = cc_seterr_errno(CC_ERR_IO, "mkdir %s", s->path);
		goto out;
	}
	if (stat(s->path, &st) == -1) {
		r = cc_seterr_errno(CC_ERR_IO, "stat %s", s->path);
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		r = cc_seterr(CC_ERR_IO, "%s exists and is not a directory", s->path);
		goto out;
	}
	r = CC_OK;
out:
	free(p);
	return r;
}

/*
 * The folders of the layout that are missing, 0700, made inside the store's descriptor (and a
 * nested one inside its parent's): a name that is already there, a link among them, is left for
 * check_layout to refuse.
 */
static enum cc_err
create_folders(struct cc_store *s)
{
	struct cc_dir parent = {-1, NULL};
	const char *slash, *base;
	char *pname = NULL;
	size_t i;
	int pfd;
	enum cc_err r = CC_OK;

	for (i = 0; i < sizeof(layout) / sizeof(layout[0]); i++) {
		pfd = s->dirfd;
		base = layout[i];
		if ((slash = strrchr(layout[i], '/')) != NULL) {
			if ((pname = strndup(layout[i], (size_t)(slash - layout[i]))) == NULL) {
				r = cc_seterr(CC_ERR_NOMEM, "path");
				goto out;
			}
			if ((r = cc_store_dir(s, pname, &parent)) != CC_OK)
				goto out;
			pfd = parent.fd;
			base = slash + 1;
		}
		if (mkdirat(pfd, base, 0700) == 0) {
			s->made_folder[i] = true;
		} else if (errno != EEXIST) {
			r = cc_seterr_errno(CC_ERR_IO, "mkdir %s/%s", s->path, layout[i]);
			goto out;
		}
		cc_dir_close(&parent);
		free(pname);
		pname = NULL;
	}
	/*
	 * The writers' lock file, made with the store rather than by its first writer: a process
	 * that opens the store and then gives up reading files that did not exist yet (umd's
	 * Landlock sandbox, um/src/sandbox.h) can still take the lock.
	 */
	if ((pfd = openat(s->dirfd, ".lock", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	                  0600)) != -1)
		s->made_lock = true; /* ours: cc_store_discard may take it back */
	else if (errno != EEXIST ||
	         (pfd = openat(s->dirfd, ".lock", O_RDWR | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		r = cc_seterr_errno(CC_ERR_IO, "creating %s/.lock", s->path);
		goto out;
	}
	close(pfd);
	r = CC_OK;
out:
	cc_dir_close(&parent);
	free(pname);
	return r;
}

enum cc_err
cc_store_open(const char *path, int flags, struct cc_store **out)
{
	struct cc_store *s = NULL;
	size_t len;
	enum cc_err r = CC_ERR_NOMEM;

	*out = NULL;
	if (path == NULL || *path == '\0') {
		r = cc_seterr(CC_ERR_INVAL, "no store path");
		goto out;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "store");
		goto out;
	}
	s->lockfd = -1;
	s->dirfd = -1;
	s->no_lock = (flags & CC_STORE_NO_LOCK) != 0;
	if ((s->path = strdup(path)) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "store");
		goto out;
	}
	len = strlen(s->path);
	while (len > 1 && s->path[len - 1] == '/')
		s->path[--len] = '\0';
	if ((flags & CC_STORE_CREATE) && (r = create_root(s)) != CC_OK)
		goto out;
	/*
	 * Opened once, not through a link (the directories above it are the administrator's to
	 * keep safe); everything after is reached from this descriptor.
	 */
	if ((r = cc_open_folder(AT_FDCWD, s->path, "store", s->path, &s->dirfd)) != CC_OK)
		goto out;
	if ((flags & CC_STORE_CREATE) && (r = create_folders(s)) != CC_OK)
		goto out;
	if ((r = cc_store_reload(s)) != CC_OK)
		goto out;
	*out = s;
	s = NULL;
	r = CC_OK;
out:
	cc_store_discard(s); /* a failed open leaves nothing it made */
	return r;
}

bool
cc_store_created(const struct cc_store *s)
{
	return s != NULL && s->made_root;
}

/*
 * Whether folder `i` of the layout holds nothing (a missing one, or a file in its place, holds
 * nothing either). Records no error: it runs while the caller's failure is still to be reported.
 */
static bool
folder_empty(const struct cc_store *s, size_t i)
{
	struct dirent *de;
	DIR *dp;
	int fd;
	bool empty = true;

	if ((fd = openat(s->dirfd, layout[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1)
		return errno == ENOENT ||
		       errno == ENOTDIR; /* a file there is check_layout's to refuse */
	if ((dp = fdopendir(fd)) == NULL) {
		close(fd);
		return false;
	}
	while (empty && (de = readdir(dp)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		/* The nested folders of the layout are checked as their own. */
		if (strcmp(layout[i], "trust") == 0 &&
		    (strcmp(de->d_name, "registry") == 0 || strcmp(de->d_name, "enterprise") == 0 ||
		     strcmp(de->d_name, "grouppolicy") == 0))
			continue;
		empty = false;
	}
	closedir(dp);
	return empty;
}

void
cc_store_discard(struct cc_store *s)
{
	size_t i;
	bool empty = true, made_all = true, made_any = s != NULL && s->made_root;

	if (s == NULL)
		return;
	for (i = 0; i < LAYOUT_COUNT; i++) {
		made_all = made_all && s->made_folder[i];
		made_any = made_any || s->made_folder[i];
	}
	/*
	 * Only what this open made, and only while the layout holds nothing: another writer that
	 * came in meanwhile keeps what it wrote, and the folders too. The lock file goes with a
	 * layout made whole here (no one else had a store there); the directory and its parents
	 * with a directory made here.
	 */
	made_any = made_any || s->made_lock;
	if (made_any && s->dirfd != -1) {
		for (i = 0; i < LAYOUT_COUNT && empty; i++)
			empty = folder_empty(s, i);
		for (i = LAYOUT_COUNT; empty && i-- > 0;)
			if (s->made_folder[i] && unlinkat(s->dirfd, layout[i], AT_REMOVEDIR) == -1)
				empty = false;
		if (empty && (made_all || s->made_lock))
			(void)unlinkat(s->dirfd, ".lock", 0);
	}
	/* Parents made for a directory that could not be made go too (none when it existed). */
	if (empty && (!s->made_root || rmdir(s->path) == 0))
		for (i = s->nmade_parents; i-- > 0;)
			if (rmdir(s->made_parents[i]) == -1)
				break;
	cc_store_free(s);
}

const char *
cc_store_path(const struct cc_store *s)
{
	return s->path;
}

size_t
cc_store_count(const struct cc_store *s)
{
	return s->ncerts;
}

struct cc_cert *
cc_store_cert(const struct cc_store *s, size_t i)
{
	return i < s->ncerts ? s->certs[i] : NULL;
}

enum cc_err
cc_store_find(const struct cc_store *s, const char *thumb, struct cc_cert **out)
{
	char t[CC_THUMB_LEN + 1];
	size_t i;
	enum cc_err r;

	*out = NULL;
	if ((r = cc_thumbprint_normalize(thumb, t)) != CC_OK)
		return r;
	for (i = 0; i < s->ncerts; i++) {
		if (strcmp(cc_cert_thumbprint(s->certs[i]), t) == 0) {
			*out = s->certs[i];
			return CC_OK;
		}
	}
	return cc_seterr(CC_ERR_NOT_FOUND, "no certificate with thumbprint %s in %s", t, s->path);
}

size_t
cc_store_problem_count(const struct cc_store *s)
{
	return s->nproblems;
}

const char *
cc_store_problem_path(const struct cc_store *s, size_t i)
{
	return i < s->nproblems ? s->problems[i].path : NULL;
}

const char *
cc_store_problem_reason(const struct cc_store *s, size_t i)
{
	return i < s->nproblems ? s->problems[i].reason : NULL;
}

/*
 * Removes writers' temporary files left by a crash. Only called with the lock held: no other
 * writer can be between creating and renaming one.
 */
static void
sweep_temporaries(struct cc_store *s)
{
	/*
	 * Writes to these folders all hold the lock. Those to crl/ (the CRL cache) and trust/
	 * do not (each is one file renamed into place), so there only files an hour old go:
	 * one that young may belong to a write under way.
	 */
	enum { LOCKED_DIRS = 5 }; /* the first five */
	static const char *const dirs[] = {"certs",
	                                   "keys",
	                                   "meta",
	                                   "state",
	                                   "requests",
	                                   "crl",
	                                   "trust/registry",
	                                   "trust/enterprise",
	                                   "trust/grouppolicy"};
	struct cc_dir dir;
	struct stat st;
	DIR *d;
	struct dirent *de;
	size_t i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (cc_store_dir(s, dirs[i], &dir) != CC_OK) {
			cc_dir_close(&dir);
			continue;
		}
		if ((d = cc_dir_opendir(&dir)) != NULL) {
			while ((de = readdir(d)) != NULL) {
				if (de->d_name[0] != '.' || strstr(de->d_name, ".tmp.") == NULL)
					continue;
				if (i < LOCKED_DIRS ||
				    (fstatat(dir.fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
				     st.st_mtime < time(NULL) - 3600))
					(void)unlinkat(dir.fd, de->d_name, 0);
			}
			closedir(d);
		}
		cc_dir_close(&dir);
	}
}

static enum cc_err
lock_store(struct cc_store *s)
{
	char *p = NULL;
	uint64_t old;
	int fd = -1;
	enum cc_err r = CC_ERR_LOCK;

	/* A store with a link or another user's folder in it is refused before anything is. */
	if ((r = check_layout(s)) != CC_OK)
		goto out;
	if ((p = cc_aprintf("%s/.lock", s->path)) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "path");
		goto out;
	}
	if ((fd = openat(s->dirfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) ==
	    -1) {
		r = cc_seterr_errno(CC_ERR_LOCK, "open %s", p);
		goto out;
	}
	while (flock(fd, LOCK_EX) == -1) {
		if (errno != EINTR) {
			r = cc_seterr_errno(CC_ERR_LOCK, "flock %s", p);
			goto out;
		}
	}
	s->lockfd = fd;
	fd = -1;
	/*
	 * Bumped before anything is written, so that a writer that dies half way still tells
	 * every other handle that their view is stale.
	 */
	if (read_gen(s->lockfd, &old) && write_gen(s->lockfd, old + 1)) {
		s->current = s->gen_known && s->gen == old;
		s->gen = old + 1;
		s->gen_known = true;
	} else {
		s->current = false;
		s->gen_known = false;
	}
	sweep_temporaries(s);
	r = CC_OK;
out:
	if (fd != -1)
		close(fd);
	free(p);
	return r;
}

static void
unlock_store(struct cc_store *s)
{
	s->current = false;
	if (s->lockfd != -1) {
		/* Closing the descriptor drops the flock. */
		close(s->lockfd);
		s->lockfd = -1;
	}
}

static enum cc_err
write_cert(const struct cc_dir *d, const char *name, X509 *x, STACK_OF(X509) * chain)
{
	BIO *b = NULL;
	BUF_MEM *m = NULL;
	int i;
	enum cc_err r = CC_ERR_CRYPTO;

	if ((b = BIO_new(BIO_s_mem())) == NULL) {
		r = cc_seterr_ssl(CC_ERR_NOMEM, "BIO_new");
		goto out;
	}
	if (PEM_write_bio_X509(b, x) != 1) {
		r = cc_seterr_ssl(CC_ERR_CRYPTO, "encoding the certificate");
		goto out;
	}
	for (i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
		if (PEM_write_bio_X509(b, sk_X509_value(chain, i)) != 1) {
			r = cc_seterr_ssl(CC_ERR_CRYPTO, "encoding the chain");
			goto out;
		}
	}
	BIO_get_mem_ptr(b, &m);
	r = cc_file_write_atomic_at(d->fd, d->path, name, m->data, m->length, 0644);
out:
	BIO_free(b);
	return r;
}

static enum cc_err
write_meta(const struct cc_dir *d, const char *name, const struct cc_meta *meta)
{
	char *text = NULL;
	enum cc_err r;

	if ((r = cc_meta_render(meta, &text)) != CC_OK)
		return r;
	r = cc_file_write_atomic_at(d->fd, d->path, name, text, strlen(text), 0600);
	free(text);
	return r;
}

/* cc_store_add, taking the lock itself or (take_lock false) under the caller's. */
static enum cc_err
store_add(struct cc_store *s, X509 *x, STACK_OF(X509) * chain, EVP_PKEY *key,
          const struct cc_meta *meta, char thumb_out[CC_THUMB_LEN + 1], bool take_lock)
{
	struct cc_cert *c = NULL;
	struct cc_meta none = {0, false, NULL, NULL};
	struct entry_dirs ed = {{-1, NULL}, {-1, NULL}, {-1, NULL}};
	char cname[CC_THUMB_LEN + 5], kname[CC_THUMB_LEN + 5], mname[CC_THUMB_LEN + 5];
	char saved[512];
	struct stat st;
	enum cc_err r = CC_ERR_NOMEM, undo = CC_OK;
	bool locked = false, wrote_key = false, wrote_meta = false;

	if (thumb_out != NULL)
		thumb_out[0] = '\0';
	if (meta == NULL)
		meta = &none;
	/* Checks the key against the certificate and computes the thumbprint. */
	if ((r = cc_cert_new(x, chain, key, meta, &c)) != CC_OK)
		goto out;
	if ((r = cc_meta_check_friendly_name(meta->friendly_name)) != CC_OK)
		goto out;
	snprintf(cname, sizeof(cname), "%s.pem", cc_cert_thumbprint(c));
	snprintf(kname, sizeof(kname), "%s.key", cc_cert_thumbprint(c));
	snprintf(mname, sizeof(mname), "%s.ini", cc_cert_thumbprint(c));
	if (take_lock) {
		if ((r = lock_store(s)) != CC_OK)
			goto out;
		locked = true;
	} else if (s->lockfd == -1) {
		r = cc_seterr(CC_ERR_LOCK, "store %s: adding under a lock not held", s->path);
		goto out;
	}
	if ((r = open_entry_dirs(s, &ed)) != CC_OK)
		goto out;
	if (fstatat(ed.certs.fd, cname, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		r = cc_seterr(CC_ERR_EXISTS, "certificate %s is already in the store",
		              cc_cert_thumbprint(c));
		goto out;
	}
	/* Key, then meta, then the certificate: the certificate's rename commits the entry. */
	wrote_key = key != NULL;
	if (key != NULL && (r = write_key(&ed.keys, kname, cc_cert_thumbprint(c), x, key)) != CC_OK)
		goto out;
	fault("after-key");
	wrote_meta = true;
	if ((r = write_meta(&ed.meta, mname, meta)) != CC_OK)
		goto out;
	fault("after-meta");
	if ((r = write_cert(&ed.certs, cname, x, chain)) != CC_OK)
		goto out;
	fault("after-cert");
	if (thumb_out != NULL)
		memcpy(thumb_out, cc_cert_thumbprint(c), CC_THUMB_LEN + 1);
	r = refresh_entry(s, cc_cert_thumbprint(c));
out:
	/*
	 * A write that failed before the commit point takes back what it wrote: a private key
	 * must not stay on disk for a certificate that is not in the store. (A crash cannot do
	 * this; loading reports what it leaves as orphans.) The caller gets the first error.
	 */
	if (r != CC_OK && (wrote_key || wrote_meta) &&
	    fstatat(ed.certs.fd, cname, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		snprintf(saved, sizeof(saved), "%s", cc_errdetail());
		if (wrote_key)
			undo = remove_key(&ed.keys, kname, cc_cert_thumbprint(c));
		if (wrote_meta && cc_file_remove_at(ed.meta.fd, ed.meta.path, mname) != CC_OK)
			undo = CC_ERR_IO;
		(void)cc_seterr(r, "%s%s", saved,
		                undo != CC_OK ? " (removing what was written failed too)" : "");
	}
	if (r != CC_OK)
		s->gen_known = false; /* what failed half way may have left files the view lacks */
	close_entry_dirs(&ed);
	if (locked)
		unlock_store(s);
	cc_cert_free(c);
	return r;
}

enum cc_err
cc_store_add(struct cc_store *s, X509 *x, STACK_OF(X509) * chain, EVP_PKEY *key,
             const struct cc_meta *meta, char thumb_out[CC_THUMB_LEN + 1])
{
	return store_add(s, x, chain, key, meta, thumb_out, true);
}

enum cc_err
cc_store_add_locked(struct cc_store *s, X509 *x, STACK_OF(X509) * chain, EVP_PKEY *key,
                    const struct cc_meta *meta, char thumb_out[CC_THUMB_LEN + 1])
{
	return store_add(s, x, chain, key, meta, thumb_out, false);
}

enum cc_err
cc_store_enable(struct cc_store *s, const char *thumb, unsigned services)
{
	struct cc_cert *c;
	struct cc_meta meta;
	struct cc_dir md = {-1, NULL};
	char t[CC_THUMB_LEN + 1], mname[CC_THUMB_LEN + 5];
	enum cc_err r;
	bool locked = false;

	if ((r = cc_thumbprint_normalize(thumb, t)) != CC_OK)
		goto out;
	if ((r = lock_store(s)) != CC_OK)
		goto out;
	locked = true;
	/* Read-modify-write under the lock: another writer may have enabled something. */
	if ((!s->current && (r = cc_store_reload(s)) != CC_OK) ||
	    (r = cc_store_find(s, t, &c)) != CC_OK)
		goto out;
	meta.services = cc_cert_services(c) | services;
	meta.exportable = cc_cert_exportable(c);
	meta.friendly_name = *cc_cert_friendly_name(c) ? cc_cert_friendly_name(c) : NULL;
	meta.made_by = cc_cert_made_by(c);
	snprintf(mname, sizeof(mname), "%s.ini", t);
	if ((r = cc_store_dir(s, "meta", &md)) != CC_OK ||
	    (r = write_meta(&md, mname, &meta)) != CC_OK)
		goto out;
	r = refresh_entry(s, t);
out:
	if (r != CC_OK)
		s->gen_known = false; /* what failed half way may have left files the view lacks */
	cc_dir_close(&md);
	if (locked)
		unlock_store(s);
	return r;
}

enum cc_err
cc_store_remove(struct cc_store *s, const char *thumb)
{
	/* Folder, prefix and suffix of each file of an entry; the certificate first. */
	enum { NPARTS = 4 };
	static const char *const parts[NPARTS][3] = {{"certs", "", ".pem"},
	                                             {"meta", "", ".ini"},
	                                             {"keys", "", ".key"},
	                                             {"state", "expiry-", ".ini"}};
	struct cc_dir dirs[NPARTS] = {{-1, NULL}, {-1, NULL}, {-1, NULL}, {-1, NULL}};
	char names[NPARTS][CC_THUMB_LEN + 16];
	struct cc_cert *c;
	struct stat st;
	char t[CC_THUMB_LEN + 1];
	size_t i;
	enum cc_err r;
	bool locked = false, left = false;

	if ((r = cc_thumbprint_normalize(thumb, t)) != CC_OK)
		goto out;
	if ((r = lock_store(s)) != CC_OK)
		goto out;
	locked = true;
	if (!s->current && (r = cc_store_reload(s)) != CC_OK)
		goto out;
	for (i = 0; i < NPARTS; i++) {
		snprintf(names[i], sizeof(names[i]), "%s%s%s", parts[i][1], t, parts[i][2]);
		if ((r = cc_store_dir(s, parts[i][0], &dirs[i])) != CC_OK)
			goto out;
	}
	if ((r = cc_store_find(s, t, &c)) == CC_ERR_NOT_FOUND) {
		/*
		 * Not loaded, yet files of the entry may be there: what a crash after the
		 * certificate's removal left (its private key among them), or a certificate that
		 * did not load. Removing them finishes the job; with none the thumbprint is
		 * unknown.
		 */
		for (i = 0; i < NPARTS && !left; i++)
			left = fstatat(dirs[i].fd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0;
		if (left)
			r = CC_OK;
	}
	if (r != CC_OK)
		goto out;
	/* The certificate first: once it is gone the entry is gone, whatever a crash leaves. */
	for (i = 0; i < NPARTS; i++) {
		if ((r = cc_file_remove_at(dirs[i].fd, dirs[i].path, names[i])) != CC_OK)
			goto out;
		if (i == 0)
			fault("after-cert-removed");
	}
	r = refresh_entry(s, t);
out:
	if (r != CC_OK)
		s->gen_known = false; /* what failed half way may have left files the view lacks */
	for (i = 0; i < NPARTS; i++)
		cc_dir_close(&dirs[i]);
	if (locked)
		unlock_store(s);
	return r;
}

static bool
valid_state_name(const char *name)
{
	const char *p;

	if (name == NULL || *name == '\0' || *name == '.' || strlen(name) > 128)
		return false;
	for (p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
			return false;
	return true;
}

/*
 * Whether key = value can be written as one state line and read back by inih exactly: a key of
 * name characters, a value without control characters, comment characters or blanks at its ends
 * (inih trims them), and a line that fits inih's buffer (INI_MAX_LINE less "\r\n" and the NUL;
 * the rest of a longer line would be read as a line of its own).
 */
static bool
valid_state_line(const char *key, const char *val)
{
	const char *p;
	size_t vl = strlen(val);

	if (*key == '\0' || strlen(key) + 3 + vl > INI_MAX_LINE - 3)
		return false;
	for (p = key; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
			return false;
	for (p = val; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == ';' || *p == '#')
			return false;
	return vl == 0 || (val[0] != ' ' && val[vl - 1] != ' ');
}

struct state_query {
	const char *key;
	char *val;
	size_t len;
	bool found;
	bool too_long;
};

static int
state_handler(void *user, const char *section, const char *name, const char *value)
{
	struct state_query *q = user;

	(void)section;
	if (strcmp(name, q->key) == 0) {
		q->too_long = strlen(value) >= q->len;
		if (q->len > 0)
			snprintf(q->val, q->len, "%s", q->too_long ? "" : value);
		q->found = true;
	}
	return 1;
}

enum cc_err
cc_store_state_get(struct cc_store *s, const char *name, const char *key, char *val, size_t len)
{
	struct state_query q = {key, val, len, false, false};
	struct cc_dir sd = {-1, NULL};
	unsigned char *buf = NULL;
	size_t blen = 0;
	char *p = NULL, *file = NULL;
	int line;
	enum cc_err r;

	if (len > 0)
		val[0] = '\0';
	if (!valid_state_name(name)) {
		r = cc_seterr(CC_ERR_INVAL, "bad state record name");
		goto out;
	}
	if ((p = cc_aprintf("%s/state/%s.ini", s->path, name)) == NULL ||
	    (file = cc_aprintf("%s.ini", name)) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "path");
		goto out;
	}
	/* A missing folder or file: CC_ERR_NOT_FOUND, no keys. */
	if ((r = cc_store_dir(s, "state", &sd)) != CC_OK ||
	    (r = cc_file_read_at(sd.fd, sd.path, file, MAX_FILE, &buf, &blen, NULL)) != CC_OK)
		goto out;
	if ((line = ini_parse_string((const char *)buf, state_handler, &q)) != 0) {
		r = cc_seterr(CC_ERR_STATE, "%s:%d: not INI syntax", p, line);
		goto out;
	}
	if (!q.found)
		r = cc_seterr(CC_ERR_NOT_FOUND, "%s: no %s", p, key);
	else if (q.too_long)
		r = cc_seterr(CC_ERR_INVAL, "%s: %s does not fit in %zu bytes", p, key, len);
	else
		r = CC_OK;
out:
	cc_dir_close(&sd);
	free(buf);
	free(p);
	free(file);
	return r;
}

enum cc_err
cc_store_state_set(struct cc_store *s, const char *name, const char *const *keys,
                   const char *const *vals, size_t n)
{
	struct cc_dir sd = {-1, NULL};
	char *file = NULL, *text = NULL, *next;
	size_t i;
	enum cc_err r;
	bool locked = false;

	if (!valid_state_name(name)) {
		r = cc_seterr(CC_ERR_INVAL, "bad state record name");
		goto out;
	}
	if ((text = strdup("")) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "state");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (!valid_state_line(keys[i], vals[i])) {
			r = cc_seterr(
			        CC_ERR_INVAL,
			        "state key \"%.64s\" or its value cannot be kept as one INI line",
			        keys[i]);
			goto out;
		}
		if ((next = cc_aprintf("%s%s = %s\n", text, keys[i], vals[i])) == NULL) {
			r = cc_seterr(CC_ERR_NOMEM, "state");
			goto out;
		}
		free(text);
		text = next;
	}
	if ((file = cc_aprintf("%s.ini", name)) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "path");
		goto out;
	}
	if ((r = lock_store(s)) != CC_OK)
		goto out;
	locked = true;
	if ((r = cc_store_dir(s, "state", &sd)) != CC_OK)
		goto out;
	r = cc_file_write_atomic_at(sd.fd, sd.path, file, text, strlen(text), 0600);
out:
	if (r != CC_OK)
		s->gen_known = false; /* what failed half way may have left files the view lacks */
	cc_dir_close(&sd);
	if (locked)
		unlock_store(s);
	free(text);
	free(file);
	return r;
}

/*
 * The writer lock for certcore files that keep their own entries under the store (pending
 * requests): the same flock on ".lock" as the store's own writers take, so they serialise.
 */
enum cc_err
cc_store_lock(struct cc_store *s)
{
	if (s->lockfd != -1)
		return cc_seterr(CC_ERR_LOCK, "store %s is already locked by this handle", s->path);
	return lock_store(s);
}

void
cc_store_unlock(struct cc_store *s)
{
	unlock_store(s);
}
