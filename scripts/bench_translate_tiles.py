"""Tiled translation vs the whole image: how far tiles with their own InstanceNorm statistics drift, and
how close tiles sharing the whole image's statistics (measured on a downscaled copy, what
`genrepair.translate` does for images larger than its tile) come.

    python scripts/bench_translate_tiles.py --model cyclegan.flat2fluent3d --sizes 1100x1100,2400x1800 --tile 1024

Kodak24 photos are upscaled (bicubic) to each size and translated whole (the reference: a generator with
InstanceNorm is only exact on the whole image), with per-tile statistics (`run_tiled` alone, the behaviour
before session 31), and through `genrepair.translate(tile=...)`. Prints PSNR to the whole-image output (8-bit) and
CPU seconds with the ratio to the whole-image run. The whole image must fit in memory: about 0.5 KB per pixel.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from PIL import Image

import genrepair
from genrepair.evaluation.common import data_root, psnr_u8
from genrepair.pipelines import run_tiled


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="cyclegan.flat2fluent3d")
    ap.add_argument("--sizes", default="1100x1100,1600x1200,2400x1800")
    ap.add_argument("--tile", type=int, default=1024)
    ap.add_argument("--images", type=int, default=2, help="how many Kodak24 photos")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data-root", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = genrepair.load_model(args.model, device="cpu")
    paths = sorted((data_root(args.data_root) / "denoise/test/color/Kodak24").glob("*.png"))[: args.images]
    print(f"{args.model}, tile {args.tile}: PSNR (dB) to the whole-image output, CPU s (ratio to whole)")
    print(f"{'image':<14}{'size':>11}{'whole s':>9}{'per-tile stats':>24}{'shared stats':>24}")

    def per_tile(img: Image.Image) -> Image.Image:
        x = torch.from_numpy(np.asarray(img, np.float32) / 255).permute(2, 0, 1)[None] * 2 - 1
        with torch.inference_mode():
            y = run_tiled(model, x, tile=args.tile, overlap=64, multiple=4, min_side=8)
        return Image.fromarray(
            np.round((y[0].clamp(-1, 1) * 0.5 + 0.5).permute(1, 2, 0).numpy() * 255).astype(np.uint8)
        )

    for path in paths:
        for size in args.sizes.split(","):
            w, h = map(int, size.split("x"))
            img = Image.open(path).convert("RGB").resize((w, h), Image.BICUBIC)
            runs = {}
            for name, tile in (("whole", max(w, h)), ("per-tile", None), ("shared", args.tile)):
                t = time.process_time()
                out = np.asarray(per_tile(img) if tile is None else genrepair.translate(model, img, tile=tile))
                runs[name] = (out, time.process_time() - t)
            ref, t0 = runs["whole"]
            cells = "".join(
                f"{psnr_u8(runs[k][0], ref):>10.1f} dB {runs[k][1]:>6.1f} s ({runs[k][1] / t0:.2f}x)"
                for k in ("per-tile", "shared")
            )
            print(f"{path.stem:<14}{size:>11}{t0:>9.1f}{cells}", flush=True)


if __name__ == "__main__":
    main()
