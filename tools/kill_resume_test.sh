#!/usr/bin/env bash
# Crash safety end to end: trains a small run while killing it with SIGKILL at random moments
# and resuming it each time, then checks that it ends bit for bit where an uninterrupted run
# ends (summary.json metrics and every metrics.jsonl row) and that every checkpoint seen on
# disk, mid-run included, is complete and passes its checksum. The uninterrupted run uses one
# thread, the killed one two and each resume one to three (train.threads): the same bits.
#   usage: tools/kill_resume_test.sh [XENT_BINARY] [SEED]     (bounded: about 15 s on 2 cores)
# KEEP=1 keeps the scratch directory for a look after a failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
xent=${1:-$here/../build/xent}
seed=${2:-$(( $(date +%s) % 100000 ))}
RANDOM=$seed
py=/usr/bin/python3
kills_wanted=6
work=$(mktemp -d "${TMPDIR:-/tmp}/xent_kill_resume.XXXXXX")
pid=
cleanup() {
  if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null || true; fi
  if [ -n "${KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
fail() {
  echo "kill_resume_test (seed $seed): FAIL: $*" >&2
  exit 1
}

args=(-q --set train.steps=6000 --set train.batch=64 --set "model.hidden=[16,32,16]"
  --set train.eval_samples=512 --set dgp.clusters=10 --set dgp.mixing_cond_draws=200
  --set train.population=2 --set train.eval_every=500 --set train.checkpoint_every=40)

"$xent" train "${args[@]}" --set train.threads=1 --out "$work/whole" || fail "the uninterrupted run failed"

verify() {  # a checkpoint that was visible on disk must read back whole
  "$py" "$here/read_checkpoint.py" "$1" >/dev/null || fail "unreadable checkpoint seen: $1"
}

"$xent" train "${args[@]}" --set train.threads=2 --out "$work/killed" &
pid=$!
# The first checkpoint (step 0) comes after the DGP is drawn; before it there is nothing
# to resume from, so the first kill waits for it.
for _ in $(seq 200); do [ -e "$work/killed/checkpoint.xck" ] && break; sleep 0.05; done
kills=0
checked=0
while :; do
  # A random moment 0.1 to 0.7 s into this process's life, with a copy of whatever
  # checkpoint is on disk half way there (read back after the kill, to keep the pace).
  half=$(( 50 + RANDOM % 300 ))
  sleep "0.$(printf %03d "$half")"
  cp "$work/killed/checkpoint.xck" "$work/seen.xck" 2>/dev/null || true
  sleep "0.$(printf %03d "$half")"
  if [ "$kills" -lt "$kills_wanted" ] && kill -9 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null || true
    kills=$((kills + 1))
  else
    wait "$pid" || fail "a training process exited with status $?"
  fi
  pid=
  if [ -e "$work/seen.xck" ]; then
    verify "$work/seen.xck"
    checked=$((checked + 1))
    rm -f "$work/seen.xck"
  fi
  [ -e "$work/killed/checkpoint.xck" ] || fail "no checkpoint after a kill"
  verify "$work/killed/checkpoint.xck"
  checked=$((checked + 1))
  [ -e "$work/killed/summary.json" ] && break
  "$xent" train -q --resume "$work/killed" --set train.threads=$((1 + RANDOM % 3)) &
  pid=$!
done

"$py" - "$work/whole" "$work/killed" <<'PY' || fail "the resumed run differs from the uninterrupted one"
import json, sys
a, b = sys.argv[1], sys.argv[2]
sa, sb = (json.load(open(d + "/summary.json")) for d in (a, b))
# JSON doubles are printed to round-trip, so equal values here are equal bits.
if sa["replicas"] != sb["replicas"]:
    sys.exit("summary.json replicas differ:\n%s\n%s" % (sa["replicas"], sb["replicas"]))
def rows(d):
    out = {}
    for line in open(d + "/metrics.jsonl"):
        r = json.loads(line)
        r.pop("wall_s")
        key = (r["step"], r["replica"])
        if key in out:
            sys.exit("duplicate metrics row %s in %s" % (key, d))
        out[key] = r
    return out
if rows(a) != rows(b):
    sys.exit("metrics.jsonl rows differ")
PY
echo "kill_resume_test (seed $seed): $kills kills and resumes, $checked checkpoints read back," \
  "final metrics bitwise equal to the uninterrupted run"
