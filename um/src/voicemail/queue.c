/* The submission queue over the spool's folders (queue.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "certcore/cert.h"
#include "voicemail/queue.h"

#define MAX_JSON (256 * 1024) /* no ID.json or ID.state of ours comes near */

static const char *const folder_names[] = {"new", "sent", "failed"};

struct um_queue {
	char *dir;
	int fd[3]; /* new/, sent/, failed/ */
	bool lazy; /* records and moves to sent/ made durable by um_queue_sync only */
};

time_t
um_queue_parse_time(const char *s)
{
	struct tm tm;
	const char *end;

	if (s == NULL)
		return 0;
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) == NULL || *end != '\0')
		return 0;
	return timegm(&tm);
}

static json_t *
time_json(time_t t)
{
	char buf[32];

	return t == 0 ? json_null() : json_string(cc_time_iso8601(t, buf));
}

enum um_err
um_queue_open(const char *dir, struct um_queue **out)
{
	struct um_queue *q;
	char path[PATH_MAX];
	size_t i;
	enum um_err r = UM_ERR_NOMEM;

	*out = NULL;
	if ((q = calloc(1, sizeof(*q))) == NULL || (q->dir = strdup(dir)) == NULL) {
		r = um_seterr(UM_ERR_NOMEM, "queue");
		goto out;
	}
	for (i = 0; i < 3; i++)
		q->fd[i] = -1;
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, folder_names[i]);
		if ((q->fd[i] = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) ==
		    -1) {
			r = um_seterr(UM_ERR_SPOOL, "%s: %s", path, strerror(errno));
			goto out;
		}
	}
	*out = q;
	q = NULL;
	r = UM_OK;
out:
	um_queue_free(q);
	return r;
}

void
um_queue_free(struct um_queue *q)
{
	size_t i;

	if (q == NULL)
		return;
	for (i = 0; i < 3; i++)
		if (q->fd[i] != -1)
			close(q->fd[i]);
	free(q->dir);
	free(q);
}

const char *
um_queue_dir(const struct um_queue *q)
{
	return q->dir;
}

void
um_queue_set_lazy(struct um_queue *q, bool lazy)
{
	q->lazy = lazy;
}

void
um_queue_sync(struct um_queue *q)
{
	int i;

	if (!q->lazy)
		return;
	/* syncfs: the records written since (their data) and the renames, at once. */
	if (syncfs(q->fd[UM_Q_NEW]) == -1)
		for (i = 0; i < 3; i++)
			(void)fsync(q->fd[i]);
}

