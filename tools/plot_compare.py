#!/usr/bin/env python3
"""Draws several runs in one figure: the training loss (loss.jsonl) and R²_a (metrics.jsonl)
against the step, replica 0 of each.

usage: tools/plot_compare.py --out FIG.png [--title TEXT] LABEL=DIR[#KEY] [LABEL=DIR[#KEY] ...]

A DIR is a run directory of `xent train --out` or of tools/csi_reference.py (the same files).
KEY: the metrics.jsonl column for the right panel (default r2_a; e.g. r2_a_batch, which
tools/csi_reference.py --also-batch-stats writes).
Runs whose labels share the text before the first space share a colour (e.g. "xent seed 0" and
"xent seed 1"); each run of a colour gets its own line style.
"""
import argparse
import json
import sys
from pathlib import Path


def rows(path):
    try:
        return [r for r in (json.loads(line) for line in path.read_text().splitlines() if line.strip())
                if r.get("replica", 0) == 0]
    except (OSError, json.JSONDecodeError) as e:
        sys.exit(f"plot_compare.py: {path}: {e}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="the PNG to write")
    ap.add_argument("--title", default="", help="a title over both panels")
    ap.add_argument("runs", nargs="+", metavar="LABEL=DIR")
    a = ap.parse_args()
    runs = []
    for spec in a.runs:
        label, sep, d = spec.rpartition("=")
        d, _, key = d.partition("#")
        if not sep or not label or not d:
            ap.error(f"{spec!r}: expected LABEL=DIR[#KEY]")
        metrics = [r for r in rows(Path(d) / "metrics.jsonl") if (key or "r2_a") in r]
        if not metrics:
            ap.error(f"{spec!r}: no {key or 'r2_a'} in {d}/metrics.jsonl")
        runs.append((label, rows(Path(d) / "loss.jsonl"), metrics, key or "r2_a"))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (lax, rax) = plt.subplots(1, 2, figsize=(13, 4.8))
    groups, styles = {}, ["-", "--", ":", "-."]
    for i, (label, loss, metrics, key) in enumerate(runs):
        g = label.split(" ")[0]
        colour = groups.setdefault(g, f"C{len(groups)}")
        style = styles[sum(1 for r in runs[:i] if r[0].split(" ")[0] == g) % len(styles)]
        lax.plot([r["step"] for r in loss], [r["loss"] for r in loss], style, color=colour,
                 lw=0.8, label=label)
        rax.plot([r["step"] for r in metrics], [r[key] for r in metrics], style, color=colour,
                 marker="o", ms=2.5, lw=1, label=label)
    lax.set(xlabel="step", ylabel="training loss (cross-entropy, every 100 steps)")
    rax.set(xlabel="step", ylabel="R²_a (f(x) → z, held-out half of 8,192 samples)")
    for ax in (lax, rax):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if a.title:
        fig.suptitle(a.title)
    fig.tight_layout()
    a.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(a.out, dpi=120)
    print(f"plot_compare.py: wrote {a.out}")


if __name__ == "__main__":
    main()
