/* umd's media engine: its thread, its ports, its queues (engine.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "media/engine.h"
#include "media/session.h"
#include "media/srtp.h"
#include "media/srtp_ossl.h"

#define MAX_EVENTS  4096 /* events waiting for the SIP thread; beyond, the oldest go */
#define EPOLL_BATCH 64
#define SLOT_BITS   20 /* a call id: generation << SLOT_BITS | port pair index */
#define BEEP_HZ     1400
#define BEEP_MS     250
#define END_TONE_HZ 480
#define END_TONE_MS 600
#define TONE_AMP    8000
#define TICK_SLACK  (500 * 1000ULL) /* ns: frames due this soon are sent in the same pass */

enum cmd_kind { CMD_BEGIN, CMD_UPDATE, CMD_END, CMD_STOP };

struct cmd {
	enum cmd_kind kind;
	uint64_t call;
	struct um_media_params p; /* BEGIN, UPDATE: a copy, wiped once used */
	struct um_greeting *greeting;
	struct session_meta meta; /* BEGIN */
	enum um_media_end why;
	struct cmd *next;
};

struct um_media {
	struct um_media_config cfg;
	struct session_env env;
	struct cc_log *log;
	struct um_metrics *metrics;
	struct um_audio *beep, *end_tone;
	pthread_t thread;
	bool running;
	int epfd, cmdfd, evfd, timerfd;

	pthread_mutex_t lock; /* guards what follows */
	struct cmd *head, *tail;
	struct um_media_event *events; /* a ring of MAX_EVENTS */
	size_t ev_first, ev_count;
	unsigned long long ev_dropped;
	struct session **slots; /* by port pair; NULL: free */
	uint32_t *gen;          /* each slot's generation, so an old id never names a new call */
	size_t nslots, cursor, active;
	unsigned pending_records; /* handed to the spool and not yet reported */
	pthread_cond_t records_done;

	/* The media thread's own: the live sessions by their next wake-up (a binary min-heap). */
	struct session **heap;
	size_t nheap, capheap;
	/*
	 * Sessions released while a batch of epoll events is handled: events later in the same
	 * batch may still point at them, so they are freed after it.
	 */
	struct session *graveyard;
};

const char *
um_media_end_name(enum um_media_end e)
{
	switch (e) {
	case UM_END_HANGUP:
		return "hangup";
	case UM_END_DTMF:
		return "dtmf";
	case UM_END_SILENCE:
		return "silence";
	case UM_END_MAX:
		return "max_message_seconds";
	case UM_END_SHUTDOWN:
		return "shutdown";
	case UM_END_ERROR:
		return "media_error";
	}
	return "unknown";
}

static void
wake(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0) {
		/* The counter is at its maximum: the reader is woken already. */
	}
}

static void
env_emit(void *arg, const struct um_media_event *ev)
{
	struct um_media *m = arg;
	size_t at;

	pthread_mutex_lock(&m->lock);
	if (m->ev_count == MAX_EVENTS) {
		m->ev_first = (m->ev_first + 1) % MAX_EVENTS;
		m->ev_count--;
		m->ev_dropped++;
	}
	at = (m->ev_first + m->ev_count) % MAX_EVENTS;
	m->events[at] = *ev;
	m->ev_count++;
	pthread_mutex_unlock(&m->lock);
	wake(m->evfd);
}

static void
env_recording_started(void *arg)
{
	struct um_media *m = arg;

	pthread_mutex_lock(&m->lock);
	m->pending_records++;
	pthread_mutex_unlock(&m->lock);
}

static void
env_recording_done(void *arg)
{
	struct um_media *m = arg;

	pthread_mutex_lock(&m->lock);
	m->pending_records--;
	pthread_cond_broadcast(&m->records_done);
	pthread_mutex_unlock(&m->lock);
}

int
um_media_event_fd(const struct um_media *m)
{
	return m->evfd;
}

size_t
um_media_events(struct um_media *m, struct um_media_event *ev, size_t max)
{
	uint64_t v;
	size_t n = 0;

	if (read(m->evfd, &v, sizeof(v)) < 0) {
		/* Nothing signalled (EAGAIN): the queue is looked at all the same. */
	}
	pthread_mutex_lock(&m->lock);
	while (n < max && m->ev_count > 0) {
		ev[n++] = m->events[m->ev_first];
		m->ev_first = (m->ev_first + 1) % MAX_EVENTS;
		m->ev_count--;
	}
	if (m->ev_count > 0)
		wake(m->evfd); /* more than `max`: come back */
	pthread_mutex_unlock(&m->lock);
	return n;
}

