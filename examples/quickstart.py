#!/usr/bin/env python3
"""xent from Python in one page: train the default run (the paper's supervised base setting,
shortened to 3,000 steps), probe its encoder on data it never saw, and plot R2_a against the
training steps. Under a minute on a 2-core CPU.

    pip install .  &&  pip install matplotlib
    python examples/quickstart.py --out .        # writes ./quickstart.png
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # a file, no window: runs on a server and in CI
import matplotlib.pyplot as plt
import numpy as np

import xent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("."), help="directory for quickstart.png")
    args = parser.parse_args()

    # The default preset, evaluated every 250 steps for a curve (evaluations change nothing in
    # the training: the final numbers are `xent train`'s).
    cfg = xent.config("default", overrides={"train.eval_every": 250})
    run = xent.train(cfg)
    final = run.summary["replicas"][0]
    print(f"trained {run.steps_done} steps in {run.summary['timings']['wall_s']:.1f} s: "
          f"R2_a {final['r2_a']:.4f}, accuracy {final['acc']:.4f}")

    # Fresh samples of the same data generating process: the batches after the last training
    # step (batch t is what training step t + 1 would draw).
    source = xent.DgpSource(cfg)
    batches = [source.batch(cfg["train.steps"] + i) for i in range(32)]
    x = np.concatenate([b[0] for b in batches])
    z = np.concatenate([b[1] for b in batches])
    m = xent.probe(run.encode(x), z, scale=1 / cfg["dgp.kappa"])
    print(f"probe on {len(x)} unseen samples: R2_a {m['r2_a']:.4f}, R2_o {m['r2_o']:.4f}, "
          f"MAE_o {m['mae_o']:.4f}, MCC {m['mcc']:.4f}")

    steps = [r["step"] for r in run.metrics]
    r2 = [r["r2_a"] for r in run.metrics]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(steps, r2, marker="o")
    ax.set_xlabel("training step")
    ax.set_ylabel("R$^2_a$ (f(x) -> z)")
    ax.set_title("xent: the default run")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    args.out.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out / "quickstart.png", dpi=120)
    print(f"wrote {args.out / 'quickstart.png'}")


if __name__ == "__main__":
    main()
