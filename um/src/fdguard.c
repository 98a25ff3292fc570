/* umd's guard on its file descriptors (fdguard.h). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdguard.h"
#include "seam.h"

static struct {
	bool armed;
	struct cc_log *log;
	int spare;      /* /dev/null, given up to drain the queue on EMFILE */
	bool refusing;  /* in an episode of refusals */
	size_t episode; /* connections refused in it */
	size_t refused; /* in all */
} guard = {.spare = -1};

static int (*real_accept)(int, struct sockaddr *, socklen_t *);

/* The descriptor numbers umd keeps for itself: from limit - UM_FD_RESERVE up. */
static bool
too_high(int fd)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur <= UM_FD_RESERVE)
		return false;
	/* Descriptors are handed out lowest first: this one being high means few are left. */
	return (rlim_t)fd >= rl.rlim_cur - UM_FD_RESERVE;
}

static void
refused(void)
{
	guard.refused++;
	guard.episode++;
	if (!guard.refusing) {
		guard.refusing = true;
		cc_log_message(guard.log, CC_LOG_WARNING,
		               "descriptors nearly exhausted (RLIMIT_NOFILE): new connections are "
		               "closed until some are free");
	}
}

static void
accepted(void)
{
	if (guard.refusing) {
		cc_log_message(
		        guard.log, CC_LOG_WARNING,
		        "descriptors available again: %zu connection(s) were closed meanwhile",
		        guard.episode);
		guard.refusing = false;
		guard.episode = 0;
	}
}

/* The interposed function (see fdguard.h and seam.h). */
int
accept(int fd, struct sockaddr *sa, socklen_t *len)
{
	int s, saved;

	if (real_accept == NULL &&
	    (real_accept = (int (*)(int, struct sockaddr *, socklen_t *))dlsym(RTLD_NEXT,
	                                                                       "accept")) == NULL) {
		errno = ENOSYS;
		return -1;
	}
	if (!guard.armed || !um_seam_from_sofia(__builtin_return_address(0))) {
		um_seam_pass(UM_SEAM_ACCEPT);
		return real_accept(fd, sa, len);
	}
	um_seam_take(UM_SEAM_ACCEPT);
	s = real_accept(fd, sa, len);
	if (s >= 0) {
		if (!too_high(s)) {
			accepted();
			return s;
		}
		close(s);
		refused();
		errno = EMFILE;
		return -1;
	}
	saved = errno;
	if ((saved == EMFILE || saved == ENFILE) && guard.spare >= 0) {
		/* Take the queued connection off the queue with the spare, and close it. */
		close(guard.spare);
		if ((s = real_accept(fd, NULL, NULL)) >= 0)
			close(s);
		guard.spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
		refused();
	}
	errno = saved;
	return -1;
}

enum um_err
um_fdguard_arm(struct cc_log *log)
{
	if (guard.spare < 0 && (guard.spare = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
		return um_seterr(UM_ERR_IO, "/dev/null: %s", strerror(errno));
	guard.log = log;
	guard.armed = true;
	return UM_OK;
}

size_t
um_fdguard_refused(void)
{
	return guard.refused;
}
