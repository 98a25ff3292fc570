/* A key process: the daemon's side and the holder's loop (certcore/keyproc.h). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "certcore/keyproc.h"
#include "internal.h"

struct cc_keyproc {
	pthread_mutex_t mu; /* one request at a time on the socket */
	int fd;
	pid_t pid; /* negative once reaped */
	bool gone; /* it did not answer, or has ended: no more requests */
};

enum cc_err
cc_keyproc_start(const char *name, int reply_seconds, cc_keyproc_main_fn fn, void *arg,
                 struct cc_keyproc **out)
{
	struct cc_keyproc *kp = NULL;
	struct timeval tv = {reply_seconds, 0};
	int sv[2] = {-1, -1}, rc;
	pid_t parent = getpid();
	enum cc_err r = CC_ERR_NOMEM;

	*out = NULL;
	if ((kp = calloc(1, sizeof(*kp))) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "key process");
		goto out;
	}
	kp->fd = -1;
	pthread_mutex_init(&kp->mu, NULL);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		r = cc_seterr_errno(CC_ERR_IO, "socketpair");
		goto out;
	}
	fflush(NULL); /* nothing buffered is written twice */
	if ((kp->pid = fork()) == -1) {
		r = cc_seterr_errno(CC_ERR_IO, "fork");
		goto out;
	}
	if (kp->pid == 0) {
		(void)prctl(PR_SET_NAME, name, 0, 0, 0);
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (getppid() != parent)
			_exit(1); /* the daemon ended before PDEATHSIG was set */
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		if (dup2(sv[1], 3) == -1)
			_exit(1);
		(void)close_range(4, ~0U, 0);
		rc = fn(3, arg);
		fflush(NULL);
		/* _exit: the daemon's atexit handlers (and the sanitizer's) are not the holder's */
		_exit(rc);
	}
	close(sv[1]);
	sv[1] = -1;
	kp->fd = sv[0];
	sv[0] = -1;
	if (setsockopt(kp->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1) {
		r = cc_seterr_errno(CC_ERR_IO, "setsockopt");
		goto out;
	}
	*out = kp;
	kp = NULL;
	r = CC_OK;
out:
	if (sv[0] != -1)
		close(sv[0]);
	if (sv[1] != -1)
		close(sv[1]);
	cc_keyproc_stop(kp);
	return r;
}

enum cc_err
cc_keyproc_call(struct cc_keyproc *kp, const void *hdr, size_t hdrlen, const void *data,
                size_t datalen, void *out, size_t *outlen)
{
	struct cc_keyproc_reply *rep = NULL;
	struct iovec iov[2] = {{(void *)hdr, hdrlen}, {(void *)data, datalen}};
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = data != NULL && datalen ? 2 : 1};
	ssize_t n;
	enum cc_err r = CC_ERR_IO;

	pthread_mutex_lock(&kp->mu);
	if (kp->gone) {
		r = cc_seterr(CC_ERR_IO, "the key holder (pid %d) is gone",
		              (int)(kp->pid < 0 ? -kp->pid : kp->pid));
		goto out;
	}
	if ((rep = malloc(sizeof(*rep))) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "key holder reply");
		goto out;
	}
	while ((n = sendmsg(kp->fd, &msg, MSG_NOSIGNAL)) == -1 && errno == EINTR)
		;
	if (n == -1) {
		/* EMSGSIZE: larger than the socket takes; the holder is fine */
		if (errno == EMSGSIZE) {
			r = cc_seterr(CC_ERR_LIMIT, "the request to the key holder is too long");
			goto out;
		}
		kp->gone = true;
		r = cc_seterr_errno(CC_ERR_IO, "the key holder (pid %d): send", (int)kp->pid);
		goto out;
	}
	while ((n = recv(kp->fd, rep, sizeof(*rep), 0)) == -1 && errno == EINTR)
		;
	if (n <= 0 || (size_t)n < sizeof(rep->h) || rep->h.len != (size_t)n - sizeof(rep->h)) {
		kp->gone = true;
		r = cc_seterr(CC_ERR_IO, "the key holder (pid %d) did not answer: %s", (int)kp->pid,
		              n == 0    ? "it closed its end"
		              : n == -1 ? strerror(errno)
		                        : "malformed reply");
		goto out;
	}
	if (!rep->h.ok) {
		r = cc_seterr(CC_ERR_CRYPTO, "%.*s", (int)rep->h.len, (const char *)rep->data);
		goto out;
	}
	if (out != NULL) {
		if (rep->h.len > *outlen) {
			r = cc_seterr(CC_ERR_LIMIT, "the key holder's answer does not fit");
			goto out;
		}
		memcpy(out, rep->data, rep->h.len);
		*outlen = rep->h.len;
	}
	r = CC_OK;
