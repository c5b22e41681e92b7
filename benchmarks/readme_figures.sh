#!/bin/sh
# Regenerates the README's tracer-overhead figures (section "Tracer overhead"): the per-syscall
# table of the presets over the baseline family with its eBPF program cost, and the
# lossless-rate chart. As root, on an idle machine: about 5 minutes.
#
#   sh benchmarks/readme_figures.sh [OUTDIR]      (default: docs; PYTHON picks the interpreter)
#
# Writes OUTDIR/overhead-per-syscall.{md,json,png} and OUTDIR/lossless-rate.{txt,json,png};
# paste the .md tables (and the machine line) into the README. A tracer that fails is named in
# its output and the script carries on; the exit status is 1 if anything failed.
set -u
PY=${PYTHON:-python3}
OUT=${1:-docs}
mkdir -p "$OUT" || exit 2
status=0

echo "per-syscall table (baseline family, every preset) ..." >&2
$PY -m ioworkload overhead --family baseline --iterations 1e5 --repeat 3 --traced-seconds 0.5 \
    --json --plot "$OUT/overhead-per-syscall.png" > "$OUT/overhead-per-syscall.json" || status=1
$PY - "$OUT/overhead-per-syscall.json" > "$OUT/overhead-per-syscall.md" <<'PYEOF' || status=1
import json, sys
from ioworkload import overhead_table
sys.stdout.write(overhead_table.format_markdown(json.load(open(sys.argv[1]))))
PYEOF

echo "lossless rate (getppid, 0.5 s a step) ..." >&2
$PY -m ioworkload overhead getppid --sweep-rate --duration 0.5 --tracer perf-trace \
    --tracer bpftrace-printf --tracer perf-stat --tracer bpftrace-count --tracer strace \
    --json > "$OUT/lossless-rate.json" || status=1
$PY - "$OUT/lossless-rate.json" "$OUT/lossless-rate.png" > "$OUT/lossless-rate.txt" <<'PYEOF' || status=1
import json, math, sys
from ioworkload import overhead_sweep
rep = json.load(open(sys.argv[1]))
for t in rep["tracers"]:
    if t["never_lost"]:
        t["lossless_rate"] = math.inf
sys.stdout.write(overhead_sweep.format_text(rep))
overhead_sweep.write_plot(rep, sys.argv[2])
PYEOF

cat "$OUT/overhead-per-syscall.md" "$OUT/lossless-rate.txt"
exit $status
