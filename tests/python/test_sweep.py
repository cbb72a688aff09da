"""xent.sweep: `xent sweep` from a file or a dict."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

import xent
from conftest import SMALL

SPEC = {"seeds": [0, 1], **SMALL, "grid": {"dgp.kappa": [5, 50]}}


def test_a_dict_sweep_is_the_file_sweep_and_xent_sweeps_table(cli, tmp_path):
    rows = xent.sweep(SPEC, tmp_path / "py", progress=False)
    assert len(rows) == 4 and all(r["status"] == "ok" for r in rows)
    spec_file = tmp_path / "sweep.toml"
    spec_file.write_text(xent._sweep.sweep_toml(SPEC))
    cli("sweep", "-q", "-c", str(spec_file), "--out", str(tmp_path / "cli"))
    want = [json.loads(line) for line in (tmp_path / "cli" / "results.jsonl").read_text().splitlines()]
    drop = ("wall_s",)
    assert [{k: v for k, v in r.items() if k not in drop} for r in rows] == [
        {k: v for k, v in r.items() if k not in drop} for r in want
    ]
    # Each run is bit for bit the run xent.train gives alone.
    one = xent.train(xent.config(overrides={**SMALL, "dgp.kappa": 50, "train.seed": 1}), progress=False)
    row = next(r for r in rows if r["config"]["dgp.kappa"] == 50 and r["seed"] == 1)
    assert row["r2_a"] == one.summary["replicas"][0]["r2_a"]
    # A second call finds every run done and trains nothing.
    assert xent.sweep(str(spec_file), tmp_path / "py", progress=False) == rows


def test_bad_specs_name_the_problem(tmp_path):
    with pytest.raises(xent.ConfigError, match="unknown key"):
        xent.sweep({"dgp.kapa": 5}, tmp_path / "a", progress=False)
    with pytest.raises(xent.ConfigError, match="grid must be a dict"):
        xent.sweep({"grid": [1]}, tmp_path / "b", progress=False)
    with pytest.raises(xent.ConfigError, match="nope.toml: cannot open sweep file"):
        xent.sweep(tmp_path / "nope.toml", tmp_path / "c")
    with pytest.raises(ValueError, match="steps: must be a positive integer"):
        xent.sweep(SPEC, tmp_path / "d", steps=0)


def test_ctrl_c_stops_a_sweep_between_populations_and_a_rerun_finishes_it(tmp_path):
    # dgp.d fixes tensor shapes: each value is a population of its own.
    spec = {**SMALL, "train.steps": 2000, "train.eval_every": 0, "grid": {"dgp.d": [3, 4, 5, 6, 7, 8]}}
    runs = tmp_path / "out" / "runs"

    def interrupt_after_the_first_run():
        while not any(runs.glob("*/summary.json")):
            time.sleep(0.005)
        os.kill(os.getpid(), signal.SIGINT)

    watcher = threading.Thread(target=interrupt_after_the_first_run)
    watcher.start()
    with pytest.raises(KeyboardInterrupt):
        xent.sweep(spec, tmp_path / "out", progress=False)
    watcher.join()
    done = len(list(runs.glob("*/summary.json")))
    assert 1 <= done < 6
    rows = xent.sweep(spec, tmp_path / "out", progress=False)
    assert [r["status"] for r in rows] == ["ok"] * 6
