"""Automatic denoising with the noise estimate of an earlier commit against the current one, on the same files.

    python scripts/compare_auto_sigma.py --before 3abe770 --limit 12

``--before`` names a git revision whose ``genrepair/noise.py`` (with its JPEG table) is loaded beside the current
one. Test images never trained on (the first ``--limit`` of BSD68 and Set12 in gray, CBSD68 in colour, and 11 of the
photos/train photos as clean colour PNGs), noise added and then clipped and rounded to 8 bits (what a noisy photo's
file holds), some saved as gray JPEGs; "luma only" adds one noise image to all three channels (noise the channels
share), whose right level for a color model is sqrt(3) sigma (the default estimate, luma=False, misses it).
Each file goes through ``genrepair.denoise`` in automatic mode with either estimate, and at the true level; prints
the median levels read, the mean PSNRs, and on how many images the current estimate did better.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import subprocess
import sys
import tempfile
from pathlib import Path
from unittest import mock

import numpy as np
import torch
from PIL import Image

import genrepair
from genrepair import noise
from genrepair.evaluation.common import data_root, psnr_u8

REPO = Path(__file__).resolve().parents[1]


def noise_module_at(revision: str):
    """``genrepair/noise.py`` as it was at ``revision``, importable beside the current one."""
    folder = Path(tempfile.mkdtemp(prefix="noise-"))
    for name in ("noise.py", "jpeg_sigma_table.json"):
        blob = subprocess.run(
            ["git", "show", f"{revision}:genrepair/{name}"], cwd=REPO, capture_output=True, check=True
        ).stdout
        (folder / name).write_bytes(blob)
    spec = importlib.util.spec_from_file_location("noise_before", folder / "noise.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["noise_before"] = module  # dataclasses and the like look their module up
    spec.loader.exec_module(module)
    return module


def crops(files: list[Path], mode: str, side: int | None) -> list[np.ndarray]:
    out = []
    for f in files:
        im = np.asarray(Image.open(f).convert(mode))
        out.append(im if side is None else im[:side, :side])
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--before", required=True, help="git revision of the estimate to compare with")
    p.add_argument("--limit", type=int, default=12, help="images per row")
    p.add_argument("--data-root", default=None)
    args = p.parse_args()
    torch.set_num_threads(1)
    root = data_root(args.data_root)
    before = noise_module_at(args.before)
    color, gray = genrepair.load_model("denoise.color"), genrepair.load_model("denoise.gray")
    test = root / "denoise" / "test"
    cbsd = crops(sorted((test / "color" / "CBSD68").glob("*"))[: args.limit], "RGB", None)
    bsd = crops(sorted((test / "gray" / "BSD68").glob("*"))[: args.limit], "L", None)
    set12 = crops(sorted((test / "gray" / "Set12").glob("*"))[: args.limit], "L", None)
    photos = crops(sorted((root / "photos" / "train").glob("*.jpg"))[::6], "RGB", 384)
    rows = [(f"BSD68 gray, sigma {s}", bsd, s, "independent", None, gray) for s in (0, 5, 15, 25, 50)]
    rows += [(f"Set12 gray, sigma {s}", set12, s, "independent", None, gray) for s in (0, 25)]
    rows += [(f"BSD68 gray JPEG q{q}, sigma {s}", bsd, s, "independent", q, gray)
             for q, s in ((90, 0), (90, 15), (75, 0), (75, 15), (70, 0), (70, 15), (50, 15))]  # fmt: skip
    rows += [(f"CBSD68, sigma {s} luma only", cbsd, s, "shared", None, color) for s in (15, 25)]
    rows += [(f"CBSD68, sigma {s}", cbsd, s, "independent", None, color) for s in (15, 25)]
    rows += [("photos/train clean colour PNG", photos, 0, "independent", None, color)]
    rng = np.random.default_rng(0)
    print("| images | level read (median) | auto, before | auto, now | true level | now better on |")
    print("|---|---|---|---|---|---|")
    for label, images, sigma, kind, quality, model in rows:
        read, psnr, better = {"before": [], "now": []}, {"before": [], "now": [], "true": []}, 0
        for clean in images:
            shape = clean.shape if kind == "independent" else clean.shape[:2] + (1,) * (clean.ndim - 2)
            noisy = np.clip(np.round(clean + rng.normal(0, sigma, shape)), 0, 255).astype(np.uint8)
            buf = io.BytesIO()
            Image.fromarray(noisy).save(
                buf, format="JPEG" if quality else "PNG", **({"quality": quality} if quality else {})
            )
            data = buf.getvalue()
            got = {}
            for which, module in (("before", before), ("now", noise)):
                with mock.patch("genrepair.pipelines.estimate_noise_level", module.estimate_noise_level):
                    out = genrepair.denoise(model, data, sigma="auto")
                read[which].append(out.info["genrepair_sigma"])
                got[which] = psnr_u8(np.asarray(out), clean)
                psnr[which].append(got[which])
            better += got["now"] > got["before"] + 1e-9
            true = sigma * np.sqrt(3) if kind == "shared" else sigma
            psnr["true"].append(
                psnr_u8(np.asarray(genrepair.denoise(model, data, sigma=true)), clean) if sigma else np.nan
            )
        true_col = f"{np.mean(psnr['true']):.2f}" if sigma else "-"
        print(f"| {label} | {np.median(read['before']):.1f} -> {np.median(read['now']):.1f} | "
              f"{np.mean(psnr['before']):.2f} | {np.mean(psnr['now']):.2f} | {true_col} | {better} of {len(images)} |",
              flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
