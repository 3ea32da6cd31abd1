#!/usr/bin/env bash
# Leave-one-series-out cross-validation of the workload model on the five NAB training series
# of docs/EVALUATION.md (never the three reported ones): each series is judged by a model
# trained on the other four. Prints the gated and the raw network's skill per series.
#   bash scripts/nab_workload_cv.sh NAB_DIR [SEED] [extra train flags...]
set -euo pipefail
N=${1:?usage: nab_workload_cv.sh NAB_DIR [SEED] [train flags...]}
seed=${2:-42}
shift 2 || shift $#
T=${T:-./target/release/trainer}
S="ec2_cpu_utilization_24ae8d ec2_cpu_utilization_53ea38 ec2_cpu_utilization_5f5533
   ec2_cpu_utilization_77c1ca rds_cpu_utilization_cc0c53"
work=$(mktemp -d)
for v in $S; do
  tr=()
  for x in $S; do [ "$x" != "$v" ] && tr+=(--data "nab:$N/$x.csv"); done
  "$T" train --model workload "${tr[@]}" --seed "$seed" --out "$work/reg-$v" --allow-worse \
    "$@" >/dev/null 2>&1
  "$T" evaluate --model-file "$work/reg-$v/workload/v1.blob" --data "nab:$N/$v.csv" \
    --seed "$seed" --json 2>/dev/null | python3 -c "
import json, sys
j = json.load(sys.stdin)
print(f\"seed $seed $v: skill {j['skill']:.3f}, raw network {j['baselines']['model_ungated']['skill']:.3f}\")"
done
rm -rf "$work"
