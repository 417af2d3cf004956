#!/usr/bin/env bash
# Run every benchmark once, in the order the README's Performance section lists them.
# Usage: bash benchmarks/run_all.sh [--quick]    (needs Docker and the offline Go images)
# Each script exits 1 when one of its targets is not met; this keeps going and reports all.
set -u
cd "$(dirname "$0")/.."
PY="${PYTHON:-python}"
status=0
for script in startup.py log_throughput.py edit_rebuild.py image_size.py; do
    echo "== benchmarks/$script"
    "$PY" "benchmarks/$script" "$@" || status=1
    echo
done
exit $status
