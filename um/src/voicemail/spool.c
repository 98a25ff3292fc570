/* struct um_spool: the voice-message spool and its writer thread (spool.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <sndfile.h>

#include "certcore/fileio.h"
#include "voicemail/spool.h"

#define CHUNK_BYTES (UM_SPOOL_FLUSH_SAMPLES * sizeof(int16_t))
#define WAV_FORMAT  (SF_FORMAT_WAV | SF_FORMAT_PCM_16)
/*
 * Where the samples of a message start when its tmp/ID.json does not say (it records the
 * offset libsndfile's header took when the file was made): libsndfile 1.2 writes a 44-byte
 * header for PCM WAV (RIFF, "fmt " of 16 bytes, "data"), tests/unit/test_um_spool.c checks it.
 */
#define DATA_OFFSET 44
#define MAX_META    (64 * 1024) /* no tmp/ID.json of ours is larger */
#define COPY_FRAMES 4096        /* samples a read when recovery copies a message */

static const char *const folders[] = {"tmp", "new", "sent", "failed"};

enum kind {
	JOB_CREATE, /* make tmp/ID.wav and tmp/ID.json */
	JOB_DATA,   /* append samples */
	JOB_FINISH, /* close, commit to new/, call done() */
	JOB_ABORT,  /* close, remove the tmp files */
};

struct job {
	struct job *next;
	enum kind kind;
	struct um_recording *r;
	size_t n;     /* JOB_DATA: samples held */
	int16_t *pcm; /* JOB_DATA: UM_SPOOL_FLUSH_SAMPLES, allocated with the job */
};

struct um_recording {
	struct um_spool *s;
	char id[UM_SPOOL_ID_MAX + 1];
	json_t *meta; /* tmp/ID.json's object: the fields of ID.json but seconds and truncated */
	/* Part of the recording, so that begin's, finish's and abort's jobs cannot fail. */
	struct job create, end;

	/* The recording thread's, until finish or abort hands the recording to the writer. */
	struct job *fill; /* samples not handed over yet (their chunk counted in the backlog) */
	uint64_t dropped;

	/* Set by the writer: the file cannot be made or written; the recording drops. */
	atomic_bool failed;

	/* The writer's. */
	SNDFILE *sf;
	int fd;
	bool made_wav, made_json; /* tmp files this recording created (abort removes only those) */
	sf_count_t frames;        /* samples written */
	char error[768];          /* the first failure, for done() */

	/* Handed over by finish, under the mutex. */
	bool truncated;
	void (*done)(void *arg, const char *id, double seconds, const char *error);
	void *done_arg;

	/* The spool's recordings begun and not yet ended by the writer (mutex). */
	struct um_recording *prev, *next;
};

struct um_spool {
	char *dir;
	int lockfd, tmpfd, newfd; /* the spool (flock'd), tmp/ and new/ (fsync'd) */
	pthread_t thread;
	pthread_mutex_t mu; /* held for queue and list operations only, never over I/O */
	pthread_cond_t cv;
	bool stop, begun;
	struct job *head, *tail;
	struct um_recording *live;
	atomic_size_t backlog; /* bytes of audio chunks allocated and not yet written */
	atomic_ullong dropped; /* samples dropped, for um_spool_dropped */
	atomic_uint seq;       /* the IDs' suffix: random at open, one up per message */
};

/* libsndfile reading `len` bytes of a descriptor from `off` on, as a file of its own. */
struct fdview {
	int fd;
	sf_count_t off, len, pos;
};

static void
path_of(const struct um_spool *s, const char *folder, const char *id, const char *ext,
        char path[PATH_MAX])
{
	/* um_spool_open checked the spool's path leaves room for folder, ID and extension. */
	snprintf(path, PATH_MAX, "%s/%s/%s%s", s->dir, folder, id, ext);
}

