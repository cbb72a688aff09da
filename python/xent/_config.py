"""xent.config: the CLI's config (defaults, preset, TOML file, overrides) as a Python object."""

from __future__ import annotations

import json
import math
import os
import tomllib
from collections.abc import Mapping
from typing import Any, Union

import numpy as np

from . import _xent

Value = Union[bool, int, float, str, list, tuple]


class ConfigError(_xent.InputError):
    """A preset, file or key that the CLI would refuse, with the CLI's one-line message.

    A ValueError, so that ``except ValueError`` catches it.
    """


def _toml_value(key: str, v: Any) -> str:
    # One Python value as the TOML text `xent train --set key=...` reads. bool before int: a
    # bool is an int in Python, and True must not become 1.
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f):
            return "nan"
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return repr(f)
    if isinstance(v, str):
        # A TOML basic string: JSON's escapes (ASCII only) are TOML's.
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(key, x) for x in v) + "]"
    raise ConfigError(f"{key}: expected a bool, number, string or list, got {type(v).__name__}")


def _flatten(overrides: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in overrides.items():
        if not isinstance(k, str):
            raise ConfigError(f"overrides: keys must be strings like 'dgp.kappa', got {k!r}")
        name = prefix + k
        if isinstance(v, Mapping):
            out.extend(_flatten(v, name + "."))
        else:
            out.append((name, v))
    return out


class Config:
    """A resolved config: every key of ``xent train --help`` with its value.

    Made by :func:`config`. Read a key with ``cfg["dgp.kappa"]``; ``cfg.to_dict()`` gives all
    of them, ``cfg.to_toml()`` the ``config.toml`` a run writes, and ``cfg.replace(...)`` a copy
    with more overrides.
    """

    def __init__(self, native: _xent.Config, preset: str | None, path: str | None, sets: list[str]):
        self._native = native
        self._preset = preset
        self._path = path
        self._sets = sets

    @property
    def preset(self) -> str:
        """The preset it started from ("default" when neither a preset nor a file was given)."""
        return self._native.preset

    def to_toml(self) -> str:
        """The resolved config as TOML, every key written (what ``xent train`` saves)."""
        return self._native.to_toml()

    def to_dict(self) -> dict[str, Value]:
        """Every key, dotted ("dgp.kappa"), with its value, in the CLI's order."""
        return {k: tomllib.loads("v = " + v)["v"] for k, v in self._native.key_values()}

    def __getitem__(self, key: str) -> Value:
        d = self.to_dict()
        if key not in d:
            raise KeyError(f"{key!r}: no such key (see xent.config().to_dict() for the list)")
        return d[key]

    def replace(self, overrides: Mapping[str, Any] | None = None, **kwargs: Any) -> "Config":
        """A copy with more overrides, applied after this config's own."""
        return _resolve(self._preset, self._path, self._sets + _sets(overrides, kwargs))

    def __repr__(self) -> str:
        return f"xent.Config(preset={self.preset!r}, {self.to_dict()!r})"


def _sets(overrides: Mapping[str, Any] | None, kwargs: Mapping[str, Any]) -> list[str]:
    if overrides is not None and not isinstance(overrides, Mapping):
        raise ConfigError(f"overrides: expected a dict of dotted keys, got {type(overrides).__name__}")
    items = _flatten(overrides or {}) + _flatten(kwargs)
    return [f"{k}={_toml_value(k, v)}" for k, v in items]


def _resolve(preset: str | None, path: str | None, sets: list[str]) -> Config:
    # As `xent train`: no preset and no file means the preset "default".
    name = preset if preset is not None else ("" if path is not None else "default")
    try:
        native = _xent.load_config(name, "" if path is None else path, sets)
    except _xent.InputError as e:
        raise ConfigError(str(e)) from None
    return Config(native, preset, path, sets)


def config(
    preset: str | None = None,
    path: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> Config:
    """Builds a config as ``xent train`` does: defaults, then the preset, the TOML file at
    ``path``, then the overrides (dotted keys, in order).

    Overrides come as a dict, ``xent.config("sup-base", overrides={"dgp.kappa": 50})``, as
    keyword arguments, ``xent.config(**{"train.steps": 500})``, or nested,
    ``{"dgp": {"kappa": 50}}``. Values are Python values (``50``, ``"laplace"``, ``[64, 64]``);
    a string is a string, never parsed as a number. With neither preset nor path the preset is
    "default", as for ``xent train`` with no options.

    Raises ConfigError (a ValueError) with the CLI's one-line message for an unknown preset,
    file or key, or a bad value.
    """
    if preset is not None and not isinstance(preset, str):
        raise ConfigError(f"preset: expected a preset name, got {type(preset).__name__}")
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise ConfigError(f"path: expected a file path, got {type(path).__name__}")
    return _resolve(preset, None if path is None else os.fspath(path), _sets(overrides, kwargs))


def presets() -> dict[str, str]:
    """The built-in presets, each with its one-line description."""
    return dict(_xent.preset_list())


def as_config(name: str, cfg: Any) -> Config:
    """cfg as a Config: a Config as it is, a preset name, or a dict of overrides."""
    if isinstance(cfg, Config):
        return cfg
    if isinstance(cfg, str):
        return config(cfg)
    if isinstance(cfg, Mapping):
        return config(overrides=cfg)
    raise TypeError(f"{name}: expected an xent.Config (from xent.config), a preset name or a dict, got {type(cfg).__name__}")
