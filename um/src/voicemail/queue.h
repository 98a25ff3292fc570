/*
 * The submission queue: the spool's messages as SMTP submission sees them (docs/architecture.md,
 * "The spool and the SMTP queue"). A message is queued while new/ID.json is there (the spool's
 * commit point); beside it the queue keeps new/ID.state, its submission record:
 *
 *   {"attempts", "first_attempt", "last_attempt", "next_attempt" (ISO 8601 UTC or null),
 *    "last_error", "recipient", "message_id", "hub", "response", "submitted" (ISO or null)}
 *
 * written as the store writes (temporary name, fsync, rename). A message leaves new/ for sent/
 * (the hub said 250) or failed/ (a permanent refusal, or max_queue_days passed; with ID.error,
 * its last error as text): ID.wav first, then ID.state, then ID.json, the commit point of the
 * move, each with renameat2(RENAME_NOREPLACE) and the folders fsync'd. A move cut short is
 * completed by the next scan: new/ID.json whose ID.wav is already in sent/ or failed/ follows it.
 * "submitted" is written before the move, so a message the hub took is never sent again
 * because the move was cut short; a kill between the hub's 250 and that write sends it once
 * more, with the same Message-ID.
 *
 * An administrator asks for an attempt now by creating new/ID.retry (um_queue_retry); a message
 * of failed/ is put back into new/ the same way, its record reset. Nothing here deletes a
 * message but um_queue_purge_sent (sent/ past its retention).
 *
 * Functions here do file I/O on the calling thread. One process moves messages at a time (umd,
 * which holds the spool's lock); the administration verbs only read and create ID.retry, or
 * move a message of failed/ (which umd does not touch) back into new/.
 */
#ifndef UM_VOICEMAIL_QUEUE_H
#define UM_VOICEMAIL_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "error.h"
#include "voicemail/spool.h"

enum um_queue_where { UM_Q_NEW, UM_Q_SENT, UM_Q_FAILED };

/* One message and its record. Strings owned by the message (NULL when unknown). */
struct um_qmsg {
	char id[UM_SPOOL_ID_MAX + 1];
	enum um_queue_where where;
	json_t *meta; /* ID.json as written by the spool */
	/* From ID.json. */
	const char *from, *to, *call_id, *gateway, *media;
	double seconds;
	bool truncated;
	time_t started;
	/* The record (ID.state). */
	int attempts;
	time_t first_attempt, last_attempt, next_attempt, submitted; /* 0: none */
	char *last_error, *recipient, *message_id, *hub, *response;
	bool retry; /* new/ID.retry is there */
	bool wav_missing;
};

struct um_queue;

/*
 * Opens the queue of the spool at `dir` (its folders must exist: um_spool_open makes them).
 * *out NULL on entry, owned on success.
 */
enum um_err um_queue_open(const char *dir, struct um_queue **out) UM_WUR;
void um_queue_free(struct um_queue *q);
const char *um_queue_dir(const struct um_queue *q);

/*
 * The messages of one folder, oldest first (by ID, which starts with the time). Moves cut short
 * are completed first (UM_Q_NEW only). *out is an owned array of *n messages, freed with
 * um_qmsg_free_all. A message whose files cannot be read is left out and logged through
 * warn (may be NULL) with the reason.
 */
enum um_err um_queue_list(struct um_queue *q, enum um_queue_where where,
                          void (*warn)(void *arg, const char *msg), void *arg, struct um_qmsg **out,
                          size_t *n) UM_WUR;
/* Reads one message of any folder by ID: UM_ERR_NOTFOUND when it is in none. */
enum um_err um_queue_get(struct um_queue *q, const char *id, struct um_qmsg *out) UM_WUR;
void um_qmsg_clear(struct um_qmsg *m);
void um_qmsg_free_all(struct um_qmsg *m, size_t n);

/*
 * Lazy durability, for the submission thread: with `lazy`, records (ID.state) and moves to sent/
 * are not fsync'd one by one (seven fsyncs a message, most of its time); um_queue_sync makes
 * all of them durable at once, and the caller calls it at least every second. Nothing can be
 * lost by it: every step is a rename of files the spool made durable, or a record; a power cut
 * loses at most the records and moves of the last second, whose messages are then sent once
 * more with the same Message-ID (as after a kill between the hub's 250 and the record). A kill
 * of the process loses nothing at all (the kernel has the writes). Moves to failed/ stay
 * durable one by one.
 */
void um_queue_set_lazy(struct um_queue *q, bool lazy);
void um_queue_sync(struct um_queue *q);

/* Writes new/ID.state from m's record. */
enum um_err um_queue_save(struct um_queue *q, const struct um_qmsg *m) UM_WUR;

/*
 * Moves a message of new/ to sent/ or failed/ (with ID.error = `error`, for failed/). Its record
 * must have been saved. With `to` UM_Q_SENT and `keep` false the message is deleted instead
 * (sent_retention_days = 0): the record says it was sent, then the files go, ID.json last.
 */
enum um_err um_queue_move(struct um_queue *q, const struct um_qmsg *m, enum um_queue_where to,
                          const char *error, bool keep) UM_WUR;

/* Removes new/ID.retry (the daemon took the request). */
void um_queue_retry_taken(struct um_queue *q, const char *id);

/*
 * An administrator's "retry now": a queued message gets new/ID.retry; a failed one is moved
 * back to new/ with its record reset (ID.error removed). UM_ERR_NOTFOUND when in neither.
 */
enum um_err um_queue_retry(struct um_queue *q, const char *id) UM_WUR;

/* Deletes the messages of sent/ submitted more than `days` days before now; *n: how many. */
enum um_err um_queue_purge_sent(struct um_queue *q, int days, time_t now, size_t *n) UM_WUR;

/* The message and its record as JSON ({"id", "state", ... , "meta": ID.json}); owned. */
json_t *um_qmsg_json(const struct um_qmsg *m);
/* "queued", "deferred", "sent", "failed" for the message's folder and record. */
const char *um_qmsg_state(const struct um_qmsg *m, time_t now);

/* Times in ID.state: "2026-12-02T07:15:00Z"; 0 when NULL or not such a time. */
time_t um_queue_parse_time(const char *s);

#endif
