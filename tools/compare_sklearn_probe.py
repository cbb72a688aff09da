#!/usr/bin/env python3
"""xent probe-factors against scikit-learn's LogisticRegression, fit for fit.

usage: tools/compare_sklearn_probe.py [--xent build/xent] [--out DIR]

Needs numpy and scikit-learn (pip install scikit-learn). For each case below it writes the
features and targets (0/1, or class labels 0 .. K-1 for the multiclass cases) as .npy, runs `xent probe-factors --repeats 0 --feature-filter none`
(one fit per target on all rows: no split, so both sides fit exactly the same rows), fits
scikit-learn's LogisticRegression (C = 1, lbfgs, its defaults) on the same standardised
features, and evaluates scikit-learn's objective,
    J(w, b) = mean_i log-loss_i + ||w||^2 / (2 C n)
(for K > 2 classes the multinomial one, log-loss_i = logsumexp(z_i) - z_i,y_i with all K rows
of W), for both solutions in float64. It prints per case the largest |J_xent - J_sklearn|, the fits
where xent's J is lower, how often the two predict the same label and score the same accuracy,
and the same accuracy count for scikit-learn at its defaults against scikit-learn converged
tightly (tol 1e-10): rows within rounding of the decision boundary flip between any two
solutions that stop at a gradient tolerance, so that column is the yardstick. The issue's
targets: |J difference| <= 1e-4, equal accuracies on >= 99% of fits.
"""
import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def standardise(x):
    """What xent probe-factors does with --feature-filter none: constant columns dropped,
    every column z-scored over all rows (numpy's std, ddof 0)."""
    x = x.astype(np.float64)
    sd = x.std(0)
    keep = sd > 0
    return (x[:, keep] - x[:, keep].mean(0)) / sd[keep]


def objective(x, y, w, b, C):
    """w [p] and b for a binary fit; w [K][p] and b [K] for a multinomial one."""
    if w.ndim == 2:
        z = x @ w.T + b
        m = z.max(1)
        lse = m + np.log(np.exp(z - m[:, None]).sum(1))
        loss = lse - z[np.arange(len(y)), y]
        return loss.mean() + (w * w).sum() / (2 * C * len(y))
    z = x @ w + b
    loss = np.logaddexp(0.0, z) - y * z
    return loss.mean() + w @ w / (2 * C * len(y))


def predict(x, w, b):
    """Labels: z > 0 for a binary fit, the first largest logit for a multinomial one."""
    if w.ndim == 2:
        return (x @ w.T + b).argmax(1)
    return ((x @ w + b) > 0).astype(np.int64)


