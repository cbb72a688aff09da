#!/usr/bin/python3
"""xent against PyTorch on the CPU: the paper's base model and DGP, same batch, widths, threads.

    tools/compare_torch.py                      # speed table: steps/s and xent / PyTorch ratios
    tools/compare_torch.py --r2 0.99            # also the wall time to reach R2_a >= 0.99
    tools/compare_torch.py --json out.json      # the measurements as JSON
    tools/compare_torch.py --population 8       # also K = 8 models at once (0: no such rows)
    tools/compare_torch.py --gpu-only           # only the GPU rows (as tools/gpu-check runs it)

PyTorch comes from PyPI into .venv-torch (created on first use; the script re-runs itself with
that interpreter). Both sides time whole training steps including the DGP draw, after a
warm-up, with the same number of threads: train.threads for xent and torch.set_num_threads for
PyTorch. xent's speed on the CPU is the steps_per_s of `xent train`'s summary.json (the training
steps and the one evaluation at the end). On the GPU (--gpu, --gpu-only) it is
steady_steps_per_s, the steps after the first two (the eager step that loads cuBLAS and the
graph capture) timed by themselves, over --gpu-steps steps so that GPU time dominates; PyTorch's
GPU steps are timed between two torch.cuda.synchronize() after the warm-up.

Populations: xent trains K replicas in the same calls (train.population = K); PyTorch's own
way of training K models at once is an ensemble through torch.func (stack_module_state, then
functional_call under vmap, BatchNorm in training mode with each model's running statistics,
one Adam over the stacked parameters). Both are reported in replica-steps/s beside K = 1 runs
one after another (the K = 1 rate).

Each rate also reads as GFLOP/s (the linear layers' multiply-adds, forward and backward, per
second) against the machine's SGEMM peak at that thread count: PyTorch's (MKL) float32 product
of two 2048 x 2048 matrices, the best of five.
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-torch"

# The presets this script knows: (labels, classes). Both: d = 5, |C| = 100, kappa = 10,
# uniform centres, vMF conditional, N = 1000 instances, batch 1024 (docs/paper.md).
PRESETS = {"sup-base": "supervised", "diet-base": "diet"}
D, CLUSTERS, KAPPA, INSTANCES, BATCH = 5, 100, 10.0, 1000, 1024


def ensure_torch():
    try:
        import torch  # noqa: F401
        return
    except ImportError:
        pass
    py = VENV / "bin" / "python"
    if py.exists() and pathlib.Path(sys.prefix).resolve() == VENV.resolve():
        sys.exit("compare_torch.py: torch is missing from " + str(VENV) + " (delete it and rerun)")
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        # The CPU-only index is smaller; where it cannot be reached, PyPI's default wheel
        # (with CUDA libraries) works on the CPU too.
        cpu = [str(py), "-m", "pip", "install", "-q", "torch", "numpy", "--index-url",
               "https://download.pytorch.org/whl/cpu"]
        if subprocess.run(cpu).returncode != 0:
            subprocess.run([str(py), "-m", "pip", "install", "-q", "torch", "numpy"], check=True)
    os.execv(str(py), [str(py)] + sys.argv)


# --- The DGP (docs/paper.md), in torch, drawn every step as the paper's code does. ---

def unit(x):
    import torch
    return x / torch.linalg.vector_norm(x, dim=-1, keepdim=True)


def draw_mixing(rng, d, layers=4, cond_draws=25000):
    """Columns-normalised U(-1,1) matrices at or below the best condition number of
    cond_draws candidates (numpy: drawn once, not timed)."""
    import numpy as np

    def candidates(n):
        a = rng.uniform(-1.0, 1.0, size=(n, d, d))
        return a / np.linalg.norm(a, axis=1, keepdims=True)

    bar = np.linalg.cond(candidates(cond_draws)).min()
    out = []
    while len(out) < layers:
        c = candidates(cond_draws)
        out.extend(c[np.linalg.cond(c) <= bar][: layers - len(out)])
    return np.stack(out).astype(np.float32)


def sample_vmf(mu, kappa):
    """Wood (1994), vectorised: rows of mu are the mean directions."""
    import torch
    n, d = mu.shape
    m1 = d - 1
    b = m1 / (2 * kappa + (4 * kappa**2 + m1**2) ** 0.5)
    x0 = (1 - b) / (1 + b)
    c = kappa * x0 + m1 * torch.log(torch.tensor(1 - x0 * x0)).item()
    beta = torch.distributions.Beta(m1 / 2.0, m1 / 2.0)
    w = torch.empty(n)
    todo = torch.arange(n)
    while todo.numel():
        s = beta.sample((todo.numel(),))
        wt = (1 - (1 + b) * s) / (1 - (1 - b) * s)
        u = torch.rand(todo.numel())
        ok = kappa * wt + m1 * torch.log(1 - x0 * wt) - c >= torch.log(u)
        w[todo[ok]] = wt[ok]
        todo = todo[~ok]
    v = torch.randn(n, d)
    v = unit(v - (v * mu).sum(1, keepdim=True) * mu)
    return w[:, None] * mu + torch.sqrt(1 - w * w)[:, None] * v


class Dgp:
    def __init__(self, labels, seed=0):
        import numpy as np
        import torch
        torch.manual_seed(seed)
        self.labels = labels
        self.centres = unit(torch.randn(CLUSTERS, D))
        # torch.tensor, not from_numpy: on the default device (the GPU with --gpu).
        self.mixing = torch.tensor(draw_mixing(np.random.default_rng(seed), D))
        self.classes = CLUSTERS if labels == "supervised" else INSTANCES

    def sample(self, n):
        import torch
        i = torch.randint(0, INSTANCES, (n,))
        cluster = i % CLUSTERS
        z = sample_vmf(self.centres[cluster], KAPPA)
        x = z
        for layer, w in enumerate(self.mixing):
            x = x @ w.T
            if layer + 1 < len(self.mixing):
                x = torch.nn.functional.leaky_relu(x, 0.2)
        return z, x, cluster if self.labels == "supervised" else i


def make_model(classes):
    import torch
    widths = [10 * D, 50 * D, 50 * D, 50 * D, 50 * D, 10 * D]
    layers, w_in = [], D
    for w in widths:
        layers += [torch.nn.Linear(w_in, w), torch.nn.BatchNorm1d(w), torch.nn.LeakyReLU(0.01)]
        w_in = w
    layers.append(torch.nn.Linear(w_in, D))
    encoder = torch.nn.Sequential(*layers)
    head = torch.nn.Linear(D, classes, bias=False)
    return encoder, head


def r2_with_intercept(features, z, split=0.5):
    """The xent probe: least squares with intercept on the first half, R2 on the second,
    averaged uniformly over the target's dimensions."""
    import numpy as np
    f = np.asarray(features, dtype=np.float64)
    t = np.asarray(z, dtype=np.float64)
    h = int(len(f) * split)
    a = np.hstack([f, np.ones((len(f), 1))])
    coef, *_ = np.linalg.lstsq(a[:h], t[:h], rcond=None)
    pred = a[h:] @ coef
    ss_res = ((t[h:] - pred) ** 2).sum(0)
    ss_tot = ((t[h:] - t[h:].mean(0)) ** 2).sum(0)
    return float((1 - ss_res / ss_tot).mean())


