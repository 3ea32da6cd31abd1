#!/usr/bin/env bash
# Warm start (transfer learning) on NAB CPU series: pre-train the workload model on the five
# training series, then for each of the three held-out series fine-tune it on the first 30 %
# (--init-from), and evaluate on the remaining 70 % against the pre-trained model as it is and
# against a model trained from scratch on the same 30 %. Nothing is chosen on these figures:
# every run uses the trainer's defaults.
#   bash scripts/warm_start.sh NAB_DIR [SEED...]     (default seeds 42 1 2; ~3 min a seed)
set -euo pipefail
N=${1:?NAB folder}
shift
[ $# -gt 0 ] && seeds=("$@") || seeds=(42 1 2)
T=${T:-./target/release/trainer}
W=${WORK:-$(mktemp -d)}
TR=()
for s in ec2_cpu_utilization_24ae8d ec2_cpu_utilization_53ea38 ec2_cpu_utilization_5f5533 \
         ec2_cpu_utilization_77c1ca rds_cpu_utilization_cc0c53; do
  TR+=(--data "nab:$N/$s.csv")
done
held=(ec2_cpu_utilization_825cc2 ec2_cpu_utilization_ac20cd rds_cpu_utilization_e47b3b)
for s in "${held[@]}"; do
  rows=$(($(wc -l < "$N/$s.csv") - 1)); first=$((rows * 3 / 10))
  sed -n "1,$((first + 1))p" "$N/$s.csv" > "$W/$s.first.csv"
  { sed -n 1p "$N/$s.csv"; sed -n "$((first + 2)),\$p" "$N/$s.csv"; } > "$W/$s.rest.csv"
done
score() { # blob rest.csv -> "mae skill raw_skill" (raw: the network without the do-no-harm gate)
  "$T" evaluate --model-file "$1" --data "nab:$2" --json 2>/dev/null | python3 -c "
import json, sys
f = json.load(sys.stdin)['files'][0]
b = f['baselines']
print('%.3f %6.3f %6.3f' % (f['mae_pp'], f['skill'], b['model_ungated']['skill']))"
}
ref() { # rest.csv -> "persistence_mae ma4_skill"
  "$T" evaluate --model-file "$1" --data "nab:$2" --json 2>/dev/null | python3 -c "
import json, sys
f = json.load(sys.stdin)['files'][0]
print('%.3f %6.3f' % (f['persistence_mae_pp'], f['baselines']['moving_average_4']['skill']))"
}
printf '%-5s %-27s %-22s %-22s %-22s %-22s %s\n' seed series "pre-trained" "fine-tuned" \
  "fine-tuned, 1 frozen" "from scratch" "persistence MAE, MA(4) skill"
printf '%-5s %-27s %-22s\n' "" "" "(MAE pp, skill, raw)"
for seed in "${seeds[@]}"; do
  "$T" train --model workload "${TR[@]}" --seed "$seed" --out "$W/pre-$seed" --allow-worse >/dev/null 2>&1
  pre=$(ls -t "$W"/pre-$seed/workload/v*.blob | head -n 1)
  for s in "${held[@]}"; do
    "$T" train --model workload --data "nab:$W/$s.first.csv" --seed "$seed" --init-from "$pre" \
      --out "$W/ft-$seed-$s" --allow-worse >/dev/null 2>&1
    "$T" train --model workload --data "nab:$W/$s.first.csv" --seed "$seed" --init-from "$pre" \
      --freeze 1 --out "$W/fz-$seed-$s" --allow-worse >/dev/null 2>&1
    "$T" train --model workload --data "nab:$W/$s.first.csv" --seed "$seed" \
      --out "$W/sc-$seed-$s" --allow-worse >/dev/null 2>&1
    r=$W/$s.rest.csv
    printf '%-5s %-27s %-22s %-22s %-22s %-22s %s\n' "$seed" "${s#*_utilization_}" \
      "$(score "$pre" "$r")" "$(score "$W/ft-$seed-$s/workload/v1.blob" "$r")" \
      "$(score "$W/fz-$seed-$s/workload/v1.blob" "$r")" \
      "$(score "$W/sc-$seed-$s/workload/v1.blob" "$r")" "$(ref "$pre" "$r")"
  done
done
