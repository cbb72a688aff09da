"""The reference's model (klindtlab/csi's get_mlp, torch's Adam, F.cross_entropy) trained from
xent's state at step N0 on xent's own batches, so that only the trainer's arithmetic differs from
xent's run of the same seed: if its R^2_a follows xent's curve, the gap to the reference lies in the
data or the initialisation; if it follows the reference's, it lies in xent's training step.

usage: torch_on_xent_batches.py CSI_CHECKOUT RUN_N0 SAMPLES STEPS OUT_DIR [EVAL_EVERY]
                                [--init-torch-seed S] [--reference-batches S]
  RUN_N0: `xent train --preset sup-d10 --set train.steps=N0` run directory (its checkpoint);
  SAMPLES: `xent sample --preset sup-d10 -n (STEPS + 8) * 1024` (step s trains on samples
  [s * 1024, (s + 1) * 1024) of the training stream; the last 8192 are the evaluation set).
  --init-torch-seed S: start instead from the reference's own initialisation of seed S
  (torch.manual_seed(S), then the encoder and W built in main_sup's order), at step 0.
  --reference-batches S: train instead on batches drawn by the reference's sampler
  (main_sup's sample_latents: numpy's vMF sampler seeded with S, torch.randint labels) from
  xent's centres (SAMPLES/centres.npy), mixed by xent's mixing weights (SAMPLES/mixing.npy).
OUT_DIR gets a run directory's two curves, as tools/plot_compare.py reads them: loss.jsonl (the
training loss every 100 steps) and metrics.jsonl, a row every EVAL_EVERY (default 1000) steps:
the step's training loss and r2_a (linear regression with intercept from the encoder's features to z, fitted on the first half
of the evaluation set and scored on the second, the mean R^2 over the d coordinates; BatchNorm
with running statistics).
"""
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

opts = {}
args = []
it = iter(sys.argv[1:])
for x in it:
    if x in ('--init-torch-seed', '--reference-batches'):
        opts[x] = int(next(it))
    else:
        args.append(x)
csi, run_n0, samples, steps, out = args[:5]
out = Path(out)
out.mkdir(parents=True, exist_ok=True)
steps = int(steps)
every = int(args[5]) if len(args) > 5 else 1000
sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "tools"))
sys.path.insert(0, str(Path(csi) / "simulation" / "src"))
from read_checkpoint import read_checkpoint  # noqa: E402
import encoders  # noqa: E402
import vmf  # noqa: E402

torch.set_num_threads(1)
B, d, C = 1024, 10, 100
a = read_checkpoint(f'{run_n0}/checkpoint.xck')
N0 = a.header['step']
if '--init-torch-seed' in opts:
    torch.manual_seed(opts['--init-torch-seed'])
f = encoders.get_mlp(n_in=d, n_out=d, layers=[10 * d, 50 * d, 50 * d, 50 * d, 50 * d, 10 * d],
                     layer_normalization='bn')
W = torch.nn.Linear(d, C, bias=False)
lin = [m for m in f if isinstance(m, torch.nn.Linear)]
bns = [m for m in f if isinstance(m, torch.nn.BatchNorm1d)]
names = {}
for i, m in enumerate(lin):
    names[f'enc.{i}.weight'] = m.weight
    names[f'enc.{i}.bias'] = m.bias
for i, m in enumerate(bns):
    names[f'enc.{i}.bn.weight'] = m.weight
    names[f'enc.{i}.bn.bias'] = m.bias
names['head.weight'] = W.weight
opt = torch.optim.Adam(list(f.parameters()) + list(W.parameters()), lr=1e-3)
if '--init-torch-seed' in opts:
    N0 = 0
else:
    with torch.no_grad():
        for n, p in names.items():
            p.copy_(torch.from_numpy(a[n][0]).reshape(p.shape))
        for i, m in enumerate(bns):
            m.running_mean.copy_(torch.from_numpy(a[f'enc.{i}.bn.running_mean'][0]))
            m.running_var.copy_(torch.from_numpy(a[f'enc.{i}.bn.running_var'][0]))
if N0 > 0:
    for n, p in names.items():
        opt.state[p] = {'step': torch.tensor(float(N0)),
                        'exp_avg': torch.from_numpy(a['adam.m.' + n][0]).reshape(p.shape).clone(),
                        'exp_avg_sq': torch.from_numpy(a['adam.v.' + n][0]).reshape(p.shape).clone()}
xs = np.load(f'{samples}/observations.npy', mmap_mode='r')
ys = np.load(f'{samples}/labels.npy', mmap_mode='r')
zs = np.load(f'{samples}/latents.npy', mmap_mode='r')
assert xs.shape[0] >= (steps + 8) * B, 'SAMPLES holds too few samples'
ex = torch.from_numpy(np.array(xs[steps * B:(steps + 8) * B]))
ez = np.array(zs[steps * B:(steps + 8) * B], dtype=np.float64)


def r2_a():
    f.eval()
    with torch.no_grad():
        h = f(ex).numpy().astype(np.float64)
    f.train()
    A = np.hstack([h, np.ones((h.shape[0], 1))])
    n = A.shape[0] // 2  # fitted on the first half, scored on the second (xent's eval_split 0.5)
    coef, *_ = np.linalg.lstsq(A[:n], ez[:n], rcond=None)
    res = ((A[n:] @ coef - ez[n:]) ** 2).sum(0)
    tot = ((ez[n:] - ez[n:].mean(0)) ** 2).sum(0)
    return float(np.mean(1 - res / tot))


if '--reference-batches' in opts:
    np.random.seed(opts['--reference-batches'])
    centres = torch.from_numpy(np.load(f'{samples}/centres.npy').astype(np.float32))
    mixing = torch.from_numpy(np.load(f'{samples}/mixing.npy').astype(np.float32))


def reference_batch():
    """main_sup's sample_latents (nr_indices 10240, kappa 10), then x = g(z) with xent's weights
    (x_out = W x_in, LeakyReLU(0.2) between layers, as construct_invertible_mlp's g)."""
    indices = torch.randint(0, 10240, (B,))
    labels = indices % C
    z = torch.Tensor(vmf.sample_vMF(centres[labels].numpy(), 10.0, B))
    x = z
    for i in range(mixing.shape[0]):
        x = x @ mixing[i].T
        if i < mixing.shape[0] - 1:
            x = torch.nn.functional.leaky_relu(x, 0.2)
    return x, labels


t0 = time.time()
seed = int(opts.get('--init-torch-seed', a.header['seeds'][0]))
with open(out / 'metrics.jsonl', 'w') as o, open(out / 'loss.jsonl', 'w') as lo:
    f.train()
    for s in range(N0, steps):
        if '--reference-batches' in opts:
            x, y = reference_batch()
        else:
            x = torch.from_numpy(np.array(xs[s * B:(s + 1) * B]))
            y = torch.from_numpy(ys[s * B:(s + 1) * B].astype(np.int64))
        loss = torch.nn.functional.cross_entropy(W(f(x)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        row = {'step': s + 1, 'replica': 0, 'seed': seed, 'wall_s': time.time() - t0}
        if (s + 1) % 100 == 0:
            lo.write(json.dumps(dict(row, loss=loss.item())) + '\n')
            lo.flush()
        if (s + 1) % every == 0:
            row.update(r2_a=r2_a(), loss=loss.item())
            o.write(json.dumps(row) + '\n')
            o.flush()
            print(row, flush=True)
