#!/usr/bin/env python3
"""The figure of `xent probe-factors`: decodability of each factor by each feature set.

usage: tools/plot_factors.py DIR [--sort-by NAME] [--part test]

Reads DIR/results.json and writes DIR/factors_mpl.png (`xent probe-factors` itself writes
DIR/factors.png, the same figure in its own bitmap font) as the paper's ImageNet-X figure
draws it: mean accuracy +- SEM over repeats per factor (x) and feature set (one marker each),
factors sorted by the accuracy of --sort-by (default: the first feature set; the paper sorts
by the pretrained ResNet-50), the chance level (0.5; 1/K for a target of K balanced classes),
and a star above a factor where a two-sided one-sample t-test of the repeats' accuracies
against chance passes at the Bonferroni level 0.05 / (factors x feature sets). Needs numpy,
scipy and matplotlib.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", type=Path, help="an `xent probe-factors --out` directory")
    ap.add_argument("--sort-by", help="the feature set whose accuracy orders the factors")
    ap.add_argument("--part", default=None, help="test (default), train or all")
    a = ap.parse_args()
    try:
        doc = json.loads((a.dir / "results.json").read_text())
    except (OSError, json.JSONDecodeError) as e:
        print(f"plot_factors: {a.dir}/results.json: {e}", file=sys.stderr)
        return 2
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.stats import ttest_1samp

    sets = [f["name"] for f in doc["features"]]
    targets = doc["targets"]
    part = a.part or ("all" if doc["options"]["repeats"] == 0 else "test")
    sort_by = a.sort_by or sets[0]
    if sort_by not in sets:
        print(f"plot_factors: --sort-by {sort_by}: not one of {', '.join(sets)}", file=sys.stderr)
        return 2
    acc = {(s, t): [] for s in sets for t in targets}
    for r in doc["results"]:
        if r["part"] == part and r["accuracy"] is not None:
            acc[(r["features"], r["target"])].append(r["accuracy"])
    mean = {k: np.mean(v) if v else np.nan for k, v in acc.items()}
    classes = dict(zip(targets, doc.get("classes", [2] * len(targets))))
    chance = {t: 1.0 / classes[t] for t in targets}
    order = sorted(targets, key=lambda t: -mean[(sort_by, t)])
    alpha = 0.05 / (len(targets) * len(sets))
    fig, ax = plt.subplots(figsize=(max(6, 0.55 * len(targets)), 4))
    xs = np.arange(len(order))
    width = 0.8 / len(sets)
    for i, s in enumerate(sets):
        m = [mean[(s, t)] for t in order]
        sem = [np.std(acc[(s, t)], ddof=1) / np.sqrt(len(acc[(s, t)]))
               if len(acc[(s, t)]) > 1 else 0.0 for t in order]
        x = xs - 0.4 + width * (i + 0.5)
        ax.errorbar(x, m, yerr=sem, fmt="o", ms=4, capsize=2, label=s)
        for xi, t in zip(x, order):
            v = acc[(s, t)]
            if len(v) > 1 and np.std(v) > 0 and ttest_1samp(v, chance[t]).pvalue < alpha:
                ax.text(xi, mean[(s, t)] + 0.02, "*", ha="center", fontsize=9)
    if all(classes[t] == 2 for t in targets):
        ax.axhline(0.5, color="gray", ls="--", lw=1, label="chance")
    else:
        for i, t in enumerate(order):
            ax.hlines(chance[t], i - 0.45, i + 0.45, color="gray", ls="--", lw=1,
                      label="chance (1/K)" if i == 0 else None)
    ax.set_xticks(xs)
    ax.set_xticklabels(order, rotation=60, ha="right")
    ax.set_ylabel(f"accuracy ({part}), mean ± SEM")
    ax.set_title(f"Decoding factors from features (* p < 0.05 / {len(targets) * len(sets)})")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(a.dir / "factors_mpl.png", dpi=130)
    print(f"plot_factors: wrote {a.dir / 'factors_mpl.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
