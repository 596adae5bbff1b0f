"""Free-form training masks (LaMa-style thin/medium/thick strokes plus boxes) and edge sketches."""

from __future__ import annotations

import cv2
import numpy as np

# (max strokes, width range as a fraction of the side, max vertices)
_RECIPES = {"thin": (6, (0.02, 0.05), 8), "medium": (4, (0.05, 0.12), 6), "thick": (3, (0.12, 0.25), 5)}


def random_mask(size: int, rng: np.random.Generator, min_cover: float = 0.01, max_cover: float = 0.6) -> np.ndarray:
    """A float32 HxW mask with 1 = hole, coverage in [min_cover, max_cover]."""
    for _ in range(20):
        mask = np.zeros((size, size), np.uint8)
        kind = rng.choice(["thin", "medium", "thick", "box"], p=[0.25, 0.3, 0.3, 0.15])
        if kind == "box":
            for _ in range(rng.integers(1, 4)):
                bw, bh = (rng.uniform(0.1, 0.6, 2) * size).astype(int)
                x, y = rng.integers(0, size - bw), rng.integers(0, size - bh)
                mask[y : y + bh, x : x + bw] = 1
        else:
            n_strokes, (wlo, whi), n_vert = _RECIPES[kind]
            for _ in range(rng.integers(1, n_strokes + 1)):
                pts = [rng.integers(0, size, 2)]
                for _ in range(rng.integers(2, n_vert + 1)):
                    step = rng.normal(0, size / 4, 2)
                    pts.append(np.clip(pts[-1] + step, 0, size - 1).astype(int))
                width = max(1, int(rng.uniform(wlo, whi) * size))
                cv2.polylines(mask, [np.array(pts, np.int32)], False, 1, width)
        cover = mask.mean()
        if min_cover <= cover <= max_cover:
            return mask.astype(np.float32)
    return mask.astype(np.float32) if mask.mean() <= max_cover else np.zeros_like(mask, np.float32)


def edge_sketch(image_u8: np.ndarray) -> np.ndarray:
    """Canny edges of an HxWx3 uint8 image as float32 in {0, 1}: what a user's strokes stand in for."""
    gray = cv2.cvtColor(image_u8, cv2.COLOR_RGB2GRAY)
    gray = cv2.GaussianBlur(gray, (3, 3), 0)
    return (cv2.Canny(gray, 80, 160) > 0).astype(np.float32)
