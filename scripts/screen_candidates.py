"""Screen candidate weights against the release before a full evaluation: single pass, the evaluation's protocol.

    python scripts/screen_candidates.py denoise --sets CBSD68,McMaster weights/denoise.color /tmp/ft/denoise.color
    python scripts/screen_candidates.py translate --pair 0 weights/cyclegan.flat2fluent3d weights/cyclegan.fluent3d2flat \\
        /tmp/ft/cyclegan.flat2fluent3d /tmp/ft/cyclegan.fluent3d2flat

denoise: mean PSNR per set and sigma on the same noisy inputs as `genrepair eval denoise` (its seeds), one column per
folder, with the difference to the first. translate: PSNR, SSIM and FID-EL0 on the test split of one style pair
(0: flat <-> 3D, 1: sketch <-> flat), folders given as forward/backward pairs. Only `genrepair eval` writes results,
cards and README tables; this is a quicker look at whether a candidate is worth that run.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

import genrepair
from genrepair.evaluation.common import data_root, psnr_u8, to_u8


def screen_denoise(args) -> None:
    from genrepair.evaluation.denoise import SIGMAS, load_set, noisy_inputs, torch_method

    models = [torch_method(genrepair.load_model(f, device="cpu")) for f in args.folders]
    root = data_root(args.data_root)
    for name in args.sets.split(","):
        images = load_set(root, name, None)
        for si, sigma in enumerate(SIGMAS):
            noisy = noisy_inputs(images, si)
            row = [
                float(np.mean([psnr_u8(to_u8(fn(nz, sigma)), img) for img, nz in zip(images, noisy)])) for fn in models
            ]
            diffs = " ".join(f"{v - row[0]:+.3f}" for v in row[1:])
            print(
                f"{name:9s} {sigma:3d}  " + " ".join(f"{v:.3f}" for v in row) + (f"  diff: {diffs}" if diffs else ""),
                flush=True,
            )


def screen_translate(args) -> None:
    from genrepair.evaluation.features import el0_features
    from genrepair.evaluation.translate import PAIRS, apply, scores
    from genrepair.training.data import load_emoji

    if len(args.folders) % 2:
        raise SystemExit("translate: give the folders as forward/backward pairs")
    _, _, dom_a, dom_b = PAIRS[args.pair]
    root = data_root(args.data_root)
    a, _, keys = load_emoji(root, dom_a, "test")
    b = load_emoji(root, dom_b, "test", set(keys))[0]
    feats = {dom_a: el0_features(a), dom_b: el0_features(b)}
    for i in range(0, len(args.folders), 2):
        for folder, src, dst, d_dst in ((args.folders[i], a, b, dom_b), (args.folders[i + 1], b, a, dom_a)):
            res = scores(apply(genrepair.load_model(folder, device="cpu"), src), dst, feats[d_dst])
            print(f"{folder}: " + ", ".join(f"{k} {v:.3f}" for k, v in res.items()), flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("task", choices=["denoise", "translate"])
    p.add_argument("folders", nargs="+", help="model folders or registry names; the first is the reference")
    p.add_argument("--sets", default="CBSD68,Kodak24,McMaster", help="denoise: comma-separated test sets")
    p.add_argument("--pair", type=int, default=0, choices=[0, 1], help="translate: 0 flat <-> 3D, 1 sketch <-> flat")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data-root", default=None)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if args.task == "denoise":
        screen_denoise(args)
    else:
        screen_translate(args)


if __name__ == "__main__":
    main()
