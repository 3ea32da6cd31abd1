#!/usr/bin/env bash
# The int16 multiply-accumulate peak of this CPU's AVX2 unit: eight independent chains of
# `vpmaddwd` + `vpaddd` on 256-bit registers (16 products each), no loads, so nothing but the
# multiply-add throughput limits it. What no int8/int16 network on this host can go below:
# a network of N multiply-accumulates needs at least N / rate.
#   bash scripts/peak_madd.sh
set -euo pipefail
dir=$(mktemp -d)
cat > "$dir/madd.c" <<'C'
#include <immintrin.h>
#include <stdio.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
#define M(k) a##k = _mm256_add_epi32(a##k, _mm256_madd_epi16(w##k, x));
int main(void) {
	__m256i a0 = _mm256_set1_epi32(1), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
	__m256i w0 = _mm256_set1_epi32(3), w1 = _mm256_set1_epi32(5), w2 = _mm256_set1_epi32(7), w3 = _mm256_set1_epi32(9);
	__m256i w4 = _mm256_set1_epi32(11), w5 = _mm256_set1_epi32(13), w6 = _mm256_set1_epi32(15), w7 = _mm256_set1_epi32(17);
	__m256i x = _mm256_set1_epi32(3);
	long n, N = 100000000;
	double t0 = now(), t;
	for (n = 0; n < N; n++) {
		__asm__ volatile("" : "+x"(x));
		M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7)
	}
	t = now() - t0;
	a0 = _mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(a0, a1), _mm256_add_epi32(a2, a3)),
			      _mm256_add_epi32(_mm256_add_epi32(a4, a5), _mm256_add_epi32(a6, a7)));
	printf("%.3f ns per 256-bit vpmaddwd (16 int16 products): %.1f GMAC/s; "
	       "a 1696-MAC network >= %.0f ns, 3360 MACs >= %.0f ns (checksum %d)\n",
	       t / (N * 8) * 1e9, N * 8 * 16 / t / 1e9, 1696 / (N * 8 * 16 / t) * 1e9,
	       3360 / (N * 8 * 16 / t) * 1e9, _mm256_extract_epi32(a0, 0));
	return 0;
}
C
gcc -O2 -mavx2 -o "$dir/madd" "$dir/madd.c"
"$dir/madd"
rm -rf "$dir"
