/*
 * Hot-swap under load: reader threads predict with all four models while one writer loads,
 * resets, promotes candidates and rolls back as fast as it can. Every answer must be
 * bit-identical to the old model's or the new model's answer for that input, never a mix; no
 * call may fail except a writer's AIML_STATUS_BUSY (and a rollback with nothing to roll back
 * to); and every prediction must be counted in the slots' health (none lost). Shared, unchanged, by the host pthread test (test_stress.c) and the
 * kernel module (kernel threads on every CPU), like aiml_vectors_run.h.
 *
 * Use: aiml_stress_prepare() single-threaded, then aiml_stress_reader() on N threads and
 * aiml_stress_writer() on one, concurrently, then aiml_stress_report(). The includer
 * defines AIML_PRINT(fmt, ...) and includes aiml_vectors_run.h (the inputs, the loaded
 * blobs) before this file; it may define AIML_STRESS_YIELD() (a kernel: cond_resched()),
 * called every 256 predictions and swaps.
 */
#ifndef AIML_STRESS_H
#define AIML_STRESS_H

#include "aios_ml.h"

#ifndef AIML_STRESS_YIELD
#define AIML_STRESS_YIELD() ((void)0)
#endif

/* Most back-offs one prediction may need before the run counts as failed. */
#define AIML_STRESS_MAX_RETRIES 100

/* Inputs per model: history snapshots taken from the test vectors. */
#define AIML_STRESS_STATES 8

/* Model A is the built-in one (reset), model B the loaded test-vector blob. */
struct aiml_stress_refs {
	AimlWorkloadHistory wh[AIML_STRESS_STATES];
	AimlThreatHistory th[AIML_STRESS_STATES];
	const AimlProcessWindow *tw[AIML_STRESS_STATES];
	AimlFailureHistory fh[AIML_STRESS_STATES];
	AimlMemoryHistory mh[AIML_STRESS_STATES];
	AimlWorkloadPrediction w[2][AIML_STRESS_STATES];
	AimlThreatAssessment t[2][AIML_STRESS_STATES];
	AimlFailureForecast f[2][AIML_STRESS_STATES];
	AimlAccessPrediction m[2][AIML_STRESS_STATES];
	/* inputs whose two answers differ (a mix would be caught there) */
	unsigned int differ;
	/* predictions counted by the slots (live and candidate) when the run starts */
	unsigned long counted;
};

/* One thread's tally. */
struct aiml_stress_tally {
	unsigned long predictions;
	unsigned long old_model; /* identical to model A */
	unsigned long new_model; /* identical to model B */
	unsigned long mixed;     /* neither: a torn read */
	unsigned long failed;    /* a status other than OK (reader) or OK/BUSY (writer) */
	unsigned long swaps;     /* writer: loads, resets, promotions, rollbacks that went through */
	unsigned long busy;      /* writer: refused with BUSY (or no rollback to do) */
	unsigned long promotions;
	unsigned long rollbacks;
};

/* Predictions the four slots and their candidates have counted (aiml_health). */
static unsigned long aiml_stress_counted(void)
{
	unsigned long n = 0;
	uint32_t k;
	for (k = AIML_KIND_WORKLOAD; k <= AIML_KIND_MEMORY; k++) {
		AimlHealth h;
		if (aiml_health(k, &h) == AIML_STATUS_OK)
			n += h.predictions;
		if (aiml_ab_health(k, &h) == AIML_STATUS_OK)
			n += h.predictions;
	}
	return n;
}

static struct aiml_stress_refs aiml_stress_refs;

static int aiml_stress_same(const void *a, const void *b, unsigned long n)
{
	const unsigned char *x = a, *y = b;
	unsigned long i;
	for (i = 0; i < n; i++)
		if (x[i] != y[i])
			return 0;
	return 1;
}

static void aiml_stress_zero(void *p, unsigned long n)
{
	unsigned char *x = p;
	unsigned long i;
	for (i = 0; i < n; i++)
		x[i] = 0;
}

/* Answers of the slot's current models for every snapshot; copies of the mutable histories
 * so that each call sees the same input. Returns the number of failed calls. */
