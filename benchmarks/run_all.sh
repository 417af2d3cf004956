#!/usr/bin/env bash
# Run every benchmark once, in the order the README's Performance section lists them.
# Usage: bash benchmarks/run_all.sh [--quick]    (needs Docker and the offline Go images)
# edit_rebuild.py measures both hosts (heavyhost, realhost) on both backends (classic,
# buildkit), interleaved, median of 3 runs: run this on a quiet machine (nothing else
# building), it is what the README's table comes from.
# Each script exits 1 when one of its targets is not met; this keeps going and reports all.
set -u
cd "$(dirname "$0")/.."
PY="${PYTHON:-python}"
status=0
start=$(date +%s)
echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
for script in startup.py log_throughput.py edit_rebuild.py image_size.py; do
    echo "== benchmarks/$script"
    t0=$(date +%s)
    "$PY" "benchmarks/$script" "$@" || status=1
    echo "== benchmarks/$script took $(( $(date +%s) - t0 )) s"
    echo
done
echo "== all benchmarks took $(( $(date +%s) - start )) s"
exit $status
