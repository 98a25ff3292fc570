/*
 * The voice-message spool (docs/architecture.md, "The spool and the SMTP queue"): a directory,
 * 0700, Maildir-like.
 *
 *   DIR/tmp/ID.wav    the message while it is recorded (RIFF, PCM 16-bit, 8000 Hz, mono)
 *   DIR/tmp/ID.json   its metadata, written when the recording starts, for recovery
 *   DIR/new/ID.wav    the finished message ...
 *   DIR/new/ID.json   ... and its metadata, written last: the commit point
 *   DIR/sent/, DIR/failed/   for SMTP submission (not touched here)
 *
 * A reader of new/ takes a message when ID.json is there, and skips names starting with a dot
 * (the temporaries of the atomic writes). ID.json: {"id" (= the file stem), "call_id", "from",
 * "to", "gateway", "started" (ISO 8601 UTC, "2026-12-02T07:15:00Z"), "seconds" (a number: the
 * audio's length), "media" ("RTP" or the SRTP suite), "truncated" (bool), "um_thumbprint"
 * (string or null)}; a field the spool does not know is null. Files are 0600, folders 0700.
 * No audio is deleted but by um_recording_abort (a message that never was); recovery removes
 * only the spool's own leftovers (temporaries, the metadata of an abort cut short).
 *
 * The thread that records never waits on the disk: the spool owns one writer thread that does
 * all its file I/O. um_spool_begin, um_recording_write, _finish and _abort copy into memory
 * and queue work under a mutex held only for queue operations. Audio is handed to the writer
 * every UM_SPOOL_FLUSH_SAMPLES (half a second), and libsndfile rewrites the WAV header after
 * each write (SFC_SET_UPDATE_HEADER_AUTO), so a kill -9 of umd loses at most the last half
 * second recorded and what the writer had not written yet; recovery reads what the file holds.
 * (Data is not fsync'd while recording: a power cut can lose what the kernel had not written
 * back. The finished message is fsync'd before it is committed.)
 *
 * Memory is bounded: audio queued but not yet written, over all recordings, is at most
 * UM_SPOOL_MAX_BACKLOG bytes (with a recording's chunk being filled counted whole). Samples
 * that would pass it (the disk stalls) are dropped, counted in the recording (its message is
 * then marked "truncated") and in the spool (um_spool_dropped), and the write answered
 * UM_ERR_SPOOL; recording goes on when the writer catches up. Each recording in progress holds
 * one file descriptor.
 *
 * One process uses a spool at a time: um_spool_open takes an exclusive flock(2) on DIR (released
 * when the process ends, even by kill -9), and a second opener is refused.
 */
#ifndef UM_VOICEMAIL_SPOOL_H
#define UM_VOICEMAIL_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "error.h"

#define UM_SPOOL_RATE          8000                  /* samples per second, mono */
#define UM_SPOOL_FLUSH_SAMPLES (UM_SPOOL_RATE / 2)   /* handed to the writer this often */
#define UM_SPOOL_MAX_BACKLOG   (32u * 1024u * 1024u) /* bytes of audio queued, all messages */
#define UM_SPOOL_ID_MAX        64                    /* longest ID, without the NUL */

struct um_spool;
struct um_recording;

/*
 * What a message's ID.json says about it. Strings are borrowed by um_spool_begin (copied);
 * any may be NULL (written null); bytes of one that is not UTF-8 (Latin-1 in a SIP header)
 * are written '?'. `started` is the call's start (the ID's time too); 0: now.
 */
struct um_spool_meta {
	const char *call_id, *from, *to, *gateway, *media, *um_thumbprint;
	time_t started;
};

/*
 * Opens the spool at `dir`: creates it (0700, not its parents) with tmp/ new/ sent/ failed/
 * (0700) when absent, takes its lock and starts the writer thread. A spool that cannot be made
 * or used (a file in the way, no permission, in use by another process) is UM_ERR_SPOOL with
 * the path and the system's reason. *out is NULL on entry, owned by the caller on success.
 */
enum um_err um_spool_open(const char *dir, struct um_spool **out) UM_WUR;

/*
 * Finishes every queued job (a finish queued before is committed, its done() called), writes
 * out and closes the recordings not finished (left in tmp/ with a correct header, recovered at
 * the next start), stops the thread and frees. Handles of recordings not finished are freed
 * with it: the caller must not use them after. Not to be called while another thread still
 * calls into the spool or its recordings. NULL: no-op.
 */
