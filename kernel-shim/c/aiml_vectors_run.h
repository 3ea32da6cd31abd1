/*
 * Replays the generated test vectors (aiml_vectors.h) through the C ABI and prints one line
 * per prediction, in the format of expected.txt. Shared, unchanged, by the host C test and
 * the kernel module, so both are compared with the same expected lines.
 *
 * The includer defines AIML_PRINT(fmt, ...) (printf or printk) and AIML_NOW_NS().
 * Histories are static: the memory history is 2.8 KiB, too much for a kernel stack frame.
 */
#ifndef AIML_VECTORS_RUN_H
#define AIML_VECTORS_RUN_H

#include "aios_ml.h"
#include "aiml_vectors.h"

#define AIML_N(a) (sizeof(a) / sizeof((a)[0]))

static AimlWorkloadHistory aiml_run_wh;
static AimlThreatHistory aiml_run_th;
static AimlFailureHistory aiml_run_fh;
static AimlMemoryHistory aiml_run_mh;

/* Prints the info line of each slot and every prediction; returns the number of calls that
 * did not answer AIML_STATUS_OK. */
static int aiml_run_vectors(char phase)
{
	int bad = 0;
	unsigned int i, k;

	for (k = AIML_KIND_WORKLOAD; k <= AIML_KIND_MEMORY; k++) {
		AimlModelInfo info;
		if (aiml_info(k, &info) != AIML_STATUS_OK) {
			bad++;
			continue;
		}
		AIML_PRINT("%c I kind=%u version=%u source=%u len=%u features=%u outputs=%u macs=%u thr=%u\n",
			   phase, info.kind, info.version, info.source, info.blob_len,
			   info.n_features, info.n_outputs, info.macs, info.threshold_permille);
	}

	for (i = 0; i < AIML_N(AIML_VEC_WORKLOAD); i++) {
		const aiml_vec_workload *v = &AIML_VEC_WORKLOAD[i];
		AimlWorkloadPrediction p;
		if (v->op & 1)
			bad += aiml_workload_history_init(&aiml_run_wh) != AIML_STATUS_OK;
		bad += aiml_workload_push(&aiml_run_wh, &v->s) != AIML_STATUS_OK;
		if (!(v->op & 2))
			continue;
		if (aiml_workload_predict(&aiml_run_wh, &p) != AIML_STATUS_OK) {
			bad++;
			continue;
		}
		AIML_PRINT("%c W %u cpu=%u mem=%u gpu=%u err=%u conf=%u flags=%u\n", phase, i,
			   p.cpu, p.mem, p.gpu, p.expected_error, p.confidence, p.flags);
	}

	for (i = 0; i < AIML_N(AIML_VEC_THREAT); i++) {
		const aiml_vec_threat *v = &AIML_VEC_THREAT[i];
		AimlThreatAssessment a;
		if (v->op & 1)
			bad += aiml_threat_history_init(&aiml_run_th) != AIML_STATUS_OK;
		if (aiml_threat_assess(&aiml_run_th, &v->w, &a) != AIML_STATUS_OK) {
			bad++;
			continue;
		}
		AIML_PRINT("%c T %u score=%u conf=%u thr=%u type=%u action=%u\n", phase, i, a.score,
			   a.confidence, a.threshold, a.threat_type, a.action);
	}

	for (i = 0; i < AIML_N(AIML_VEC_FAILURE); i++) {
		const aiml_vec_failure *v = &AIML_VEC_FAILURE[i];
		AimlFailureForecast f;
		if (v->op & 1)
			bad += aiml_failure_history_init(&aiml_run_fh) != AIML_STATUS_OK;
		if (v->op & 4)
			bad += aiml_failure_record(&aiml_run_fh, v->s.unix_s) != AIML_STATUS_OK;
		else
			bad += aiml_failure_push(&aiml_run_fh, &v->s) != AIML_STATUS_OK;
		if (!(v->op & 2))
			continue;
		if (aiml_failure_predict(&aiml_run_fh, &f) != AIML_STATUS_OK) {
			bad++;
			continue;
		}
		AIML_PRINT("%c F %u p=%u alarm=%u ttf=%u conf=%u type=%u\n", phase, i, f.probability,
			   f.alarm, f.time_to_failure_s, f.confidence, f.failure_type);
	}

	for (i = 0; i < AIML_N(AIML_VEC_MEMORY); i++) {
		const aiml_vec_memory *v = &AIML_VEC_MEMORY[i];
		AimlAccessPrediction p;
		if (v->op & 1)
			bad += aiml_memory_history_init(&aiml_run_mh) != AIML_STATUS_OK;
		bad += aiml_memory_push(&aiml_run_mh, &v->a) != AIML_STATUS_OK;
		if (aiml_memory_predict(&aiml_run_mh, &p) != AIML_STATUS_OK) {
			bad++;
			continue;
		}
		AIML_PRINT("%c M %u addr=%llx delta=%lld p=%u conf=%u kind=%u class=%u\n", phase, i,
			   (unsigned long long)p.next_addr, (long long)p.delta_lines, p.probability,
			   p.confidence, p.kind, p.class_id);
	}
	return bad;
}

