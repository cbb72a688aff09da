#!/usr/bin/env python3
"""The five feature sets of the paper's ImageNet-X experiment, for `xent probe-factors`.

usage: tools/extract_features.py --images DIR --out DIR [--models resnet50,vit_b_16,...]
       tools/extract_features.py --synthetic 16 --out DIR --models resnet50_init,input

Needs torch and torchvision (PyPI). Writes OUT/NAME.npy ([images][features], float32) per model
and OUT/file_names.txt (one image file name per row, the rows' order), as the reference code's
imagenetx/get_activations.py extracts them:
  resnet50, vit_b_16            torchvision's default pretrained weights, the classification
                                head removed (2048 and 768 features), each with its weights' own
                                preprocessing
  resnet50_init, vit_b_16_init  the same architectures with random weights (seeded)
  input                         a fixed random linear map of the flattened 224 x 224 x 3 input
                                (after ResNet-50's preprocessing) to 2048 features
With --annotations (ImageNet-X's imagenet_x_val_top_factor.jsonl) only annotated images are
kept; with --drop (its prototypical_paths.csv) those are left out. The pretrained weights are
downloaded by torchvision on first use (into the torch hub cache); on a machine without network
access, put them there first or use the *_init models. --synthetic N draws N random images
instead of reading --images (for testing the script itself).
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

MODELS = ["resnet50", "vit_b_16", "resnet50_init", "vit_b_16_init", "input"]


def build(name, seed):
    import torch
    from torchvision import models

    torch.manual_seed(seed)
    arch = name.removesuffix("_init")
    if arch == "resnet50":
        weights = models.ResNet50_Weights.DEFAULT
        net = models.resnet50(weights=None if name.endswith("_init") else weights)
        net.fc = torch.nn.Identity()
    elif arch == "vit_b_16":
        weights = models.ViT_B_16_Weights.DEFAULT
        net = models.vit_b_16(weights=None if name.endswith("_init") else weights)
        net.heads = torch.nn.Identity()
    else:  # input: a fixed Gaussian projection of the preprocessed pixels
        weights = models.ResNet50_Weights.DEFAULT
        proj = torch.randn(3 * 224 * 224, 2048, generator=torch.Generator().manual_seed(seed))
        proj /= (3 * 224 * 224) ** 0.5

        class Input(torch.nn.Module):
            def forward(self, x):
                return x.flatten(1) @ proj

        net = Input()
    return net.eval(), weights.transforms()


def images(a):
    """(file names, a function loading image i as a PIL image)."""
    from PIL import Image

    if a.synthetic:
        rng = np.random.default_rng(0)
        names = [f"synthetic_{i:05d}.png" for i in range(a.synthetic)]
        arrays = [rng.integers(0, 256, size=(256, 320, 3), dtype=np.uint8)
                  for _ in range(a.synthetic)]
        return names, lambda i: Image.fromarray(arrays[i])
    if not a.images or not a.images.is_dir():
        raise SystemExit(f"extract_features: --images {a.images}: not a directory")
    names = sorted(p.name for p in a.images.iterdir() if p.suffix.lower() in {".jpeg", ".jpg",
                                                                             ".png"})
    if a.annotations:
        keep = {json.loads(line)["file_name"] for line in a.annotations.read_text().splitlines()
                if line.strip()}
        names = [n for n in names if n in keep]
    if a.drop:
        drop = set(a.drop.read_text().split())
        names = [n for n in names if n not in drop]
    if a.limit:
        names = names[:a.limit]
    if not names:
        raise SystemExit(f"extract_features: no images to extract in {a.images}")
    return names, lambda i: Image.open(a.images / names[i]).convert("RGB")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=Path, help="a directory of ImageNet validation images")
    ap.add_argument("--annotations", type=Path, help="keep only the images this .jsonl names")
    ap.add_argument("--drop", type=Path, help="a list of file names to leave out")
    ap.add_argument("--synthetic", type=int, default=0, help="N random images instead")
    ap.add_argument("--limit", type=int, default=0, help="at most this many images")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated, of: " +
                    ", ".join(MODELS))
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--device", default="cuda" if _cuda() else "cpu")
    ap.add_argument("--seed", type=int, default=0, help="for the random-weight models")
    a = ap.parse_args()
    import torch

    wanted = [m for m in a.models.split(",") if m]
    for m in wanted:
        if m not in MODELS:
            raise SystemExit(f"extract_features: --models: unknown model {m} "
                             f"(one of {', '.join(MODELS)})")
    names, load = images(a)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "file_names.txt").write_text("".join(n + "\n" for n in names))
    for m in wanted:
        try:
            net, transform = build(m, a.seed)
        except Exception as e:  # the pretrained weights could not be fetched
            raise SystemExit(f"extract_features: {m}: its pretrained weights could not be "
                             f"loaded ({e}); put them in the torch hub cache "
                             f"({torch.hub.get_dir()}) or use {m}_init")
        net = net.to(a.device)
        rows = []
        with torch.no_grad():
            for b0 in range(0, len(names), a.batch):
                x = torch.stack([transform(load(i))
                                 for i in range(b0, min(b0 + a.batch, len(names)))])
                rows.append(net(x.to(a.device)).float().cpu().numpy())
        feats = np.concatenate(rows).astype(np.float32)
        tmp = a.out / f"{m}.npy.tmp"
        with open(tmp, "wb") as f:
            np.save(f, feats)
        tmp.replace(a.out / f"{m}.npy")
        print(f"extract_features: {m}: {feats.shape[0]} x {feats.shape[1]} -> {a.out / m}.npy")
    return 0


def _cuda():
    try:
        import torch
        return torch.cuda.is_available()
    except ImportError:
        return False


if __name__ == "__main__":
    sys.exit(main())
