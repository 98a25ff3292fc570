/* umd's seam with sofia-sip (seam.h). */
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/ssl.h>
#include <sofia-sip/su_config.h>
/* su_config.h first: it defines SOFIAPUBVAR, which sofia_features.h uses. */
#include <sofia-sip/sofia_features.h>
#include <sofia-sip/nta.h>
#include <sofia-sip/tport.h>

#include "seam.h"

/* umd's definitions (tlshook.c, fdguard.c, sip.c): what each symbol must resolve to. */
static const struct {
	const char *symbol;
	void (*self)(void);
} hooks[UM_SEAM__MAX] = {
        [UM_SEAM_CIPHER_LIST] = {"SSL_CTX_set_cipher_list",
                                 (void (*)(void))SSL_CTX_set_cipher_list},
        [UM_SEAM_SSL_NEW] = {"SSL_new", (void (*)(void))SSL_new},
        [UM_SEAM_SSL_SHUTDOWN] = {"SSL_shutdown", (void (*)(void))SSL_shutdown},
        [UM_SEAM_SSL_READ] = {"SSL_read", (void (*)(void))SSL_read},
        [UM_SEAM_SSL_WRITE] = {"SSL_write", (void (*)(void))SSL_write},
        [UM_SEAM_SSL_GET_ERROR] = {"SSL_get_error", (void (*)(void))SSL_get_error},
        [UM_SEAM_ACCEPT] = {"accept", (void (*)(void))accept},
        [UM_SEAM_LEG_TCREATE] = {"nta_leg_tcreate", (void (*)(void))nta_leg_tcreate},
        [UM_SEAM_TPORT_TCREATE] = {"tport_tcreate", (void (*)(void))tport_tcreate},
};

static atomic_uint_least64_t taken[UM_SEAM__MAX], passed[UM_SEAM__MAX];
static _Thread_local bool window;

const char *
um_seam_symbol(enum um_seam_hook h)
{
	return (unsigned)h < UM_SEAM__MAX ? hooks[h].symbol : "unknown";
}

bool
um_seam_version_ok(const char *name_version, char *why, size_t len)
{
	if (name_version != NULL && strcmp(name_version, UM_SEAM_SOFIA_VERSION) == 0)
		return true;
	snprintf(why, len,
	         "sofia-sip is %s, but umd's hooks into it were verified against %s only "
	         "(um/src/seam.h)",
	         name_version ? name_version : "of an unknown version", UM_SEAM_SOFIA_VERSION);
	return false;
}

enum um_err
um_seam_check_runtime(void)
{
	char why[256];
	void (*at)(void);
	size_t i;

	if (!um_seam_version_ok(sofia_sip_name_version, why, sizeof(why)))
		return um_seterr(UM_ERR_SIP, "%s", why);
	for (i = 0; i < UM_SEAM__MAX; i++) {
		*(void **)&at = dlsym(RTLD_DEFAULT, hooks[i].symbol);
		if (at != hooks[i].self)
			return um_seterr(UM_ERR_SIP,
			                 "%s is not umd's own (the executable does not export it: "
			                 "um/CMakeLists.txt, UM_SEAM_SYMBOLS): sofia-sip would "
			                 "bypass the hook",
			                 hooks[i].symbol);
	}
	return UM_OK;
}

void
um_seam_window(bool open)
{
	window = open;
}

bool
um_seam_in_window(void)
{
	return window;
}

bool
um_seam_from_sofia(const void *ret)
{
	/* sofia-sip's load address, found once (any thread may be first: the same value). */
	static _Atomic(void *) base;
	void *b = atomic_load_explicit(&base, memory_order_relaxed);
	Dl_info sofia, caller;

	if (b == NULL) {
		/* nua_create is not interposed: RTLD_DEFAULT finds sofia-sip's own. */
		void *f = dlsym(RTLD_DEFAULT, "nua_create");

		if (f == NULL || dladdr(f, &sofia) == 0)
			return false;
		b = sofia.dli_fbase;
		atomic_store_explicit(&base, b, memory_order_relaxed);
	}
	return ret != NULL && dladdr(ret, &caller) != 0 && caller.dli_fbase == b;
}

void
um_seam_take(enum um_seam_hook h)
{
	if ((unsigned)h < UM_SEAM__MAX)
		atomic_fetch_add_explicit(&taken[h], 1, memory_order_relaxed);
}

void
um_seam_pass(enum um_seam_hook h)
{
	if ((unsigned)h < UM_SEAM__MAX)
		atomic_fetch_add_explicit(&passed[h], 1, memory_order_relaxed);
}

uint64_t
um_seam_taken(enum um_seam_hook h)
{
	return (unsigned)h < UM_SEAM__MAX ? atomic_load_explicit(&taken[h], memory_order_relaxed)
	                                  : 0;
}

uint64_t
um_seam_passed(enum um_seam_hook h)
{
	return (unsigned)h < UM_SEAM__MAX ? atomic_load_explicit(&passed[h], memory_order_relaxed)
	                                  : 0;
}

enum um_err
um_seam_check_started(bool tls)
{
	if (tls && um_seam_taken(UM_SEAM_CIPHER_LIST) == 0)
		return um_seterr(UM_ERR_SIP,
		                 "sofia-sip set up no TLS context through "
		                 "SSL_CTX_set_cipher_list (see its messages above; um/src/seam.h): "
		                 "umd's TLS policy and gateway checks would not apply");
	if (um_seam_taken(UM_SEAM_LEG_TCREATE) == 0)
		return um_seterr(UM_ERR_SIP, "nua's default leg was not seen (nta_leg_tcreate "
		                             "interposition): dialogs could not be guarded");
	if (um_seam_taken(UM_SEAM_TPORT_TCREATE) == 0)
		return um_seterr(UM_ERR_SIP, "nta's transports were not seen (tport_tcreate "
		                             "interposition): CANCEL could not be guarded");
	return UM_OK;
}