/* Loads the phase-L blobs of the four kinds; returns how many were not accepted. */
static int aiml_load_vector_blobs(void)
{
	int bad = 0;
	bad += aiml_load(AIML_KIND_WORKLOAD, AIML_BLOB_WORKLOAD, sizeof(AIML_BLOB_WORKLOAD)) != AIML_STATUS_OK;
	bad += aiml_load(AIML_KIND_THREAT, AIML_BLOB_THREAT, sizeof(AIML_BLOB_THREAT)) != AIML_STATUS_OK;
	bad += aiml_load(AIML_KIND_FAILURE, AIML_BLOB_FAILURE, sizeof(AIML_BLOB_FAILURE)) != AIML_STATUS_OK;
	bad += aiml_load(AIML_KIND_MEMORY, AIML_BLOB_MEMORY, sizeof(AIML_BLOB_MEMORY)) != AIML_STATUS_OK;
	return bad;
}

/* Mean ns per prediction of each model over `n` calls on the last history of the vectors
 * (feature extraction included); prints one line per model. */
static void aiml_bench(unsigned int n)
{
	unsigned long long t0, t1;
	unsigned int i;
	AimlWorkloadPrediction wp;
	AimlFailureForecast fp;
	AimlAccessPrediction mp;
	AimlThreatAssessment tp;
	const AimlProcessWindow *w = &AIML_VEC_THREAT[0].w;

	t0 = AIML_NOW_NS();
	for (i = 0; i < n; i++)
		aiml_workload_predict(&aiml_run_wh, &wp);
	t1 = AIML_NOW_NS();
	AIML_PRINT("aiml-bench workload %llu ns/prediction (%u calls)\n", (t1 - t0) / n, n);

	t0 = AIML_NOW_NS();
	for (i = 0; i < n; i++) {
		/* assess records into the history: re-initialise it so each call does the same work */
		aiml_threat_history_init(&aiml_run_th);
		aiml_threat_assess(&aiml_run_th, w, &tp);
	}
	t1 = AIML_NOW_NS();
	AIML_PRINT("aiml-bench threat %llu ns/prediction (%u calls, incl. history init)\n", (t1 - t0) / n, n);

	t0 = AIML_NOW_NS();
	for (i = 0; i < n; i++)
		aiml_failure_predict(&aiml_run_fh, &fp);
	t1 = AIML_NOW_NS();
	AIML_PRINT("aiml-bench failure %llu ns/prediction (%u calls)\n", (t1 - t0) / n, n);

	t0 = AIML_NOW_NS();
	for (i = 0; i < n; i++)
		aiml_memory_predict(&aiml_run_mh, &mp);
	t1 = AIML_NOW_NS();
	AIML_PRINT("aiml-bench memory %llu ns/prediction (%u calls)\n", (t1 - t0) / n, n);
}

#endif
