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
#include "aiml_dump.h"

#define AIML_N(a) (sizeof(a) / sizeof((a)[0]))

static AimlWorkloadHistory aiml_run_wh;
static AimlThreatHistory aiml_run_th;
static AimlFailureHistory aiml_run_fh;
static AimlMemoryHistory aiml_run_mh;

/* The clock the health counters are timed with (aiml_set_clock). */
static uint64_t aiml_clock_ns(void *ctx)
{
	(void)ctx;
	return (uint64_t)AIML_NOW_NS();
}

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
		uint32_t j;
		if (v->op & 1)
			bad += aiml_threat_history_init(&aiml_run_th) != AIML_STATUS_OK;
		for (j = 0; j < v->n_calls; j++)
			bad += aiml_threat_observe_call(&aiml_run_th, v->calls[j]) != AIML_STATUS_OK;
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
		AIML_PRINT("%c M %u addr=%llx delta=%lld p=%u conf=%u kind=%u class=%u degree=%u "
			   "pf=%llx,%llx,%llx,%llx\n",
			   phase, i, (unsigned long long)p.next_addr, (long long)p.delta_blocks,
			   p.probability, p.confidence, p.kind, p.class_id, p.degree,
			   (unsigned long long)p.prefetch[0], (unsigned long long)p.prefetch[1],
			   (unsigned long long)p.prefetch[2], (unsigned long long)p.prefetch[3]);
	}
	return bad;
}

/* The key policy is closed until aiml_set_key opens it: an unsigned blob is refused and the
 * built-in model stays. Then opens it for development (unsigned blobs accepted). Returns the
 * number of failed checks. */
static int aiml_open_policy(void)
{
	AimlModelInfo info;
	int bad = 0;
	if (aiml_load(AIML_KIND_WORKLOAD, AIML_BLOB_WORKLOAD, sizeof(AIML_BLOB_WORKLOAD)) !=
	    AIML_STATUS_BLOB_NO_KEY) {
		AIML_PRINT("aiml-policy FAIL an unsigned blob loaded before aiml_set_key\n");
		bad++;
	}
	if (aiml_info(AIML_KIND_WORKLOAD, &info) != AIML_STATUS_OK ||
	    info.source != AIML_SOURCE_DEFAULT) {
		AIML_PRINT("aiml-policy FAIL the built-in workload model did not stay\n");
		bad++;
	}
	if (aiml_set_key(NULL, true) != AIML_STATUS_OK) {
		AIML_PRINT("aiml-policy FAIL opening the policy\n");
		bad++;
	}
	return bad;
}

static int aiml_sig_expect(const char *what, AimlStatus got, AimlStatus want);

/* aiml_lock_policy: key changes and forced loads refused, plain loads go on under the frozen
 * policy. Call last: nothing reopens the policy afterwards. Returns the number of failed
 * checks. */
static int aiml_run_lock(void)
{
	int bad = 0;
	bad += aiml_sig_expect("lock", aiml_lock_policy(), AIML_STATUS_OK);
	bad += aiml_sig_expect("lock again", aiml_lock_policy(), AIML_STATUS_OK);
	bad += aiml_sig_expect("set key when locked", aiml_set_key(AIML_TEST_PUBKEY, false),
			       AIML_STATUS_POLICY_LOCKED);
	bad += aiml_sig_expect("close when locked", aiml_set_key(NULL, false),
			       AIML_STATUS_POLICY_LOCKED);
	bad += aiml_sig_expect("clock when locked", aiml_set_clock(aiml_clock_ns, 0),
			       AIML_STATUS_POLICY_LOCKED);
	bad += aiml_sig_expect("force when locked",
			       aiml_load_force(AIML_KIND_WORKLOAD, AIML_BLOB_WORKLOAD,
					       sizeof(AIML_BLOB_WORKLOAD)),
			       AIML_STATUS_POLICY_LOCKED);
	bad += aiml_sig_expect("load when locked",
			       aiml_load(AIML_KIND_MEMORY, AIML_BLOB_MEMORY, sizeof(AIML_BLOB_MEMORY)),
			       AIML_STATUS_OK);
	AIML_PRINT("aiml-policy closed by default, opened explicitly, locked: %s\n",
		   bad ? "FAIL" : "ok");
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

/* Signed blobs and anti-rollback through the ABI (workload slot), then back to the open
 * policy and the phase-L workload blob. Prints each failed check and one timing line;
 * returns the number of failed checks. */
static unsigned char aiml_sig_scratch[sizeof(AIML_SIGNED_WORKLOAD_V9)];

static int aiml_sig_expect(const char *what, AimlStatus got, AimlStatus want)
{
	if (got == want)
		return 0;
	AIML_PRINT("aiml-sig FAIL %s: status %d, expected %d\n", what, (int)got, (int)want);
	return 1;
}

static int aiml_sig_version(unsigned int want)
{
	AimlModelInfo info;
	if (aiml_info(AIML_KIND_WORKLOAD, &info) != AIML_STATUS_OK || info.version != want ||
	    info.source != AIML_SOURCE_LOADED) {
		AIML_PRINT("aiml-sig FAIL workload slot does not hold version %u\n", want);
		return 1;
	}
	return 0;
}

static int aiml_run_signing(void)
{
	static const unsigned char not_a_key[32] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
						     0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
						     0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
						     0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };
	const unsigned int W = AIML_KIND_WORKLOAD;
	const size_t n9 = sizeof(AIML_SIGNED_WORKLOAD_V9);
	unsigned long long t0, t1;
	unsigned int i;
	int bad = 0;

	bad += aiml_sig_expect("invalid key", aiml_set_key(not_a_key, false),
			       AIML_STATUS_INVALID_ARGUMENT);
	bad += aiml_sig_expect("set key", aiml_set_key(AIML_TEST_PUBKEY, false), AIML_STATUS_OK);
	bad += aiml_sig_expect("unsigned", aiml_load(W, AIML_BLOB_WORKLOAD, sizeof(AIML_BLOB_WORKLOAD)),
			       AIML_STATUS_BLOB_UNSIGNED);
	t0 = AIML_NOW_NS();
	bad += aiml_sig_expect("signed v9", aiml_load(W, AIML_SIGNED_WORKLOAD_V9, n9), AIML_STATUS_OK);
	t1 = AIML_NOW_NS();
	AIML_PRINT("aiml-sig signed load (copy, Ed25519 verify, validate) %llu ns\n", t1 - t0);
	bad += aiml_sig_version(9);

	for (i = 0; i < n9; i++)
		aiml_sig_scratch[i] = AIML_SIGNED_WORKLOAD_V9[i];
	aiml_sig_scratch[n9 - 1] ^= 0x01; /* last signature byte */
	bad += aiml_sig_expect("bad signature", aiml_load(W, aiml_sig_scratch, n9),
			       AIML_STATUS_BLOB_BAD_SIGNATURE);
	aiml_sig_scratch[n9 - 1] ^= 0x01;
	aiml_sig_scratch[n9 - 80] ^= 0x01; /* body: the CRC catches it first */
	bad += aiml_sig_expect("tampered body", aiml_load(W, aiml_sig_scratch, n9),
			       AIML_STATUS_BLOB_CRC_MISMATCH);
	bad += aiml_sig_expect("truncated", aiml_load(W, AIML_SIGNED_WORKLOAD_V9, n9 - 1),
			       AIML_STATUS_BLOB_CRC_MISMATCH);
	bad += aiml_sig_version(9);

	bad += aiml_sig_expect("rollback", aiml_load(W, AIML_SIGNED_WORKLOAD_V8,
						     sizeof(AIML_SIGNED_WORKLOAD_V8)),
			       AIML_STATUS_BLOB_ROLLBACK);
	bad += aiml_sig_version(9);
	bad += aiml_sig_expect("forced rollback", aiml_load_force(W, AIML_SIGNED_WORKLOAD_V8,
								  sizeof(AIML_SIGNED_WORKLOAD_V8)),
			       AIML_STATUS_OK);
	bad += aiml_sig_version(8);
	bad += aiml_sig_expect("same version", aiml_load(W, AIML_SIGNED_WORKLOAD_V8,
							 sizeof(AIML_SIGNED_WORKLOAD_V8)),
			       AIML_STATUS_OK);
	bad += aiml_sig_expect("force null", aiml_load_force(W, NULL, 1), AIML_STATUS_NULL_POINTER);
	bad += aiml_sig_expect("force kind", aiml_load_force(9, AIML_SIGNED_WORKLOAD_V8, 1),
			       AIML_STATUS_UNKNOWN_KIND);

	bad += aiml_sig_expect("no key", aiml_set_key(NULL, false), AIML_STATUS_OK);
	bad += aiml_sig_expect("no key load", aiml_load(W, AIML_SIGNED_WORKLOAD_V9, n9),
			       AIML_STATUS_BLOB_NO_KEY);
	bad += aiml_sig_expect("open", aiml_set_key(NULL, true), AIML_STATUS_OK);
	bad += aiml_sig_expect("restore", aiml_load_force(W, AIML_BLOB_WORKLOAD, sizeof(AIML_BLOB_WORKLOAD)),
			       AIML_STATUS_OK);
	return bad;
}

