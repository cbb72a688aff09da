"""Shared fixtures: the xent binary (to compare with the CLI) and a small, fast config."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

import xent

REPO = Path(__file__).resolve().parents[2]

# A config that trains in well under a second: the tests compare paths, not results.
SMALL = {
    "model.hidden": [16, 32, 16],
    "train.batch": 64,
    "train.steps": 30,
    "train.eval_every": 10,
    "train.checkpoint_every": 10,
    "train.eval_samples": 512,
    "dgp.clusters": 10,
    "dgp.mixing_cond_draws": 200,
}
# The same as `xent train --set` arguments.
SMALL_SETS = [a for k, v in SMALL.items() for a in ("--set", f"{k}={json.dumps(v)}")]



@pytest.fixture(scope="session")
def xent_binary() -> Path:
    """The CLI built from the same source (tools/test sets XENT_BINARY; else build/xent)."""
    path = Path(os.environ.get("XENT_BINARY", REPO / "build" / "xent"))
    if not path.is_file():
        pytest.skip(f"{path}: no xent binary to compare with (tools/build makes it)")
    return path


@pytest.fixture
def cli(xent_binary):
    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([str(xent_binary), *args], capture_output=True, text=True, check=check)

    return run


@pytest.fixture
def small() -> xent.Config:
    return xent.config(overrides=SMALL)


def without_timings(summary: dict) -> dict:
    """summary.json without its timings: the only values two runs of one config do not share."""
    return {k: v for k, v in summary.items() if k != "timings"}