static int aiml_stress_answers(int model)
{
	struct aiml_stress_refs *r = &aiml_stress_refs;
	static AimlWorkloadHistory wh;
	static AimlThreatHistory th;
	unsigned int j;
	int bad = 0;

	for (j = 0; j < AIML_STRESS_STATES; j++) {
		wh = r->wh[j];
		th = r->th[j];
		aiml_stress_zero(&r->w[model][j], sizeof(r->w[model][j]));
		aiml_stress_zero(&r->t[model][j], sizeof(r->t[model][j]));
		aiml_stress_zero(&r->f[model][j], sizeof(r->f[model][j]));
		aiml_stress_zero(&r->m[model][j], sizeof(r->m[model][j]));
		bad += aiml_workload_predict(&wh, &r->w[model][j]) != AIML_STATUS_OK;
		bad += aiml_threat_assess(&th, r->tw[j], &r->t[model][j]) != AIML_STATUS_OK;
		bad += aiml_failure_predict(&r->fh[j], &r->f[model][j]) != AIML_STATUS_OK;
		bad += aiml_memory_predict(&r->mh[j], &r->m[model][j]) != AIML_STATUS_OK;
	}
	return bad;
}

/* Replays the test vectors once to take AIML_STRESS_STATES snapshots per model (spread over
 * the vectors), then records the answers of model A (built-in) and model B (the vector
 * blobs). Leaves model B loaded. Single-threaded. Returns the number of failed calls. */
static int aiml_stress_prepare(void)
{
	struct aiml_stress_refs *r = &aiml_stress_refs;
	static AimlWorkloadHistory wh;
	static AimlThreatHistory th;
	static AimlFailureHistory fh;
	static AimlMemoryHistory mh;
	unsigned int i, j, k, n, every;
	int bad = 0;

	n = AIML_N(AIML_VEC_WORKLOAD);
	every = n / AIML_STRESS_STATES ? n / AIML_STRESS_STATES : 1;
	for (i = 0, k = 0; i < n; i++) {
		const aiml_vec_workload *v = &AIML_VEC_WORKLOAD[i];
		if (v->op & 1)
			bad += aiml_workload_history_init(&wh) != AIML_STATUS_OK;
		bad += aiml_workload_push(&wh, &v->s) != AIML_STATUS_OK;
		if (k < AIML_STRESS_STATES && i % every == every - 1)
			r->wh[k++] = wh;
	}
	for (; k < AIML_STRESS_STATES; k++)
		r->wh[k] = wh;

	n = AIML_N(AIML_VEC_THREAT);
	every = n / AIML_STRESS_STATES ? n / AIML_STRESS_STATES : 1;
	for (i = 0, k = 0; i < n; i++) {
		const aiml_vec_threat *v = &AIML_VEC_THREAT[i];
		if (v->op & 1)
			bad += aiml_threat_history_init(&th) != AIML_STATUS_OK;
		for (j = 0; j < v->n_calls; j++)
			bad += aiml_threat_observe_call(&th, v->calls[j]) != AIML_STATUS_OK;
		if (k < AIML_STRESS_STATES && i % every == every - 1) {
			r->th[k] = th;
			r->tw[k++] = &v->w;
		}
	}
	for (; k < AIML_STRESS_STATES; k++) {
		r->th[k] = th;
		r->tw[k] = &AIML_VEC_THREAT[n - 1].w;
	}

	n = AIML_N(AIML_VEC_FAILURE);
	every = n / AIML_STRESS_STATES ? n / AIML_STRESS_STATES : 1;
	for (i = 0, k = 0; i < n; i++) {
		const aiml_vec_failure *v = &AIML_VEC_FAILURE[i];
		if (v->op & 1)
			bad += aiml_failure_history_init(&fh) != AIML_STATUS_OK;
		if (v->op & 4)
			bad += aiml_failure_record(&fh, v->s.unix_s) != AIML_STATUS_OK;
		else
			bad += aiml_failure_push(&fh, &v->s) != AIML_STATUS_OK;
		if (k < AIML_STRESS_STATES && i % every == every - 1)
			r->fh[k++] = fh;
	}
	for (; k < AIML_STRESS_STATES; k++)
		r->fh[k] = fh;

	/* memory: snapshots where the access changed block, so that the model runs */
	n = AIML_N(AIML_VEC_MEMORY);
	every = n / AIML_STRESS_STATES ? n / AIML_STRESS_STATES : 1;
	for (i = 0, k = 0; i < n; i++) {
		const aiml_vec_memory *v = &AIML_VEC_MEMORY[i];
		AimlAccessPrediction p;
		if (v->op & 1)
			bad += aiml_memory_history_init(&mh) != AIML_STATUS_OK;
		bad += aiml_memory_push(&mh, &v->a) != AIML_STATUS_OK;
		bad += aiml_memory_predict(&mh, &p) != AIML_STATUS_OK;
		if (k < AIML_STRESS_STATES && i >= (k + 1) * every - 1 && p.probability != 0)
			r->mh[k++] = mh;
	}
	for (; k < AIML_STRESS_STATES; k++)
		r->mh[k] = mh;

	bad += aiml_reset(AIML_KIND_WORKLOAD) != AIML_STATUS_OK;
	bad += aiml_reset(AIML_KIND_THREAT) != AIML_STATUS_OK;
	bad += aiml_reset(AIML_KIND_FAILURE) != AIML_STATUS_OK;
	bad += aiml_reset(AIML_KIND_MEMORY) != AIML_STATUS_OK;
	bad += aiml_stress_answers(0);
	bad += aiml_load_vector_blobs();
	bad += aiml_stress_answers(1);

	r->differ = 0;
	for (j = 0; j < AIML_STRESS_STATES; j++) {
		r->differ += !aiml_stress_same(&r->w[0][j], &r->w[1][j], sizeof(r->w[0][j]));
		r->differ += !aiml_stress_same(&r->t[0][j], &r->t[1][j], sizeof(r->t[0][j]));
		r->differ += !aiml_stress_same(&r->f[0][j], &r->f[1][j], sizeof(r->f[0][j]));
		r->differ += !aiml_stress_same(&r->m[0][j], &r->m[1][j], sizeof(r->m[0][j]));
	}
	r->counted = aiml_stress_counted();
	return bad;
}

