"""Objects removed with a soft brush: the mask's faint rim in the hole (the pipeline) vs a plain half threshold.

    python scripts/compare_soft_masks.py --limit 12

Kodak24 photos (never trained on), 512x512 center crops, each with a dark disk (an "object", radius 20-50 px,
anti-aliased edge) pasted at a random place (fixed seed). The mask is what a soft brush leaves when the object
looks covered: opaque inside, fading linearly to nothing from 6 px inside the object's edge to 3 px outside it,
so the edge itself is at a third of white. Prints, per photo and on average, the PSNR against the photo without
the object over the brushed area, for the hole read by ``genrepair.pipelines.read_mask`` and by ``mask > 0.5``,
and how many object pixels (more than 8 levels darker than the photo) are left outside each hole.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from PIL import Image

import genrepair
from genrepair.evaluation.common import data_root
from genrepair.evaluation.inpaint import center_crop
from genrepair.pipelines import read_mask


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255**2 / np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-root", default=None, help="../shared/data by default (or GENREPAIR_DATA)")
    p.add_argument("--model", default="inpaint.photo")
    p.add_argument("--limit", type=int, default=12)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    model = genrepair.load_model(args.model)
    files = sorted((data_root(args.data_root) / "denoise" / "test" / "color" / "Kodak24").glob("*.png"))[: args.limit]
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:512, :512]
    rows = []
    print(f"{'photo':12} {'rim dB':>7} {'half dB':>8} {'left rim':>9} {'left half':>9}")
    for f in files:
        truth = center_crop(Image.open(f), 512)
        r = rng.uniform(20, 50)
        cy, cx = rng.uniform(60, 452, 2)
        d = np.hypot(yy - cy, xx - cx)
        cover = np.clip(r + 0.5 - d, 0, 1)[..., None]  # the object's anti-aliased disk
        seen = (truth * (1 - cover) + np.array([30.0, 25.0, 20.0]) * cover).round().astype(np.uint8)
        brush = np.clip((r + 3 - d) / 9, 0, 1)  # opaque to r - 6, a third at the edge r, nothing from r + 3
        mask = Image.fromarray((brush * 255).round().astype(np.uint8))
        object_px = (truth.astype(int) - seen.astype(int)).max(2) > 8
        area = brush > 0
        row = []
        for hole in (read_mask(mask), brush > 0.5):
            out = np.asarray(genrepair.inpaint(model, Image.fromarray(seen), Image.fromarray(hole)))
            row.append((psnr(out[area], truth[area]), int((object_px & ~hole).sum())))
        rows.append([row[0][0], row[1][0], row[0][1], row[1][1]])
        print(f"{f.name:12} {row[0][0]:7.2f} {row[1][0]:8.2f} {row[0][1]:9d} {row[1][1]:9d}")
    m = np.array(rows, float).mean(0)
    print(f"{'mean':12} {m[0]:7.2f} {m[1]:8.2f} {m[2]:9.1f} {m[3]:9.1f}")


if __name__ == "__main__":
    main()