/* Key rotation and revocation: a second model key (SIG2 blobs name their key by id), a
 * revocation key, a signed list that retires the second key (its model leaves the slot, its
 * blobs and the key itself are refused from then on), replay of an older list refused, the
 * first key unaffected. Revocation is for good: afterwards the second key cannot be added
 * again in this boot. Returns the number of failed checks. */
static int aiml_run_rotation(void)
{
	const unsigned int W = AIML_KIND_WORKLOAD;
	uint64_t id = 0;
	AimlModelInfo info;
	unsigned int i;
	int bad = 0;

	bad += aiml_sig_expect("no key", aiml_set_key(NULL, false), AIML_STATUS_OK);
	bad += aiml_sig_expect("add key1", aiml_add_key(AIML_TEST_PUBKEY, AIML_KEY_ROLE_MODELS, NULL),
			       AIML_STATUS_OK);
	bad += aiml_sig_expect("bad roles", aiml_add_key(AIML_KEY2_PUBKEY, 4, &id),
			       AIML_STATUS_INVALID_ARGUMENT);
	bad += aiml_sig_expect("add key2", aiml_add_key(AIML_KEY2_PUBKEY, AIML_KEY_ROLE_MODELS, &id),
			       AIML_STATUS_OK);
	if (id != AIML_KEY2_ID) {
		AIML_PRINT("aiml-sig FAIL key id %llx, expected %llx\n", (unsigned long long)id,
			   AIML_KEY2_ID);
		bad++;
	}
	bad += aiml_sig_expect("add revoker",
			       aiml_add_key(AIML_REVOKER_PUBKEY, AIML_KEY_ROLE_REVOCATION, NULL),
			       AIML_STATUS_OK);
	bad += aiml_sig_expect("key2 v10", aiml_load(W, AIML_SIG2_WORKLOAD_V10_KEY2,
						     sizeof(AIML_SIG2_WORKLOAD_V10_KEY2)),
			       AIML_STATUS_OK);
	bad += aiml_sig_version(10);
	bad += aiml_sig_expect("key1 v11", aiml_load(W, AIML_SIG2_WORKLOAD_V11_KEY1,
						     sizeof(AIML_SIG2_WORKLOAD_V11_KEY1)),
			       AIML_STATUS_OK);
	bad += aiml_sig_version(11);
	bad += aiml_sig_expect("key2 v10 forced", aiml_load_force(W, AIML_SIG2_WORKLOAD_V10_KEY2,
								  sizeof(AIML_SIG2_WORKLOAD_V10_KEY2)),
			       AIML_STATUS_OK);
	/* a list signed by a key without the revocation role, a corrupted one, a forged one */
	bad += aiml_sig_expect("revocation by a model key",
			       aiml_revoke(AIML_REVOKE_SEQ3_BY_KEY1, sizeof(AIML_REVOKE_SEQ3_BY_KEY1)),
			       AIML_STATUS_BLOB_UNKNOWN_KEY);
	for (i = 0; i < sizeof(AIML_REVOKE_SEQ2_KEY2); i++)
		aiml_sig_scratch[i] = AIML_REVOKE_SEQ2_KEY2[i];
	aiml_sig_scratch[12] ^= 0x01; /* a key id: the CRC catches it */
	bad += aiml_sig_expect("corrupted list", aiml_revoke(aiml_sig_scratch, sizeof(AIML_REVOKE_SEQ2_KEY2)),
			       AIML_STATUS_BLOB_BAD_REVOCATION);
	aiml_sig_scratch[12] ^= 0x01;
	aiml_sig_scratch[sizeof(AIML_REVOKE_SEQ2_KEY2) - 1] ^= 0x01; /* the signature */
	bad += aiml_sig_expect("forged list", aiml_revoke(aiml_sig_scratch, sizeof(AIML_REVOKE_SEQ2_KEY2)),
			       AIML_STATUS_BLOB_BAD_SIGNATURE);
	bad += aiml_sig_version(10);
	/* the lists, in order */
	bad += aiml_sig_expect("list 1", aiml_revoke(AIML_REVOKE_SEQ1_NONE, sizeof(AIML_REVOKE_SEQ1_NONE)),
			       AIML_STATUS_OK);
	bad += aiml_sig_version(10);
	bad += aiml_sig_expect("list 2", aiml_revoke(AIML_REVOKE_SEQ2_KEY2, sizeof(AIML_REVOKE_SEQ2_KEY2)),
			       AIML_STATUS_OK);
	if (aiml_info(W, &info) != AIML_STATUS_OK || info.source != AIML_SOURCE_DEFAULT) {
		AIML_PRINT("aiml-sig FAIL the revoked key's model is still in the slot\n");
		bad++;
	}
	bad += aiml_sig_expect("revoked key's blob", aiml_load(W, AIML_SIG2_WORKLOAD_V10_KEY2,
							       sizeof(AIML_SIG2_WORKLOAD_V10_KEY2)),
			       AIML_STATUS_BLOB_KEY_REVOKED);
	bad += aiml_sig_expect("revoked key again", aiml_add_key(AIML_KEY2_PUBKEY, AIML_KEY_ROLE_MODELS, NULL),
			       AIML_STATUS_KEY_REVOKED);
	bad += aiml_sig_expect("replayed list 1", aiml_revoke(AIML_REVOKE_SEQ1_NONE, sizeof(AIML_REVOKE_SEQ1_NONE)),
			       AIML_STATUS_BLOB_ROLLBACK);
	bad += aiml_sig_expect("list 2 again", aiml_revoke(AIML_REVOKE_SEQ2_KEY2, sizeof(AIML_REVOKE_SEQ2_KEY2)),
			       AIML_STATUS_OK);
	bad += aiml_sig_expect("key1 after", aiml_load(W, AIML_SIG2_WORKLOAD_V11_KEY1,
						       sizeof(AIML_SIG2_WORKLOAD_V11_KEY1)),
			       AIML_STATUS_OK);
	bad += aiml_sig_version(11);

	bad += aiml_sig_expect("open", aiml_set_key(NULL, true), AIML_STATUS_OK);
	bad += aiml_sig_expect("restore", aiml_load_force(W, AIML_BLOB_WORKLOAD, sizeof(AIML_BLOB_WORKLOAD)),
			       AIML_STATUS_OK);
	AIML_PRINT("aiml-rotation two model keys, one retired by a signed list, replay refused: %s\n",
		   bad ? "FAIL" : "ok");
	return bad;
}

