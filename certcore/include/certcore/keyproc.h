/*
 * A key process: the small process a daemon forks before any thread and before anything reads
 * the network, which alone reads the store's private keys and answers requests for them (umd's
 * and edgesync's key holders; OpenSMTPD's and relayd's ca.c do the same). One request, one
 * reply, each one datagram of a SOCK_SEQPACKET socketpair between two processes of the same
 * binary, so native byte order and fixed layouts: the request's layout is the caller's, the
 * reply is struct cc_keyproc_rep and `len` bytes (ok: the answer; else: why, text).
 *
 * The daemon's side (cc_keyproc_start, cc_keyproc_call) sends one request at a time, from any
 * thread. The holder's side (cc_keyproc_serve) refuses a request longer than its maximum
 * without reading it, and wipes every request once answered.
 */
#ifndef CERTCORE_KEYPROC_H
#define CERTCORE_KEYPROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "certcore/error.h"
#include "certcore/log.h"

#define CC_KEYPROC_MAX 65535 /* bytes of a reply's answer (its `len`) */

struct cc_keyproc_rep {
	uint8_t ok;
	uint8_t pad;
	uint16_t len;
};

struct cc_keyproc;

/* The holder's work, in the child: serve `fd` and return the process's exit status. */
typedef int (*cc_keyproc_main_fn)(int fd, void *arg);

/*
 * Forks the key process, named `name` (ps, at most 15 bytes shown): its socket as fd 3, every
 * other descriptor but stdio closed, SIGINT, SIGTERM, SIGHUP and SIGPIPE ignored (the daemon
 * stops it by closing its end), killed when the daemon ends; then fn(3, arg), and _exit with
 * what it returns. A reply that does not come within `reply_seconds` counts as the process
 * gone. Call it while the process has one thread. *out NULL on entry, owned on success.
 */
enum cc_err cc_keyproc_start(const char *name, int reply_seconds, cc_keyproc_main_fn fn, void *arg,
                             struct cc_keyproc **out) CC_WUR;

/*
 * Sends the request `hdr` followed by `data` (may be NULL) and waits for the reply. CC_OK: the
 * answer in `out` (*outlen: its room on entry, the answer's length on return; out NULL: an
 * answer is not wanted). CC_ERR_CRYPTO: the holder refused, with its reason as the detail.
 * CC_ERR_IO: the holder did not answer (gone, timed out, or a malformed reply): it is taken as
 * gone from then on (cc_keyproc_gone).
 */
enum cc_err cc_keyproc_call(struct cc_keyproc *kp, const void *hdr, size_t hdrlen, const void *data,
                            size_t datalen, void *out, size_t *outlen) CC_WUR;

/* True once a call found the holder gone, or cc_keyproc_ended reaped it. */
bool cc_keyproc_gone(struct cc_keyproc *kp);

/* The holder's process id. */
pid_t cc_keyproc_pid(const struct cc_keyproc *kp);

/*
 * True when the holder has ended (it is reaped), with how in `why` ("killed by signal 9",
 * "exited with status 1"). Never blocks; for SIGCHLD or a daemon's loop.
 */
bool cc_keyproc_ended(struct cc_keyproc *kp, char *why, size_t len);

/* Closes the socket, so the holder ends, and waits for it; frees `kp` (NULL: nothing). */
void cc_keyproc_stop(struct cc_keyproc *kp);

/* The holder's side. */
struct cc_keyproc_reply {
	struct cc_keyproc_rep h;
	unsigned char data[CC_KEYPROC_MAX];
};

/*
 * Answers one request of `len` bytes (at most the maximum given to cc_keyproc_serve) by filling
 * `rep` (zeroed: a refusal without a reason unless filled).
 */
typedef void (*cc_keyproc_handle_fn)(void *arg, const unsigned char *req, size_t len,
                                     struct cc_keyproc_reply *rep);

/*
 * Answers requests on `fd` until the other end closes it: returns 0 then, 1 when the socket
 * fails. A request longer than `max` bytes is refused ("request too long"); errors are logged
 * to `log` (may be NULL).
 */
int cc_keyproc_serve(int fd, size_t max, cc_keyproc_handle_fn fn, void *arg, struct cc_log *log);

/* rep: ok, with the `len` bytes of `data`. */
void cc_keyproc_reply_ok(struct cc_keyproc_reply *rep, const void *data, size_t len);

/*
 * rep: refused, "WHO: WHAT[: ARG][ (OpenSSL's reason)]" (the last of OpenSSL's queue, which is
 * cleared). `arg` may be NULL.
 */
void cc_keyproc_reply_fail(struct cc_keyproc_reply *rep, const char *who, const char *what,
                           const char *arg);

#endif
