#!/usr/bin/env python3
"""Writes tools/gpu-check's report (markdown, to stdout) from what its stages left behind.

usage: gpu_report.py WORK OUT
  WORK: the check's work directory (logs/ with stages.txt and machine.txt, runs/ with one xent run
        directory per stage); OUT: where gpu_tests.json and gpu_bench.json were written.
Only the Python standard library: the GPU machine's python3 is not Debian's.
"""
import json
import os
import sys

# The paper's R2 for the base settings (DESIGN.md section 1), as fractions: Table 3's supervised
# R2 z~ -> z and Table 2's DIET R2_a z.
PAPER_R2 = {"sup-base": 0.998, "diet-base": 0.990}


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def read_jsonl(path):
    rows = []
    try:
        with open(path) as f:
            for line in f:
                if line.strip():
                    rows.append(json.loads(line))
    except (OSError, ValueError):
        pass
    return rows


def read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def stages(work):
    out = {}
    for line in read_text(os.path.join(work, "logs", "stages.txt")).splitlines():
        parts = line.split()
        if len(parts) == 3:
            out[parts[0]] = (int(parts[1].split("=")[1]), int(parts[2].split("=")[1]))
    return out


def status(rc):
    return {0: "ok", 124: "TIMED OUT", 125: "skipped (no time left)",
            126: "skipped (python3 has no torch)"}.get(
        rc, "FAILED (exit %d)" % rc)


def gtest_summary(report):
    if report is None:
        return "no gtest JSON was written (see logs/gpu_tests.log in runs.tar.gz)", []
    passed, skipped, failed = 0, 0, []
    for suite in report.get("testsuites", []):
        for t in suite.get("testsuite", []):
            name = suite["name"] + "." + t["name"]
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
            return r["step"], r["wall_s"]
    return None


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    work, out = sys.argv[1], sys.argv[2]
    runs = os.path.join(work, "runs")
    st = stages(work)
    print("# tools/gpu-check report\n")
    machine = read_text(os.path.join(work, "logs", "machine.txt")).strip().splitlines()
    print("Machine: " + "; ".join(machine) + "\n")

    print("## Stages\n\n| stage | status | wall s |\n|---|---|---|")
    for name, (rc, wall) in st.items():
        print("| %s | %s | %d |" % (name, status(rc), wall))

    summary, failed = gtest_summary(read_json(os.path.join(out, "gpu_tests.json")))
    print("\n## GPU tests (xent_gpu_tests)\n\n" + summary + "\n")
    for name in failed:
        print("- FAILED: " + name)

    bench = read_text(os.path.join(work, "logs", "gpu_bench.log")).strip()
    if bench:
        print("\n## GPU benchmarks (xent_gpu_bench; JSON in gpu_bench.json)\n\n```\n" + bench +
              "\n```")

    torch = read_text(os.path.join(work, "logs", "compare_torch.log")).strip()
    if torch:
        print("\n## xent against PyTorch (tools/compare_torch.py --gpu)\n\n```\n" + torch +
              "\n```")

    print("\n## The base presets, full length\n")
    print("| preset | backend | steps | wall s | steps/s | r2_a | r2_o | mae_o | r2_w | acc |"
          " paper R2 | first reached (step, s) | R2 0.99 first reached (step, s) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for preset in PAPER_R2:
        d = os.path.join(runs, "full_" + preset)
        s = read_json(os.path.join(d, "summary.json"))
        if s is None:
            print("| %s | no summary.json (stage %s) |" %
                  (preset, status(st.get("full_" + preset, (-1, 0))[0])))
            continue
        m = s["replicas"][0]
        rows = read_jsonl(os.path.join(d, "metrics.jsonl"))

        def reach(level):
            r = first_reach(rows, level)
            return "not reached" if r is None else "%d, %.1f" % r

        print("| %s | %s | %d | %.1f | %.0f | %.4f | %.4f | %.4f | %.4f | %.4f | %.3f | %s | %s |" %
              (preset, s["backend"], s["steps"], s["wall_s"], s["steps_per_s"], m["r2_a"],
               m["r2_o"], m["mae_o"], m["r2_w"], m["acc"], PAPER_R2[preset],
               reach(PAPER_R2[preset]), reach(0.99)))
    print("\nWall time and steps/s include the evaluations (every train.eval_every steps) and "
          "checkpoints.")

    print("\n## Throughput (training steps; one evaluation at the end)\n")
    print("| run | backend | K | steps | wall s | steps/s | replica-steps/s |\n"
          "|---|---|---|---|---|---|---|")
    for name in sorted(os.listdir(runs)) if os.path.isdir(runs) else []:
        if not name.startswith("tput_"):
            continue
        s = read_json(os.path.join(runs, name, "summary.json"))
        if s is None:
            print("| %s | no summary.json (stage %s) |" %
                  (name[5:], status(st.get(name, (-1, 0))[0])))
            continue
        k = s["population"]
        print("| %s | %s | %d | %d | %.2f | %.0f | %.0f |" %
              (name[5:], s["backend"], k, s["steps"], s["wall_s"], s["steps_per_s"],
               k * s["steps_per_s"]))

    ds = read_json(os.path.join(runs, "dsprites", "summary.json"))
    if ds is not None:
        factors = ["shape", "scale", "pos_x", "pos_y"]
        print("\n## dSprites, Table 4 row (xent dsprites --train)\n")
        print("%s, %d steps (%.1f epochs), %.1f s training, %.1f steps/s, validation accuracy %.4f"
              "\n" % (ds["backend"], ds["steps"], ds["epochs"], ds["train_s"], ds["steps_per_s"],
                      ds["val_acc"]))
        print("| Pearson r | " + " | ".join(factors) + " |\n|---|---|---|---|---|")
        print("| MLP | " + " | ".join("%.3f" % ds["pearson_r_mlp"][f] for f in factors) + " |")
        print("| MLP, paper | .94 | .98 | .97 | .97 |")
        print("| raw pixels | " + " | ".join("%.3f" % ds["pearson_r_pixels"][f] for f in factors) +
              " |")
        print("| raw pixels, paper | .26 | .62 | .92 | .92 |")


if __name__ == "__main__":
    main()