/* Outcome feedback: what followed each prediction, reported back; the counts and error sums
 * are exact, the rolling error follows the latest outcomes. Returns failed checks. */
static int aiml_run_outcomes(void)
{
	AimlHealth a, b;
	AimlWorkloadPrediction wp;
	AimlThreatAssessment alarm = { 900, 800, 500, 1, 2, 0, 0 }, quiet = { 100, 800, 500, 0, 0, 0, 0 };
	AimlFailureForecast ff = { 600, 700, 800, 1, 1, 0, 0 };
	AimlAccessPrediction ap = { { 0x1000, 0, 0, 0 }, 0x1000, 1, 0, 900, 900, 1, 0, 4, 0 };
	unsigned int i, rolling;
	int bad = 0;

	aiml_health(AIML_KIND_WORKLOAD, &a);
	for (i = 0; i < 64; i++) {
		aiml_workload_predict(&aiml_run_wh, &wp);
		bad += aiml_sig_expect("workload outcome",
				       aiml_workload_outcome(&wp, (uint16_t)(wp.cpu + 500)), AIML_STATUS_OK);
	}
	aiml_health(AIML_KIND_WORKLOAD, &b);
	if (b.outcomes - a.outcomes != 64 || b.error_sum - a.error_sum != 64 * 500 ||
	    b.rolling_error < 400 || b.rolling_error > 500) {
		AIML_PRINT("aiml-outcome FAIL workload %u outcomes, error %u, rolling %u\n",
			   b.outcomes - a.outcomes, b.error_sum - a.error_sum, b.rolling_error);
		bad++;
	}
	rolling = b.rolling_error;
	aiml_health(AIML_KIND_THREAT, &a);
	bad += aiml_sig_expect("false alarm", aiml_threat_outcome(&alarm, false), AIML_STATUS_OK);
	bad += aiml_sig_expect("missed", aiml_threat_outcome(&quiet, true), AIML_STATUS_OK);
	bad += aiml_sig_expect("right", aiml_threat_outcome(&quiet, false), AIML_STATUS_OK);
	aiml_health(AIML_KIND_THREAT, &b);
	if (b.outcomes - a.outcomes != 3 || b.false_alarms - a.false_alarms != 1 ||
	    b.missed - a.missed != 1 || b.error_sum - a.error_sum != 2000) {
		AIML_PRINT("aiml-outcome FAIL threat\n");
		bad++;
	}
	aiml_health(AIML_KIND_FAILURE, &a);
	bad += aiml_sig_expect("failure", aiml_failure_outcome(&ff, true), AIML_STATUS_OK);
	aiml_health(AIML_KIND_FAILURE, &b);
	if (b.outcomes - a.outcomes != 1 || b.error_sum != a.error_sum || b.missed != a.missed) {
		AIML_PRINT("aiml-outcome FAIL failure\n");
		bad++;
	}
	aiml_health(AIML_KIND_MEMORY, &a);
	bad += aiml_sig_expect("used", aiml_memory_outcome(&ap, 0x1010, 64), AIML_STATUS_OK);
	bad += aiml_sig_expect("unused", aiml_memory_outcome(&ap, 0x2000, 64), AIML_STATUS_OK);
	bad += aiml_sig_expect("block", aiml_memory_outcome(&ap, 0x2000, 48), AIML_STATUS_INVALID_ARGUMENT);
	ap.degree = 0;
	bad += aiml_sig_expect("no prefetch", aiml_memory_outcome(&ap, 0x2000, 64), AIML_STATUS_OK);
	aiml_health(AIML_KIND_MEMORY, &b);
	if (b.outcomes - a.outcomes != 2 || b.false_alarms - a.false_alarms != 1 ||
	    b.error_sum - a.error_sum != 1000) {
		AIML_PRINT("aiml-outcome FAIL memory\n");
		bad++;
	}
	bad += aiml_sig_expect("null", aiml_workload_outcome(0, 5), AIML_STATUS_NULL_POINTER);
	bad += aiml_sig_expect("null", aiml_threat_outcome(0, true), AIML_STATUS_NULL_POINTER);
	AIML_PRINT("aiml-outcome workload rolling MAE %u (percent x 100) after 64 outcomes 5 points off; "
		   "threat, failure, memory counted: %s\n", rolling, bad ? "FAIL" : "ok");
	return bad;
}

