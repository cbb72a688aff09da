#!/usr/bin/env python3
"""scikit-learn's multinomial logistic regressions on the problems of
tests/logistic_multinomial_test.cpp, whose reference objectives that test holds.

The problems come from a SplitMix64 stream that the test spells the same way, so both sides
fit the same float32 features and labels. For each problem this prints the objective of
include/xent/logistic.h (scikit-learn's: (1/S) sum s_i [logsumexp(z_i) - z_i,y_i] +
||W||^2 / (2 C S)) at the solution of LogisticRegression(C, lbfgs) with its default tol
(1e-4) and at a tight one (1e-10), and the max |gradient| there (the same float32 features,
handed to scikit-learn in float64: it computes a float32 input's loss in float32). That the
tight fit's gradient, by this file's formula, falls to ~1e-10 checks the formula is
scikit-learn's objective.

Run with a Python that has scikit-learn (the project's .venv-torch):
  /work/main/.venv-torch/bin/python tools/multinomial_reference.py
"""
import math

import numpy as np
from sklearn.linear_model import LogisticRegression

MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def uniform(self):  # [0, 1), 53 bits
        return (self.next() >> 11) * 2.0**-53


def problem(n, p, classes, seed, sharpness, scale0):
    """The test's make_multinomial: truth [C][p] in [-1, 1), then per row p features (column 0
    times scale0, rounded to float32) and one uniform that draws the label from the softmax of
    sharpness * truth . x (column 0 divided by scale0 again), summed in double in order."""
    g = SplitMix64(seed)
    truth = [[2.0 * g.uniform() - 1.0 for _ in range(p)] for _ in range(classes)]
    x = np.zeros((n, p), dtype=np.float32)
    y = np.zeros(n, dtype=np.int64)
    for i in range(n):
        for j in range(p):
            x[i, j] = np.float32((2.0 * g.uniform() - 1.0) * (scale0 if j == 0 else 1.0))
        z = []
        for c in range(classes):
            s = 0.0
            for j in range(p):
                s += truth[c][j] * (float(x[i, j]) / scale0 if j == 0 else float(x[i, j]))
            z.append(sharpness * s)
        m = max(z)
        e = [math.exp(v - m) for v in z]
        total = 0.0
        for v in e:
            total += v
        u = g.uniform()
        acc, label = 0.0, classes - 1
        for c in range(classes):
            acc += e[c] / total
            if u < acc:
                label = c
                break
        y[i] = label
    return x, y


def objective(x, y, W, b, C):
    xd = x.astype(np.float64)
    z = xd @ W.T + b
    m = z.max(axis=1, keepdims=True)
    lse = (m[:, 0] + np.log(np.exp(z - m).sum(axis=1)))
    n = len(y)
    loss = (lse - z[np.arange(n), y]).sum()
    return loss / n + (W * W).sum() / (2 * C * n)


def gradient_max(x, y, W, b, C):
    xd = x.astype(np.float64)
    n, classes = len(y), W.shape[0]
    z = xd @ W.T + b
    z -= z.max(axis=1, keepdims=True)
    prob = np.exp(z)
    prob /= prob.sum(axis=1, keepdims=True)
    prob[np.arange(n), y] -= 1.0
    gw = prob.T @ xd / n + W / (C * n)
    gb = prob.sum(axis=0) / n
    return max(np.abs(gw).max(), np.abs(gb).max())


# name, n, p, classes, seed, sharpness, scale0, C: the test's cases, in its order.
CASES = [
    ("three classes", 400, 4, 3, 11, 2.0, 1.0, 1.0),
    ("five classes", 500, 5, 5, 12, 2.0, 1.0, 1.0),
    ("five classes, C 0.05", 300, 4, 5, 13, 2.0, 1.0, 0.05),
    ("badly scaled", 400, 4, 3, 14, 2.0, 1000.0, 1.0),
    ("nearly separable", 300, 3, 4, 15, 25.0, 1.0, 1.0),
]

if __name__ == "__main__":
    for name, n, p, classes, seed, sharp, scale0, C in CASES:
        x, y = problem(n, p, classes, seed, sharp, scale0)
        row = [name, "counts", np.bincount(y, minlength=classes).tolist()]
        for tol in (1e-4, 1e-10):
            # In float64: given float32 features scikit-learn computes its loss in float32.
            m = LogisticRegression(C=C, tol=tol, max_iter=100000).fit(x.astype(np.float64), y)
            row += [tol, "%.12f" % objective(x, y, m.coef_, m.intercept_, C),
                    "%.1e" % gradient_max(x, y, m.coef_, m.intercept_, C)]
        print(*row)