static void fail(struct um_recording *r, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* Records the recording's first failure; from then on it drops what it is given. */
static void
fail(struct um_recording *r, const char *fmt, ...)
{
	va_list ap;

	if (r->error[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(r->error, sizeof(r->error), fmt, ap);
		va_end(ap);
	}
	atomic_store(&r->failed, true);
}

/*
 * The one place the message format is chosen: RIFF WAV, PCM 16-bit, 8000 Hz, mono, on `fd`
 * (which stays the caller's). The header is rewritten after every write, so a file whose writer
 * was killed says how long it is (recovery does not need it to: see repair()).
 */
static SNDFILE *
wav_writer(int fd)
{
	SF_INFO info;
	SNDFILE *sf;

	memset(&info, 0, sizeof(info));
	info.samplerate = UM_SPOOL_RATE;
	info.channels = 1;
	info.format = WAV_FORMAT;
	if ((sf = sf_open_fd(fd, SFM_WRITE, &info, SF_FALSE)) == NULL)
		return NULL;
	sf_command(sf, SFC_SET_UPDATE_HEADER_AUTO, NULL, SF_TRUE);
	return sf;
}

/* A JSON string, null for NULL; bytes of text that is not UTF-8 (Latin-1 in SIP) become '?'. */
static json_t *
string_or_null(const char *v)
{
	json_t *j;
	char *copy;
	size_t i;

	if (v == NULL)
		return json_null();
	if ((j = json_string(v)) != NULL)
		return j;
	if ((copy = strdup(v)) == NULL)
		return NULL;
	for (i = 0; copy[i] != '\0'; i++)
		if ((unsigned char)copy[i] >= 0x80)
			copy[i] = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

/* ID.json as committed, from the metadata object (fields it lacks or holds wrongly: null). */
static json_t *
final_json(const json_t *meta, const char *id, sf_count_t frames, bool truncated)
{
	static const char *const before[] = {"call_id", "from", "to", "gateway", "started"};
	static const char *const after[] = {"um_thumbprint"};
	json_t *o, *v;
	size_t i;
	int bad = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	bad |= json_object_set_new(o, "id", json_string(id));
	for (i = 0; i < sizeof(before) / sizeof(before[0]); i++) {
		v = json_object_get(meta, before[i]);
		bad |= json_object_set(o, before[i], json_is_string(v) ? v : json_null());
	}
	bad |= json_object_set_new(o, "seconds", json_real((double)frames / UM_SPOOL_RATE));
	v = json_object_get(meta, "media");
	bad |= json_object_set(o, "media", json_is_string(v) ? v : json_null());
	bad |= json_object_set_new(o, "truncated", json_boolean(truncated));
	for (i = 0; i < sizeof(after) / sizeof(after[0]); i++) {
		v = json_object_get(meta, after[i]);
		bad |= json_object_set(o, after[i], json_is_string(v) ? v : json_null());
	}
	if (bad != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Writes `o` to `path` as the store writes: temporary name, fsync, rename, fsync of the folder. */
static enum um_err
write_json(const char *path, const json_t *o)
{
	char *text = NULL, *line = NULL;
	enum um_err r = UM_ERR_NOMEM;

	/* Twelve digits: a sample is 0.000125 s, and no float noise ("1.5431250000000001"). */
	if ((text = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(12))) == NULL ||
	    asprintf(&line, "%s\n", text) < 0) {
		line = NULL;
		r = um_seterr(UM_ERR_NOMEM, "%s", path);
		goto out;
	}
	if (cc_file_write_atomic(path, line, strlen(line), 0600) != CC_OK) {
		r = um_seterr(UM_ERR_SPOOL, "%s", cc_errdetail());
		goto out;
	}
	r = UM_OK;
out:
	free(text);
	free(line);
	return r;
}

static enum um_err
write_final(struct um_spool *s, const char *id, const json_t *meta, sf_count_t frames,
            bool truncated)
{
	char path[PATH_MAX];
	json_t *o;
	enum um_err r;

	path_of(s, "new", id, ".json", path);
	if ((o = final_json(meta, id, frames, truncated)) == NULL)
		return um_seterr(UM_ERR_NOMEM, "%s", path);
	r = write_json(path, o);
	json_decref(o);
	return r;
}

/*
 * The commit, for a finished message and a recovered one alike: tmp/ID.wav (closed and
 * fsync'd) renamed to new/ID.wav, never over another file; new/ fsync'd; new/ID.json written
 * (the commit point); tmp/ID.json removed.
 */
static enum um_err
commit(struct um_spool *s, const char *id, const json_t *meta, sf_count_t frames, bool truncated)
{
	char from[PATH_MAX], to[PATH_MAX];
	enum um_err r;

	path_of(s, "tmp", id, ".wav", from);
	path_of(s, "new", id, ".wav", to);
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == -1)
		return um_seterr(UM_ERR_SPOOL, "rename %s to %s: %s", from, to, strerror(errno));
	if (fsync(s->newfd) == -1)
		return um_seterr(UM_ERR_SPOOL, "fsync %s/new: %s", s->dir, strerror(errno));
	if ((r = write_final(s, id, meta, frames, truncated)) != UM_OK)
		return r;
	/*
	 * The message is committed: a tmp/ID.json that stays (this remove failed, or a crash came
	 * first) is removed by the next recovery, which finds new/ID.json.
	 */
	path_of(s, "tmp", id, ".json", from);
	(void)unlink(from);
	return UM_OK;
}

/* Closes the recording's WAV (libsndfile writes its final header), fsyncs it when `sync`. */
static bool
close_wav(struct um_recording *r, bool sync)
{
	char path[PATH_MAX];
	bool ok = true;
	int e;

	path_of(r->s, "tmp", r->id, ".wav", path);
	if (r->sf != NULL) {
		if ((e = sf_close(r->sf)) != 0) {
			fail(r, "close %s: %s", path, sf_error_number(e));
			ok = false;
		}
		r->sf = NULL;
	}
	if (r->fd != -1) {
		if (sync && ok && fsync(r->fd) == -1) {
			fail(r, "fsync %s: %s", path, strerror(errno));
			ok = false;
		}
		close(r->fd);
		r->fd = -1;
	}
	return ok;
}

static void
create_files(struct um_spool *s, struct um_recording *r)
{
	char wav[PATH_MAX], json[PATH_MAX];
	off_t off;

	path_of(s, "tmp", r->id, ".wav", wav);
	path_of(s, "tmp", r->id, ".json", json);
	/* O_EXCL: a message never takes the place of another file. */
	if ((r->fd = open(wav, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) == -1) {
		fail(r, "create %s: %s", wav, strerror(errno));
		return;
	}
	r->made_wav = true;
	if (fchmod(r->fd, 0600) == -1) {
		fail(r, "chmod %s: %s", wav, strerror(errno));
		return;
	}
	if ((r->sf = wav_writer(r->fd)) == NULL) {
		fail(r, "%s: libsndfile: %s", wav, sf_strerror(NULL));
		return;
	}
	/* Where the samples start (the header is written): recovery reads them from there. */
	if ((off = lseek(r->fd, 0, SEEK_CUR)) > 0)
		(void)json_object_set_new(r->meta, "wav_data_offset", json_integer(off));
	/*
	 * tmp/ID.json serves only recovery after a crash, which without it still recovers the
	 * audio (fields null): failing to write it does not fail the message. A disk that
	 * cannot take it fails the commit, which done() reports.
	 */
	if (write_json(json, r->meta) == UM_OK)
		r->made_json = true;
}

static void
write_data(struct um_spool *s, struct job *j)
{
	struct um_recording *r = j->r;
	char path[PATH_MAX];

	if (r->sf == NULL || atomic_load(&r->failed)) {
		atomic_fetch_add(&s->dropped, j->n);
	} else if (sf_write_short(r->sf, j->pcm, (sf_count_t)j->n) != (sf_count_t)j->n) {
		path_of(s, "tmp", r->id, ".wav", path);
		fail(r, "write %s: %s", path, sf_strerror(r->sf));
		atomic_fetch_add(&s->dropped, j->n);
	} else {
		r->frames += (sf_count_t)j->n;
	}
}

static void
recording_free(struct um_recording *r)
{
	if (r == NULL)
		return;
	json_decref(r->meta);
	free(r->fill);
	free(r);
}

/* Called with the mutex held. */
static void
unlink_live(struct um_spool *s, struct um_recording *r)
{
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		s->live = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
}

static void
finish(struct um_spool *s, struct um_recording *r)
{
	if (!atomic_load(&r->failed) && close_wav(r, true) &&
	    commit(s, r->id, r->meta, r->frames, r->truncated) != UM_OK)
		fail(r, "%s", um_errdetail());
	(void)close_wav(r, false); /* after a failure: the files stay in tmp/ for recovery */
	if (r->done != NULL)
		r->done(r->done_arg, r->id, (double)r->frames / UM_SPOOL_RATE,
		        atomic_load(&r->failed) ? r->error : NULL);
}

static void
abort_files(struct um_spool *s, struct um_recording *r)
{
	char path[PATH_MAX];

	(void)close_wav(r, false);
	/* The WAV first: a crash between the two leaves tmp/ID.json alone, which recovery drops. */
	path_of(s, "tmp", r->id, ".wav", path);
	if (r->made_wav)
		(void)unlink(path);
	path_of(s, "tmp", r->id, ".json", path);
	if (r->made_json)
		(void)unlink(path);
	(void)fsync(s->tmpfd);
}

static void
run_job(struct um_spool *s, struct job *j)
{
	struct um_recording *r = j->r;

	switch (j->kind) {
	case JOB_CREATE:
		create_files(s, r);
		return;
	case JOB_DATA:
		write_data(s, j);
		free(j);
		atomic_fetch_sub(&s->backlog, CHUNK_BYTES);
		return;
	case JOB_FINISH:
		finish(s, r);
		break;
	case JOB_ABORT:
		abort_files(s, r);
		break;
	}
	pthread_mutex_lock(&s->mu);
	unlink_live(s, r);
	pthread_mutex_unlock(&s->mu);
	recording_free(r);
}

/* The writer: every job in order, until stopped with the queue empty. */
static void *
run(void *arg)
{
	struct um_spool *s = arg;
	struct job *j;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (s->head == NULL && !s->stop)
			pthread_cond_wait(&s->cv, &s->mu);
		if ((j = s->head) == NULL)
			break;
		if ((s->head = j->next) == NULL)
			s->tail = NULL;
		pthread_mutex_unlock(&s->mu);
		run_job(s, j);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Called with the mutex held. */
static void
enqueue(struct um_spool *s, struct job *j)
{
	j->next = NULL;
	if (s->tail != NULL)
		s->tail->next = j;
	else
		s->head = j;
	s->tail = j;
	pthread_cond_signal(&s->cv);
}

static enum um_err
mkdir_0700(const char *path)
{
	struct stat st;

	if (mkdir(path, 0700) == 0)
		return UM_OK;
	if (errno != EEXIST)
		return um_seterr(UM_ERR_SPOOL, "mkdir %s: %s", path, strerror(errno));
	if (stat(path, &st) == -1)
		return um_seterr(UM_ERR_SPOOL, "stat %s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return um_seterr(UM_ERR_SPOOL, "%s exists and is not a directory", path);
	return UM_OK;
}

/*
 * The folders above the spool, made as `mkdir -p` would (0755: they are /var/lib/umedge and the
 * like, shared with the store), so that a fresh installation starts; the spool itself is 0700.
 */
static enum um_err
mkdir_parents(const char *path)
{
	char buf[4096], *p;

	if (strlen(path) >= sizeof(buf))
		return um_seterr(UM_ERR_SPOOL, "spool path too long: %s", path);
	memcpy(buf, path, strlen(path) + 1);
	for (p = buf + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return um_seterr(UM_ERR_SPOOL, "mkdir %s: %s", buf, strerror(errno));
		*p = '/';
	}
	return UM_OK;
}

static int
open_dir(const char *path)
{
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static void
spool_free(struct um_spool *s)
{
	if (s == NULL)
		return;
	if (s->newfd != -1)
		close(s->newfd);
	if (s->tmpfd != -1)
		close(s->tmpfd);
	if (s->lockfd != -1)
		close(s->lockfd); /* releases the flock */
	free(s->dir);
	free(s);
}

enum um_err
um_spool_open(const char *dir, struct um_spool **out)
{
	struct um_spool *s = NULL;
	char path[PATH_MAX];
	unsigned seq = 0;
	size_t i, len;
	bool mu = false, cv = false;
	enum um_err r = UM_ERR_NOMEM;

	*out = NULL;
	if (dir == NULL || *dir == '\0' || strlen(dir) > PATH_MAX - 2 * UM_SPOOL_ID_MAX) {
		r = um_seterr(UM_ERR_INVAL, "spool: no path, or one too long");
		goto out;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL || (s->dir = strdup(dir)) == NULL) {
		free(s);
		s = NULL;
		r = um_seterr(UM_ERR_NOMEM, "spool %s", dir);
		goto out;
	}
	s->lockfd = s->tmpfd = s->newfd = -1;
	len = strlen(s->dir);
	while (len > 1 && s->dir[len - 1] == '/')
		s->dir[--len] = '\0';
	if ((r = mkdir_parents(s->dir)) != UM_OK || (r = mkdir_0700(s->dir)) != UM_OK)
		goto out;
	for (i = 0; i < sizeof(folders) / sizeof(folders[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", s->dir, folders[i]);
		if ((r = mkdir_0700(path)) != UM_OK)
			goto out;
	}
	r = UM_ERR_SPOOL;
	if ((s->lockfd = open_dir(s->dir)) == -1) {
		r = um_seterr(UM_ERR_SPOOL, "open %s: %s", s->dir, strerror(errno));
		goto out;
	}
	/* Two processes on one spool would each recover the other's recordings as left over. */
	if (flock(s->lockfd, LOCK_EX | LOCK_NB) == -1) {
		r = um_seterr(UM_ERR_SPOOL, "spool %s: %s", s->dir,
		              errno == EWOULDBLOCK ? "in use by another process" : strerror(errno));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/tmp", s->dir);
	if ((s->tmpfd = open_dir(path)) == -1) {
		r = um_seterr(UM_ERR_SPOOL, "open %s: %s", path, strerror(errno));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/new", s->dir);
	if ((s->newfd = open_dir(path)) == -1) {
		r = um_seterr(UM_ERR_SPOOL, "open %s: %s", path, strerror(errno));
		goto out;
	}
	if (RAND_bytes((unsigned char *)&seq, sizeof(seq)) != 1) {
		ERR_clear_error();
		r = um_seterr(UM_ERR_SPOOL, "spool %s: no random numbers for message IDs", s->dir);
		goto out;
	}
	atomic_init(&s->seq, seq);
	atomic_init(&s->backlog, 0);
	atomic_init(&s->dropped, 0);
	if (pthread_mutex_init(&s->mu, NULL) != 0) {
		r = um_seterr(UM_ERR_SPOOL, "spool: pthread_mutex_init failed");
		goto out;
	}
	mu = true;
	if (pthread_cond_init(&s->cv, NULL) != 0) {
		r = um_seterr(UM_ERR_SPOOL, "spool: pthread_cond_init failed");
		goto out;
	}
	cv = true;
	if ((errno = pthread_create(&s->thread, NULL, run, s)) != 0) {
		r = um_seterr(UM_ERR_SPOOL, "spool: pthread_create: %s", strerror(errno));
		goto out;
	}
	*out = s;
	s = NULL;
	r = UM_OK;
out:
	if (s != NULL) {
		if (cv)
			pthread_cond_destroy(&s->cv);
		if (mu)
			pthread_mutex_destroy(&s->mu);
		spool_free(s);
	}
	return r;
}

void
um_spool_close(struct um_spool *s)
{
	struct um_recording *r;
	struct job *f;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	/*
	 * The queue is empty; what is left live was never finished: its last samples written,
	 * the WAV closed with a correct header and fsync'd, left in tmp/ for recovery.
	 */
	while ((r = s->live) != NULL) {
		s->live = r->next;
		if ((f = r->fill) != NULL) {
			f->r = r;
			write_data(s, f);
			free(f);
			r->fill = NULL;
			atomic_fetch_sub(&s->backlog, CHUNK_BYTES);
		}
		(void)close_wav(r, true);
		recording_free(r);
	}
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	spool_free(s);
}

uint64_t
um_spool_dropped(const struct um_spool *s)
{
	/* clang refuses atomic_load on a const object: the counter itself is not changed. */
	return s == NULL ? 0 : atomic_load(&((struct um_spool *)s)->dropped);
}

enum um_err
um_spool_begin(struct um_spool *s, const struct um_spool_meta *m, struct um_recording **out)
{
	struct um_recording *r = NULL;
	char stamp[32], started[32];
	time_t t;
	struct tm tm;
	enum um_err e = UM_ERR_NOMEM;

	*out = NULL;
	if (s == NULL || m == NULL) {
		e = um_seterr(UM_ERR_INVAL, "um_spool_begin: no spool or no metadata");
		goto out;
	}
	t = m->started != 0 ? m->started : time(NULL);
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0 ||
	    strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		e = um_seterr(UM_ERR_INVAL, "um_spool_begin: start time %lld", (long long)t);
		goto out;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		e = um_seterr(UM_ERR_NOMEM, "voice message");
		goto out;
	}
	r->s = s;
	r->fd = -1;
	atomic_init(&r->failed, false);
	snprintf(r->id, sizeof(r->id), "%s-%08x", stamp, atomic_fetch_add(&s->seq, 1));
	if ((r->meta = json_object()) == NULL ||
	    json_object_set_new(r->meta, "id", json_string(r->id)) != 0 ||
	    json_object_set_new(r->meta, "call_id", string_or_null(m->call_id)) != 0 ||
	    json_object_set_new(r->meta, "from", string_or_null(m->from)) != 0 ||
	    json_object_set_new(r->meta, "to", string_or_null(m->to)) != 0 ||
	    json_object_set_new(r->meta, "gateway", string_or_null(m->gateway)) != 0 ||
	    json_object_set_new(r->meta, "started", json_string(started)) != 0 ||
	    json_object_set_new(r->meta, "media", string_or_null(m->media)) != 0 ||
	    json_object_set_new(r->meta, "um_thumbprint", string_or_null(m->um_thumbprint)) != 0) {
		e = um_seterr(UM_ERR_NOMEM, "voice message %s: metadata", r->id);
		goto out;
	}
	r->create.kind = JOB_CREATE;
	r->create.r = r;
	pthread_mutex_lock(&s->mu);
	s->begun = true;
	r->next = s->live;
	if (s->live != NULL)
		s->live->prev = r;
	s->live = r;
	enqueue(s, &r->create);
	pthread_mutex_unlock(&s->mu);
	*out = r;
	r = NULL;
	e = UM_OK;
out:
	recording_free(r);
	return e;
}

const char *
um_recording_id(const struct um_recording *r)
{
	return r == NULL ? NULL : r->id;
}

static void
drop(struct um_recording *r, size_t n)
{
	r->dropped += n;
	atomic_fetch_add(&r->s->dropped, n);
}

/* Counts one more chunk into the backlog; false when that would pass the bound. */
static bool
reserve(struct um_spool *s)
{
	size_t cur = atomic_load(&s->backlog);

	do {
		if (cur + CHUNK_BYTES > UM_SPOOL_MAX_BACKLOG)
			return false;
	} while (!atomic_compare_exchange_weak(&s->backlog, &cur, cur + CHUNK_BYTES));
	return true;
}

enum um_err
um_recording_write(struct um_recording *r, const int16_t *pcm, size_t n)
{
	struct um_spool *s;
	struct job *f;
	size_t k;
	enum um_err e = UM_ERR_SPOOL;

	if (r == NULL || (pcm == NULL && n > 0))
		return um_seterr(UM_ERR_INVAL, "um_recording_write: no recording or no samples");
	s = r->s;
	if (atomic_load(&r->failed)) {
		drop(r, n);
		e = um_seterr(UM_ERR_SPOOL, "voice message %s failed on disk: samples dropped",
		              r->id);
		goto out;
	}
	while (n > 0) {
		if (r->fill == NULL) {
			if (!reserve(s)) {
				drop(r, n);
				e = um_seterr(
				        UM_ERR_SPOOL,
				        "voice message %s: the spool's writer is %u MiB behind: "
				        "%zu samples dropped",
				        r->id, UM_SPOOL_MAX_BACKLOG / (1024 * 1024), n);
				goto out;
			}
			if ((f = malloc(sizeof(*f) + CHUNK_BYTES)) == NULL) {
				atomic_fetch_sub(&s->backlog, CHUNK_BYTES);
				drop(r, n);
				e = um_seterr(UM_ERR_NOMEM, "voice message %s: %zu samples dropped",
				              r->id, n);
				goto out;
			}
			memset(f, 0, sizeof(*f));
			f->kind = JOB_DATA;
			f->r = r;
			f->pcm = (int16_t *)(f + 1);
			r->fill = f;
		}
		f = r->fill;
		k = UM_SPOOL_FLUSH_SAMPLES - f->n;
		if (k > n)
			k = n;
		memcpy(f->pcm + f->n, pcm, k * sizeof(*pcm));
		f->n += k;
		pcm += k;
		n -= k;
		if (f->n == UM_SPOOL_FLUSH_SAMPLES) {
			pthread_mutex_lock(&s->mu);
			enqueue(s, f);
			pthread_mutex_unlock(&s->mu);
			r->fill = NULL;
		}
	}
	e = UM_OK;
out:
	return e;
}

void
um_recording_finish(struct um_recording *r, bool truncated,
                    void (*done)(void *arg, const char *id, double seconds, const char *error),
                    void *arg)
{
	struct um_spool *s;

	if (r == NULL)
		return;
	s = r->s;
	r->truncated = truncated || r->dropped > 0;
	r->done = done;
	r->done_arg = arg;
	r->end.kind = JOB_FINISH;
	r->end.r = r;
	pthread_mutex_lock(&s->mu);
	if (r->fill != NULL)
		enqueue(s, r->fill); /* never empty: a chunk is made for samples to copy */
	r->fill = NULL;
	enqueue(s, &r->end);
	pthread_mutex_unlock(&s->mu);
}

void
um_recording_abort(struct um_recording *r)
{
	struct um_spool *s;
	struct job *j, **p, *gone = NULL;

	if (r == NULL)
		return;
	s = r->s;
	r->end.kind = JOB_ABORT;
	r->end.r = r;
	pthread_mutex_lock(&s->mu);
	/* Its samples still queued are not worth writing: taken out (its creation stays). */
	s->tail = NULL;
	for (p = &s->head; (j = *p) != NULL;) {
		if (j->r == r && j->kind == JOB_DATA) {
			*p = j->next;
			j->next = gone;
			gone = j;
		} else {
			s->tail = j;
			p = &j->next;
		}
	}
	enqueue(s, &r->end);
	pthread_mutex_unlock(&s->mu);
	if (r->fill != NULL) {
		r->fill->next = gone;
		gone = r->fill;
		r->fill = NULL;
	}
	while ((j = gone) != NULL) {
		gone = j->next;
		free(j);
		atomic_fetch_sub(&s->backlog, CHUNK_BYTES);
	}
}

/* --- recovery ------------------------------------------------------------------------------ */

static sf_count_t
view_len(void *user)
{
	return ((struct fdview *)user)->len;
}

static sf_count_t
view_seek(sf_count_t off, int whence, void *user)
{
	struct fdview *v = user;
	sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? v->pos : v->len;

	if (whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END)
		return -1;
	if (off < -base || off > v->len - base)
		return -1;
	v->pos = base + off;
	return v->pos;
}

static sf_count_t
view_read(void *ptr, sf_count_t count, void *user)
{
	struct fdview *v = user;
	sf_count_t done = 0;
	ssize_t n;

	if (count > v->len - v->pos)
		count = v->len - v->pos;
	while (done < count) {
		n = pread(v->fd, (char *)ptr + done, (size_t)(count - done),
		          v->off + v->pos + done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += n;
	}
	v->pos += done;
	return done;
}

static sf_count_t
view_write(const void *ptr, sf_count_t count, void *user)
{
	(void)ptr;
	(void)count;
	(void)user;
	return 0;
}

static sf_count_t
view_tell(void *user)
{
	return ((struct fdview *)user)->pos;
}

/*
 * Rewrites tmp/ID.wav as a WAV with a correct header, and gives its length. The samples are
 * read as raw PCM (16-bit little-endian, libsndfile's RAW reader) from where the header ended
 * when the file was made (tmp/ID.json's wav_data_offset, else DATA_OFFSET) to the end of the
 * file, an odd last byte left out: so a header libsndfile kept current, one a kill -9 left a
 * write behind, one zeroed or cut short all give every sample the file holds. The copy is made
 * under a dot name, fsync'd and renamed over the original (both hold the same samples).
 */
static enum um_err
repair(struct um_spool *s, const char *id, const json_t *meta, sf_count_t *frames)
{
	SF_VIRTUAL_IO io = {view_len, view_seek, view_read, view_write, view_tell};
	char wav[PATH_MAX], fix[PATH_MAX];
	int16_t buf[COPY_FRAMES];
	struct fdview v;
	struct stat st;
	SF_INFO info;
	SNDFILE *src = NULL, *dst = NULL;
	json_t *o = json_object_get(meta, "wav_data_offset");
	sf_count_t off = DATA_OFFSET, got, n = 0;
	int fd = -1, out = -1, e;
	enum um_err r = UM_ERR_SPOOL;

	*frames = 0;
	if (json_is_integer(o) && json_integer_value(o) >= 12 && json_integer_value(o) <= 65536)
		off = (sf_count_t)json_integer_value(o);
	path_of(s, "tmp", id, ".wav", wav);
	snprintf(fix, sizeof(fix), "%s/tmp/.%s.wav.fix", s->dir, id);
	if ((fd = open(wav, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) == -1) {
		r = um_seterr(UM_ERR_SPOOL, "open %s: %s", wav, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		r = um_seterr(UM_ERR_SPOOL, "stat %s: %s", wav, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = um_seterr(UM_ERR_SPOOL, "%s: not a regular file", wav);
		goto out;
	}
	v.fd = fd;
	v.off = off;
	v.len = st.st_size > off ? (st.st_size - off) & ~(sf_count_t)1 : 0;
	v.pos = 0;
	if (v.len > 0) {
		memset(&info, 0, sizeof(info));
		info.samplerate = UM_SPOOL_RATE;
		info.channels = 1;
		info.format = SF_FORMAT_RAW | SF_FORMAT_PCM_16 | SF_ENDIAN_LITTLE;
		if ((src = sf_open_virtual(&io, SFM_READ, &info, &v)) == NULL) {
			r = um_seterr(UM_ERR_SPOOL, "%s: libsndfile: %s", wav, sf_strerror(NULL));
			goto out;
		}
	}
	if ((out = open(fix, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) == -1) {
		r = um_seterr(UM_ERR_SPOOL, "create %s: %s", fix, strerror(errno));
		goto out;
	}
	if ((dst = wav_writer(out)) == NULL) {
		r = um_seterr(UM_ERR_SPOOL, "%s: libsndfile: %s", fix, sf_strerror(NULL));
		goto out;
	}
	while (src != NULL && (got = sf_read_short(src, buf, COPY_FRAMES)) > 0) {
		if (sf_write_short(dst, buf, got) != got) {
			r = um_seterr(UM_ERR_SPOOL, "write %s: %s", fix, sf_strerror(dst));
			goto out;
		}
		n += got;
	}
	e = sf_close(dst);
	dst = NULL;
	if (e != 0) {
		r = um_seterr(UM_ERR_SPOOL, "close %s: %s", fix, sf_error_number(e));
		goto out;
	}
	if (fsync(out) == -1) {
		r = um_seterr(UM_ERR_SPOOL, "fsync %s: %s", fix, strerror(errno));
		goto out;
	}
	if (close(out) == -1) {
		out = -1;
		r = um_seterr(UM_ERR_SPOOL, "close %s: %s", fix, strerror(errno));
		goto out;
	}
	out = -1;
	if (rename(fix, wav) == -1) {
		r = um_seterr(UM_ERR_SPOOL, "rename %s to %s: %s", fix, wav, strerror(errno));
		goto out;
	}
	*frames = n;
	r = UM_OK;
out:
	if (src != NULL)
		sf_close(src);
	if (dst != NULL)
		sf_close(dst);
	if (out != -1)
		close(out);
	if (fd != -1)
		close(fd);
	if (r != UM_OK)
		(void)unlink(fix);
	return r;
}

/* The number of samples of a committed WAV (new/ID.wav), as libsndfile reads its header. */
static enum um_err
wav_frames(const char *path, sf_count_t *frames)
{
	SF_INFO info;
	SNDFILE *sf;

	*frames = 0;
	memset(&info, 0, sizeof(info));
	if ((sf = sf_open(path, SFM_READ, &info)) == NULL)
		return um_seterr(UM_ERR_SPOOL, "%s: libsndfile: %s", path, sf_strerror(NULL));
	*frames = info.frames;
	sf_close(sf);
	return UM_OK;
}

/*
 * tmp/ID.json as an object; without it (or unreadable, or not an object) an empty one, the
 * fields null. "started" missing: the ID's time ("20261202T071500Z-..."), which is the start.
 */
static json_t *
load_meta(struct um_spool *s, const char *id)
{
	char path[PATH_MAX], started[32];
	unsigned char *buf = NULL;
	json_t *meta = NULL;
	size_t len = 0, i;
	bool stamp = strlen(id) >= 16 && id[8] == 'T' && id[15] == 'Z';

	path_of(s, "tmp", id, ".json", path);
	if (cc_file_read(path, MAX_META, &buf, &len, NULL) == CC_OK)
		meta = json_loadb((const char *)buf, len, 0, NULL);
	free(buf);
	if (!json_is_object(meta)) {
		json_decref(meta);
		if ((meta = json_object()) == NULL)
			return NULL;
	}
	for (i = 0; i < 15 && stamp; i++)
		stamp = i == 8 || (id[i] >= '0' && id[i] <= '9');
	if (!json_is_string(json_object_get(meta, "started")) && stamp) {
		snprintf(started, sizeof(started), "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", id, id + 4,
		         id + 6, id + 9, id + 11, id + 13);
		if (json_object_set_new(meta, "started", json_string(started)) != 0) {
			json_decref(meta);
			return NULL;
		}
	}
	return meta;
}

static enum um_err
remove_tmp_json(struct um_spool *s, const char *id)
{
	char path[PATH_MAX];

	path_of(s, "tmp", id, ".json", path);
	if (cc_file_remove(path) != CC_OK)
		return um_seterr(UM_ERR_SPOOL, "%s", cc_errdetail());
	return UM_OK;
}

/* One ID found in tmp/ (see um_spool_recover); *committed when a message went to new/. */
static enum um_err
recover_one(struct um_spool *s, const char *id, bool *committed, sf_count_t *frames)
{
	char path[PATH_MAX];
	struct stat st;
	json_t *meta = NULL;
	enum um_err r = UM_ERR_NOMEM;

	*committed = false;
	*frames = 0;
	if ((meta = load_meta(s, id)) == NULL) {
		r = um_seterr(UM_ERR_NOMEM, "voice message %s: metadata", id);
		goto out;
	}
	path_of(s, "tmp", id, ".wav", path);
	if (lstat(path, &st) == 0) {
		if ((r = repair(s, id, meta, frames)) != UM_OK ||
		    (r = commit(s, id, meta, *frames, true)) != UM_OK)
			goto out;
		*committed = true;
		r = UM_OK;
		goto out;
	}
	if (errno != ENOENT) {
		r = um_seterr(UM_ERR_SPOOL, "stat %s: %s", path, strerror(errno));
		goto out;
	}
	/* tmp/ID.json alone: its WAV was renamed to new/ (the commit cut after it), or aborted. */
	path_of(s, "new", id, ".json", path);
	if (lstat(path, &st) == -1 && errno == ENOENT) {
		path_of(s, "new", id, ".wav", path);
		if (lstat(path, &st) == 0) {
			if ((r = wav_frames(path, frames)) != UM_OK ||
			    (r = write_final(s, id, meta, *frames, true)) != UM_OK)
				goto out;
			*committed = true;
		}
	}
	r = remove_tmp_json(s, id);
out:
	json_decref(meta);
	return r;
}

/* A name recovery takes for an ID: letters, digits, '-' and '_', not starting with '-'. */
static bool
valid_id(const char *id, size_t len)
{
	size_t i;

	if (len == 0 || len > UM_SPOOL_ID_MAX || id[0] == '-')
		return false;
	for (i = 0; i < len; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'z') ||
		      (id[i] >= 'A' && id[i] <= 'Z') || id[i] == '-' || id[i] == '_'))
			return false;
	return true;
}

/* The ID of "ID.wav" or "ID.json" into id; false for any other name. */
static bool
stem(const char *name, char id[UM_SPOOL_ID_MAX + 1])
{
	size_t len = strlen(name), n;

	if (len > 4 && strcmp(name + len - 4, ".wav") == 0)
		n = len - 4;
	else if (len > 5 && strcmp(name + len - 5, ".json") == 0)
		n = len - 5;
	else
		return false;
	if (!valid_id(name, n))
		return false;
	memcpy(id, name, n);
	id[n] = '\0';
	return true;
}

/* The spool's own temporaries in tmp/: ".ID.wav.fix" (repair), ".ID.json.tmp.*" (write_json). */
static bool
own_temporary(const char *name)
{
	size_t len = strlen(name);

	return name[0] == '.' && (strstr(name, ".json.tmp.") != NULL ||
	                          (len > 9 && strcmp(name + len - 8, ".wav.fix") == 0));
}

static int
cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

enum um_err
um_spool_recover(struct um_spool *s, void (*each)(void *arg, const char *id, double seconds),
                 void *arg, size_t *count)
{
	char(*ids)[UM_SPOOL_ID_MAX + 1] = NULL, (*more)[UM_SPOOL_ID_MAX + 1];
	char path[PATH_MAX], first[1024] = "";
	size_t n = 0, cap = 0, i, recovered = 0;
	struct dirent *de;
	DIR *d = NULL;
	sf_count_t frames;
	bool begun, committed;
	enum um_err r = UM_ERR_SPOOL, e, firste = UM_OK;

	if (count != NULL)
		*count = 0;
	if (s == NULL) {
		r = um_seterr(UM_ERR_INVAL, "um_spool_recover: no spool");
		goto out;
	}
	pthread_mutex_lock(&s->mu);
	begun = s->begun;
	pthread_mutex_unlock(&s->mu);
	if (begun) {
		r = um_seterr(UM_ERR_INVAL, "spool %s: recovery after recording began", s->dir);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/tmp", s->dir);
	if ((d = opendir(path)) == NULL) {
		r = um_seterr(UM_ERR_SPOOL, "open %s: %s", path, strerror(errno));
		goto out;
	}
	/* The IDs first, then the work: the folder changes under it. */
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (own_temporary(de->d_name)) {
			(void)unlinkat(s->tmpfd, de->d_name, 0);
			continue;
		}
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if ((more = reallocarray(ids, cap, sizeof(*ids))) == NULL) {
				r = um_seterr(UM_ERR_NOMEM, "spool recovery");
				goto out;
			}
			ids = more;
		}
		if (stem(de->d_name, ids[n]))
			n++;
	}
	if (errno != 0) {
		r = um_seterr(UM_ERR_SPOOL, "read %s: %s", path, strerror(errno));
		goto out;
	}
	/* In order of time (the IDs sort so), each ID once (ID.wav and ID.json). */
	if (n > 0)
		qsort(ids, n, sizeof(*ids), cmp_id);
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(ids[i], ids[i - 1]) == 0)
			continue;
		if ((e = recover_one(s, ids[i], &committed, &frames)) != UM_OK && firste == UM_OK) {
			firste = e;
			snprintf(first, sizeof(first), "%s", um_errdetail());
		}
		if (committed) {
			recovered++;
			if (each != NULL)
				each(arg, ids[i], (double)frames / UM_SPOOL_RATE);
		}
	}
	(void)fsync(s->tmpfd);
	if (count != NULL)
		*count = recovered;
	r = firste == UM_OK ? UM_OK : um_seterr(firste, "%s", first);
out:
	if (d != NULL)
		closedir(d);
	free(ids);
	return r;
}