/* Reports `n` workload outcomes `err` off (|predicted - actual| = err exactly) and keeps the
 * host reference of the slot's rolling error (r = 32 x the rolling mean). Returns the first
 * outcome (1-based) after which the slot's alert was up, 0 if none. */
static unsigned int aiml_degrade(unsigned int n, unsigned int err, unsigned long long *r,
				 unsigned int *ref_first, unsigned int alert_level, unsigned int warm,
				 unsigned int *since)
{
	AimlWorkloadPrediction wp;
	AimlHealth h;
	unsigned int i, first = 0;
	for (i = 1; i <= n; i++) {
		aiml_workload_predict(&aiml_run_wh, &wp);
		aiml_workload_outcome(&wp, (uint16_t)(wp.cpu >= err ? wp.cpu - err : wp.cpu + err));
		*r = *r - *r / 32 + err;
		++*since;
		if (!*ref_first && alert_level && *since >= warm && *r / 32 > alert_level)
			*ref_first = i;
		aiml_health(AIML_KIND_WORKLOAD, &h);
		if (h.alert && !first)
			first = i;
	}
	return first;
}

/* Degradation alert and fallback: the workload model (its blob carries the trainer's alert
 * and clear levels) is fed outcomes that are fine, then turn bad; the alert must rise at the
 * very outcome where the host's replay of the rolling error crosses the level (after the
 * warm-up), and the policy take over: the built-in model (FALLBACK_DEFAULT), then the model
 * held before the last load (FALLBACK_PREVIOUS). Returns the number of failed checks. */
static int aiml_run_degradation(void)
{
	const unsigned int W = AIML_KIND_WORKLOAD;
	AimlModelInfo info;
	AimlHealth h0, h;
	unsigned long long r = 0;
	unsigned int good, worse, first, ref = 0, since = 0, fired_default, fired_previous;
	unsigned int alert_level, clear_level, warm;
	int bad = 0;

	bad += aiml_sig_expect("open", aiml_set_key(NULL, true), AIML_STATUS_OK);
	bad += aiml_sig_expect("bad policy", aiml_set_fallback(W, 7), AIML_STATUS_INVALID_ARGUMENT);
	bad += aiml_sig_expect("bad kind", aiml_set_fallback(9, 0), AIML_STATUS_UNKNOWN_KIND);
	bad += aiml_sig_expect("to default", aiml_set_fallback(W, AIML_FALLBACK_DEFAULT), AIML_STATUS_OK);
	bad += aiml_sig_expect("load", aiml_load_force(W, AIML_BLOB_WORKLOAD, sizeof(AIML_BLOB_WORKLOAD)),
			       AIML_STATUS_OK);
	aiml_info(W, &info);
	aiml_health(W, &h0);
	if (info.error_alert == 0 || info.error_clear >= info.error_alert || h0.since_install != 0 ||
	    h0.rolling_error != 0 || h0.alert) {
		AIML_PRINT("aiml-degrade FAIL thresholds %u/%u, fresh install %u %u %u\n",
			   info.error_alert, info.error_clear, h0.since_install, h0.rolling_error, h0.alert);
		return bad + 1;
	}
	alert_level = info.error_alert, clear_level = info.error_clear, warm = info.min_outcomes;
	good = info.error_clear / 4;
	worse = info.error_alert * 3;
	if (worse > 9000)
		worse = 9000;
	/* fine: no alert */
	first = aiml_degrade(100, good, &r, &ref, info.error_alert, info.min_outcomes, &since);
	aiml_health(W, &h);
	if (first || ref || h.rolling_error != (unsigned int)(r / 32) || h.since_install != 100) {
		AIML_PRINT("aiml-degrade FAIL good phase: alert at %u, rolling %u (host %llu)\n", first,
			   h.rolling_error, r / 32);
		bad++;
	}
	/* bad: the alert at the host's outcome, and the built-in model takes over */
	first = aiml_degrade(60, worse, &r, &ref, info.error_alert, info.min_outcomes, &since);
	fired_default = first;
	aiml_health(W, &h);
	aiml_info(W, &info);
	if (!first || first != ref || h.alerts - h0.alerts != 1 || h.fallbacks - h0.fallbacks != 1 ||
	    !h.alert || info.source != AIML_SOURCE_DEFAULT) {
		AIML_PRINT("aiml-degrade FAIL default: alert at %u, host %u, alerts %u, fallbacks %u, source %u\n",
			   first, ref, h.alerts - h0.alerts, h.fallbacks - h0.fallbacks, info.source);
		bad++;
	}
	/* an operator's load clears it */
	bad += aiml_sig_expect("reload", aiml_load_force(W, AIML_BLOB_WORKLOAD, sizeof(AIML_BLOB_WORKLOAD)),
			       AIML_STATUS_OK);
	aiml_health(W, &h);
	if (h.alert) {
		AIML_PRINT("aiml-degrade FAIL a load did not clear the alert\n");
		bad++;
	}
	/* previous: v8 (the built-in weights), then the trained blob, which goes bad */
	bad += aiml_sig_expect("to previous", aiml_set_fallback(W, AIML_FALLBACK_PREVIOUS), AIML_STATUS_OK);
	bad += aiml_sig_expect("v8", aiml_load_force(W, AIML_SIGNED_WORKLOAD_V8, sizeof(AIML_SIGNED_WORKLOAD_V8)),
			       AIML_STATUS_OK);
	bad += aiml_sig_expect("trained", aiml_load_force(W, AIML_BLOB_WORKLOAD, sizeof(AIML_BLOB_WORKLOAD)),
			       AIML_STATUS_OK);
	aiml_info(W, &info);
	r = 0, ref = 0, since = 0;
	first = aiml_degrade(100, worse, &r, &ref, info.error_alert, info.min_outcomes, &since);
	fired_previous = first;
	aiml_info(W, &info);
	aiml_health(W, &h);
	if (!first || first != ref || info.source != AIML_SOURCE_LOADED || info.version != 8 || !h.alert) {
		AIML_PRINT("aiml-degrade FAIL previous: alert at %u, host %u, source %u version %u\n",
			   first, ref, info.source, info.version);
		bad++;
	}
	bad += aiml_sig_expect("policy none", aiml_set_fallback(W, AIML_FALLBACK_NONE), AIML_STATUS_OK);
	bad += aiml_sig_expect("restore", aiml_load_force(W, AIML_BLOB_WORKLOAD, sizeof(AIML_BLOB_WORKLOAD)),
			       AIML_STATUS_OK);
	AIML_PRINT("aiml-degrade alert at rolling error > %u (clear < %u, warm-up %u): outcomes turned "
		   "%u off after 100 %u off; fired after %u bad outcomes -> built-in model, after %u -> "
		   "previous version, both at the host replay's outcome: %s\n",
		   alert_level, clear_level, warm, worse, good, fired_default,
		   fired_previous, bad ? "FAIL" : "ok");
	return bad;
}

