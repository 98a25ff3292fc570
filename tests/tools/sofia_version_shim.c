/*
 * Preloaded before sofia-sip (LD_PRELOAD) by tests/integration/umd_seam.sh: umd then reads this
 * version string where sofia-sip's own would be, as it would with another sofia-sip installed,
 * and must refuse to start (um/src/seam.h, the version rule).
 */
#include <sofia-sip/su_config.h>
/* su_config.h first: it defines SOFIAPUBVAR, which sofia_features.h uses. */
#include <sofia-sip/sofia_features.h>

char const *const sofia_sip_name_version = "sofia-sip-1.13.17";
