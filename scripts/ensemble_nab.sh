#!/usr/bin/env bash
# Held-out NAB figures of the workload model trained without and with a seed ensemble
# (docs/EVALUATION.md, "Ensembles"): trained on the five training series, judged on the three
# reported ones, seeds 42, 1 and 2.
#   bash scripts/ensemble_nab.sh NAB_DIR [K]
set -euo pipefail
N=${1:?usage: ensemble_nab.sh NAB_DIR [K]}
K=${2:-3}
T=${T:-./target/release/trainer}
TR=(--data "nab:$N/ec2_cpu_utilization_24ae8d.csv" --data "nab:$N/ec2_cpu_utilization_53ea38.csv"
    --data "nab:$N/ec2_cpu_utilization_5f5533.csv" --data "nab:$N/ec2_cpu_utilization_77c1ca.csv"
    --data "nab:$N/rds_cpu_utilization_cc0c53.csv")
EV=(--data "nab:$N/ec2_cpu_utilization_825cc2.csv" --data "nab:$N/ec2_cpu_utilization_ac20cd.csv"
    --data "nab:$N/rds_cpu_utilization_e47b3b.csv")
work=$(mktemp -d)
for s in 42 1 2; do for e in 1 "$K"; do
  "$T" train --model workload "${TR[@]}" --seed "$s" --out "$work/$s-$e" --allow-worse \
    --ensemble "$e" >/dev/null 2>&1
  "$T" evaluate --model-file "$work/$s-$e/workload/v1.blob" "${EV[@]}" --json 2>/dev/null |
    python3 -c "
import json, sys
j = json.load(sys.stdin)
print('seed $s ensemble $e: mae %.3f persistence %.3f skill %.3f within5 %.3f raw network %.3f' % (
    j['mae_pp'], j['persistence_mae_pp'], j['skill'], j['within_5pp'],
    j['baselines']['model_ungated']['skill']))"
done; done
rm -rf "$work"
