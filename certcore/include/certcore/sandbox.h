/*
 * Landlock (Linux 5.13 and later; ABI 2, 5.19, for renames; ABI 3, 6.2, for truncate) for the
 * key custody of umd and edgesync: a daemon that faces the network gives up the store's private
 * keys once its key holder runs (cc_sandbox_hide), and the key holder gives up everything but
 * its part of the store (cc_sandbox_confine).
 *
 * cc_sandbox_hide: Landlock only grants, so the ruleset handles reading and writing files and
 * folders (and moving entries between folders), and grants them everywhere but the hidden
 * folders, by a rule on every entry of each folder on the way from / to them (the store's
 * siblings, the store's other folders, ...). So a file or folder created later right inside one
 * of those folders on the way (the store's parents, the store itself) can be neither read nor
 * written, and no entry can be made or removed right there; deeper (a new certificate in
 * certs/, a new file in /etc) all is as before. Inside the hidden folders nothing can be read,
 * written, made or removed: the key holder makes and writes the keys (cc_store_set_key_maker).
 *
 * Both apply to the calling thread and to what it starts afterwards: call them before any
 * thread. Both set PR_SET_NO_NEW_PRIVS (Landlock requires it of an unprivileged process).
 */
#ifndef CERTCORE_SANDBOX_H
#define CERTCORE_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "certcore/error.h"

/* What a cc_sandbox_* call did. */
enum cc_sandbox_result {
	CC_SANDBOX_ENFORCED,   /* the restriction holds from now on */
	CC_SANDBOX_UNAVAILABLE /* no usable Landlock: see each function for what was done */
};

/*
 * Hides the `n` folders `dirs` (existing; absolute or relative) from this thread and what it
 * starts later: nothing beneath them can be read, written, made, removed or moved. *abi: the
 * kernel's Landlock ABI (0 when none). CC_SANDBOX_UNAVAILABLE, nothing done, without Landlock
 * or with ABI 1 (which forbids every move between folders: umd's spool moves). An error when
 * the kernel has Landlock but the ruleset could not be made or enforced.
 */
enum cc_err cc_sandbox_hide(const char *const *dirs, size_t n, enum cc_sandbox_result *res,
                            int *abi) CC_WUR;

/*
 * Whether, once cc_sandbox_hide(dirs, n) holds, no new file can be made at `path`: its folder
 * (existing; absolute or relative) is one of the hidden folders, beneath one, or on the way to
 * one (an ancestor: the store, its parents, /). Lets a program refuse such a path before it
 * starts work whose result it could not write. false when a folder cannot be resolved (the
 * write then fails with its own reason).
 */
bool cc_sandbox_hide_refuses(const char *const *dirs, size_t n, const char *path);

/* What cc_sandbox_confine grants beneath its folders (`grants`, or'ed). */
enum cc_sandbox_grant {
	CC_SANDBOX_READ = 0,       /* read files, list folders: always granted */
	CC_SANDBOX_WRITE = 1 << 0, /* also make, write, truncate and remove files, and rename
	                              them within a folder (a new name renamed into place) */
};

/*
 * Confines a key holder, the calling process, for good, to the `n` folders `dirs` (existing,
 * not links; n = 0: no folder at all): beneath them it can read files and list folders, and
 * with CC_SANDBOX_WRITE make, write, truncate, rename within a folder and remove files; every
 * other file and folder can be neither read nor listed, and nothing else can be written,
 * made, removed, moved or executed anywhere. No TCP listener or connection where the kernel's
 * ABI has network rules (4, Linux 6.7); no abstract unix socket and no signal to a process
 * outside its domain (ABI 6). Always, Landlock or not: no new privileges, not dumpable and no
 * core file (cc_nodump), and no new socket of any kind (a seccomp filter on x86-64: socket(2)
 * and socketpair(2) fail with EACCES; Landlock's network rules cover TCP only). Descriptors
 * already open stay usable (the socket to the daemon, stdio). *abi as cc_sandbox_hide; without
 * Landlock the rest is done and the result is CC_SANDBOX_UNAVAILABLE. An error, with the
 * system's reason, when any of it could not be done.
 */
enum cc_err cc_sandbox_confine(const char *const *dirs, size_t n, unsigned grants,
                               enum cc_sandbox_result *res, int *abi) CC_WUR;

#endif
