"""Screen candidate weights against the release before a full evaluation: single pass, the evaluation's protocol.

    python scripts/screen_candidates.py denoise --sets CBSD68,McMaster weights/denoise.color /tmp/ft/denoise.color
    python scripts/screen_candidates.py robust --sets Set12,BSD68 --limit 24 weights/denoise.gray /tmp/ft/denoise.gray
    python scripts/screen_candidates.py translate --pair 0 weights/cyclegan.flat2fluent3d weights/cyclegan.fluent3d2flat \\
        /tmp/ft/cyclegan.flat2fluent3d /tmp/ft/cyclegan.fluent3d2flat

denoise: mean PSNR per set and sigma on the same noisy inputs as `genrepair eval denoise` (its seeds), one column per
folder, with the difference to the first. robust: what real photos do to the denoisers' input (clipped noise, saved as
JPEG or not), denoised in automatic mode through the pipeline as the app does it, on other noise seeds than the
table's; per case the mean difference to the first folder, on how many images it is better, and the range. translate:
PSNR, SSIM and FID-EL0 on the test split of one style pair (0: flat <-> 3D, 1: sketch <-> flat), folders given as
forward/backward pairs. Only `genrepair eval` writes results, cards and README tables; this is a quicker look at
whether a candidate is worth that run.
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


# (JPEG quality or 0 for a lossless file, sigma): clipped 8-bit noisy images as users' photos arrive
ROBUST_CASES = ((75, 25), (90, 25), (50, 15), (0, 25), (0, 50))


def screen_robust(args) -> None:
    import io

    from PIL import Image

    from genrepair.evaluation.denoise import _jpeg, _pil_u8, load_set, noisy_version

    models = [genrepair.load_model(f, device="cpu") for f in args.folders]
    root = data_root(args.data_root)
    images = [img for name in args.sets.split(",") for img in load_set(root, name, args.limit)]
    for quality, sigma in ROBUST_CASES:
        gains = []
        for i, clean in enumerate(images):
            noisy = to_u8(noisy_version(clean, sigma, 500 + i))  # the table uses other seeds
            noisy = noisy[..., 0] if noisy.shape[2] == 1 else noisy
            upload = Image.open(io.BytesIO(_jpeg(noisy, quality).tobytes())) if quality else Image.fromarray(noisy)
            psnrs = [psnr_u8(_pil_u8(genrepair.denoise(m, upload, sigma="auto")), clean) for m in models]
            gains.append([v - psnrs[0] for v in psnrs[1:]])
        case = f"JPEG q{quality}" if quality else "clipped only"
        for folder, g in zip(args.folders[1:], np.array(gains).T):
            print(
                f"{case:12s} sigma {sigma:2d}  {folder}: mean {g.mean():+.3f} dB, better on {np.sum(g > 0)}/{len(g)}, "
                f"range {g.min():+.3f} to {g.max():+.3f}",
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
    p.add_argument("task", choices=["denoise", "robust", "translate"])
    p.add_argument("folders", nargs="+", help="model folders or registry names; the first is the reference")
    p.add_argument("--sets", default="CBSD68,Kodak24,McMaster", help="denoise, robust: comma-separated test sets")
    p.add_argument("--limit", type=int, default=None, help="robust: at most this many images of each set")
    p.add_argument("--pair", type=int, default=0, choices=[0, 1], help="translate: 0 flat <-> 3D, 1 sketch <-> flat")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data-root", default=None)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if args.task == "denoise":
        screen_denoise(args)
    elif args.task == "robust":
        if len(args.folders) < 2:
            raise SystemExit("robust: give the reference folder and at least one candidate")
        screen_robust(args)
    else:
        screen_translate(args)


if __name__ == "__main__":
    main()