class TorchRun:
    def __init__(self, preset, seed=0):
        import torch
        self.dgp = Dgp(PRESETS[preset], seed)
        self.encoder, self.head = make_model(self.dgp.classes)
        params = list(self.encoder.parameters()) + list(self.head.parameters())
        self.opt = torch.optim.Adam(params, lr=1e-3)
        self.loss = torch.nn.CrossEntropyLoss()
        # 8192 fresh samples drawn once, as xent's train.eval_samples.
        self.ez, self.ex, _ = self.dgp.sample(8192)

    def step(self):
        _, x, y = self.dgp.sample(BATCH)
        self.opt.zero_grad(set_to_none=True)
        loss = self.loss(self.head(self.encoder(x)), y)
        loss.backward()
        self.opt.step()

    def r2(self):
        import torch
        self.encoder.eval()
        with torch.no_grad():
            f = self.encoder(self.ex)
        self.encoder.train()
        return r2_with_intercept(f.cpu().numpy(), self.ez.cpu().numpy())


def torch_steps_per_s(preset, threads, steps, warmup, device="cpu"):
    import torch
    torch.set_num_threads(threads)
    # Every tensor the model and the DGP create lands on the device.
    torch.set_default_device(device)
    run = TorchRun(preset)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    for _ in range(warmup):
        run.step()
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        run.step()
    sync()
    elapsed = time.perf_counter() - t0
    torch.set_default_device("cpu")
    return steps / elapsed


