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
[ $# -gt 0 ] && thresholds=("$@") || thresholds=(300 400 500)
T=${T:-./target/release/trainer}
folds=("gzip sort perl" "bzip2 sqlite python" "xz awk cc1")
all="gzip sort perl bzip2 sqlite python xz awk cc1"
# MODELS=DIR keeps the fold models there and reuses them (to vary only the decision rule);
# EVAL_ARGS adds arguments to every evaluate (e.g. "--prefetch-feedback off")
out=${MODELS:-$(mktemp -d)}
mkdir -p "$out"
fmt='%-7s %5s | %6.3f %4.2f %6.3f %6.3f | %6.3f %4.2f %6d %6.3f %6.3f\n'
printf '%-7s %5s | %-25s | %-32s\n' program thr "line: model acc next best_off" "page: model acc issued leap readahead"
i=0
for fold in "${folds[@]}"; do
  i=$((i + 1))
  data=()
  for p in $all; do
    [[ " $fold " == *" $p "* ]] || data+=(--data "lackey:$traces/$p.lackey.gz")
  done
  blob=$out/fold$i-seed$seed.blob
  if [ ! -f "$blob" ]; then
    "$T" train --model memory "${data[@]}" --samples "${SAMPLES:-60000}" --seed "$seed" \
      --out "$out/reg$i" >/dev/null 2>&1
    cp "$(ls -t "$out"/reg$i/memory/v*.blob | head -n 1)" "$blob"
  fi
  for p in $fold; do
    for t in "${thresholds[@]}"; do
      "$T" evaluate --model-file "$blob" --data "lackey:$traces/$p.lackey.gz" \
        --min-probability "$t" ${EVAL_ARGS:-} --json 2>/dev/null | python3 -c "
import json, sys
r = json.load(sys.stdin)['programs'][0]
l, g = r['line'], r['page']
print('$fmt' % ('$p', '$t', l['model']['miss_reduction'], l['model']['prefetch_accuracy'],
      l['next_line']['miss_reduction'], l['best_offset']['miss_reduction'],
      g['model']['miss_reduction'], g['model']['prefetch_accuracy'], g['model']['prefetches'],
      g['leap']['miss_reduction'], g['readahead']['miss_reduction']), end='')"
    done
  done
done
[ -n "${MODELS:-}" ] || rm -rf "$out"