static void
push(struct um_media *m, struct cmd *c)
{
	pthread_mutex_lock(&m->lock);
	if (m->tail != NULL)
		m->tail->next = c;
	else
		m->head = c;
	m->tail = c;
	pthread_mutex_unlock(&m->lock);
	wake(m->cmdfd);
}

static void
cmd_free(struct cmd *c)
{
	if (c == NULL)
		return;
	um_media_params_wipe(&c->p);
	um_greeting_unref(c->greeting);
	free(c);
}

static size_t
slot_of(uint64_t call)
{
	return (size_t)(call & ((1u << SLOT_BITS) - 1));
}

/* The session named by `call`, or NULL (gone, or the slot holds a newer call). */
static struct session *
lookup(struct um_media *m, uint64_t call)
{
	size_t i = slot_of(call);
	struct session *s = NULL;

	pthread_mutex_lock(&m->lock);
	if (i < m->nslots && m->slots[i] != NULL && m->slots[i]->id == call)
		s = m->slots[i];
	pthread_mutex_unlock(&m->lock);
	return s;
}

/*
 * The timer heap: each live session once, the one that wants to run soonest on top, so a
 * wake-up costs O(log n) per session that is due and nothing for the others.
 */
static void
heap_swap(struct um_media *m, size_t a, size_t b)
{
	struct session *t = m->heap[a];

	m->heap[a] = m->heap[b];
	m->heap[b] = t;
	m->heap[a]->heap_idx = a;
	m->heap[b]->heap_idx = b;
}

