#!/usr/bin/env python3
"""The DisLib table from `xent dislib` runs: per dataset and model, Pearson r of the linear probe
per factor, mean +- std over the repeats, beside the paper's Table 4 values where it has them.

    tools/dislib_report.py RUN_DIR... [--out report.md] [--plot figure.png]

Each RUN_DIR holds a finished run's summary.json (a run without one did not finish and is
named as such). Runs of the same dataset and model whose repeats have different split seeds
(say `--repeats 2`, then `--repeats 8 --set data.split_seed=2 --set train.seed=2`: repeats 2..9
of the same population, each repeat's split and seed its own) are pooled into one row. The
table needs only the standard library; --plot needs matplotlib: one panel per dataset, a group
of bars per factor (one bar per model, mean +- std over the repeats) and the paper's values as
black ticks.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from summary_schema import read_summary  # noqa: E402

# docs/paper.md, Published numbers (Table 4): dSprites only; the paper has no orientation column.
PAPER = {("dsprites", "mlp"): {"shape": .94, "scale": .98, "pos_x": .97, "pos_y": .97},
         ("dsprites", "pixels"): {"shape": .26, "scale": .62, "pos_x": .92, "pos_y": .92}}
MODELS = ["pixels", "linear", "mlp"]


def load(run):
    """A finished run's summary.json (the envelope, or a summary written before it) as this
    report's record: dataset, model, targets, pearson_r_mean/std, per_repeat, repeats, times."""
    path = os.path.join(run, "summary.json")
    try:
        s = read_summary(path)
    except FileNotFoundError:
        sys.exit("%s: missing (the run did not finish)" % path)
    except (OSError, ValueError) as e:
        sys.exit("%s: cannot read (%s)" % (path, e))
    what, results = s.get("run") or {}, s.get("results") or {}
    if what.get("command") != "dislib":
        sys.exit("%s: written by %s, not xent dislib" % (path, what.get("command") or "?"))
    for key in ("targets", "pearson_r_mean", "pearson_r_std"):
        if key not in results:
            sys.exit("%s: no results.%s" % (path, key))
    r = {"dataset": what.get("dataset"), "model": what.get("model"), "backend": s.get("backend"),
         "per_repeat": s["replicas"], "repeats": len(s["replicas"]), "dir": run}
    r.update({k: results[k] for k in ("targets", "pearson_r_mean", "pearson_r_std")})
    r.update({k: v for k, v in s["timings"].items() if k in ("wall_s", "train_s")})
    return r


def pool(runs):
    """One run per (dataset, model): the repeats of several runs together, mean and std again."""
    out = {}
    for r in runs:
        key = (r["dataset"], r["model"])
        if key not in out:
            out[key] = r
            continue
        a = out[key]
        seen = {p["split_seed"] for p in a["per_repeat"]}
        if any(p["split_seed"] in seen for p in r["per_repeat"]):
            sys.exit("%s and %s: the same split seed twice (not separate repeats)"
                     % (a["dir"], r["dir"]))
        a["per_repeat"] = a["per_repeat"] + r["per_repeat"]
        a["repeats"] += r["repeats"]
        a["wall_s"] += r["wall_s"]
        a["dir"] = a["dir"] + " + " + r["dir"]
        for t in a["targets"]:
            v = [p["pearson_r"][t] for p in a["per_repeat"]]
            m = sum(v) / len(v)
            a["pearson_r_mean"][t] = m
            a["pearson_r_std"][t] = (sum((x - m) ** 2 for x in v) / (len(v) - 1)) ** 0.5
    return list(out.values())


def cell(mean, sd):
    return "%.3f ± %.3f" % (mean, sd)


