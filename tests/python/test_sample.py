"""xent.sample and xent.DgpSource: the stream `xent sample` writes and training draws."""

from __future__ import annotations

import numpy as np
import pytest

import xent

NAMES = ("latents", "observations", "labels", "clusters", "centres", "mixing")


@pytest.mark.parametrize("preset", ["sup-base", "diet-laplace"])
def test_sample_gives_the_arrays_xent_sample_writes(cli, tmp_path, preset):
    cli("sample", "--preset", preset, "--set", "train.seed=3", "--n", "777", "--out", str(tmp_path))
    got = xent.sample(xent.config(preset, overrides={"train.seed": 3}), 777)
    assert sorted(got) == sorted(NAMES)
    for name in NAMES:
        want = np.load(tmp_path / f"{name}.npy")
        assert got[name].dtype == want.dtype, name
        assert got[name].shape == want.shape, name
        assert np.array_equal(got[name], want), name


def test_sample_refuses_bad_counts():
    c = xent.config()
    with pytest.raises(ValueError, match=r"^n: must be in \[1, 2\^28\], got 0"):
        xent.sample(c, 0)
    with pytest.raises(TypeError, match="n: expected an integer, got float"):
        xent.sample(c, 10.0)
    with pytest.raises(TypeError, match="n: expected an integer, got bool"):
        xent.sample(c, True)
    with pytest.raises(TypeError, match="cfg: expected an xent.Config"):
        xent.sample(42, 10)


def test_dgp_source_batch_t_is_the_stream_from_t_times_batch():
    c = xent.config(overrides={"train.batch": 100})
    src = xent.DgpSource(c)
    assert src.batch_size == 100 and src.device == "cpu"
    s = xent.sample(c, 300)
    for t in (0, 2):
        x, z, labels = src[t]
        assert isinstance(x, np.ndarray) and x.dtype == np.float32 and x.shape == (100, 5)
        assert labels.dtype == np.int32 and labels.shape == (100,)
        assert np.array_equal(x, s["observations"][100 * t : 100 * (t + 1)])
        assert np.array_equal(z, s["latents"][100 * t : 100 * (t + 1)])
        assert np.array_equal(labels, s["labels"][100 * t : 100 * (t + 1)])
    batches = iter(src)
    assert np.array_equal(next(batches)[0], src.batch(0)[0])
    with pytest.raises(ValueError, match="t: must be in"):
        src.batch(-1)
    with pytest.raises(ValueError, match="device: expected"):
        xent.DgpSource(c, device="tpu")