/* Input drift: the workload model fed a machine unlike its training data: CPU and memory
 * swinging between 0 and 100 % every sample, a GPU pinned at 100 %. One prediction in AIML_DRIFT_EVERY is sampled; the drift alert must rise
 * within 1024 predictions (64 samples, the warm-up being 32) and the built-in model take
 * over (FALLBACK_DEFAULT). Returns the number of failed checks. */
static int aiml_run_drift(void)
{
	const unsigned int W = AIML_KIND_WORKLOAD;
	static AimlWorkloadHistory dh;
	AimlWorkloadSample smp = { 0 };
	AimlWorkloadPrediction wp;
	AimlModelInfo info;
	AimlHealth h0, h;
	unsigned int i, fired = 0, score_at_32 = 0, samples = 0;
	int bad = 0;

	bad += aiml_sig_expect("open", aiml_set_key(NULL, true), AIML_STATUS_OK);
	bad += aiml_sig_expect("to default", aiml_set_fallback(W, AIML_FALLBACK_DEFAULT), AIML_STATUS_OK);
	bad += aiml_sig_expect("load", aiml_load_force(W, AIML_BLOB_WORKLOAD, sizeof(AIML_BLOB_WORKLOAD)),
			       AIML_STATUS_OK);
	bad += aiml_sig_expect("history", aiml_workload_history_init(&dh), AIML_STATUS_OK);
	aiml_health(W, &h0);
	for (i = 0; i < 2048 && !fired; i++) {
		smp.unix_s = 1700000000ULL + 60ULL * i;
		smp.cpu = (i & 1) ? 10000 : 0;
		smp.mem = (i & 1) ? 0 : 10000;
		smp.gpu = 10000;
		smp.flags = AIML_HAS_MEM | AIML_HAS_GPU;
		aiml_workload_push(&dh, &smp);
		aiml_workload_predict(&dh, &wp);
		aiml_health(W, &h);
		if (h.drift_samples == 32 && !score_at_32)
			score_at_32 = h.drift;
		samples = h.drift_samples;
		if (h.drift_alert && !fired)
			fired = i + 1;
	}
	aiml_info(W, &info);
	if (!fired || fired > 1024 || info.source != AIML_SOURCE_DEFAULT ||
	    h.fallbacks - h0.fallbacks != 1 || h.alerts - h0.alerts != 1) {
		AIML_PRINT("aiml-drift FAIL alert after %u predictions (%u samples, score %u at 32), "
			   "source %u, fallbacks %u\n", fired, samples, score_at_32, info.source,
			   h.fallbacks - h0.fallbacks);
		bad++;
	}
	bad += aiml_sig_expect("policy none", aiml_set_fallback(W, AIML_FALLBACK_NONE), AIML_STATUS_OK);
	bad += aiml_sig_expect("restore", aiml_load_force(W, AIML_BLOB_WORKLOAD, sizeof(AIML_BLOB_WORKLOAD)),
			       AIML_STATUS_OK);
	AIML_PRINT("aiml-drift CPU and memory swinging 0-100 %%, GPU pinned: drift score %u per-mille of a spread after 32 "
		   "samples, alert after %u predictions (one in %u sampled), built-in model took over: %s\n",
		   score_at_32, fired, AIML_DRIFT_EVERY, bad ? "FAIL" : "ok");
	return bad;
}

/* Prints dump `seq` of the four slots and their A/B state ("aiml-dump {...}" lines,
 * aiml_dump.h) for
 * `trainer monitor --dump`. Returns the number of slots that could not be dumped. */
static int aiml_run_dump(unsigned int seq)
{
	static char line[AIML_DUMP_BYTES];
	uint32_t kind;
	int bad = 0;
	for (kind = AIML_KIND_WORKLOAD; kind <= AIML_KIND_MEMORY; kind++) {
		if (aiml_dump_slot(line, sizeof(line), seq, kind) > 0)
			AIML_PRINT("aiml-dump %s\n", line);
		else
			bad++;
		if (aiml_dump_ab(line, sizeof(line), seq, kind) > 0)
			AIML_PRINT("aiml-dump %s\n", line);
		else
			bad++;
	}
	return bad;
}

/* Health counters with the caller's clock: `n` workload predictions are counted and timed,
 * a refused call is counted, every timed prediction lands in the histogram; and the same `n`
 * predictions without the clock, so the line shows what timing costs. Leaves the clock
 * cleared. Returns the number of failed checks. */
static int aiml_run_health(unsigned int n)
{
	AimlHealth a, b;
	AimlWorkloadPrediction wp;
	unsigned long long t0, t1, t2;
	unsigned int i, k, hist = 0;
	int bad = 0;

	bad += aiml_sig_expect("set clock", aiml_set_clock(aiml_clock_ns, 0), AIML_STATUS_OK);
	bad += aiml_sig_expect("health", aiml_health(AIML_KIND_WORKLOAD, &a), AIML_STATUS_OK);
	t0 = AIML_NOW_NS();
	for (i = 0; i < n; i++)
		aiml_workload_predict(&aiml_run_wh, &wp);
	t1 = AIML_NOW_NS();
	bad += aiml_sig_expect("refused", aiml_workload_predict(0, &wp), AIML_STATUS_NULL_POINTER);
	bad += aiml_sig_expect("health", aiml_health(AIML_KIND_WORKLOAD, &b), AIML_STATUS_OK);
	bad += aiml_sig_expect("clear clock", aiml_set_clock(0, 0), AIML_STATUS_OK);
	for (i = 0; i < n; i++)
		aiml_workload_predict(&aiml_run_wh, &wp);
	t2 = AIML_NOW_NS();
	for (k = 0; k < AIML_LATENCY_BUCKETS; k++)
		hist += b.latency[k] - a.latency[k];
	if (b.predictions - a.predictions != n || b.refusals - a.refusals != 1 ||
	    b.timed - a.timed != n || hist != n || b.time_max == 0 || b.kind != AIML_KIND_WORKLOAD) {
		AIML_PRINT("aiml-health FAIL predictions %u refusals %u timed %u histogram %u max %u\n",
			   b.predictions - a.predictions, b.refusals - a.refusals, b.timed - a.timed,
			   hist, b.time_max);
		bad++;
	}
	bad += aiml_sig_expect("unknown kind", aiml_health(9, &b), AIML_STATUS_UNKNOWN_KIND);
	bad += aiml_run_outcomes();
	bad += aiml_sig_expect("null", aiml_health(AIML_KIND_WORKLOAD, 0), AIML_STATUS_NULL_POINTER);
	AIML_PRINT("aiml-health workload: %u timed, mean %u ns, max %u ns; <250 ns %u, <500 %u, "
		   "<1 us %u, <2 us %u, <4 us %u, <8 us %u, <16 us %u, more %u; %llu ns/prediction "
		   "timed, %llu untimed: %s\n",
		   n, (b.time_total - a.time_total) / n, b.time_max,
		   b.latency[0] - a.latency[0], b.latency[1] - a.latency[1],
		   b.latency[2] - a.latency[2], b.latency[3] - a.latency[3],
		   b.latency[4] - a.latency[4], b.latency[5] - a.latency[5],
		   b.latency[6] - a.latency[6], b.latency[7] - a.latency[7],
		   (t1 - t0) / n, (t2 - t1) / n, bad ? "FAIL" : "ok");
	return bad;
}