/* A spool ID: letters, digits, '-', '_' and '.', not starting with a dot; bounded. */
static bool
valid_id(const char *id, size_t n)
{
	size_t i;

	if (n == 0 || n > UM_SPOOL_ID_MAX || id[0] == '.')
		return false;
	for (i = 0; i < n; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

static bool
exists_at(int dfd, const char *id, const char *ext)
{
	char name[UM_SPOOL_ID_MAX + 16];
	struct stat st;

	snprintf(name, sizeof(name), "%s%s", id, ext);
	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Reads a JSON object of at most MAX_JSON bytes from dfd/name; NULL with *why set. */
static json_t *
read_json_at(int dfd, const char *name, char *why, size_t len)
{
	json_error_t je;
	json_t *o = NULL;
	struct stat st;
	char *buf = NULL;
	ssize_t got;
	size_t have = 0;
	int fd;

	if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(why, len, "%s: %s", name, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size > MAX_JSON) {
		snprintf(why, len, "%s: not a file of at most %d bytes", name, MAX_JSON);
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(why, len, "%s: out of memory", name);
		goto out;
	}
	while (have < (size_t)st.st_size &&
	       (got = read(fd, buf + have, (size_t)st.st_size - have)) > 0)
		have += (size_t)got;
	if ((o = json_loadb(buf, have, 0, &je)) == NULL)
		snprintf(why, len, "%s: line %d: %s", name, je.line, je.text);
	else if (!json_is_object(o)) {
		snprintf(why, len, "%s: not a JSON object", name);
		json_decref(o);
		o = NULL;
	}
out:
	free(buf);
	close(fd);
	return o;
}

/* Writes `o` to dfd/name: temporary name, fsync, rename, fsync of the folder. */
static enum um_err
write_json_at(struct um_queue *q, int dfd, const char *folder, const char *name, const json_t *o)
{
	char tmp[UM_SPOOL_ID_MAX + 32], *text = NULL;
	size_t n, off = 0;
	ssize_t w;
	enum um_err r = UM_ERR_SPOOL;
	int fd = -1;

	snprintf(tmp, sizeof(tmp), ".%s.%ld", name, (long)getpid());
	if ((text = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(12))) == NULL)
		return um_seterr(UM_ERR_NOMEM, "%s/%s/%s", q->dir, folder, name);
	n = strlen(text);
	if ((fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600)) ==
	    -1) {
		r = um_seterr(UM_ERR_SPOOL, "%s/%s/%s: %s", q->dir, folder, tmp, strerror(errno));
		goto out;
	}
	while (off < n) {
		if ((w = write(fd, text + off, n - off)) < 0) {
			if (errno == EINTR)
				continue;
			r = um_seterr(UM_ERR_SPOOL, "write %s/%s/%s: %s", q->dir, folder, tmp,
			              strerror(errno));
			goto out;
		}
		off += (size_t)w;
	}
	if ((!q->lazy && fsync(fd) == -1) || close(fd) == -1) {
		fd = -1;
		r = um_seterr(UM_ERR_SPOOL, "fsync %s/%s/%s: %s", q->dir, folder, tmp,
		              strerror(errno));
		goto out;
	}
	fd = -1;
	if (renameat(dfd, tmp, dfd, name) == -1) {
		r = um_seterr(UM_ERR_SPOOL, "rename %s/%s/%s: %s", q->dir, folder, name,
		              strerror(errno));
		goto out;
	}
	if (!q->lazy)
		(void)fsync(dfd);
	r = UM_OK;
out:
	if (fd != -1)
		close(fd);
	if (r != UM_OK)
		(void)unlinkat(dfd, tmp, 0);
	free(text);
	return r;
}

static char *
dup_str(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v != NULL ? strdup(v) : NULL;
}

void
um_qmsg_clear(struct um_qmsg *m)
{
	if (m == NULL)
		return;
	json_decref(m->meta);
	free(m->last_error);
	free(m->recipient);
	free(m->message_id);
	free(m->hub);
	free(m->response);
	memset(m, 0, sizeof(*m));
}

void
um_qmsg_free_all(struct um_qmsg *m, size_t n)
{
	size_t i;

	for (i = 0; m != NULL && i < n; i++)
		um_qmsg_clear(&m[i]);
	free(m);
}

/* Fills m from folder `where`'s ID.json and ID.state; false with *why when unreadable. */
static bool
load(struct um_queue *q, enum um_queue_where where, const char *id, struct um_qmsg *m, char *why,
     size_t len)
{
	char name[UM_SPOOL_ID_MAX + 16];
	json_t *st;
	int dfd = q->fd[where];

	memset(m, 0, sizeof(*m));
	snprintf(m->id, sizeof(m->id), "%s", id);
	m->where = where;
	snprintf(name, sizeof(name), "%s.json", id);
	if ((m->meta = read_json_at(dfd, name, why, len)) == NULL)
		return false;
	m->from = json_string_value(json_object_get(m->meta, "from"));
	m->to = json_string_value(json_object_get(m->meta, "to"));
	m->call_id = json_string_value(json_object_get(m->meta, "call_id"));
	m->gateway = json_string_value(json_object_get(m->meta, "gateway"));
	m->media = json_string_value(json_object_get(m->meta, "media"));
	m->seconds = json_number_value(json_object_get(m->meta, "seconds"));
	m->truncated = json_is_true(json_object_get(m->meta, "truncated"));
	m->started = um_queue_parse_time(json_string_value(json_object_get(m->meta, "started")));
	m->wav_missing = !exists_at(dfd, id, ".wav");
	m->retry = where == UM_Q_NEW && exists_at(dfd, id, ".retry");
	snprintf(name, sizeof(name), "%s.state", id);
	if (!exists_at(dfd, id, ".state"))
		return true;
	if ((st = read_json_at(dfd, name, why, len)) == NULL) {
		/* A record we cannot read is started anew: the message is what matters. */
		return true;
	}
	m->attempts = (int)json_integer_value(json_object_get(st, "attempts"));
	m->first_attempt =
	        um_queue_parse_time(json_string_value(json_object_get(st, "first_attempt")));
	m->last_attempt =
	        um_queue_parse_time(json_string_value(json_object_get(st, "last_attempt")));
	m->next_attempt =
	        um_queue_parse_time(json_string_value(json_object_get(st, "next_attempt")));
	m->submitted = um_queue_parse_time(json_string_value(json_object_get(st, "submitted")));
	m->last_error = dup_str(st, "last_error");
	m->recipient = dup_str(st, "recipient");
	m->message_id = dup_str(st, "message_id");
	m->hub = dup_str(st, "hub");
	m->response = dup_str(st, "response");
	json_decref(st);
	return true;
}

static json_t *
record_json(const struct um_qmsg *m)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "attempts", json_integer(m->attempts));
	json_object_set_new(o, "first_attempt", time_json(m->first_attempt));
	json_object_set_new(o, "last_attempt", time_json(m->last_attempt));
	json_object_set_new(o, "next_attempt", time_json(m->next_attempt));
	json_object_set_new(o, "last_error",
	                    m->last_error ? json_string(m->last_error) : json_null());
	json_object_set_new(o, "recipient", m->recipient ? json_string(m->recipient) : json_null());
	json_object_set_new(o, "message_id",
	                    m->message_id ? json_string(m->message_id) : json_null());
	json_object_set_new(o, "hub", m->hub ? json_string(m->hub) : json_null());
	json_object_set_new(o, "response", m->response ? json_string(m->response) : json_null());
	json_object_set_new(o, "submitted", time_json(m->submitted));
	return o;
}

