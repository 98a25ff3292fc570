/*
 * umd gives up the store's private keys (issue: key custody): once its key holder runs
 * (keyholder.h), the process that parses SIP can neither read nor write under the store's keys/
 * or requests/ folders (open a file, create, remove or rename an entry), with Landlock (Linux
 * 5.13 and later; ABI 2, 5.19, for renames; ABI 3, 6.2, for truncate). The holder makes and
 * writes the keys of the certificates umd makes (cc_store_set_key_maker).
 *
 * Landlock only grants: the ruleset handles reading and writing files and folders (and moving
 * entries between folders), and grants them everywhere but the hidden folders, by a rule on
 * every entry of each folder on the way from / to them (the store's siblings, the store's other
 * folders, ...). So a file or folder created later right inside one of those folders on the
 * way (the store's parents, the store itself) cannot be read or written, and no entry can be
 * made or removed right there; deeper (a new certificate in certs/, a new file in /etc) all is
 * as before.
 *
 * Applies to the calling thread and to what it starts afterwards: call it before any thread.
 */
#ifndef UM_KEYS_SANDBOX_H
#define UM_KEYS_SANDBOX_H

#include <stddef.h>

#include "error.h"

/* What um_sandbox_hide did. */
enum um_sandbox_result {
	UM_SANDBOX_ENFORCED,   /* the folders cannot be read or written from now on */
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

/*
 * Confines the key holder (keyserve.h), the calling process, for good: it can reach the file
 * system only beneath `keys` (the store's keys/; NULL: nowhere), and there only read, list,
 * create, write, truncate, rename within and remove files; no TCP listener or connection
 * (Landlock ABI 4); no abstract unix socket and no signal to a process outside its domain
 * (ABI 6). Always: no new privileges, not dumpable, and no new socket of any kind (seccomp on
 * x86-64: socket(2) and socketpair(2) fail with EACCES; Landlock's network rules cover TCP
 * only). Descriptors open before stay usable (the socket to umd, stdio). *abi as above;
 * without Landlock the rest is done and UM_SANDBOX_UNAVAILABLE.
 */
enum um_err um_sandbox_confine(const char *keys, enum um_sandbox_result *res, int *abi) UM_WUR;

#endif