out:
	pthread_mutex_unlock(&kp->mu);
	if (rep != NULL) {
		/* the answer may be a secret (a password) */
		OPENSSL_cleanse(rep, sizeof(*rep));
		free(rep);
	}
	return r;
}

bool
cc_keyproc_gone(struct cc_keyproc *kp)
{
	bool g;

	pthread_mutex_lock(&kp->mu);
	g = kp->gone;
	pthread_mutex_unlock(&kp->mu);
	return g;
}

pid_t
cc_keyproc_pid(const struct cc_keyproc *kp)
{
	return kp->pid < 0 ? -kp->pid : kp->pid;
}

bool
cc_keyproc_ended(struct cc_keyproc *kp, char *why, size_t len)
{
	int st;
	pid_t p;

	if (kp == NULL || kp->pid <= 0)
		return false;
	while ((p = waitpid(kp->pid, &st, WNOHANG)) == -1 && errno == EINTR)
		;
	if (p != kp->pid)
		return false;
	if (WIFSIGNALED(st))
		snprintf(why, len, "killed by signal %d", WTERMSIG(st));
	else
		snprintf(why, len, "exited with status %d", WEXITSTATUS(st));
	pthread_mutex_lock(&kp->mu);
	kp->gone = true;
	kp->pid = -kp->pid; /* reaped: never waited for again */
	pthread_mutex_unlock(&kp->mu);
	return true;
}

void
cc_keyproc_stop(struct cc_keyproc *kp)
{
	int st;

	if (kp == NULL)
		return;
	if (kp->fd != -1)
		close(kp->fd);
	if (kp->pid > 0)
		while (waitpid(kp->pid, &st, 0) == -1 && errno == EINTR)
			;
	pthread_mutex_destroy(&kp->mu);
	free(kp);
}

void
cc_keyproc_reply_ok(struct cc_keyproc_reply *rep, const void *data, size_t len)
{
	if (len > sizeof(rep->data)) {
		cc_keyproc_reply_fail(rep, "key holder", "answer too long", NULL);
		return;
	}
	rep->h.ok = 1;
	rep->h.len = (uint16_t)len;
	if (len)
		memcpy(rep->data, data, len);
}

void
cc_keyproc_reply_fail(struct cc_keyproc_reply *rep, const char *who, const char *what,
                      const char *arg)
{
	char buf[1024];
	unsigned long e = ERR_peek_last_error();
	const char *lib = e != 0 ? ERR_reason_error_string(e) : NULL;
	int n;

	n = snprintf(buf, sizeof(buf), "%s: %s%s%s", who, what, arg ? ": " : "", arg ? arg : "");
	if (n >= 0 && e != 0 && (size_t)n < sizeof(buf))
		snprintf(buf + n, sizeof(buf) - (size_t)n, " (%s)", lib ? lib : "OpenSSL");
	ERR_clear_error();
	rep->h.ok = 0;
	rep->h.len = (uint16_t)strnlen(buf, sizeof(buf) - 1);
	memcpy(rep->data, buf, rep->h.len);
}

int
cc_keyproc_serve(int fd, size_t max, cc_keyproc_handle_fn fn, void *arg, struct cc_log *log)
{
	unsigned char *in = NULL;
	struct cc_keyproc_reply *rep = NULL;
	ssize_t n;
	int rc = 1;

	if ((in = malloc(max + 1)) == NULL || (rep = malloc(sizeof(*rep))) == NULL) {
		cc_log_message(log, CC_LOG_ERROR, "key holder: out of memory");
		goto out;
	}
	for (;;) {
		/* MSG_TRUNC: the datagram's whole length, so a longer one is seen and refused */
		n = recv(fd, in, max + 1, MSG_TRUNC);
		if (n == 0) {
			rc = 0; /* the daemon closed its end: it is stopping */
			break;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			cc_log_message(log, CC_LOG_ERROR, "key holder: recv: %s", strerror(errno));
			break;
		}
		memset(&rep->h, 0, sizeof(rep->h));
		if ((size_t)n > max)
			cc_keyproc_reply_fail(rep, "key holder", "request too long", NULL);
		else
			fn(arg, in, (size_t)n, rep);
		OPENSSL_cleanse(in, max + 1);
		if (send(fd, rep, sizeof(rep->h) + rep->h.len, MSG_NOSIGNAL) == -1) {
			cc_log_message(log, CC_LOG_ERROR, "key holder: send: %s", strerror(errno));
			break;
		}
		OPENSSL_cleanse(rep, sizeof(rep->h) + rep->h.len);
	}
out:
	if (in != NULL) {
		OPENSSL_cleanse(in, max + 1);
		free(in);
	}
	free(rep);
	return rc;
}
