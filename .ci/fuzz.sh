#!/usr/bin/env bash
# Fuzzing, called by .ci/run; runnable locally.
#   bash .ci/fuzz.sh [SECONDS_PER_TARGET] [TARGET ...]     (default: 20 s, every target)
# Builds the libFuzzer targets of fuzz/ with coverage instrumentation (stable rustc, the flags
# cargo-fuzz uses minus the sanitizer: the code under test has no `unsafe`), seeds a corpus
# from the real built-in blobs (unsigned and signed with the fixed test key) and small
# real-format lines, runs each target for a fixed time and fails on any crash, panic or
# timeout. Prints execs/s and total execs per target. Work files go to target/fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECS=${1:-20}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(blob_load features parse_jsonl parse_nab parse_adfa parse_strace parse_lackey)
W=$ROOT/target/fuzz
HOST=$(rustc -vV | sed -n 's/^host: //p')
mkdir -p "$W"

echo "== fuzz: build (coverage-instrumented, release)"
# --target keeps the flags off build scripts and proc macros, as cargo-fuzz does.
RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks" \
  cargo build -q --release --manifest-path fuzz/Cargo.toml --target "$HOST" --bins
BIN=$ROOT/fuzz/target/$HOST/release

echo "== fuzz: seed corpora"
rm -rf "$W/corpus" "$W/artifacts"
for t in "${TARGETS[@]}"; do mkdir -p "$W/corpus/$t" "$W/artifacts/$t"; done
if [ -d "$W/corpus/blob_load" ]; then
  # The test key: seed 0x5A x 32 (public, for tests only; fuzz_targets/blob_load.rs uses it).
  printf '5a%.0s' $(seq 32) >"$W/test.key"
  echo >>"$W/test.key"
  chmod 600 "$W/test.key"
  for k in workload threat failure memory; do
    cp "inference-core/models/$k.blob" "$W/corpus/blob_load/$k.blob"
    cargo run -q -p trainer -- sign "inference-core/models/$k.blob" --key "$W/test.key" \
      --out "$W/corpus/blob_load/$k.signed.blob" >/dev/null
  done
  cargo run -q -p trainer -- revoke --key "$W/test.key" --sequence 3 \
    --id 0123456789abcdef --id fedcba9876543210 --out "$W/corpus/blob_load/revocation.bin" >/dev/null
fi
python3 - "$W/corpus" <<'PY'
import os, struct, sys
root = sys.argv[1]
def put(target, name, data):
    d = os.path.join(root, target)
    if os.path.isdir(d):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
# features: model selector byte, then observations in the target's little-endian layout
w = b"".join(bytes([3]) + struct.pack("<HHHQ", 4000 + 100 * i, 5000, 100, 1_700_000_000 + 60 * i) for i in range(12))
put("features", "workload", bytes([0]) + w)
t = b"".join(struct.pack("<8IQ", 120, 2, 5, i % 2, 3, 10, 256, 0, 1000 * i) for i in range(6))
put("features", "threat", bytes([1]) + t)
f = b"".join(bytes([i % 5 == 4]) + struct.pack("<Q", 1_700_000_000 + 600 * i) + (b"" if i % 5 == 4 else struct.pack("<H", 900 - i)) for i in range(25))
put("features", "failure", bytes([2]) + f)
m = b"".join(struct.pack("<QQ", 0x7ff000100 + 64 * i, 0x401000 + 4 * (i % 3)) + bytes([i % 3]) + struct.pack("<Q", 10 * i) for i in range(24))
put("features", "memory", bytes([3]) + m)
put("parse_jsonl", "workload", b"\x00" + b'{"model":"workload","t":1700000000,"series":"h1","cpu":12.5,"mem":40,"gpu":null}\n{"model":"workload","t":1700000060,"series":"h1","cpu":"NaN"}\n')
put("parse_jsonl", "threat", b"\x01" + b'{"model":"threat","t_ms":1000,"process":"ab12","syscalls":10,"network_connections":0,"file_accesses":3,"privilege_attempts":0,"failed_syscalls":1,"memory_allocs":0,"alloc_kib":0,"spawns":0,"label":"ransomware"}\n')
put("parse_jsonl", "failure", b"\x02" + b'{"model":"failure","t":5,"component":"disk0","health":930}\n{"model":"failure","t":6,"component":"disk0","health":1e9}\n')
put("parse_nab", "series", "timestamp,value\n2014-04-10 00:02:00,14.012\n2014-04-10 00:07:00,13.894\n2014-04-10 00:12:00,inf\n2014-04-10 00:17:00,14.2\n")
put("parse_adfa", "trace", "6 6 63 6 42 120 6 195 120 6 6 114 114 1 1 252 252 252 1 1 1 1\n")
put("parse_adfa", "bad", "6 6 999 x\n")
put("parse_strace", "trace", "4242 1700000000.000100 execve(\"/bin/sh\", [\"sh\"], 0x7ffd /* 3 vars */) = 0\n4242 1700000000.000200 openat(AT_FDCWD, \"/etc/x\", O_RDONLY) = -1 ENOENT (No such file or directory)\n4243 1700000000.000300 read(3,  <unfinished ...>\n4242 1700000000.000400 mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, 3, 0) = 0x7f00\n4243 1700000000.000500 <... read resumed>\"x\", 1) = 1\n4243 1700000000.000600 +++ exited with 0 +++\n")
put("parse_lackey", "trace", "==1234== Lackey, an example Valgrind tool\nI  04001c30,3\n L 1ffefff8a8,8\n S 7ff000108,8\n M 0421a5c8,4\nI  04001c33,2\n")
PY

# one target per core at a time: each still runs SECS seconds
run() { # target
  local t=$1 rc=0
  "$BIN/$t" "$W/corpus/$t" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
    -max_len=8192 -print_final_stats=1 -artifact_prefix="$W/artifacts/$t/" >"$W/$t.log" 2>&1 || rc=$?
  echo "$rc" >"$W/$t.rc"
}
for t in "${TARGETS[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]; do wait -n || true; done
  run "$t" &
done
wait
fail=0
for t in "${TARGETS[@]}"; do
  log=$W/$t.log
  rc=$(cat "$W/$t.rc")
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  printf '  %-13s %3s s  %9s execs  %7s execs/s  corpus %s\n' "$t" "$SECS" "${execs:-?}" \
    "${rate:-?}" "$(ls "$W/corpus/$t" | wc -l)"
  if [ "$rc" -ne 0 ] || ls "$W/artifacts/$t" | grep -q .; then
    tail -40 "$log"
    echo "fuzz: FAILED: $t (exit $rc; reproducer in $W/artifacts/$t/)" >&2
    fail=1
  fi
done
[ $fail -eq 0 ] || exit 1
echo "== fuzz: no crash"
