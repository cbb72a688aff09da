#!/usr/bin/env python3
"""Writes tools/gpu-check's report (markdown, to stdout) from what its stages left behind.

usage: gpu_report.py WORK OUT
  WORK: the check's work directory (logs/ with stages.txt and machine.txt, runs/ with one xent run
        directory per stage); OUT: where gpu_tests.json and gpu_bench.json were written.
Any of these may be missing or cut short (a stage that failed, timed out or never ran): the
report says so and goes on, since it is written after every stage and must come back whatever
happened. Only the Python standard library: the GPU machine's python3 is not Debian's.
"""
import json
import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dislib_report import PAPER  # noqa: E402 - the paper's Table 4 values, by (dataset, model)
from summary_schema import upgrade  # noqa: E402

# The paper's R2 for the base settings (docs/paper.md), as fractions: Table 3's supervised
# R2 z~ -> z and Table 2's DIET R2_a z.
PAPER_R2 = {"sup-base": 0.998, "diet-base": 0.990}


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def read_summary_json(path):
    """A run's summary.json as the envelope (tools/summary_schema.py), or None."""
    s = read_json(path)
    try:
        return upgrade(s) if isinstance(s, dict) else None
    except ValueError:
        return None


def read_jsonl(path):
    """The rows of a JSONL file; a last line cut short by a killed writer is dropped."""
    rows = []
    try:
        with open(path) as f:
            for line in f:
                try:
                    rows.append(json.loads(line))
                except ValueError:
                    pass
    except OSError:
        pass
    return [r for r in rows if isinstance(r, dict)]


