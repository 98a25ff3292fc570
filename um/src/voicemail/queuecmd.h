/*
 * `umd queue`: the administrator's view of the submission queue (queue.h), as Exchange's
 * Get-Queue / Get-Message / Retry-Queue were for its transport queues.
 *
 *   umd queue -c FILE [--json] list [--all]   messages of new/ and failed/ (--all: sent/ too)
 *   umd queue -c FILE [--json] show ID        one message, its record and its metadata
 *   umd queue -c FILE retry ID | --all        an attempt now (a failed message is queued again)
 *
 * It reads the spool of the configuration and never takes the spool's lock: it runs beside umd.
 * Exit status 0, 1 on an error (said on stderr with its cause), 2 on a usage error.
 */
#ifndef UM_VOICEMAIL_QUEUECMD_H
#define UM_VOICEMAIL_QUEUECMD_H

int um_queue_command(int argc, char **argv);

#endif
