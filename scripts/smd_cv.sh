#!/usr/bin/env bash
# Leave-machines-out cross-validation of the failure model on the nine SMD/ASD training
# machines (the 13 files by name order, every third held out for the report: machine-2-2,
# omi-1, omi-4, omi-8 are never part of it). The nine are split the same way into three folds
# of three; each fold trains on the other six (--baseline-data the same six) and evaluates on
# its three. Prints one line per fold and seed, then the figures pooled over the folds, with
# each policy's chance rate (its own alarms rotated to random times; see trainer eval::events).
#   bash scripts/smd_cv.sh [SMD_DIR] [SEEDS...]
# Extra `train` flags (e.g. a `tune` result): TRAIN_FLAGS="--params FILE" bash scripts/smd_cv.sh ...
set -euo pipefail
data=${1:-../shared/data/smd}
shift || true
[ $# -gt 0 ] && seeds=("$@") || seeds=(42 1 2)
T=${T:-./target/release/trainer}
data=$(cd "$data" && pwd)
out=$(mktemp -d)
i=0
nine=()
for f in $(ls "$data" | grep 'csv.gz$' | sort); do
  i=$((i + 1))
  [ $((i % 3)) -eq 0 ] || nine+=("$f")
done
for k in 0 1 2; do
  mkdir -p "$out/f$k/train" "$out/f$k/eval"
  for j in "${!nine[@]}"; do
    if [ $((j % 3)) -eq $k ]; then d=eval; else d=train; fi
    ln -s "$data/${nine[$j]}" "$out/f$k/$d/"
  done
done
for s in "${seeds[@]}"; do
  for k in 0 1 2; do
    "$T" train --model failure --data "smd:$out/f$k/train" --out "$out/reg$k-$s" --seed "$s" \
      --allow-worse ${TRAIN_FLAGS:-} >/dev/null 2>&1
    "$T" evaluate --model-file "$out/reg$k-$s/failure/v1.blob" --data "smd:$out/f$k/eval" \
      --baseline-data "smd:$out/f$k/train" --json >"$out/eval-$k-$s.json" 2>/dev/null
  done
done
python3 - "$out" "${seeds[@]}" <<'PY'
import json, sys
out, seeds = sys.argv[1], sys.argv[2:]
pols = ['model', 'health_threshold', 'logistic_regression']
print('%-4s %-5s | %-31s | %-31s | %-31s' % ('seed', 'fold', *[p + ': warned lead fa/d after' for p in pols]))
tot = {p: [0, 0, 0.0, 0.0, 0, 0, 0.0] for p in pols}
for s in seeds:
    per = {p: [0, 0, 0.0, 0.0, 0, 0, 0.0] for p in pols}
    for k in range(3):
        v = json.load(open(f'{out}/eval-{k}-{s}.json'))['incidents']
        cells = []
        for p in pols:
            e = v.get(p)
            if e is None:
                cells.append('%-31s' % '-')
                continue
            w = round(e['detection_rate'] * e['incidents'])
            a = round(e['detected_within_5min_after_onset'] * e['incidents_with_rows'])
            for acc in (per[p], tot[p]):
                acc[0] += w; acc[1] += e['incidents']; acc[2] += e['false_alarms']
                acc[3] += e['machine_days']; acc[4] += a; acc[5] += e['incidents_with_rows']
                acc[6] += e.get('chance_detection_rate', 0.0) * e['incidents']
            cells.append('%3d/%-3d %4.0fm %5.2f %3d/%-3d' % (w, e['incidents'], e['median_lead_time_s'] / 60,
                         e['false_alarms_per_day'], a, e['incidents_with_rows']))
        print('%-4s %-5s | %s' % (s, k, ' | '.join(cells)))
    print('%-4s %-5s | %s' % (s, 'all', ' | '.join('%5.1f%% (chance %4.1f%%) fa/d %4.2f after %5.1f%%' % (
        100 * a[0] / max(a[1], 1), 100 * a[6] / max(a[1], 1), a[2] / max(a[3], 1e-9), 100 * a[4] / max(a[5], 1)) for a in per.values())))
print('%-10s | %s' % ('all seeds', ' | '.join('%5.1f%% (chance %4.1f%%) fa/d %4.2f after %5.1f%%' % (
    100 * a[0] / max(a[1], 1), 100 * a[6] / max(a[1], 1), a[2] / max(a[3], 1e-9), 100 * a[4] / max(a[5], 1)) for a in tot.values())))
PY
rm -rf "$out"