def cases(rng):
    """(name, features [n][p], targets [n][t]): the shapes the issue names."""
    n, p = 3000, 40
    x = rng.normal(size=(n, p)).astype(np.float32)
    truth = rng.normal(size=(p, 8))
    out = [("well posed", x, (x @ truth + rng.logistic(size=(n, 8)) > 0).astype(np.int64))]
    # Nearly separable: labels a deterministic function of the features (margin only from the
    # penalty), and mostly so.
    xs = rng.normal(size=(n, p)).astype(np.float32)
    sharp = xs @ truth
    out.append(("nearly separable", xs,
                np.concatenate([(sharp > 0), (sharp + 0.05 * rng.normal(size=sharp.shape) > 0)],
                               1).astype(np.int64)))
    # Strongly imbalanced: 1% to 5% positives.
    xi = rng.normal(size=(n, p)).astype(np.float32)
    score = xi @ truth[:, :4] + rng.logistic(size=(n, 4))
    cuts = np.quantile(score, [0.99, 0.98, 0.97, 0.95], axis=0).diagonal()
    out.append(("imbalanced 1-5%", xi, (score > cuts).astype(np.int64)))
    # Badly scaled raw columns (standardisation undoes the scale; the spread of informative and
    # noise columns remains), and more features than a tenth of the rows.
    xb = (rng.normal(size=(n, 400)) * np.logspace(-3, 3, 400)).astype(np.float32)
    wb = rng.normal(size=(400, 4)) / np.logspace(-3, 3, 400)[:, None]
    out.append(("badly scaled, p = 400", xb,
                (xb @ wb + rng.logistic(size=(n, 4)) > 0).astype(np.int64)))
    # Multiclass targets (the multinomial fit): the arg-max of a linear score plus Gumbel noise
    # (a multinomial logit model), nearly separable, and badly scaled raw columns.
    for k in (3, 5):
        xm = rng.normal(size=(n, p)).astype(np.float32)
        tm = rng.normal(size=(4, p, k))
        out.append((f"{k} classes", xm,
                    np.stack([(xm @ tm[t] + rng.gumbel(size=(n, k))).argmax(1)
                              for t in range(4)], 1)))
    xm = rng.normal(size=(n, p)).astype(np.float32)
    tm = rng.normal(size=(2, p, 4))
    out.append(("4 classes, nearly separable", xm,
                np.stack([(xm @ tm[t] + 0.05 * rng.normal(size=(n, 4))).argmax(1)
                          for t in range(2)], 1)))
    tm = rng.normal(size=(2, 400, 3)) / np.logspace(-3, 3, 400)[None, :, None]
    out.append(("3 classes, badly scaled, p = 400", xb,
                np.stack([(xb @ tm[t] + rng.gumbel(size=(n, 3))).argmax(1) for t in range(2)],
                         1)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--xent", default="build/xent")
    ap.add_argument("--out", type=Path, default=None, help="keep the files here")
    a = ap.parse_args()
    from sklearn.linear_model import LogisticRegression

    work = a.out or Path(tempfile.mkdtemp(prefix="xent_sklearn_"))
    work.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    print("| case | fits | max abs J diff | xent lower | same predictions | same accuracy |"
          " max abs acc diff | sklearn default vs tight: same accuracy | xent s | sklearn s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    worst, equal_acc, total = 0.0, 0, 0
    for name, x, y in cases(rng):
        d = work / name.replace(" ", "_").replace(",", "").replace("=", "").replace("%", "")
        d.mkdir(exist_ok=True)
        np.save(d / "x.npy", x)
        np.save(d / "y.npy", y)
        t0 = time.perf_counter()
        subprocess.run([a.xent, "probe-factors", "--features", f"f={d / 'x.npy'}", "--targets",
                        str(d / "y.npy"), "--out", str(d / "xent"), "--repeats", "0",
                        "--feature-filter", "none", "--force", "--device", "cpu"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        xent_s = time.perf_counter() - t0
        if y.max() > 1:  # multiclass: one weight file per target, [K][p] and [K]
            w = [np.load(d / "xent" / f"f_target{t}_weights.npy") for t in range(y.shape[1])]
            b = [np.load(d / "xent" / f"f_target{t}_intercepts.npy") for t in range(y.shape[1])]
        else:
            w = np.load(d / "xent" / "f_weights.npy")
            b = np.load(d / "xent" / "f_intercepts.npy")
        xs = standardise(x)
        diffs, lower, same_pred, same_acc, acc_diff, tight_same = [], 0, [], 0, 0.0, 0
        t0 = time.perf_counter()
        fits = [LogisticRegression(C=1.0).fit(xs, y[:, t]) for t in range(y.shape[1])]
        sk_s = time.perf_counter() - t0
        tight = [LogisticRegression(C=1.0, tol=1e-10, max_iter=100000).fit(xs, y[:, t])
                 for t in range(y.shape[1])]
        for t, clf in enumerate(fits):
            pt = tight[t].predict(xs)
            tight_same += np.mean(clf.predict(xs) == y[:, t]) == np.mean(pt == y[:, t])
            sw, sb = (clf.coef_, clf.intercept_) if y.max() > 1 else (clf.coef_[0],
                                                                      clf.intercept_[0])
            jx = objective(xs, y[:, t], w[t], b[t], 1.0)
            js = objective(xs, y[:, t], sw, sb, 1.0)
            diffs.append(abs(jx - js))
            lower += jx < js
            px = predict(xs, w[t], b[t])
            ps = clf.predict(xs)
            same_pred.append(np.mean(px == ps))
            same_acc += np.mean(px == y[:, t]) == np.mean(ps == y[:, t])
            acc_diff = max(acc_diff, abs(np.mean(px == y[:, t]) - np.mean(ps == y[:, t])))
        worst = max(worst, max(diffs))
        equal_acc += same_acc
        total += y.shape[1]
        print(f"| {name} | {y.shape[1]} | {max(diffs):.1e} | {lower} | "
              f"{100 * np.mean(same_pred):.2f}% | {same_acc}/{y.shape[1]} | {acc_diff:.4f} | "
              f"{tight_same}/{y.shape[1]} | {xent_s:.2f} | {sk_s:.2f} |")
    print(f"\nAll {total} fits: largest |J_xent - J_sklearn| {worst:.1e} (target 1e-4); "
          f"equal accuracy on {equal_acc}/{total} ({100 * equal_acc / total:.1f}%, target 99%).")
    print("xent s: the whole `xent probe-factors` process (reading, standardising, all fits, "
          "scoring, files); sklearn s: the fits alone.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
