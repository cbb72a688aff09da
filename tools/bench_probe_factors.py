#!/usr/bin/env python3
"""xent probe-factors against the reference code's scikit-learn loop, at the ImageNet-X shape.

usage: tools/bench_probe_factors.py [--xent build/xent] [--rows N] [--cols 2048] [--repeats 10]
                                    [--no-sklearn]

A benchmark: it measures and reports, it gates nothing. The targets are the real ImageNet-X
validation annotations (the `imagenet-x` package from PyPI: its 16 factors and `class`, with
their real prevalences; prototypical images dropped), the features random stand-ins for a
ResNet-50's (no images or weights can be fetched here): [rows][cols] float32, non-negative
like post-ReLU features, with a weak linear trace of each factor so that the fits have
something to find. Both sides run the same protocol: per target and repeat a stratified 70/30
split, balanced parts, LogisticRegression(C = 1) fitted and scored on both parts. scikit-learn
runs it as the reference's decode.py does, one fit after another; xent as one batch of fits.
Both use every core this process may use (numpy's BLAS and xent's threads).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TARGETS = ["class", "multiple_objects", "background", "color", "brighter", "darker", "style",
           "larger", "smaller", "object_blocking", "person_blocking", "partial_view", "pattern",
           "pose", "shape", "subcategory", "texture"]


def annotations():
    from importlib.resources import files
    root = files("imagenet_x") / "annotations"
    drop = set((root / "prototypical_paths.csv").read_text().split()[1:])
    rows = [json.loads(line) for line in
            (root / "imagenet_x_val_top_factor.jsonl").read_text().splitlines() if line.strip()]
    return [r for r in rows if r["file_name"] not in drop]


def sklearn_protocol(x, y, repeats, seed):
    """The reference's decode.py loop (balance as it balances), timed."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    def balance(xp, yp):
        n = min((yp == 0).sum(), (yp == 1).sum())
        keep = np.concatenate([np.flatnonzero(yp == 0)[:n], np.flatnonzero(yp == 1)[:n]])
        return xp[keep], yp[keep]

    acc = np.zeros((y.shape[1], repeats))
    for t in range(y.shape[1]):
        for r in range(repeats):
            xtr, xte, ytr, yte = train_test_split(x, y[:, t], test_size=0.3,
                                                  random_state=seed + r, stratify=y[:, t])
            xtr, ytr = balance(xtr, ytr)
            xte, yte = balance(xte, yte)
            clf = LogisticRegression(random_state=seed + r).fit(xtr, ytr)
            clf.predict(xtr)
            acc[t, r] = np.mean(clf.predict(xte) == yte)
    return acc


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--xent", default="build/xent")
    ap.add_argument("--rows", type=int, default=0, help="0: every annotated image")
    ap.add_argument("--cols", type=int, default=2048)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--no-sklearn", action="store_true",
                    help="time xent only (the scikit-learn loop takes minutes at the full shape)")
    a = ap.parse_args()
    rows = annotations()
    if a.rows:
        rows = rows[:a.rows]
    n, p = len(rows), a.cols
    y = np.array([[r[k] for k in TARGETS] for r in rows], dtype=np.float64)
    y[:, 0] = y[:, 0] > y[:, 0].mean()
    y = y.astype(np.int64)
    rng = np.random.default_rng(0)
    x = np.abs(rng.normal(size=(n, p))).astype(np.float32)
    x += (0.05 * y @ rng.normal(size=(y.shape[1], p))).astype(np.float32)
    # The reference filters columns of mean <= 0 and z-scores over all rows; sklearn gets that.
    keep = x.mean(0) > 0
    xs = ((x[:, keep] - x[:, keep].mean(0)) / x[:, keep].std(0)).astype(np.float64)
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                if l.startswith("model name")), "unknown CPU")
    threads = len(os.sched_getaffinity(0))
    print(f"{n} rows x {p} features, {y.shape[1]} targets x {a.repeats} repeats; "
          f"{cpu}, {threads} threads")
    work = Path(tempfile.mkdtemp(prefix="xent_bench_probe_"))
    np.save(work / "x.npy", x)
    np.save(work / "y.npy", y)
    t0 = time.perf_counter()
    subprocess.run([a.xent, "probe-factors", "--features", f"f={work / 'x.npy'}", "--targets",
                    str(work / "y.npy"), "--out", str(work / "out"), "--repeats",
                    str(a.repeats), "--device", "cpu"], check=True, stdout=subprocess.DEVNULL)
    xent_s = time.perf_counter() - t0
    doc = json.loads((work / "out" / "results.json").read_text())
    xent_acc = np.mean([r["accuracy"] for r in doc["results"] if r["part"] == "test"])
    print("| | wall s | mean test accuracy |")
    print("|---|---|---|")
    print(f"| xent probe-factors (CPU, whole process) | {xent_s:.1f} | {xent_acc:.4f} |")
    if a.no_sklearn:
        return 0
    t0 = time.perf_counter()
    sk_acc = sklearn_protocol(xs, y, a.repeats, 42)
    sk_s = time.perf_counter() - t0
    print(f"| scikit-learn, the reference's loop | {sk_s:.1f} | {sk_acc.mean():.4f} |")
    print(f"speed-up {sk_s / xent_s:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
