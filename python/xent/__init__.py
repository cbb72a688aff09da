"""xent: the synthetic experiments of "Cross-Entropy Is All You Need To Invert the Data
Generating Process" (Reizinger et al., ICLR 2025) from Python, numpy in and out.

    import xent
    run = xent.train(xent.config("default"))          # as `xent train`
    run.summary["replicas"][0]["r2_a"]
    data = xent.sample(xent.config("sup-base"), 10000)  # as `xent sample`
    xent.probe(run.encode(data["observations"]), data["latents"])  # as `xent probe`

The engine is the C++ one of the `xent` binary (CPU backend, and CUDA when built with it):
the same config keys, presets, files and numbers.
"""

from ._config import Config, ConfigError, config, presets
from ._data import DgpSource, probe, sample
from ._dislib import dislib
from ._probe_factors import probe_factors
from ._sweep import sweep
from ._train import Run, load, train
from ._xent import DeviceError, DivergedError, InputError

__all__ = [
    "Config",
    "ConfigError",
    "DeviceError",
    "DgpSource",
    "DivergedError",
    "InputError",
    "Run",
    "config",
    "dislib",
    "load",
    "presets",
    "probe",
    "probe_factors",
    "sample",
    "sweep",
    "train",
]
