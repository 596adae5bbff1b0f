"""Pictures for the model cards: sample grids, translation and repair examples (run after training).

    python scripts/make_card_images.py [--data-root ../shared/data]

Writes weights/<name>/examples.jpg and adds a link to it in the model card (once).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
from PIL import Image

import genrepair
from genrepair.hub import weights_dir
from genrepair.training.common import DEFAULT_DATA


def sheet(rows: list[list[Image.Image]], cell: int) -> Image.Image:
    cols = max(len(r) for r in rows)
    out = Image.new("RGB", (cols * cell, len(rows) * cell), "white")
    for y, row in enumerate(rows):
        for x, im in enumerate(row):
            im = im.convert("RGBA")
            bg = Image.new("RGBA", im.size, "white")
            out.paste(
                Image.alpha_composite(bg, im).convert("RGB").resize((cell, cell), Image.LANCZOS), (x * cell, y * cell)
            )
    return out


def save(name: str, img: Image.Image, caption: str) -> None:
    folder = weights_dir() / name
    if not folder.is_dir():
        return
    img.save(folder / "examples.jpg", quality=88)
    card = folder / "README.md"
    text = card.read_text()
    block = f"## Examples\n{caption}\n\n![examples](examples.jpg)"
    if "examples.jpg" not in text:
        card.write_text(text.rstrip() + f"\n\n{block}\n")
    else:  # the caption says what this grid shows
        card.write_text(
            re.sub(r"## Examples\n.*?\n\n!\[examples\]\(examples\.jpg\)", lambda _: block, text, flags=re.S)
        )
    print(f"wrote {folder / 'examples.jpg'}")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data-root", type=Path, default=DEFAULT_DATA)
    p.add_argument("--only", default="", help="comma-separated model names (default: every bundled model)")
    args = p.parse_args()
    root = args.data_root
    only = {n for n in args.only.split(",") if n}

    def wanted(name: str) -> bool:
        return (not only or name in only) and (weights_dir() / name / "model.safetensors").is_file()

    for name in ("gan.emoji", "vae.emoji", "dcgan.emoji", "gan.avatars", "dcgan.avatars", "vae.avatars"):
        if not wanted(name):
            continue
        m = genrepair.load_model(name, device="cpu")
        rows = [genrepair.generate(m, 8, seed=s) for s in (1, 2, 3, 4)]
        rows.append(genrepair.interpolate(m, 5, 6, steps=8))
        save(
            name,
            sheet(rows, 64),
            "Four rows of samples (seeds 1-4, 8 each), then an interpolation from seed 5 to seed 6.",
        )

    from genrepair.training.data import emoji_split

    test = [k for k, (split, _) in sorted(emoji_split(root).items()) if split == "test"]
    keys = [k for k in test if (root / "emoji" / "fluentflat" / f"{k}.png").exists()][::12][:8]  # test split only
    for name, src, dst in (
        ("cyclegan.flat2fluent3d", "fluentflat", "fluent3d"),
        ("cyclegan.fluent3d2flat", "fluent3d", "fluentflat"),
        ("cyclegan.sketch2flat", "fluenthc", "fluentflat"),
        ("cyclegan.flat2sketch", "fluentflat", "fluenthc"),
    ):
        if not wanted(name):
            continue
        m = genrepair.load_model(name, device="cpu")
        ins = [Image.open(root / "emoji" / src / f"{k}.png") for k in keys]
        truth = [Image.open(root / "emoji" / dst / f"{k}.png") for k in keys]
        save(name, sheet([ins, [genrepair.translate(m, i) for i in ins], truth], 128),
             f"Rows: {src} input, translation, true {dst} image (paired truth never seen in training).")  # fmt: skip

    rni = [Image.open(f) for f in sorted((root / "denoise" / "real" / "RNI15").glob("*"))]
    for name, gray in (("denoise.color", False), ("denoise.gray", True)):
        if not wanted(name):
            continue
        m = genrepair.load_model(name, device="cpu")
        ins = [im.convert("L") if gray else im.convert("RGB") for im in rni[:6]]
        crops = [im.crop((0, 0, min(im.size), min(im.size))) for im in ins]
        kind = "photos converted to gray" if gray else "color photos"
        auto = [genrepair.denoise(m, c) for c in crops]
        caption = f"Real noisy {kind} (RNI15, no ground truth), automatic noise level: input row, denoised row."
        grain = {
            i: out.info["genrepair_sigma_shared"] for i, out in enumerate(auto) if "genrepair_sigma_shared" in out.info
        }
        rows = [crops, auto]
        if grain:  # what automatic mode suggests for grain the channels share, shown too (the others as they were)
            rows.append(
                [genrepair.denoise(m, c, sigma=grain[i]) if i in grain else auto[i] for i, c in enumerate(crops)]
            )
            said = ", ".join(f"{Path(rni[i].filename).stem} {s:.0f}" for i, s in grain.items())
            caption = caption[:-1] + (
                f"; third row: at the level automatic mode suggests for grain the color channels share ({said}), "
                "the automatic result again for the others."
            )
        save(name, sheet(rows, 192), caption)

    if not wanted("inpaint.photo"):
        return
    m = genrepair.load_model("inpaint.photo", device="cpu")
    kodak = sorted((root / "denoise" / "test" / "color" / "Kodak24").glob("*.png"))[:6]
    masks = sorted((root / "masks" / "nvidia_irregular").glob("*.png"))
    rows = [[], [], []]
    import cv2

    for i, f in enumerate(kodak):
        img = Image.open(f).convert("RGB").crop((0, 0, 512, 512))
        mask = Image.open(masks[700 + 500 * (i % 4)]).convert("L")
        hole = np.asarray(mask) > 127
        shown = np.asarray(img).copy()
        shown[hole] = 255
        rows[0].append(Image.fromarray(shown))
        rows[1].append(genrepair.inpaint(m, img, mask))
        rows[2].append(Image.fromarray(cv2.inpaint(np.asarray(img), hole.astype(np.uint8) * 255, 3, cv2.INPAINT_TELEA)))
    save(
        "inpaint.photo",
        sheet(rows, 192),
        "Kodak crops (never trained on) with NVIDIA masks: masked input, ours, OpenCV Telea.",
    )


if __name__ == "__main__":
    main()
