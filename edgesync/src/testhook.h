/*
 * edgesync's test hooks: compiled only into test builds (the CMake option UMEDGE_TEST_HOOKS,
 * which defines UMEDGE_TEST_HOOKS for edgesync_lib, the edgesync tool and the unit tests); a
 * shipped build has neither the hook nor the variable that arms it. Not installed.
 */
#ifndef EDGESYNC_TESTHOOK_H
#define EDGESYNC_TESTHOOK_H

#ifdef UMEDGE_TEST_HOOKS
/*
 * NULL unless a test sets it: called after each write the edge confirmed, with the number
 * confirmed so far by this writer (writer.c). The integration tests use it (through the CLI's
 * EDGESYNC_TEST_PAUSE_AFTER) to stop a cycle half way, then kill the replicator or the edge.
 */
extern void (*es_writer_test_hook)(long confirmed);
#endif

#endif
