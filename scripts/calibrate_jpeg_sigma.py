"""Calibrate the automatic noise level for JPEG files, on training images only (CBSD432).

    python scripts/calibrate_jpeg_sigma.py --curves                  # measure genrepair.noise.JPEG_CURVES
    python scripts/calibrate_jpeg_sigma.py --landscape runs/jpeg/land_a.npz --qualities 50,60,75,85 --seed 1
    python scripts/calibrate_jpeg_sigma.py --landscape runs/jpeg/land_b.npz --qualities 90,95 --seed 91
    python scripts/calibrate_jpeg_sigma.py --table runs/jpeg/land_a.npz runs/jpeg/land_b.npz   # -> genrepair/jpeg_sigma_table.json
    python scripts/calibrate_jpeg_sigma.py                           # check the estimate through the denoiser
    python scripts/calibrate_jpeg_sigma.py --held-out                # the same on Kodak24 test images (no fitting)

Noisy training images (clipped to 8 bits) are saved as JPEG by Pillow and decoded like an upload.
``--curves`` prints the mean 4x4-binned estimate per quality and sigma, in the form genrepair/noise.py
keeps it (12 images, every 36th file). ``--landscape`` takes 14 other files (every 29th, offset 3),
and for each quality and sigma records the file's two JPEG measurements (binned estimate, block level)
and the PSNR of denoise.color run at each sigma of a grid (about 40 CPU-minutes for four qualities).
``--table`` turns landscapes into the lookup table the pipeline reads, and prints a leave-one-file-out
check: each file's sigma is chosen as the table's cells are but from the other files only (at the file's
own point, not read off the grid), and its PSNR is printed beside the previous rule and the true sigma.
The default run takes files disjoint from both sets and prints, per quality and sigma, the sigma the
pipeline uses and the PSNR of denoise.color fed it, beside the true sigma and the previous rule.
``--held-out`` prints that comparison on every other Kodak24 image: test images, only evaluated, never
used to make the curves or the table.
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from genrepair import denoise, load_model
from genrepair.evaluation.common import print_table, psnr_u8, to_u8
from genrepair.noise import (
    JPEG_SIGMAS,
    JPEG_TABLE,
    binned_noise_level,
    block_ac_level,
    estimate_noise_level,
    jpeg_file_sigma,
    jpeg_sigma,
    jpeg_source,
)
from genrepair.training.common import DEFAULT_DATA

CURVE_QUALITIES = (50, 60, 70, 75, 80, 85, 90, 95)
LANDSCAPE_SIGMAS = (0, 5, 10, 15, 20, 25, 35)
GRID = np.array([0, 2, 4, 6, 8, 10, 12, 15, 18, 21, 25, 30, 35], float)  # sigmas each landscape file is denoised at
NEIGHBOURS = 8
# table axes: log of the binned estimate, log1p of the block level
TABLE_U = np.linspace(0.0, np.log(64.0), 25)
TABLE_V = np.linspace(0.0, np.log1p(40.0), 17)


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


def landscape(files: list[Path], qualities: list[int], seed: int, out: Path, threads: int) -> None:
    """Rows: file index, quality, sigma, plain estimate, binned estimate, block level, PSNR at each GRID sigma."""
    torch.set_num_threads(threads)
    model = load_model("denoise.color", device="cpu")
    rng = np.random.default_rng(seed)
    rows = []
    for i, f in enumerate(files):
        clean = np.asarray(Image.open(f).convert("RGB"))
        for q in qualities:
            for sigma in LANDSCAPE_SIGMAS:
                arr = np.asarray(jpeg_upload(clean, sigma, q, rng).convert("RGB"), np.float32) / 255.0
                x = torch.from_numpy(arr).permute(2, 0, 1)[None].repeat(len(GRID), 1, 1, 1)
                with torch.inference_mode():
                    y = model(x, torch.tensor(GRID / 255.0, dtype=torch.float32)).clamp(0, 1)
                psnrs = [psnr_u8(to_u8(y[k].permute(1, 2, 0).numpy()), clean) for k in range(len(GRID))]
                feats = [estimate_noise_level(arr), binned_noise_level(arr), block_ac_level(arr)]
                rows.append([i, q, sigma, *feats, *psnrs])
        print(f"{i + 1}/{len(files)} {f.name}", flush=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        np.savez(out, rows=np.array(rows), grid=GRID, files=[p.name for p in files[: i + 1]])


def _best_sigma(curves: np.ndarray, cand: np.ndarray) -> float:
    return float(cand[curves.mean(0).argmax()])


def _neighbours(rows: np.ndarray, u: float, v: float, q: float, exclude: float | None = None) -> np.ndarray:
    """Indices of the NEIGHBOURS rows nearest in (log binned, log1p block), qualities within 15 of q
    (a small penalty per quality step keeps the file's own quality first)."""
    ok = np.abs(rows[:, 1] - q) <= 15
    if exclude is not None:
        ok &= rows[:, 0] != exclude
    idx = np.where(ok)[0]
    d = np.hypot(np.log(rows[idx, 4]) - u, np.log1p(rows[idx, 5]) - v) + 0.002 * np.abs(rows[idx, 1] - q)
    return idx[np.argsort(d)[:NEIGHBOURS]]


def table(paths: list[Path], out: Path) -> None:
    rows, names = [], []
    for p in paths:
        d = np.load(p)
        if not np.allclose(d["grid"], GRID):
            raise SystemExit(f"{p}: landscape measured on another sigma grid")
        r = d["rows"].copy()
        files = [str(f) for f in d["files"]]
        names += [f for f in files if f not in names]
        r[:, 0] = [names.index(files[int(i)]) for i in r[:, 0]]  # one id per image across landscapes
        rows.append(r)
    rows = np.concatenate(rows)
    cand = np.arange(0.0, GRID[-1] + 0.25, 0.5)
    curves = np.array([np.interp(cand, GRID, r[6:]) for r in rows])
    qualities = sorted({int(q) for q in rows[:, 1]})
    sigma = [
        [[_best_sigma(curves[_neighbours(rows, u, v, q)], cand) for v in TABLE_V] for u in TABLE_U] for q in qualities
    ]
    meta = {
        "about": "genrepair.noise.jpeg_table_sigma: best-PSNR sigma of denoise.color for JPEG files; "
        "sigma[quality][u][v], u = log(binned estimate), v = log1p(block level)",
        "made_by": "scripts/calibrate_jpeg_sigma.py --table " + " ".join(str(p) for p in paths),
        "images": f"{len(names)} CBSD432 training images",
        "neighbours": NEIGHBOURS,
        "qualities": qualities,
        "u": [round(float(x), 6) for x in TABLE_U],
        "v": [round(float(x), 6) for x in TABLE_V],
        "sigma": sigma,
    }
    out.write_text(json.dumps(meta, separators=(",", ":")) + "\n")
    print(f"wrote {out}")
    # leave-one-file-out: each file's sigma is chosen as the table's cells are (nearest measurements), from the
    # other files only, at the file's own point (the table reads the grid around it), then the pipeline's rule
    res, above = [], 0
    for q in qualities:
        for s in LANDSCAPE_SIGMAS:
            picks = {"rule (file left out)": [], "previous rule": [], "true sigma": [], "best": []}
            for i in np.where((rows[:, 1] == q) & (rows[:, 2] == s))[0]:
                r = rows[i]
                left_out = _best_sigma(curves[_neighbours(rows, np.log(r[4]), np.log1p(r[5]), q, exclude=r[0])], cand)
                rule = max(r[3], jpeg_file_sigma(left_out, r[4], q))  # what the pipeline does with that table
                above += rule > GRID[-1]  # scored as GRID[-1]: the landscape has no PSNR beyond it
                for name, used in (("rule (file left out)", rule),
                                   ("previous rule", max(r[3], jpeg_sigma(r[4], q))), ("true sigma", s)):  # fmt: skip
                    picks[name].append(float(np.interp(min(used, GRID[-1]), GRID, r[6:])))
                picks["best"].append(float(r[6:].max()))
            res.append([q, s, *(float(np.mean(v)) for v in picks.values())])
    headers = ["quality", "sigma", "PSNR pipeline rule (file left out)", "PSNR previous rule", "PSNR true sigma",
               "PSNR best"]  # fmt: skip
    title = "Leave-one-file-out check: each file's sigma chosen from the other files (denoise.color, PSNR dB)"
    print_table(headers, res, title)
    print(f"{above} of {len(rows)} pipeline-rule sigmas were above {GRID[-1]:g} and are scored at {GRID[-1]:g}")


def check(files: list[Path], threads: int) -> None:
    torch.set_num_threads(threads)
    model = load_model("denoise.color", device="cpu")
    rng = np.random.default_rng(0)
    rows = []
    for q in (50, 60, 75, 90, 95):
        for sigma in (0, 5, 15, 25, 50):
            used, p_used, p_prev, p_true = [], [], [], []
            for f in files:
                clean = np.asarray(Image.open(f).convert("RGB"))
                upload = jpeg_upload(clean, sigma, q, rng)
                arr = np.asarray(upload.convert("RGB"), np.float32) / 255.0
                used.append(min(estimate_noise_level(arr, jpeg=jpeg_source(upload)), 75.0))
                prev = max(estimate_noise_level(arr), jpeg_sigma(binned_noise_level(arr), q))
                p_used.append(psnr_u8(np.asarray(denoise(model, upload, sigma=used[-1])), clean))
                p_prev.append(psnr_u8(np.asarray(denoise(model, upload, sigma=min(prev, 75.0))), clean))
                p_true.append(psnr_u8(np.asarray(denoise(model, upload, sigma=sigma)), clean))
            rows.append([q, sigma, *(float(np.mean(v)) for v in (used, p_used, p_prev, p_true))])
            print(" ".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in rows[-1]), flush=True)
    headers = ["quality", "sigma", "sigma used", "PSNR at sigma used", "PSNR previous rule", "PSNR at true sigma"]
    print_table(headers, rows, f"JPEG noise level check ({len(files)} CBSD432 training images)")