enum um_err
um_queue_save(struct um_queue *q, const struct um_qmsg *m)
{
	char name[UM_SPOOL_ID_MAX + 16];
	json_t *o;
	enum um_err r;

	if ((o = record_json(m)) == NULL)
		return um_seterr(UM_ERR_NOMEM, "queue record");
	snprintf(name, sizeof(name), "%s.state", m->id);
	r = write_json_at(q, q->fd[m->where], folder_names[m->where], name, o);
	json_decref(o);
	return r;
}

/* Renames id+ext from folder a to folder b, never over a file; missing at a: done already. */
static enum um_err
move_one(struct um_queue *q, int a, int b, const char *id, const char *ext)
{
	char name[UM_SPOOL_ID_MAX + 16];

	snprintf(name, sizeof(name), "%s%s", id, ext);
	if (renameat2(q->fd[a], name, q->fd[b], name, RENAME_NOREPLACE) == 0)
		return UM_OK;
	if (errno == ENOENT)
		return UM_OK;
	return um_seterr(UM_ERR_SPOOL, "rename %s/%s/%s to %s/: %s", q->dir, folder_names[a], name,
	                 folder_names[b], strerror(errno));
}

/* Writes failed/ID.error: the reason, one line, as the administrator reads it. */
static enum um_err
write_error(struct um_queue *q, const char *id, const char *error)
{
	char name[UM_SPOOL_ID_MAX + 16], tmp[UM_SPOOL_ID_MAX + 32];
	FILE *f = NULL;
	int fd, dfd = q->fd[UM_Q_FAILED];

	snprintf(name, sizeof(name), "%s.error", id);
	snprintf(tmp, sizeof(tmp), ".%s.error", id);
	if ((fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600)) ==
	            -1 ||
	    (f = fdopen(fd, "w")) == NULL) {
		if (fd != -1)
			close(fd);
		return um_seterr(UM_ERR_SPOOL, "%s/failed/%s: %s", q->dir, tmp, strerror(errno));
	}
	fprintf(f, "%s\n", error != NULL ? error : "unknown");
	if (fflush(f) != 0 || fsync(fileno(f)) == -1) {
		fclose(f);
		(void)unlinkat(dfd, tmp, 0);
		return um_seterr(UM_ERR_SPOOL, "%s/failed/%s: %s", q->dir, tmp, strerror(errno));
	}
	fclose(f);
	if (renameat(dfd, tmp, dfd, name) == -1)
		return um_seterr(UM_ERR_SPOOL, "%s/failed/%s: %s", q->dir, name, strerror(errno));
	return UM_OK;
}

static void
remove_files(struct um_queue *q, int where, const char *id)
{
	static const char *const exts[] = {".wav", ".state", ".error", ".retry", ".json"};
	char name[UM_SPOOL_ID_MAX + 16];
	size_t i;

	/* ID.json last: until it goes, the message is still seen (and its removal completed). */
	for (i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		snprintf(name, sizeof(name), "%s%s", id, exts[i]);
		(void)unlinkat(q->fd[where], name, 0);
	}
	(void)fsync(q->fd[where]);
}

