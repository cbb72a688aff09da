"""xent.sweep: `xent sweep` from Python, from a sweep file or from a dict of the same shape."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import _xent
from ._config import ConfigError, _flatten, _toml_value

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")


def _key(k: str) -> str:
    # Dotted keys stay dotted ("dgp.kappa" is the key kappa of table dgp, as in a sweep file).
    if not _BARE_KEY.match(k):
        raise ConfigError(f"spec: {k!r} is not a config or sweep key")
    return k


def _lines(table: Mapping[str, Any]) -> list[str]:
    return [f"{_key(k)} = {_toml_value(k, v)}" for k, v in _flatten(table)]


def sweep_toml(spec: Mapping[str, Any]) -> str:
    """A sweep dict as the sweep file it stands for: plain keys first, then ``grid`` as
    [grid] and ``row`` (a list of dicts) as [[row]] tables; nested dicts are dotted keys."""
    plain = {k: v for k, v in spec.items() if k not in ("grid", "row")}
    out = _lines(plain)
    grid = spec.get("grid")
    if grid is not None:
        if not isinstance(grid, Mapping):
            raise ConfigError("spec: grid must be a dict of key: [values]")
        out += ["", "[grid]"] + _lines(grid)
    rows = spec.get("row")
    if rows is not None:
        if isinstance(rows, Mapping) or not all(isinstance(r, Mapping) for r in rows):
            raise ConfigError("spec: row must be a list of dicts (one per [[row]])")
        for r in rows:
            out += ["", "[[row]]"] + _lines(r)
    return "\n".join(out) + "\n"


def sweep(
    spec: str | os.PathLike[str] | Mapping[str, Any],
    out: str | os.PathLike[str],
    steps: int | None = None,
    device: str = "auto",
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Runs a sweep as ``xent sweep -c SPEC --out OUT [--steps N]`` does on one process and
    returns its results rows (``OUT/results.jsonl``: each run's id, status, final metrics and
    config). ``spec``: a sweep file's path, or a dict with the file's keys (``seeds``,
    ``preset``, config keys, ``grid``: {key: [values]}, ``row``: [{name, keys...}]). Runs that
    finished in OUT before are skipped. Ctrl-C stops it after the population that is
    training (KeyboardInterrupt); the runs finished so far keep their files."""
    if isinstance(spec, Mapping):
        text, name = sweep_toml(spec), "spec"
    elif isinstance(spec, (str, os.PathLike)):
        name = os.fspath(spec)
        try:
            text = Path(name).read_text()
        except OSError as e:
            raise ConfigError(f"{name}: cannot open sweep file ({e.strerror})") from None
    else:
        raise TypeError(f"spec: expected a sweep file path or a dict, got {type(spec).__name__}")
    if not isinstance(out, (str, os.PathLike)):
        raise TypeError(f"out: expected a directory path, got {type(out).__name__}")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
        raise ValueError(f"steps: must be a positive integer, got {steps!r}")
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device: expected 'auto', 'cpu' or 'cuda', got {device!r}")
    out_dir = os.fspath(out)
    try:
        _xent.sweep(text, name, out_dir, steps or 0, device, bool(progress))
    except _xent.InputError as e:
        raise ConfigError(str(e)) from None
    lines = Path(out_dir, "results.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]
