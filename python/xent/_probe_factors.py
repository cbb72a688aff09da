"""xent.probe_factors: the classification probes of the paper's ImageNet-X experiment, as
``xent probe-factors`` runs them, on arrays."""

from __future__ import annotations

import json
import numbers
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from . import _xent
from ._arrays import as_rows
from ._train import _check_device, _check_dir

_FILTERS = ("positive-mean", "none")


def _labels(targets: Any, rows: int) -> tuple[list[str], np.ndarray]:
    # Names as the CLI gives a .npy's columns: "target" for one, "target0", ... for several.
    if isinstance(targets, Mapping):
        names = list(targets)
        if not names or not all(isinstance(n, str) for n in names):
            raise TypeError("targets: a dict must map target names (str) to label arrays")
        columns = [as_rows(f"targets[{n!r}]", targets[n], np.float64)[:, 0] for n in names]
        for n, c in zip(names, columns):
            if np.ndim(targets[n]) != 1:
                raise ValueError(f"targets[{n!r}]: expected labels [rows], a 1-D array")
            if len(c) != len(columns[0]):
                raise ValueError(f"targets[{n!r}]: {len(c)} rows, but {names[0]!r} has {len(columns[0])}")
        y = np.stack(columns, axis=1)
    else:
        y = as_rows("targets", targets, np.float64)
        names = ["target"] if y.shape[1] == 1 else [f"target{k}" for k in range(y.shape[1])]
    if y.shape[0] != rows:
        raise ValueError(f"targets: {y.shape[0]} rows of labels, but the features have {rows}")
    bad = (y < 0) | (y > 2**24) | (y != np.floor(y))
    if bad.any():
        r, t = np.argwhere(bad)[0]
        raise ValueError(f"targets: row {r}, {names[t]}: expected a class label (an integer >= 0), "
                         f"got {y[r, t]!r}")
    return names, np.ascontiguousarray(y, dtype=np.int32)


def probe_factors(
    features: Mapping[str, np.ndarray],
    targets: np.ndarray | Mapping[str, np.ndarray],
    repeats: int = 10,
    test_fraction: float = 0.3,
    balance: bool = True,
    feature_filter: str = "positive-mean",
    C: float = 1.0,
    seed: int = 42,
    out: str | os.PathLike[str] | None = None,
    force: bool = False,
    device: str = "auto",
) -> dict[str, Any]:
    """Classification probes of each feature set for each target, as ``xent probe-factors
    --features NAME=F.npy ... --targets T.npy`` computes them (the same numbers, bit for bit on
    the CPU): per target and repeat, a stratified, balanced split and an L2 logistic regression
    (multinomial for more than two classes), scored on both parts.

    ``features``: {name: array [rows][p]} (float32 or float64); ``targets``: class labels 0 ..
    K-1, an array [rows] or [rows][targets] (named "target", "target0", ... as the CLI names a
    .npy's columns) or {name: array [rows]}. ``repeats`` = 0 fits each target once on all rows
    and returns the weights. ``out``: also write the CLI's files (results.json, results.csv,
    factors.png, and for repeats = 0 the weights as .npy).

    Returns results.json as a dict (``features``: columns kept and dropped per set,
    ``targets``, ``options``, ``results``: one dict per set, target, repeat and part with
    accuracy, balanced accuracy, precision, recall, F1, ...), and for repeats = 0 ``weights``:
    {set: {"weights", "intercepts"}} in the filtered, standardised space.
    """
    if not isinstance(features, Mapping) or not features:
        raise TypeError("features: expected a dict {name: array [rows][p]} with at least one set")
    names = list(features)
    arrays = []
    for n in names:
        if not isinstance(n, str) or not n or not all(ch.isalnum() or ch in "_-." for ch in n):
            raise ValueError(f"features: the name {n!r} may hold letters, digits, '_', '-', '.'")
        arrays.append(as_rows(f"features[{n!r}]", features[n], np.float64, allow_1d=False))
        if arrays[-1].shape[0] != arrays[0].shape[0]:
            raise ValueError(f"features[{n!r}]: {arrays[-1].shape[0]} rows, but {names[0]!r} has "
                             f"{arrays[0].shape[0]}")
    target_names, labels = _labels(targets, arrays[0].shape[0])
    if isinstance(repeats, bool) or not isinstance(repeats, numbers.Integral) or repeats < 0:
        raise ValueError(f"repeats: must be an integer >= 0, got {repeats!r}")
    for name, v in (("test_fraction", test_fraction), ("C", C)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"{name}: expected a number, got {type(v).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**64:
        raise ValueError(f"seed: must be an integer in [0, 2**64), got {seed!r}")
    if feature_filter not in _FILTERS:
        raise ValueError(f"feature_filter: expected positive-mean or none, got {feature_filter!r}")
    out_dir = "" if out is None else _check_dir("out", out)
    results, _, weights = _xent.probe_factors(
        names, arrays, target_names, labels, int(repeats), float(test_fraction), bool(balance),
        feature_filter == "positive-mean", float(C), int(seed), out_dir, bool(force),
        _check_device(device))
    doc = json.loads(results)
    if repeats == 0:
        doc["weights"] = weights
    return doc
