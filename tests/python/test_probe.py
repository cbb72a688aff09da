"""xent.probe: `xent probe`'s metrics on numpy arrays, and what it refuses."""

from __future__ import annotations

import json

import numpy as np
import pytest

import xent


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((400, 3))
    f = np.c_[z @ rng.standard_normal((3, 4)), rng.standard_normal(400)] + 0.1 * rng.standard_normal((400, 5))
    return f, z


def test_probe_gives_xent_probes_metrics(cli, tmp_path, data):
    f, z = data
    np.save(tmp_path / "f.npy", f)
    np.save(tmp_path / "z.npy", z.astype(np.float32))
    want = json.loads(cli("probe", "--features", str(tmp_path / "f.npy"), "--targets", str(tmp_path / "z.npy"),
                          "--split", "0.6", "--scale", "0.1", "--json").stdout)
    got = xent.probe(f, z.astype(np.float32), split=0.6, scale=0.1)
    for k in ("r2_a", "r2_o", "mae_o", "mcc", "n_fit", "n_score"):
        assert got[k] == want[k], k


def test_memory_order_dtype_and_views_do_not_change_the_result(data):
    f, z = data
    want = xent.probe(f, z)
    assert xent.probe(np.asfortranarray(f), z) == want
    wide = np.zeros((400, 10))
    wide[:, ::2] = f
    assert xent.probe(wide[:, ::2], z) == want  # a strided view, copied once
    doubled = np.repeat(f, 2, axis=0)
    assert xent.probe(doubled[::2], z) == want
    f32 = f.astype(np.float32)
    assert xent.probe(f32, z) == xent.probe(f32.astype(np.float64), z)
    assert xent.probe(f, z[:, 0]) == xent.probe(f, z[:, :1])  # 1-D: one column


BAD = [
    (lambda f, z: (f.astype(np.complex128), z), TypeError, "features: expected float32 or float64 values, got dtype complex128"),
    (lambda f, z: (f > 0, z), TypeError, "features: expected float32 or float64 values, got dtype bool"),
    (lambda f, z: (f.astype(object), z), TypeError, "features: expected float32 or float64 values, got dtype object"),
    (lambda f, z: (f.tolist(), z), TypeError, "features: expected a numpy array, got list"),
    (lambda f, z: (f[None], z), ValueError, r"features: expected a 1-D or 2-D array \(rows of samples\), got shape \(1, 400, 5\)"),
    (lambda f, z: (np.array(1.0), z), ValueError, r"features: expected a 1-D or 2-D array .* got shape \(\)"),
    (lambda f, z: (f[:0], z[:0]), ValueError, r"features: is empty \(shape \(0, 5\)\)"),
    (lambda f, z: (f, z[:, :0]), ValueError, r"targets: is empty \(shape \(400, 0\)\)"),
    (lambda f, z: (f[:1], z[:1]), ValueError, "features: need at least 2 rows, got 1"),
    (lambda f, z: (f[:300], z), ValueError, "features has 300 rows but targets has 400; probing needs one row per sample in both"),
    (lambda f, z: (np.where(np.arange(5) == 3, np.nan, f), z), ValueError, r"features: non-finite value nan at row 0, column 3 \(0-based\)"),
    (lambda f, z: (f, np.where(np.arange(400)[:, None] == 7, np.inf, z)), ValueError, r"targets: non-finite value inf at row 7, column 0 \(0-based\)"),
    (lambda f, z: (f.astype(np.int64) + 2**60, z), TypeError, "features: integers beyond"),
    (lambda f, z: (f.astype(np.float16), z), None, None),  # exact in float64: accepted
]


@pytest.mark.parametrize("make, error, message", BAD)
def test_bad_arrays_raise_naming_the_argument(data, make, error, message):
    f, z = make(*data)
    if error is None:
        xent.probe(f, z)
        return
    with pytest.raises(error, match="^" + message):
        xent.probe(f, z)


@pytest.mark.parametrize("split", [0, 1.5, -0.1, float("nan"), "0.5", True])
def test_bad_split_names_it(data, split):
    with pytest.raises(ValueError, match=r"^split: must be the fraction of rows that fit, in \(0, 1\]"):
        xent.probe(*data, split=split)


@pytest.mark.parametrize("scale", [-1, float("inf"), float("nan")])
def test_bad_scale_names_it(data, scale):
    with pytest.raises(ValueError, match="^scale: must be a finite number >= 0"):
        xent.probe(*data, scale=scale)
