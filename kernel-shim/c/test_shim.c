/*
 * Host test of the C ABI, linked with the bare-metal (x86_64-unknown-none) static library:
 * the same code that goes into the kernel module.
 *
 * stdout: the prediction lines of the test vectors (compared with expected.txt by the CI
 * script), then "aiml-bench" and "aiml-stack" lines. stderr: diagnostics. Exit status 0 only
 * if every error path answered as specified and every call on the vectors succeeded.
 *
 * Build: see .ci/kernel.sh (gcc -std=c11 -Wall -Wextra -Werror).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>

#include "aios_ml.h"

#define AIML_PRINT(...) printf(__VA_ARGS__)
static unsigned long long aiml_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}
#define AIML_NOW_NS() aiml_now_ns()
#include "aiml_vectors_run.h"

#include "aiml_expect.h"

static uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;
	size_t i;
	int k;
	for (i = 0; i < n; i++) {
		c ^= p[i];
		for (k = 0; k < 8; k++)
			c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
	}
	return ~c;
}

/* Rewrites the trailing CRC of a blob of `n` bytes. */
static void fix_crc(uint8_t *b, size_t n)
{
	uint32_t c = crc32_ieee(b, n - 4);
	b[n - 4] = (uint8_t)c;
	b[n - 3] = (uint8_t)(c >> 8);
	b[n - 2] = (uint8_t)(c >> 16);
	b[n - 1] = (uint8_t)(c >> 24);
}

static uint8_t scratch[64 * 1024];

/* Loads a modified copy of the workload blob and expects `want`; the slot must keep the
 * built-in model. */
static void refused(const char *what, size_t len, AimlStatus want)
{
	AimlModelInfo info;
	AimlStatus got = aiml_load(AIML_KIND_WORKLOAD, scratch, len);
	if (got != want) {
		fprintf(stderr, "FAIL refused(%s): status %d, expected %d\n", what, (int)got, (int)want);
		failures++;
	}
	EXPECT(aiml_info(AIML_KIND_WORKLOAD, &info), AIML_STATUS_OK);
	CHECK(info.source == AIML_SOURCE_DEFAULT && info.version == 1);
}

static void fresh(size_t extra)
{
	memset(scratch, 0, sizeof(scratch));
	memcpy(scratch, AIML_BLOB_WORKLOAD, sizeof(AIML_BLOB_WORKLOAD));
	(void)extra;
}

