"""Holes far apart on a big photo: one window each (the pipeline) vs one downscaled window around all of them.

    python scripts/compare_hole_parts.py --scale 4 --limit 8
    python scripts/compare_hole_parts.py --scale 2 --limit 12
    python scripts/compare_hole_parts.py --holes dust --scale 4 --limit 8
    python scripts/compare_hole_parts.py --holes scratches --scale 2 --limit 8

Kodak24 photos (never trained on) enlarged ``--scale`` times (Lanczos) stand in for big photos, with holes at
random places (fixed seed): ``corners``, two 60x48 holes near opposite corners; ``dust``, 60 specks of 6x6 to
12x12; ``scratches``, three 2-pixel lines of 300-900 pixels. Prints, per photo and on average, the PSNR inside the
holes, the detail of the fill (mean |Laplacian| in the holes relative to the truth's) and CPU seconds, for both
strategies, and OpenCV Telea's PSNR for scale.
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np
import torch
from PIL import Image

import genrepair
from genrepair import pipelines
from genrepair.evaluation.common import data_root


def psnr_in(a: np.ndarray, b: np.ndarray, m: np.ndarray) -> float:
    d = (a.astype(np.float64) - b.astype(np.float64))[m]
    return float(10 * np.log10(255**2 / np.mean(d**2)))


def detail(a: np.ndarray, m: np.ndarray) -> float:
    gray = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(np.abs(cv2.Laplacian(gray, cv2.CV_32F))[m].mean())


def holes(kind: str, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    if kind == "corners":
        for cx, cy in ((rng.integers(80, 400), rng.integers(80, 300)),
                       (rng.integers(w - 400, w - 80), rng.integers(h - 300, h - 80))):  # fmt: skip
            m[cy - 30 : cy + 30, cx - 24 : cx + 24] = 1
    elif kind == "dust":
        for _ in range(60):
            s = int(rng.integers(6, 13))
            y, x = int(rng.integers(0, h - s)), int(rng.integers(0, w - s))
            m[y : y + s, x : x + s] = 1
    else:
        for _ in range(3):
            length, angle = rng.uniform(300, 900), rng.uniform(0, np.pi)
            cx, cy = rng.uniform(0.2 * w, 0.8 * w), rng.uniform(0.2 * h, 0.8 * h)
            dx, dy = np.cos(angle) * length / 2, np.sin(angle) * length / 2
            cv2.line(m, (int(cx - dx), int(cy - dy)), (int(cx + dx), int(cy + dy)), 1, 2)
    return m.astype(bool)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-root", default=None, help="../shared/data by default (or GENREPAIR_DATA)")
    p.add_argument("--model", default="inpaint.photo")
    p.add_argument("--holes", choices=["corners", "dust", "scratches"], default="corners")
    p.add_argument("--scale", type=int, default=4)
    p.add_argument("--limit", type=int, default=8)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    model = genrepair.load_model(args.model)
    files = sorted((data_root(args.data_root) / "denoise" / "test" / "color" / "Kodak24").glob("*.png"))[: args.limit]
    rng = np.random.default_rng(0)

    def one_window(hole, work, most=None):  # the strategy before parts
        y0, y1, x0, x1 = pipelines._bounds(hole)
        return [((y0, y1, x0, x1), hole[y0:y1, x0:x1])]

    rows = []
    print(
        f"{'photo':12} {'parts dB':>9} {'one dB':>7} {'parts det':>9} {'one det':>8} {'parts s':>8} {'one s':>6} {'Telea dB':>8}"
    )
    for f in files:
        img = Image.open(f).convert("RGB")
        img = img.resize((img.width * args.scale, img.height * args.scale), Image.LANCZOS)
        w, h = img.size
        m = holes(args.holes, h, w, rng)
        mask = Image.fromarray(m.astype(np.uint8) * 255)
        ref = np.asarray(img)
        outs, secs = [], []
        for parts in (pipelines._hole_parts, one_window):
            saved, pipelines._hole_parts = pipelines._hole_parts, parts
            try:
                t0 = time.process_time()
                outs.append(np.asarray(genrepair.inpaint(model, img, mask)))
                secs.append(time.process_time() - t0)
            finally:
                pipelines._hole_parts = saved
        truth = detail(ref, m)
        telea = cv2.inpaint(ref, m.astype(np.uint8) * 255, 5, cv2.INPAINT_TELEA)
        row = (
            [psnr_in(o, ref, m) for o in outs] + [detail(o, m) / truth for o in outs] + secs + [psnr_in(telea, ref, m)]
        )
        rows.append(row)
        print(
            f"{f.name:12} {row[0]:9.2f} {row[1]:7.2f} {row[2]:9.2f} {row[3]:8.2f} {row[4]:8.2f} {row[5]:6.2f} {row[6]:8.2f}"
        )
    r = np.array(rows)
    mean = r.mean(0)
    print(
        f"{'mean':12} {mean[0]:9.2f} {mean[1]:7.2f} {mean[2]:9.2f} {mean[3]:8.2f} {mean[4]:8.2f} {mean[5]:6.2f} {mean[6]:8.2f}"
    )
    print(
        f"parts better in the holes on {(r[:, 0] > r[:, 1]).sum()} of {len(r)}; CPU time ratio {mean[4] / mean[5]:.2f}"
    )


if __name__ == "__main__":
    main()
