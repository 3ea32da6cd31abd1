// SPDX-License-Identifier: MIT OR Apache-2.0
/*
 * Test module: replays the generated test vectors through the shim inside the kernel and
 * prints every prediction ("aiml-vec: ..."), for the host to compare with the values
 * inference-core computed; then the mean latency of each model ("aiml-bench ..."); then the
 * hot-swap stress (aiml_stress.h): one reader kernel thread bound to each online CPU
 * predicting with all four models while a loader thread loads and resets them.
 */
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/err.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/sched.h>

#include "aios_ml.h"

#define AIML_PRINT(...) pr_info("aiml-vec: " __VA_ARGS__)
#define AIML_NOW_NS() ktime_get_ns()
#include "aiml_vectors_run.h"
#define AIML_STRESS_YIELD() cond_resched()
#include "aiml_stress.h"

#define AIML_STRESS_READERS 8
#define AIML_STRESS_PREDICTIONS 100000ul
#define AIML_STRESS_SWAPS 20000ul

static struct aiml_stress_tally aiml_tally[AIML_STRESS_READERS + 1];
static struct completion aiml_done[AIML_STRESS_READERS + 1];
static DECLARE_COMPLETION(aiml_start);

/* Thread `id`: a reader (id < AIML_STRESS_READERS) or the loader. */
static int aiml_stress_thread(void *arg)
{
	unsigned long id = (unsigned long)arg;

	wait_for_completion(&aiml_start);
	if (id == AIML_STRESS_READERS)
		aiml_stress_writer(AIML_STRESS_SWAPS, &aiml_tally[id]);
	else
		aiml_stress_reader((unsigned int)id, AIML_STRESS_PREDICTIONS, &aiml_tally[id]);
	complete(&aiml_done[id]);
	return 0;
}

/* Returns the number of violations (aiml_stress_report) or of threads not started. */
static int aiml_run_stress(void)
{
	struct task_struct *t;
	unsigned int cpu, n = 0, i;
	u64 t0, t1;

	if (aiml_stress_prepare() != 0)
		return 1;
	for_each_online_cpu(cpu) {
		if (n == AIML_STRESS_READERS)
			break;
		init_completion(&aiml_done[n]);
		t = kthread_create(aiml_stress_thread, (void *)(unsigned long)n, "aiml_read/%u", cpu);
		if (IS_ERR(t))
			return 1;
		kthread_bind(t, cpu);
		wake_up_process(t);
		n++;
	}
	init_completion(&aiml_done[AIML_STRESS_READERS]);
	t = kthread_run(aiml_stress_thread, (void *)(unsigned long)AIML_STRESS_READERS, "aiml_load");
	if (IS_ERR(t))
		return 1;
	pr_info("aiml-vec: aiml-stress cpus=%u\n", num_online_cpus());
	t0 = ktime_get_ns();
	complete_all(&aiml_start);
	for (i = 0; i < n; i++)
		wait_for_completion(&aiml_done[i]);
	wait_for_completion(&aiml_done[AIML_STRESS_READERS]);
	t1 = ktime_get_ns();
	return aiml_stress_report(aiml_tally, n, &aiml_tally[AIML_STRESS_READERS], t1 - t0);
}

static int __init aiml_test_init(void)
{
	int bad = 0;

	if (aiml_init() != AIML_STATUS_OK)
		bad++;
	bad += aiml_run_vectors('D');
	bad += aiml_open_policy();
	bad += aiml_load_vector_blobs();
	bad += aiml_run_vectors('L');
	bad += aiml_run_ab();
	bad += aiml_run_signing();
	bad += aiml_run_rotation();
	bad += aiml_run_degradation();
	bad += aiml_run_drift();
	bad += aiml_run_dump(1);
	if (aiml_load(AIML_KIND_WORKLOAD, NULL, 1) != AIML_STATUS_NULL_POINTER)
		bad++;
	if (aiml_reset(9) != AIML_STATUS_UNKNOWN_KIND)
		bad++;
	bad += aiml_run_health(20000);
	aiml_bench(20000);
	bad += aiml_run_dump(2);
	pr_info("aiml-done failed_calls=%d\n", bad);
	pr_info("aiml-stress-done violations=%d\n", aiml_run_stress());
	pr_info("aiml-lock-done failed_checks=%d\n", aiml_run_lock());
	return 0;
}

static void __exit aiml_test_exit(void)
{
}

module_init(aiml_test_init);
module_exit(aiml_test_exit);
MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("aios-ml kernel-shim test vectors");