enum um_err
um_queue_move(struct um_queue *q, const struct um_qmsg *m, enum um_queue_where to,
              const char *error, bool keep)
{
	enum um_err r;

	if (m->where != UM_Q_NEW || to == UM_Q_NEW)
		return um_seterr(UM_ERR_INVAL, "um_queue_move: from new/ to sent/ or failed/");
	if (to == UM_Q_SENT && !keep) {
		remove_files(q, UM_Q_NEW, m->id);
		return UM_OK;
	}
	if (to == UM_Q_FAILED && (r = write_error(q, m->id, error)) != UM_OK)
		return r;
	if ((r = move_one(q, UM_Q_NEW, to, m->id, ".wav")) != UM_OK ||
	    (r = move_one(q, UM_Q_NEW, to, m->id, ".state")) != UM_OK)
		return r;
	/* failed/ is rare and always made durable; sent/ waits for um_queue_sync when lazy. */
	if (!q->lazy || to == UM_Q_FAILED)
		(void)fsync(q->fd[to]);
	if ((r = move_one(q, UM_Q_NEW, to, m->id, ".json")) != UM_OK)
		return r;
	if (!q->lazy || to == UM_Q_FAILED) {
		(void)fsync(q->fd[to]);
		(void)fsync(q->fd[UM_Q_NEW]);
	}
	um_queue_retry_taken(q, m->id);
	return UM_OK;
}

/*
 * new/ID.json whose ID.wav is in sent/ or failed/: a move cut short, completed. true when it
 * was one (the message is no longer in new/).
 */
static bool
complete_move(struct um_queue *q, const char *id)
{
	enum um_queue_where to;

	if (exists_at(q->fd[UM_Q_NEW], id, ".wav"))
		return false;
	if (exists_at(q->fd[UM_Q_SENT], id, ".wav"))
		to = UM_Q_SENT;
	else if (exists_at(q->fd[UM_Q_FAILED], id, ".wav"))
		to = UM_Q_FAILED;
	else
		return false;
	if (move_one(q, UM_Q_NEW, to, id, ".state") != UM_OK ||
	    move_one(q, UM_Q_NEW, to, id, ".json") != UM_OK)
		return false;
	(void)fsync(q->fd[to]);
	um_queue_retry_taken(q, id);
	return true;
}

static int
by_id(const void *a, const void *b)
{
	return strcmp(((const struct um_qmsg *)a)->id, ((const struct um_qmsg *)b)->id);
}

enum um_err
um_queue_list(struct um_queue *q, enum um_queue_where where,
              void (*warn)(void *arg, const char *msg), void *arg, struct um_qmsg **out, size_t *n)
{
	struct um_qmsg *v = NULL, *nv;
	struct dirent *de;
	size_t cap = 0, len;
	char why[512], id[UM_SPOOL_ID_MAX + 1], msg[700];
	DIR *d = NULL;
	int fd;
	enum um_err r = UM_ERR_NOMEM;

	*out = NULL;
	*n = 0;
	if ((fd = openat(q->fd[where], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return um_seterr(UM_ERR_SPOOL, "%s/%s: %s", q->dir, folder_names[where],
		                 strerror(errno));
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0 ||
		    !valid_id(de->d_name, len - 5))
			continue;
		snprintf(id, sizeof(id), "%.*s", (int)(len - 5), de->d_name);
		if (where == UM_Q_NEW && complete_move(q, id))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				r = um_seterr(UM_ERR_NOMEM, "queue list");
				goto out;
			}
			v = nv;
		}
		if (!load(q, where, id, &v[*n], why, sizeof(why))) {
			um_qmsg_clear(&v[*n]);
			if (warn != NULL) {
				snprintf(msg, sizeof(msg), "%s/%s: %s", q->dir, folder_names[where],
				         why);
				warn(arg, msg);
			}
			continue;
		}
		(*n)++;
	}
	if (*n > 1)
		qsort(v, *n, sizeof(*v), by_id);
	*out = v;
	v = NULL;
	r = UM_OK;
out:
	if (r != UM_OK) {
		um_qmsg_free_all(v, *n);
		*n = 0;
	}
	closedir(d);
	return r;
}

