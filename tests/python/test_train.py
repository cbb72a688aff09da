"""xent.train, the run it returns, xent.load: the numbers and files of `xent train`."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import types

import numpy as np
import pytest

import xent
from conftest import SMALL, SMALL_SETS, without_timings


def read_rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def no_wall(rows):
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]


def test_summary_and_metrics_are_xent_trains_bit_for_bit(cli, tmp_path, small):
    cli("train", "-q", *SMALL_SETS, "--set", "train.population=2", "--out", str(tmp_path / "cli"))
    run = xent.train(small.replace({"train.population": 2}), progress=False)
    want = json.loads((tmp_path / "cli" / "summary.json").read_text())
    assert without_timings(run.summary) == without_timings(want)
    assert run.summary["run"]["preset"] == "default" and run.summary["backend"] == "cpu"
    assert no_wall(run.metrics) == no_wall(read_rows(tmp_path / "cli" / "metrics.jsonl"))
    assert [r["step"] for r in run.metrics] == [10, 10, 20, 20, 30, 30]


def test_losses_are_xent_trains_loss_jsonl_every_100_steps(cli, tmp_path, small):
    two = small.replace({"train.population": 2, "train.steps": 200, "train.eval_every": 0})
    cli("train", "-q", *SMALL_SETS, "--set", "train.population=2", "--set", "train.steps=200",
        "--set", "train.eval_every=0", "--out", str(tmp_path / "cli"))
    run = xent.train(two, progress=False)
    assert [(r["step"], r["replica"]) for r in run.losses] == [(100, 0), (100, 1), (200, 0), (200, 1)]
    assert no_wall(run.losses) == no_wall(read_rows(tmp_path / "cli" / "loss.jsonl"))
    assert all(np.isfinite(r["loss"]) and r["loss"] > 0 for r in run.losses)
    run.save(tmp_path / "saved")
    assert xent.load(tmp_path / "saved").losses == run.losses


def test_out_writes_the_files_xent_train_writes(cli, tmp_path, small):
    cli("train", "-q", *SMALL_SETS, "--out", str(tmp_path / "cli"))
    run = xent.train(small, out=tmp_path / "py", progress=False)
    files = sorted(p.name for p in (tmp_path / "cli").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "py").iterdir())
    assert files == ["checkpoint.xck", "config.toml", "loss.jsonl", "metrics.jsonl", "summary.json"]
    assert (tmp_path / "py" / "config.toml").read_text() == (tmp_path / "cli" / "config.toml").read_text()
    assert json.loads((tmp_path / "py" / "summary.json").read_text()) == run.summary
    assert no_wall(read_rows(tmp_path / "py" / "metrics.jsonl")) == no_wall(run.metrics)
    with pytest.raises(xent.InputError, match="already holds files"):
        xent.train(small, out=tmp_path / "py", progress=False)


def test_a_callback_sees_every_evaluation_and_may_stop_the_run(cli, tmp_path, small):
    seen = []

    def callback(step, rows):
        seen.append((step, rows[0]["r2_a"]))
        return step < 20

    run = xent.train(small, out=tmp_path / "run", progress=False, callback=callback)
    assert [s for s, _ in seen] == [10, 20]
    assert run.stopped and run.steps_done == 20
    # The stopped run resumes from its checkpoint to the uninterrupted run's result.
    cli("train", "-q", "--resume", str(tmp_path / "run"))
    whole = xent.train(small, progress=False)
    resumed = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert resumed["replicas"] == whole.summary["replicas"]


def test_callback_errors_propagate_and_bad_returns_are_named(small):
    def boom(step, rows):
        raise ZeroDivisionError("from the callback")

    with pytest.raises(ZeroDivisionError, match="from the callback"):
        xent.train(small, progress=False, callback=boom)
    with pytest.raises(TypeError, match="callback: must return None, True or False"):
        xent.train(small, progress=False, callback=lambda step, rows: "yes")
    with pytest.raises(TypeError, match="callback: expected a callable"):
        xent.train(small, progress=False, callback=42)


def test_ctrl_c_stops_between_steps_and_the_checkpoint_resumes(cli, tmp_path, small):
    long = small.replace({"train.steps": 200000, "train.eval_every": 500, "train.checkpoint_every": 500})
    started = threading.Event()

    def first_evaluation(step, rows):
        started.set()

    timer = threading.Thread(target=lambda: (started.wait(60), time.sleep(0.3), os.kill(os.getpid(), signal.SIGINT)))
    timer.start()
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        xent.train(long, out=tmp_path / "run", progress=False, callback=first_evaluation)
    timer.join()
    assert time.monotonic() - t0 < 60
    assert not (tmp_path / "run" / "summary.json").exists()
    at = xent.load(tmp_path / "run").steps_done
    assert at >= 500 and at % 500 == 0
    end = at + 20
    cli("train", "-q", "--resume", str(tmp_path / "run"), "--set", f"train.steps={end}")
    whole = xent.train(long.replace({"train.steps": end}), progress=False)
    resumed = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert resumed["replicas"] == whole.summary["replicas"]


def test_training_releases_the_gil(small):
    ticks = 0
    done = threading.Event()

    def count():
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            time.sleep(0.001)

    t = threading.Thread(target=count)
    t.start()
    t0 = time.monotonic()
    xent.train(small.replace({"train.steps": 600}), progress=False)
    elapsed = time.monotonic() - t0
    done.set()
    t.join()
    # The other thread ran throughout (a held GIL would let it tick only at the 100 ms polls).
    assert ticks > 0.3 * elapsed / 0.001


def test_progress_without_a_terminal_or_tqdm_prints_a_line_per_evaluation(small, capfd):
    pytest.importorskip("numpy")
    try:
        import tqdm  # noqa: F401

        pytest.skip("tqdm is installed: the bar is tqdm's")
    except ImportError:
        pass
    xent.train(small, progress=True)
    err = capfd.readouterr().err
    assert [line.split(":")[0] for line in err.splitlines()] == ["step 10", "step 20", "step 30"]
    xent.train(small, progress=False)
    assert capfd.readouterr().err == ""


def test_progress_uses_tqdm_when_it_is_installed(small, monkeypatch):
    made = []

    class FakeTqdm:
        def __init__(self, total, unit):
            self.total, self.n, self.postfix, self.closed = total, 0, None, False
            made.append(self)

        def update(self, k):
            self.n += k

        def set_postfix_str(self, text, refresh):
            self.postfix = text

        def close(self):
            self.closed = True

    fake = types.ModuleType("tqdm.auto")
    fake.tqdm = FakeTqdm
    monkeypatch.setitem(sys.modules, "tqdm.auto", fake)
    monkeypatch.setitem(sys.modules, "tqdm", types.ModuleType("tqdm"))
    xent.train(small, progress=True)
    (bar,) = made
    assert bar.total == 30 and bar.n == 30 and bar.closed
    assert bar.postfix.startswith("r2_a ")


def test_parameters_encode_save_and_load(cli, tmp_path, small):
    run = xent.train(small.replace({"train.population": 2}), progress=False)
    p = run.parameters()
    assert p["enc.0.weight"].shape == (2, 16, 5) and p["enc.0.weight"].dtype == np.float32
    assert p["enc.3.weight"].shape == (2, 5, 16) and p["head.weight"].shape == (2, 10, 5)
    assert p["enc.2.bn.running_var"].shape == (2, 16)
    assert not any(k.startswith("adam.") for k in p)
    x = xent.sample(small, 100)["observations"]
    f = run.encode(x)
    assert f.shape == (2, 100, 5) and f.dtype == np.float32
    assert np.array_equal(run.encode(x.astype(np.float64)), f)  # exact float64 values
    assert np.array_equal(run.encode(np.asfortranarray(x)), f)
    run.save(tmp_path / "saved")
    back = xent.load(tmp_path / "saved")
    assert back.steps_done == 30 and back.summary == run.summary and back.metrics == run.metrics
    assert np.array_equal(back.encode(x), f)
    for k, v in back.parameters().items():
        assert np.array_equal(v, p[k]), k
    # A saved run is a run directory: xent train --resume extends it.
    cli("train", "-q", "--resume", str(tmp_path / "saved"), "--set", "train.steps=40")
    longer = xent.train(small.replace({"train.population": 2, "train.steps": 40}), progress=False)
    assert json.loads((tmp_path / "saved" / "summary.json").read_text())["replicas"] == longer.summary["replicas"]


def test_bad_arguments_name_themselves(tmp_path, small):
    run = xent.train(small, progress=False)
    x = xent.sample(small, 10)["observations"]
    with pytest.raises(ValueError, match=r"^x: expected 5 columns \(dgp.d\), got shape \(10, 4\)"):
        run.encode(x[:, :4])
    with pytest.raises(ValueError, match=r"^x: expected a 2-D array"):
        run.encode(x[:, 0])
    with pytest.raises(TypeError, match="^x: float64 values that float32 cannot hold exactly"):
        run.encode(x.astype(np.float64) + 1e-12)
    with pytest.raises(ValueError, match="^x: non-finite value nan at row 2, column 1"):
        bad = x.copy()
        bad[2, 1] = np.nan
        run.encode(bad)
    with pytest.raises(ValueError, match="^x: is empty"):
        run.encode(x[:0])
    with pytest.raises(ValueError, match="^device: expected 'auto', 'cpu' or 'cuda', got 'gpu'"):
        xent.train(small, device="gpu")
    with pytest.raises(TypeError, match="^out: expected a directory path, got int"):
        xent.train(small, out=3)
    with pytest.raises(TypeError, match="^cfg: expected an xent.Config"):
        xent.train(3.5)
    with pytest.raises(ValueError, match="has no config.toml"):
        xent.load(tmp_path)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    with pytest.raises(xent.InputError, match="already holds files"):
        run.save(tmp_path / "full")


def test_a_diverged_run_raises_diverged_error(small):
    with pytest.raises(xent.DivergedError, match="diverged: non-finite"):
        xent.train(small.replace({"train.lr": 1e30}), progress=False)
