#!/usr/bin/env bash
# Maintainer tool: run `--config scale` as two shards side by side (one CPU thread each: on this
# 2-core machine one thread trains as fast as two, so two shards nearly double the throughput),
# then merge them into results/benchmark_scale.json. Resumable: re-running continues where it stopped.
# Usage: nohup tools/run_scale.sh > results/benchmark_scale.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
parts=(results/benchmark_scale.part-1.json results/benchmark_scale.part-2.json)
for k in 1 2; do
  other=${parts[$((2 - k))]}
  $PY -m helpers.benchmark --config scale --shard "$k/2" --threads 1 --output "${parts[$((k - 1))]}" \
      --tuning-from "$other" --wait-for-tuning 36000 --no-progress > "results/benchmark_scale.part-$k.log" 2>&1 &
done
wait
$PY -m helpers.benchmark merge results/benchmark_scale.json "${parts[@]}"
