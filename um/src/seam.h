/*
 * umd's seam with sofia-sip: every function umd interposes, why, for which call of sofia-sip's,
 * and the versions that was verified against. This is the one list; um/CMakeLists.txt exports
 * the same symbols from the executable (UM_SEAM_SYMBOLS), and tests/unit/test_um_seam.c drives
 * each hook through a real nua/nta on loopback.
 *
 * How it works. umd's executable defines and exports these symbols, so the dynamic linker
 * binds sofia-sip's (and OpenSSL's) calls to umd's definitions; each reaches the real function
 * with dlsym(RTLD_NEXT). A hook acts only on the call it exists for (below) and passes every
 * other call through untouched; each counts the calls it acted on and the ones it passed
 * (um_seam_taken, um_seam_passed; /metrics: umd_seam_hook_calls_total).
 *
 * Verified against: sofia-sip 1.12.11devel as Debian 12 ships it (libsofia-sip-ua0
 * 1.12.11+20110422.1+1e14eea~dfsg-6; sofia_sip_name_version "sofia-sip-1.12.11devel"), linked
 * to OpenSSL 3.0 (3.0.19). The call order below was read from sofia-sip 1.12.11's tport_tls.c,
 * tport.c, nta.c and nua_stack.c and checked against Debian's binary (objdump of tls_free,
 * tls_init_master, tls_init_secondary, tls_read, tport_accept, nta_agent_add_tport: the calls
 * each makes, in order).
 * The maintained line (freeswitch/sofia-sip 1.13) differs where it matters: its tls_create_ctx
 * sets the cipher list before SSL_CTX_set_verify, which would undo umd's verification callback,
 * and its tport_tls_free calls SSL_free after SSL_shutdown.
 *
 *   SSL_CTX_set_cipher_list (tlshook.c). sofia-sip has no tag for TLS versions, ciphers or a
 *     certificate callback and no access to its SSL_CTX. nua_create -> nua_stack_init ->
 *     nua_stack_init_transport -> nta_agent_add_tport -> tport_tbind -> tport_tls_init_master ->
 *     tls_init_master -> tls_init_context (inlined in Debian's build) calls, on the context it
 *     made: SSL_CTX_new(TLS_method()), SSL_CTX_use_certificate_file,
 *     SSL_CTX_use_PrivateKey_file, SSL_CTX_check_private_key, SSL_CTX_load_verify_locations,
 *     SSL_CTX_set_verify_depth, SSL_CTX_set_verify, then SSL_CTX_set_cipher_list with its own
 *     string; tls_init_master then sets the session id context and the client CA list from
 *     cafile.pem. The hook replaces sofia's string with umd's policy and takes the context
 *     over (versions, options, verification, certificate callback) because nothing after it
 *     in that order undoes what it sets. Acts only inside the window umd opens around
 *     nua_create on its own thread (um_seam_window) and only for a call made from sofia-sip's
 *     code: OpenSSL's SSL_CTX_new itself calls SSL_CTX_set_cipher_list when the OpenSSL
 *     configuration has a CipherString (ssl_conf.c, cmd_CipherString), and libcurl's contexts
 *     (SMTP submission) are made on other threads; those pass through untouched.
 *   SSL_new (tlshook.c). tport_accept -> tport_tls_init_secondary -> tls_init_secondary calls
 *     SSL_new(master's ctx) then SSL_set_bio and SSL_set_ex_data: the hook tracks every
 *     connection from its first moment (handshake watchdog, peer certificates) and puts the
 *     CA names on the context before the SSL copies them (they are set after the cipher list).
 *     Acts only for contexts the cipher-list hook took over.
 *   SSL_shutdown (tlshook.c). tls_free (tport_tls_deinit_secondary, when sofia closes a
 *     connection) calls SSL_shutdown, BIO_free and, for the master only, SSL_CTX_free, but never
 *     SSL_free: each connection's SSL would leak. SSL_shutdown being sofia's last call on the
 *     SSL, the hook frees it there (keeping the BIO and a context reference for the frees that
 *     follow). A sofia-sip that frees its SSL itself (the maintained 1.13 line does) would make
 *     this a double free: hence the version rule below. Acts only for SSLs the SSL_new hook
 *     tracks.
 *   SSL_read (tlshook.c). tls_read (tport_tls.c) reads plaintext with SSL_read into its 16 KiB
 *     buffer: the hook follows where SIP messages begin and end (sipframe.h) so that a message
 *     that stops half-way is timed out, which sofia's TPTAG_TIMEOUT does for TCP only. With the
 *     keep-alive fast path on (options_fast_path, optfast.h), it also answers the plain
 *     keep-alive OPTIONS at the start of what it read and takes them out: sofia-sip never sees
 *     them. When it answered all it read and OpenSSL holds nothing more, it returns -1 without
 *     another read(2) and has SSL_get_error (below) say "want read". That relies on sofia's
 *     read path: tport_tls_events (tport_type_tls.c) calls tls_want_read -> tls_read ->
 *     SSL_read; tls_read hands a result <= 0 to tls_error, which calls SSL_get_error and, on
 *     SSL_ERROR_WANT_READ, keeps SU_WAIT_IN and returns -1 with EAGAIN; tls_want_read then
 *     returns 3 and tport_tls_events calls tport_recv_event -> tport_tls_recv -> tls_read ->
 *     SSL_read a second time in the same wake-up, which the hook answers the same way, again
 *     without a read(2). And it relies on su_root's port being level-triggered (su_epoll_port
 *     registers without EPOLLET; the poll and select ports are level-triggered by nature):
 *     bytes the hook left in the socket wake sofia-sip again. Acts only for tracked SSLs.
 *   SSL_write (tlshook.c). tport_tls_send -> tls_write calls SSL_write with sofia's message,
 *     and tls_want_write calls it again with the same buffer after "want write". A fast-path
 *     answer the full socket held back goes first (OpenSSL wants an incomplete write retried
 *     with the same bytes before any other, SSL_write(3)), and the hook notes whether sofia's
 *     own write is left to retry, during which the fast path does not answer on that
 *     connection: its answers and sofia's messages never interleave. Acts only for tracked
 *     SSLs while the fast path is on (or an answer of its is still unsent); sofia-sip's STUN
 *     client and libcurl's SMTP connections (other threads) pass.
 *   SSL_get_error (tlshook.c). tls_error (static in tport_tls.c; called by tls_read and
 *     tls_write after a result <= 0, resp. < 0 in 1.12.11) and tls_connect (after SSL_accept)
 *     call it. The hook answers SSL_ERROR_WANT_READ in OpenSSL's place for the one call that
 *     follows an SSL_read of the hook's that answered all it read: OpenSSL, whose last read
 *     succeeded, would say SSL_ERROR_SYSCALL, which tls_error takes for the end of the stream
 *     (errno 0) and sofia-sip closes the connection. Every other call, on tracked SSLs as on
 *     any other (libcurl's, on other threads), gets OpenSSL's answer.
 *     What breaks on another sofia-sip: the three hooks above hold only while sofia reads and
 *     writes a connection solely through SSL_read and SSL_write (not SSL_read_ex or a BIO of
 *     its own), asks SSL_get_error about every SSL_read that returned -1 before its next call
 *     on the SSL, treats SSL_ERROR_WANT_READ as "nothing yet" and waits on a level-triggered
 *     poll. A tport that waited edge-triggered would sleep on bytes still in the socket (the
 *     gateway's next keep-alive unanswered until more arrive); one that read SSL_get_error
 *     later, or errno instead, would take the swallowed read for an error and close the
 *     connection; one that wrote past SSL_write would put its messages inside the fast
 *     path's answers. A tport that did not call SSL_read again in the same wake-up would
 *     cost an empty SSL_read and a wake-up at the next. The maintained 1.13 line
 *     (freeswitch/sofia-sip, tport_tls.c and tport_type_tls.c as read) reads and writes the
 *     same way; its tls_write hands a result <= 0 to tls_error (the hook's -1 either way).
 *   accept (fdguard.c). tport_accept (tport.c) calls accept(2) on a listening socket when it is
 *     readable; on EMFILE it logs and returns with the connection still queued, and the loop
 *     spins. The hook keeps descriptors in reserve and drains the queue (fdguard.h). Acts only
 *     for calls made from sofia-sip's code (its listening sockets); libmicrohttpd uses accept4.
 *   nta_leg_tcreate (sip.c). nua_create -> nua_stack_init makes the agent with no transport
 *     (nta_agent_create(root, NONE, ...)), then nta's default leg with nta_leg_tcreate(agent,
 *     nua_stack_process_request, the default handle, NTATAG_NO_DIALOG(1)), then the transports
 *     (above); nua makes each dialog's leg the same way with the dialog's handle as magic. The
 *     hook puts umd's OPTIONS fast path in front of the default leg and the dialog owner check
 *     in front of dialog legs. Acts only for the agent of the nua umd is starting or running.
 *   tport_tcreate (sip.c). nua_create -> nua_stack_init -> nua_stack_init_transport ->
 *     nta_agent_add_tport makes nta's master transport, the agent's first time, with
 *     tport_tcreate(agent, nta_agent_class, root, TPTAG_SDWN_ERROR(0), ...) before tport_tbind
 *     (above); every transport bound under that master delivers what it receives to the class's
 *     tpac_recv (agent_recv_message). nta matches a CANCEL to the INVITE's server transaction
 *     there, answers 200 and tells nua, which ends the INVITE with 487, before any leg or
 *     callback of umd's. The hook hands on a copy of the class whose tpac_recv checks a
 *     CANCEL's owner first (RFC 3261 section 9.2: it must come from the gateway of the INVITE
 *     it cancels, else 403 and PeerRejected) and then calls nta's. Acts only while umd's
 *     nua_create runs (another agent's master transport passes through).
 *
 * Version rule: umd builds only against the sofia-sip listed here (um/CMakeLists.txt stops
 * with the reason otherwise) and refuses to start when the library it runs with reports
 * another version (um_seam_check_runtime). A new sofia-sip means reading its call order again,
 * updating this comment and UM_SEAM_SOFIA_VERSION, and running tests/unit/test_um_seam.c.
 *
 * After start, um_seam_check_started refuses a start where a hook that must have run did not:
 * the cipher-list hook (secure modes), nta_leg_tcreate on nua's default leg and tport_tcreate
 * on nta's master transport. The others run per connection and are covered by the unit suite.
 *
 * Threads: the hooks act on the SIP thread only (where sofia runs); the counters are atomic
 * and may be read from any thread.
 */
