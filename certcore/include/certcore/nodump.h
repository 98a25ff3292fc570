/*
 * Keeping secrets out of core files. umd and edgesync hold private keys, SRTP keys and
 * decrypted bind passwords in memory; a crash must not write them to disk, and another process
 * of the same user must not read them through ptrace or /proc/PID/mem (as OpenSSH's daemons and
 * OpenSMTPD's key process arrange for themselves).
 */
#ifndef CERTCORE_NODUMP_H
#define CERTCORE_NODUMP_H

#include "certcore/error.h"

/*
 * Makes the calling process non-dumpable, for good: RLIMIT_CORE 0 (soft and hard, so that
 * without CAP_SYS_RESOURCE it cannot be raised again) and PR_SET_DUMPABLE 0, which also stops a
 * core handler piped from core_pattern (the kernel ignores RLIMIT_CORE for those) and a ptrace
 * attach or a read of /proc/PID/mem by another process of the same user. Call it first in main(),
 * before any secret is read; threads and children inherit both (an execve() resets only the
 * dumpable flag). CC_ERR_IO with the system's reason.
 */
enum cc_err cc_nodump(void) CC_WUR;

#endif