/* Classifies one answer against the two models' answers for the same input. */
#define AIML_STRESS_CHECK(tally, got, refs, j)                                                  \
	do {                                                                                    \
		int a_ = aiml_stress_same(&(got), &(refs)[0][j], sizeof(got));                  \
		int b_ = aiml_stress_same(&(got), &(refs)[1][j], sizeof(got));                  \
		(tally)->old_model += a_;                                                       \
		(tally)->new_model += b_ && !a_;                                                \
		(tally)->mixed += !a_ && !b_;                                                   \
	} while (0)

/* `n` predictions, cycling through the four models and the snapshots (thread `id` starts
 * at its own offset). Reentrant: everything mutable is on the caller's stack. */
static void aiml_stress_reader(unsigned int id, unsigned long n, struct aiml_stress_tally *t)
{
	const struct aiml_stress_refs *r = &aiml_stress_refs;
	AimlWorkloadHistory wh;
	AimlThreatHistory th;
	unsigned long k;

	for (k = 0; k < n; k++) {
		unsigned int j = (unsigned int)((k / 4 + id * 3) % AIML_STRESS_STATES);
		AimlStatus s;
		switch ((k + id) % 4) {
		case 0: {
			AimlWorkloadPrediction p;
			wh = r->wh[j];
			aiml_stress_zero(&p, sizeof(p));
			s = aiml_workload_predict(&wh, &p);
			if (s == AIML_STATUS_OK)
				AIML_STRESS_CHECK(t, p, r->w, j);
			break;
		}
		case 1: {
			AimlThreatAssessment p;
			th = r->th[j];
			aiml_stress_zero(&p, sizeof(p));
			s = aiml_threat_assess(&th, r->tw[j], &p);
			if (s == AIML_STATUS_OK)
				AIML_STRESS_CHECK(t, p, r->t, j);
			break;
		}
		case 2: {
			AimlFailureForecast p;
			aiml_stress_zero(&p, sizeof(p));
			s = aiml_failure_predict(&r->fh[j], &p);
			if (s == AIML_STATUS_OK)
				AIML_STRESS_CHECK(t, p, r->f, j);
			break;
		}
		default: {
			AimlAccessPrediction p;
			aiml_stress_zero(&p, sizeof(p));
			s = aiml_memory_predict(&r->mh[j], &p);
			if (s == AIML_STATUS_OK)
				AIML_STRESS_CHECK(t, p, r->m, j);
			break;
		}
		}
		t->predictions++;
		t->failed += s != AIML_STATUS_OK;
		if ((k & 255) == 255)
			AIML_STRESS_YIELD();
	}
}

/* Model B's blob of `kind`. */
static const unsigned char *aiml_stress_blob(unsigned int kind, unsigned long *len)
{
	switch (kind) {
	case AIML_KIND_WORKLOAD:
		*len = sizeof(AIML_BLOB_WORKLOAD);
		return AIML_BLOB_WORKLOAD;
	case AIML_KIND_THREAT:
		*len = sizeof(AIML_BLOB_THREAT);
		return AIML_BLOB_THREAT;
	case AIML_KIND_FAILURE:
		*len = sizeof(AIML_BLOB_FAILURE);
		return AIML_BLOB_FAILURE;
	default:
		*len = sizeof(AIML_BLOB_MEMORY);
		return AIML_BLOB_MEMORY;
	}
}

/* `n` swaps: for each model in turn, the cycle reset (model A), promotion of model B loaded
 * as a candidate (B; A kept for rollback), rollback (A), load (B). */
