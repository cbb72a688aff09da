#!/usr/bin/env bash
# xent sweep over 2 MPI ranks: the table rank 0 gathers equals the table of a 1-rank sweep
# (every column but wall_s, which is a measurement), and both ranks trained populations.
#   usage: tests/sweep_mpi_test.sh XENT_BINARY [MPIEXEC]      (a few seconds on 2 cores)
set -euo pipefail
xent=$1
mpiexec=${2:-mpiexec}
work=$(mktemp -d "${TMPDIR:-/tmp}/xent_sweep_mpi.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() {
  echo "sweep_mpi_test: FAIL: $*" >&2
  exit 1
}

cat >"$work/s.toml" <<'TOML'
seeds = [0, 1]
[dgp]
mixing_cond_draws = 200
[model]
hidden = [8, 8]
[train]
batch = 32
steps = 10
eval_every = 5
eval_samples = 256
[grid]
dgp.clusters = [5, 10]
dgp.kappa = [5, 20]
TOML
# 8 runs; populations of at most 2 give 4 populations, two for each rank.
args=(sweep -q -c "$work/s.toml" --max-population 2 --device cpu)
"$xent" "${args[@]}" --out "$work/one" || fail "1-rank sweep exited with $?"
"$mpiexec" -n 2 "$xent" "${args[@]}" --out "$work/two" || fail "2-rank sweep exited with $?"

without_wall() {
  /usr/bin/python3 - "$1" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
for r in rows:
    r.pop("wall_s")
    print(sorted(r.items()))
PY
}
[ "$(wc -l <"$work/one/results.csv")" -eq 9 ] || fail "expected 8 runs in the 1-rank table"
diff <(without_wall "$work/one/results.csv") <(without_wall "$work/two/results.csv") >&2 ||
  fail "the 2-rank table differs from the 1-rank table"
grep -q '"status":"failed"' "$work/two/results.jsonl" && fail "a run failed"
grep -lq '"rank": 0' "$work"/two/runs/*/summary.json || fail "rank 0 trained nothing"
grep -lq '"rank": 1' "$work"/two/runs/*/summary.json || fail "rank 1 trained nothing"
echo "sweep_mpi_test: ok (8 runs, 2 ranks, tables equal)"