#ifndef UM_SEAM_H
#define UM_SEAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* sofia_sip_name_version of the one sofia-sip umd's seam was verified against. */
#define UM_SEAM_SOFIA_VERSION "sofia-sip-1.12.11devel"

enum um_seam_hook {
	UM_SEAM_CIPHER_LIST, /* SSL_CTX_set_cipher_list */
	UM_SEAM_SSL_NEW,     /* SSL_new */
	UM_SEAM_SSL_SHUTDOWN,
	UM_SEAM_SSL_READ,
	UM_SEAM_SSL_WRITE,
	UM_SEAM_SSL_GET_ERROR,
	UM_SEAM_ACCEPT,
	UM_SEAM_LEG_TCREATE,   /* nta_leg_tcreate */
	UM_SEAM_TPORT_TCREATE, /* tport_tcreate */
	UM_SEAM__MAX
};

/* The symbol umd interposes for `h` (a static string). */
const char *um_seam_symbol(enum um_seam_hook h);

/*
 * Whether the sofia-sip version string `name_version` (as sofia_sip_name_version) is the one
 * verified; false with the reason in `why`.
 */
bool um_seam_version_ok(const char *name_version, char *why, size_t len);

/*
 * Before anything of sofia-sip runs: the runtime sofia-sip is the verified one, and every
 * interposed symbol resolves to umd's own definition (the executable exports it). Fails with
 * the reason (UM_ERR_SIP).
 */
enum um_err um_seam_check_runtime(void) UM_WUR;

/*
 * Opens (true) or closes (false) the window, on the calling thread, in which the cipher-list
 * hook acts: umd opens it around nua_create, where sofia-sip makes its TLS transport.
 */
void um_seam_window(bool open);
bool um_seam_in_window(void);

/* Whether the code at `ret` (a return address) is sofia-sip's. */
bool um_seam_from_sofia(const void *ret);

/* Called by the hooks: a call acted on, or passed through untouched. */
void um_seam_take(enum um_seam_hook h);
void um_seam_pass(enum um_seam_hook h);

/* How many calls of `h` were acted on / passed through since the process started. */
uint64_t um_seam_taken(enum um_seam_hook h);
uint64_t um_seam_passed(enum um_seam_hook h);

/*
 * After the SIP stack started: fails with the reason when a hook that must have run did not
 * (the cipher-list hook when `tls`; nta_leg_tcreate on nua's default leg; tport_tcreate on
 * nta's master transport).
 */
enum um_err um_seam_check_started(bool tls) UM_WUR;

#endif
