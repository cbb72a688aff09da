"""tools/summary_schema.py: every summary.json, today's envelope or one committed before it,
reads as the envelope."""

import json
import sys
from pathlib import Path

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "tools"))
from summary_schema import SCHEMA, read_summary, upgrade  # noqa: E402

KEYS = ["run", "backend", "steps", "timings", "replicas", "results"]
COMMITTED = sorted((REPO / "docs" / "results").rglob("summary.json"))


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: str(p.relative_to(REPO)))
def test_every_committed_summary_reads_as_the_envelope(path):
    s = read_summary(path)
    assert all(k in s for k in KEYS), path
    assert s["run"]["command"] in ("train", "sweep", "dislib", "dsprites")
    # xent dsprites trained one model and kept no per-replica results.
    assert s["replicas"] or s["run"]["command"] == "dsprites"
    assert all("replica" in r and "seed" in r for r in s["replicas"])


def test_a_new_summary_is_the_envelope_unchanged(cli, tmp_path):
    cli("train", "-q", "--set", "train.steps=3", "--set", "train.batch=32", "--set",
        "model.hidden=[8]", "--set", "train.eval_samples=64", "--set", "dgp.mixing_cond_draws=50",
        "--out", str(tmp_path / "run"))
    raw = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert raw["schema"] == SCHEMA and list(raw)[1:] == ["run", "config"] + KEYS[1:]
    assert upgrade(raw) is raw and read_summary(tmp_path / "run" / "summary.json") == raw


def test_an_old_train_summary_keeps_its_values(tmp_path):
    old = {"preset": "default", "backend": "cpu", "steps": 3000, "population": 1, "wall_s": 9.0,
           "steps_per_s": 350.0, "steady_steps": 2998, "steady_steps_per_s": 351.0,
           "replicas": [{"replica": 0, "seed": 0, "r2_a": 0.97}]}
    s = upgrade(old)
    assert s["run"] == {"command": "train", "experiment": "synthetic", "preset": "default"}
    assert s["replicas"] == old["replicas"] and s["steps"] == 3000
    assert s["timings"]["steps_per_s"] == 350.0 and "schema" not in s


def test_not_a_summary_is_refused_naming_the_file(tmp_path):
    (tmp_path / "summary.json").write_text('{"hello": 1}')
    with pytest.raises(ValueError, match="summary.json"):
        read_summary(tmp_path / "summary.json")
