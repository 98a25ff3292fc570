/*
 * umd's guard on its file descriptors. Every SIP connection is a descriptor, and sofia-sip's
 * listener (tport.c, tport_accept) copes badly with running out: when accept(2) fails with
 * EMFILE it reports the error and returns, the connection stays queued, the listening socket
 * stays readable, and the event loop spins on it at full CPU, logging each turn, for as long
 * as the descriptors are taken.
 *
 * umd interposes accept(), as it does OpenSSL's functions for sofia-sip (seam.h lists them all):
 * the executable exports the symbol and the real one is reached with dlsym(RTLD_NEXT). The
 * guard acts only on calls made from sofia-sip's code (tport_accept, on its listening sockets);
 * any other caller's accept() passes through untouched.
 *
 *   - A connection whose descriptor would leave fewer than UM_FD_RESERVE free under
 *     RLIMIT_NOFILE (read at each accept, so a limit changed at run time counts) is closed at
 *     once and refused to sofia-sip (EMFILE): umd keeps descriptors for its own work (the
 *     store, certificate files, the HTTP endpoint) and for the established connections.
 *   - When accept() itself fails with EMFILE or ENFILE (descriptors taken by another thread),
 *     a spare descriptor held for the purpose is given up for a moment, the queued connection
 *     is accepted and closed, and the spare is taken back: the queue drains, so the loop never
 *     spins.
 *
 * What that guarantees: established connections keep being served; a new connection made
 * while descriptors are short is closed at once (its peer retries, as gateways do with their
 * keep-alives); new connections are accepted again as soon as descriptors are free, which
 * handshake_seconds and idle_seconds see to. A warning is logged when refusing starts and
 * when it ends, with the number refused, not one line per connection.
 */
#ifndef UM_FDGUARD_H
#define UM_FDGUARD_H

#include <stddef.h>

#include "certcore/log.h"
#include "error.h"

#define UM_FD_RESERVE 32

/* Arms the guard (before the SIP stack starts listening): takes the spare descriptor. */
enum um_err um_fdguard_arm(struct cc_log *log) UM_WUR;

/* Connections refused since the guard was armed. */
size_t um_fdguard_refused(void);

#endif