static void error_paths(void)
{
	AimlModelInfo info;
	static AimlWorkloadHistory wh, zeroed;
	static AimlThreatHistory th;
	static AimlFailureHistory fh;
	static AimlMemoryHistory mh;
	static uint64_t raw[1024];
	AimlWorkloadSample ws = { 1700000000ull, 5000, 0, 0, 0 };
	AimlWorkloadPrediction wp;
	AimlProcessWindow pw = { 1000, 10, 0, 0, 0, 0, 0, 0, 0 };
	AimlThreatAssessment ta;
	AimlHealthSample hs = { 100, 900, { 0, 0, 0 } };
	AimlFailureForecast ff;
	AimlMemoryAccess ma = { 0x1000, 0x400000, 5, 0, 0 };
	AimlAccessPrediction ap;
	size_t n = sizeof(AIML_BLOB_WORKLOAD);
	char *mis = (char *)raw + 1; /* misaligned for every struct */

	/* slots */
	CHECK(aiml_slot_capacity() >= 4096);
	EXPECT(aiml_load(AIML_KIND_WORKLOAD, NULL, 10), AIML_STATUS_NULL_POINTER);
	EXPECT(aiml_load(0, AIML_BLOB_WORKLOAD, n), AIML_STATUS_UNKNOWN_KIND);
	EXPECT(aiml_load(5, AIML_BLOB_WORKLOAD, n), AIML_STATUS_UNKNOWN_KIND);
	EXPECT(aiml_load(0xFFFFFFFFu, AIML_BLOB_WORKLOAD, n), AIML_STATUS_UNKNOWN_KIND);
	EXPECT(aiml_reset(0), AIML_STATUS_UNKNOWN_KIND);
	EXPECT(aiml_reset(7), AIML_STATUS_UNKNOWN_KIND);
	EXPECT(aiml_info(9, &info), AIML_STATUS_UNKNOWN_KIND);
	EXPECT(aiml_info(AIML_KIND_THREAT, NULL), AIML_STATUS_NULL_POINTER);
	EXPECT(aiml_info(AIML_KIND_THREAT, (AimlModelInfo *)mis), AIML_STATUS_MISALIGNED);

	fresh(0);
	refused("too large", aiml_slot_capacity() + 1, AIML_STATUS_TOO_LARGE);
	refused("empty", 0, AIML_STATUS_BLOB_TOO_SHORT);
	refused("9 bytes", 9, AIML_STATUS_BLOB_TOO_SHORT);
	refused("truncated", n - 1, AIML_STATUS_BLOB_CRC_MISMATCH);
	scratch[0] = 'X';
	refused("magic", n, AIML_STATUS_BLOB_BAD_MAGIC);
	fresh(0);
	scratch[4] = 2;
	refused("format version", n, AIML_STATUS_BLOB_UNSUPPORTED_VERSION);
	fresh(0);
	scratch[n / 2] ^= 0x10;
	refused("flipped bit", n, AIML_STATUS_BLOB_CRC_MISMATCH);
	fresh(0);
	scratch[6] = 9; /* header kind */
	fix_crc(scratch, n);
	refused("unknown kind in blob", n, AIML_STATUS_BLOB_UNKNOWN_KIND);
	fresh(0);
	CHECK(scratch[8] == 0x82 && scratch[9] == 0x80 && scratch[10] == 0x04);
	scratch[10] = 0x08; /* schema 0x00010002 -> 0x00020002 */
	fix_crc(scratch, n);
	refused("schema", n, AIML_STATUS_BLOB_SCHEMA_MISMATCH);
	fresh(0);
	scratch[n - 4] = 0; /* one byte after the metadata, then a new CRC */
	fix_crc(scratch, n + 1);
	refused("trailing byte", n + 1, AIML_STATUS_BLOB_TRAILING_BYTES);
	fresh(0);
	memset(scratch + 6, 0xFF, 12); /* the header no longer decodes */
	fix_crc(scratch, n);
	refused("undecodable header", n, AIML_STATUS_BLOB_DECODE);
	memcpy(scratch, AIML_BLOB_THREAT, sizeof(AIML_BLOB_THREAT));
	refused("threat blob in the workload slot", sizeof(AIML_BLOB_THREAT), AIML_STATUS_BLOB_WRONG_KIND);

	/* histories: null, misaligned, never initialised, initialised for another model */
	EXPECT(aiml_workload_history_init(NULL), AIML_STATUS_NULL_POINTER);
	EXPECT(aiml_workload_history_init((AimlWorkloadHistory *)mis), AIML_STATUS_MISALIGNED);
	EXPECT(aiml_threat_history_init(NULL), AIML_STATUS_NULL_POINTER);
	EXPECT(aiml_threat_history_init((AimlThreatHistory *)mis), AIML_STATUS_MISALIGNED);
	EXPECT(aiml_failure_history_init(NULL), AIML_STATUS_NULL_POINTER);
	EXPECT(aiml_failure_history_init((AimlFailureHistory *)mis), AIML_STATUS_MISALIGNED);
	EXPECT(aiml_memory_history_init(NULL), AIML_STATUS_NULL_POINTER);
	EXPECT(aiml_memory_history_init((AimlMemoryHistory *)mis), AIML_STATUS_MISALIGNED);

	EXPECT(aiml_workload_push(&zeroed, &ws), AIML_STATUS_NOT_INITIALIZED);
	EXPECT(aiml_workload_predict(&zeroed, &wp), AIML_STATUS_NOT_INITIALIZED);
	memset(raw, 0, sizeof(raw));
	EXPECT(aiml_threat_history_init((AimlThreatHistory *)raw), AIML_STATUS_OK);
	EXPECT(aiml_workload_predict((AimlWorkloadHistory *)raw, &wp), AIML_STATUS_NOT_INITIALIZED);

	EXPECT(aiml_workload_history_init(&wh), AIML_STATUS_OK);
	EXPECT(aiml_workload_push(NULL, &ws), AIML_STATUS_NULL_POINTER);
	EXPECT(aiml_workload_push(&wh, NULL), AIML_STATUS_NULL_POINTER);
	EXPECT(aiml_workload_push(&wh, (AimlWorkloadSample *)mis), AIML_STATUS_MISALIGNED);
	EXPECT(aiml_workload_push((AimlWorkloadHistory *)mis, &ws), AIML_STATUS_MISALIGNED);
	EXPECT(aiml_workload_push(&wh, &ws), AIML_STATUS_OK);
	EXPECT(aiml_workload_predict(&wh, NULL), AIML_STATUS_NULL_POINTER);
	EXPECT(aiml_workload_predict(&wh, (AimlWorkloadPrediction *)mis), AIML_STATUS_MISALIGNED);
	EXPECT(aiml_workload_predict(NULL, &wp), AIML_STATUS_NULL_POINTER);
	EXPECT(aiml_workload_predict(&wh, &wp), AIML_STATUS_OK);

	EXPECT(aiml_threat_history_init(&th), AIML_STATUS_OK);
	EXPECT(aiml_threat_assess(NULL, &pw, &ta), AIML_STATUS_NULL_POINTER);
	EXPECT(aiml_threat_assess(&th, NULL, &ta), AIML_STATUS_NULL_POINTER);
	EXPECT(aiml_threat_assess(&th, &pw, NULL), AIML_STATUS_NULL_POINTER);
	EXPECT(aiml_threat_assess(&th, (AimlProcessWindow *)mis, &ta), AIML_STATUS_MISALIGNED);
	EXPECT(aiml_threat_assess(&th, &pw, (AimlThreatAssessment *)mis), AIML_STATUS_MISALIGNED);
	EXPECT(aiml_threat_assess((AimlThreatHistory *)&wh, &pw, &ta), AIML_STATUS_NOT_INITIALIZED);
	EXPECT(aiml_threat_assess(&th, &pw, &ta), AIML_STATUS_OK);
	EXPECT(aiml_threat_observe_call(NULL, 3), AIML_STATUS_NULL_POINTER);
	EXPECT(aiml_threat_observe_call((AimlThreatHistory *)mis, 3), AIML_STATUS_MISALIGNED);
	EXPECT(aiml_threat_observe_call((AimlThreatHistory *)&wh, 3), AIML_STATUS_NOT_INITIALIZED);
	EXPECT(aiml_threat_observe_call(&th, 3), AIML_STATUS_OK);

	EXPECT(aiml_failure_history_init(&fh), AIML_STATUS_OK);
	EXPECT(aiml_failure_push(NULL, &hs), AIML_STATUS_NULL_POINTER);
	EXPECT(aiml_failure_push(&fh, NULL), AIML_STATUS_NULL_POINTER);
	EXPECT(aiml_failure_push(&fh, (AimlHealthSample *)mis), AIML_STATUS_MISALIGNED);
	EXPECT(aiml_failure_record(NULL, 5), AIML_STATUS_NULL_POINTER);
	EXPECT(aiml_failure_record((AimlFailureHistory *)mis, 5), AIML_STATUS_MISALIGNED);
	EXPECT(aiml_failure_record((AimlFailureHistory *)&wh, 5), AIML_STATUS_NOT_INITIALIZED);
	EXPECT(aiml_failure_predict(&fh, NULL), AIML_STATUS_NULL_POINTER);
	EXPECT(aiml_failure_predict(&fh, (AimlFailureForecast *)mis), AIML_STATUS_MISALIGNED);
	EXPECT(aiml_failure_push(&fh, &hs), AIML_STATUS_OK);
	EXPECT(aiml_failure_record(&fh, 50), AIML_STATUS_OK);
	EXPECT(aiml_failure_predict(&fh, &ff), AIML_STATUS_OK);

	EXPECT(aiml_memory_history_init(&mh), AIML_STATUS_OK);
	EXPECT(aiml_memory_push(NULL, &ma), AIML_STATUS_NULL_POINTER);
	EXPECT(aiml_memory_push(&mh, NULL), AIML_STATUS_NULL_POINTER);
	EXPECT(aiml_memory_push(&mh, (AimlMemoryAccess *)mis), AIML_STATUS_MISALIGNED);
	ma.kind = 3;
	EXPECT(aiml_memory_push(&mh, &ma), AIML_STATUS_INVALID_ARGUMENT);
	ma.kind = 0xFFFFFFFFu;
	EXPECT(aiml_memory_push(&mh, &ma), AIML_STATUS_INVALID_ARGUMENT);
	ma.kind = 1;
	EXPECT(aiml_memory_push(&mh, &ma), AIML_STATUS_OK);
	EXPECT(aiml_memory_predict(&mh, NULL), AIML_STATUS_NULL_POINTER);
	EXPECT(aiml_memory_predict(&mh, (AimlAccessPrediction *)mis), AIML_STATUS_MISALIGNED);
	EXPECT(aiml_memory_predict((AimlMemoryHistory *)&th, &ap), AIML_STATUS_NOT_INITIALIZED);
	EXPECT(aiml_memory_predict(&mh, &ap), AIML_STATUS_OK);

	/* page-granularity streams: only powers of two from 2 bytes to 4 GiB */
	EXPECT(aiml_memory_history_init_blocks(&mh, 0), AIML_STATUS_INVALID_ARGUMENT);
	EXPECT(aiml_memory_history_init_blocks(&mh, 1), AIML_STATUS_INVALID_ARGUMENT);
	EXPECT(aiml_memory_history_init_blocks(&mh, 1000), AIML_STATUS_INVALID_ARGUMENT);
	EXPECT(aiml_memory_history_init_blocks(&mh, 1ULL << 33), AIML_STATUS_INVALID_ARGUMENT);
	EXPECT(aiml_memory_history_init_blocks(NULL, 4096), AIML_STATUS_NULL_POINTER);
	EXPECT(aiml_memory_history_init_blocks(&mh, 4096), AIML_STATUS_OK);
	for (int i = 0; i < 40; i++) {
		ma.addr = 0x7f0000000000ULL + (unsigned long long)i * 4096 + 24;
		ma.kind = 0;
		EXPECT(aiml_memory_push(&mh, &ma), AIML_STATUS_OK);
	}
	EXPECT(aiml_memory_predict(&mh, &ap), AIML_STATUS_OK);
	/* the answer is in pages: page-aligned addresses, at most four of them */
	EXPECT(ap.next_addr % 4096 == 0 && ap.degree <= 4, 1);
	for (int k = 0; k < ap.degree; k++)
		EXPECT(ap.prefetch[k] % 4096 == 0 && ap.prefetch[k] != 0, 1);
}

