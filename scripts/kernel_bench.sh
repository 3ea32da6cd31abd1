#!/usr/bin/env bash
# Latency of the kernel object, natively: the bare-metal static library (x86_64-unknown-none,
# what the kernel module links) called from C, the four built-in models, feature extraction
# included; built with prepared weights (the default on that target: three rows per 64-bit
# multiply) and without (AIML_SHIM_PREPARED_WORDS=0: the plain scalar loop, no SIMD: the
# naive reference), and the same library built for user space (x86_64-unknown-linux-gnu, the
# kernel-safe path forced with inference-core's `scalar` feature: prepared SWAR weights, as
# the kernel object), run alternately ROUNDS times so all see the same machine. Medians of
# the rounds, ns per prediction; `ratio` is prepared / plain, `kernel/user` the kernel object
# against the user-space build of the same path.
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
link() { # name, static library
  gcc -std=c11 -O2 -Wall -Wextra -Werror -Wno-unused-function -I "$OUT" -I "$SHIM/c" -I "$OUT/gen" \
    -o "$OUT/bench-$1" "$SHIM/c/bench_kernel.c" "$2"
}
build() { # name, env...
  local name=$1; shift
  env "$@" cargo build -q --release -p kernel-shim --target x86_64-unknown-none \
    --target-dir "$ROOT/target/kernel-bench-$name"
  link "$name" "$ROOT/target/kernel-bench-$name/x86_64-unknown-none/release/libkernel_shim.a"
}
build prepared AIML_SHIM_PREPARED_WORDS=1152
build plain AIML_SHIM_PREPARED_WORDS=0
cargo build -q --release -p kernel-shim --features inference-core/scalar \
  --target-dir "$ROOT/target/kernel-bench-user"
link user "$ROOT/target/kernel-bench-user/release/libkernel_shim.a"
for r in $(seq "$ROUNDS"); do
  for name in prepared plain user; do
    "$OUT/bench-$name" "$CALLS" | sed -n "s/^aiml-bench \([a-z]*\) \([0-9]*\) ns.*/$name \1 \2/p"
  done
done | python3 -c '
import sys, statistics
d = {}
for line in sys.stdin:
    v, m, ns = line.split()
    d.setdefault((m, v), []).append(int(ns))
print("model        prepared (ns)  plain (ns)  ratio  user space (ns)  kernel/user")
for m in ["workload", "threat", "failure", "memory"]:
    p, s = statistics.median(d[(m, "prepared")]), statistics.median(d[(m, "plain")])
    u = statistics.median(d[(m, "user")])
    print(f"{m:10s} {p:14.0f} {s:11.0f} {p / s:6.2f} {u:16.0f} {p / u:12.2f}")'
