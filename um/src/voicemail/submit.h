/*
 * SMTP submission of voice messages (README, "umd, the UM server"): one thread of
 * its own submits what the spool committed to new/ (at start, and what arrives while umd runs,
 * seen with inotify) to the hub with libcurl's SMTP: STARTTLS always (CURLUSESSL_ALL: never
 * plaintext, never a downgrade), umd's SMTP certificate as the client certificate (smtpid.h),
 * the hub verified by the store's roots and hub_fqdn, or by its pinned certificate. One TLS
 * session carries many messages (libcurl's connection reuse) until the certificate changes.
 *
 * Outcomes (queue.h has the files): 250 -> sent/ (VoiceMessageSubmitted); a permanent refusal
 * for the recipient (message.h's rule) or max_queue_days -> failed/ (VoiceMessageFailed);
 * anything else is deferred (VoiceMessageDeferred), retried after one minute, doubling to an
 * hour. A hub that cannot be reached or verified defers every message due in that pass with the
 * same reason, without trying each. Stopping aborts a transfer under way: the message stays in
 * new/ and is sent again, with the same Message-ID, at the next start.
 */
#ifndef UM_VOICEMAIL_SUBMIT_H
#define UM_VOICEMAIL_SUBMIT_H

#include <time.h>

#include "certcore/log.h"
#include "error.h"
#include "metrics.h"
#include "voicemail/smtpconf.h"
#include "voicemail/smtpid.h"

#define UM_SUBMIT_RETRY_FIRST 60   /* seconds before the first retry */
#define UM_SUBMIT_RETRY_MAX   3600 /* the longest wait between two attempts */

struct um_submit;

/*
 * Starts the thread for the spool at `spool` (opened: its folders exist). `smtp` is copied;
 * `fqdn` is umd's (EHLO and Message-IDs use [smtp] fqdn when set); `id`, `log` and `metrics` are
 * borrowed and must outlive um_submit_stop. `store` is the certificate store (the directory
 * lookup trusts its roots). *out NULL on entry, owned on success.
 */
enum um_err um_submit_start(const struct um_smtp_config *smtp, const char *spool, const char *fqdn,
                            const char *store, struct um_smtp_identity *id, struct cc_log *log,
                            struct um_metrics *metrics, struct um_submit **out) UM_WUR;

/* Asks for a pass now (a message was committed, the certificate changed). Any thread. */
void um_submit_kick(struct um_submit *s);

/* Stops the thread (a transfer under way is aborted) and frees. NULL: no-op. */
void um_submit_stop(struct um_submit *s);

#endif