/* Latency of raw observation -> prediction, cycling through the test vectors (varied,
 * realistic inputs: a constant input would flatter branchy code and the caches): each step
 * pushes the vector's observation into its history (re-initialised where the vectors start a
 * new series) and predicts, as a kernel caller does. About n predictions per model; the
 * average per prediction, observation included. */
static void aiml_bench(unsigned int n)
{
	unsigned long long t0, t1;
	unsigned int i, done;
	AimlWorkloadPrediction wp;
	AimlFailureForecast fp;
	AimlAccessPrediction mp;
	AimlThreatAssessment tp;

	aiml_workload_history_init(&aiml_run_wh);
	t0 = AIML_NOW_NS();
	for (done = 0; done < n;) {
		for (i = 0; i < AIML_N(AIML_VEC_WORKLOAD) && done < n; i++, done++) {
			const aiml_vec_workload *v = &AIML_VEC_WORKLOAD[i];
			if (v->op & 1)
				aiml_workload_history_init(&aiml_run_wh);
			aiml_workload_push(&aiml_run_wh, &v->s);
			aiml_workload_predict(&aiml_run_wh, &wp);
		}
	}
	t1 = AIML_NOW_NS();
	AIML_PRINT("aiml-bench workload %llu ns/prediction (%u calls, push + predict, %u vectors cycled)\n",
		   (t1 - t0) / n, n, (unsigned int)AIML_N(AIML_VEC_WORKLOAD));

	aiml_threat_history_init(&aiml_run_th);
	t0 = AIML_NOW_NS();
	for (done = 0; done < n;) {
		for (i = 0; i < AIML_N(AIML_VEC_THREAT) && done < n; i++, done++) {
			const aiml_vec_threat *v = &AIML_VEC_THREAT[i];
			uint32_t j;
			if (v->op & 1)
				aiml_threat_history_init(&aiml_run_th);
			for (j = 0; j < v->n_calls; j++)
				aiml_threat_observe_call(&aiml_run_th, v->calls[j]);
			aiml_threat_assess(&aiml_run_th, &v->w, &tp);
		}
	}
	t1 = AIML_NOW_NS();
	AIML_PRINT("aiml-bench threat %llu ns/prediction (%u calls, the window's system calls + assess, %u vectors cycled)\n",
		   (t1 - t0) / n, n, (unsigned int)AIML_N(AIML_VEC_THREAT));

	aiml_failure_history_init(&aiml_run_fh);
	t0 = AIML_NOW_NS();
	for (done = 0; done < n;) {
		for (i = 0; i < AIML_N(AIML_VEC_FAILURE) && done < n; i++, done++) {
			const aiml_vec_failure *v = &AIML_VEC_FAILURE[i];
			if (v->op & 1)
				aiml_failure_history_init(&aiml_run_fh);
			if (v->op & 4)
				aiml_failure_record(&aiml_run_fh, v->s.unix_s);
			else
				aiml_failure_push(&aiml_run_fh, &v->s);
			aiml_failure_predict(&aiml_run_fh, &fp);
		}
	}
	t1 = AIML_NOW_NS();
	AIML_PRINT("aiml-bench failure %llu ns/prediction (%u calls, push + predict, %u vectors cycled)\n",
		   (t1 - t0) / n, n, (unsigned int)AIML_N(AIML_VEC_FAILURE));

	aiml_memory_history_init(&aiml_run_mh);
	t0 = AIML_NOW_NS();
	for (done = 0; done < n;) {
		for (i = 0; i < AIML_N(AIML_VEC_MEMORY) && done < n; i++, done++) {
			const aiml_vec_memory *v = &AIML_VEC_MEMORY[i];
			if (v->op & 1)
				aiml_memory_history_init(&aiml_run_mh);
			aiml_memory_push(&aiml_run_mh, &v->a);
			aiml_memory_predict(&aiml_run_mh, &mp);
		}
	}
	t1 = AIML_NOW_NS();
	AIML_PRINT("aiml-bench memory %llu ns/prediction (%u calls, push + predict, %u vectors cycled)\n",
		   (t1 - t0) / n, n, (unsigned int)AIML_N(AIML_VEC_MEMORY));
}

/* ---- A/B: a candidate beside each live model ---------------------------------------------- */

/* Health and A/B counters before a replay, to print what the replay added. */
struct aiml_ab_base {
	AimlHealth live, cand;
};

static int aiml_ab_begin(uint32_t kind, struct aiml_ab_base *b)
{
	return (aiml_health(kind, &b->live) != AIML_STATUS_OK) +
	       (aiml_ab_health(kind, &b->cand) != AIML_STATUS_OK);
}

