"""Non-learned baseline generators: smooth random noise, a 1-D cellular automaton, an L-system plant.

Deterministic for a given seed (NumPy ``default_rng``), so the Generate tab can show them beside
the learned models.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

KINDS = ("noise", "automaton", "lsystem")


def noise_image(rng: np.random.Generator, size: int = 64) -> Image.Image:
    """Multi-octave value noise with a random palette."""
    img = np.zeros((size, size, 3))
    for octave in range(4):
        cells = 2 ** (octave + 2)
        grid = rng.random((cells + 1, cells + 1, 3))
        big = np.asarray(Image.fromarray((grid * 255).astype(np.uint8)).resize((size, size), Image.BICUBIC)) / 255.0
        img += big / 2**octave
    img = (img - img.min()) / max(np.ptp(img), 1e-6)
    return Image.fromarray((img * 255).astype(np.uint8))


def automaton_image(rng: np.random.Generator, size: int = 64) -> Image.Image:
    """An elementary cellular automaton (Wolfram rule) grown from a random first row."""
    rule = int(rng.choice([30, 45, 73, 90, 105, 110, 150, 182]))
    bits = np.array([(rule >> i) & 1 for i in range(8)], np.uint8)
    row = (rng.random(size) < 0.5).astype(np.uint8)
    rows = [row]
    for _ in range(size - 1):
        idx = (np.roll(row, 1) << 2) | (row << 1) | np.roll(row, -1)
        row = bits[idx]
        rows.append(row)
    fg, bg = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    grid = np.array(rows)[..., None]
    return Image.fromarray(np.where(grid == 1, fg, bg).astype(np.uint8))


def lsystem_image(rng: np.random.Generator, size: int = 64) -> Image.Image:
    """A bracketed L-system plant (F -> FF-[-F+F+F]+[+F-F-F] family) drawn with a turtle."""
    rules = [{"F": "FF-[-F+F+F]+[+F-F-F]"}, {"X": "F+[[X]-X]-F[-FX]+X", "F": "FF"}, {"F": "F[+F]F[-F]F"}]
    choice = int(rng.integers(len(rules)))
    axiom = "X" if "X" in rules[choice] else "F"
    depth = int(rng.integers(3, 5)) if choice != 2 else int(rng.integers(2, 4))
    s = axiom
    for _ in range(depth):
        s = "".join(rules[choice].get(c, c) for c in s)
    angle = math.radians(float(rng.uniform(18, 30)))
    x, y, a = 0.0, 0.0, math.pi / 2
    stack, segs = [], []
    for c in s:
        if c == "F":
            nx, ny = x + math.cos(a), y + math.sin(a)
            segs.append((x, y, nx, ny))
            x, y = nx, ny
        elif c == "+":
            a += angle
        elif c == "-":
            a -= angle
        elif c == "[":
            stack.append((x, y, a))
        elif c == "]":
            x, y, a = stack.pop()
    pts = np.array(segs).reshape(-1, 2)
    lo, hi = pts.min(0), pts.max(0)
    scale = (size * 4 - 16) / max(float((hi - lo).max()), 1e-6)
    img = Image.new("RGB", (size * 4, size * 4), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    color = tuple(int(v) for v in rng.integers(0, 160, 3))
    for x0, y0, x1, y1 in segs:
        p0 = (8 + (x0 - lo[0]) * scale, size * 4 - 8 - (y0 - lo[1]) * scale)
        p1 = (8 + (x1 - lo[0]) * scale, size * 4 - 8 - (y1 - lo[1]) * scale)
        draw.line([p0, p1], fill=color, width=3)
    return img.resize((size, size), Image.LANCZOS)


class ClassicGenerator:
    """Same calling shape as a learned generator for the pipelines: ``generate(n, seed)``."""

    num_classes = 0
    class_names: list[str] = []

    def __init__(self, kind: str, image_size: int = 64) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown classic generator {kind!r}; valid: {', '.join(KINDS)}")
        self.kind = kind
        self.image_size = image_size
        self.genrepair_name = f"classic.{kind}"

    def sample(self, seed: int) -> Image.Image:
        rng = np.random.default_rng(seed)
        fn = {"noise": noise_image, "automaton": automaton_image, "lsystem": lsystem_image}[self.kind]
        return fn(rng, self.image_size)