def torch_time_to_r2(preset, threads, target, every, max_steps):
    import torch
    torch.set_num_threads(threads)
    run = TorchRun(preset)
    t0 = time.perf_counter()
    for s in range(1, max_steps + 1):
        run.step()
        if s % every == 0:
            r2 = run.r2()
            if r2 >= target:
                return time.perf_counter() - t0, s, r2
    return None, max_steps, run.r2()


def torch_ensemble_steps_per_s(preset, threads, K, steps, warmup):
    """K models trained at once with torch.func: replica-steps/s."""
    import copy
    import torch
    from torch.func import functional_call, stack_module_state, vmap
    torch.set_num_threads(threads)
    dgp = Dgp(PRESETS[preset])
    encoder, head = make_model(dgp.classes)
    model = torch.nn.Sequential(encoder, head)
    models = [copy.deepcopy(model) for _ in range(K)]
    for m in models:  # each its own initialisation, as xent's replicas
        for layer in m.modules():
            if hasattr(layer, "reset_parameters"):
                layer.reset_parameters()
    params, buffers = stack_module_state(models)
    base = copy.deepcopy(model).to("meta")
    loss_fn = torch.nn.CrossEntropyLoss()

    def one(p, b, x, y):
        return loss_fn(functional_call(base, (p, b), (x,)), y)

    batched = vmap(one)
    opt = torch.optim.Adam(list(params.values()), lr=1e-3)

    def step():
        _, x, y = dgp.sample(K * BATCH)
        opt.zero_grad(set_to_none=True)
        batched(params, buffers, x.view(K, BATCH, D), y.view(K, BATCH)).sum().backward()
        opt.step()

    for _ in range(warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return K * steps / (time.perf_counter() - t0)


def sgemm_peak_gflops(threads):
    """The best of five float32 2048 x 2048 x 2048 products through PyTorch (MKL)."""
    import torch
    torch.set_num_threads(threads)
    n = 2048
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best / 1e9


def step_gflop(preset):
    """Multiply-adds x 2 of one training step's linear layers (forward, then dx and dW; the
    first layer's dx is not computed) at batch 1024."""
    classes = CLUSTERS if PRESETS[preset] == "supervised" else INSTANCES
    widths = [D, 10 * D, 50 * D, 50 * D, 50 * D, 50 * D, 10 * D, D, classes]
    layers = list(zip(widths[:-1], widths[1:]))
    forward = sum(2 * BATCH * i * o for i, o in layers)
    return (3 * forward - 2 * BATCH * layers[0][0] * layers[0][1]) / 1e9


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor() or "unknown CPU"


def xent_train(xent, args, threads):
    subprocess.run([xent, "train", "-q", "--force", "--set", f"train.threads={threads}"] + args,
                   check=True)


def xent_steps_per_s(xent, preset, threads, steps, warmup, device="cpu", population=1):
    with tempfile.TemporaryDirectory() as out:
        xent_train(xent, ["--device", device, "--preset", preset, "--out", out, "--no-checkpoint",
                          "--set", f"train.steps={steps + warmup}", "--set", "train.eval_every=0",
                          "--set", f"train.population={population}"], threads)
        summary = json.loads(pathlib.Path(out, "summary.json").read_text())
        # On the CPU the warm-up steps are timed too; enough steps make them not matter. On the
        # GPU the first two steps cost as much as thousands of replayed ones: the steady figure
        # leaves them out.
        return summary["timings"]["steady_steps_per_s" if device == "cuda" else "steps_per_s"]


def xent_time_to_r2(xent, preset, threads, target, every, max_steps):
    with tempfile.TemporaryDirectory() as out:
        xent_train(xent, ["--device", "cpu", "--preset", preset, "--out", out, "--set",
                          f"train.steps={max_steps}", "--set", f"train.eval_every={every}",
                          "--set", "train.checkpoint_every=0"], threads)
        for line in pathlib.Path(out, "metrics.jsonl").read_text().splitlines():
            row = json.loads(line)
            if row["r2_a"] >= target:
                return row["wall_s"], row["step"], row["r2_a"]
        return None, max_steps, row["r2_a"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--xent", default=str(ROOT / "build" / "xent"), help="the xent binary")
    ap.add_argument("--presets", nargs="+", default=list(PRESETS), choices=list(PRESETS))
    ap.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--steps", type=int, default=300, help="timed steps per measurement")
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3, help="the median of this many is reported")
    ap.add_argument("--population", type=int, default=8,
                    help="K for the population rows (xent population, torch.func ensemble); 0: none")
    ap.add_argument("--r2", type=float, default=None,
                    help="also time both to reach this R2_a (1 thread; evaluations included)")
    ap.add_argument("--r2-every", type=int, default=500, help="steps between R2 evaluations")
    ap.add_argument("--r2-max-steps", type=int, default=30000)
    ap.add_argument("--gpu", action="store_true",
                    help="also time both on the GPU (xent --device cuda, PyTorch on cuda)")
    ap.add_argument("--gpu-only", action="store_true",
                    help="only the GPU rows: no CPU, population or R2 rows, no SGEMM peak")
    ap.add_argument("--gpu-steps", type=int, default=3000,
                    help="timed steps per GPU measurement (a base step is well under a "
                         "millisecond there)")
    ap.add_argument("--json", help="write the measurements here")
    a = ap.parse_args()
    if not pathlib.Path(a.xent).is_file():
        sys.exit(f"compare_torch.py: --xent {a.xent}: no such file (build it with tools/build)")
    if any(t < 1 for t in a.threads):
        sys.exit("compare_torch.py: --threads: every value must be >= 1")
    if a.population < 0 or a.population == 1:
        sys.exit("compare_torch.py: --population: must be 0 (no population rows) or >= 2")
    if a.gpu_steps < 1:
        sys.exit("compare_torch.py: --gpu-steps: must be >= 1")
    if a.gpu_only and a.r2 is not None:
        sys.exit("compare_torch.py: --r2 times the CPU; it cannot be given with --gpu-only")
    cpu_rows = not a.gpu_only
    ensure_torch()
    import torch

    load = os.getloadavg()[0]
    cpu = cpu_model()
    print(f"{cpu}, {os.cpu_count()} CPUs; torch {torch.__version__}, load average {load:.2f} at "
          f"start, median of {a.repeats}, " +
          (f"{a.steps} steps after {a.warmup} warm-up" if cpu_rows else
           f"{a.gpu_steps} GPU steps after {a.warmup} warm-up"))
    peaks = {t: sgemm_peak_gflops(t) for t in a.threads} if cpu_rows else {}
    if cpu_rows:
        print("SGEMM peak (2048^3, float32, MKL): " +
              ", ".join(f"{peaks[t]:.0f} GFLOP/s at {t} thread{'s' if t > 1 else ''}"
                        for t in a.threads))
    rows = []
    header = f"{'preset':<10} {'threads':>7} {'xent steps/s':>13} {'torch steps/s':>14} {'ratio':>6}"
    if cpu_rows:
        print(header + f"  {'xent % peak':>11} {'torch % peak':>12}")
    for preset in a.presets if cpu_rows else []:
        gflop = step_gflop(preset)
        for threads in a.threads:
            # Alternating, so that a change in the machine's load falls on both sides alike.
            xs, ts = [], []
            for _ in range(a.repeats):
                xs.append(xent_steps_per_s(a.xent, preset, threads, a.steps, a.warmup))
                ts.append(torch_steps_per_s(preset, threads, a.steps, a.warmup))
            x, t = statistics.median(xs), statistics.median(ts)
            xp, tp = 100 * x * gflop / peaks[threads], 100 * t * gflop / peaks[threads]
            rows.append({"preset": preset, "threads": threads, "xent_steps_per_s": xs,
                         "torch_steps_per_s": ts, "ratio": x / t, "step_gflop": gflop,
                         "sgemm_peak_gflops": peaks[threads], "xent_percent_of_peak": xp,
                         "torch_percent_of_peak": tp})
            print(f"{preset:<10} {threads:>7} {x:>13.1f} {t:>14.1f} {x / t:>6.2f}  {xp:>10.0f}% "
                  f"{tp:>11.0f}%", flush=True)
    pop_rows = []
    if a.population and cpu_rows:
        K = a.population
        print(f"\npopulations of K = {K}, replica-steps/s (one by one: K = 1 runs in turn)")
        print(f"{'preset':<10} {'threads':>7} {'xent K':>8} {'xent 1 by 1':>12} {'torch vmap':>11}"
              f" {'K / 1 by 1':>11} {'K / vmap':>9}")
        for preset in a.presets:
            for threads in a.threads:
                xk, tv = [], []
                for _ in range(a.repeats):
                    xk.append(K * xent_steps_per_s(a.xent, preset, threads, a.steps // K + 5,
                                                   a.warmup // K + 2, population=K))
                    tv.append(torch_ensemble_steps_per_s(preset, threads, K, a.steps // K + 5,
                                                         a.warmup // K + 2))
                one = statistics.median(next(r["xent_steps_per_s"] for r in rows
                                             if r["preset"] == preset and r["threads"] == threads))
                x, t = statistics.median(xk), statistics.median(tv)
                pop_rows.append({"preset": preset, "threads": threads, "K": K,
                                 "xent_replica_steps_per_s": xk, "xent_one_by_one": one,
                                 "torch_vmap_replica_steps_per_s": tv})
                print(f"{preset:<10} {threads:>7} {x:>8.1f} {one:>12.1f} {t:>11.1f} "
                      f"{x / one:>11.2f} {x / t:>9.2f}", flush=True)
    gpu = a.gpu or a.gpu_only
    if gpu and not torch.cuda.is_available():
        print("--gpu: PyTorch sees no CUDA device; no GPU rows")
    elif gpu:
        if not cpu_rows:
            print(header)
        for preset in a.presets:
            xs, ts = [], []
            for _ in range(a.repeats):
                xs.append(xent_steps_per_s(a.xent, preset, 1, a.gpu_steps, a.warmup, "cuda"))
                ts.append(torch_steps_per_s(preset, 1, a.gpu_steps, a.warmup, "cuda"))
            x, t = statistics.median(xs), statistics.median(ts)
            rows.append({"preset": preset, "threads": "gpu", "xent_steps_per_s": xs,
                         "torch_steps_per_s": ts, "ratio": x / t})
            print(f"{preset:<10} {'gpu':>7} {x:>13.1f} {t:>14.1f} {x / t:>6.2f}", flush=True)
    r2_rows = []
    if a.r2 is not None:
        print(f"\ntime to R2_a >= {a.r2} (1 thread, evaluation every {a.r2_every} steps)")
        for preset in a.presets:
            xw, xs, xr = xent_time_to_r2(a.xent, preset, 1, a.r2, a.r2_every, a.r2_max_steps)
            tw, tsteps, tr = torch_time_to_r2(preset, 1, a.r2, a.r2_every, a.r2_max_steps)
            r2_rows.append({"preset": preset, "target": a.r2, "xent_s": xw, "xent_steps": xs,
                            "xent_r2": xr, "torch_s": tw, "torch_steps": tsteps, "torch_r2": tr})
            fmt = lambda w, s, r: (f"{w:.0f} s at step {s} (R2 {r:.4f})" if w is not None
                                   else f"not reached in {s} steps (R2 {r:.4f})")
            print(f"{preset:<10} xent {fmt(xw, xs, xr)}; torch {fmt(tw, tsteps, tr)}", flush=True)
    print(f"load average {os.getloadavg()[0]:.2f} at end")
    if a.json:
        pathlib.Path(a.json).write_text(json.dumps(
            {"cpu": cpu, "torch": torch.__version__, "load_start": load,
             "load_end": os.getloadavg()[0], "steps": a.steps, "gpu_steps": a.gpu_steps,
             "repeats": a.repeats,
             "sgemm_peak_gflops": peaks, "speed": rows, "populations": pop_rows,
             "time_to_r2": r2_rows},
            indent=2) + "\n")


if __name__ == "__main__":
    main()
