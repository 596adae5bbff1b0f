"""Automatic denoising of pictures with areas that hold no noise: a cut-out on a transparent background (hidden
colours black, or random) and a letterboxed picture (40% black bars).

    python scripts/compare_cutout_denoise.py

A 384x256 crop of Kodak24's kodim05 (never trained on) with sigma-25 noise (seed 0, clipped to 8 bits). Prints
the automatic sigma, the PSNR of the visible picture in automatic mode and at the true sigma, and whether the
alpha channel came back unchanged. (README gives the numbers of the code before these areas were left out,
measured with this script's cases on the commit before.)
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from PIL import Image

import genrepair
from genrepair.evaluation.common import data_root


def psnr(out: Image.Image, clean: np.ndarray, shown: np.ndarray) -> float:
    d = (np.asarray(out)[..., :3].astype(np.float64) - clean)[shown]
    return float(10 * np.log10(255**2 / np.mean(d**2)))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-root", default=None, help="../shared/data by default (or GENREPAIR_DATA)")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    den = genrepair.load_model("denoise.color")
    path = data_root(args.data_root) / "denoise" / "test" / "color" / "Kodak24" / "kodim05.png"
    clean = np.asarray(Image.open(path).convert("RGB"))[:256, :384].astype(np.float64)
    rng = np.random.default_rng(0)
    noisy = np.clip(clean + rng.normal(0, 25, clean.shape), 0, 255).round().astype(np.uint8)
    yy, xx = np.mgrid[:256, :384]
    disc = (yy - 128) ** 2 + (xx - 192) ** 2 < 100**2
    bars = np.zeros((256, 384), bool)
    bars[:, 80:-80] = True
    black = np.where(disc[..., None], noisy, 0).astype(np.uint8)
    random = np.where(disc[..., None], noisy, rng.integers(0, 256, noisy.shape)).astype(np.uint8)
    cases = {
        "cut-out on transparent black": (np.dstack([black, disc * np.uint8(255)]), disc),
        "cut-out, random hidden colours": (np.dstack([random, disc * np.uint8(255)]), disc),
        "black bars, 40%": (np.where(bars[..., None], noisy, 0).astype(np.uint8), bars),
    }
    print(f"{'case':32} {'auto sigma':>10} {'auto dB':>8} {'sigma 25 dB':>11}  alpha kept")
    for name, (arr, shown) in cases.items():
        img = Image.fromarray(arr)
        auto, fixed = genrepair.denoise(den, img), genrepair.denoise(den, img, sigma=25)

        kept = arr.shape[2] == 3 or np.array_equal(np.asarray(auto)[..., 3], arr[..., 3])
        a, b = psnr(auto, clean, shown), psnr(fixed, clean, shown)
        print(f"{name:32} {auto.info['genrepair_sigma']:10.1f} {a:8.2f} {b:11.2f}  {kept}")


if __name__ == "__main__":
    main()
