#!/usr/bin/env python3
"""Plots a training run's curves: tools/plot_run.py RUN_DIR [--out FILE.png].

Reads RUN_DIR/metrics.jsonl (written by `xent train`) and draws, per replica, the
identifiability metrics and the classifier's loss and accuracy against the training step.
"""
import argparse
import json
import sys
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="a directory written by `xent train --out`")
    ap.add_argument("--out", type=Path, help="PNG to write (default: RUN/curves.png)")
    args = ap.parse_args()
    path = args.run / "metrics.jsonl"
    try:
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except (OSError, json.JSONDecodeError) as e:
        print(f"plot_run: {path}: {e}", file=sys.stderr)
        return 2
    if not rows:
        print(f"plot_run: {path}: no evaluations yet", file=sys.stderr)
        return 2
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("r2_a", "R² with intercept (f(x) → z)"), ("r2_o", "R² without intercept"),
              ("mcc", "MCC"), ("r2_w", "R² (rows of W → cluster vectors)"),
              ("acc", "accuracy"), ("loss", "cross-entropy")]
    fig, axes = plt.subplots(2, 3, figsize=(13, 7), sharex=True)
    replicas = sorted({r["replica"] for r in rows})
    for ax, (key, title) in zip(axes.flat, panels):
        for k in replicas:
            mine = [r for r in rows if r["replica"] == k]
            ax.plot([r["step"] for r in mine], [r[key] for r in mine], marker="o", ms=3,
                    label=f"seed {mine[0]['seed']}")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("step")
    if len(replicas) <= 8:
        axes[0][0].legend(fontsize=8)
    fig.suptitle(str(args.run))
    fig.tight_layout()
    out = args.out or args.run / "curves.png"
    fig.savefig(out, dpi=110)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
