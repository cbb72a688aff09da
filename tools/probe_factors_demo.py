#!/usr/bin/env python3
"""The ImageNet-X comparison on the synthetic DGP: trained encoder, untrained encoder, input.

usage: tools/probe_factors_demo.py [--xent build/xent] [--out DIR] [--steps 3000] [--n 6000]

The paper's figure asks which factors a pretrained model, the same architecture at random
initialisation, and a random map of the input make linearly decodable. Here the factors are
the DGP's own: the sign of each latent coordinate z_j, and which half of the clusters a sample
comes from. The script trains the default run (`xent train`), draws n observations
(`xent sample`: the run's own g), encodes them with the trained and the untrained encoder
(`xent encode`), probes all three feature sets plus the observations themselves with
`xent probe-factors`, and draws the figure (tools/plot_factors.py, when matplotlib and scipy
are there). Needs numpy.
"""
import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np


def run(*args):
    subprocess.run([str(a) for a in args], check=True, stdout=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--xent", default="build/xent")
    ap.add_argument("--out", type=Path, default=Path("probe_factors_demo"))
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--n", type=int, default=6000)
    a = ap.parse_args()
    out = a.out
    out.mkdir(parents=True, exist_ok=True)
    run(a.xent, "train", "-q", "--force", "--set", f"train.steps={a.steps}", "--out",
        out / "run")
    run(a.xent, "sample", "--force", "-n", a.n, "-c", out / "run" / "config.toml", "-o",
        out / "samples")
    x = out / "samples" / "observations.npy"
    run(a.xent, "encode", "--run", out / "run", "--inputs", x, "--out", out / "trained.npy")
    run(a.xent, "encode", "--run", out / "run", "--inputs", x, "--out", out / "untrained.npy",
        "--untrained")
    z = np.load(out / "samples" / "latents.npy")
    labels = np.load(out / "samples" / "labels.npy")
    clusters = int(labels.max()) + 1
    y = np.concatenate([(z > 0), (labels < clusters // 2)[:, None]], 1).astype(np.int64)
    header = ",".join([f"sign_z{j}" for j in range(z.shape[1])] + ["cluster_half"])
    np.savetxt(out / "targets.csv", y, fmt="%d", delimiter=",", header=header, comments="")
    subprocess.run([a.xent, "probe-factors", "--features", f"trained={out / 'trained.npy'}",
                    "--features", f"untrained={out / 'untrained.npy'}", "--features", f"input={x}",
                    "--targets", str(out / "targets.csv"), "--feature-filter", "none", "--out",
                    str(out / "probes"), "--force"], check=True)
    plot = Path(__file__).with_name("plot_factors.py")
    try:
        subprocess.run([sys.executable, str(plot), str(out / "probes")], check=True)
    except subprocess.CalledProcessError:
        print("probe_factors_demo: no figure (tools/plot_factors.py needs matplotlib and scipy)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