/* One "A ab" / "S ab" line of expected.txt (kernel-shim/examples/vectors.rs, AbRef::line). */
static int aiml_ab_line(char phase, uint32_t kind, const struct aiml_ab_base *b)
{
	AimlAb ab;
	AimlHealth l, c;
	if (aiml_ab(kind, &ab) != AIML_STATUS_OK || aiml_health(kind, &l) != AIML_STATUS_OK ||
	    aiml_ab_health(kind, &c) != AIML_STATUS_OK)
		return 1;
	AIML_PRINT("%c ab kind=%u shadowed=%u agreed=%u routed=%u paired=%u live_err=%u cand_err=%u "
		   "cand_better=%u live_better=%u live=%u,%u,%u cand=%u,%u,%u\n",
		   phase, kind, ab.shadowed, ab.agreed, ab.routed, ab.paired, ab.live_error_sum,
		   ab.candidate_error_sum, ab.candidate_better, ab.live_better,
		   l.predictions - b->live.predictions, l.outcomes - b->live.outcomes,
		   l.error_sum - b->live.error_sum, c.predictions - b->cand.predictions,
		   c.outcomes - b->cand.outcomes, c.error_sum - b->cand.error_sum);
	return 0;
}

/* Replays the workload vectors under the current A/B mode, each series with its index
 * (from 1) as entity id, reporting each prediction's outcome (the next sample of its series).
 * Returns the number of failed calls. */
static int aiml_ab_workload(void)
{
	AimlWorkloadPrediction p;
	unsigned int i, entity = 0, pending = 0;
	int bad = 0;
	for (i = 0; i < AIML_N(AIML_VEC_WORKLOAD); i++) {
		const aiml_vec_workload *v = &AIML_VEC_WORKLOAD[i];
		if (v->op & 1) {
			bad += aiml_workload_history_init(&aiml_run_wh) != AIML_STATUS_OK;
			bad += aiml_history_set_entity(&aiml_run_wh, ++entity) != AIML_STATUS_OK;
			pending = 0;
		} else if (pending) {
			bad += aiml_workload_outcome(&p, v->s.cpu) != AIML_STATUS_OK;
			pending = 0;
		}
		bad += aiml_workload_push(&aiml_run_wh, &v->s) != AIML_STATUS_OK;
		if (v->op & 2) {
			bad += aiml_workload_predict(&aiml_run_wh, &p) != AIML_STATUS_OK;
			pending = 1;
		}
	}
	return bad;
}

/* The same for threat windows; a window's outcome is whether it made privilege attempts. */
static int aiml_ab_threat(void)
{
	AimlThreatAssessment a;
	unsigned int i, j, entity = 0;
	int bad = 0;
	for (i = 0; i < AIML_N(AIML_VEC_THREAT); i++) {
		const aiml_vec_threat *v = &AIML_VEC_THREAT[i];
		if (v->op & 1) {
			bad += aiml_threat_history_init(&aiml_run_th) != AIML_STATUS_OK;
			bad += aiml_history_set_entity(&aiml_run_th, ++entity) != AIML_STATUS_OK;
		}
		for (j = 0; j < v->n_calls; j++)
			bad += aiml_threat_observe_call(&aiml_run_th, v->calls[j]) != AIML_STATUS_OK;
		bad += aiml_threat_assess(&aiml_run_th, &v->w, &a) != AIML_STATUS_OK;
		bad += aiml_threat_outcome(&a, v->w.privilege_attempts > 0) != AIML_STATUS_OK;
	}
	return bad;
}

/* The same for health readings; a forecast's outcome is whether the next event of its
 * component is a failure. */
static int aiml_ab_failure(void)
{
	AimlFailureForecast f;
	unsigned int i, entity = 0, pending = 0;
	int bad = 0;
	for (i = 0; i < AIML_N(AIML_VEC_FAILURE); i++) {
		const aiml_vec_failure *v = &AIML_VEC_FAILURE[i];
		if (v->op & 1) {
			bad += aiml_failure_history_init(&aiml_run_fh) != AIML_STATUS_OK;
			bad += aiml_history_set_entity(&aiml_run_fh, ++entity) != AIML_STATUS_OK;
			pending = 0;
		} else if (pending) {
			bad += aiml_failure_outcome(&f, (v->op & 4) != 0) != AIML_STATUS_OK;
			pending = 0;
		}
		if (v->op & 4)
			bad += aiml_failure_record(&aiml_run_fh, v->s.unix_s) != AIML_STATUS_OK;
		else
			bad += aiml_failure_push(&aiml_run_fh, &v->s) != AIML_STATUS_OK;
		if (v->op & 2) {
			bad += aiml_failure_predict(&aiml_run_fh, &f) != AIML_STATUS_OK;
			pending = 1;
		}
	}
	return bad;
}

/* The same for memory accesses; a prediction's outcome is the next access of its stream. */
static int aiml_ab_memory(void)
{
	AimlAccessPrediction p;
	unsigned int i, entity = 0, pending = 0;
	int bad = 0;
	for (i = 0; i < AIML_N(AIML_VEC_MEMORY); i++) {
		const aiml_vec_memory *v = &AIML_VEC_MEMORY[i];
		if (v->op & 1) {
			bad += aiml_memory_history_init(&aiml_run_mh) != AIML_STATUS_OK;
			bad += aiml_history_set_entity(&aiml_run_mh, ++entity) != AIML_STATUS_OK;
			pending = 0;
		} else if (pending) {
			bad += aiml_memory_outcome(&p, v->a.addr, 64) != AIML_STATUS_OK;
		}
		bad += aiml_memory_push(&aiml_run_mh, &v->a) != AIML_STATUS_OK;
		bad += aiml_memory_predict(&aiml_run_mh, &p) != AIML_STATUS_OK;
		pending = 1;
	}
	return bad;
}

/* A/B testing against the host's reference: the built-in models live, the vector blobs as
 * candidates; the vectors replayed in split mode (phase S: half the entities answered by the
 * candidate) and in shadow mode (phase A: both answer, the outcomes score both; its counters
 * stay for the health dump). The lines
 * must equal expected.txt's. Then promotion (the candidate becomes the live model, the
 * built-in one stays for rollback), rollback, and the refusals. Leaves the vector blobs
 * loaded, no candidates, mode off. Returns the number of failed calls and checks. */
