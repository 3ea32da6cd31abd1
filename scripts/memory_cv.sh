#!/usr/bin/env bash
# Leave-programs-out cross-validation of the memory model on the development programs
# (traces from scripts/record_lackey_traces.sh): three folds of three programs; each fold
# trains on the other six and replays its three through the cache simulator at each
# operating threshold. Used to choose design and threshold; the five reported programs
# (zstd, bc, sha256, grep, tar) are never part of it.
#   bash scripts/memory_cv.sh [TRACES] [SEED] [THRESHOLDS...]
set -euo pipefail
traces=${1:-/tmp/traces}
seed=${2:-42}
shift 2 || true
thresholds=("${@:-300 400 500}")
[ $# -gt 0 ] && thresholds=("$@") || thresholds=(300 400 500)
T=${T:-./target/release/trainer}
folds=("gzip sort perl" "bzip2 sqlite python" "xz awk cc1")
all="gzip sort perl bzip2 sqlite python xz awk cc1"
out=$(mktemp -d)
printf '%-7s %5s %8s %6s %8s %6s\n' program thr model acc next_l acc
for fold in "${folds[@]}"; do
  data=()
  for p in $all; do
    [[ " $fold " == *" $p "* ]] || data+=(--data "lackey:$traces/$p.lackey.gz")
  done
  "$T" train --model memory "${data[@]}" --samples "${SAMPLES:-60000}" --seed "$seed" \
    --out "$out/reg" >/dev/null 2>&1
  blob=$(ls -t "$out"/reg/memory/v*.blob | head -n 1)
  for p in $fold; do
    for t in "${thresholds[@]}"; do
      "$T" evaluate --model-file "$blob" --data "lackey:$traces/$p.lackey.gz" \
        --min-probability "$t" --json 2>/dev/null | python3 -c "
import json, sys
d = json.load(sys.stdin)
print('%-7s %5s %8.3f %6.2f %8.3f %6.2f' % ('$p', '$t', d['miss_reduction'],
      d['prefetch_accuracy_model'], d['miss_reduction_next_line'],
      d['prefetch_accuracy_next_line']))"
    done
  done
done
rm -rf "$out"
