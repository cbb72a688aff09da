"""xent.config: the CLI's keys, presets, files and messages."""

from __future__ import annotations

import pytest

import xent


def test_defaults_are_the_default_preset_as_for_xent_train():
    c = xent.config()
    assert c.preset == "default"
    assert c["train.steps"] == 3000 and c["train.batch"] == 256
    assert c["dgp.d"] == 5 and c["dgp.conditional"] == "vmf"


def test_preset_then_file_then_overrides(tmp_path):
    f = tmp_path / "my.toml"
    f.write_text("[dgp]\nkappa = 50\nd = 10\n")
    c = xent.config("diet-base", path=f, overrides={"dgp.d": 7})
    assert c["dgp.labels"] == "diet"
    assert c["dgp.kappa"] == 50.0
    assert c["dgp.d"] == 7


def test_overrides_as_dict_keywords_or_nested_are_the_same():
    a = xent.config("sup-base", overrides={"dgp.kappa": 50, "model.hidden": [8, 8]})
    b = xent.config("sup-base", **{"dgp.kappa": 50.0, "model.hidden": (8, 8)})
    c = xent.config("sup-base", overrides={"dgp": {"kappa": 50}, "model": {"hidden": [8, 8]}})
    assert a.to_toml() == b.to_toml() == c.to_toml()
    assert a.replace({"dgp.kappa": 5})["dgp.kappa"] == 5.0
    assert a.replace({"dgp.kappa": 5})["model.hidden"] == [8, 8]


def test_to_toml_is_the_config_toml_xent_train_writes(cli, tmp_path):
    out = tmp_path / "run"
    cli("train", "-q", "--preset", "diet-kappa5", "--set", "train.steps=1", "--set", "dgp.conditional=laplace",
        "--set", "train.eval_samples=64", "--set", "dgp.mixing_cond_draws=10", "--out", str(out))
    c = xent.config("diet-kappa5", overrides={"train.steps": 1, "dgp.conditional": "laplace",
                                              "train.eval_samples": 64, "dgp.mixing_cond_draws": 10})
    assert c.to_toml() == (out / "config.toml").read_text()
    assert xent.config(path=out / "config.toml").to_toml() == c.to_toml()


@pytest.mark.parametrize(
    "kwargs, set_arg",
    [
        ({"overrides": {"dgp.kapa": 5}}, "dgp.kapa=5"),
        ({"overrides": {"dgp.kappa": -1}}, "dgp.kappa=-1"),
        ({"overrides": {"dgp.kappa": "50"}}, 'dgp.kappa="50"'),
        ({"overrides": {"dgp.conditional": "cauchy"}}, "dgp.conditional=cauchy"),
        ({"overrides": {"train.batch": 1.5}}, "train.batch=1.5"),
        ({"overrides": {"train.steps": True}}, "train.steps=true"),
        ({"overrides": {"dgp.kappa": float("inf")}}, "dgp.kappa=inf"),
        ({"overrides": {"dgp.kappa": float("nan")}}, "dgp.kappa=nan"),
        ({"overrides": {"model.hidden": [16, 0]}}, "model.hidden=[16, 0]"),
    ],
)
def test_bad_keys_and_values_raise_the_clis_message(cli, kwargs, set_arg):
    with pytest.raises(xent.ConfigError) as e:
        xent.config("sup-base", **kwargs)
    r = cli("sample", "--preset", "sup-base", "--set", set_arg, "--n", "1", "--out", "/nonexistent/x", check=False)
    assert r.returncode == 2
    assert r.stderr.strip() == "xent: error: " + str(e.value)
    assert isinstance(e.value, ValueError)


def test_unknown_preset_and_missing_file(cli, tmp_path):
    with pytest.raises(xent.ConfigError, match=r"--preset: unknown preset 'sup-bse' \(available: default, "):
        xent.config("sup-bse")
    with pytest.raises(xent.ConfigError, match="nope.toml: cannot open config file"):
        xent.config(path=tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[dgp]\nkappa = \n")
    with pytest.raises(xent.ConfigError, match=r"bad.toml:2: "):
        xent.config(path=bad)


def test_values_python_cannot_express_as_toml_are_refused_by_key():
    with pytest.raises(xent.ConfigError, match=r"^dgp.kappa: expected a bool, number, string or list, got object"):
        xent.config(overrides={"dgp.kappa": object()})
    with pytest.raises(xent.ConfigError, match="overrides: keys must be strings"):
        xent.config(overrides={5: 1})
    with pytest.raises(xent.ConfigError, match="overrides: expected a dict"):
        xent.config(overrides=[("dgp.kappa", 5)])
    with pytest.raises(xent.ConfigError, match="preset: expected a preset name"):
        xent.config(5)
    with pytest.raises(KeyError, match="no such key"):
        xent.config()["dgp.kapa"]


def test_presets_lists_every_preset():
    p = xent.presets()
    assert "default" in p and "sup-base" in p and "diet-n1e5" in p
