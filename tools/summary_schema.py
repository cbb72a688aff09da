"""summary.json of any xent version as the current envelope (schema 1).

Every command writes the same top-level keys (host/engine/run_directory.h, Summary): schema, run
(command, experiment, preset, and what the command adds), config, backend, steps, timings,
replicas (per replica: replica, seed, its results) and results (over all replicas). Before the
envelope, `xent train`, each run of `xent sweep`, `xent dislib` and its predecessor `xent
dsprites` wrote four other layouts, some of them committed under docs/results; `upgrade` turns
those into the envelope, without the keys they never held (schema, and config unless given).

    from summary_schema import read_summary
    s = read_summary("runs/x/summary.json")   # s["replicas"][0]["r2_a"], s["timings"]["wall_s"]
"""
import json

SCHEMA = 1


def _timings(s, keys):
    return {k: s[k] for k in keys if k in s}


def upgrade(s, config=None):
    """The envelope of summary dict s (unchanged when it has one); config: the run's resolved
    config as a dict, for a summary written before the envelope (which holds none)."""
    if "schema" in s:
        return s
    out = {}
    if "per_repeat" in s:  # xent dislib
        out["run"] = {"command": "dislib", "experiment": "dislib", "preset": "",
                      "dataset": s.get("dataset"), "model": s.get("model")}
        replicas = []
        for p in s["per_repeat"]:
            r = {"replica": p.get("repeat")}
            r.update({k: v for k, v in p.items() if k != "repeat"})
            replicas.append(r)
        results = {k: s[k] for k in ("targets", "pearson_r_mean", "pearson_r_std", "epochs")
                   if k in s}
        timings = _timings(s, ("wall_s", "train_s", "steps_per_s", "steady_steps_per_s", "probe_s"))
    elif "pearson_r_mlp" in s:  # xent dsprites, DisLib's first command (one model, no repeats)
        out["run"] = {"command": "dsprites", "experiment": "dislib", "preset": "",
                      "dataset": "dsprites", "model": "mlp"}
        replicas = []
        results = {k: s[k] for k in ("pearson_r_mlp", "pearson_r_pixels", "val_acc", "val_loss",
                                     "epochs", "probe_fit_rows", "probe_score_rows") if k in s}
        timings = {k: v for k, v in s.items() if k == "steps_per_s" or k.endswith("_s")}
    elif "metrics" in s:  # one run of xent sweep
        out["run"] = {"command": "sweep", "experiment": "synthetic", "preset": "",
                      "id": s.get("run"), "row": s.get("row"), "rank": s.get("rank"),
                      "population": s.get("population")}
        replicas = [dict({"replica": 0, "seed": s.get("seed")}, **s["metrics"])]
        results = {}
        timings = _timings(s, ("wall_s",))
    elif "replicas" in s:  # xent train, xent.train
        out["run"] = {"command": "train", "experiment": "synthetic", "preset": s.get("preset")}
        replicas = s["replicas"]
        results = {}
        timings = _timings(s, ("wall_s", "steps_per_s", "steady_steps", "steady_steps_per_s"))
    else:
        raise ValueError("not a summary.json that xent wrote (no schema, replicas, metrics or "
                         "per_repeat)")
    if config is not None:
        out["config"] = config
    out["backend"] = s.get("backend")
    out["steps"] = s.get("steps", 0)
    out["timings"] = timings
    out["replicas"] = replicas
    out["results"] = results
    return out


def read_summary(path):
    """summary.json at path as the envelope; ValueError naming the file when it is not one."""
    with open(path) as f:
        try:
            s = json.load(f)
        except ValueError as e:
            raise ValueError("%s: not JSON (%s)" % (path, e)) from None
    if not isinstance(s, dict):
        raise ValueError("%s: not a JSON object" % path)
    try:
        s = upgrade(s)
    except ValueError as e:
        raise ValueError("%s: %s" % (path, e)) from None
    if s.get("schema", SCHEMA) > SCHEMA:
        raise ValueError("%s: schema %s is newer than this reader's %d (update xent)"
                         % (path, s["schema"], SCHEMA))
    return s
