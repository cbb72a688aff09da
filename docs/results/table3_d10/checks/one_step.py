"""One training step of the reference's model (klindtlab/csi's get_mlp, torch's Adam) from xent's
state at step N, on xent's batch of that step, against xent's state at step N + 1.

usage: one_step.py CSI_CHECKOUT RUN_N RUN_N1 SAMPLES N
  RUN_N, RUN_N1: `xent train --preset sup-d10 --set train.steps=N` (and N + 1) run directories;
  SAMPLES: `xent sample --preset sup-d10 -n (N + 1) * 1024` (step s trains on samples
  [s * 1024, (s + 1) * 1024) of the training stream).
"""
import sys
from pathlib import Path

import numpy as np
import torch

csi, run_n, run_n1, samples, N = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "tools"))
sys.path.insert(0, str(Path(csi) / "simulation" / "src"))
from read_checkpoint import read_checkpoint  # noqa: E402
import encoders  # noqa: E402
torch.set_num_threads(1)
B, d, C = 1024, 10, 100
a = read_checkpoint(f'{run_n}/checkpoint.xck'); b = read_checkpoint(f'{run_n1}/checkpoint.xck')
assert a.header['step'] == N and b.header['step'] == N + 1
f = encoders.get_mlp(n_in=d, n_out=d, layers=[10*d, 50*d, 50*d, 50*d, 50*d, 10*d], layer_normalization='bn')
W = torch.nn.Linear(d, C, bias=False)
lin = [m for m in f if isinstance(m, torch.nn.Linear)]; bns = [m for m in f if isinstance(m, torch.nn.BatchNorm1d)]
names = {}
for i, m in enumerate(lin):
    names[f'enc.{i}.weight'] = m.weight; names[f'enc.{i}.bias'] = m.bias
for i, m in enumerate(bns):
    names[f'enc.{i}.bn.weight'] = m.weight; names[f'enc.{i}.bn.bias'] = m.bias
names['head.weight'] = W.weight
params = list(f.parameters()) + list(W.parameters())
opt = torch.optim.Adam(params, lr=1e-3)
with torch.no_grad():
    for n, p in names.items(): p.copy_(torch.from_numpy(a[n][0]).reshape(p.shape))
    for i, m in enumerate(bns):
        m.running_mean.copy_(torch.from_numpy(a[f'enc.{i}.bn.running_mean'][0]))
        m.running_var.copy_(torch.from_numpy(a[f'enc.{i}.bn.running_var'][0]))
for n, p in names.items():
    opt.state[p] = {'step': torch.tensor(float(N)),
                    'exp_avg': torch.from_numpy(a['adam.m.' + n][0]).reshape(p.shape).clone(),
                    'exp_avg_sq': torch.from_numpy(a['adam.v.' + n][0]).reshape(p.shape).clone()}
x = torch.from_numpy(np.load(f'{samples}/observations.npy', mmap_mode='r')[N*B:(N+1)*B].copy())
y = torch.from_numpy(np.load(f'{samples}/labels.npy', mmap_mode='r')[N*B:(N+1)*B].astype(np.int64))
f.train()
loss = torch.nn.functional.cross_entropy(W(f(x)), y)
opt.zero_grad(); loss.backward(); opt.step()
print('torch loss %.6f' % loss.item())
def rel(t, ref):
    t = t.detach().numpy().ravel().astype(np.float64); ref = ref.ravel().astype(np.float64)
    return np.abs(t - ref).max() / max(np.abs(ref).max(), 1e-30)
worst = {}
for n, p in names.items():
    worst[n] = (rel(p, b[n][0]), rel(opt.state[p]['exp_avg'], b['adam.m.' + n][0]), rel(opt.state[p]['exp_avg_sq'], b['adam.v.' + n][0]),
                np.abs(p.detach().numpy().ravel() - a[n][0]).max())
# Each value: the largest difference to xent's step N + 1, over the largest value.
for n, w in worst.items(): print('%-22s param %.2e  m %.2e  v %.2e  (step moved %.2e)' % ((n,) + w))
for i, m in enumerate(bns):
    print('enc.%d.bn running_mean %.2e  running_var %.2e' % (i, rel(m.running_mean, b[f'enc.{i}.bn.running_mean'][0]), rel(m.running_var, b[f'enc.{i}.bn.running_var'][0])))
print('--- pre-BN biases: gradient noise and step sizes')
for i in range(6):
    n = f'enc.{i}.bias'; p = names[n]
    g = p.grad.detach().numpy().ravel()
    vx = np.sqrt(a['adam.v.' + n][0]); mx = np.abs(a['adam.m.' + n][0])
    step_x = np.abs(b[n][0] - a[n][0]); step_t = np.abs(p.detach().numpy().ravel() - a[n][0])
    wn = f'enc.{i}.weight'; gw = np.abs(names[wn].grad.detach().numpy()).ravel()
    print('%-10s torch |grad| med %.1e | xent sqrt(v) med %.1e |m| med %.1e | step med xent %.1e torch %.1e | weight |grad| med %.1e' % (n, np.median(np.abs(g)), np.median(vx), np.median(mx), np.median(step_x), np.median(step_t), np.median(gw)))
