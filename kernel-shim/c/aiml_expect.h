/*
 * Checks of the host C tests (test_shim.c, test_rollback.c): each failed check prints where
 * and what to stderr and counts into `failures`, which the test's exit status reports.
 */
#ifndef AIML_EXPECT_H
#define AIML_EXPECT_H

#include <stdio.h>

#include "aios_ml.h"

static int failures;

/* `call` must answer `want`. */
#define EXPECT(call, want)                                                                     \
	do {                                                                                   \
		AimlStatus got_ = (call);                                                      \
		if (got_ != (want)) {                                                          \
			fprintf(stderr, "FAIL %s:%d: %s = %d, expected %s = %d\n", __FILE__,   \
				__LINE__, #call, (int)got_, #want, (int)(want));               \
			failures++;                                                            \
		}                                                                              \
	} while (0)

/* `cond` must hold. */
#define CHECK(cond)                                                                            \
	do {                                                                                   \
		if (!(cond)) {                                                                 \
			fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);        \
			failures++;                                                            \
		}                                                                              \
	} while (0)

#endif
