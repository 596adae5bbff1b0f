"""Calibrate the automatic noise level for JPEG files, on training images only (CBSD432).

    python scripts/calibrate_jpeg_sigma.py --curves      # measure genrepair.noise.JPEG_CURVES
    python scripts/calibrate_jpeg_sigma.py               # check the estimate through the denoiser

Noisy training images (clipped to 8 bits) are saved as JPEG by Pillow and decoded like an upload.
``--curves`` prints the mean 4x4-binned estimate per quality and sigma, in the form genrepair/noise.py
keeps it (12 images, every 36th file). The default run takes other training images (every 43rd file,
offset 5) and prints, per quality and sigma, the estimate the pipeline uses and the PSNR of
denoise.color fed that estimate, beside the quality-blind correction alone (sqrt(e^2 - 3^2) / 0.75,
what the pipeline used before the curves) and the true sigma.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from genrepair import denoise, load_model
from genrepair.evaluation.common import print_table, psnr_u8, to_u8
from genrepair.noise import JPEG_SIGMAS, binned_noise_level, estimate_noise_level, gentle_jpeg_sigma, jpeg_source
from genrepair.training.common import DEFAULT_DATA

CURVE_QUALITIES = (50, 60, 70, 75, 80, 85, 90, 95)


def jpeg_upload(clean: np.ndarray, sigma: float, quality: int, rng: np.random.Generator) -> Image.Image:
    noisy = to_u8(clean / 255.0 + rng.normal(0, sigma / 255.0, clean.shape))
    buf = io.BytesIO()
    Image.fromarray(noisy).save(buf, format="JPEG", quality=quality)
    return Image.open(buf)


def curves(files: list[Path]) -> None:
    rng = np.random.default_rng(0)
    print("JPEG_CURVES = {")
    for q in CURVE_QUALITIES:
        means = []
        for sigma in JPEG_SIGMAS:
            est = []
            for f in files:
                upload = jpeg_upload(np.asarray(Image.open(f).convert("RGB")), sigma, q, rng)
                est.append(binned_noise_level(np.asarray(upload.convert("RGB"), np.float32) / 255.0))
            means.append(float(np.mean(est)))
        print(f"    {q}: ({', '.join(f'{m:.1f}' for m in means)}),", flush=True)
    print("}")


def check(files: list[Path], threads: int) -> None:
    torch.set_num_threads(threads)
    model = load_model("denoise.color", device="cpu")
    rng = np.random.default_rng(0)
    rows = []
    for q in (50, 60, 75, 90, 95):
        for sigma in (0, 5, 15, 25, 50):
            binned, used, p_used, p_blind, p_true = [], [], [], [], []
            for f in files:
                clean = np.asarray(Image.open(f).convert("RGB"))
                upload = jpeg_upload(clean, sigma, q, rng)
                arr = np.asarray(upload.convert("RGB"), np.float32) / 255.0
                binned.append(binned_noise_level(arr))
                used.append(min(estimate_noise_level(arr, jpeg=jpeg_source(upload)), 75.0))
                blind = max(estimate_noise_level(arr), gentle_jpeg_sigma(binned[-1]))
                p_used.append(psnr_u8(np.asarray(denoise(model, upload, sigma=used[-1])), clean))
                p_blind.append(psnr_u8(np.asarray(denoise(model, upload, sigma=min(blind, 75.0))), clean))
                p_true.append(psnr_u8(np.asarray(denoise(model, upload, sigma=sigma)), clean))
            rows.append([q, sigma, *(float(np.mean(v)) for v in (binned, used, p_used, p_blind, p_true))])
            print(" ".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in rows[-1]), flush=True)
    headers = ["quality", "sigma", "binned est", "sigma used", "PSNR at sigma used", "PSNR quality-blind",
               "PSNR at true sigma"]  # fmt: skip
    print_table(headers, rows, f"JPEG noise level check ({len(files)} CBSD432 training images)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-root", default=DEFAULT_DATA)
    p.add_argument("--curves", action="store_true", help="measure the calibration curves")
    p.add_argument("--images", type=int, default=10, help="images for the check (the curves use 12)")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    folder = Path(args.data_root) / "denoise" / "train" / "color" / "CBSD432"
    files = sorted(folder.glob("*"))
    if not files:
        raise SystemExit(f"no training images under {folder}")
    if args.curves:
        curves(files[:: max(1, len(files) // 12)][:12])
    else:
        check(files[5 :: max(1, len(files) // args.images)][: args.images], args.threads)


if __name__ == "__main__":
    main()
