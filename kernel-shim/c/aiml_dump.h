/*
 * The health dump: one slot's model information and health counters as one line of JSON,
 * for `trainer monitor --dump FILE` (docs/KERNEL.md, "Health dump"). Needs snprintf: include
 * <stdio.h> (user space) or <linux/kernel.h> (a kernel module) before this header.
 *
 *   char line[AIML_DUMP_BYTES];
 *   for (kind = AIML_KIND_WORKLOAD; kind <= AIML_KIND_MEMORY; kind++) {
 *       if (aiml_dump_slot(line, sizeof(line), seq, kind) > 0)
 *           printf("aiml-dump %s\n", line);          (or pr_info in a kernel)
 *       if (aiml_dump_ab(line, sizeof(line), seq, kind) > 0)
 *           printf("aiml-dump %s\n", line);
 *   }
 *
 * `seq` numbers the dump (the same for all lines of one dump); the trainer compares the
 * first and the last dump of a file. A slot's A/B line ("part":"ab") follows its health line. Lines stay under printk's 1024-byte limit.
 */
#ifndef AIML_DUMP_H
#define AIML_DUMP_H

#include "aios_ml.h"

#define AIML_DUMP_BYTES 900

/* Writes the JSON object of slot `kind` into buf (NUL-terminated); returns its length, or
 * -1 if a call failed or buf is too small. */
static int aiml_dump_slot(char *buf, unsigned long len, unsigned int seq, uint32_t kind)
{
	static const char *const names[] = { "", "workload", "threat", "failure", "memory" };
	static const char *const sources[] = { "default", "loaded", "none" };
	AimlModelInfo i;
	AimlHealth h;
	int n;

	if (kind < AIML_KIND_WORKLOAD || kind > AIML_KIND_MEMORY || aiml_info(kind, &i) != AIML_STATUS_OK ||
	    aiml_health(kind, &h) != AIML_STATUS_OK)
		return -1;
	n = snprintf(buf, len,
		     "{\"v\":1,\"seq\":%u,\"kind\":\"%s\",\"version\":%u,\"source\":\"%s\",\"macs\":%u,"
		     "\"error_alert\":%u,\"error_clear\":%u,\"min_outcomes\":%u,"
		     "\"predictions\":%u,\"refusals\":%u,\"timed\":%u,\"time_total\":%u,\"time_max\":%u,"
		     "\"latency\":[%u,%u,%u,%u,%u,%u,%u,%u],\"lazy_defaults\":%u,\"outcomes\":%u,"
		     "\"error_sum\":%u,\"rolling_error\":%u,\"false_alarms\":%u,\"missed\":%u,"
		     "\"alert\":%u,\"alerts\":%u,\"fallbacks\":%u,\"since_install\":%u,"
		     "\"drift\":%u,\"drift_samples\":%u,\"drift_alert\":%u}",
		     seq, names[kind], i.version, i.source <= 2 ? sources[i.source] : "?", i.macs,
		     i.error_alert, i.error_clear, i.min_outcomes, h.predictions, h.refusals, h.timed,
		     h.time_total, h.time_max, h.latency[0], h.latency[1], h.latency[2], h.latency[3],
		     h.latency[4], h.latency[5], h.latency[6], h.latency[7], h.lazy_defaults, h.outcomes,
		     h.error_sum, h.rolling_error, h.false_alarms, h.missed, h.alert, h.alerts,
		     h.fallbacks, h.since_install, h.drift, h.drift_samples, h.drift_alert);
	return n > 0 && (unsigned long)n < len ? n : -1;
}

/* Writes the A/B state of `kind` (aiml_ab, and the candidate's health, aiml_ab_health) as a
 * JSON object with "part":"ab" into buf; returns its length, or -1. */
static int aiml_dump_ab(char *buf, unsigned long len, unsigned int seq, uint32_t kind)
{
	static const char *const names[] = { "", "workload", "threat", "failure", "memory" };
	AimlAb a;
	AimlHealth c;
	int n;

	if (kind < AIML_KIND_WORKLOAD || kind > AIML_KIND_MEMORY || aiml_ab(kind, &a) != AIML_STATUS_OK ||
	    aiml_ab_health(kind, &c) != AIML_STATUS_OK)
		return -1;
	n = snprintf(buf, len,
		     "{\"v\":1,\"seq\":%u,\"kind\":\"%s\",\"part\":\"ab\",\"source\":\"%s\",\"mode\":%u,"
		     "\"share_permille\":%u,\"candidate_version\":%u,\"shadowed\":%u,\"agreed\":%u,"
		     "\"routed\":%u,\"paired\":%u,\"live_error_sum\":%u,\"candidate_error_sum\":%u,"
		     "\"candidate_better\":%u,\"live_better\":%u,\"promotions\":%u,\"rollbacks\":%u,"
		     "\"candidate_predictions\":%u,\"candidate_outcomes\":%u,\"candidate_errors\":%u,"
		     "\"candidate_rolling_error\":%u,\"candidate_alert\":%u}",
		     seq, names[kind], a.candidate ? "loaded" : "none", a.mode, a.share_permille,
		     a.candidate_version, a.shadowed, a.agreed, a.routed, a.paired, a.live_error_sum,
		     a.candidate_error_sum, a.candidate_better, a.live_better, a.promotions, a.rollbacks,
		     c.predictions, c.outcomes, c.error_sum, c.rolling_error, c.alert);
	return n > 0 && (unsigned long)n < len ? n : -1;
}

#endif
