"""Draw the app's example images from scratch (Pillow + NumPy only), so the repo ships no third-party pictures.

Run from the repository root: ``python scripts/make_examples.py``. Output is deterministic and small
(about 200 KB in all): a synthetic landscape for denoising and inpainting, a noisy crop of it, a hole mask
(as a plain mask and as an ImageEditor layer), and two emoji-like faces, one flat and one shaded, for
the CycleGAN directions.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

OUT = Path(__file__).resolve().parents[1] / "examples"
HOLE_RGBA = (255, 59, 48, 255)  # the app's mask brush colour


def landscape(size: int = 192, seed: int = 0) -> Image.Image:
    """Sky gradient, sun, two hill ranges with grass texture, a house: edges, flat areas and texture."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, size)[:, None, None]
    sky = (1 - y) * np.array([90, 150, 230]) + y * np.array([200, 225, 250])
    img = Image.fromarray(np.broadcast_to(sky, (size, size, 3)).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    draw.ellipse([size * 0.68, size * 0.08, size * 0.86, size * 0.26], fill=(255, 214, 90))
    x = np.arange(size)
    for base, amp, color in [(0.55, 0.08, (70, 130, 80)), (0.7, 0.05, (60, 160, 60))]:
        ridge = size * (base + amp * np.sin(x / size * 2 * np.pi * rng.uniform(0.8, 1.6) + rng.uniform(0, 6)))
        draw.polygon([(0, size), *zip(x.tolist(), ridge.tolist(), strict=True), (size - 1, size)], fill=color)
    px = np.asarray(img).astype(np.float32)
    grass = Image.fromarray((rng.random((size // 4, size // 4)) * 255).astype(np.uint8)).resize((size, size))
    texture = (np.asarray(grass.filter(ImageFilter.GaussianBlur(1))) / 255.0 - 0.5)[..., None] * 40
    green = ((px[..., 1] > px[..., 2] + 20) & (px[..., 1] > px[..., 0] + 20))[..., None]
    img = Image.fromarray(np.clip(np.where(green, px + texture, px), 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    s = size / 192
    draw.rectangle([40 * s, 110 * s, 90 * s, 150 * s], fill=(200, 80, 60), outline=(90, 40, 30), width=2)
    draw.polygon([(34 * s, 112 * s), (65 * s, 86 * s), (96 * s, 112 * s)], fill=(120, 60, 50))
    draw.rectangle([58 * s, 126 * s, 72 * s, 150 * s], fill=(90, 60, 40))
    draw.rectangle([44 * s, 118 * s, 54 * s, 128 * s], fill=(230, 240, 255), outline=(60, 60, 60))
    return img


def hole(size: int = 192) -> np.ndarray:
    """A thick stroke over the house's window and roof: bool HxW, True = hole."""
    m = Image.new("L", (size, size), 0)
    s = size / 192
    ImageDraw.Draw(m).line([(30 * s, 100 * s), (60 * s, 125 * s), (105 * s, 120 * s)], fill=255, width=int(14 * s))
    return np.asarray(m) > 127


def face(size: int = 128, shaded: bool = False) -> Image.Image:
    """An emoji-like smiley on a transparent background; ``shaded`` adds a radial highlight and shadow."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    r = np.hypot(xx - 0.5, yy - 0.5)
    inside = r < 0.44
    rgb = np.zeros((size, size, 3)) + np.array([255, 200, 40])
    if shaded:
        light = np.clip(1.15 - 1.6 * np.hypot(xx - 0.38, yy - 0.32), 0.55, 1.15)[..., None]
        rgb = np.clip(rgb * light + (light > 1.05) * 30, 0, 255)
    alpha = inside * 255.0
    img = Image.fromarray(np.dstack([rgb, alpha]).astype(np.uint8), "RGBA")
    draw = ImageDraw.Draw(img)
    k = size / 128
    for cx in (46, 82):
        draw.ellipse([(cx - 7) * k, 42 * k, (cx + 7) * k, 62 * k], fill=(60, 40, 30, 255))
    draw.arc([36 * k, 52 * k, 92 * k, 98 * k], 20, 160, fill=(60, 40, 30, 255), width=int(6 * k))
    return img


def add_noise(img: Image.Image, sigma: float, seed: int) -> Image.Image:
    px = np.asarray(img).astype(np.float32)
    noisy = px + np.random.default_rng(seed).normal(0, sigma, px.shape)
    return Image.fromarray(np.clip(noisy + 0.5, 0, 255).astype(np.uint8))


def main() -> None:
    OUT.mkdir(exist_ok=True)
    scene = landscape()
    scene.save(OUT / "landscape.png", optimize=True)
    add_noise(scene.crop((24, 64, 152, 192)), 25, seed=1).save(OUT / "landscape_noisy25.png", optimize=True)
    m = hole()
    Image.fromarray((m * 255).astype(np.uint8)).save(OUT / "landscape_mask.png", optimize=True)
    layer = np.zeros((*m.shape, 4), np.uint8)
    layer[m] = HOLE_RGBA
    Image.fromarray(layer, "RGBA").save(OUT / "landscape_mask_layer.png", optimize=True)
    Image.alpha_composite(scene.convert("RGBA"), Image.fromarray(layer, "RGBA")).convert("RGB").save(
        OUT / "landscape_masked.png", optimize=True
    )
    face(shaded=False).save(OUT / "smiley_flat.png", optimize=True)
    face(shaded=True).save(OUT / "smiley_shaded.png", optimize=True)
    total = sum(p.stat().st_size for p in OUT.glob("*.png"))
    print(f"wrote {len(list(OUT.glob('*.png')))} images to {OUT} ({total / 1024:.0f} KB)")


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    main()