static void aiml_stress_writer(unsigned long n, struct aiml_stress_tally *t)
{
	unsigned long k;

	for (k = 0; k < n; k++) {
		unsigned int kind = AIML_KIND_WORKLOAD + (unsigned int)(k % 4);
		unsigned long len;
		const unsigned char *blob = aiml_stress_blob(kind, &len);
		AimlStatus s;
		switch ((k / 4) % 4) {
		case 0:
			s = aiml_reset(kind);
			break;
		case 1:
			s = aiml_candidate_load(kind, blob, len);
			if (s == AIML_STATUS_OK)
				s = aiml_promote(kind);
			t->promotions += s == AIML_STATUS_OK;
			break;
		case 2:
			s = aiml_rollback(kind);
			t->rollbacks += s == AIML_STATUS_OK;
			/* nothing to roll back to when the promotion found the slot busy */
			if (s == AIML_STATUS_NOT_INITIALIZED)
				s = AIML_STATUS_BUSY;
			break;
		default:
			s = aiml_load(kind, blob, len);
			break;
		}
		t->swaps += s == AIML_STATUS_OK;
		t->busy += s == AIML_STATUS_BUSY;
		t->failed += s != AIML_STATUS_OK && s != AIML_STATUS_BUSY;
		if ((k & 255) == 255)
			AIML_STRESS_YIELD();
	}
}

/* Prints the totals ("aiml-stress ..."); returns the number of violations (mixed answers,
 * failed calls, inputs on which the models agree everywhere, a run without swaps, a reader
 * that backed off more than AIML_STRESS_MAX_RETRIES times in one prediction). */
static int aiml_stress_report(const struct aiml_stress_tally *readers, unsigned int n_readers,
			      const struct aiml_stress_tally *writer, unsigned long long ns)
{
	struct aiml_stress_tally sum;
	unsigned int i;
	int bad = 0;

	aiml_stress_zero(&sum, sizeof(sum));
	for (i = 0; i < n_readers; i++) {
		sum.predictions += readers[i].predictions;
		sum.old_model += readers[i].old_model;
		sum.new_model += readers[i].new_model;
		sum.mixed += readers[i].mixed;
		sum.failed += readers[i].failed;
	}
	AIML_PRINT("aiml-stress readers=%u predictions=%lu old=%lu new=%lu mixed=%lu failed=%lu "
		   "differing_inputs=%u\n",
		   n_readers, sum.predictions, sum.old_model, sum.new_model, sum.mixed, sum.failed,
		   aiml_stress_refs.differ);
	AIML_PRINT("aiml-stress writer swaps=%lu (promotions=%lu rollbacks=%lu) busy=%lu failed=%lu\n",
		   writer->swaps, writer->promotions, writer->rollbacks, writer->busy, writer->failed);
	{
		/* every answered prediction counted by the slot that answered: none lost */
		unsigned long counted = aiml_stress_counted() - aiml_stress_refs.counted;
		AIML_PRINT("aiml-stress counted=%lu of %lu predictions\n", counted,
			   sum.predictions - sum.failed);
		bad += counted != sum.predictions - sum.failed;
	}
	if (ns > 0)
		AIML_PRINT("aiml-stress rate predictions_per_s=%llu swaps_per_s=%llu (%llu ms)\n",
			   (unsigned long long)sum.predictions * 1000000000ull / ns,
			   (unsigned long long)writer->swaps * 1000000000ull / ns, ns / 1000000ull);
	{
		unsigned long retries = 0;
		unsigned int most = 0, k;
		for (k = AIML_KIND_WORKLOAD; k <= AIML_KIND_MEMORY; k++) {
			AimlModelInfo info;
			if (aiml_info(k, &info) != AIML_STATUS_OK) {
				bad++;
				continue;
			}
			retries += info.reader_retries;
			most = info.max_reader_retries > most ? info.max_reader_retries : most;
		}
		AIML_PRINT("aiml-stress reader_retries=%lu (%lu per million predictions) "
			   "max_per_prediction=%u\n",
			   retries, sum.predictions ? retries * 1000000ul / sum.predictions : 0ul, most);
		/* a reader retries only when a swap lands between its two looks at the slot */
		bad += most > AIML_STRESS_MAX_RETRIES;
	}
	bad += sum.mixed != 0;
	bad += sum.failed != 0;
	bad += writer->failed != 0;
	bad += writer->swaps == 0;
	bad += writer->promotions == 0 || writer->rollbacks == 0;
	bad += aiml_stress_refs.differ < 4;
	bad += sum.new_model == 0 || sum.old_model == 0;
	return bad;
}

#endif
