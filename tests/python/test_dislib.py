"""xent.dislib against `xent dislib`: the same config gives the same files and numbers."""

import csv
import io
import json

import numpy as np
import pytest

import xent

# A short run of two small repeats (seconds on a CPU): enough to train, stop one repeat early
# and probe.
SMALL = {"train.batch": 128, "model.width": 32, "model.layers": 2, "train.eval_every": 3,
         "probe.fit": 512, "probe.score": 512, "train.steps": 6}
SETS = [a for k, v in SMALL.items() for a in ("--set", f"{k}={v}")]


def rows(path):
    return [{k: v for k, v in json.loads(line).items() if k != "wall_s"}
            for line in path.read_text().splitlines()]


def test_dislib_is_the_clis_run_bit_for_bit(cli, tmp_path):
    cli("dislib", "-q", "--dataset", "dsprites", "--model", "mlp", "--repeats", "2", *SETS,
        "--out", str(tmp_path / "cli"))
    r = xent.dislib("dsprites", "mlp", repeats=2, overrides=SMALL, out=tmp_path / "py")
    want = json.loads((tmp_path / "cli" / "summary.json").read_text())
    got = json.loads((tmp_path / "py" / "summary.json").read_text())
    drop = lambda s: {k: v for k, v in s.items() if k != "timings"}
    assert drop(got) == drop(want) == drop(r["summary"])
    assert r["summary"]["run"] == {"command": "dislib", "experiment": "dislib", "preset": "",
                                   "dataset": "dsprites", "model": "mlp"}
    for f in ("results.csv", "config.toml"):
        assert (tmp_path / "py" / f).read_text() == (tmp_path / "cli" / f).read_text(), f
    assert r["results_csv"] == (tmp_path / "cli" / "results.csv").read_text()
    assert rows(tmp_path / "py" / "metrics.jsonl") == rows(tmp_path / "cli" / "metrics.jsonl")
    assert [{k: v for k, v in m.items() if k != "wall_s"} for m in r["metrics"]] == \
        rows(tmp_path / "cli" / "metrics.jsonl")
    # The array is results.csv's column, repeat by repeat, target by target.
    table = list(csv.DictReader(io.StringIO(r["results_csv"])))
    assert r["pearson_r"].shape == (2, len(r["targets"]))
    assert r["pearson_r"].ravel().tolist() == [float(t["pearson_r"]) for t in table]
    assert r["targets"] == [t["target"] for t in table[: len(r["targets"])]]


def test_dislib_without_out_writes_nothing_and_pixels_trains_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = xent.dislib("dsprites", "pixels", repeats=1, overrides={"probe.fit": 1024,
                                                                  "probe.score": 1024})
    assert list(tmp_path.iterdir()) == []
    assert r["summary"]["steps"] == 0 and r["metrics"] == []
    assert np.all(np.abs(r["pearson_r"]) <= 1)


def test_dislib_refuses_bad_arguments_with_the_clis_message(tmp_path):
    with pytest.raises(xent.ConfigError, match="model"):
        xent.dislib("dsprites", "resnet")
    with pytest.raises(xent.InputError, match="train.lr"):
        xent.dislib("dsprites", "mlp", overrides={"train.lr": -1.0})
    with pytest.raises(xent.InputError, match="data.name"):
        xent.dislib("mnist", "mlp")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("keep")
    with pytest.raises(xent.InputError, match="already holds files"):
        xent.dislib("dsprites", "pixels", repeats=1, out=tmp_path / "busy")
    assert (tmp_path / "busy" / "x").read_text() == "keep"
