"""Inpainting models (or self-ensemble passes) side by side on the same crops and masks: a quick screen before
the full ``genrepair eval inpaint``.

    python scripts/compare_inpaint_models.py weights/inpaint.photo runs/ft36.out
    python scripts/compare_inpaint_models.py weights/inpaint.photo --passes 1,2,4,8

256 px center crops of CBSD68 and Kodak24 (never trained on), 16 NVIDIA irregular masks per coverage bin drawn with
another seed than the evaluation's, the crop picked at random for each. Prints the mean PSNR in the hole per bin,
each column's difference to the first and on how many images it wins, and CPU seconds per image.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from PIL import Image

from genrepair import inpaint, load_model
from genrepair.evaluation.common import data_root, psnr_u8
from genrepair.evaluation.inpaint import BINS, center_crop, load_masks


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+", help="registry names or model folders")
    p.add_argument("--passes", default="1", help="self-ensemble passes to try, e.g. 1,8 (default 1)")
    p.add_argument("--bins", default="2,3,4", help="coverage bins 0-5 (0 = 0-10%%; default 2,3,4)")
    p.add_argument("--per-bin", type=int, default=16)
    p.add_argument("--data-root", default=None, help="../shared/data by default (or GENREPAIR_DATA)")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    root = data_root(args.data_root)
    color = root / "denoise" / "test" / "color"
    images = [center_crop(Image.open(f), 256) for s in ("CBSD68", "Kodak24") for f in sorted((color / s).glob("*.png"))]
    masks = load_masks(root, args.per_bin, seed=5)
    runs = [(m, load_model(m, device="cpu"), int(k)) for m in args.models for k in args.passes.split(",")]
    rng = np.random.default_rng(3)
    for b in (int(x) for x in args.bins.split(",")):
        psnr = {i: [] for i in range(len(runs))}
        cpu = dict.fromkeys(psnr, 0.0)
        for mask in masks[b]:
            img = images[rng.integers(len(images))]
            hole = np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).resize((256, 256), Image.NEAREST)) > 127
            for i, (_, model, passes) in enumerate(runs):
                t = time.process_time()
                out = np.asarray(inpaint(model, Image.fromarray(img), Image.fromarray(hole), ensemble=passes))
                cpu[i] += time.process_time() - t
                psnr[i].append(psnr_u8(out[hole], img[hole]))
        base = np.array(psnr[0])
        cells = []
        for i, (name, _, passes) in enumerate(runs):
            v = np.array(psnr[i])
            cells.append(f"{name} x{passes} {v.mean():.3f} ({v.mean() - base.mean():+.3f}, wins {(v > base).sum()}/{len(v)},"
                         f" {cpu[i] / len(v):.2f} s)")  # fmt: skip
        print(f"{BINS[b]:>7}: " + "  ".join(cells), flush=True)


if __name__ == "__main__":
    main()
