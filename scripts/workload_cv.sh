#!/usr/bin/env bash
# Leave-VMs-out cross-validation of the workload model on the training side of the Bitbrains
# split: the VMs in DIR are cut into three folds by their position in name order (mod 3);
# each fold is judged by a model trained on the other two. Used to choose the design; the
# reported VMs are never in DIR. Prints, per fold and pooled over all VMs, the mean skill
# over active VMs (persistence MAE >= 0.5 pp) and the worst excess over persistence, for CPU
# and memory.
#   bash scripts/workload_cv.sh DIR [SEED] [extra train flags...]
set -euo pipefail
dir=${1:?usage: workload_cv.sh DIR [SEED] [train flags...]}
seed=${2:-42}
shift 2 || shift $#
T=${T:-./target/release/trainer}
work=$(mktemp -d)
mapfile -t files < <(ls "$dir"/*.csv | sort)
for k in 0 1 2; do
  mkdir -p "$work/fit$k" "$work/val$k"
  for i in "${!files[@]}"; do
    if [ $((i % 3)) -eq $k ]; then d=val$k; else d=fit$k; fi
    ln -s "$(readlink -f "${files[$i]}")" "$work/$d/"
  done
  "$T" train --model workload --data "bitbrains:$work/fit$k" --seed "$seed" \
    --out "$work/reg$k" --allow-worse "$@" >/dev/null 2>&1
  base=()
  [ -n "${BASELINES:-}" ] && base=(--baseline-data "bitbrains:$work/fit$k")
  "$T" evaluate --model-file "$work/reg$k/workload/v1.blob" --data "bitbrains:$work/val$k" \
    "${base[@]}" --seed "$seed" --json >"$work/fold$k.json" 2>/dev/null
done
python3 - "$work" "$seed" <<'PY'
import json, sys
work, seed = sys.argv[1], sys.argv[2]
files = []
for k in range(3):
    files += json.load(open(f"{work}/fold{k}.json"))["files"]
def show(label, get):
    for p, name in (("", "cpu"), ("mem_", "mem")):
        act = [f for f in files if f[p + "persistence_mae_pp"] >= 0.5]
        skill = sum(get(f)[p + "skill"] for f in act) / max(len(act), 1)
        worst = max(files, key=lambda f: get(f)[p + "mae_pp"] - f[p + "persistence_mae_pp"])
        ex = get(worst)[p + "mae_pp"] - worst[p + "persistence_mae_pp"]
        every = sum(get(f)[p + "skill"] for f in files) / len(files)
        print(f"seed {seed} {label:<14} {name}: mean skill (active, {len(act)} VMs) {skill:.3f}, "
              f"(all {len(files)}) {every:.3f}, "
              f"worst excess {ex:+.3f} pp ({worst['file'].split('/')[-1]})")
show("model", lambda f: f)
show("model_ungated", lambda f: f["baselines"]["model_ungated"])
if "gradient_boosting" in files[0]["baselines"]:
    show("boosting", lambda f: f["baselines"]["gradient_boosting"])
PY
rm -rf "$work"
