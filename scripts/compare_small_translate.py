"""Small pictures through the emoji translators: at their own size vs enlarged to the model's training size.

    python scripts/compare_small_translate.py --limit 24

The first ``--limit`` test-split emoji of each direction, reduced (Lanczos) to each ``--sizes`` side, are
translated at their own size (the model's ``image_size`` set to 0, as before small pictures were enlarged) and
the way ``genrepair.translate`` does it now (enlarged to ``image_size`` on the longer side, the result reduced
back). Prints PSNR (dB) against the true counterpart reduced to the same size, and the identity baseline.
"""

from __future__ import annotations

import argparse
import copy

import numpy as np
import torch
from PIL import Image

import genrepair
from genrepair.evaluation.common import data_root
from genrepair.evaluation.translate import PAIRS
from genrepair.training.data import load_emoji


def pil(t: torch.Tensor) -> Image.Image:
    return Image.fromarray((t.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))


def psnr(a: Image.Image, b: Image.Image) -> float:
    err = np.mean((np.asarray(a.convert("RGB"), float) - np.asarray(b.convert("RGB"), float)) ** 2)
    return float(10 * np.log10(255**2 / max(err, 1e-10)))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-root", default=None, help="../shared/data by default (or GENREPAIR_DATA)")
    p.add_argument("--limit", type=int, default=24, help="emoji per direction")
    p.add_argument("--sizes", default="4,16,32,64,96", help="sides in pixels, comma-separated")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    root = data_root(args.data_root)
    sizes = [int(s) for s in args.sizes.split(",")]
    print("| model | side | identity | own size | enlarged | gain |")
    print("|---|---|---|---|---|---|")
    for fwd, bwd, dom_a, dom_b in PAIRS:
        for name, src_dom, dst_dom in ((fwd, dom_a, dom_b), (bwd, dom_b, dom_a)):
            model = genrepair.load_model(name, device="cpu")
            own = copy.copy(model)  # shares the weights; only the attribute differs
            own.image_size = 0
            src, _, keys = load_emoji(root, src_dom, "test")
            dst = load_emoji(root, dst_dom, "test", set(keys))[0]
            for side in sizes:
                rows = {"identity": [], "own": [], "enlarged": []}
                for a, b in zip(src[: args.limit], dst[: args.limit]):
                    small, truth = (pil(t).resize((side, side), Image.LANCZOS) for t in (a, b))
                    rows["identity"].append(psnr(small, truth))
                    rows["own"].append(psnr(genrepair.translate(own, small), truth))
                    rows["enlarged"].append(psnr(genrepair.translate(model, small), truth))
                m = {k: float(np.mean(v)) for k, v in rows.items()}
                print(
                    f"| {name} | {side} | {m['identity']:.2f} | {m['own']:.2f} | {m['enlarged']:.2f} "
                    f"| {m['enlarged'] - m['own']:+.2f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
