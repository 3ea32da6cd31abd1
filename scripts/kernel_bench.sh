#!/usr/bin/env bash
# Latency of the kernel object, natively: the bare-metal static library (x86_64-unknown-none,
# what the kernel module links) called from C, the four built-in models, feature extraction
# included; built with prepared weights (the default on that target: three rows per 64-bit
# multiply) and without (AIML_SHIM_PREPARED_WORDS=0: the plain scalar loop), run alternately
# ROUNDS times so both see the same machine. Medians of the rounds, ns per prediction.
#
#   bash scripts/kernel_bench.sh [ROUNDS] [CALLS]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
ROUNDS=${1:-5}
CALLS=${2:-200000}
OUT=$ROOT/target/kernel-bench
SHIM=$ROOT/kernel-shim
mkdir -p "$OUT"
cargo run -q -p kernel-shim --example vectors -- "$OUT/gen" >/dev/null 2>&1
(cd "$SHIM" && cbindgen --quiet --config cbindgen.toml --crate kernel-shim --output "$OUT/aios_ml.h")
build() { # name, env...
  local name=$1; shift
  env "$@" cargo build -q --release -p kernel-shim --target x86_64-unknown-none \
    --target-dir "$ROOT/target/kernel-bench-$name"
  gcc -std=c11 -O2 -Wall -Wextra -Werror -Wno-unused-function -I "$OUT" -I "$SHIM/c" -I "$OUT/gen" \
    -o "$OUT/bench-$name" "$SHIM/c/bench_kernel.c" \
    "$ROOT/target/kernel-bench-$name/x86_64-unknown-none/release/libkernel_shim.a"
}
build prepared AIML_SHIM_PREPARED_WORDS=1152
build plain AIML_SHIM_PREPARED_WORDS=0
for r in $(seq "$ROUNDS"); do
  for name in prepared plain; do
    "$OUT/bench-$name" "$CALLS" | sed -n "s/^aiml-bench \([a-z]*\) \([0-9]*\) ns.*/$name \1 \2/p"
  done
done | python3 -c '
import sys, statistics
d = {}
for line in sys.stdin:
    v, m, ns = line.split()
    d.setdefault((m, v), []).append(int(ns))
print("model        prepared (ns)  plain (ns)  ratio")
for m in ["workload", "threat", "failure", "memory"]:
    p, s = statistics.median(d[(m, "prepared")]), statistics.median(d[(m, "plain")])
    print(f"{m:10s} {p:14.0f} {s:11.0f} {p / s:6.2f}")'