/* ---- stack painting: run one prediction on a private, painted stack ---- */

#define STACK_BYTES (64 * 1024)
static unsigned char pstack[STACK_BYTES] __attribute__((aligned(64)));
static ucontext_t main_ctx, probe_ctx;
static int probe_model;
static AimlStatus lazy_status = AIML_STATUS_NOT_INITIALIZED;

static void probe(void)
{
	static AimlWorkloadPrediction wp;
	static AimlThreatAssessment ta;
	static AimlFailureForecast ff;
	static AimlAccessPrediction ap;
	int i;
	/* predictions: AIML_DRIFT_EVERY of them, so that one feeds the drift watch */
	switch (probe_model) {
	case 1: for (i = 0; i < (int)AIML_DRIFT_EVERY; i++) aiml_workload_predict(&aiml_run_wh, &wp); break;
	case 2: for (i = 0; i < (int)AIML_DRIFT_EVERY; i++) aiml_threat_assess(&aiml_run_th, &AIML_VEC_THREAT[0].w, &ta); break;
	case 3: for (i = 0; i < (int)AIML_DRIFT_EVERY; i++) aiml_failure_predict(&aiml_run_fh, &ff); break;
	case 4: for (i = 0; i < (int)AIML_DRIFT_EVERY; i++) aiml_memory_predict(&aiml_run_mh, &ap); break;
	case 5: aiml_load(AIML_KIND_MEMORY, AIML_BLOB_MEMORY, sizeof(AIML_BLOB_MEMORY)); break;
	case 7: /* the first prediction, on an empty slot: it installs the built-in model */
		lazy_status = aiml_threat_assess(&aiml_run_th, &AIML_VEC_THREAT[0].w, &ta);
		break;
	case 6:
		aiml_set_key(AIML_TEST_PUBKEY, false);
		aiml_load_force(AIML_KIND_WORKLOAD, AIML_SIGNED_WORKLOAD_V9, sizeof(AIML_SIGNED_WORKLOAD_V9));
		aiml_set_key(NULL, true);
		break;
	default: break; /* 0: the probe's own frame */
	}
}

