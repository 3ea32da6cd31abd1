/*
 * Persistent anti-rollback across a "reboot": run twice with the same floor file, each run a
 * fresh process and so a fresh shim (RAM floors forgotten), the way a reboot or a module
 * reload forgets them. The store is the reference file store (aiml_floor_file.h).
 *
 *   test_rollback FILE 1   # first boot: v9 loads and is persisted; v8 refused; a failing
 *                          # store refuses the load and keeps the model
 *   test_rollback FILE 2   # after the reboot: v8 refused by the persisted floor alone;
 *                          # a forced v8 loads and leaves the persisted floor at 9
 *   test_rollback FILE 3   # revocation: list 2 retires the second key and its sequence is
 *                          # persisted; the older list 1 is refused
 *   test_rollback FILE 4   # after the reboot: every load refused as stale until list 2 is
 *                          # applied again; list 1 still refused; the retired key's blob
 *                          # refused, the first key's loads
 *
 * stdout: one "aiml-rollback" line per phase. Exit status 0 only if every check held.
 * Build: see .ci/kernel.sh.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aios_ml.h"
#include "aiml_vectors.h"
#include "aiml_floor_file.h"

#include "aiml_expect.h"

static const uint32_t W = AIML_KIND_WORKLOAD;

static uint32_t loaded_version(void)
{
	AimlModelInfo info;
	if (aiml_info(W, &info) != AIML_STATUS_OK || info.source != AIML_SOURCE_LOADED)
		return 0;
	return info.version;
}

static uint32_t persisted(const char *path)
{
	uint32_t v = 0;
	CHECK(aiml_floor_file_read((void *)path, W, &v) == 0);
	return v;
}

static int32_t failing_raise(void *ctx, uint32_t kind, uint32_t version)
{
	(void)ctx, (void)kind, (void)version;
	return -5;
}

int main(int argc, char **argv)
{
	const char *path = argc > 2 ? argv[1] : NULL;
	int phase = argc > 2 ? atoi(argv[2]) : 0;

	if (!path || phase < 1 || phase > 4) {
		fprintf(stderr, "usage: test_rollback FILE 1|2|3|4\n");
		return 2;
	}
	EXPECT(aiml_init(), AIML_STATUS_OK);
	EXPECT(aiml_set_rollback_store(aiml_floor_file_read, NULL, (void *)path),
	       AIML_STATUS_INVALID_ARGUMENT);
	EXPECT(aiml_set_rollback_store(aiml_floor_file_read, aiml_floor_file_raise, (void *)path),
	       AIML_STATUS_OK);
	EXPECT(aiml_set_key(AIML_TEST_PUBKEY, false), AIML_STATUS_OK);

	if (phase == 1) {
		remove(path);
		EXPECT(aiml_load(W, AIML_SIGNED_WORKLOAD_V9, sizeof(AIML_SIGNED_WORKLOAD_V9)),
		       AIML_STATUS_OK);
		CHECK(loaded_version() == 9);
		CHECK(persisted(path) == 9);
		EXPECT(aiml_load(W, AIML_SIGNED_WORKLOAD_V8, sizeof(AIML_SIGNED_WORKLOAD_V8)),
		       AIML_STATUS_BLOB_ROLLBACK);
		/* a store that cannot make the floor durable refuses a load that would raise it
		 * (a fresh, empty store: floor 0): the model stays */
		{
			static char fresh[4096];
			snprintf(fresh, sizeof(fresh), "%s.fresh", path);
			remove(fresh);
			EXPECT(aiml_set_rollback_store(aiml_floor_file_read, failing_raise, fresh),
			       AIML_STATUS_OK);
			EXPECT(aiml_load_force(W, AIML_SIGNED_WORKLOAD_V8,
					       sizeof(AIML_SIGNED_WORKLOAD_V8)),
			       AIML_STATUS_OK);
			CHECK(loaded_version() == 8);
			EXPECT(aiml_load(W, AIML_SIGNED_WORKLOAD_V9,
					 sizeof(AIML_SIGNED_WORKLOAD_V9)),
			       AIML_STATUS_ROLLBACK_STORE);
			CHECK(loaded_version() == 8);
			CHECK(persisted(path) == 9);
		}
		/* a store that cannot be read refuses every load */
		{
			static char bad[4096];
			FILE *f;
			snprintf(bad, sizeof(bad), "%s.unreadable", path);
			f = fopen(bad, "w");
			CHECK(f != NULL);
			if (f) {
				fputs("not four numbers\n", f);
				fclose(f);
			}
			EXPECT(aiml_set_rollback_store(aiml_floor_file_read, aiml_floor_file_raise,
						       bad),
			       AIML_STATUS_OK);
			EXPECT(aiml_load(W, AIML_SIGNED_WORKLOAD_V9,
					 sizeof(AIML_SIGNED_WORKLOAD_V9)),
			       AIML_STATUS_ROLLBACK_STORE);
			CHECK(loaded_version() == 8);
			remove(bad);
		}
	} else if (phase == 3) {
		uint32_t seq = 0;
		EXPECT(aiml_add_key(AIML_KEY2_PUBKEY, AIML_KEY_ROLE_MODELS, NULL), AIML_STATUS_OK);
		EXPECT(aiml_add_key(AIML_REVOKER_PUBKEY, AIML_KEY_ROLE_REVOCATION, NULL),
		       AIML_STATUS_OK);
		EXPECT(aiml_load(W, AIML_SIG2_WORKLOAD_V10_KEY2, sizeof(AIML_SIG2_WORKLOAD_V10_KEY2)),
		       AIML_STATUS_OK);
		EXPECT(aiml_revoke(AIML_REVOKE_SEQ2_KEY2, sizeof(AIML_REVOKE_SEQ2_KEY2)),
		       AIML_STATUS_OK);
		CHECK(loaded_version() == 0); /* the retired key's model left the slot */
		CHECK(aiml_floor_file_read((void *)path, AIML_REVOCATION_COUNTER, &seq) == 0 &&
		      seq == 2);
		EXPECT(aiml_revoke(AIML_REVOKE_SEQ1_NONE, sizeof(AIML_REVOKE_SEQ1_NONE)),
		       AIML_STATUS_BLOB_ROLLBACK);
	} else if (phase == 4) {
		/* fresh shim: no list applied, the store says list 2 was */
		EXPECT(aiml_add_key(AIML_KEY2_PUBKEY, AIML_KEY_ROLE_MODELS, NULL), AIML_STATUS_OK);
		EXPECT(aiml_add_key(AIML_REVOKER_PUBKEY, AIML_KEY_ROLE_REVOCATION, NULL),
		       AIML_STATUS_OK);
		EXPECT(aiml_load(W, AIML_SIG2_WORKLOAD_V10_KEY2, sizeof(AIML_SIG2_WORKLOAD_V10_KEY2)),
		       AIML_STATUS_BLOB_REVOCATION_STALE);
		EXPECT(aiml_load(W, AIML_SIG2_WORKLOAD_V11_KEY1, sizeof(AIML_SIG2_WORKLOAD_V11_KEY1)),
		       AIML_STATUS_BLOB_REVOCATION_STALE);
		CHECK(loaded_version() == 0);
		/* the replay an attacker would try: the older list, which retires nothing */
		EXPECT(aiml_revoke(AIML_REVOKE_SEQ1_NONE, sizeof(AIML_REVOKE_SEQ1_NONE)),
		       AIML_STATUS_BLOB_ROLLBACK);
		EXPECT(aiml_revoke(AIML_REVOKE_SEQ2_KEY2, sizeof(AIML_REVOKE_SEQ2_KEY2)),
		       AIML_STATUS_OK);
		EXPECT(aiml_load(W, AIML_SIG2_WORKLOAD_V10_KEY2, sizeof(AIML_SIG2_WORKLOAD_V10_KEY2)),
		       AIML_STATUS_BLOB_KEY_REVOKED);
		EXPECT(aiml_load(W, AIML_SIG2_WORKLOAD_V11_KEY1, sizeof(AIML_SIG2_WORKLOAD_V11_KEY1)),
		       AIML_STATUS_OK);
		CHECK(loaded_version() == 11);
		/* after the lock a newer list is still accepted (it only takes trust away) */
		EXPECT(aiml_lock_policy(), AIML_STATUS_OK);
		EXPECT(aiml_revoke(AIML_REVOKE_SEQ2_KEY2, sizeof(AIML_REVOKE_SEQ2_KEY2)),
		       AIML_STATUS_OK);
	} else {
		/* fresh shim: the RAM floor is 0, the persisted one is 9 */
		CHECK(persisted(path) == 9);
		EXPECT(aiml_load(W, AIML_SIGNED_WORKLOAD_V8, sizeof(AIML_SIGNED_WORKLOAD_V8)),
		       AIML_STATUS_BLOB_ROLLBACK);
		CHECK(loaded_version() == 0);
		EXPECT(aiml_load_force(W, AIML_SIGNED_WORKLOAD_V8, sizeof(AIML_SIGNED_WORKLOAD_V8)),
		       AIML_STATUS_OK);
		CHECK(loaded_version() == 8);
		CHECK(persisted(path) == 9);
		EXPECT(aiml_load(W, AIML_SIGNED_WORKLOAD_V9, sizeof(AIML_SIGNED_WORKLOAD_V9)),
		       AIML_STATUS_OK);
		CHECK(loaded_version() == 9);
		/* locked: the store cannot be swapped for one that forgets */
		EXPECT(aiml_lock_policy(), AIML_STATUS_OK);
		EXPECT(aiml_set_rollback_store(NULL, NULL, NULL), AIML_STATUS_POLICY_LOCKED);
	}
	printf("aiml-rollback phase %d (%s): %s\n", phase,
	       phase == 1   ? "first boot"
	       : phase == 2 ? "after reboot, fresh shim"
	       : phase == 3 ? "revocation list 2 applied and persisted"
			    : "after reboot: stale until list 2 is applied again, replay refused",
	       failures ? "FAIL" : "ok");
	return failures != 0;
}
