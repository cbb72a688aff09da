"""The reference's model (klindtlab/csi's get_mlp, torch's Adam, F.cross_entropy) trained from
xent's state at step N0 on xent's own batches, so that only the trainer's arithmetic differs from
xent's run of the same seed: if its R^2_a follows xent's curve, the gap to the reference lies in the
data xent draws; if it follows the reference's, it lies in xent's training step.

usage: torch_on_xent_batches.py CSI_CHECKOUT RUN_N0 SAMPLES STEPS OUT_JSONL [EVAL_EVERY]
  RUN_N0: `xent train --preset sup-d10 --set train.steps=N0` run directory (its checkpoint);
  SAMPLES: `xent sample --preset sup-d10 -n (STEPS + 8) * 1024` (step s trains on samples
  [s * 1024, (s + 1) * 1024) of the training stream; the last 8192 are the evaluation set).
Every EVAL_EVERY (default 1000) steps OUT_JSONL gets a row: step, the step's training loss and
r2_a (linear regression with intercept from the encoder's features to z, fitted on the first half
of the evaluation set and scored on the second, the mean R^2 over the d coordinates; BatchNorm
with running statistics).
"""
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

csi, run_n0, samples, steps, out = sys.argv[1:6]
steps = int(steps)
every = int(sys.argv[6]) if len(sys.argv) > 6 else 1000
sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "tools"))
sys.path.insert(0, str(Path(csi) / "simulation" / "src"))
from read_checkpoint import read_checkpoint  # noqa: E402
import encoders  # noqa: E402

torch.set_num_threads(1)
B, d, C = 1024, 10, 100
a = read_checkpoint(f'{run_n0}/checkpoint.xck')
N0 = a.header['step']
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


t0 = time.time()
with open(out, 'w') as o:
    f.train()
    for s in range(N0, steps):
        x = torch.from_numpy(np.array(xs[s * B:(s + 1) * B]))
        y = torch.from_numpy(ys[s * B:(s + 1) * B].astype(np.int64))
        loss = torch.nn.functional.cross_entropy(W(f(x)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (s + 1) % every == 0:
            row = {'step': s + 1, 'loss': loss.item(), 'r2_a': r2_a(), 'wall_s': time.time() - t0}
            o.write(json.dumps(row) + '\n')
            o.flush()
            print(row, flush=True)
