/*
 * umd gives up reading the store's private keys (issue: key custody): once its key holder runs
 * (keyholder.h), the process that parses SIP cannot open a file under the store's keys/ or
 * requests/ folders, with Landlock (Linux 5.13 and later; ABI 2, 5.19, for renames).
 *
 * Landlock only grants: the ruleset handles reading files (and moving them between folders),
 * and grants both everywhere but the hidden folders, by a rule on every entry of each folder
 * on the way from / to them (the store's siblings, the store's other folders, ...). So a file
 * or folder created later right inside one of those folders on the way (the store's parents,
 * the store itself) cannot be read; one created deeper (a new certificate in certs/, a new file
 * in /etc) can. Writing is not restricted (certcore still writes keys/ when it makes a key).
 *
 * Applies to the calling thread and to what it starts afterwards: call it before any thread.
 */
#ifndef UM_KEYS_SANDBOX_H
#define UM_KEYS_SANDBOX_H

#include <stddef.h>

#include "error.h"

/* What um_sandbox_hide did. */
enum um_sandbox_result {
	UM_SANDBOX_ENFORCED,   /* the folders cannot be read from now on */
	UM_SANDBOX_UNAVAILABLE /* no Landlock (or ABI 1, which cannot allow renames): nothing done
	                        */
};

/*
 * Hides the `n` folders `dirs` (existing; absolute or relative) from this thread and what it
 * starts later. *abi: the kernel's Landlock ABI (0 when none). An error when the kernel has
 * Landlock but the ruleset could not be made or enforced.
 */
enum um_err um_sandbox_hide(const char *const *dirs, size_t n, enum um_sandbox_result *res,
                            int *abi) UM_WUR;

#endif
