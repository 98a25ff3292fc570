/* No core file, no dumpable process (nodump.h): setrlimit(2) RLIMIT_CORE, prctl(2). */
#include <sys/prctl.h>
#include <sys/resource.h>

#include "certcore/nodump.h"
#include "internal.h"

enum cc_err
cc_nodump(void)
{
	const struct rlimit none = {0, 0};

	/* Lowering a limit needs no privilege; the hard limit at 0 keeps it there. */
	if (setrlimit(RLIMIT_CORE, &none) != 0)
		return cc_seterr_errno(CC_ERR_IO, "setrlimit(RLIMIT_CORE, 0)");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return cc_seterr_errno(CC_ERR_IO, "prctl(PR_SET_DUMPABLE, 0)");
	return CC_OK;
}
