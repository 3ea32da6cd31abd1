#!/usr/bin/env bash
# Splits an ADFA-LD copy into train/ and eval/ trees of symbolic links (nothing is copied):
# normal traces 1-600 and attack sessions 1-3 of every type for training; the other 233 normal
# traces (as Validation_Data_Master) and sessions 4-5 for evaluation.
#   bash scripts/adfa_split.sh ../shared/data/adfa-ld /tmp/adfa
set -euo pipefail
src=$(cd "${1:?ADFA-LD directory}" && pwd)
out=${2:-/tmp/adfa}
rm -rf "$out/train" "$out/eval"
mkdir -p "$out/train/Training_Data_Master" "$out/train/Attack_Data_Master" \
  "$out/eval/Validation_Data_Master" "$out/eval/Attack_Data_Master"
i=0
for f in $(ls "$src/Training_Data_Master" | sort); do
  i=$((i + 1))
  if [ $i -le 600 ]; then
    ln -s "$src/Training_Data_Master/$f" "$out/train/Training_Data_Master/$f"
  else
    ln -s "$src/Training_Data_Master/$f" "$out/eval/Validation_Data_Master/$f"
  fi
done
for d in $(ls "$src/Attack_Data_Master"); do
  n=${d##*_}
  if [ "$n" -le 3 ]; then
    ln -s "$src/Attack_Data_Master/$d" "$out/train/Attack_Data_Master/$d"
  else
    ln -s "$src/Attack_Data_Master/$d" "$out/eval/Attack_Data_Master/$d"
  fi
done
echo "train: $(ls "$out/train/Training_Data_Master" | wc -l) normal, $(ls "$out/train/Attack_Data_Master" | wc -l) attack sessions"
echo "eval:  $(ls "$out/eval/Validation_Data_Master" | wc -l) normal, $(ls "$out/eval/Attack_Data_Master" | wc -l) attack sessions"
