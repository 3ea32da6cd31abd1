#!/usr/bin/env bash
# Leave-one-attack-session-out cross-validation of the threat detector on the TRAINING side of
# an ADFA-LD split (the train/ tree of scripts/adfa_split.sh: normal traces 1-600, attack
# sessions 1-3). Fold k holds out attack session k of every type and every third normal
# trace; the model trains on the rest. Every design choice of the call-order features was
# made with this script; the evaluation split is never read.
#   bash scripts/adfa_split.sh ../shared/data/adfa-ld /tmp/adfa
#   bash scripts/adfa_cv.sh /tmp/adfa/train [SEEDS...] [-- extra train args]
set -euo pipefail
train=$(cd "${1:?ADFA-LD training tree (from adfa_split.sh)}" && pwd)
shift
seeds=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do seeds+=("$1"); shift; done
[ $# -gt 0 ] && shift
[ ${#seeds[@]} -eq 0 ] && seeds=(1 2)
T=${TRAINER:-./target/release/trainer}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for k in 1 2 3; do
  d=$work/fold$k
  mkdir -p "$d/train/Training_Data_Master" "$d/train/Attack_Data_Master" \
    "$d/val/Validation_Data_Master" "$d/val/Attack_Data_Master"
  i=0
  for f in $(ls "$train/Training_Data_Master" | sort); do
    i=$((i + 1))
    src=$(readlink -f "$train/Training_Data_Master/$f")
    if [ $((i % 3 + 1)) -eq $k ]; then dst=val/Validation_Data_Master; else dst=train/Training_Data_Master; fi
    ln -s "$src" "$d/$dst/$f"
  done
  for a in $(ls "$train/Attack_Data_Master"); do
    src=$(readlink -f "$train/Attack_Data_Master/$a")
    if [ "${a##*_}" -eq $k ]; then ln -s "$src" "$d/val/Attack_Data_Master/$a"; else ln -s "$src" "$d/train/Attack_Data_Master/$a"; fi
  done
  for s in "${seeds[@]}"; do
    rm -rf "$work/m"
    "$T" train --model threat --data "adfa:$d/train" --out "$work/m" --seed "$s" "$@" >/dev/null
    "$T" evaluate --model-file "$work/m/threat/v1.blob" --data "adfa:$d/val" \
      --baseline-data "adfa:$d/train" --json
  done
done | python3 -c '
import json, statistics as st, sys
runs = [json.loads(l) for l in sys.stdin]
print(f"{len(runs)} runs (3 folds x seeds)")
for k in ["detector", "stide", "logistic_regression"]:
    a = [r[k]["roc_auc"] for r in runs]
    d5 = [r[k]["detection_at_fpr_5pct"] for r in runs]
    d1 = [r[k]["detection_at_fpr_1pct"] for r in runs]
    print(f"{k:20s} AUC {st.mean(a):.3f} ({min(a):.3f}-{max(a):.3f})  "
          f"detection at FPR<=5% {st.mean(d5):.3f}  at FPR<=1% {st.mean(d1):.3f}")
'
