"""xent.probe_factors against `xent probe-factors`: the same arrays give the same files."""

import json

import numpy as np
import pytest

import xent


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(300, 3))
    x = (z @ rng.normal(size=(3, 6)) + 0.3 * rng.normal(size=(300, 6))).astype(np.float32)
    # Two binary targets and one of three classes, all read off z.
    labels = np.stack([z[:, 0] > 0, z[:, 1] > 0.3, np.digitize(z[:, 2], [-0.5, 0.5])], axis=1)
    labels = labels.astype(np.float64)
    for name, a in (("x", x), ("z", z), ("t", labels)):
        np.save(tmp_path / f"{name}.npy", a)
    return x, z, labels


def cli_run(cli, tmp_path, out, *flags):
    cli("probe-factors", "--features", f"x={tmp_path / 'x.npy'}", "--features",
        f"z={tmp_path / 'z.npy'}", "--targets", str(tmp_path / "t.npy"), "--device", "cpu",
        "--out", str(tmp_path / out), *flags)


def test_probe_factors_is_the_clis_run_bit_for_bit(cli, tmp_path, data):
    x, z, labels = data
    cli_run(cli, tmp_path, "cli", "--repeats", "3", "--seed", "7")
    doc = xent.probe_factors({"x": x, "z": z}, labels, repeats=3, seed=7, device="cpu",
                             out=tmp_path / "py")
    for f in ("results.json", "results.csv"):
        assert (tmp_path / "py" / f).read_bytes() == (tmp_path / "cli" / f).read_bytes(), f
    assert doc == json.loads((tmp_path / "cli" / "results.json").read_text())
    assert doc["targets"] == ["target0", "target1", "target2"] and doc["classes"] == [2, 2, 3]
    assert len(doc["results"]) == 2 * 3 * 3 * 2  # sets x targets x repeats x parts


def test_probe_factors_weights_are_the_clis_npy_files(cli, tmp_path, data):
    x, z, labels = data
    binary = {"a": labels[:, 0], "b": labels[:, 1]}
    np.save(tmp_path / "t.npy", labels[:, :2])
    cli_run(cli, tmp_path, "cli", "--repeats", "0", "--feature-filter", "none")
    doc = xent.probe_factors({"x": x, "z": z}, binary, repeats=0, feature_filter="none",
                             device="cpu")
    assert doc["targets"] == ["a", "b"]
    for name in ("x", "z"):
        w = doc["weights"][name]
        assert np.array_equal(w["weights"], np.load(tmp_path / "cli" / f"{name}_weights.npy"))
        assert np.array_equal(w["intercepts"], np.load(tmp_path / "cli" / f"{name}_intercepts.npy"))
    assert not (tmp_path / "py").exists()


def test_probe_factors_refuses_bad_input(data):
    x, z, labels = data
    with pytest.raises(ValueError, match="300 rows of labels, but the features have 299"):
        xent.probe_factors({"x": x[:299]}, labels)
    with pytest.raises(ValueError, match="class label"):
        xent.probe_factors({"x": x}, -labels)
    with pytest.raises(ValueError, match="features\\['y'\\]: 299 rows"):
        xent.probe_factors({"x": x, "y": z[:299]}, labels)
    bad = x.copy()
    bad[5, 2] = np.nan
    with pytest.raises(ValueError, match="nan"):
        xent.probe_factors({"x": bad}, labels)
    with pytest.raises(ValueError, match="repeats"):
        xent.probe_factors({"x": x}, labels, repeats=-1)
    with pytest.raises(ValueError, match="constant"):
        xent.probe_factors({"x": x}, np.zeros(300))
