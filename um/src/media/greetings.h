/*
 * Greetings: the default one (`greeting` in umd.conf) and the called user's own, USER.wav in
 * the default's folder (/var/lib/umedge/greetings/1001.wav beside .../default.wav), loaded
 * with media/wav.h and kept while their files do not change (size and modification time are
 * looked at for each call). A greeting is reference counted: the media thread holds one for
 * the length of a call while the SIP thread may replace the cache's entry.
 */
#ifndef UM_MEDIA_GREETINGS_H
#define UM_MEDIA_GREETINGS_H

#include "certcore/log.h"
#include "error.h"
#include "media/wav.h"

struct um_greeting;
struct um_greetings;

/* The samples; borrowed for as long as the reference is held. */
const struct um_audio *um_greeting_audio(const struct um_greeting *g);
struct um_greeting *um_greeting_ref(struct um_greeting *g);
/* Any thread. NULL: no-op. */
void um_greeting_unref(struct um_greeting *g);

/*
 * The cache (SIP thread only). `default_path` must load when it exists (else the error names
 * the file and why); a default that does not exist is replaced by one second of silence, and
 * logged once.
 */
enum um_err um_greetings_new(const char *default_path, struct cc_log *log,
                             struct um_greetings **out) UM_WUR;
void um_greetings_free(struct um_greetings *g);

/*
 * A new reference to the greeting for the called user `user` (the user part of the called URI;
 * NULL or one that cannot be a file name: the default). A user greeting that fails to load is
 * logged and the default is played.
 */
struct um_greeting *um_greetings_for(struct um_greetings *g, const char *user);

#endif