def read_text(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


class Skip(tuple):
    """A stage that chose not to run: (reason, fails_run), from 'skipped=REASON'."""


SKIP_REASONS = {"no-torch": "python3 has no torch", "not-in-bundle": "not in the bundle"}


def stages(work):
    """{name: (rc, wall_s)} in stage order, from lines 'NAME rc=N wall_s=N' (a stage that ran, or
    rc=125: no time left) and 'NAME skipped=REASON wall_s=0 [fails_run=1]' (rc is then a Skip)."""
    out = {}
    for line in read_text(os.path.join(work, "logs", "stages.txt")).splitlines():
        parts = line.split()
        try:
            fields = dict(p.split("=", 1) for p in parts[1:])
            if "skipped" in fields:
                rc = Skip((fields["skipped"], fields.get("fails_run") == "1"))
            else:
                rc = int(fields["rc"])
            out[parts[0]] = (rc, int(fields["wall_s"]))
        except (IndexError, KeyError, ValueError):
            pass
    return out


def status(rc):
    if isinstance(rc, Skip):
        reason = SKIP_REASONS.get(rc[0], rc[0])
        return "FAILED (skipped: %s; --device cuda needs it)" % reason if rc[1] else \
            "skipped: " + reason
    return {0: "ok", 124: "TIMED OUT", 125: "FAILED (no time left to run it)",
            126: "FAILED (exit 126: cannot execute; see the log)",
            127: "FAILED (exit 127: cannot start; see the log)",
            137: "KILLED (timed out, ignored SIGTERM)", 143: "INTERRUPTED (gpu-check stopped)",
            None: "did not run"}.get(
        rc, "FAILED (exit %s)" % rc)


def num(x, fmt):
    return fmt % x if isinstance(x, (int, float)) else "-"


def gtest_summary(report):
    if not isinstance(report, dict):
        return "no gtest JSON was written (see logs/gpu_tests.log in runs.tar.gz)", []
    passed, skipped, failed = 0, 0, []
    for suite in report.get("testsuites", []):
        for t in suite.get("testsuite", []):
            name = suite.get("name", "?") + "." + t.get("name", "?")
            if t.get("failures"):
                failed.append(name)
            elif t.get("result") == "SKIPPED":
                skipped += 1
            else:
                passed += 1
    return "%d passed, %d skipped, %d failed" % (passed, skipped, len(failed)), failed


def first_reach(rows, level):
    """(step, wall_s) of the first evaluation where replica 0's r2_a is at least level."""
    for r in rows:
        if r.get("replica", 0) == 0 and r.get("r2_a", -1.0) >= level:
            return r.get("step", -1), r.get("wall_s", -1.0)
    return None


def section_stages(work, out, st):
    print("## Stages\n\n| stage | status | wall s |\n|---|---|---|")
    for name, (rc, wall) in st.items():
        state = status(rc)
        if name == "loader" and rc != 0:
            state = "FAILED (libraries not found, listed below; no stage ran)"
        print("| %s | %s | %d |" % (name, state, wall))
    logs = os.path.join(work, "logs")
    if st.get("loader", (0, 0))[0] != 0:
        # logs/loader.log: '== bin/NAME' and then that binary's ldd output.
        print("\nNot found by the dynamic loader (ldd under the wrappers' LD_LIBRARY_PATH; "
              "logs/loader.log):\n")
        binary = "?"
        for line in read_text(os.path.join(logs, "loader.log")).splitlines():
            if line.startswith("== "):
                binary = line[3:]
            elif "not found" in line:
                print("- %s: %s" % (binary, line.strip()))
    for name, (rc, wall) in st.items():
        tail = [] if rc not in (126, 127) else \
            read_text(os.path.join(logs, name + ".log")).strip().splitlines()[-5:]
        if tail:
            print("\n%s, exit %d (logs/%s.log, last lines):\n\n```\n%s\n```" %
                  (name, rc, name, "\n".join(tail)))
    if any(isinstance(rc, Skip) for rc, _ in st.values()):
        print("\nA skip is a stage gpu-check chose not to run: without torch in python3, "
              "compare_torch, which never fails the run (PyTorch is an optional comparison); a "
              "binary the bundle lacks, which fails it under --device cuda only.")
    left = read_text(os.path.join(work, "logs", "left_out.txt")).split("\n")
    left = [line for line in left if line.strip()]
    if left:
        print("\nLeft out of runs.tar.gz (bytes, file): " + "; ".join(left))


def section_tests(work, out, st):
    summary, failed = gtest_summary(read_json(os.path.join(out, "gpu_tests.json")))
    print("## GPU tests (xent_gpu_tests)\n\n" + summary)
    for name in failed:
        print("- FAILED: " + name)


def section_logs(work, out, st):
    for log, title in (("gpu_bench", "GPU benchmarks (xent_gpu_bench; JSON in gpu_bench.json)"),
                       ("compare_torch", "xent against PyTorch (tools/compare_torch.py "
                                         "--gpu-only; xent's steady steps/s)")):
        text = read_text(os.path.join(work, "logs", log + ".log")).strip()
        if text:
            print("## %s\n\n```\n%s\n```\n" % (title, text))


def section_full(work, out, st):
    runs = os.path.join(work, "runs")
    print("## The base presets, full length\n")
    print("| preset | stage | backend | steps | wall s | steps/s | steady steps/s | r2_a | r2_o |"
          " mae_o | r2_w | acc | paper R2 | first reached (step, s) |"
          " R2 0.99 first reached (step, s) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for preset in PAPER_R2:
        d = os.path.join(runs, "full_" + preset)
        s = read_summary_json(os.path.join(d, "summary.json"))
        rows = read_jsonl(os.path.join(d, "metrics.jsonl"))
        state = status(st.get("full_" + preset, (None, 0))[0])

        def reach(level):
            r = first_reach(rows, level)
            return "not reached" if r is None else "%d, %.1f" % r

        if isinstance(s, dict):
            reps = s.get("replicas") or [{}]
            m = reps[0]
            t = s.get("timings") or {}
            steps, wall = s.get("steps"), t.get("wall_s")
            rate, steady, backend = t.get("steps_per_s"), t.get("steady_steps_per_s"), s.get(
                "backend", "?")
        else:
            # No summary (killed, failed): the last evaluation it wrote, if any.
            last = [r for r in rows if r.get("replica", 0) == 0]
            m = last[-1] if last else {}
            steps, wall = m.get("step"), m.get("wall_s")
            rate, steady, backend = None, None, "no summary.json"
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %.3f | %s | %s |" %
              (preset, state, backend, num(steps, "%d"), num(wall, "%.1f"), num(rate, "%.0f"),
               num(steady, "%.0f"), num(m.get("r2_a"), "%.4f"), num(m.get("r2_o"), "%.4f"),
               num(m.get("mae_o"), "%.4f"), num(m.get("r2_w"), "%.4f"), num(m.get("acc"), "%.4f"),
               PAPER_R2[preset], reach(PAPER_R2[preset]), reach(0.99)))
    print("\nsteps/s: all steps over the time from the first step to the last evaluation "
          "(evaluations every train.eval_every steps and checkpoints included); steady steps/s: "
          "the steps after the first two, timed by themselves. A run without summary.json shows "
          "its last evaluation (step, wall s since its start).")


def section_tput(work, out, st):
    runs = os.path.join(work, "runs")
    print("## Throughput (no checkpoints; one evaluation at the end)\n")
    print("| run | stage | backend | K | steps | wall s | steps/s | steady steps/s |"
          " steady replica-steps/s |\n|---|---|---|---|---|---|---|---|---|")
    names = [n for n in st if n.startswith("tput_")]
    if os.path.isdir(runs):
        names += sorted(n for n in os.listdir(runs) if n.startswith("tput_") and n not in names)
    for name in names:
        state = status(st.get(name, (None, 0))[0])
        s = read_summary_json(os.path.join(runs, name, "summary.json"))
        if not isinstance(s, dict):
            print("| %s | %s | no summary.json | | | | | | |" % (name[5:], state))
            continue
        t = s.get("timings") or {}
        k, steady = len(s.get("replicas") or []), t.get("steady_steps_per_s")
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" %
              (name[5:], state, s.get("backend", "?"), num(k, "%d"), num(s.get("steps"), "%d"),
               num(t.get("wall_s"), "%.2f"), num(t.get("steps_per_s"), "%.0f"),
               num(steady, "%.0f"),
               num(k * steady if isinstance(k, int) and isinstance(steady, (int, float)) else None,
                   "%.0f")))
    print("\nwall s: the whole run, the mixing draws and start-up included; steps/s: all steps "
          "and the final evaluation; steady: the steps after the first two (on CUDA the eager "
          "step and the graph capture), timed by themselves.")


