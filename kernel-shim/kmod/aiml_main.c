// SPDX-License-Identifier: MIT OR Apache-2.0
/*
 * Test module: replays the generated test vectors through the shim inside the kernel and
 * prints every prediction ("aiml-vec: ..."), for the host to compare with the values
 * inference-core computed; then the mean latency of each model ("aiml-bench ...").
 */
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/module.h>

#include "aios_ml.h"

#define AIML_PRINT(...) pr_info("aiml-vec: " __VA_ARGS__)
#define AIML_NOW_NS() ktime_get_ns()
#include "aiml_vectors_run.h"

static int __init aiml_test_init(void)
{
	int bad = 0;

	if (aiml_init() != AIML_STATUS_OK)
		bad++;
	bad += aiml_run_vectors('D');
	bad += aiml_load_vector_blobs();
	bad += aiml_run_vectors('L');
	bad += aiml_run_signing();
	if (aiml_load(AIML_KIND_WORKLOAD, NULL, 1) != AIML_STATUS_NULL_POINTER)
		bad++;
	if (aiml_reset(9) != AIML_STATUS_UNKNOWN_KIND)
		bad++;
	aiml_bench(20000);
	pr_info("aiml-done failed_calls=%d\n", bad);
	return 0;
}

static void __exit aiml_test_exit(void)
{
}

module_init(aiml_test_init);
module_exit(aiml_test_exit);
MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("aios-ml kernel-shim test vectors");
