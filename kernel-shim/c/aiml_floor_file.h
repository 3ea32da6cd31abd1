/*
 * Reference persistent anti-rollback store for user space (aiml_set_rollback_store): the
 * five counters in one small text file ("workload threat failure memory revocation\n": the
 * four model floors and the sequence of the newest revocation list, kind
 * AIML_REVOCATION_COUNTER; a file of four numbers, from before revocation, reads its fifth as
 * 0), raised with a
 * write to a temporary file, fsync and rename, so that a crash leaves the old floors or the
 * new ones, never a torn file. ctx is the file's path. A missing file reads as all zeros.
 *
 * A kernel or firmware build maps the same two functions onto monotonic hardware instead
 * (docs/SECURITY.md): a TPM 2.0 NV counter per kind (TPM2_NV_Increment up to the version),
 * an eMMC RPMB block (authenticated write counter), or eFuse bits.
 */
#ifndef AIML_FLOOR_FILE_H
#define AIML_FLOOR_FILE_H

/* needs POSIX (fsync, fileno, O_DIRECTORY): define _GNU_SOURCE before the first include */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "aios_ml.h"

/* The index of a counter in the file, or -1 for a kind the store does not keep. */
static int aiml_floor_file_index(uint32_t kind)
{
	if (kind >= AIML_KIND_WORKLOAD && kind <= AIML_KIND_MEMORY)
		return (int)(kind - AIML_KIND_WORKLOAD);
	return kind == AIML_REVOCATION_COUNTER ? 4 : -1;
}

/* The five counters, or -1 if the file exists but cannot be parsed. */
static int aiml_floor_file_load(const char *path, uint32_t floors[5])
{
	FILE *f = fopen(path, "r");
	int n;
	floors[0] = floors[1] = floors[2] = floors[3] = floors[4] = 0;
	if (!f)
		return 0;
	n = fscanf(f, "%u %u %u %u %u", &floors[0], &floors[1], &floors[2], &floors[3], &floors[4]);
	fclose(f);
	return n == 4 || n == 5 ? 0 : -1;
}

static int32_t aiml_floor_file_read(void *ctx, uint32_t kind, uint32_t *floor)
{
	uint32_t floors[5];
	int i = aiml_floor_file_index(kind);
	if (i < 0 || aiml_floor_file_load((const char *)ctx, floors) != 0)
		return -1;
	*floor = floors[i];
	return 0;
}

static int32_t aiml_floor_file_raise(void *ctx, uint32_t kind, uint32_t version)
{
	const char *path = (const char *)ctx;
	char tmp[4096];
	uint32_t floors[5];
	FILE *f;
	int fd, i = aiml_floor_file_index(kind);

	if (i < 0 || aiml_floor_file_load(path, floors) != 0)
		return -1;
	if (floors[i] >= version)
		return 0; /* never lowered */
	floors[i] = version;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	if (fprintf(f, "%u %u %u %u %u\n", floors[0], floors[1], floors[2], floors[3], floors[4]) < 0 ||
	    fflush(f) != 0 || fsync(fileno(f)) != 0) {
		fclose(f);
		unlink(tmp);
		return -1;
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	/* the rename itself is durable once the directory is synced */
	{
		char *slash = strrchr(tmp, '/');
		if (slash)
			*slash = '\0';
		else
			tmp[0] = '.', tmp[1] = '\0';
	}
	fd = open(tmp, O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	return 0;
}

#endif
