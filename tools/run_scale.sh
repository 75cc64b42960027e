#!/usr/bin/env bash
# Maintainer tool: run `--config scale` as two shards side by side (one CPU thread each: on this
# 2-core machine one thread trains as fast as two, so two shards nearly double the throughput),
# then merge them into results/benchmark_scale.json. Resumable: re-running continues where it stopped.
# Offline, export HQC_DATA_DIR first. Usage: nohup tools/run_scale.sh > results/benchmark_scale.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
# fail at once, not hours later, if a dataset has no source (the runner also refuses other data)
$PY -c 'from helpers.data import data_fingerprint as f; [print(f(n).describe()) for n in ("mnist", "cifar10")]'
parts=(results/benchmark_scale.part-1.json results/benchmark_scale.part-2.json)
pids=()
for k in 1 2; do
  other=${parts[$((2 - k))]}
  $PY -m helpers.benchmark --config scale --shard "$k/2" --threads 1 --output "${parts[$((k - 1))]}" \
      --tuning-from "$other" --wait-for-tuning 36000 --no-progress > "results/benchmark_scale.part-$k.log" 2>&1 &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
if [ "$status" -ne 0 ]; then
  echo "a shard failed (see results/benchmark_scale.part-*.log); not merging" >&2
  exit "$status"
fi
$PY -m helpers.benchmark merge results/benchmark_scale.json "${parts[@]}"
