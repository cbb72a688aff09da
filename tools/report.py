#!/usr/bin/python3
"""Reports a sweep: tools/report.py OUT [--command "..."].

Reads OUT/results.jsonl, OUT/sweep.toml and OUT/sweep.json (written by `xent sweep --out OUT`)
and writes OUT/report.md: per row of the sweep file, the mean +- std over seeds of each metric
the file lists (in percent), the paper's published value beside it, and the training length
used; plus OUT/r2_vs_<key>.png (R2 against kappa, d and |C| where rows vary them) and
OUT/curves.png (each row's mean R2 against the training step).
"""
import argparse
import json
import sys
import tomllib
from pathlib import Path

import numpy as np

# The paper trains every row for this many steps (docs/paper.md).
PAPER_STEPS = 50000
AXES = [("dgp.kappa", "κ"), ("dgp.d", "d"), ("dgp.clusters", "|C|")]
# Keys that tell the rows of the paper's tables apart; a plot against one of them uses the rows
# that agree with the base row on all the others.
SETTING_KEYS = ["dgp.kappa", "dgp.d", "dgp.clusters", "dgp.conditional", "dgp.centres",
                "dgp.labels", "dgp.instances", "model.normalize_head"]
# The suffix of a sweep row that normalises the rows of W before every step
# (configs/table2_diet.toml): the paper's R2_o values live on it, its R2_a values on the row
# without the suffix.
NORMW = "-normW"


def sibling(name: str) -> str:
    return name[:-len(NORMW)] if name.endswith(NORMW) else name + NORMW


def load(out: Path):
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()
            if line.strip()]
    sweep = tomllib.loads((out / "sweep.toml").read_text())
    args_path = out / "sweep.json"
    args = json.loads(args_path.read_text()) if args_path.exists() else {}
    return rows, sweep, args


def std(values):
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def fmt(values):
    if not values:
        return "–"
    v = 100 * np.asarray(values)
    return f"{v.mean():.1f} ± {std(v):.1f}" if len(v) > 1 else f"{v[0]:.1f}"


def table(rows, sweep, metrics):
    names = [r["name"] for r in sweep.get("row", [])] or [""]
    papers = {r["name"]: r.get("paper", {}) for r in sweep.get("row", [])}
    head = "| row | runs ok |" + "".join(f" {m} (xent) | {m} (paper) |" for m in metrics)
    lines = [head, "|" + "---|" * (2 + 2 * len(metrics))]
    any_paper = False
    for name in names:
        mine = [r for r in rows if r["row"] == name]
        ok = [r for r in mine if r["status"] == "ok"]
        cells = [name or "(all)", f"{len(ok)}/{len(mine)}" if mine else "not run"]
        for m in metrics:
            cells.append(fmt([r[m] for r in ok]) if mine else "–")
            p = papers.get(name, {}).get(m)
            any_paper = any_paper or p is not None
            if p is not None:
                cells.append(f"{p:.1f}")
            elif papers.get(sibling(name), {}).get(m) is not None:
                cells.append(f"on {sibling(name)}")
            else:
                cells.append("not recorded")
        lines.append("| " + " | ".join(cells) + " |")
    if any(n.endswith(NORMW) for n in names):
        lines.append("")
        lines.append(f"Rows ending in `{NORMW}` normalise the rows of W before every step "
                     "(`model.normalize_head`, the reference's `--normalize-rows-W`). The "
                     "reference computes R2_o only in those runs, so the paper's r2_o and r2_o_w "
                     "are compared there; its r2_a and r2_w, which both kinds of run compute and "
                     "the paper does not attribute, are compared with the rows as given.")
    if not any_paper:
        lines.append("")
        lines.append("The sweep file gives no published values for these rows, so none "
                     "are shown.")
    failed = [r for r in rows if r["status"] != "ok"]
    for r in failed:
        lines.append(f"- failed: `{r['run']}`: {r.get('error')}")
    return lines


