"""Writes the reference's trained encoder and W (main_sup's model.pt) into an xent checkpoint of
the same shape (Adam moments zero), so that xent evaluates the reference's weights.

usage: swap_weights.py MODEL_PT CHECKPOINT  (then `xent train --resume DIR --set train.steps=S`
with S the checkpoint's step: a resumed run at its last step only evaluates)
"""
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "tools"))
from read_checkpoint import read_checkpoint, HEADER, MAGIC
model_pt, ck_path = sys.argv[1], sys.argv[2]
ck = read_checkpoint(ck_path)
m = torch.load(model_pt, weights_only=False, map_location='cpu')
sd = m['encoder_state_dict']; W = m['w'].weight.detach().numpy()
lin = sorted({int(k.split('.')[0]) for k in sd if k.endswith('.weight') and sd[k].dim() == 2})
bn = sorted({int(k.split('.')[0]) for k in sd if k.endswith('running_mean')})
print('linear', lin, 'bn', bn)
new = {}
for i, j in enumerate(lin):
    new[f'enc.{i}.weight'] = sd[f'{j}.weight'].numpy().ravel()
    new[f'enc.{i}.bias'] = sd[f'{j}.bias'].numpy().ravel()
for i, j in enumerate(bn):
    new[f'enc.{i}.bn.weight'] = sd[f'{j}.weight'].numpy().ravel()
    new[f'enc.{i}.bn.bias'] = sd[f'{j}.bias'].numpy().ravel()
    new[f'enc.{i}.bn.running_mean'] = sd[f'{j}.running_mean'].numpy().ravel()
    new[f'enc.{i}.bn.running_var'] = sd[f'{j}.running_var'].numpy().ravel()
new['head.weight'] = W.ravel()
table = bytearray(struct.pack('<I', len(ck)))
for name, a in ck.items():
    a = new.get(name, np.zeros_like(a).ravel() if name.startswith('adam.') else None)
    assert a is not None, name
    a = np.asarray(a, dtype='<f4').reshape(1, -1)
    assert a.shape == ck[name].shape, (name, a.shape, ck[name].shape)
    nb = name.encode()
    table += struct.pack('<I', len(nb)) + nb + struct.pack('<I', 2) + struct.pack('<2q', *a.shape) + a.tobytes()
h = ck.header
buf = HEADER.pack(MAGIC, 1, h['K'], h['shape_hash'], h['config_hash'], h['step'], len(table)) + h['seeds'].astype('<u8').tobytes() + bytes(table)
buf += struct.pack('<I', zlib.crc32(buf) & 0xFFFFFFFF)
open(ck_path, 'wb').write(buf)
print('wrote', ck_path)