def held_out(files: list[Path], threads: int) -> None:
    torch.set_num_threads(threads)
    model = load_model("denoise.color", device="cpu")
    rows = []
    for q in (50, 75, 90):
        for sigma in (0, 15, 25):
            cols = {"used previous": [], "used now": [], "PSNR previous": [], "PSNR now": [], "PSNR true": []}
            for i, f in enumerate(files):
                clean = np.asarray(Image.open(f).convert("RGB"))
                upload = jpeg_upload(clean, sigma, q, np.random.default_rng(1000 + i))
                arr = np.asarray(upload.convert("RGB"), np.float32) / 255.0
                now = min(estimate_noise_level(arr, jpeg=jpeg_source(upload)), 75.0)
                prev = min(max(estimate_noise_level(arr), jpeg_sigma(binned_noise_level(arr), q)), 75.0)
                sig = torch.tensor([prev, now, sigma], dtype=torch.float32) / 255.0
                with torch.inference_mode():
                    y = model(torch.from_numpy(arr).permute(2, 0, 1)[None].repeat(3, 1, 1, 1), sig).clamp(0, 1)
                psnrs = [psnr_u8(to_u8(y[k].permute(1, 2, 0).numpy()), clean) for k in range(3)]
                for key, v in zip(cols, [prev, now, *psnrs]):
                    cols[key].append(v)
            rows.append([q, sigma, *(float(np.mean(v)) for v in cols.values())])
            print(" ".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in rows[-1]), flush=True)
    headers = ["quality", "sigma", "sigma used, previous rule", "sigma used, now", "PSNR previous rule", "PSNR now",
               "PSNR at true sigma"]  # fmt: skip
    print_table(headers, rows, f"JPEG auto sigma on {len(files)} Kodak24 images (held out: evaluated only)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-root", default=DEFAULT_DATA)
    p.add_argument("--curves", action="store_true", help="measure the calibration curves")
    p.add_argument("--landscape", type=Path, metavar="OUT.npz", help="measure PSNR over a sigma grid per file")
    p.add_argument("--qualities", default="50,60,75,85,90,95", help="JPEG qualities for --landscape")
    p.add_argument("--seed", type=int, default=1, help="noise seed for --landscape")
    p.add_argument("--table", type=Path, nargs="+", metavar="LANDSCAPE.npz", help="write the lookup table")
    p.add_argument("--output", type=Path, default=JPEG_TABLE, help="where --table writes")
    p.add_argument("--held-out", action="store_true", help="compare the rules on Kodak24 test images")
    p.add_argument("--images", type=int, default=10, help="images for the check")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    folder = Path(args.data_root) / "denoise" / "train" / "color" / "CBSD432"
    files = sorted(folder.glob("*"))
    if not files:
        raise SystemExit(f"no training images under {folder}")
    landscape_files = files[3::29][:14]
    if args.curves:
        curves(files[:: max(1, len(files) // 12)][:12])
    elif args.landscape:
        qualities = [int(q) for q in args.qualities.split(",")]
        landscape(landscape_files, qualities, args.seed, args.landscape, args.threads)
    elif args.table:
        table(args.table, args.output)
    elif args.held_out:
        kodak = sorted((Path(args.data_root) / "denoise" / "test" / "color" / "Kodak24").glob("*"))
        if not kodak:
            raise SystemExit(f"no Kodak24 images under {args.data_root}/denoise/test/color")
        held_out(kodak[::2], args.threads)
    else:
        others = [f for f in files[5:] if f not in landscape_files]
        check(others[:: max(1, len(others) // args.images)][: args.images], args.threads)


if __name__ == "__main__":
    main()
