/* Greetings and their cache (greetings.h). */
#include <errno.h>
#include <libgen.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "media/greetings.h"

#define MAX_USERS 256 /* user greetings kept; beyond, the oldest is dropped */

struct um_greeting {
	atomic_int refs;
	struct um_audio *audio;
};

struct entry {
	char *path;
	off_t size;
	struct timespec mtime;
	struct um_greeting *g;
};

struct um_greetings {
	struct cc_log *log;
	char *dir; /* where USER.wav live: beside the default (greetings/ in the README's layout) */
	struct entry def;
	struct entry users[MAX_USERS];
	size_t next; /* the slot a new user greeting takes when all are used */
	bool warned_missing;
};

const struct um_audio *
um_greeting_audio(const struct um_greeting *g)
{
	return g->audio;
}

struct um_greeting *
um_greeting_ref(struct um_greeting *g)
{
	if (g != NULL)
		atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
	return g;
}

void
um_greeting_unref(struct um_greeting *g)
{
	if (g == NULL || atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) != 1)
		return;
	um_audio_free(g->audio);
	free(g);
}

static struct um_greeting *
wrap(struct um_audio *a)
{
	struct um_greeting *g = calloc(1, sizeof(*g));

	if (g == NULL) {
		um_audio_free(a);
		return NULL;
	}
	atomic_init(&g->refs, 1);
	g->audio = a;
	return g;
}

static void
entry_clear(struct entry *e)
{
	free(e->path);
	um_greeting_unref(e->g);
	memset(e, 0, sizeof(*e));
}

/*
 * (Re)loads the entry's file when it changed. UM_OK with e->g set; the file's own error
 * otherwise, with *missing set when the file does not exist.
 */
static enum um_err
refresh(struct entry *e, bool *missing)
{
	struct um_audio *a = NULL;
	struct um_greeting *g;
	struct stat st;
	enum um_err r;

	*missing = false;
	if (stat(e->path, &st) != 0) {
		*missing = errno == ENOENT;
		return um_seterr(UM_ERR_IO, "greeting %s: %s", e->path, strerror(errno));
	}
	if (e->g != NULL && st.st_size == e->size && st.st_mtim.tv_sec == e->mtime.tv_sec &&
	    st.st_mtim.tv_nsec == e->mtime.tv_nsec)
		return UM_OK;
	if ((r = um_audio_load(e->path, &a)) != UM_OK)
		return r;
	if ((g = wrap(a)) == NULL)
		return um_seterr(UM_ERR_NOMEM, "greeting");
	um_greeting_unref(e->g);
	e->g = g;
	e->size = st.st_size;
	e->mtime = st.st_mtim;
	return UM_OK;
}

static enum um_err
default_greeting(struct um_greetings *gs)
{
	struct um_audio *a = NULL;
	enum um_err r;

	bool missing;

	if ((r = refresh(&gs->def, &missing)) == UM_OK)
		return UM_OK;
	if (!missing)
		return r;
	/* No default greeting at all: a second of silence before the beep. */
	if (!gs->warned_missing)
		cc_log_message(gs->log, CC_LOG_WARNING,
		               "greeting %s does not exist: callers hear only the beep",
		               gs->def.path);
	gs->warned_missing = true;
	if (gs->def.g != NULL)
		return UM_OK;
	if ((r = um_audio_tone(400, 1000, 0, &a)) != UM_OK)
		return r;
	if ((gs->def.g = wrap(a)) == NULL)
		return um_seterr(UM_ERR_NOMEM, "greeting");
	return UM_OK;
}

enum um_err
um_greetings_new(const char *default_path, struct cc_log *log, struct um_greetings **out)
{
	struct um_greetings *gs = NULL;
	char *copy = NULL;
	enum um_err r = UM_ERR_NOMEM;

	*out = NULL;
	if ((gs = calloc(1, sizeof(*gs))) == NULL || (copy = strdup(default_path)) == NULL ||
	    (gs->def.path = strdup(default_path)) == NULL ||
	    (gs->dir = strdup(dirname(copy))) == NULL) {
		r = um_seterr(UM_ERR_NOMEM, "greetings");
		goto out;
	}
	gs->log = log;
	if ((r = default_greeting(gs)) != UM_OK)
		goto out;
	*out = gs;
	gs = NULL;
	r = UM_OK;
out:
	free(copy);
	um_greetings_free(gs);
	return r;
}

void
um_greetings_free(struct um_greetings *gs)
{
	size_t i;

	if (gs == NULL)
		return;
	entry_clear(&gs->def);
	for (i = 0; i < MAX_USERS; i++)
		entry_clear(&gs->users[i]);
	free(gs->dir);
	free(gs);
}

/* A user part that can be a file name: letters, digits, + - _ . and not starting with '.'. */
static bool
file_safe(const char *user)
{
	size_t i;

	if (user == NULL || user[0] == '\0' || user[0] == '.' || strlen(user) > 64)
		return false;
	for (i = 0; user[i] != '\0'; i++)
		if (!((user[i] >= 'a' && user[i] <= 'z') || (user[i] >= 'A' && user[i] <= 'Z') ||
		      (user[i] >= '0' && user[i] <= '9') || strchr("+-_.", user[i]) != NULL))
			return false;
	return true;
}

struct um_greeting *
um_greetings_for(struct um_greetings *gs, const char *user)
{
	char path[4096];
	struct entry *e = NULL;
	enum um_err r;
	size_t i;
	bool missing;

	if (file_safe(user) &&
	    (size_t)snprintf(path, sizeof(path), "%s/%s.wav", gs->dir, user) < sizeof(path)) {
		for (i = 0; i < MAX_USERS && e == NULL; i++)
			if (gs->users[i].path != NULL && strcmp(gs->users[i].path, path) == 0)
				e = &gs->users[i];
		if (e == NULL && access(path, F_OK) == 0) {
			for (i = 0; i < MAX_USERS && e == NULL; i++)
				if (gs->users[i].path == NULL)
					e = &gs->users[i];
			if (e == NULL) {
				e = &gs->users[gs->next];
				gs->next = (gs->next + 1) % MAX_USERS;
				entry_clear(e);
			}
			if ((e->path = strdup(path)) == NULL)
				e = NULL;
		}
		if (e != NULL) {
			if ((r = refresh(e, &missing)) == UM_OK)
				return um_greeting_ref(e->g);
			cc_log_message(gs->log, CC_LOG_WARNING, "%s; playing the default greeting",
			               um_errdetail());
			entry_clear(e);
		}
	}
	if (default_greeting(gs) != UM_OK)
		cc_log_message(gs->log, CC_LOG_WARNING, "%s; playing the greeting loaded before",
		               um_errdetail());
	return um_greeting_ref(gs->def.g);
}
