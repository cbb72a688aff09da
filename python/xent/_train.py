"""xent.train, xent.load and the trained run they return."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from . import _xent
from ._arrays import as_rows
from ._config import Config, as_config, config
from ._progress import Progress

Row = dict[str, float]
Callback = Callable[[int, list[Row]], Optional[bool]]

_DEVICES = ("auto", "cpu", "cuda")


def _check_device(device: Any) -> str:
    if device not in _DEVICES:
        raise ValueError(f"device: expected 'auto', 'cpu' or 'cuda', got {device!r}")
    return device


def _check_dir(name: str, value: Any) -> str:
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name}: expected a directory path, got {type(value).__name__}")
    return os.fspath(value)


class Run:
    """A trained population of K replicas (``train.population``), held in memory.

    ``metrics``: every evaluation, one dict per replica (the rows of ``metrics.jsonl``);
    ``losses``: the training loss every 100 steps, one dict per replica (step, replica, seed,
    wall_s, loss: the rows of ``loss.jsonl``);
    ``summary``: what ran, the config, timings and the final metrics per replica
    (``summary["replicas"][k]``; ``summary.json``, the same dict ``xent train`` writes); ``parameters()``: the weights as numpy arrays; ``encode(x)``: the trained encoder
    on your observations; ``save(dir)``: a run directory that :func:`load` and ``xent train
    --resume`` read.
    """

    def __init__(
        self,
        native: _xent.Run,
        cfg: Config,
        metrics: list[Row],
        summary: dict[str, Any] | None,
        losses: list[Row],
    ):
        self._native = native
        self.config = cfg
        self.metrics = metrics
        self.summary = summary
        self.losses = losses

    @property
    def steps_done(self) -> int:
        """The steps trained so far."""
        return self._native.steps_done

    @property
    def stopped(self) -> bool:
        """Whether a callback ended the run before its last step."""
        return self._native.stopped

    @property
    def device(self) -> str:
        """The backend it trained on ("cpu", "cuda:0", ...)."""
        return self._native.device

    def parameters(self) -> dict[str, np.ndarray]:
        """Every parameter and BatchNorm statistic by name, each [K, ...] (replica first):
        ``enc.<i>.weight`` [K, out, in], ``enc.<i>.bias``, ``enc.<i>.bn.weight``,
        ``enc.<i>.bn.bias``, ``enc.<i>.bn.running_mean``, ``enc.<i>.bn.running_var`` [K, width],
        ``head.weight`` [K, classes, d]. Copies: changing them changes nothing in the run."""
        return self._native.parameters()

    def encode(self, x: np.ndarray) -> np.ndarray:
        """The trained encoder f on observations ``x`` [n, d] (float32; float64 when every value
        is a float32), in evaluation mode: features [n, d], or [K, n, d] for a population."""
        d = self.config["dgp.d"]
        a = as_rows("x", x, np.float32, allow_1d=False)
        if a.shape[1] != d:
            raise ValueError(f"x: expected {d} columns (dgp.d), got shape {tuple(x.shape)}")
        f = self._native.encode(a)
        return f[0] if f.shape[0] == 1 else f

    def save(self, dir: str | os.PathLike[str]) -> None:
        """Writes the run directory ``xent train`` writes (config.toml, checkpoint.xck,
        metrics.jsonl, loss.jsonl, summary.json when it finished) into ``dir``, which must be
        new or empty. :func:`load` reads it back; ``xent train --resume dir`` continues it."""

        def lines(rows: list[Row]) -> str:
            return "".join(json.dumps(r) + "\n" for r in rows)

        self._native.save(_check_dir("dir", dir), lines(self.metrics), lines(self.losses))

    def __repr__(self) -> str:
        return f"xent.Run(preset={self.config.preset!r}, steps_done={self.steps_done}, device={self.device!r})"


def train(
    cfg: Config | str | dict[str, Any] | None = None,
    device: str = "auto",
    out: str | os.PathLike[str] | None = None,
    progress: bool = True,
    callback: Callback | None = None,
) -> Run:
    """Trains ``cfg`` (a :func:`config`, a preset name or a dict of overrides; default the
    preset "default") as ``xent train`` does, and returns the :class:`Run`.

    The summary is ``xent train``'s ``summary.json`` for the same config, bit for bit on the
    CPU (the times aside). ``out``: also write the run directory there as ``xent train --out``
    does (it must be new or empty); without it nothing is written.

    ``callback(step, rows)`` runs after every evaluation with one dict per replica; returning
    False ends the run there (with ``out``, after a checkpoint). Ctrl-C stops between two
    steps and raises KeyboardInterrupt; with ``out``, the last checkpoint stays valid and
    ``xent train --resume out`` continues from it. The GIL is released while it trains.
    """
    c = config() if cfg is None else as_config("cfg", cfg)
    device = _check_device(device)
    out_dir = "" if out is None else _check_dir("out", out)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback: expected a callable (step, rows), got {type(callback).__name__}")
    bar = Progress(bool(progress), c["train.steps"])

    def on_evaluation(step: int, rows: list[Row]) -> bool | None:
        bar.evaluation(step, rows)
        return None if callback is None else callback(step, rows)

    native = _xent.Run(c._native, device)
    try:
        native.train(out_dir, bar.terminal, bar.step_hook(), on_evaluation)
    finally:
        bar.close()
    return Run(native, c, native.metrics(), json.loads(native.summary), native.losses())


def load(dir: str | os.PathLike[str], device: str = "auto") -> Run:
    """A run directory (from ``xent train`` or :meth:`Run.save`) back in memory, at its
    checkpoint: its config, metrics, summary (None when it did not finish) and parameters."""
    d = Path(_check_dir("dir", dir))
    if not (d / "config.toml").is_file():
        raise ValueError(f"dir: {d} has no config.toml (is it a directory written by xent train?)")
    summary_file = d / "summary.json"
    summary = json.loads(summary_file.read_text()) if summary_file.is_file() else None
    c = config(path=d / "config.toml")
    native = _xent.Run(c._native, _check_device(device))
    native.load(str(d))

    def rows(name: str) -> list[Row]:
        f = d / name
        return [json.loads(line) for line in f.read_text().splitlines() if line.strip()] if f.is_file() else []

    return Run(native, c, rows("metrics.jsonl"), summary, rows("loss.jsonl"))
