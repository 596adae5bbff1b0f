"""Calibrate the automatic noise level for JPEG files, on training images only (CBSD432).

    python scripts/calibrate_jpeg_sigma.py [--data-root ../shared/data] [--images 10]

Noisy training images (sigma 0-50, clipped to 8 bits) are saved as JPEG at quality 95/90/75 and decoded
like an upload. For each case the table shows the raw 4x4-binned estimate, the corrected estimate that
genrepair.noise uses (JPEG_SCALE, JPEG_FLOOR), and the PSNR of denoise.color when fed the raw estimate
times each factor, beside the corrected estimate and the true sigma. The factor column with the best
PSNR is what the correction should reproduce.
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
from genrepair.noise import binned_noise_level, estimate_noise_level
from genrepair.training.common import DEFAULT_DATA

FACTORS = (1.0, 1.15, 1.33, 1.5)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-root", default=DEFAULT_DATA)
    p.add_argument("--images", type=int, default=10)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    model = load_model("denoise.color", device="cpu")
    folder = Path(args.data_root) / "denoise" / "train" / "color" / "CBSD432"
    files = sorted(folder.glob("*"))
    if not files:
        raise SystemExit(f"no training images under {folder}")
    files = files[:: max(1, len(files) // args.images)][: args.images]
    rng = np.random.default_rng(0)

    rows = []
    for q in (95, 90, 75):
        for sigma in (0, 5, 15, 25, 50):
            raw, used, ps = [], [], {k: [] for k in [*(f"x{f}" for f in FACTORS), "corrected", "true"]}
            for f in files:
                clean = np.asarray(Image.open(f).convert("RGB"))
                noisy = to_u8(clean / 255.0 + rng.normal(0, sigma / 255.0, clean.shape))
                buf = io.BytesIO()
                Image.fromarray(noisy).save(buf, format="JPEG", quality=q)
                upload = Image.open(buf)
                arr = np.asarray(upload.convert("RGB"), np.float32) / 255.0
                r = max(estimate_noise_level(arr), binned_noise_level(arr))
                u = estimate_noise_level(arr, jpeg=True)
                raw.append(r)
                used.append(u)
                for key, sg in [*((f"x{fac}", r * fac) for fac in FACTORS), ("corrected", u), ("true", sigma)]:
                    ps[key].append(psnr_u8(np.asarray(denoise(model, upload, sigma=min(sg, 75.0))), clean))
            rows.append(
                [q, sigma, float(np.mean(raw)), float(np.mean(used)), *(float(np.mean(v)) for v in ps.values())]
            )
            print(" ".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in rows[-1]), flush=True)
    headers = ["quality", "sigma", "raw est", "corrected est", *(f"PSNR raw x{f}" for f in FACTORS), "PSNR corrected",
               "PSNR true sigma"]  # fmt: skip
    print_table(headers, rows, f"JPEG noise level calibration ({len(files)} CBSD432 training images)")


if __name__ == "__main__":
    main()