static size_t stack_of(int model)
{
	size_t i;
	memset(pstack, 0xA5, sizeof(pstack));
	probe_model = model;
	getcontext(&probe_ctx);
	probe_ctx.uc_stack.ss_sp = pstack;
	probe_ctx.uc_stack.ss_size = sizeof(pstack);
	probe_ctx.uc_link = &main_ctx;
	makecontext(&probe_ctx, probe, 0);
	swapcontext(&main_ctx, &probe_ctx);
	for (i = 0; i < sizeof(pstack) && pstack[i] == 0xA5; i++)
		;
	return sizeof(pstack) - i;
}

int main(void)
{
	AimlModelInfo info;
	AimlHealth health;
	static AimlWorkloadHistory wh;
	AimlWorkloadPrediction wp;
	static const char *names[] = { "", "workload", "threat", "failure", "memory", "load(memory)",
				       "signed load(workload)" };
	size_t base, lazy;
	int bad, k;

	/* before aiml_init: the slot is empty, and the first prediction puts the built-in model
	 * in it (lazy initialisation) */
	EXPECT(aiml_info(AIML_KIND_WORKLOAD, &info), AIML_STATUS_NOT_INITIALIZED);
	EXPECT(aiml_workload_history_init(&wh), AIML_STATUS_OK);
	EXPECT(aiml_workload_predict(&wh, &wp), AIML_STATUS_OK);
	EXPECT(aiml_info(AIML_KIND_WORKLOAD, &info), AIML_STATUS_OK);
	CHECK(info.source == AIML_SOURCE_DEFAULT);
	EXPECT(aiml_health(AIML_KIND_WORKLOAD, &health), AIML_STATUS_OK);
	CHECK(health.lazy_defaults == 1 && health.predictions == 1 && health.timed == 0);
	/* the same for the threat slot, measured: the lazy load runs on the caller's stack */
	EXPECT(aiml_threat_history_init(&aiml_run_th), AIML_STATUS_OK);
	base = stack_of(0);
	lazy = stack_of(7) - base;
	EXPECT(lazy_status, AIML_STATUS_OK);
	EXPECT(aiml_info(AIML_KIND_THREAT, &info), AIML_STATUS_OK);
	CHECK(info.source == AIML_SOURCE_DEFAULT);
	EXPECT(aiml_init(), AIML_STATUS_OK);
	EXPECT(aiml_init(), AIML_STATUS_OK);

	bad = aiml_run_vectors('D');
	CHECK(bad == 0);
	CHECK(aiml_open_policy() == 0);
	error_paths();
	CHECK(aiml_load_vector_blobs() == 0);
	bad = aiml_run_vectors('L');
	CHECK(bad == 0);
	CHECK(aiml_run_ab() == 0);
	CHECK(aiml_run_signing() == 0);
	CHECK(aiml_run_rotation() == 0);
	CHECK(aiml_run_degradation() == 0);
	CHECK(aiml_run_drift() == 0);
	CHECK(aiml_run_dump(1) == 0);
	CHECK(aiml_run_health(200000) == 0);

	base = stack_of(0);
	for (k = 1; k <= 6; k++)
		printf("aiml-stack %s %zu bytes (painted; probe frame of %zu bytes excluded)\n",
		       names[k], stack_of(k) - base, base);
	printf("aiml-stack lazy first prediction(threat) %zu bytes (painted; probe frame of %zu bytes excluded)\n",
	       lazy, base);

	for (k = AIML_KIND_WORKLOAD; k <= AIML_KIND_MEMORY; k++) {
		EXPECT(aiml_reset((uint32_t)k), AIML_STATUS_OK);
		EXPECT(aiml_info((uint32_t)k, &info), AIML_STATUS_OK);
		CHECK(info.source == AIML_SOURCE_DEFAULT && info.version == 1);
	}
	aiml_bench(200000);
	CHECK(aiml_run_dump(2) == 0);
	CHECK(aiml_run_lock() == 0);

	if (failures) {
		fprintf(stderr, "test_shim: %d check(s) failed\n", failures);
		return 1;
	}
	fprintf(stderr, "test_shim: all ABI checks passed\n");
	return 0;
}