def table(runs):
    out = []
    for dataset in sorted({r["dataset"] for r in runs}):
        rs = sorted((r for r in runs if r["dataset"] == dataset),
                    key=lambda r: MODELS.index(r["model"]) if r["model"] in MODELS else 9)
        targets = rs[0]["targets"]
        out.append("## %s\n" % dataset)
        out.append("| model | repeats | " + " | ".join(targets) + " |")
        out.append("|---|---|" + "---|" * len(targets))
        for r in rs:
            out.append("| %s | %d | %s |" % (r["model"], r["repeats"], " | ".join(
                cell(r["pearson_r_mean"][t], r["pearson_r_std"][t]) for t in targets)))
            paper = PAPER.get((dataset, r["model"]))
            if paper:
                out.append("| %s, paper | | %s |" % (r["model"], " | ".join(
                    "%.2f" % paper[t] if t in paper else "–" for t in targets)))
        out.append("")
        out.append("| model | best epoch per repeat | best validation accuracy (min) | "
                   "train s | wall s | backend | run |")
        out.append("|---|---|---|---|---|---|---|")
        for r in rs:
            reps = r["per_repeat"]
            epochs = ", ".join("%g" % round(p["best_epoch"], 2) for p in reps if "best_epoch" in p)
            accs = [p["best_val_acc"] for p in reps if "best_val_acc" in p]
            out.append("| %s | %s | %s | %s | %.0f | %s | `%s` |" % (
                r["model"], epochs or "–", "%.4f" % min(accs) if accs else "–",
                "%.0f" % r["train_s"] if "train_s" in r else "–", r["wall_s"], r["backend"],
                r["dir"]))
        out.append("")
    out.append("Pearson r between each z-scored factor and its least-squares prediction (no "
               "intercept) from the representation, fitted on the validation part and scored on "
               "the test part of each repeat's own split; mean ± sample std (n - 1) over the "
               "repeats. Each repeat's representation is the one of its best validation "
               "accuracy; a repeat stops once that passes train.stop_acc.")
    return "\n".join(out) + "\n"


def plot(runs, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    datasets = sorted({r["dataset"] for r in runs})
    fig, axes = plt.subplots(1, len(datasets), figsize=(6.5 * len(datasets), 4), squeeze=False)
    colours = {"pixels": "#999999", "linear": "#4c72b0", "mlp": "#dd8452"}
    for ax, dataset in zip(axes[0], datasets):
        rs = sorted((r for r in runs if r["dataset"] == dataset),
                    key=lambda r: MODELS.index(r["model"]) if r["model"] in MODELS else 9)
        targets = rs[0]["targets"]
        width = 0.8 / len(rs)
        for i, r in enumerate(rs):
            xs = [t + (i - (len(rs) - 1) / 2) * width for t in range(len(targets))]
            ax.bar(xs, [r["pearson_r_mean"][t] for t in targets], width,
                   yerr=[r["pearson_r_std"][t] for t in targets], capsize=2,
                   color=colours.get(r["model"]), label="%s (%d repeats)" % (r["model"],
                                                                             r["repeats"]))
            paper = PAPER.get((dataset, r["model"]), {})
            for x, t in zip(xs, targets):
                if t in paper:
                    ax.plot([x - width / 2, x + width / 2], [paper[t]] * 2, "k-", lw=2)
        ax.set_xticks(range(len(targets)))
        ax.set_xticklabels(targets, rotation=30, ha="right")
        ax.set_ylim(min(0, min(min(r["pearson_r_mean"].values()) for r in rs)) - 0.05, 1.05)
        ax.axhline(0, color="k", lw=0.5)
        ax.set_ylabel("Pearson r (test split)")
        ax.set_title("%s (black: the paper's Table 4)" % dataset if any(
            (dataset, r["model"]) in PAPER for r in rs) else dataset)
        ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", metavar="RUN_DIR")
    p.add_argument("--out", help="write the markdown here instead of stdout")
    p.add_argument("--plot", help="also draw the table as a PNG here (needs matplotlib)")
    a = p.parse_args()
    runs = pool([load(r) for r in a.runs])
    text = table(runs)
    if a.plot:
        plot(runs, a.plot)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
