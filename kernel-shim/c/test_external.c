/*
 * Loading into caller-owned memory (aiml_set_slot_buffer), against the bare-metal static
 * library built with AIML_SHIM_SLOT_BYTES=0: no static blob buffers at all, the firmware
 * configuration whose static RAM stays under 4 KiB. Without buffers a load is refused
 * (TOO_LARGE); with the caller's, the phase-L blobs load and every prediction equals the
 * host's (stdout: the "L " lines, compared with expected.txt by .ci/kernel.sh).
 *
 * Build: see .ci/kernel.sh (gcc -std=c11 -Wall -Wextra -Werror).
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <time.h>

#include "aios_ml.h"

#define AIML_PRINT(...) printf(__VA_ARGS__)
#define AIML_NOW_NS() 0ull
#include "aiml_vectors_run.h"

/* the caller's memory: two 5120-byte halves per kind (aligned as any buffer the caller has) */
static unsigned char aiml_buffers[4][2 * 5120];
static unsigned char aiml_other[2 * 5120];

int main(void)
{
	uint32_t k;
	int bad = 0;

	bad += aiml_sig_expect("init", aiml_init(), AIML_STATUS_OK);
	bad += aiml_sig_expect("open", aiml_set_key(NULL, true), AIML_STATUS_OK);
	bad += aiml_sig_expect("capacity", aiml_slot_capacity() == 0 ? AIML_STATUS_OK : AIML_STATUS_TOO_LARGE,
			       AIML_STATUS_OK);
	bad += aiml_sig_expect("no buffer", aiml_load(AIML_KIND_WORKLOAD, AIML_BLOB_WORKLOAD,
						      sizeof(AIML_BLOB_WORKLOAD)),
			       AIML_STATUS_TOO_LARGE);
	bad += aiml_sig_expect("bad kind", aiml_set_slot_buffer(9, aiml_other, sizeof(aiml_other)),
			       AIML_STATUS_UNKNOWN_KIND);
	bad += aiml_sig_expect("null", aiml_set_slot_buffer(AIML_KIND_WORKLOAD, NULL, 4096),
			       AIML_STATUS_INVALID_ARGUMENT);
	bad += aiml_sig_expect("tiny", aiml_set_slot_buffer(AIML_KIND_WORKLOAD, aiml_other, 100),
			       AIML_STATUS_INVALID_ARGUMENT);
	/* a blob larger than half the buffer is refused, the built-in model stays */
	bad += aiml_sig_expect("small", aiml_set_slot_buffer(AIML_KIND_WORKLOAD, aiml_other, 2048),
			       AIML_STATUS_OK);
	bad += aiml_sig_expect("too large", aiml_load(AIML_KIND_WORKLOAD, AIML_BLOB_WORKLOAD,
						       sizeof(AIML_BLOB_WORKLOAD)),
			       AIML_STATUS_TOO_LARGE);
	for (k = AIML_KIND_WORKLOAD; k <= AIML_KIND_MEMORY; k++)
		bad += aiml_sig_expect("buffers", aiml_set_slot_buffer(k, aiml_buffers[k - 1],
								       sizeof(aiml_buffers[k - 1])),
				       AIML_STATUS_OK);
	bad += aiml_load_vector_blobs();
	/* a slot running a loaded model keeps its buffers until it is reset */
	bad += aiml_sig_expect("in use", aiml_set_slot_buffer(AIML_KIND_WORKLOAD, aiml_other,
							      sizeof(aiml_other)),
			       AIML_STATUS_BUSY);
	bad += aiml_run_vectors('L');
	bad += aiml_sig_expect("reset", aiml_reset(AIML_KIND_WORKLOAD), AIML_STATUS_OK);
	bad += aiml_sig_expect("swap buffers", aiml_set_slot_buffer(AIML_KIND_WORKLOAD, aiml_other,
								    sizeof(aiml_other)),
			       AIML_STATUS_OK);
	bad += aiml_sig_expect("reload", aiml_load(AIML_KIND_WORKLOAD, AIML_BLOB_WORKLOAD,
						   sizeof(AIML_BLOB_WORKLOAD)),
			       AIML_STATUS_OK);
	bad += aiml_sig_expect("locked", aiml_lock_policy(), AIML_STATUS_OK);
	bad += aiml_sig_expect("after lock", aiml_set_slot_buffer(AIML_KIND_WORKLOAD, aiml_other,
								  sizeof(aiml_other)),
			       AIML_STATUS_POLICY_LOCKED);
	printf("aiml-external no static blob buffers (capacity %lu), the caller's memory given to the "
	       "four slots, vector blobs loaded and predicting: %s\n",
	       (unsigned long)aiml_slot_capacity(), bad ? "FAIL" : "ok");
	return bad != 0;
}