static int aiml_run_ab(void)
{
	static const unsigned char *const blobs[] = { 0, AIML_BLOB_WORKLOAD, AIML_BLOB_THREAT,
						     AIML_BLOB_FAILURE, AIML_BLOB_MEMORY };
	static const unsigned long lens[] = { 0, sizeof(AIML_BLOB_WORKLOAD), sizeof(AIML_BLOB_THREAT),
					      sizeof(AIML_BLOB_FAILURE), sizeof(AIML_BLOB_MEMORY) };
	static struct aiml_ab_base base[5];
	static AimlWorkloadHistory zeroed;
	AimlModelInfo info;
	AimlAb ab;
	uint32_t k;
	unsigned int routed = 0, shadowed = 0, agreed = 0, phase;
	int bad = 0;

	bad += aiml_sig_expect("ab open", aiml_set_key(NULL, true), AIML_STATUS_OK);
	bad += aiml_sig_expect("ab no candidate", aiml_promote(AIML_KIND_WORKLOAD), AIML_STATUS_NOT_INITIALIZED);
	bad += aiml_sig_expect("ab bad mode", aiml_ab_set(AIML_KIND_WORKLOAD, 3, 0), AIML_STATUS_INVALID_ARGUMENT);
	bad += aiml_sig_expect("ab bad share", aiml_ab_set(AIML_KIND_WORKLOAD, AIML_AB_SPLIT, 1001),
			       AIML_STATUS_INVALID_ARGUMENT);
	bad += aiml_sig_expect("ab bad kind", aiml_ab_set(9, AIML_AB_OFF, 0), AIML_STATUS_UNKNOWN_KIND);
	bad += aiml_sig_expect("ab bad kind", aiml_candidate_load(9, AIML_BLOB_WORKLOAD, 1), AIML_STATUS_UNKNOWN_KIND);
	bad += aiml_sig_expect("ab null blob", aiml_candidate_load(AIML_KIND_WORKLOAD, 0, 1), AIML_STATUS_NULL_POINTER);
	bad += aiml_sig_expect("ab bad blob", aiml_candidate_load(AIML_KIND_WORKLOAD, AIML_BLOB_WORKLOAD, 9),
			       AIML_STATUS_BLOB_TOO_SHORT);
	bad += aiml_sig_expect("ab entity of no history", aiml_history_set_entity(&zeroed, 1),
			       AIML_STATUS_NOT_INITIALIZED);
	bad += aiml_sig_expect("ab entity null", aiml_history_set_entity(0, 1), AIML_STATUS_NULL_POINTER);
	for (k = AIML_KIND_WORKLOAD; k <= AIML_KIND_MEMORY; k++) {
		bad += aiml_sig_expect("ab reset", aiml_reset(k), AIML_STATUS_OK);
		bad += aiml_sig_expect("ab candidate", aiml_candidate_load(k, blobs[k], lens[k]), AIML_STATUS_OK);
	}
	for (phase = 0; phase < 2; phase++) {
		char name = phase == 0 ? 'S' : 'A';
		for (k = AIML_KIND_WORKLOAD; k <= AIML_KIND_MEMORY; k++) {
			bad += aiml_sig_expect("ab mode",
					       aiml_ab_set(k, phase == 0 ? AIML_AB_SPLIT : AIML_AB_SHADOW_MODE, 500),
					       AIML_STATUS_OK);
			bad += aiml_ab_begin(k, &base[k]);
		}
		bad += aiml_ab_workload();
		bad += aiml_ab_line(name, AIML_KIND_WORKLOAD, &base[AIML_KIND_WORKLOAD]);
		bad += aiml_ab_threat();
		bad += aiml_ab_line(name, AIML_KIND_THREAT, &base[AIML_KIND_THREAT]);
		bad += aiml_ab_failure();
		bad += aiml_ab_line(name, AIML_KIND_FAILURE, &base[AIML_KIND_FAILURE]);
		bad += aiml_ab_memory();
		bad += aiml_ab_line(name, AIML_KIND_MEMORY, &base[AIML_KIND_MEMORY]);
		for (k = AIML_KIND_WORKLOAD; k <= AIML_KIND_MEMORY; k++) {
			bad += aiml_ab(k, &ab) != AIML_STATUS_OK;
			routed += ab.routed, shadowed += ab.shadowed, agreed += ab.agreed;
		}
	}
	/* promotion: the candidate becomes the live model; rollback: the built-in one again */
	for (k = AIML_KIND_WORKLOAD; k <= AIML_KIND_MEMORY; k++) {
		AimlModelInfo before;
		bad += aiml_ab(k, &ab) != AIML_STATUS_OK;
		bad += aiml_info(k, &before) != AIML_STATUS_OK;
		bad += aiml_sig_expect("ab promote", aiml_promote(k), AIML_STATUS_OK);
		bad += aiml_info(k, &info) != AIML_STATUS_OK;
		if (info.source != AIML_SOURCE_LOADED || info.version != ab.candidate_version ||
		    info.blob_len != lens[k] || before.source != AIML_SOURCE_DEFAULT) {
			AIML_PRINT("aiml-ab FAIL promote kind %u: source %u version %u (candidate %u)\n", k,
				   info.source, info.version, ab.candidate_version);
			bad++;
		}
		bad += aiml_ab(k, &ab) != AIML_STATUS_OK;
		if (ab.candidate || ab.mode != AIML_AB_OFF || ab.promotions < 1) {
			AIML_PRINT("aiml-ab FAIL after promote kind %u: candidate %u mode %u\n", k,
				   ab.candidate, ab.mode);
			bad++;
		}
		bad += aiml_sig_expect("ab promote again", aiml_promote(k), AIML_STATUS_NOT_INITIALIZED);
		bad += aiml_sig_expect("ab rollback", aiml_rollback(k), AIML_STATUS_OK);
		bad += aiml_info(k, &info) != AIML_STATUS_OK;
		bad += info.source != AIML_SOURCE_DEFAULT;
		bad += aiml_sig_expect("ab rollback again", aiml_rollback(k), AIML_STATUS_NOT_INITIALIZED);
		bad += aiml_sig_expect("ab rollback bad kind", aiml_rollback(9), AIML_STATUS_UNKNOWN_KIND);
	}
	/* a withdrawn candidate: split mode answers with the live model */
	bad += aiml_sig_expect("ab candidate", aiml_candidate_load(AIML_KIND_FAILURE, blobs[3], lens[3]),
			       AIML_STATUS_OK);
	bad += aiml_sig_expect("ab clear", aiml_candidate_clear(AIML_KIND_FAILURE), AIML_STATUS_OK);
	bad += aiml_ab(AIML_KIND_FAILURE, &ab) != AIML_STATUS_OK;
	bad += ab.candidate != 0 || ab.mode != AIML_AB_OFF;
	bad += aiml_load_vector_blobs();
	/* the split did split, the shadows ran */
	bad += routed == 0 || shadowed == 0;
	AIML_PRINT("aiml-ab shadow: %u predictions also answered by the candidate, %u agreed; split: "
		   "%u answered by the candidate; counters equal to the host reference (A/S lines); "
		   "promote and rollback of 4 kinds: %s\n",
		   shadowed, agreed, routed, bad ? "FAIL" : "ok");
	return bad;
}

#endif
