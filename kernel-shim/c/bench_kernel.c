/*
 * Latency of the kernel object run natively: the bare-metal static library
 * (x86_64-unknown-none, the code that goes into the kernel module) called from C, each of the
 * four built-in models fed the test vectors in a loop (varied, realistic inputs): each step
 * pushes an observation and predicts, feature extraction included (aiml_bench in
 * aiml_vectors_run.h). scripts/kernel_bench.sh links it against the library built with and
 * without prepared weights and prints both.
 *
 * Usage: bench_kernel [CALLS]   stdout: "aiml-bench <model> <ns> ns/prediction" lines.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "aios_ml.h"

static unsigned long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

#define AIML_PRINT(...) printf(__VA_ARGS__)
#define AIML_NOW_NS() now_ns()
#include "aiml_vectors_run.h"

int main(int argc, char **argv)
{
	unsigned int n = argc > 1 ? (unsigned int)strtoul(argv[1], NULL, 10) : 200000;
	/* a replay first: the built-in models answer (its lines are not needed here) */
	if (aiml_init() != AIML_STATUS_OK || aiml_run_vectors('D') != 0) {
		fprintf(stderr, "bench_kernel: replaying the vectors failed\n");
		return 1;
	}
	aiml_bench(n);
	return 0;
}