enum um_err
um_queue_get(struct um_queue *q, const char *id, struct um_qmsg *out)
{
	char why[512];
	int w;

	memset(out, 0, sizeof(*out));
	if (!valid_id(id, strlen(id)))
		return um_seterr(UM_ERR_INVAL, "\"%s\" is not a message ID", id);
	for (w = UM_Q_NEW; w <= UM_Q_FAILED; w++) {
		if (!exists_at(q->fd[w], id, ".json"))
			continue;
		if (!load(q, (enum um_queue_where)w, id, out, why, sizeof(why))) {
			um_qmsg_clear(out);
			return um_seterr(UM_ERR_SPOOL, "%s/%s: %s", q->dir, folder_names[w], why);
		}
		return UM_OK;
	}
	return um_seterr(UM_ERR_NOTFOUND, "no message %s in %s (new/, sent/, failed/)", id, q->dir);
}

void
um_queue_retry_taken(struct um_queue *q, const char *id)
{
	char name[UM_SPOOL_ID_MAX + 16];

	snprintf(name, sizeof(name), "%s.retry", id);
	(void)unlinkat(q->fd[UM_Q_NEW], name, 0);
}

enum um_err
um_queue_retry(struct um_queue *q, const char *id)
{
	char name[UM_SPOOL_ID_MAX + 16];
	struct um_qmsg m;
	enum um_err r;
	int fd;

	if ((r = um_queue_get(q, id, &m)) != UM_OK)
		return r;
	if (m.where == UM_Q_SENT) {
		r = um_seterr(UM_ERR_INVAL, "message %s was sent (%s): nothing to retry", id,
		              m.response ? m.response : "250");
		goto out;
	}
	if (m.where == UM_Q_NEW) {
		snprintf(name, sizeof(name), "%s.retry", id);
		if ((fd = openat(q->fd[UM_Q_NEW], name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		                 0600)) == -1) {
			r = um_seterr(UM_ERR_SPOOL, "%s/new/%s: %s", q->dir, name, strerror(errno));
			goto out;
		}
		close(fd);
		r = UM_OK;
		goto out;
	}
	/* Back from failed/: a fresh record (the attempts start over), then the files, ID.json
	 * last. */
	free(m.last_error);
	m.last_error = NULL;
	m.attempts = 0;
	m.first_attempt = m.last_attempt = m.next_attempt = 0;
	if ((r = um_queue_save(q, &m)) != UM_OK)
		goto out;
	if ((r = move_one(q, UM_Q_FAILED, UM_Q_NEW, id, ".wav")) != UM_OK ||
	    (r = move_one(q, UM_Q_FAILED, UM_Q_NEW, id, ".state")) != UM_OK)
		goto out;
	(void)fsync(q->fd[UM_Q_NEW]);
	if ((r = move_one(q, UM_Q_FAILED, UM_Q_NEW, id, ".json")) != UM_OK)
		goto out;
	(void)fsync(q->fd[UM_Q_NEW]);
	snprintf(name, sizeof(name), "%s.error", id);
	(void)unlinkat(q->fd[UM_Q_FAILED], name, 0);
	(void)fsync(q->fd[UM_Q_FAILED]);
out:
	um_qmsg_clear(&m);
	return r;
}

enum um_err
um_queue_purge_sent(struct um_queue *q, int days, time_t now, size_t *n)
{
	struct um_qmsg *v = NULL;
	size_t count = 0, i;
	time_t when;
	enum um_err r;

	*n = 0;
	if ((r = um_queue_list(q, UM_Q_SENT, NULL, NULL, &v, &count)) != UM_OK)
		return r;
	for (i = 0; i < count; i++) {
		when = v[i].submitted != 0 ? v[i].submitted : v[i].started;
		if (when != 0 && now - when > (time_t)days * 86400) {
			remove_files(q, UM_Q_SENT, v[i].id);
			(*n)++;
		}
	}
	um_qmsg_free_all(v, count);
	return UM_OK;
}

const char *
um_qmsg_state(const struct um_qmsg *m, time_t now)
{
	if (m->where == UM_Q_SENT)
		return "sent";
	if (m->where == UM_Q_FAILED)
		return "failed";
	if (m->attempts > 0 && m->next_attempt > now && !m->retry)
		return "deferred";
	return "queued";
}

json_t *
um_qmsg_json(const struct um_qmsg *m)
{
	json_t *o = record_json(m);
	time_t now = time(NULL);

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "id", json_string(m->id));
	json_object_set_new(o, "state", json_string(um_qmsg_state(m, now)));
	json_object_set_new(o, "retry_requested", json_boolean(m->retry));
	json_object_set_new(o, "age_seconds",
	                    m->started != 0 ? json_integer((json_int_t)(now - m->started))
	                                    : json_null());
	json_object_set(o, "meta", m->meta ? m->meta : json_null());
	return o;
}
