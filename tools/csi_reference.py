#!/usr/bin/env python3
"""Runs the paper's own supervised simulation (klindtlab/csi, simulation/main_sup.py) and writes
its curves in xent's run-directory format, so that tools/plot_compare.py draws both in one figure.

usage: tools/csi_reference.py --csi DIR --out OUT [--n 10] [--seed 0] [--steps 20000]
                              [--eval-every 1000] [--threads 1] [-- MAIN_SUP_ARGS...]

DIR is a checkout of https://github.com/klindtlab/csi (not part of xent; clone it yourself).
main_sup.py runs as it is, with two things around it: its imports, which name `src.spaces` but
use `spaces` (they are resolved from DIR/simulation/src, as the module expects), and a record
of the training loss every 100 steps (F.cross_entropy wrapped: the value is read, nothing
changes). Its own arguments are what it is given here: --n, --seed, --n-log-steps (the
evaluation period) and --n-epochs = steps / (nr_indices // batch) (its default nr_indices 10240
and batch 1024 give 10 steps an epoch, so its default 50,000 epochs are 500,000 steps).

OUT gets metrics.jsonl (a row per evaluation: step, replica 0, seed, wall_s null, r2_a from
main_sup's CSV, loss: the step's training loss as main_sup prints it; with --also-batch-stats
r2_a_batch too), loss.jsonl (step, replica, seed, wall_s, loss
every 100 steps), centres.npy and mixing.npy (its DGP's cluster vectors and mixing weights, as
xent's dgp.centres_file and dgp.mixing_file read them), reference.log (its stdout) and what
main_sup saves itself (its CSV and model.pt, under OUT/sup/).

PyTorch, scikit-learn, scipy, munkres and plotly (main_sup imports it) come from PyPI into
.venv-torch, as for tools/compare_torch.py; the script re-runs itself there when they are missing.
"""
import argparse
import contextlib
import csv
import io
import json
import os
import re
import subprocess
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-torch"
PACKAGES = ["torch", "numpy", "scikit-learn", "scipy", "munkres", "plotly", "typing_extensions"]
LOSS_EVERY = 100


def ensure_packages():
    try:
        import munkres  # noqa: F401
        import plotly  # noqa: F401
        import sklearn  # noqa: F401
        import torch  # noqa: F401
        return
    except ImportError:
        pass
    py = VENV / "bin" / "python"
    if py.exists() and Path(sys.prefix).resolve() == VENV.resolve():
        subprocess.run([str(py), "-m", "pip", "install", "-q", *PACKAGES], check=True)
    else:
        if not py.exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", *PACKAGES], check=True)
    os.execv(str(py), [str(py)] + sys.argv)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csi", type=Path, required=True, help="a checkout of klindtlab/csi")
    ap.add_argument("--out", type=Path, required=True, help="the run directory to write")
    ap.add_argument("--n", type=int, default=10, help="latent dimension d (main_sup --n)")
    ap.add_argument("--seed", type=int, default=0, help="main_sup --seed")
    ap.add_argument("--steps", type=int, default=20000, help="training steps (a multiple of the steps per epoch)")
    ap.add_argument("--eval-every", type=int, default=1000, help="main_sup --n-log-steps")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    ap.add_argument("--also-batch-stats", action="store_true",
                    help="at every evaluation, also score the encoder with BatchNorm's batch "
                         "statistics on the same samples (r2_a_batch; xent's model.bn_eval = "
                         "\"batch\"): the random state and the running statistics are restored, "
                         "so training is unchanged")
    ap.add_argument("--init-from", type=Path, default=None,
                    help="an xent run directory of the same model (e.g. `xent train --preset "
                         "sup-d10 --set train.steps=1`): its checkpoint's parameters replace "
                         "main_sup's initial encoder and W (in main_sup's parameter order, which "
                         "is the checkpoint's), so that only the initialisation comes from xent")
    ap.add_argument("rest", nargs="*", help="more main_sup arguments, after --")
    a = ap.parse_args()
    main_sup = a.csi / "simulation" / "main_sup.py"
    if not main_sup.is_file():
        ap.error(f"--csi: {main_sup} not found (a checkout of klindtlab/csi?)")
    for name in ("n", "steps", "eval_every", "threads"):
        if getattr(a, name) < 1:
            ap.error(f"--{name.replace('_', '-')}: must be at least 1")
    if any(r.startswith(("--n-epochs", "--n-log-steps", "--seed", "--save_folder")) for r in a.rest):
        ap.error("set --steps, --eval-every, --seed and --out with this script's options")
    return a


