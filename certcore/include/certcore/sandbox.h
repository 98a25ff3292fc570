/*
 * Landlock (Linux 5.13 and later; ABI 2, 5.19, for renames) for the key custody of umd and
 * edgesync: a daemon that faces the network gives up reading its store's private keys once its
 * key holder runs (cc_sandbox_hide), and the key holder gives up everything but reading its
 * store (cc_sandbox_confine).
 *
 * cc_sandbox_hide: Landlock only grants, so the ruleset handles reading files (and moving them
 * between folders), and grants both everywhere but the hidden folders, by a rule on every entry
 * of each folder on the way from / to them (the store's siblings, the store's other folders,
 * ...). So a file or folder created later right inside one of those folders on the way (the
 * store's parents, the store itself) cannot be read; one created deeper (a new certificate in
 * certs/, a new file in /etc) can. Writing is not restricted (certcore still writes keys/ when it
 * makes a key).
 *
 * Both apply to the calling thread and to what it starts afterwards: call them before any
 * thread. Both set PR_SET_NO_NEW_PRIVS (Landlock requires it of an unprivileged process).
 */
#ifndef CERTCORE_SANDBOX_H
#define CERTCORE_SANDBOX_H

#include <stddef.h>

#include "certcore/error.h"

/* What a cc_sandbox_* call did. */
enum cc_sandbox_result {
	CC_SANDBOX_ENFORCED,   /* the restriction holds from now on */
	CC_SANDBOX_UNAVAILABLE /* no Landlock (or ABI 1, which cannot allow renames): nothing done
	                        */
};

/*
 * Hides the `n` folders `dirs` (existing; absolute or relative) from this thread and what it
 * starts later. *abi: the kernel's Landlock ABI (0 when none). An error when the kernel has
 * Landlock but the ruleset could not be made or enforced.
 */
enum cc_err cc_sandbox_hide(const char *const *dirs, size_t n, enum cc_sandbox_result *res,
                            int *abi) CC_WUR;

/*
 * Confines this thread and what it starts later to reading files and listing folders beneath
 * the `n` folders `dirs` (existing): every other file and folder can be neither read nor
 * listed, and nothing can be written, made, removed, moved, truncated or executed anywhere.
 * Where the kernel's ABI has network rules (4, Linux 6.7), TCP binds and connects are refused
 * too. Descriptors already open stay usable. *abi and the result as cc_sandbox_hide.
 */
enum cc_err cc_sandbox_confine(const char *const *dirs, size_t n, enum cc_sandbox_result *res,
                               int *abi) CC_WUR;

#endif
