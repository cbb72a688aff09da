"""The DGP and the probe: xent.sample, xent.DgpSource, xent.probe."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from . import _xent
from ._arrays import as_rows
from ._config import Config, as_config

_MAX_SAMPLES = 2**28


def sample(cfg: Config | str | dict[str, Any], n: int) -> dict[str, np.ndarray]:
    """The first ``n`` samples of the training stream (replica 0, seed ``train.seed``), the
    arrays ``xent sample`` writes: ``latents`` z [n, d], ``observations`` x = g(z) [n, d]
    (float32), ``labels`` [n] and ``clusters`` [n] (int32), ``centres`` [clusters, d] and
    ``mixing`` [layers, d, d] (x_out = W x_in, LeakyReLU(0.2) between layers)."""
    c = as_config("cfg", cfg)
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"n: expected an integer, got {type(n).__name__}")
    if not 1 <= int(n) <= _MAX_SAMPLES:
        raise ValueError(f"n: must be in [1, 2^28], got {n}")
    return _xent.sample(c._native, int(n))


def probe(
    features: np.ndarray, targets: np.ndarray, split: float = 0.5, scale: float = 1.0
) -> dict[str, float]:
    """The metrics of ``xent probe`` from ``features`` [n, p] to ``targets`` [n, q] (1-D: one
    column; float32 or float64, any memory order): ``r2_a``, ``r2_o``, ``mae_o``, ``mcc``, and
    the rows that fit (``n_fit``, the first round(n * split)) and score (``n_score``, the rest;
    all rows both fit and score when split is 1 or either part would have fewer than p + 1).
    ``scale``: the singular value mae_o compares with (1/kappa for latents)."""
    if isinstance(split, bool) or not isinstance(split, numbers.Real) or not 0 < float(split) <= 1:
        raise ValueError(f"split: must be the fraction of rows that fit, in (0, 1], got {split!r}")
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real) or not (0 <= float(scale) < float("inf")):
        raise ValueError(f"scale: must be a finite number >= 0, got {scale!r}")
    x = as_rows("features", features, np.float64, min_rows=2)
    y = as_rows("targets", targets, np.float64, min_rows=2)
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"features has {x.shape[0]} rows but targets has {y.shape[0]}; probing needs one row per sample in both"
        )
    return _xent.probe(x, y, float(split), float(scale))


class DgpSource:
    """The paper's data for your own model: batch ``t`` of the training stream, the batch that
    training step t + 1 of ``xent.train(cfg)`` draws, as ``(x, z, labels)``.

    ``batch_size`` is ``train.batch``. On the CPU the arrays are numpy arrays; with
    ``device="cuda"`` they stay on the GPU as ``xent._xent.CudaArray`` (``shape``, ``dtype``,
    ``__dlpack__``), which ``torch.from_dlpack`` takes without a copy. A batch's memory comes
    from a pool and goes back to it when its last array (and every tensor made from it) is
    gone, with no device-wide wait: ``from_dlpack`` orders torch's current stream after the
    draw, and the pool writes the memory again only after the work torch had queued on that
    stream when it dropped the tensor. Work on another stream must be ordered by the caller.
    ``source[t]`` is ``source.batch(t)``; iterating gives batches 0, 1, 2, ...
    """

    def __init__(self, cfg: Config | str | dict[str, Any], device: str = "cpu"):
        self.config = as_config("cfg", cfg)
        if device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device: expected 'auto', 'cpu' or 'cuda', got {device!r}")
        self._native = _xent.DgpSource(self.config._native, device)
        self.batch_size: int = self.config["train.batch"]

    @property
    def device(self) -> str:
        return self._native.device

    def batch(self, t: int) -> tuple[Any, Any, Any]:
        """(x [B, d] float32, z [B, d] float32, labels [B] int32) of batch t >= 0."""
        if isinstance(t, bool) or not isinstance(t, numbers.Integral):
            raise TypeError(f"t: expected an integer, got {type(t).__name__}")
        if not 0 <= int(t) < 2**56 // self.batch_size:
            raise ValueError(f"t: must be in [0, 2^56 / batch), got {t}")
        return self._native.batch(int(t))

    def __getitem__(self, t: int) -> tuple[Any, Any, Any]:
        return self.batch(t)

    def __iter__(self):
        t = 0
        while True:
            yield self.batch(t)
            t += 1