def main():
    a = parse_args()
    ensure_packages()
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(a.threads)
    src = a.csi / "simulation" / "src"
    sys.path[:0] = [str(src), str(a.csi / "simulation")]
    # What main_sup's own imports (`import src.spaces`, ...) leave unbound, under the names it
    # uses; its modules import each other by these names from src/ too.
    import disentanglement_utils
    import encoders
    import invertible_network_utils
    import latent_spaces
    import spaces

    code = (a.csi / "simulation" / "main_sup.py").read_text()
    module = types.ModuleType("main_sup")
    module.__file__ = str(a.csi / "simulation" / "main_sup.py")
    module.__dict__.update(spaces=spaces, disentanglement_utils=disentanglement_utils,
                           invertible_network_utils=invertible_network_utils,
                           latent_spaces=latent_spaces, encoders=encoders)
    sys.modules["src"] = types.ModuleType("src")
    for m in (spaces, disentanglement_utils, invertible_network_utils, latent_spaces, encoders):
        sys.modules["src." + m.__name__] = m

    a.out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    losses = []
    original = F.cross_entropy
    calls = [0]

    def recorded(*args, **kwargs):
        loss = original(*args, **kwargs)
        calls[0] += 1
        if calls[0] % LOSS_EVERY == 0:
            losses.append({"step": calls[0], "replica": 0, "seed": a.seed,
                           "wall_s": time.monotonic() - t0, "loss": float(loss.detach())})
        return loss

    F.cross_entropy = recorded
    if a.init_from is not None:
        sys.path.insert(0, str(ROOT / "tools"))
        from read_checkpoint import read_checkpoint

        ck = read_checkpoint(str(a.init_from / "checkpoint.xck"))
        values = [ck[n][0] for n in ck.keys()
                  if not n.startswith("adam.") and not n.endswith(("running_mean", "running_var"))]
        adam = torch.optim.Adam

        class AdamFromXent(adam):
            # main_sup builds its one optimiser over list(f.parameters()) + list(W.parameters()):
            # the encoder's Linear and BatchNorm tensors in order, then W, as the checkpoint.
            def __init__(self, params, *args, **kwargs):
                params = list(params)
                if len(params) != len(values):
                    sys.exit(f"csi_reference.py: --init-from has {len(values)} tensors, main_sup's "
                             f"model {len(params)}")
                with torch.no_grad():
                    for p, v in zip(params, values):
                        if p.numel() != v.size:
                            sys.exit("csi_reference.py: --init-from: a tensor's size differs")
                        p.copy_(torch.from_numpy(v).reshape(p.shape))
                super().__init__(params, *args, **kwargs)

        torch.optim.Adam = AdamFromXent
    exec(compile(code, module.__file__, "exec"), module.__dict__)
    create = module.create_generative_process

    def exported(*args, **kwargs):
        # The DGP's frozen parts as xent reads them (dgp.centres_file, dgp.mixing_file): the
        # cluster vectors [clusters][n] and g's Linear weights [layers][n][n] (x_out = W x_in,
        # LeakyReLU(0.2) between layers, as xent's mixing). Reading them draws nothing.
        import numpy as np

        cluster_vectors, sample_latents, g = create(*args, **kwargs)
        weights = [m.weight.detach().cpu().numpy() for m in g.modules()
                   if isinstance(m, torch.nn.Linear)]
        np.save(a.out / "centres.npy", cluster_vectors.detach().cpu().numpy().astype(np.float32))
        np.save(a.out / "mixing.npy", np.stack(weights).astype(np.float32))
        return cluster_vectors, sample_latents, g

    module.create_generative_process = exported
    batch_scores = {}
    if a.also_batch_stats:
        evaluate = module.test_disentanglement

        import random

        import numpy as np

        # main_sup draws from torch's generators and, in its vMF sampler, numpy's.
        def rng_state():
            cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
            return torch.get_rng_state(), cuda, np.random.get_state(), random.getstate()

        def set_rng_state(state):
            torch.set_rng_state(state[0])
            if state[1] is not None:
                torch.cuda.set_rng_state_all(state[1])
            np.random.set_state(state[2])
            random.setstate(state[3])

        def both(sample_function, cluster_vectors, h, *args, **kwargs):
            # At an evaluation h is main_sup's `lambda z: f(g(z))`, f the encoder it closes over
            # (the first call scores g alone).
            cells = dict(zip(getattr(getattr(h, "__code__", None), "co_freevars", ()),
                             (c.cell_contents for c in getattr(h, "__closure__", None) or ())))
            if "f" not in cells:
                return evaluate(sample_function, cluster_vectors, h, *args, **kwargs)
            f = cells["f"]
            before = rng_state()
            score = evaluate(sample_function, cluster_vectors, h, *args, **kwargs)
            after = rng_state()
            set_rng_state(before)  # the same samples again
            norms = [m for m in f.modules() if isinstance(m, torch.nn.BatchNorm1d)]
            kept = [m.momentum for m in norms]
            for m in norms:
                m.momentum = 0.0  # batch statistics, running ones unchanged
            f.train()
            with torch.no_grad():
                batch_scores[calls[0]] = evaluate(sample_function, cluster_vectors, h, *args, **kwargs)
            for m, k in zip(norms, kept):
                m.momentum = k
            f.eval()
            set_rng_state(after)
            return score

        module.test_disentanglement = both
    # main_sup's steps per epoch, from the arguments passed through (its defaults otherwise).
    extra = argparse.ArgumentParser(add_help=False)
    extra.add_argument("--nr-indices", type=int, default=10240)
    extra.add_argument("--batch-size", type=int, default=1024)
    known, _ = extra.parse_known_args(a.rest)
    per_epoch = max(known.nr_indices // known.batch_size, 1)
    if a.steps % per_epoch:
        sys.exit(f"csi_reference.py: --steps {a.steps} is not a multiple of {per_epoch} steps per epoch")
    sys.argv = ["main_sup.py", "--n", str(a.n), "--seed", str(a.seed), "--n-epochs",
                str(a.steps // per_epoch), "--n-log-steps", str(a.eval_every), "--save_folder",
                str(a.out / "sup"), *a.rest]
    log = io.StringIO()

    class Tee(io.TextIOBase):
        def write(self, s):
            sys.__stdout__.write(s)
            log.write(s)
            return len(s)

        def flush(self):
            sys.__stdout__.flush()

    with contextlib.redirect_stdout(Tee()):
        module.main()
    (a.out / "reference.log").write_text(log.getvalue())
    # R2 from main_sup's own CSV (full precision); the loss as it printed it (4 decimals).
    printed = {}
    for line in log.getvalue().splitlines():
        m = re.match(r"Step: (\d+) \tloss: (\S+) \t", line)
        if m:
            printed[int(m.group(1))] = float(m.group(2))
    rows = []
    for path in sorted((a.out / "sup").glob("*/performance_linear_*.csv")):
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                if int(r["seed"]) == a.seed:
                    step = int(r["step"])
                    rows.append({"step": step, "replica": 0, "seed": a.seed, "wall_s": None,
                                 "r2_a": float(r["z2z r2"]), "loss": printed.get(step)})
                    if step in batch_scores:
                        rows[-1]["r2_a_batch"] = float(batch_scores[step])
    with open(a.out / "metrics.jsonl", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    with open(a.out / "loss.jsonl", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in losses)
    print(f"csi_reference.py: {len(rows)} evaluations, {len(losses)} losses in {time.monotonic() - t0:.0f} s -> {a.out}")


if __name__ == "__main__":
    main()
