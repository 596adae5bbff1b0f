"""Automatic denoising of noise clipped to 8 bits: the noise estimate with and without its clipping correction.

    python scripts/compare_clipped_noise.py --limit 12

Test images never trained on (CBSD68 and BSD68 from index 20), sigma-25/50 noise added as in the evaluation but
then clipped and rounded to 8 bits (what a noisy photo's file holds), some darkened to 30% first (more of the noise
cut off at black), and the clean images themselves; then color ones saved as JPEG at quality 50, 75 and 90 (the
correction of JPEG readings starts at ``noise.JPEG_UNCLIP_FROM``, chosen with ``--train --unclip-from 0``: CBSD432
training photos 100-107 instead of the test sets, corrected at every quality). Each is denoised through
``genrepair.denoise`` at the sigma ``estimate_noise_level`` reads with the correction (``noise._unclipped_sigma``,
``noise._jpeg_unclipped_sigma``), at the one it reads without it, and at the true sigma; prints the mean estimates
and PSNRs, and on how many images the correction helped or hurt.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from unittest import mock

import numpy as np
import torch
from PIL import Image

import genrepair
from genrepair import noise
from genrepair.evaluation.common import data_root, psnr_u8, to_u8
from genrepair.evaluation.denoise import load_set, noisy_version
from genrepair.imageio import open_image


def as_jpeg(u8: np.ndarray, quality: int) -> Image.Image:
    buf = io.BytesIO()
    Image.fromarray(u8).save(buf, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue()))


def score(model, img: Image.Image, sigma: float, clean: np.ndarray) -> float:
    return psnr_u8(np.asarray(genrepair.denoise(model, img, sigma=sigma)).reshape(clean.shape), clean)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-root", help="../shared/data by default")
    p.add_argument("--limit", type=int, default=12, help="images per set")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--train", action="store_true", help="CBSD432 training photos 100 on, color cases only")
    p.add_argument("--unclip-from", type=float, help="JPEG quality the correction starts at (default: the package's)")
    args = p.parse_args()
    if args.unclip_from is not None:
        noise.JPEG_UNCLIP_FROM = args.unclip_from
    torch.set_num_threads(args.threads)
    root = data_root(args.data_root)
    gray = genrepair.load_model("denoise.gray", device="cpu")
    color = genrepair.load_model("denoise.color", device="cpu")
    bsd = load_set(root, "BSD68", 20 + args.limit)[20:]
    cbsd, color_set = load_set(root, "CBSD68", 20 + args.limit)[20:], "CBSD68"
    if args.train:
        files = sorted(Path(root, "denoise", "train", "color", "CBSD432").iterdir())[100 : 100 + args.limit]
        cbsd, color_set = [np.asarray(open_image(f).convert("RGB")) for f in files], "CBSD432 (train)"
    dark = lambda c: (c * 0.3).round().astype(np.uint8)  # noqa: E731
    noisy = lambda imgs, sigma: [(c, to_u8(noisy_version(c, sigma, 7 + i))) for i, c in enumerate(imgs)]  # noqa: E731
    cases = [
        ("BSD68 gray, sigma 25", gray, 25, noisy(bsd, 25)),
        ("BSD68 gray, sigma 50", gray, 50, noisy(bsd, 50)),
        (f"{color_set}, sigma 25", color, 25, noisy(cbsd, 25)),
        (f"{color_set}, sigma 50", color, 50, noisy(cbsd, 50)),
        (f"{color_set} at 30%, sigma 25", color, 25, noisy([dark(c) for c in cbsd], 25)),
        (f"{color_set} at 30%, sigma 50", color, 50, noisy([dark(c) for c in cbsd], 50)),
        (f"{color_set} clean", color, 0, [(c, c) for c in cbsd]),
    ]
    if args.train:
        cases = [case for case in cases if case[1] is color]
    for quality in (50, 75, 90):
        for name, sigma, imgs in (("", 25, cbsd), (" at 30%", 25, [dark(c) for c in cbsd]), (" at 30%", 0, None)):
            pairs = noisy(imgs, sigma) if imgs is not None else [(dark(c), dark(c)) for c in cbsd]
            label = f"{color_set}{name}, {f'sigma {sigma}' if sigma else 'clean'}, JPEG q{quality}"
            cases.append((label, color, sigma, [(c, as_jpeg(u8, quality)) for c, u8 in pairs]))
    print("| images | sigma read without / with | PSNR without | with | true sigma | with better / worse |")
    print("|---|---|---|---|---|---|")
    for name, model, sigma, pairs in cases:
        est, ps = {"without": [], "with": []}, {"without": [], "with": [], "true": []}
        for clean, u8 in pairs:
            if isinstance(u8, Image.Image):  # a JPEG file, as an upload opens
                img, jpeg = u8, noise.jpeg_source(u8)
                arr = np.asarray(img.convert("RGB"), np.float32) / 255.0
            else:
                img, jpeg = Image.fromarray(u8 if u8.shape[2] == 3 else u8[..., 0]), False
                arr = u8.astype(np.float32) / 255.0
            with mock.patch.object(noise, "_clipped", lambda *a, **k: False):  # the estimate before the correction
                est["without"].append(noise.estimate_noise_level(arr, jpeg=jpeg))
            est["with"].append(noise.estimate_noise_level(arr, jpeg=jpeg))
            for key in ("without", "with"):
                ps[key].append(score(model, img, est[key][-1], clean))
            ps["true"].append(score(model, img, sigma, clean) if sigma else float("nan"))
        gain = np.array(ps["with"]) - np.array(ps["without"])
        print(
            f"| {name} | {np.mean(est['without']):.2f} / {np.mean(est['with']):.2f} | {np.mean(ps['without']):.2f} "
            f"| {np.mean(ps['with']):.2f} | {np.mean(ps['true']):.2f} | {(gain > 5e-4).sum()} / {(gain < -5e-4).sum()} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
