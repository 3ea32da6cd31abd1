/*
 * Hot-swap stress from C (aiml_stress.h): reader threads predicting with all four models
 * while one writer thread loads and resets them, against the bare-metal static library (the
 * code that goes into the kernel module).
 *
 * Usage: test_stress [READERS] [PREDICTIONS_PER_READER] [SWAPS]
 * stdout: "aiml-stress" lines. Exit status 0 only if no answer was a mix of two models, no
 * call failed (other than a writer's AIML_STATUS_BUSY) and the writer swapped.
 *
 * Build: see .ci/kernel.sh (gcc -std=c11 -pthread -Wall -Wextra -Werror).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "aios_ml.h"

#define AIML_PRINT(...) printf(__VA_ARGS__)
#define AIML_NOW_NS() 0ull
#include "aiml_vectors_run.h"
#include "aiml_stress.h"

#define MAX_READERS 64

static unsigned long n_predictions = 200000;
static unsigned long n_swaps = 200000;
static struct aiml_stress_tally tallies[MAX_READERS];
static struct aiml_stress_tally writer_tally;
static pthread_barrier_t start;

struct reader_arg {
	unsigned int id;
};

static void *reader(void *p)
{
	unsigned int id = ((struct reader_arg *)p)->id;
	pthread_barrier_wait(&start);
	aiml_stress_reader(id, n_predictions, &tallies[id]);
	return NULL;
}

static void *writer(void *p)
{
	(void)p;
	pthread_barrier_wait(&start);
	aiml_stress_writer(n_swaps, &writer_tally);
	return NULL;
}

static unsigned long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	unsigned int n_readers = argc > 1 ? (unsigned int)atoi(argv[1]) : 3;
	pthread_t threads[MAX_READERS + 1];
	struct reader_arg args[MAX_READERS];
	unsigned long long t0, t1;
	unsigned int i;
	int bad;

	if (argc > 2)
		n_predictions = strtoul(argv[2], NULL, 10);
	if (argc > 3)
		n_swaps = strtoul(argv[3], NULL, 10);
	if (n_readers < 1 || n_readers > MAX_READERS) {
		fprintf(stderr, "READERS must be 1..%d\n", MAX_READERS);
		return 2;
	}
	if (aiml_init() != AIML_STATUS_OK || aiml_set_key(NULL, true) != AIML_STATUS_OK ||
	    aiml_stress_prepare() != 0) {
		fprintf(stderr, "FAIL: preparing the stress inputs\n");
		return 1;
	}
	pthread_barrier_init(&start, NULL, n_readers + 1);
	for (i = 0; i < n_readers; i++) {
		args[i].id = i;
		pthread_create(&threads[i], NULL, reader, &args[i]);
	}
	pthread_create(&threads[n_readers], NULL, writer, NULL);
	t0 = now_ns();
	for (i = 0; i <= n_readers; i++)
		pthread_join(threads[i], NULL);
	t1 = now_ns();
	bad = aiml_stress_report(tallies, n_readers, &writer_tally, t1 - t0);
	if (bad)
		fprintf(stderr, "FAIL: %d stress violation(s)\n", bad);
	return bad != 0;
}
