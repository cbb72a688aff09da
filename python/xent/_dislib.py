"""xent.dislib: the paper's DisLib experiment (Table 4) as ``xent dislib`` runs it."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from . import _xent
from ._config import ConfigError, _sets
from ._train import _check_device, _check_dir

_MODELS = ("pixels", "linear", "mlp")


def dislib(
    dataset: str = "dsprites",
    model: str = "mlp",
    repeats: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    path: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    device: str = "auto",
    progress: bool = False,
    force: bool = False,
) -> dict[str, Any]:
    """Runs ``xent dislib --dataset DATASET --model MODEL [--repeats N] [--config PATH] [--set
    key=value ...] [--out OUT]`` and returns its results, the same numbers bit for bit on the
    CPU (the times aside).

    ``dataset``: "dsprites" or "shapes3d"; ``model``: "pixels" (probe the images), "linear" or
    "mlp"; ``repeats``: classifiers trained at once (default 10); ``overrides``: config keys as
    for :func:`config` (``{"train.steps": 200}``; ``xent dislib --help`` lists them); ``path``:
    a TOML config file, applied before the arguments. ``out``: also write the run directory
    (config.toml, metrics.jsonl, loss.jsonl, checkpoint.xck, results.csv, summary.json; it
    must be new or empty unless ``force``). ``progress``: the CLI's progress on stderr.

    Returns a dict: ``summary`` (summary.json as a dict: per repeat ``summary["replicas"]``, the
    mean and std per factor ``summary["results"]``), ``targets`` (the factors), ``pearson_r``
    (numpy [repeats][targets]), ``results_csv`` (results.csv's text), ``metrics`` and
    ``losses`` (metrics.jsonl's and loss.jsonl's rows, a dict each).

    Raises ConfigError for a bad argument, InputError (a ValueError, with the CLI's one-line
    message) for a bad key, value, file or ``out``; Ctrl-C stops training (KeyboardInterrupt).
    """
    if not isinstance(dataset, str):
        raise ConfigError(f"dataset: expected a dataset name, got {type(dataset).__name__}")
    if model not in _MODELS:
        raise ConfigError(f"model: expected one of {', '.join(_MODELS)}, got {model!r}")
    if repeats is not None and (isinstance(repeats, bool) or not isinstance(repeats, int)):
        raise ConfigError(f"repeats: expected an integer, got {type(repeats).__name__}")
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise ConfigError(f"path: expected a file path, got {type(path).__name__}")
    keys: dict[str, Any] = {"data.name": dataset, "model.kind": model}
    if repeats is not None:
        keys["train.repeats"] = repeats
    sets = _sets(keys, {}) + _sets(overrides, {})
    device = _check_device(device)
    out_dir = "" if out is None else _check_dir("out", out)
    summary, r, csv, metrics, losses = _xent.dislib(
        "" if path is None else os.fspath(path), sets, out_dir, device, bool(force), not progress)
    s = json.loads(summary)
    return {"summary": s, "targets": s["results"]["targets"], "pearson_r": r,
            "results_csv": csv, "metrics": metrics, "losses": losses}