static void
heap_up(struct um_media *m, size_t i)
{
	while (i > 0 && m->heap[(i - 1) / 2]->wake > m->heap[i]->wake) {
		heap_swap(m, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
heap_down(struct um_media *m, size_t i)
{
	size_t l, r, min;

	for (;;) {
		l = 2 * i + 1;
		r = l + 1;
		min = i;
		if (l < m->nheap && m->heap[l]->wake < m->heap[min]->wake)
			min = l;
		if (r < m->nheap && m->heap[r]->wake < m->heap[min]->wake)
			min = r;
		if (min == i)
			return;
		heap_swap(m, i, min);
		i = min;
	}
}

static bool
heap_push(struct um_media *m, struct session *s, uint64_t wake)
{
	struct session **h;
	size_t cap;

	if (m->nheap == m->capheap) {
		cap = m->capheap ? 2 * m->capheap : 64;
		if ((h = reallocarray(m->heap, cap, sizeof(*h))) == NULL)
			return false;
		m->heap = h;
		m->capheap = cap;
	}
	s->wake = wake;
	s->heap_idx = m->nheap;
	m->heap[m->nheap++] = s;
	heap_up(m, s->heap_idx);
	return true;
}

static void
heap_remove(struct um_media *m, struct session *s)
{
	size_t i = s->heap_idx;

	if (i == SIZE_MAX || i >= m->nheap || m->heap[i] != s)
		return;
	s->heap_idx = SIZE_MAX;
	if (i == --m->nheap)
		return;
	m->heap[i] = m->heap[m->nheap];
	m->heap[i]->heap_idx = i;
	heap_up(m, i);
	heap_down(m, m->heap[i]->heap_idx);
}

/* The session wants to run at `wake` (UINT64_MAX: never again: it leaves the heap). */
static void
heap_set(struct um_media *m, struct session *s, uint64_t wake)
{
	if (wake == UINT64_MAX) {
		heap_remove(m, s);
		return;
	}
	if (s->heap_idx == SIZE_MAX) {
		(void)heap_push(m, s, wake);
		return;
	}
	s->wake = wake;
	heap_up(m, s->heap_idx);
	heap_down(m, s->heap_idx);
}

static void
release(struct um_media *m, struct session *s)
{
	size_t i = slot_of(s->id);

	heap_remove(m, s);
	epoll_ctl(m->epfd, EPOLL_CTL_DEL, s->rtp_fd, NULL);
	epoll_ctl(m->epfd, EPOLL_CTL_DEL, s->rtcp_fd, NULL);
	pthread_mutex_lock(&m->lock);
	if (i < m->nslots && m->slots[i] == s) {
		m->slots[i] = NULL;
		m->active--;
	}
	pthread_mutex_unlock(&m->lock);
	if (s->begun)
		um_metrics_calls(m->metrics, -1);
	s->dead = true;
	s->next_dead = m->graveyard;
	m->graveyard = s;
}

static void
bury(struct um_media *m)
{
	struct session *s;

	while ((s = m->graveyard) != NULL) {
		m->graveyard = s->next_dead;
		session_free(s);
	}
}

static void
watch(struct um_media *m, struct session *s)
{
	struct epoll_event ev = {.events = EPOLLIN};

	ev.data.ptr = &s->rtp_ref;
	(void)epoll_ctl(m->epfd, EPOLL_CTL_ADD, s->rtp_fd, &ev);
	ev.data.ptr = &s->rtcp_ref;
	(void)epoll_ctl(m->epfd, EPOLL_CTL_ADD, s->rtcp_fd, &ev);
}

static void
run_cmd(struct um_media *m, struct cmd *c, uint64_t now)
{
	struct session *s = c->kind == CMD_STOP ? NULL : lookup(m, c->call);

	if (s == NULL)
		return;
	switch (c->kind) {
	case CMD_BEGIN:
		if (s->begun)
			break;
		if (session_begin(s, &c->p, c->greeting, &c->meta, now) != UM_OK) {
			cc_log_message(m->log, CC_LOG_ERROR, "call %s: media not started: %s",
			               c->meta.call_id, um_errdetail());
			s->begun = true; /* counted down in release */
			um_metrics_calls(m->metrics, +1);
			session_hang_up(s, UM_END_ERROR, now);
			break;
		}
		c->greeting = NULL; /* the session holds it */
		um_metrics_calls(m->metrics, +1);
		watch(m, s);
		if (!heap_push(m, s, now)) {
			cc_log_message(m->log, CC_LOG_ERROR, "call %s: out of memory",
			               c->meta.call_id);
			session_hang_up(s, UM_END_ERROR, now);
		}
		break;
	case CMD_UPDATE:
		if (session_update(s, &c->p) != UM_OK)
			cc_log_message(m->log, CC_LOG_ERROR, "call %llu: new media refused: %s",
			               (unsigned long long)c->call, um_errdetail());
		else if (!s->done)
			heap_set(m, s, now); /* the packet time may have changed: look at once */
		break;
	case CMD_END:
		session_end(s, c->why, now);
		release(m, s);
		break;
	case CMD_STOP:
		break;
	}
}

/* Takes the commands waiting; true when told to stop. */
static bool
run_cmds(struct um_media *m, uint64_t now)
{
	struct cmd *c, *next;
	uint64_t v;
	bool stop = false;

	if (read(m->cmdfd, &v, sizeof(v)) < 0) {
		/* EAGAIN: the queue is looked at all the same. */
	}
	pthread_mutex_lock(&m->lock);
	c = m->head;
	m->head = m->tail = NULL;
	pthread_mutex_unlock(&m->lock);
	for (; c != NULL; c = next) {
		next = c->next;
		if (c->kind == CMD_STOP)
			stop = true;
		else
			run_cmd(m, c, now);
		cmd_free(c);
	}
	return stop;
}

/* The due sessions' work; arms the timer for the earliest next one. */
static void
tick_due(struct um_media *m, uint64_t now)
{
	struct itimerspec its;
	struct session *s;
	uint64_t next;

	/* Frames due within TICK_SLACK go out in this pass: fewer wake-ups, under 1 ms early. */
	while (m->nheap > 0 && m->heap[0]->wake <= now + TICK_SLACK) {
		s = m->heap[0];
		heap_set(m, s, s->done ? UINT64_MAX : session_tick(s, now, TICK_SLACK));
	}
	memset(&its, 0, sizeof(its));
	if (m->nheap > 0) {
		next = m->heap[0]->wake;
		its.it_value.tv_sec = (time_t)(next / 1000000000ULL);
		its.it_value.tv_nsec = (long)(next % 1000000000ULL);
		if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
			its.it_value.tv_nsec = 1;
	}
	(void)timerfd_settime(m->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void *
engine_main(void *arg)
{
	struct um_media *m = arg;
	struct epoll_event evs[EPOLL_BATCH];
	struct session_sock *ss;
	uint64_t now, v;
	bool stop = false, due;
	int n, i;
	size_t k;

	while (!stop) {
		due = false;
		n = epoll_wait(m->epfd, evs, EPOLL_BATCH, -1);
		if (n < 0 && errno != EINTR) {
			cc_log_message(m->log, CC_LOG_ERROR, "media thread: epoll_wait: %s",
			               strerror(errno));
			break;
		}
		now = session_now();
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == &m->cmdfd) {
				stop = run_cmds(m, now) || stop;
				due = true;
			} else if (evs[i].data.ptr == &m->timerfd) {
				if (read(m->timerfd, &v, sizeof(v)) < 0) {
					/* Spurious: the heap is looked at all the same. */
				}
				due = true;
			} else {
				ss = evs[i].data.ptr;
				if (!ss->s->dead)
					session_readable(ss->s, ss->rtcp, now);
			}
		}
		bury(m);
		/*
		 * A packet in does not move any session's time: the heap is looked at when the
		 * timer fires or a command came. What a packet asks for ('#') is acted on at the
		 * session's next frame.
		 */
		if (due)
			tick_due(m, session_now());
	}
	/* umd stops: every call's message is committed, every session closed. */
	now = session_now();
	for (k = 0; k < m->nslots; k++) {
		struct session *s;

		pthread_mutex_lock(&m->lock);
		s = m->slots[k];
		pthread_mutex_unlock(&m->lock);
		if (s != NULL) {
			session_end(s, UM_END_SHUTDOWN, now);
			release(m, s);
		}
	}
	bury(m);
	return NULL;
}

enum um_err
um_media_start(const struct um_media_config *cfg, struct cc_log *log, struct um_metrics *metrics,
               struct um_media **out)
{
	struct um_media *m = NULL;
	struct epoll_event ev = {.events = EPOLLIN};
	enum um_err r = UM_ERR_NOMEM;

	*out = NULL;
	if (cfg->port_min < 1024 || cfg->port_max > 65535 || cfg->port_min % 2 != 0 ||
	    cfg->port_max <= cfg->port_min || cfg->spool == NULL || cfg->max_calls < 1)
		return um_seterr(UM_ERR_INVAL, "media: ports %d-%d, %d calls", cfg->port_min,
		                 cfg->port_max, cfg->max_calls);
	if ((r = um_srtp_global_init()) != UM_OK)
		return r;
	if (um_srtp_openssl_refused() != NULL)
		cc_log_message(log, CC_LOG_WARNING,
		               "SRTP with libsrtp2's own ciphers (slower: NSS on Debian): %s",
		               um_srtp_openssl_refused());
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return um_seterr(UM_ERR_NOMEM, "media engine");
	m->epfd = m->cmdfd = m->evfd = m->timerfd = -1;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->records_done, NULL);
	m->cfg = *cfg;
	m->log = log;
	m->metrics = metrics;
	m->nslots = (size_t)(cfg->port_max - cfg->port_min + 1) / 2;
	if (m->nslots >= (1u << SLOT_BITS))
		m->nslots = (1u << SLOT_BITS) - 1;
	if ((m->slots = calloc(m->nslots, sizeof(*m->slots))) == NULL ||
	    (m->gen = calloc(m->nslots, sizeof(*m->gen))) == NULL ||
	    (m->events = calloc(MAX_EVENTS, sizeof(*m->events))) == NULL) {
		r = um_seterr(UM_ERR_NOMEM, "media engine");
		goto out;
	}
	if ((r = um_audio_tone(BEEP_HZ, BEEP_MS, TONE_AMP, &m->beep)) != UM_OK ||
	    (r = um_audio_tone(END_TONE_HZ, END_TONE_MS, TONE_AMP, &m->end_tone)) != UM_OK)
		goto out;
	m->env = (struct session_env){.cfg = &m->cfg,
	                              .log = log,
	                              .metrics = metrics,
	                              .beep = m->beep,
	                              .end_tone = m->end_tone,
	                              .secure = cfg->secure,
	                              .emit = env_emit,
	                              .recording_started = env_recording_started,
	                              .recording_done = env_recording_done,
	                              .arg = m};
	if ((m->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (m->cmdfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (m->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (m->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) == -1) {
		r = um_seterr(UM_ERR_IO, "media engine: %s", strerror(errno));
		goto out;
	}
	ev.data.ptr = &m->cmdfd;
	if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->cmdfd, &ev) != 0) {
		r = um_seterr(UM_ERR_IO, "media engine: epoll_ctl: %s", strerror(errno));
		goto out;
	}
	ev.data.ptr = &m->timerfd;
	if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->timerfd, &ev) != 0) {
		r = um_seterr(UM_ERR_IO, "media engine: epoll_ctl: %s", strerror(errno));
		goto out;
	}
	if ((errno = pthread_create(&m->thread, NULL, engine_main, m)) != 0) {
		r = um_seterr(UM_ERR_IO, "media thread: %s", strerror(errno));
		goto out;
	}
	m->running = true;
	*out = m;
	m = NULL;
	r = UM_OK;
out:
	um_media_stop(m);
	return r;
}

void
um_media_quiesce(struct um_media *m)
{
	struct cmd *c;

	if (m != NULL && m->running) {
		if ((c = calloc(1, sizeof(*c))) != NULL) {
			c->kind = CMD_STOP;
			push(m, c);
		}
		pthread_join(m->thread, NULL);
		m->running = false;
		/* The spool's writer reports each message handed to it: wait for them all. */
		pthread_mutex_lock(&m->lock);
		while (m->pending_records > 0)
			pthread_cond_wait(&m->records_done, &m->lock);
		pthread_mutex_unlock(&m->lock);
	}
}

void
um_media_stop(struct um_media *m)
{
	struct cmd *c;
	size_t i;

	if (m == NULL)
		return;
	um_media_quiesce(m);
	while ((c = m->head) != NULL) {
		m->head = c->next;
		cmd_free(c);
	}
	for (i = 0; m->slots != NULL && i < m->nslots; i++)
		session_free(m->slots[i]); /* opened and never begun */
	if (m->epfd != -1)
		close(m->epfd);
	if (m->cmdfd != -1)
		close(m->cmdfd);
	if (m->evfd != -1)
		close(m->evfd);
	if (m->timerfd != -1)
		close(m->timerfd);
	um_audio_free(m->beep);
	um_audio_free(m->end_tone);
	free(m->slots);
	free(m->gen);
	free(m->heap);
	free(m->events);
	pthread_cond_destroy(&m->records_done);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

enum um_err
um_media_open(struct um_media *m, uint64_t *call, int *port)
{
	struct session *s = NULL;
	enum um_err r = UM_ERR_BUSY;
	size_t i, k;
	int p;

	*call = 0;
	*port = 0;
	pthread_mutex_lock(&m->lock);
	if (m->active >= (size_t)m->cfg.max_calls) {
		r = um_seterr(UM_ERR_BUSY, "max_calls (%d) calls have media", m->cfg.max_calls);
		goto out;
	}
	r = um_seterr(UM_ERR_BUSY, "no free media port pair in %d-%d", m->cfg.port_min,
	              m->cfg.port_max);
	for (k = 0; k < m->nslots; k++) {
		i = (m->cursor + k) % m->nslots;
		if (m->slots[i] != NULL)
			continue;
		p = m->cfg.port_min + (int)(2 * i);
		m->gen[i]++;
		if (session_new(&m->env, (uint64_t)m->gen[i] << SLOT_BITS | i, p, &s) != UM_OK)
			continue; /* another program holds one of the two: the next pair */
		m->slots[i] = s;
		m->active++;
		m->cursor = (i + 1) % m->nslots;
		*call = s->id;
		*port = p;
		r = UM_OK;
		break;
	}
	if (r != UM_OK)
		r = um_seterr(UM_ERR_BUSY, "no free media port pair in %d-%d", m->cfg.port_min,
		              m->cfg.port_max);
out:
	pthread_mutex_unlock(&m->lock);
	if (r == UM_ERR_BUSY)
		um_metrics_media(m->metrics, UM_MC_CALLS_BUSY, 1);
	return r;
}

enum um_err
um_media_begin(struct um_media *m, uint64_t call, const struct um_media_params *p,
               struct um_greeting *greeting, const struct um_spool_meta *meta)
{
	struct cmd *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return um_seterr(UM_ERR_NOMEM, "media command");
	c->kind = CMD_BEGIN;
	c->call = call;
	c->p = *p;
	c->greeting = um_greeting_ref(greeting);
	session_meta_set(&c->meta, meta);
	push(m, c);
	return UM_OK;
}

enum um_err
um_media_update(struct um_media *m, uint64_t call, const struct um_media_params *p)
{
	struct cmd *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return um_seterr(UM_ERR_NOMEM, "media command");
	c->kind = CMD_UPDATE;
	c->call = call;
	c->p = *p;
	push(m, c);
	return UM_OK;
}

void
um_media_end(struct um_media *m, uint64_t call, enum um_media_end why)
{
	struct cmd *c;

	if (m == NULL || call == 0)
		return;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		/* Cannot queue: the call's media runs until its own end (silence, length). */
		cc_log_message(m->log, CC_LOG_ERROR, "out of memory ending call %llu's media",
		               (unsigned long long)call);
		return;
	}
	c->kind = CMD_END;
	c->call = call;
	c->why = why;
	push(m, c);
}