void um_spool_close(struct um_spool *s);

/*
 * Finalizes what a previous run left in tmp/ into new/ with "truncated": true, on the calling
 * thread (start-up, before the first um_spool_begin; UM_ERR_INVAL once a recording began):
 *
 * - tmp/ID.wav: every sample it holds is kept, read as the raw PCM that follows the header
 *   (where the header ended when the file was made), so a header current, stale, zeroed or cut
 *   short does not matter; the file is rewritten with a correct header by libsndfile, fsync'd,
 *   and committed as um_recording_finish does. Its fields
 *   come from tmp/ID.json; without it they are null, but for "id" and "started" (from the ID).
 *   "seconds" is the audio's. A WAV with no samples is kept too, "seconds": 0 (a voice
 *   message is never deleted; a caller who said nothing is still a call).
 * - tmp/ID.json whose ID.wav is already in new/ (a commit cut between its steps): new/ID.json
 *   is written if missing. tmp/ID.json with no WAV anywhere (an abort cut short) is removed.
 * - Leftover temporaries of the spool's own writes (dot files) in tmp/ are removed.
 *
 * For each message committed, each(arg, id, seconds) is called (each may be NULL); *count
 * (may be NULL) is their number. A message that fails is left where it is and the others are
 * still tried; the first failure is returned (UM_ERR_SPOOL, path and reason).
 */
enum um_err um_spool_recover(struct um_spool *s,
                             void (*each)(void *arg, const char *id, double seconds), void *arg,
                             size_t *count) UM_WUR;

/*
 * Audio samples dropped so far because the writer was behind or a recording had failed on
 * disk, over the spool's life (for metrics).
 */
uint64_t um_spool_dropped(const struct um_spool *s);

/*
 * Starts a message: makes its ID ("20261202T071500Z-3f9a1c2b": the start in UTC, sortable,
 * then eight hex digits, random at open and counted up, so no two IDs of one run are equal)
 * and queues the creation of tmp/ID.wav (O_EXCL: never over another file) and tmp/ID.json.
 * Never blocks on I/O: a failure to create is reported by um_recording_finish's done(). *out is
 * NULL on entry, owned by the caller until um_recording_finish or um_recording_abort.
 */
enum um_err um_spool_begin(struct um_spool *s, const struct um_spool_meta *m,
                           struct um_recording **out) UM_WUR;

/* The message's ID; borrowed, valid as long as the handle. */
const char *um_recording_id(const struct um_recording *r);

/*
 * Appends `n` samples (8 kHz mono; copied). Never blocks on I/O. UM_OK when kept;
 * UM_ERR_SPOOL when dropped because the writer is UM_SPOOL_MAX_BACKLOG behind or the recording
 * already failed on disk; UM_ERR_NOMEM when dropped for want of memory. Dropped samples are
 * counted and the message marked truncated; the caller may go on writing. One thread at a time
 * per recording.
 */
enum um_err um_recording_write(struct um_recording *r, const int16_t *pcm, size_t n) UM_WUR;

/*
 * Ends the message; r is consumed. The writer thread writes what is queued, closes the WAV,
 * fsyncs it, renames it to new/ID.wav (never over an existing file), writes new/ID.json
 * (temporary, fsync, rename, fsync of new/), removes tmp/ID.json, and then calls
 * done(arg, id, seconds, error) ON THE WRITER THREAD: error is NULL when the message is
 * committed, else what failed with the path and the system's reason (the files are then left
 * where they are, tmp/ or, when the failure came after the WAV's rename, new/ID.wav with
 * tmp/ID.json: the next start's recovery completes either). `truncated` (the caller cut the
 * message: the maximum length, a failure) is written to ID.json, or-ed with samples dropped. done
 * may be NULL; it must not call back into the spool, only hand the news elsewhere. id is borrowed
 * for the call.
 */
void um_recording_finish(struct um_recording *r, bool truncated,
                         void (*done)(void *arg, const char *id, double seconds, const char *error),
                         void *arg);

/*
 * Drops the message (the caller hung up before the beep: no message); r is consumed. Samples
 * not yet written are discarded; the writer thread removes tmp/ID.wav, then tmp/ID.json.
 */
void um_recording_abort(struct um_recording *r);

#endif