def plot_axes(rows, sweep, out: Path, metric: str):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in rows if r["status"] == "ok"]
    if not ok:
        return []
    base_name = "base" if any(r["row"] == "base" for r in ok) else ok[0]["row"]
    base = next(r for r in ok if r["row"] == base_name)["config"]
    papers = {r["name"]: r.get("paper", {}) for r in sweep.get("row", [])}
    written = []
    for key, label in AXES:
        others = [k for k in SETTING_KEYS if k != key]
        on_axis = [r for r in ok if all(r["config"].get(k) == base.get(k) for k in others)]
        xs = sorted({r["config"][key] for r in on_axis})
        if len(xs) < 2:
            continue
        fig, ax = plt.subplots(figsize=(5, 3.5))
        means = [100 * np.mean([r[metric] for r in on_axis if r["config"][key] == x]) for x in xs]
        stds = [100 * std([r[metric] for r in on_axis if r["config"][key] == x]) for x in xs]
        ax.errorbar(xs, means, yerr=stds, marker="o", capsize=3, label="xent (mean ± std)")
        paper = []
        for x in xs:
            rows_x = {r["row"] for r in on_axis if r["config"][key] == x}
            vals = [papers.get(n, {}).get(metric) for n in rows_x]
            paper.append(next((v for v in vals if v is not None), np.nan))
        if not np.all(np.isnan(paper)):
            ax.plot(xs, paper, "s--", label="paper")
        if key != "dgp.kappa":
            ax.set_xscale("log" if max(xs) / min(xs) >= 100 else "linear")
        ax.set_xlabel(label)
        ax.set_ylabel(f"{metric} (%)")
        ax.set_title(f"{metric} against {label}")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        path = out / f"{metric}_vs_{key.split('.')[-1]}.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(path.name)
    return written


def plot_curves(rows, sweep, out: Path, metric: str):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    names = [r["name"] for r in sweep.get("row", [])] or [""]
    drawn = False
    for name in names:
        curves = {}
        for r in rows:
            if r["row"] != name or r["status"] != "ok":
                continue
            path = out / "runs" / r["run"] / "metrics.jsonl"
            for line in path.read_text().splitlines():
                e = json.loads(line)
                curves.setdefault(e["step"], []).append(e[metric])
        if curves:
            steps = sorted(curves)
            ax.plot(steps, [100 * np.mean(curves[s]) for s in steps], marker="o", ms=3,
                    label=name or "all runs")
            drawn = True
    if not drawn:
        plt.close(fig)
        return None
    ax.set_xlabel("training step")
    ax.set_ylabel(f"{metric} (%), mean over seeds")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(out / "curves.png", dpi=120)
    plt.close(fig)
    return "curves.png"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="a directory written by `xent sweep --out`")
    ap.add_argument("--command", help="the command that produced OUT, quoted in the report")
    a = ap.parse_args()
    try:
        rows, sweep, args = load(a.out)
    except (OSError, json.JSONDecodeError, tomllib.TOMLDecodeError) as e:
        print(f"report: {a.out}: {e}", file=sys.stderr)
        return 2
    if not rows:
        print(f"report: {a.out}/results.jsonl: no runs", file=sys.stderr)
        return 2
    metrics = sweep.get("metrics", ["r2_a"])
    steps = sorted({r["steps"] for r in rows})
    batch = sorted({r["config"]["train.batch"] for r in rows})
    seeds = sorted({r["seed"] for r in rows})
    lines = [f"# {sweep.get('title', a.out.name)}", ""]
    lines.append(f"Training length: {', '.join(map(str, steps))} steps of batch "
                 f"{', '.join(map(str, batch))} per run (the paper: {PAPER_STEPS:,} steps of "
                 f"batch 1024); seeds {', '.join(map(str, seeds))}; metrics in percent, "
                 "mean ± std over seeds (sample std).")
    if a.command:
        lines.append("")
        lines.append(f"Command: `{a.command}`")
    trained = [i for i in args.get("invocations", []) if i.get("trained")]
    if trained:
        lines.append("")
        total = sum(i["wall_s"] for i in trained)
        # Shards (xent sweep --shard) may have run at the same time: the sum is machine time.
        parts = "; ".join(f"{i['trained']} runs in {i['wall_s']:.0f} s on {i['ranks']} rank(s) "
                          f"({i['device']}, --max-population {i['max_population']}"
                          + (f", shard {i['shard']}" if "shard" in i else "") + ")"
                          for i in trained)
        lines.append(f"Wall time of the `xent sweep` invocations that trained: {total:.0f} s "
                     f"({parts}).")
    lines.append("")
    lines += table(rows, sweep, metrics)
    pngs = plot_axes(rows, sweep, a.out, metrics[0])
    curves = plot_curves(rows, sweep, a.out, metrics[0])
    if curves:
        pngs.append(curves)
    if pngs:
        lines.append("")
        lines += [f"![{p}]({p})" for p in pngs]
    (a.out / "report.md").write_text("\n".join(lines) + "\n")
    print(f"report: wrote {a.out / 'report.md'}" + (f" and {', '.join(pngs)}" if pngs else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