def section_dislib(work, out, st):
    """The DisLib stages: dsprites (the MLP row) and, with --extra, dislib_<dataset>_<model>."""
    runs = os.path.join(work, "runs")

    def dislib(name):
        return name == "dsprites" or name.startswith("dislib_")

    # In the order the stages ran, then any run directory no stage names.
    names = [n for n in st if dislib(n)]
    if os.path.isdir(runs):
        names += [n for n in sorted(os.listdir(runs)) if dislib(n) and n not in names]
    for name in names:
        ds = read_summary_json(os.path.join(runs, name, "summary.json"))
        print("## DisLib, Table 4 row (stage %s)\n" % name)
        if not isinstance(ds, dict):
            print("no summary.json (stage %s)\n" % status(st.get(name, (None, 0))[0]))
            continue
        reps = ds.get("replicas") if isinstance(ds.get("replicas"), list) else []
        run, t, res = ds.get("run") or {}, ds.get("timings") or {}, ds.get("results") or {}
        accs = [r.get("best_val_acc") for r in reps if isinstance(r, dict)]
        epochs = [r.get("best_epoch") for r in reps if isinstance(r, dict)]
        print("xent dislib --dataset %s --model %s on %s: %s repeats, %s steps (%s epochs), %s s "
              "training, %s steps/s (steady %s); best validation accuracy per repeat %s at "
              "epochs %s\n" % (
                  run.get("dataset", "?"), run.get("model", "?"), ds.get("backend", "?"),
                  num(len(reps), "%d"), num(ds.get("steps"), "%d"),
                  num(res.get("epochs"), "%.1f"), num(t.get("train_s"), "%.1f"),
                  num(t.get("steps_per_s"), "%.1f"), num(t.get("steady_steps_per_s"), "%.1f"),
                  ", ".join(num(a, "%.4f") for a in accs), ", ".join(num(e, "%.0f") for e in epochs)))
        mean, sd = res.get("pearson_r_mean"), res.get("pearson_r_std")
        factors = res.get("targets") if isinstance(res.get("targets"), list) else \
            sorted(mean) if isinstance(mean, dict) else []
        print("| Pearson r | " + " | ".join(factors) + " |\n|---|" + "---|" * len(factors))
        if isinstance(mean, dict) and isinstance(sd, dict):
            print("| xent | %s |" % " | ".join(
                "%s +- %s" % (num(mean.get(f), "%.3f"), num(sd.get(f), "%.3f")) for f in factors))
        paper = PAPER.get((run.get("dataset"), run.get("model")))
        if paper:
            print("| paper | %s |" % " | ".join(num(paper.get(f), "%.2f") if f in paper else "-"
                                                for f in factors))
        print()


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    work, out = sys.argv[1], sys.argv[2]
    st = stages(work)
    print("# tools/gpu-check report\n")
    machine = read_text(os.path.join(work, "logs", "machine.txt")).strip().splitlines()
    print("Machine: " + ("; ".join(machine) or "unknown (no logs/machine.txt)") + "\n")
    # Each section on its own: one that meets something unexpected says so, and the rest of the
    # report is still written.
    sections = (section_stages, section_tests, section_logs, section_full, section_tput,
                section_dislib)
    # A --extra run (machine.txt's "device ..., extra" line) has only its DisLib stages.
    if any(line.startswith("device ") and line.endswith(", extra") for line in machine):
        sections = (section_stages, section_dislib)
    for section in sections:
        try:
            section(work, out, st)
        except Exception:  # noqa: BLE001 - the report must be written whatever a file holds
            print("\n(%s failed: %s)" % (section.__name__,
                                         traceback.format_exc().strip().splitlines()[-1]))
        print()


if __name__ == "__main__":
    main()
