"""Checks of the arrays users pass in: every problem is an exception that names the argument."""

from __future__ import annotations

from typing import Any

import numpy as np

# Integers above 2**53 have no exact double; smaller ones convert to float64 unchanged.
_EXACT_INT = 2**53


def _shape_text(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _first_nonfinite(name: str, a: np.ndarray) -> None:
    bad = ~np.isfinite(a)
    if not bad.any():
        return
    index = np.unravel_index(int(np.argmax(bad)), a.shape)
    value = a[index]
    where = f"row {index[0]}" + (f", column {index[1]}" if a.ndim == 2 else "")
    kind = "nan" if np.isnan(value) else "inf"
    raise ValueError(f"{name}: non-finite value {kind} at {where} (0-based)")


def as_rows(name: str, value: Any, dtype: type, min_rows: int = 1, allow_1d: bool = True) -> np.ndarray:
    """`value` as a C-contiguous 2-D array of `dtype`, one sample per row.

    Accepts float32, float64 and integer arrays whose values `dtype` holds exactly; a 1-D
    array is one column when allow_1d. A view that is not contiguous, or another dtype, is
    copied once; an array already of that dtype and layout is used as it is.
    """
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name}: expected a numpy array, got {type(value).__name__}")
    a = value
    if a.dtype == np.bool_ or not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
        raise TypeError(f"{name}: expected float32 or float64 values, got dtype {a.dtype}")
    if a.ndim == 0 or a.ndim > 2 or (a.ndim == 1 and not allow_1d):
        want = "a 1-D or 2-D array" if allow_1d else "a 2-D array"
        raise ValueError(f"{name}: expected {want} (rows of samples), got shape {_shape_text(a.shape)}")
    if a.size == 0:
        raise ValueError(f"{name}: is empty (shape {_shape_text(a.shape)})")
    if a.shape[0] < min_rows:
        raise ValueError(f"{name}: need at least {min_rows} rows, got {a.shape[0]}")
    target = np.dtype(dtype)
    if np.issubdtype(a.dtype, np.floating):
        _first_nonfinite(name, a)
        if a.dtype != target and not np.array_equal(a.astype(target).astype(a.dtype), a):
            raise TypeError(
                f"{name}: {a.dtype} values that {target.name} cannot hold exactly; convert them "
                f"yourself if rounding is what you want (e.g. {name}.astype(np.{target.name}))"
            )
    else:
        limit = _EXACT_INT if target == np.float64 else 2**24
        if int(a.max()) > limit or int(a.min()) < -limit:
            raise TypeError(f"{name}: integers beyond +-{limit}, which {target.name} cannot hold exactly")
    out = np.ascontiguousarray(a, dtype=dtype)
    return out.reshape(-1, 1) if out.ndim == 1 else out
